// The repository's own programs deployed the way a user deploys them — `pulumi config set …` as their READMEs say,
// `pulumi preview --diff`, `pulumi up`, `pulumi destroy` — through the engine emulator (test/emulator, a test double
// of the Pulumi CLI, engine and providers around the real Node.js SDK), against the real Docker Engine and
// PostgreSQL of the e2e infra scripts, with the stand-in Identity Service (test/fixtures/identity-service).
//
// - The quickstart (the repository root's Pulumi.yaml, `main: quickstart/`), connected to the PostgreSQL of
//   start-postgres.sh through the Docker bridge gateway, the one address that works both from its container and
//   from this machine (where client re-seeding runs): first deploy, a no-op run, a client rotation (its
//   `clientRotation` config) with the old credentials refused afterwards, what a reviewer sees for a port change
//   and a Creatio version upgrade, destroy.
// - examples/docker-postgres, with its own PostgreSQL container (`postgres:16`: no registry is reachable, so a
//   stand-in image of that name is built locally when none exists, test/fixtures/postgres-image): first deploy
//   with re-seeding through the published 127.0.0.1:15432, a no-op run, destroy. It uses fixed names and ports
//   (network `creatio`, containers `creatio-postgres` and `identity-service`, host ports 8090 and 15432), so the
//   suite checks they are free first and removes what it created even when a step fails.
// - A service that never becomes ready, through test/e2e/programs/never-ready (why that one program remains is
//   said in its index.ts).
//
// Every port is published on 127.0.0.1 only (the programs' `bindAddress` config): the Docker provider always sends
// an address, 0.0.0.0 by default, which dockerd's `--ip 127.0.0.1` (start-docker.sh) does not change.
import { strict as assert } from "assert";
import { execFileSync, spawnSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { Client } from "pg";
import { createScratchDatabase, PostgresEnv, readPostgresEnv, ScratchDatabase } from "./infra/postgres";
import { Stack, Workspace } from "../emulator/stack";
import { IDENTITY_SERVICE_FOLDER, REPOSITORY, SIGNING_CERTIFICATE, installedExample } from "../emulator/programs";
import { reveal } from "../emulator/values";
import { freePort } from "../support/freePort";
import { Credentials, assertLoopbackOnly, containerId, exists, portFree, removeLeftovers, requireDocker, token } from "./support/emulated";

const POSTGRES_IMAGE_BUILD = path.join(REPOSITORY, "test", "fixtures", "postgres-image", "build.sh");
const NEVER_READY_PROGRAM = path.join(__dirname, "programs", "never-ready");
const RUN_ID = crypto.randomBytes(3).toString("hex");
const TRANSPILE_ONLY = { env: { PULUMI_NODEJS_TRANSPILE_ONLY: "true" } };
/** The quickstart's and the example's component name, hence their container's name and their image's tag. */
const SERVICE = "identity-service";
const SERVICE_IMAGE = "creatio-identity-service:8.2.3-identity-service";
const E2E_LABEL = "creatio-identity-service-e2e";


function requireFreeServiceName(): void {
    if (exists("container", SERVICE)) {
        throw new Error(`a container named ${SERVICE} exists: the quickstart and examples/docker-postgres create one of that name; ` +
            `remove it (docker rm -f ${SERVICE}) if nothing needs it, then run the suite again`);
    }
}

describe("engine emulator e2e: the quickstart deployed from the repository root (real Docker and PostgreSQL)", function () {
    this.timeout(600_000);
    let env: PostgresEnv;
    let db: ScratchDatabase;
    let stack: Stack;
    let port: number;
    let imageExisted = false;
    let first: Credentials;

    const plainOutputs = () => stack.outputs({ showSecrets: true }) as unknown as Credentials;

    before(async function () {
        requireDocker();
        env = readPostgresEnv();
        if (!env.hostFromContainers) throw new Error("PGHOST_FROM_CONTAINERS is missing: run test/e2e/infra/start-postgres.sh again");
        requireFreeServiceName();
        imageExisted = exists("image", SERVICE_IMAGE);
        db = await createScratchDatabase(env, "cis_quickstart");
        port = await freePort();
        stack = new Workspace(fs.mkdtempSync(path.join(os.tmpdir(), "cis-quickstart-state-"))).stack(REPOSITORY, "e2e");
        // What the README's quickstart tells the user to type. The database is named by the Docker bridge gateway,
        // which the container reaches and this machine reaches too (start-postgres.sh), as a database server on
        // the network would be.
        stack.configSet("creatioVersion", "8.2.3");
        stack.configSet("identityServiceFolder", IDENTITY_SERVICE_FOLDER);
        stack.configSet("connectionString",
            `Server=${env.hostFromContainers};Port=${env.port};Database=${db.name};User ID=${env.user};Password=${env.password};Timeout=5;`,
            { secret: true });
        stack.configSet("signingCertificatePath", SIGNING_CERTIFICATE);
        stack.configSet("httpPort", String(port));
        stack.configSet("bindAddress", "127.0.0.1");
    });

    after(async function () {
        await removeLeftovers(stack, [SERVICE], []);
        if (!imageExisted) spawnSync("docker", ["rmi", SERVICE_IMAGE], { stdio: "ignore" });
        await db?.drop().catch(() => undefined);
    });

    it("1. first deploy: the preview only creates and shows no secret; up publishes on loopback and serves a token to the output client", async () => {
        const preview = await stack.preview(TRANSPILE_ONLY);
        assert.ok(preview.steps.every(s => s.op === "create"), preview.text);
        assert.ok(!exists("container", SERVICE), "preview creates nothing");
        assert.ok(!preview.text.includes(env.password), "no database password in the preview");
        const result = await stack.up(TRANSPILE_ONLY);
        assert.ok(!result.text.includes(env.password));
        assertLoopbackOnly(SERVICE);
        first = plainOutputs();
        assert.equal(first.url, `http://localhost:${port}`);
        assert.equal(await token(first.url, first.clientId, first.clientSecret), 200);
        // Secrets stay secret: in the stack outputs and in the checkpoint file.
        assert.equal(typeof stack.outputs().clientSecret, "object");
        const checkpoint = fs.readFileSync(stack.checkpointFile, "utf8");
        for (const secret of [first.clientSecret, env.password]) assert.ok(!checkpoint.includes(secret));
    });

    it("2. a second run changes nothing: the preview counts every resource unchanged and up leaves the container alone", async () => {
        const before = containerId(SERVICE);
        const preview = await stack.preview(TRANSPILE_ONLY);
        // The summary of diff.go:260-327 @ v3.248.0 with nothing to do: the unchanged count alone.
        assert.match(preview.text, /Resources:\n {4}\d+ unchanged$/);
        const result = await stack.up(TRANSPILE_ONLY);
        assert.ok(result.steps.every(s => s.op === "same"), result.text);
        assert.equal(containerId(SERVICE), before);
    });

    it("3. client rotation (`pulumi config set clientRotation`): the preview replaces the credentials and the container, secrets hidden; after up the old credentials are refused", async () => {
        stack.configSet("clientRotation", "2026-11");
        const preview = await stack.preview(TRANSPILE_ONLY);
        const ops = Object.fromEntries(preview.steps.map(s => [s.urn.split("::").pop(), s.op]));
        assert.equal(ops[`${SERVICE}-client-id`], "replace", preview.text);
        assert.equal(ops[`${SERVICE}-client-secret`], "replace");
        assert.equal(ops[`${SERVICE}-container`], "replace");
        // printStepHeader (object_diff.go:66-82 @ v3.248.0): the type and "(replace)", then the changed properties.
        assert.match(preview.text, /\+-random:index\/randomString:RandomString: \(replace\)\n/);
        assert.match(preview.text, /\+ keepers *: \{\n *rotation: "2026-11"/);
        assert.match(preview.text, /\+-docker:index\/container:Container: \(replace\)\n/);
        // The new client secret travels in the settings file the container is given; its environment holds no secret.
        assert.match(preview.text, /~ uploads *: \[secret\] => \[unknown\]/);
        assert.doesNotMatch(preview.text, /~ envs/);
        assert.doesNotMatch(preview.text, /\[object Object\]/);
        for (const secret of [first.clientSecret, env.password]) assert.ok(!preview.text.includes(secret), "no secret in the rotation preview");
        await stack.up(TRANSPILE_ONLY);
        const rotated = plainOutputs();
        assert.notEqual(rotated.clientId, first.clientId);
        assert.equal(await token(rotated.url, rotated.clientId, rotated.clientSecret), 200);
        assert.equal(await token(first.url, first.clientId, first.clientSecret), 400, "the old client is retired");
        first = rotated;
    });

    it("4. a port change (`pulumi config set httpPort`): the reviewer sees the container replaced because of its published port", async () => {
        stack.configSet("httpPort", String(port + 1));
        try {
            const preview = await stack.preview(TRANSPILE_ONLY);
            const op = (name: string) => preview.steps.find(s => s.urn.endsWith(`::${name}`))!.op;
            assert.equal(op(`${SERVICE}-container`), "replace", preview.text);
            assert.equal(op(`${SERVICE}-readiness`), "replace");
            // The credentials stay: a port change does not rotate the client.
            assert.equal(op(`${SERVICE}-client-id`), "same");
            assert.equal(op(`${SERVICE}-client-secret`), "same");
            assert.match(preview.text, new RegExp(`~ external: ${port} => ${port + 1}`));
            // The url output waits for the readiness gate, replaced here; a local command's id is known at preview
            // (pulumi-command v1.2.1 local/commandController.go:42-50), so the preview shows the new URL.
            assert.match(preview.text, new RegExp(`~ url *: "http://localhost:${port}" => "http://localhost:${port + 1}"`));
        } finally {
            stack.configSet("httpPort", String(port));
        }
    });

    it("5. a Creatio version upgrade (`pulumi config set creatioVersion`): the image is rebuilt under its new name and the container replaced", async () => {
        stack.configSet("creatioVersion", "8.3.0");
        try {
            const preview = await stack.preview(TRANSPILE_ONLY);
            const image = preview.steps.find(s => s.urn.endsWith(`::${SERVICE}-image`))!;
            assert.equal(image.op, "update", preview.text);
            assert.match(preview.text, /~ imageName: "creatio-identity-service:8\.2\.3-identity-service" => "creatio-identity-service:8\.3\.0-identity-service"/);
            assert.equal(preview.steps.find(s => s.urn.endsWith(`::${SERVICE}-container`))!.op, "replace");
        } finally {
            stack.configSet("creatioVersion", "8.2.3");
        }
    });

    it("6. destroy removes the container and empties the stack", async () => {
        const result = await stack.destroy();
        assert.ok(result.steps.every(s => s.op === "delete"), result.text);
        assert.ok(!exists("container", SERVICE));
        assert.deepEqual(stack.state(), []);
    });
});

describe("engine emulator e2e: examples/docker-postgres deployed as its README says (real Docker, a stand-in postgres:16)", function () {
    this.timeout(600_000);
    const NETWORK = "creatio";
    const POSTGRES_CONTAINER = "creatio-postgres";
    const POSTGRES_IMAGE = "postgres:16";
    const PORTS = [8090, 15432];
    let stack: Stack | undefined;
    let namesChecked = false;
    let imageExisted = true;
    let serviceImageExisted = true;

    before(async function () {
        requireDocker();
        requireFreeServiceName();
        const taken = [
            ...[POSTGRES_CONTAINER].filter(name => exists("container", name)).map(name => `container ${name}`),
            ...[NETWORK].filter(name => exists("network", name)).map(name => `network ${name}`),
        ];
        for (const port of PORTS) if (!(await portFree(port))) taken.push(`host port ${port}`);
        if (taken.length > 0) {
            throw new Error(`examples/docker-postgres uses fixed names and ports, and ${taken.join(", ")} ${taken.length > 1 ? "are" : "is"} ` +
                "in use here: stop what holds them (another deployment of the example, or another e2e run) and run the suite again");
        }
        namesChecked = true;
        serviceImageExisted = exists("image", SERVICE_IMAGE);
        imageExisted = exists("image", POSTGRES_IMAGE);
        // Builds the stand-in only when no postgres:16 exists; a real one is used as it is.
        execFileSync("bash", [POSTGRES_IMAGE_BUILD], { stdio: ["ignore", "ignore", "inherit"] });
        stack = new Workspace(fs.mkdtempSync(path.join(os.tmpdir(), "cis-docker-postgres-state-"))).stack(installedExample("docker-postgres"), "dev");
        // The README's `pulumi config set` lines.
        stack.configSet("identityServiceFolder", IDENTITY_SERVICE_FOLDER);
        stack.configSet("signingCertificatePath", SIGNING_CERTIFICATE);
        stack.configSet("bindAddress", "127.0.0.1");
    });

    after(async function () {
        if (!namesChecked) return;
        await removeLeftovers(stack, [SERVICE, POSTGRES_CONTAINER], [NETWORK]);
        if (!serviceImageExisted) spawnSync("docker", ["rmi", SERVICE_IMAGE], { stdio: "ignore" });
        // The stand-in goes when this run built it; a postgres:16 that was here before stays.
        const standIn = spawnSync("docker", ["image", "inspect", "-f", `{{ index .Config.Labels "${E2E_LABEL}.postgres-stand-in" }}`, POSTGRES_IMAGE], { encoding: "utf8" });
        if (!imageExisted && standIn.stdout.trim() === "1") spawnSync("docker", ["rmi", POSTGRES_IMAGE], { stdio: "ignore" });
    });

    it("1. first deploy: PostgreSQL and the service on the example's network; the client is re-seeded through 127.0.0.1:15432 and gets a token", async () => {
        const stackUnderTest = stack!;
        const preview = await stackUnderTest.preview(TRANSPILE_ONLY);
        assert.ok(preview.steps.every(s => s.op === "create"), preview.text);
        assert.ok(!exists("container", POSTGRES_CONTAINER) && !exists("network", NETWORK), "preview creates nothing");
        const result = await stackUnderTest.up(TRANSPILE_ONLY);
        assertLoopbackOnly(SERVICE);
        assertLoopbackOnly(POSTGRES_CONTAINER);
        const networks = execFileSync("docker", ["inspect", "-f", "{{range $name, $_ := .NetworkSettings.Networks}}{{$name}} {{end}}", SERVICE], { encoding: "utf8" });
        assert.match(networks, /\bcreatio\b/);
        const outputs = stackUnderTest.outputs({ showSecrets: true }) as unknown as Credentials;
        assert.equal(outputs.url, "http://localhost:8090");
        assert.equal(await token(outputs.url, outputs.clientId, outputs.clientSecret), 200);

        // The client is in the example's database, read back here through 127.0.0.1:15432 with the generated
        // password from the stack's state.
        const password = reveal(stackUnderTest.state().find(r => r.urn.endsWith("::postgres-password"))!.outputs.result) as string;
        for (const secret of [password, outputs.clientSecret]) assert.ok(!result.text.includes(secret), "no secret in the update's text");
        assert.ok(!fs.readFileSync(stackUnderTest.checkpointFile, "utf8").includes(password), "no database password in the checkpoint");
        const client = new Client({ host: "127.0.0.1", port: 15432, user: "creatio", password, database: "creatio" });
        await client.connect();
        try {
            const rows = await client.query('SELECT "ClientId" FROM "Clients" WHERE "ClientId" = $1', [outputs.clientId]);
            assert.equal(rows.rowCount, 1);
        } finally {
            await client.end();
        }
        // The re-seed step ran (up fails otherwise) with the example's reseedConnectionString, the published port.
        const reseed = stackUnderTest.state().find(r => r.urn.endsWith(`::${SERVICE}-client-reseed`));
        assert.ok(reseed, "the re-seed step is part of the deployment");
        assert.match(String(reveal(reseed.inputs.stdin)), /Server=127\.0\.0\.1;Port=15432;Database=creatio;/);
    });

    it("2. a second run changes nothing", async () => {
        const containers = [SERVICE, POSTGRES_CONTAINER].map(containerId);
        const preview = await stack!.preview(TRANSPILE_ONLY);
        assert.match(preview.text, /Resources:\n {4}\d+ unchanged$/);
        const result = await stack!.up(TRANSPILE_ONLY);
        assert.ok(result.steps.every(s => s.op === "same"), result.text);
        assert.deepEqual([SERVICE, POSTGRES_CONTAINER].map(containerId), containers);
    });

    it("3. destroy removes both containers and the network, keeps the postgres image (keepLocally) and empties the stack", async () => {
        const result = await stack!.destroy();
        assert.ok(result.steps.every(s => s.op === "delete"), result.text);
        assert.ok(!exists("container", SERVICE) && !exists("container", POSTGRES_CONTAINER));
        assert.ok(!exists("network", NETWORK));
        assert.ok(exists("image", POSTGRES_IMAGE));
        assert.deepEqual(stack!.state(), []);
    });
});

describe("engine emulator e2e: a service that never becomes ready (real Docker and PostgreSQL)", function () {
    this.timeout(600_000);
    const NAME = `cis-never-ready-${RUN_ID}`;
    let env: PostgresEnv;
    let db: ScratchDatabase;
    let folder: string;
    let stack: Stack | undefined;

    before(async function () {
        requireDocker();
        env = readPostgresEnv();
        if (!env.hostFromContainers) throw new Error("PGHOST_FROM_CONTAINERS is missing: run test/e2e/infra/start-postgres.sh again");
        db = await createScratchDatabase(env, "cis_never_ready");
        // An IdentityService folder whose service answers every request with 503.
        folder = fs.mkdtempSync(path.join(os.tmpdir(), "cis-never-ready-"));
        fs.writeFileSync(path.join(folder, "server.js"),
            'require("http").createServer((req, res) => { res.statusCode = 503; res.end("still starting"); }).listen(80);\n' +
            'process.on("SIGTERM", () => process.exit(0));\n');
        fs.writeFileSync(path.join(folder, "Dockerfile-OAuth"),
            "FROM creatio-identity-service-e2e/node-base:local\nWORKDIR /app\nCOPY server.js /app/\nENTRYPOINT [\"/usr/bin/node\", \"/app/server.js\"]\n");
    });

    after(async function () {
        await removeLeftovers(stack, [NAME], []);
        spawnSync("docker", ["rmi", `creatio-identity-service:8.2.3-${NAME}`], { stdio: "ignore" });
        if (folder) fs.rmSync(folder, { recursive: true, force: true });
        await db?.drop().catch(() => undefined);
    });

    it("`pulumi up` fails at the readiness gate, naming it and no secret; destroy removes the container it created", async () => {
        const neverReady = new Workspace(fs.mkdtempSync(path.join(os.tmpdir(), "cis-never-ready-state-"))).stack(NEVER_READY_PROGRAM, "e2e");
        stack = neverReady;
        neverReady.configSet("name", NAME);
        neverReady.configSet("creatioVersion", "8.2.3");
        neverReady.configSet("identityServiceFolder", folder);
        neverReady.configSet("signingCertificatePath", SIGNING_CERTIFICATE);
        neverReady.configSet("httpPort", String(await freePort()));
        neverReady.configSet("bindAddress", "127.0.0.1");
        neverReady.configSet("readinessTimeoutSeconds", "5");
        neverReady.configSet("connectionString",
            `Server=${env.hostFromContainers};Port=${env.port};Database=${db.name};User ID=${env.user};Password=${env.password};`, { secret: true });
        const failure = await neverReady.up(TRANSPILE_ONLY).then(() => undefined, (error: Error) => error);
        assert.ok(failure, "up fails");
        assert.match(failure.message, new RegExp(`${NAME}-readiness`));
        assert.ok(!failure.message.includes(env.password), "no secret in the failure");
        assertLoopbackOnly(NAME);
        // The container stays in state (it was created); destroy removes it.
        assert.ok(neverReady.state().some(r => r.urn.endsWith(`::${NAME}-container`)));
        await neverReady.destroy();
        assert.ok(!exists("container", NAME));
    });
});
