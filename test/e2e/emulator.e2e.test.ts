// A Pulumi program deployed the way a user deploys it — `pulumi config set …`, `pulumi preview --diff`,
// `pulumi up`, `pulumi destroy` — through the engine emulator (test/emulator, a test double of the Pulumi CLI,
// engine and providers around the real Node.js SDK), against the real Docker Engine and PostgreSQL of the e2e
// infra scripts. Scenarios: first deploy, a no-op run, a client rotation, what a reviewer sees for a port change
// and a Creatio version upgrade, a service that never becomes ready, and destroy.
//
// The program is test/e2e/programs/identity-service-docker: the quickstart's deployment plus the re-seeding
// connection through loopback and a loopback-only port, which this machine needs (see deploy.e2e.test.ts on
// pg_hba); the quickstart and examples/docker-postgres themselves preview in `npm test` (examples/docker-postgres
// runs postgres:16, which no registry here can provide).
import { strict as assert } from "assert";
import { execFileSync, spawnSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { createScratchDatabase, PostgresEnv, readPostgresEnv, ScratchDatabase } from "./infra/postgres";
import { Stack, Workspace } from "../emulator/stack";
import { dockerAvailable } from "../emulator/providers/docker";
import { IDENTITY_SERVICE_FOLDER, SIGNING_CERTIFICATE } from "../emulator/programs";
import { freePort } from "../support/freePort";

const PROGRAM = path.join(__dirname, "programs", "identity-service-docker");
const INFRA_DIR = path.join(__dirname, "infra");
const RUN_ID = crypto.randomBytes(3).toString("hex");
const NAME = `cis-emu-${RUN_ID}`;
const NEVER_READY_NAME = `cis-emu-never-ready-${RUN_ID}`;
const NEVER_READY_IMAGE = `cis-emu-never-ready-${RUN_ID}:local`;
const TRANSPILE_ONLY = { env: { PULUMI_NODEJS_TRANSPILE_ONLY: "true" } };


async function token(url: string, clientId: string, clientSecret: string): Promise<number> {
    for (let attempt = 0; ; attempt++) {
        try {
            const response = await fetch(`${url}/connect/token`, {
                method: "POST",
                headers: { "content-type": "application/x-www-form-urlencoded" },
                body: new URLSearchParams({ grant_type: "client_credentials", client_id: clientId, client_secret: clientSecret }),
                signal: AbortSignal.timeout(5000),
            });
            return response.status;
        } catch (error) {
            // Docker's port proxy now and then drops a fresh loopback connection (see deploy.e2e.test.ts).
            if (attempt >= 10) throw error;
            await new Promise(resolve => setTimeout(resolve, 300));
        }
    }
}

function containerExists(name: string): boolean {
    return spawnSync("docker", ["inspect", name], { stdio: "ignore" }).status === 0;
}

describe("engine emulator e2e: a program deployed with config set, preview and up (real Docker and PostgreSQL)", function () {
    this.timeout(600_000);
    let env: PostgresEnv;
    let db: ScratchDatabase;
    let workspace: Workspace;
    let stack: Stack;
    let port: number;
    let first: { url: string; clientId: string; clientSecret: string };

    const plainOutputs = () => stack.outputs({ showSecrets: true }) as Record<string, string>;

    before(async function () {
        if (!dockerAvailable()) throw new Error("Docker does not answer: run test/e2e/infra/start-docker.sh first");
        env = readPostgresEnv();
        if (!env.hostFromContainers) throw new Error("PGHOST_FROM_CONTAINERS is missing: run test/e2e/infra/start-postgres.sh again");
        execFileSync("bash", [path.join(INFRA_DIR, "build-base-image.sh")], { stdio: ["ignore", "ignore", "inherit"] });
        const neverReady = fs.mkdtempSync(path.join(os.tmpdir(), "cis-emu-never-ready-"));
        fs.writeFileSync(path.join(neverReady, "server.js"),
            'require("http").createServer((req, res) => { res.statusCode = 503; res.end("still starting"); }).listen(80);\n' +
            'process.on("SIGTERM", () => process.exit(0));\n');
        fs.writeFileSync(path.join(neverReady, "Dockerfile"),
            "FROM creatio-identity-service-e2e/node-base:local\nWORKDIR /app\nCOPY server.js /app/\nENTRYPOINT [\"/usr/bin/node\", \"/app/server.js\"]\n");
        execFileSync("docker", ["build", "-q", "-t", NEVER_READY_IMAGE, neverReady], { stdio: "ignore", env: { ...process.env, DOCKER_BUILDKIT: "0" } });
        fs.rmSync(neverReady, { recursive: true, force: true });

        db = await createScratchDatabase(env, "cis_emu");
        port = await freePort();
        workspace = new Workspace(fs.mkdtempSync(path.join(os.tmpdir(), "cis-emu-state-")));
        stack = workspace.stack(PROGRAM, "e2e");
        const connection = (host: string) => `Server=${host};Port=${env.port};Database=${db.name};User ID=${env.user};Password=${env.password};Timeout=5;`;
        // What the user types:
        stack.configSet("name", NAME);
        stack.configSet("creatioVersion", "8.2.3");
        stack.configSet("identityServiceFolder", IDENTITY_SERVICE_FOLDER);
        stack.configSet("signingCertificatePath", SIGNING_CERTIFICATE);
        stack.configSet("httpPort", String(port));
        stack.configSet("clientRotation", "1");
        stack.configSet("connectionString", connection(env.hostFromContainers), { secret: true });
        stack.configSet("reseedConnectionString", connection(env.host), { secret: true });
    });

    after(async function () {
        for (const name of [NAME, NEVER_READY_NAME]) {
            if (containerExists(name)) spawnSync("docker", ["rm", "-f", name], { stdio: "ignore" });
        }
        for (const image of [NEVER_READY_IMAGE, `creatio-identity-service:8.2.3-${NAME}`]) spawnSync("docker", ["rmi", "-f", image], { stdio: "ignore" });
        await db?.drop().catch(() => undefined);
    });

    it("1. first deploy: the preview lists what will be created without any secret; up serves a token to the output client", async () => {
        const preview = await stack.preview(TRANSPILE_ONLY);
        assert.ok(preview.steps.every(s => s.op === "create"), preview.text);
        assert.ok(!containerExists(NAME), "preview creates nothing");
        assert.ok(!preview.text.includes(env.password), "no database password in the preview");
        const result = await stack.up(TRANSPILE_ONLY);
        assert.ok(!result.text.includes(env.password));
        first = plainOutputs() as typeof first;
        assert.ok(containerExists(NAME));
        assert.equal(await token(first.url, first.clientId, first.clientSecret), 200);
        // Secrets stay secret: in the stack outputs and in the checkpoint file.
        const outputs = stack.outputs();
        assert.equal(typeof outputs.clientSecret, "object");
        const checkpoint = fs.readFileSync(stack.checkpointFile, "utf8");
        for (const secret of [first.clientSecret, env.password]) assert.ok(!checkpoint.includes(secret));
    });

    it("2. a second run changes nothing: the preview says no changes and up leaves the container alone", async () => {
        const before = execFileSync("docker", ["inspect", "-f", "{{.Id}}", NAME], { encoding: "utf8" }).trim();
        const preview = await stack.preview(TRANSPILE_ONLY);
        assert.match(preview.text, /no changes/);
        const result = await stack.up(TRANSPILE_ONLY);
        assert.ok(result.steps.every(s => s.op === "same"), result.text);
        assert.equal(execFileSync("docker", ["inspect", "-f", "{{.Id}}", NAME], { encoding: "utf8" }).trim(), before);
    });

    it("3. client rotation: the preview shows the credentials and the container replaced, secrets hidden; up rotates", async () => {
        stack.configSet("clientRotation", "2");
        const preview = await stack.preview(TRANSPILE_ONLY);
        const ops = Object.fromEntries(preview.steps.map(s => [s.urn.split("::").pop(), s.op]));
        assert.equal(ops[`${NAME}-client-id`], "replace");
        assert.equal(ops[`${NAME}-client-secret`], "replace");
        assert.equal(ops[`${NAME}-container`], "replace");
        assert.match(preview.text, /\+-random:index\/randomString:RandomString: \(replace; create before delete, because of keepers\)/);
        assert.match(preview.text, /~ rotation: "1" => "2"/);
        assert.match(preview.text, /\+-docker:index\/container:Container: \(replace; delete before create, because of [^)]*envs/);
        assert.doesNotMatch(preview.text, /\[object Object\]/);
        for (const secret of [first.clientSecret, env.password]) assert.ok(!preview.text.includes(secret), "no secret in the rotation preview");
        await stack.up(TRANSPILE_ONLY);
        const rotated = plainOutputs();
        assert.notEqual(rotated.clientId, first.clientId);
        assert.equal(await token(rotated.url, rotated.clientId, rotated.clientSecret), 200);
        assert.equal(await token(first.url, first.clientId, first.clientSecret), 400);
    });

    it("4. a port change: the reviewer sees the container replaced because of its published port", async () => {
        stack.configSet("httpPort", String(port + 1));
        try {
            const preview = await stack.preview(TRANSPILE_ONLY);
            const op = (name: string) => preview.steps.find(s => s.urn.endsWith(`::${name}`))!.op;
            assert.equal(op(`${NAME}-container`), "replace", preview.text);
            assert.equal(op(`${NAME}-readiness`), "replace");
            // The credentials stay: a port change does not rotate the client.
            assert.equal(op(`${NAME}-client-id`), "same");
            assert.equal(op(`${NAME}-client-secret`), "same");
            assert.match(preview.text, new RegExp(`~ external: ${port} => ${port + 1}`));
            // The url output waits for the replaced readiness gate, so the preview cannot know it yet.
            assert.match(preview.text, new RegExp(`~ url: "http://localhost:${port}" => output<string>`));
        } finally {
            stack.configSet("httpPort", String(port));
        }
    });

    it("5. a Creatio version upgrade: the image is rebuilt under its new name and the container replaced", async () => {
        stack.configSet("creatioVersion", "8.3.0");
        try {
            const preview = await stack.preview(TRANSPILE_ONLY);
            const image = preview.steps.find(s => s.urn.endsWith(`::${NAME}-image`))!;
            assert.equal(image.op, "update", preview.text);
            assert.match(preview.text, new RegExp(`~ imageName: "creatio-identity-service:8\\.2\\.3-${NAME}" => "creatio-identity-service:8\\.3\\.0-${NAME}"`));
            assert.equal(preview.steps.find(s => s.urn.endsWith(`::${NAME}-container`))!.op, "replace");
        } finally {
            stack.configSet("creatioVersion", "8.2.3");
        }
    });

    it("6. a service that never becomes ready fails `pulumi up` at the readiness gate, naming it", async () => {
        const neverReady = workspace.stack(PROGRAM, "never-ready");
        const connection = `Server=${env.hostFromContainers};Port=${env.port};Database=${db.name};User ID=${env.user};Password=${env.password};`;
        neverReady.configSet("name", NEVER_READY_NAME);
        neverReady.configSet("creatioVersion", "8.2.3");
        neverReady.configSet("image", NEVER_READY_IMAGE);
        neverReady.configSet("signingCertificatePath", SIGNING_CERTIFICATE);
        neverReady.configSet("httpPort", String(await freePort()));
        neverReady.configSet("readinessTimeoutSeconds", "5");
        neverReady.configSet("connectionString", connection, { secret: true });
        neverReady.configSet("reseedConnectionString", connection.replace(env.hostFromContainers!, env.host), { secret: true });
        const failure = await neverReady.up(TRANSPILE_ONLY).then(() => undefined, (error: Error) => error);
        assert.ok(failure, "up fails");
        assert.match(failure.message, new RegExp(`${NEVER_READY_NAME}-readiness`));
        assert.ok(!failure.message.includes(env.password), "no secret in the failure");
        // The container stays in state (it was created); destroy removes it.
        assert.ok(neverReady.state().some(r => r.urn.endsWith(`::${NEVER_READY_NAME}-container`)));
        await neverReady.destroy();
        assert.ok(!containerExists(NEVER_READY_NAME));
    });

    it("7. destroy removes the container and empties the stack", async () => {
        const result = await stack.destroy();
        assert.ok(result.steps.every(s => s.op === "delete"));
        assert.ok(!containerExists(NAME));
        assert.deepEqual(stack.state(), []);
    });
});
