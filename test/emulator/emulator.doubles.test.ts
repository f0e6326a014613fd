// The engine emulator's own tests: the protocol calls it serves, the options it honours, the refusals, and the
// program loading rules, against the real Node.js SDK running test/emulator/fixtures/options. They test the double,
// not the package (suite `npm run test:doubles`).
import { strict as assert } from "assert";
import * as grpc from "@grpc/grpc-js";
import { Struct } from "google-protobuf/google/protobuf/struct_pb";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { Deployment, Registration, durationSeconds, markSecrets } from "./engine";
import { loadProject, programCommand, pwdAndMain } from "./project";
import { containerChangedKeys, containerCreateRequest, containerDefaults, containerReadBack, goDuration, parseGoDuration } from "./providers/rules";
import { generate } from "./providers/random";
import { renderPreview } from "./render";
import { serve } from "./rpc";
import { defaultProviders, Stack, Workspace } from "./stack";
import { SECRET_SIG, SIG_KEY, UNKNOWN, isSecret, secret } from "./values";

/* eslint-disable @typescript-eslint/no-require-imports */
const resourceGrpc = require("@pulumi/pulumi/proto/resource_grpc_pb");
const resourcePb = require("@pulumi/pulumi/proto/resource_pb");
/* eslint-enable @typescript-eslint/no-require-imports */

const FIXTURE = path.join(__dirname, "fixtures", "options");
const TOKEN = "hunter2-token-value";
// The tests start the fixture without type checking, as a user may with PULUMI_NODEJS_TRANSPILE_ONLY.
const ENV = { env: { PULUMI_NODEJS_TRANSPILE_ONLY: "true" } };

function registration(overrides: Partial<Registration>): Registration {
    return {
        type: "random:index/randomString:RandomString", name: "r", parent: "", custom: true, remote: false, object: { length: 8 },
        provider: "", version: "", dependencies: [], propertyDependencies: {}, ignoreChanges: [], replaceOnChanges: [],
        additionalSecretOutputs: [], aliasURNs: [], ...overrides,
    };
}

describe("engine emulator: program loading (pulumi-language-nodejs rules)", () => {
    it("takes the working directory and entry point from Pulumi.yaml main as getPwdMain does", () => {
        const root = fs.mkdtempSync(path.join(os.tmpdir(), "emulator-project-"));
        fs.mkdirSync(path.join(root, "app"));
        fs.writeFileSync(path.join(root, "app", "main.ts"), "");
        assert.deepEqual(pwdAndMain(root, undefined), { pwd: root, entryPoint: "." });
        assert.deepEqual(pwdAndMain(root, "app/"), { pwd: path.join(root, "app"), entryPoint: "." });
        assert.deepEqual(pwdAndMain(root, "app/main.ts"), { pwd: path.join(root, "app"), entryPoint: "main.ts" });
        assert.throws(() => pwdAndMain(root, "/abs"), /must be a relative path/);
        assert.throws(() => pwdAndMain(root, "../elsewhere"), /must be a subfolder/);
        assert.throws(() => pwdAndMain(root, "missing"), /could not be read/);
    });

    it("builds the command line and environment of constructArguments and execRuntime", () => {
        const project = loadProject(FIXTURE);
        const command = programCommand({
            project, stack: "dev", monitor: "127.0.0.1:1", engine: "127.0.0.1:2", dryRun: true,
            config: { "emulator-options:marker": "m", "aws:region": "x" }, secretKeys: ["emulator-options:token"],
        });
        const runPath = require.resolve("@pulumi/pulumi/cmd/run");
        assert.deepEqual(command.args, [
            runPath, "--monitor", "127.0.0.1:1", "--engine", "127.0.0.1:2", "--project", "emulator-options",
            "--root-directory", FIXTURE, "--stack", "dev", "--pwd", FIXTURE, "--dry-run", "--parallel", "48", ".",
        ]);
        assert.equal(command.env.PULUMI_CONFIG, JSON.stringify({ "emulator-options:config:marker": "m", "aws:config:region": "x" }));
        assert.equal(command.env.PULUMI_CONFIG_SECRET_KEYS, JSON.stringify(["emulator-options:token"]));
        assert.equal(command.env.PULUMI_NODEJS_TYPESCRIPT, "true");
    });

    it("refuses a runtime other than nodejs and a project without a name", () => {
        const root = fs.mkdtempSync(path.join(os.tmpdir(), "emulator-project-"));
        fs.writeFileSync(path.join(root, "Pulumi.yaml"), "name: p\nruntime: yaml\n");
        assert.throws(() => programCommand({ project: loadProject(root), stack: "s", monitor: "m", engine: "e", dryRun: false, config: {}, secretKeys: [] }),
            /starts Node.js programs only/);
        fs.writeFileSync(path.join(root, "Pulumi.yaml"), "runtime: nodejs\n");
        assert.throws(() => loadProject(root), /'name' is required/);
    });
});

describe("engine emulator: pure rules", () => {
    it("generates random strings with the provider's character classes and minimums", () => {
        for (let i = 0; i < 50; i++) {
            const value = generate({ length: 12, special: false, minUpper: 3, minNumeric: 2 });
            assert.equal(value.length, 12);
            assert.match(value, /^[A-Za-z0-9]+$/);
            assert.ok((value.match(/[A-Z]/g) ?? []).length >= 3 && (value.match(/[0-9]/g) ?? []).length >= 2, value);
        }
        assert.match(generate({ length: 40, upper: false, lower: false, numeric: false, overrideSpecial: "_-" }), /^[_-]{40}$/);
    });

    it("parses customTimeouts durations and refuses anything else", () => {
        assert.equal(durationSeconds("1h30m"), 5400);
        assert.equal(durationSeconds("30s"), 30);
        assert.equal(durationSeconds(undefined), 0);
        assert.throws(() => durationSeconds("soon"), /not a duration/);
    });

    it("marks outputs secret by additionalSecretOutputs and same-named secret inputs only", () => {
        const outputs = markSecrets({ a: "1", b: "2", c: "3", d: UNKNOWN }, { b: secret("x"), c: { nested: secret("y") } }, ["a", "d"]);
        assert.ok(isSecret(outputs.a) && isSecret(outputs.b));
        assert.equal(outputs.c, "3");
        // An unknown output listed in additionalSecretOutputs becomes a secret unknown (step_executor.go:529-530).
        assert.deepEqual(outputs.d, secret(UNKNOWN));
    });

    it("renders secrets as [secret], unknowns as [unknown] and multi-line text line by line", () => {
        const old = { urn: "urn:pulumi:s::p::t::r", type: "t", custom: true, id: "1", inputs: { script: "a\nb\n", key: secret("old"), port: 1 }, outputs: {}, dependencies: [], propertyDependencies: {} };
        const text = renderPreview("s", [{
            op: "update", urn: old.urn, type: "t", old, new: { ...old, inputs: { script: "a\nc\n", key: secret("new"), port: UNKNOWN } },
            changedKeys: ["key", "port", "script"], replaceKeys: [],
        }]);
        assert.match(text, /~ key: \[secret\] => \[secret\]/);
        assert.match(text, /~ port: 1 => \[unknown\]/);
        assert.match(text, /- b\n.*\+ c/);
        assert.doesNotMatch(text, /old|new/);
        assert.match(text, /~ 1 to update/);
        // A list becoming unknown prints the list, then the unknown.
        const list = renderPreview("s", [{
            op: "update", urn: old.urn, type: "t", old: { ...old, inputs: { labels: [{ label: "a", value: "b" }] } },
            new: { ...old, inputs: { labels: UNKNOWN } }, changedKeys: ["labels"], replaceKeys: [],
        }]);
        assert.match(list, /~ labels: \[\n.*\[0\]: \{\n.*label: "a"\n.*value: "b"\n.*\}\n.*\] => \[unknown\]/);
    });

    it("creates a container as the provider's client does: one Engine API request, the health check in either form, durations parsed as Go parses them (funcs.go:43-460, 139-163)", () => {
        const { name, body } = containerCreateRequest(containerDefaults({
            name: "db",
            image: "sha256:abc",
            envs: ["A=1", "B=x=y"],
            labels: [{ label: "l", value: "v" }],
            ports: [{ internal: 80, external: 8090, ip: "127.0.0.1" }],
            restart: "unless-stopped",
            healthcheck: { tests: ["CMD", "bash", "-c", "true"], interval: "3s", timeout: "3s", startPeriod: "1m0s", retries: 3 },
            networksAdvanced: [{ name: "net-a", aliases: ["ids"] }, { name: "net-b" }],
        }));
        assert.equal(name, "db");
        assert.deepEqual(body, {
            Image: "sha256:abc",
            Env: ["A=1", "B=x=y"],
            Labels: { l: "v" },
            ExposedPorts: { "80/tcp": {} },
            Healthcheck: { Test: ["CMD", "bash", "-c", "true"], Interval: 3e9, Timeout: 3e9, StartPeriod: 60e9, StartInterval: 0, Retries: 3 },
            HostConfig: { PortBindings: { "80/tcp": [{ HostIp: "127.0.0.1", HostPort: "8090" }] }, RestartPolicy: { Name: "unless-stopped" }, NetworkMode: "net-a" },
            NetworkingConfig: { EndpointsConfig: { "net-a": { Aliases: ["ids"] } } },
        });
        assert.equal(containerCreateRequest({ name: "n", image: "i" }).body.Healthcheck, undefined, "none given: the image's own");
        assert.throws(() => parseGoDuration("3 s"), /invalid duration "3 s"/);
    });

    it("reads a health check back as the provider does: Go's time.Duration.String, so 60s is 1m0s (funcs.go:960-969)", () => {
        for (const [nanoseconds, text] of [[0, "0s"], [3e9, "3s"], [60e9, "1m0s"], [90e9, "1m30s"], [3600e9, "1h0m0s"], [1.5e9, "1.5s"], [5e8, "500ms"], [1500, "1.5µs"], [7, "7ns"]] as const) {
            assert.equal(goDuration(nanoseconds), text);
            assert.equal(parseGoDuration(text), nanoseconds, text);
        }
        const config = containerDefaults({ name: "c", image: "i", healthcheck: { tests: ["CMD", "probe"], startPeriod: "1m0s" } });
        const read = containerReadBack(
            {
                Id: "id", Name: "/c", Image: "sha256:x", Config: { Image: "i", Healthcheck: { Test: ["CMD", "probe"], StartPeriod: 60e9 } },
                State: { Running: true, ExitCode: 0 }, HostConfig: { RestartPolicy: { Name: "no" } },
            },
            config,
        );
        assert.deepEqual(containerChangedKeys(config, read, config), [], "written as the provider reads it back: no change");
        const shortened = containerDefaults({ name: "c", image: "i", healthcheck: { tests: ["CMD", "probe"], startPeriod: "1m" } });
        assert.deepEqual(containerChangedKeys(shortened, read, shortened), ["healthcheck"], "\"1m\" reads back as \"1m0s\": a change on every run");
        const fromImage = containerReadBack({ Id: "id", Name: "/c", Image: "sha256:x", Config: { Image: "i", Healthcheck: { Test: ["CMD-SHELL", "x"] } }, State: { Running: true, ExitCode: 0 }, HostConfig: {} }, { name: "c", image: "i" });
        assert.deepEqual(containerChangedKeys({ name: "c", image: "i" }, fromImage, { name: "c", image: "i" }), [], "Optional and Computed: the image's own health check is no change");
    });

    it("refuses to delete a protected resource", async () => {
        const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "emulator-protect-"));
        const first = new Deployment({ project: "p", stack: "s", dryRun: false, olds: [], providers: defaultProviders, pwd: stateDir, config: {} });
        await first.register(registration({ protect: true }));
        await first.finish();
        const second = new Deployment({ project: "p", stack: "s", dryRun: false, olds: first.resultingState(), providers: defaultProviders, pwd: stateDir, config: {} });
        await assert.rejects(second.finish(), /protected/);
    });

    it("fails a registration the provider's Check refuses, naming the property", async () => {
        const deployment = new Deployment({ project: "p", stack: "s", dryRun: true, olds: [], providers: defaultProviders, pwd: os.tmpdir(), config: {} });
        await assert.rejects(deployment.register(registration({ object: { length: 2, minUpper: 3 } })), /property length: length \(2\) must be >= /);
        await assert.rejects(deployment.register(registration({ name: "x", type: "random:index/randomUuid:RandomUuid" })), /does not implement random:index\/randomUuid/);
    });
});

describe("engine emulator: protocol refusals over gRPC", () => {
    let server: Awaited<ReturnType<typeof serve>>;
     
    let client: any;
    before(async () => {
        const deployment = new Deployment({ project: "p", stack: "s", dryRun: true, olds: [], providers: defaultProviders, pwd: os.tmpdir(), config: {} });
        server = await serve(deployment);
        const Client = grpc.makeGenericClientConstructor(resourceGrpc.ResourceMonitorService, "ResourceMonitor");
        client = new Client(server.address, grpc.credentials.createInsecure());
    });
    after(() => server.close());

    const call = (method: string, request: unknown) => new Promise<{ error?: grpc.ServiceError; response?: unknown }>(resolve =>
        client[method](request, (error: grpc.ServiceError | null, response: unknown) => resolve({ error: error ?? undefined, response })));

    it("answers SupportsFeature: secrets yes, resource references and output values no", async () => {
        for (const [feature, expected] of [["secrets", true], ["resourceReferences", false], ["outputValues", false], ["aliasSpecs", false]] as const) {
            const request = new resourcePb.SupportsFeatureRequest();
            request.setId(feature);
            const { response } = await call("supportsFeature", request);
            assert.equal((response as { getHassupport(): boolean }).getHassupport(), expected, feature);
        }
    });

    it("invokes command:local:run as the engine does: in a preview, afresh on every call, a provider error wrapped (source_eval.go:902-1005; pulumi-command local/runController.go)", async () => {
        const invoke = (args: Record<string, unknown>, token = "command:local:run") => {
            const request = new resourcePb.ResourceInvokeRequest();
            request.setTok(token);
            request.setVersion("1.2.1");
            request.setArgs(Struct.fromJavaScript(args as never));
            return call("invoke", request);
        };
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "emulator-invoke-"));
        const counter = path.join(dir, "runs");
        const command = `echo run >> ${counter}; wc -l < ${counter} | tr -d ' '; echo note >&2`;
        for (const expected of ["1", "2"]) {
            const { error, response } = await invoke({ command, stdin: "ignored" });
            assert.equal(error, undefined);
            const result = (response as { getReturn(): Struct }).getReturn().toJavaScript();
            // RunOutputs embeds RunInputs: the inputs come back with stdout and stderr, each without its last newline.
            assert.deepEqual(result, { command, stdin: "ignored", stdout: expected, stderr: "note" });
        }
        const failing = await invoke({ command: "echo out; exit 3" });
        assert.equal(failing.error?.code, grpc.status.UNKNOWN);
        assert.equal(failing.error!.details, 'invocation of command:local:run returned an error: exit status 3: running "echo out; exit 3":\nout\n');
        const missing = await invoke({});
        assert.match(missing.error!.details, /^invocation of command:local:run returned an error: missing required property 'command'$/);
        const other = await invoke({}, "command:remote:run");
        assert.match(other.error!.details, /does not implement command:remote:run/);
    });

    it("refuses ReadResource, Call and RegisterPackage with UNIMPLEMENTED and the call's name", async () => {
        for (const [method, Request] of [["readResource", resourcePb.ReadResourceRequest], ["call", resourcePb.ResourceCallRequest], ["registerPackage", resourcePb.RegisterPackageRequest]]) {
            const { error } = await call(method, new Request());
            assert.equal(error?.code, grpc.status.UNIMPLEMENTED, method);
            assert.match(error!.details, /not implemented by the engine emulator/);
        }
    });

    it("refuses registration options it does not honour (import, deletedWith) by name", async () => {
        const request = new resourcePb.RegisterResourceRequest();
        request.setType("random:index/randomString:RandomString");
        request.setName("imported");
        request.setCustom(true);
        request.setObject(Struct.fromJavaScript({ length: 4 }));
        request.setImportid("existing");
        request.setDeletedwith("urn:pulumi:e2e::p::random:index/randomString:RandomString::other");
        const { error } = await call("registerResource", request);
        assert.equal(error?.code, grpc.status.UNIMPLEMENTED);
        assert.match(error!.details, /uses import, deletedWith, which the emulator does not honour/);
    });
});

describe("engine emulator: a program through preview, update, options and destroy", function () {
    this.timeout(120_000);
    let workspace: Workspace;
    let stack: Stack;
    let log: string;
    const logLines = () => (fs.existsSync(log) ? fs.readFileSync(log, "utf8").trim().split("\n") : []);

    before(() => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "emulator-options-"));
        log = path.join(dir, "operations.log");
        workspace = new Workspace(path.join(dir, "state"));
        stack = workspace.stack(FIXTURE, "dev");
        stack.configSet("marker", "m1");
        stack.configSet("logFile", log);
        stack.configSet("token", TOKEN, { secret: true });
    });

    it("previews the first deploy: the SDK's calls are served, nothing runs, outputs are unknown, no secret in the text", async () => {
        const preview = await stack.preview(ENV);
        for (const method of ["ResourceMonitor.SupportsFeature", "ResourceMonitor.RegisterResource", "ResourceMonitor.RegisterResourceOutputs", "Engine.SetRootResource"]) {
            assert.ok(preview.calls.includes(method), `${method} in ${preview.calls.join(", ")}`);
        }
        assert.deepEqual(logLines(), []);
        assert.equal(fs.existsSync(stack.checkpointFile), false);
        const step = preview.steps.find(s => s.urn.endsWith("::step"))!;
        assert.equal(step.op, "create");
        assert.equal(step.new!.outputs.stdout, UNKNOWN);
        assert.match(preview.text, /\+ command:local:Command: \(create\)/);
        assert.match(preview.text, /stdin {6}: \[secret\]/);
        assert.doesNotMatch(preview.text, new RegExp(TOKEN));
        assert.match(preview.text, /\+ 6 to create/);
        // The child is nested under its component in the URN and in the display.
        assert.match(preview.text, /emulator:test:Group\$random:index\/randomString:RandomString::group-suffix/);
    });

    it("updates: runs the command, keeps secrets secret in outputs and in the checkpoint, records parents and dependencies", async () => {
        await stack.up(ENV);
        assert.deepEqual(logLines(), ["create m1"]);
        const outputs = stack.outputs();
        assert.ok(isSecret(outputs.passwordResult), "RandomPassword.result is secret (the SDK's additionalSecretOutputs)");
        assert.ok(isSecret(outputs.echoed), "additionalSecretOutputs: stdout echoing a secret stays secret");
        assert.equal((outputs.echoed as { value: string }).value, TOKEN);
        assert.equal(typeof outputs.suffix, "string");
        const text = fs.readFileSync(stack.checkpointFile, "utf8");
        assert.doesNotMatch(text, new RegExp(TOKEN));
        assert.doesNotMatch(text, new RegExp(String((outputs.passwordResult as { value: string }).value).replace(/[^A-Za-z0-9]/g, ".")));
        assert.match(text, new RegExp(`"${SIG_KEY}": "${SECRET_SIG}"`));
        const state = stack.state();
        const suffix = state.find(r => r.urn.endsWith("::group-suffix"))!;
        assert.equal(suffix.parent, state.find(r => r.urn.endsWith("::group"))!.urn);
        const step = state.find(r => r.urn.endsWith("::step"))!;
        // dependsOn a component: the SDK sends the component's custom children, the engine records them.
        assert.deepEqual(step.dependencies, [suffix.urn]);
        assert.deepEqual(step.customTimeouts, { create: "30s" });
        assert.match(step.provider!, /::pulumi:providers:command::default_1_2_1::/);
    });

    it("a second run changes nothing", async () => {
        const preview = await stack.preview(ENV);
        assert.match(preview.text, /Resources:\n {4}6 unchanged$/);
        assert.ok(preview.steps.every(s => s.op === "same"));
        assert.deepEqual(logLines(), ["create m1"]);
    });

    it("a keepers change replaces the password (create before delete); an environment change updates the command with its previous output", async () => {
        const before = stack.outputs({ showSecrets: true }).passwordResult;
        stack.configSet("marker", "m2");
        const result = await stack.up(ENV);
        const ops = Object.fromEntries(result.steps.map(s => [s.urn.split("::").pop(), s.op]));
        assert.equal(ops.password, "replace");
        assert.equal(ops.step, "update");
        assert.notEqual(stack.outputs({ showSecrets: true }).passwordResult, before);
        assert.deepEqual(logLines(), ["create m1", "update m2"]);
        assert.match(result.text, /\+-random:index\/randomPassword:RandomPassword: \(replace\)\n/);
        assert.match(result.text, /~ MARKER: "m1" => "m2"/);
    });

    it("ignoreChanges keeps the old input; replaceOnChanges replaces, with the old command deleted at the end", async () => {
        stack.configSet("ignoreEnvironment", "true");
        stack.configSet("marker", "m3");
        const ignored = await stack.up(ENV);
        assert.equal(ignored.steps.find(s => s.urn.endsWith("::step"))!.op, "same");
        assert.deepEqual(logLines(), ["create m1", "update m2"]);

        stack.configSet("ignoreEnvironment", "false");
        stack.configSet("replaceOnEnvironment", "true");
        stack.configSet("marker", "m4");
        const replaced = await stack.up(ENV);
        const step = replaced.steps.find(s => s.urn.endsWith("::step"))!;
        assert.equal(step.op, "replace");
        assert.deepEqual(step.replaceKeys, ["environment"]);
        // create-before-delete: the new command runs first, the old one's delete (with its own environment) last.
        assert.deepEqual(logLines().slice(2), ["create m4", "delete m2"]);
    });

    it("deleteBeforeReplace with a triggers change deletes the old command before creating the new one", async () => {
        stack.configSet("deleteBeforeReplace", "true");
        stack.configSet("trigger", "2");
        const result = await stack.up(ENV);
        const step = result.steps.find(s => s.urn.endsWith("::step"))!;
        assert.equal(step.op, "replace");
        assert.equal(step.deleteBeforeReplace, true);
        assert.deepEqual(logLines().slice(4), ["delete m4", "create m4"]);
    });

    it("aliases carry a renamed component and its child over without replacing anything", async () => {
        const before = stack.outputs().suffix;
        stack.configSet("groupName", "renamed");
        const result = await stack.up(ENV);
        assert.ok(result.steps.filter(s => s.urn.includes("renamed")).every(s => s.op === "same"), result.text);
        assert.equal(stack.outputs().suffix, before);
        assert.ok(stack.state().some(r => r.urn.endsWith("::renamed-suffix")));
        assert.ok(!stack.state().some(r => r.urn.endsWith("::group-suffix")));
    });

    it("refresh reads every resource back and keeps them", async () => {
        const count = stack.state().length;
        assert.deepEqual(await stack.refresh(), []);
        assert.equal(stack.state().length, count);
    });

    it("destroy deletes everything, dependents first, running the command's delete", async () => {
        const result = await stack.destroy();
        assert.ok(result.steps.every(s => s.op === "delete"));
        assert.equal(logLines().at(-1), "delete m4");
        assert.deepEqual(stack.state(), []);
        assert.doesNotMatch(result.text, new RegExp(TOKEN));
    });

    it("a failing step fails the update with the command's error, cancels the program and keeps what was created", async () => {
        stack.configSet("logFile", path.join(path.dirname(log), "missing", "operations.log"));
        const failure = await stack.up(ENV).then(() => undefined, (error: Error) => error);
        assert.ok(failure, "up fails");
        assert.match(failure.message, /command:local:Command::step: exit status \d+: running "echo \\"create \$MARKER\\" >> .*Directory nonexistent/s);
        assert.ok(!failure.message.includes(TOKEN));
        const names = stack.state().map(r => r.urn.split("::").pop());
        assert.ok(names.includes("echo") && !names.includes("step"), names.join(", "));
    });
});
