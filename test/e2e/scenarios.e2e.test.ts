// The runs users make after the first deploy, each through the engine emulator (test/emulator: the real Node.js SDK
// running test/e2e/programs/scenarios, the engine and providers emulated from Pulumi v3.248.0, pulumi-command
// v1.2.1, kreuzwerker/terraform-provider-docker v4.5.0 and terraform-provider-random) against the real Docker Engine
// and PostgreSQL, with the stand-in Identity Service (test/fixtures/identity-service). One stack goes through them
// in order, as one deployment would live:
// 1. first deploy;
// 2. a client rotation whose run fails at the readiness gate (a wrong `docker.hostname` and a short timeout), then
//    fixed and retried: the credentials rotate once, nothing the failed run created is left behind, the old
//    credentials are retired once;
// 3. unsetting `client.rotation`: new credentials (random keepers removed entirely is a replacement);
// 4. `client.reseed` off, then on again: the service keeps its credentials;
// 5. re-seeding moved to the `container` runner (a one-shot container on the service's network): an update of the two
//    steps that replaces and restarts nothing; a client rotation re-seeded and retired from there; and back;
// 6. the Docker resources registered by a newer @pulumi/docker (another default provider), then moved to an explicit
//    `docker.Provider` with the same configuration: nothing replaced;
// 7. `pulumi refresh` after the container was stopped by hand, then `up`; the same after it was removed: the
//    service comes back;
// 8. the default publish address (no `bindAddress`): a second run changes nothing;
// 9. the client's secret deleted from the database by hand: refresh and a run without changes leave it broken, a new
//    `repair` value re-seeds it (and nothing else changes);
// 10. the Docker host lost (container and image removed) and the stack moved to another daemon address with
//    `--replace` of the image and the container: the service comes back with the same client and signing key;
// 11. destroy.
// The container's name is unique per run and every port is free (freePort); the database is a scratch one.
import { strict as assert } from "assert";
import { execFileSync, spawnSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { createScratchDatabase, PostgresEnv, readPostgresEnv, ScratchDatabase, withClient } from "./infra/postgres";
import { Credentials, assertLoopbackOnly, containerId, exists, removeLeftovers, requireDocker, token } from "./support/emulated";
import { SIGNING_CERTIFICATE } from "../emulator/programs";
import { RunResult, Stack, Workspace } from "../emulator/stack";
import { standInFolder } from "./support/standInContext";
import { freePort } from "../support/freePort";
import { buildRunnerImage } from "./support/runnerImage";

const PROGRAM = path.join(__dirname, "programs", "scenarios");
const TRANSPILE_ONLY = { env: { PULUMI_NODEJS_TRANSPILE_ONLY: "true" } };
const NAME = `cis-scenarios-${crypto.randomBytes(3).toString("hex")}`;
const IMAGE = `creatio-identity-service:8.2.3-${NAME}`;

/** The operation of each of the component's children in a run, by role ("client-id", "container", ...). */
function operations(result: RunResult): Record<string, string> {
    return Object.fromEntries(result.steps
        .filter(s => s.urn.includes(`::${NAME}-`))
        .map(s => [s.urn.split(`::${NAME}-`).pop()!, s.op]));
}

describe("engine emulator e2e: the runs after the first (real Docker and PostgreSQL)", function () {
    this.timeout(900_000);
    let env: PostgresEnv;
    let db: ScratchDatabase;
    let stack: Stack;
    let port: number;
    let first: Credentials;

    const outputs = () => stack.outputs({ showSecrets: true }) as unknown as Credentials;
    const clientRows = (clientId: string) =>
        withClient(db.config, c => c.query('SELECT 1 FROM "Clients" WHERE "ClientId" = $1', [clientId])).then(r => r.rowCount);
    const runnerContainers = () => execFileSync("docker", ["ps", "-aq", "--filter", `label=creatio-identity-service.component=${NAME}`, "--filter", "label=creatio-identity-service.role"], { encoding: "utf8" })
        .split("\n").filter(Boolean);
    const containersOfComponent = () => execFileSync("docker", ["ps", "-aq", "--filter", `label=creatio-identity-service.component=${NAME}`], { encoding: "utf8" })
        .split("\n").filter(Boolean);

    before(async function () {
        requireDocker();
        env = readPostgresEnv();
        if (!env.hostFromContainers) throw new Error("PGHOST_FROM_CONTAINERS is missing: run test/e2e/infra/start-postgres.sh again");
        db = await createScratchDatabase(env, "cis_scenarios");
        port = await freePort();
        stack = new Workspace(fs.mkdtempSync(path.join(os.tmpdir(), "cis-scenarios-state-"))).stack(PROGRAM, "e2e");
        stack.configSet("name", NAME);
        stack.configSet("creatioVersion", "8.2.3");
        stack.configSet("identityServiceFolder", standInFolder("8.2.3"));
        stack.configSet("signingCertificatePath", SIGNING_CERTIFICATE);
        stack.configSet("connectionString",
            `Server=${env.hostFromContainers};Port=${env.port};Database=${db.name};User ID=${env.user};Password=${env.password};Timeout=5;`,
            { secret: true });
        stack.configSet("httpPort", String(port));
        stack.configSet("bindAddress", "127.0.0.1");
        stack.configSet("readinessTimeoutSeconds", "120");
    });

    after(async function () {
        await removeLeftovers(stack, [NAME], []);
        spawnSync("docker", ["rmi", IMAGE], { stdio: "ignore" });
        await db?.drop().catch(() => undefined);
    });

    it("1. first deploy: the service answers with the generated client", async () => {
        await stack.up(TRANSPILE_ONLY);
        assertLoopbackOnly(NAME);
        first = outputs();
        assert.equal(await token(first.url, first.clientId, first.clientSecret), 200);
    });

    it("2. a rotation that fails at the readiness gate, fixed and retried: the credentials rotate once, nothing is left behind, the old client is retired once", async () => {
        stack.configSet("clientRotation", "2");
        // The gate asks 127.0.0.2, where nothing listens (the port is published on 127.0.0.1 only), for 3 seconds.
        stack.configSet("hostname", "127.0.0.2");
        stack.configSet("readinessTimeoutSeconds", "3");
        const failure = await stack.up(TRANSPILE_ONLY).then(() => undefined, (error: Error) => error);
        assert.ok(failure, "the run fails");
        assert.match(failure.message, new RegExp(`${NAME}-readiness`));
        assert.ok(!failure.message.includes(env.password) && !failure.message.includes(first.clientSecret), "no secret in the failure");
        const rotatedId = stack.state().find(r => r.urn.endsWith(`::${NAME}-client-id`) && !r.delete)!.outputs.result as string;
        assert.notEqual(rotatedId, first.clientId, "the failed run rotated the credentials");
        // The replaced values wait in the checkpoint as pending deletes, as the engine keeps them.
        assert.ok(stack.state().some(r => r.urn.endsWith(`::${NAME}-client-id`) && r.delete), "the old client id is pending deletion");

        stack.configRemove("hostname");
        stack.configSet("readinessTimeoutSeconds", "120");
        const preview = await stack.preview(TRANSPILE_ONLY);
        const planned = operations(preview);
        assert.equal(planned["client-id"], "same", preview.text);
        assert.equal(planned["client-secret"], "same");
        assert.equal(planned["client-retire"], "update", "the old credentials are retired in this run");
        const retry = await stack.up(TRANSPILE_ONLY);
        assert.equal(operations(retry)["client-id"], "same", retry.text);
        const rotated = outputs();
        assert.equal(rotated.clientId, rotatedId, "rotated once: the retry keeps what the failed run generated");
        assert.equal(await token(rotated.url, rotated.clientId, rotated.clientSecret), 200);
        assert.equal(await token(rotated.url, first.clientId, first.clientSecret), 400, "the old client is retired");
        assert.equal(await clientRows(first.clientId), 0);
        assert.equal(await clientRows(rotated.clientId), 1);
        assert.deepEqual(stack.state().filter(r => r.delete).map(r => r.urn), [], "no pending delete left");
        assert.equal(containersOfComponent().length, 1, "one container of the component, the one in state");
        first = rotated;
    });

    it("3. unsetting client.rotation generates new credentials (keepers removed: terraform-provider-random replaces)", async () => {
        stack.configRemove("clientRotation");
        const preview = await stack.preview(TRANSPILE_ONLY);
        assert.equal(operations(preview)["client-id"], "replace", preview.text);
        assert.equal(operations(preview)["client-secret"], "replace");
        assert.match(preview.text, /\+-random:index\/randomString:RandomString: \(replace\)\n[^]*?- keepers *: \{\n *rotation: "2"/);
        await stack.up(TRANSPILE_ONLY);
        const regenerated = outputs();
        assert.notEqual(regenerated.clientId, first.clientId);
        assert.equal(await token(regenerated.url, regenerated.clientId, regenerated.clientSecret), 200);
        assert.equal(await token(regenerated.url, first.clientId, first.clientSecret), 400);
        first = regenerated;
    });

    it("4. client.reseed off, then on again: the re-seed steps go and come back, the service keeps its client", async () => {
        stack.configSet("reseed", "false");
        const off = await stack.up(TRANSPILE_ONLY);
        assert.equal(operations(off)["client-reseed"], "delete", off.text);
        assert.equal(operations(off)["client-id"], "same");
        assert.equal(await token(first.url, first.clientId, first.clientSecret), 200);
        stack.configSet("reseed", "true");
        const on = await stack.up(TRANSPILE_ONLY);
        assert.equal(operations(on)["client-reseed"], "create", on.text);
        assert.equal(operations(on)["client-id"], "same");
        assert.equal(await token(first.url, first.clientId, first.clientSecret), 200, "creating the re-seed step deleted nothing");
        assert.deepEqual(outputs(), first);
    });

    it("5. the container runner: switching re-runs the two steps in place, a rotation is re-seeded and retired from the container, and back", async () => {
        const container = containerId(NAME);
        stack.configSet("reseedRunner", "container");
        stack.configSet("reseedImage", await buildRunnerImage());
        const switched = await stack.up(TRANSPILE_ONLY);
        const ops = operations(switched);
        assert.equal(ops["client-reseed"], "update", switched.text);
        assert.equal(ops["client-retire"], "update");
        assert.deepEqual(Object.entries(ops).filter(([role, op]) => op !== "same" && !/^client-re(seed|tire)$/.test(role)), [], "nothing else changes");
        assert.equal(containerId(NAME), container, "the service was not restarted: the restart token came along on stdin");
        assert.equal(await token(first.url, first.clientId, first.clientSecret), 200);
        const reseedState = stack.state().find(r => r.urn.endsWith(`::${NAME}-client-reseed`))!;
        assert.match(String(reseedState.inputs.create), /reseed-container\.js"$/);
        assert.ok(!JSON.stringify(reseedState.inputs.environment).includes(env.password), "no secret in the step's environment");

        stack.configSet("clientRotation", "5");
        await stack.up(TRANSPILE_ONLY);
        const rotated = outputs();
        assert.notEqual(rotated.clientId, first.clientId);
        assert.equal(await token(rotated.url, rotated.clientId, rotated.clientSecret), 200);
        assert.equal(await token(rotated.url, first.clientId, first.clientSecret), 400, "the old client was retired from the container");
        assert.equal(await clientRows(first.clientId), 0);
        assert.deepEqual(runnerContainers(), [], "no re-seed container is left");

        stack.configRemove("reseedRunner");
        stack.configRemove("reseedImage");
        const back = await stack.up(TRANSPILE_ONLY);
        assert.equal(operations(back)["client-reseed"], "update", back.text);
        assert.equal(operations(back).container, "same");
        assert.equal(await token(rotated.url, rotated.clientId, rotated.clientSecret), 200);
        first = rotated;
    });

    it("6. a newer @pulumi/docker's default provider, then an explicit docker.Provider with the same configuration: nothing is replaced", async () => {
        const container = containerId(NAME);
        stack.configSet("dockerPluginVersion", "5.3.0");
        const upgraded = await stack.preview(TRANSPILE_ONLY);
        assert.ok(Object.values(operations(upgraded)).every(op => op === "same"), upgraded.text);
        assert.match(upgraded.text, /Resources:\n {4}\d+ unchanged$/, "default providers are not shown or counted");
        await stack.up(TRANSPILE_ONLY);
        assert.ok(stack.state().some(r => r.urn.endsWith("::default_5_3_0")));
        stack.configSet("explicitDockerProvider", "true");
        const explicit = await stack.preview(TRANSPILE_ONLY);
        const planned = operations(explicit);
        // Nothing is replaced or recreated. The preview does show the readiness gate updating, its URL unknown: the
        // component reads the daemon's address from the provider's `host` output, which a docker.Provider without
        // `host` does not return, and the SDK resolves an absent output as unknown in a preview
        // (sdk/nodejs/runtime/rpc.ts:315-327 @ v3.248.0). The update itself then changes nothing.
        assert.deepEqual(Object.entries(planned).filter(([, op]) => op !== "same"), [["readiness", "update"]], explicit.text);
        assert.match(explicit.text, /\+ pulumi:providers:docker: \(create\)/);
        assert.match(explicit.text, /~ IDENTITY_SERVICE_URL: "http:\/\/localhost:\d+" => \[unknown\]/);
        const moved = await stack.up(TRANSPILE_ONLY);
        assert.ok(Object.values(operations(moved)).every(op => op === "same"), moved.text);
        assert.equal(containerId(NAME), container, "the same container");
        assert.match(stack.state().find(r => r.urn.endsWith(`::${NAME}-container`))!.provider!, /::pulumi:providers:docker::local-docker::/);
        // And back to the default provider: nothing replaced either.
        stack.configRemove("explicitDockerProvider");
        const back = await stack.up(TRANSPILE_ONLY);
        assert.ok(Object.values(operations(back)).every(op => op === "same"), back.text);
        assert.equal(containerId(NAME), container);
    });

    it("7. refresh after the container was stopped by hand, then up: the service comes back; the same after it was removed", async () => {
        execFileSync("docker", ["stop", NAME], { stdio: "ignore" });
        const refreshed = await stack.refresh();
        const drift = refreshed.find(s => s.urn.endsWith(`::${NAME}-container`));
        assert.ok(drift, "refresh reads the stopped container back");
        assert.ok(drift.changedKeys.includes("mustRun"), drift.changedKeys.join(", "));
        const preview = await stack.preview(TRANSPILE_ONLY);
        // Read leaves must_run false and, must_run having been true, the stopped container's empty ports
        // (kreuzwerker v4.5.0 resource_docker_container_funcs.go:800-824): ports are ForceNew, so it is replaced.
        assert.equal(operations(preview).container, "replace", preview.text);
        assert.match(preview.text, /~ mustRun *: false => true/);
        await stack.up(TRANSPILE_ONLY);
        assert.equal(await token(first.url, first.clientId, first.clientSecret), 200);

        execFileSync("docker", ["rm", "-f", NAME], { stdio: "ignore" });
        const gone = await stack.refresh();
        assert.equal(gone.find(s => s.urn.endsWith(`::${NAME}-container`))?.op, "delete");
        assert.ok(!stack.state().some(r => r.urn.endsWith(`::${NAME}-container`)), "refresh removes it from the state");
        const again = await stack.up(TRANSPILE_ONLY);
        assert.equal(operations(again).container, "create", again.text);
        assert.equal(await token(first.url, first.clientId, first.clientSecret), 200);
    });

    it("8. the default publish address (no bindAddress): the container moves to it once, then a second run changes nothing", async () => {
        stack.configRemove("bindAddress");
        const moved = await stack.up(TRANSPILE_ONLY);
        assert.equal(operations(moved).container, "replace", moved.text);
        const container = containerId(NAME);
        const second = await stack.preview(TRANSPILE_ONLY);
        assert.ok(Object.values(operations(second)).every(op => op === "same"), second.text);
        assert.match(second.text, /Resources:\n {4}\d+ unchanged$/);
        const result = await stack.up(TRANSPILE_ONLY);
        assert.ok(result.steps.every(s => s.op === "same"), result.text);
        assert.equal(containerId(NAME), container);
        // Reached on loopback only (the address published is every address of this machine's Docker host).
        assert.equal(await token(first.url, first.clientId, first.clientSecret), 200);
    });

    it("9. a client secret deleted by hand: refresh and a run without changes leave it so, a new repair value re-seeds it", async () => {
        await withClient(db.config, c => c.query(
            'DELETE FROM "ClientSecrets" WHERE "ClientId" = (SELECT "Id" FROM "Clients" WHERE "ClientId" = $1)', [first.clientId]));
        assert.notEqual(await token(first.url, first.clientId, first.clientSecret), 200, "the hand edit breaks the client");
        // A command's refresh reads nothing back (pulumi-go-provider infer/resource.go:1353-1363 @ v1.3.0).
        const refreshed = await stack.refresh();
        assert.ok(!refreshed.some(s => s.urn.includes(`::${NAME}-client-`)), refreshed.map(s => `${s.op} ${s.urn}`).join("\n"));
        const unchanged = await stack.up(TRANSPILE_ONLY);
        assert.ok(Object.values(operations(unchanged)).every(op => op === "same"), unchanged.text);
        assert.notEqual(await token(first.url, first.clientId, first.clientSecret), 200, "a run without changes repairs nothing");

        stack.configSet("repair", "after-hand-edit-1");
        const preview = await stack.preview(TRANSPILE_ONLY);
        assert.equal(operations(preview)["client-reseed"], "update", preview.text);
        assert.match(preview.text, /\+ CREATIO_IDENTITY_SERVICE_REPAIR: "after-hand-edit-1"/);
        const repaired = await stack.up(TRANSPILE_ONLY);
        const ops = operations(repaired);
        assert.equal(ops["client-reseed"], "update", repaired.text);
        for (const role of ["client-id", "client-secret"]) assert.equal(ops[role], "same", `${role}: ${repaired.text}`);
        assert.equal(await token(first.url, first.clientId, first.clientSecret), 200, "the same credentials work again");
        const again = await stack.up(TRANSPILE_ONLY);
        assert.ok(Object.values(operations(again)).every(op => op === "same"), again.text);
    });

    it("10. the Docker host lost, the stack moved to another daemon address: the same client and signing key come back", async () => {
        const kid = async () => {
            const response = await fetch(`${first.url}/.well-known/openid-configuration/jwks`);
            return ((await response.json()) as { keys: { kid: string }[] }).keys.map(key => key.kid);
        };
        const kidsBefore = await kid();
        // Lose the host: its container and image are gone; the database and the stack's state are not.
        execFileSync("docker", ["rm", "-f", NAME], { stdio: "ignore" });
        execFileSync("docker", ["rmi", "-f", IMAGE], { stdio: "ignore" });
        // Another address for a daemon: the same socket under another path stands for the new host.
        const socket = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "cis-new-host-")), "docker.sock");
        fs.symlinkSync("/var/run/docker.sock", socket);
        stack.configSet("explicitDockerProvider", "true");
        stack.configSet("dockerHost", `unix://${socket}`);
        const urnOf = (suffix: string) => stack.state().find(r => r.urn.endsWith(`::${NAME}-${suffix}`))!.urn;
        const moved = await stack.up({ ...TRANSPILE_ONLY, replace: [urnOf("image"), urnOf("container")] });
        const ops = operations(moved);
        assert.equal(ops.image, "replace", moved.text);
        assert.equal(ops.container, "replace", moved.text);
        for (const role of ["client-id", "client-secret", "client-reseed"]) assert.equal(ops[role], "same", `${role}: ${moved.text}`);
        assert.ok(exists("container", NAME));
        assert.equal(await token(first.url, first.clientId, first.clientSecret), 200, "the client from before");
        assert.deepEqual(await kid(), kidsBefore, "the signing key from before");
        const second = await stack.up(TRANSPILE_ONLY);
        assert.ok(Object.values(operations(second)).every(op => op === "same"), second.text);
    });

    it("11. destroy removes the container and empties the stack", async () => {
        await stack.destroy();
        assert.ok(!exists("container", NAME));
        assert.deepEqual(stack.state(), []);
    });
});
