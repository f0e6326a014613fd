// examples/yaml deployed the way a Pulumi YAML user deploys it — `pulumi config set …` as its README says,
// `pulumi preview`, `pulumi up`, a second run, `pulumi destroy` — through the engine emulator's multi-language path
// (test/emulator/plugin.ts, a test double of the Pulumi CLI, engine, pulumi-language-yaml and the providers): the
// package started as a plugin as the Node.js language host's RunPlugin starts it, the component Constructed with
// the program's inputs (the connection string a secret), its children registered with the emulator's monitor and
// created by the emulated providers against the real Docker Engine and PostgreSQL of the e2e infra scripts.
//
// The example publishes the fixed port 8090 under the fixed container name "identityService": the suite refuses
// to start when either is taken (the quickstart's deployment publishes 8090 too), and cleans up after itself even
// when a test fails.
import { strict as assert } from "assert";
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { createScratchDatabase, ScratchDatabase } from "./infra/postgres";
import { tokenStatus } from "./support/load";
import { DeploymentSuiteEnv, prepareDeploymentSuite } from "./support/prepare";
import { REPOSITORY, SIGNING_CERTIFICATE } from "../emulator/programs";
import { Stack, Workspace } from "../emulator/stack";
import { standInFolder } from "./support/standInContext";
import { isSecret, PropertyMap } from "../emulator/values";

const PROGRAM = path.join(REPOSITORY, "examples", "yaml");
const COMPONENT = "creatio-identity-service:index:IdentityService";
/** What examples/yaml fixes: its published port, and the container and image named after its resource. */
const HTTP_PORT = 8090;
const CONTAINER = "identityService";
const IMAGE = "creatio-identity-service:8.2.3-identityservice";

function containerId(name: string): string | undefined {
    const inspect = spawnSync("docker", ["inspect", "-f", "{{.Id}}", name], { encoding: "utf8" });
    return inspect.status === 0 ? inspect.stdout.trim() : undefined;
}

function imageExists(name: string): boolean {
    return spawnSync("docker", ["image", "inspect", name], { stdio: "ignore" }).status === 0;
}

/** Fails, naming the holder, when the example's port cannot be published on loopback. */
async function requirePortFree(port: number): Promise<void> {
    const publishers = execFileSync("docker", ["ps", "--filter", `publish=${port}`, "--format", "{{.Names}}"], { encoding: "utf8" }).trim();
    if (publishers) throw new Error(`port ${port}, which examples/yaml publishes, is taken by the container(s) ${publishers}; wait for them to go, or remove them`);
    await new Promise<void>((resolve, reject) => {
        const server = net.createServer();
        server.once("error", error => reject(new Error(`port ${port}, which examples/yaml publishes, is in use on 127.0.0.1 (${(error as Error).message}); free it first`)));
        server.listen(port, "127.0.0.1", () => server.close(() => resolve()));
    });
}

describe("engine emulator e2e: examples/yaml through the multi-language path (real Docker and PostgreSQL)", function () {
    this.timeout(600_000);
    let env: DeploymentSuiteEnv;
    let db: ScratchDatabase | undefined;
    let stack: Stack;
    let first: { url: string; clientId: string; clientSecret: string; containerId: string };
    let ourContainer = false;

    before(async function () {
        env = await prepareDeploymentSuite();
        await requirePortFree(HTTP_PORT);
        if (containerId(CONTAINER)) throw new Error(`a container named ${CONTAINER} exists already: examples/yaml creates one under that name; remove it first`);
        ourContainer = true;
        db = await createScratchDatabase(env, "cis_yaml");
        stack = new Workspace(fs.mkdtempSync(path.join(os.tmpdir(), "cis-yaml-state-"))).stack(PROGRAM, "e2e");
        // What examples/yaml's README has the user type. One connection string serves the container and the
        // re-seeding this machine runs: both reach PostgreSQL at the Docker bridge gateway.
        stack.configSet("identityServiceFolder", standInFolder("8.2.3"));
        stack.configSet("signingCertificatePath", SIGNING_CERTIFICATE);
        stack.configSet("connectionString",
            `Server=${env.hostFromContainers};Port=${env.port};Database=${db.name};User ID=${env.user};Password=${env.password};Timeout=5;`, { secret: true });
    });

    after(async function () {
        // Whatever a failed test left: the stack's resources, then (as pulumi-docker leaves built images) the image.
        if (stack && stack.state().length > 0) await stack.destroy().catch(() => undefined);
        if (ourContainer && containerId(CONTAINER)) spawnSync("docker", ["rm", "-f", CONTAINER], { stdio: "ignore" });
        if (ourContainer) spawnSync("docker", ["rmi", "-f", IMAGE], { stdio: "ignore" });
        await db?.drop().catch(() => undefined);
    });

    it("1. preview: the component and its children to create, no secret in the text, nothing created", async () => {
        const preview = await stack.preview();
        assert.ok(preview.steps.length > 0 && preview.steps.every(s => s.op === "create"), preview.text);
        assert.ok(preview.steps.some(s => s.type === COMPONENT), preview.text);
        assert.ok(!preview.text.includes(env.password), "no database password in the preview");
        assert.equal(containerId(CONTAINER), undefined, "preview creates nothing");
        assert.deepEqual(stack.state(), [], "preview writes no checkpoint");
    });

    it("2. up: Construct creates the children against Docker and PostgreSQL; the outputs serve a token; secrets stay secret", async () => {
        const result = await stack.up();
        assert.ok(!result.text.includes(env.password), "no database password in the update's display");
        // The children registered with the emulator's monitor from the plugin, under the constructed component.
        assert.ok(result.calls.includes("ResourceMonitor.RegisterResource"), "the plugin registered with the monitor");
        const component = result.state.find(r => r.type === COMPONENT)!;
        assert.ok(component, result.text);
        const children = result.state.filter(r => r.parent === component.urn);
        assert.ok(children.some(r => r.type === "docker:index/container:Container" && r.id), "the container was created");
        // The component's outputs, as its plugin registered them, are in the checkpoint; its secrets stay secret.
        assert.ok(isSecret(component.outputs.clientSecret) && isSecret(component.outputs.creatioSystemSettings), JSON.stringify(Object.keys(component.outputs)));
        // The stack outputs: the Construct response as YAML `outputs:` reads it.
        const outputs = stack.outputs();
        assert.equal(outputs.url, `http://localhost:${HTTP_PORT}`);
        assert.equal(typeof outputs.clientId, "string");
        assert.ok(isSecret(outputs.clientSecret), "clientSecret is a secret stack output");
        assert.ok(isSecret(outputs.creatioSystemSettings), "creatioSystemSettings is a secret stack output");
        const shown = stack.outputs({ showSecrets: true }) as PropertyMap & { creatioSystemSettings: Record<string, string> };
        assert.equal(shown.creatioSystemSettings.OAuth20IdentityServerClientSecret, shown.clientSecret);
        const id = containerId(CONTAINER);
        assert.ok(id, "the container runs under the example's name");
        first = { url: String(shown.url), clientId: String(shown.clientId), clientSecret: String(shown.clientSecret), containerId: id };
        // A real token request with the output client: re-seeding put it into PostgreSQL, the service grants it.
        assert.equal(await tokenStatus(first.url, first.clientId, first.clientSecret), 200);
        const checkpoint = fs.readFileSync(stack.checkpointFile, "utf8");
        assert.ok(!checkpoint.includes(env.password), "no database password in the checkpoint");
        assert.ok(!checkpoint.includes(first.clientSecret), "no client secret in the checkpoint");
    });

    it("3. a second run: the preview counts everything unchanged, up changes nothing and the container stays the same", async () => {
        const preview = await stack.preview();
        assert.match(preview.text, /Resources:\n {4}\d+ unchanged$/);
        assert.ok(preview.steps.every(s => s.op === "same"), preview.text);
        const result = await stack.up();
        assert.ok(result.steps.every(s => s.op === "same"), result.text);
        assert.equal(containerId(CONTAINER), first.containerId);
        assert.deepEqual((stack.outputs({ showSecrets: true }) as Record<string, string>).clientSecret, first.clientSecret);
        assert.equal(await tokenStatus(first.url, first.clientId, first.clientSecret), 200);
        const checkpoint = fs.readFileSync(stack.checkpointFile, "utf8");
        for (const secret of [env.password, first.clientSecret]) assert.ok(!checkpoint.includes(secret), "no secret in the checkpoint");
    });

    it("4. destroy: the container goes, the checkpoint is empty; the built image stays, as pulumi-docker leaves it", async () => {
        const result = await stack.destroy();
        assert.ok(result.steps.length > 0 && result.steps.every(s => s.op === "delete"), result.text);
        assert.equal(containerId(CONTAINER), undefined, "the container is removed");
        assert.deepEqual(stack.state(), []);
        assert.deepEqual(JSON.parse(fs.readFileSync(stack.checkpointFile, "utf8")).checkpoint.latest.resources, []);
        // pulumi-docker's Image Delete does nothing (provider/provider.go Delete): the local image outlives the stack.
        assert.ok(imageExists(IMAGE), "the built image is left in place, as the real provider leaves it");
        spawnSync("docker", ["rmi", "-f", IMAGE], { stdio: "ignore" });
        assert.ok(!imageExists(IMAGE));
    });
});
