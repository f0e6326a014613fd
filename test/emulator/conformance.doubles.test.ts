// The conformance of the engine emulator and the provider doubles (the emulator's providers and the e2e executor,
// which share test/emulator/providers/rules.ts): one test per row of the conformance table in README.md, each with
// cases read from the real source at the pinned tag it names. These test the doubles, not the package.
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { Deployment, DeploymentOptions, Registration, ResourceState, markSecrets, scheduleDeletes, shouldTriggerReplace } from "./engine";
import { pathContains, parsePropertyPath, replaceOnChangesKeys } from "./propertyPaths";
import { CommandProvider } from "./providers/command";
import { DockerProvider } from "./providers/docker";
import { RandomProvider } from "./providers/random";
import {
    CONTAINER_IN_PLACE, InspectedContainer, commandId, containerChangedKeys, containerDefaults, containerReadBack, containerReplaceKeys, hashContext,
    keepersRequireReplace, randomReplaceKeys, remoteImageReplaceKeys,
} from "./providers/rules";
import { renderPreview } from "./render";
import { defaultProviders } from "./stack";
import { PropertyMap, UNKNOWN, isSecret, reveal, secret } from "./values";

const STRING = "random:index/randomString:RandomString";
const COMMAND = "command:local:Command";

function registration(overrides: Partial<Registration>): Registration {
    return {
        type: STRING, name: "r", parent: "", custom: true, remote: false, object: { length: 8 },
        provider: "", version: "", dependencies: [], propertyDependencies: {}, ignoreChanges: [], replaceOnChanges: [],
        additionalSecretOutputs: [], aliasURNs: [], ...overrides,
    };
}

function deployment(olds: ResourceState[], options: Partial<DeploymentOptions> = {}): Deployment {
    return new Deployment({ project: "p", stack: "s", dryRun: false, olds, providers: defaultProviders, pwd: os.tmpdir(), config: {}, ...options });
}

const byName = (d: Deployment, name: string) => d.steps.find(s => s.urn.endsWith(`::${name}`))!;

describe("conformance: engine (pulumi/pulumi @ v3.248.0)", () => {
    it("a failed run's old halves are pending deletes: never diffed against, deleted once at the end of the next run (deployment.go:521-524, step_generator.go:2210-2241)", async () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "conformance-pending-"));
        const log = path.join(dir, "log");
        const command = (trigger: string) => registration({
            type: COMMAND, name: "c", version: "1.2.1",
            object: { create: `echo create-${trigger} >> ${log}`, delete: `echo delete-${trigger} >> ${log}`, triggers: [trigger] },
        });
        const first = deployment([]);
        await first.register(command("1"));
        await first.finish();
        // The trigger changes: create-before-delete; the run then fails before the end, so the old half stays.
        const failed = deployment(first.resultingState());
        await failed.register(command("2"));
        const left = failed.resultingState();
        assert.deepEqual(left.filter(r => r.type === COMMAND).map(r => [r.inputs.triggers, r.delete ?? false]), [[["2"], false], [["1"], true]]);
        const retry = deployment(left);
        await retry.register(command("2"));
        assert.equal(byName(retry, "c").op, "same", "the retry diffs against the resource the failed run created");
        await retry.finish();
        assert.deepEqual(retry.replacedDeletes.map(s => s.op), ["delete-replaced"]);
        assert.deepEqual(fs.readFileSync(log, "utf8").trim().split("\n"), ["create-1", "create-2", "delete-1"]);
        assert.deepEqual(retry.resultingState().filter(r => r.type === COMMAND).map(r => r.inputs.triggers), [["2"]]);
    });

    it("retainOnDelete: a delete skips the provider as the deleted state says, not the program's new value; a same stores the new value (step.go:630, step_generator.go:714-746)", async () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "conformance-retain-"));
        const log = path.join(dir, "log");
        // The delete fails, as it would on a server that is gone, after leaving a trace that it ran.
        const command = (trigger: string, retainOnDelete?: boolean) => registration({
            type: COMMAND, name: "c", version: "1.2.1", deleteBeforeReplace: true, retainOnDelete,
            object: { create: `echo create-${trigger} >> ${log}`, delete: `echo delete-${trigger} >> ${log}; exit 1`, triggers: [trigger] },
        });
        const first = deployment([]);
        await first.register(command("a"));
        await first.finish();
        // Set in the same run as the replacement: the state says nothing of it yet, so the delete runs (and fails).
        const sameRun = deployment(first.resultingState());
        await assert.rejects(sameRun.register(command("b", true)));
        assert.deepEqual(fs.readFileSync(log, "utf8").trim().split("\n"), ["create-a", "delete-a"]);
        // A run of its own: a same, whose new state carries the option.
        const marking = deployment(first.resultingState());
        await marking.register(command("a", true));
        await marking.finish();
        assert.equal(byName(marking, "c").op, "same");
        assert.equal(marking.resultingState().find(r => r.type === COMMAND)!.retainOnDelete, true);
        // Then the replacement: the old half leaves the state without its delete running.
        const moving = deployment(marking.resultingState());
        await moving.register(command("b", true));
        await moving.finish();
        assert.equal(byName(moving, "c").op, "replace");
        assert.deepEqual(moving.resultingState().filter(r => r.type === COMMAND).map(r => r.inputs.triggers), [["b"]]);
        // And a resource gone from the program: dropped from the state, nothing run.
        const removing = deployment(moving.resultingState());
        await removing.finish();
        assert.deepEqual(removing.resultingState().filter(r => r.type === COMMAND), []);
        assert.deepEqual(fs.readFileSync(log, "utf8").trim().split("\n"), ["create-a", "delete-a", "create-b"]);
    });

    it("--replace: a targeted resource is replaced with no change, blamed on the id, the provider not asked (step_generator.go:195-202, 2700-2703)", async () => {
        const first = deployment([]);
        await first.register(registration({ name: "kept" }));
        await first.register(registration({ name: "target" }));
        await first.finish();
        const target = first.resultingState().find(r => r.urn.endsWith("::target"))!;
        const replacing = deployment(first.resultingState(), { replaceTargets: [target.urn] });
        await replacing.register(registration({ name: "kept" }));
        await replacing.register(registration({ name: "target" }));
        await replacing.finish();
        assert.equal(byName(replacing, "kept").op, "same");
        assert.equal(byName(replacing, "target").op, "replace");
        assert.deepEqual(byName(replacing, "target").replaceKeys, ["id"]);
        assert.notEqual(replacing.resultingState().find(r => r.urn === target.urn)!.outputs.result, target.outputs.result, "a new value");
    });

    it("a change of provider replaces only when the new provider's DiffConfig says so (step_generator.go:2613-2690)", async () => {
        const first = deployment([]);
        await first.register(registration({ version: "4.21.1" }));
        await first.finish();
        // A new default provider version, then an explicit provider: the random provider's DiffConfig never replaces.
        const upgraded = deployment(first.resultingState());
        await upgraded.register(registration({ version: "4.21.2" }));
        await upgraded.finish();
        assert.equal(byName(upgraded, "r").op, "same");
        assert.ok(upgraded.steps.some(s => s.op === "delete" && s.urn.endsWith("::default_4_21_1")), "the old default provider goes");
        const explicit = deployment(upgraded.resultingState());
        const provider = await explicit.register(registration({ type: "pulumi:providers:random", name: "explicit", object: {} }));
        await explicit.register(registration({ provider: `${provider.urn}::${provider.id}` }));
        assert.equal(byName(explicit, "r").op, "same");
        // A provider whose DiffConfig asks for it replaces.
        const replacing: typeof defaultProviders = (pkg, pwd) => Object.assign(defaultProviders(pkg, pwd), { diffConfig: () => true });
        const moved = deployment(upgraded.resultingState(), { providers: replacing });
        const other = await moved.register(registration({ type: "pulumi:providers:random", name: "explicit", object: {} }));
        await moved.register(registration({ provider: `${other.urn}::${other.id}` }));
        assert.equal(byName(moved, "r").op, "replace");
        assert.deepEqual(byName(moved, "r").replaceKeys, ["provider"]);
    });

    it("marks additionalSecretOutputs secret even when unknown, and again on a step with no changes (step_executor.go:518-564, step.go:154-156)", async () => {
        assert.ok(isSecret(markSecrets({ result: UNKNOWN }, {}, ["result"]).result));
        const first = deployment([]);
        await first.register(registration({}));
        await first.finish();
        assert.ok(!isSecret(first.resultingState()[1].outputs.result));
        const second = deployment(first.resultingState());
        const result = await second.register(registration({ additionalSecretOutputs: ["result"] }));
        assert.equal(byName(second, "r").op, "same");
        assert.ok(isSecret(result.outputs.result), "re-marked on the same step");
    });

    it("replacementTrigger: unknown on either side replaces at preview and fails an update; null never; the provider's Diff is skipped (step_generator.go:1679-1696, 3422-3437)", async () => {
        assert.equal(shouldTriggerReplace(UNKNOWN, "a"), true);
        assert.equal(shouldTriggerReplace("a", UNKNOWN), true);
        assert.equal(shouldTriggerReplace(null, "a"), false);
        assert.equal(shouldTriggerReplace("a", undefined), false);
        assert.equal(shouldTriggerReplace(secret("a"), "a"), false);
        assert.equal(shouldTriggerReplace("b", "a"), true);
        const first = deployment([]);
        await first.register(registration({ replacementTrigger: "a" }));
        await first.finish();
        const preview = deployment(first.resultingState(), { dryRun: true });
        await preview.register(registration({ replacementTrigger: UNKNOWN }));
        assert.equal(byName(preview, "r").op, "replace");
        assert.deepEqual(byName(preview, "r").replaceKeys, ["replacementTrigger"]);
        const update = deployment(first.resultingState());
        await assert.rejects(update.register(registration({ replacementTrigger: UNKNOWN })), /replacement trigger contains unknowns for urn:pulumi:s::p::random:index\/randomString:RandomString::r/);
    });

    it("replaceOnChanges paths contain the changed property paths, not only top-level keys (step_generator.go:2911-3002, properties_path.go:314-342)", () => {
        assert.deepEqual(parsePropertyPath('a.b[0]["c.d"][*]'), ["a", "b", 0, "c.d", "*"]);
        assert.equal(pathContains(["triggers", "*"], ["triggers", 0]), true);
        assert.equal(pathContains(["triggers", "*"], ["triggers"]), false);
        assert.equal(pathContains(["*"], ["anything", 1]), true);
        const keys = (patterns: string[], olds: PropertyMap, news: PropertyMap) =>
            replaceOnChangesKeys(Object.keys({ ...olds, ...news }).filter(k => JSON.stringify(olds[k]) !== JSON.stringify(news[k])), olds, news, patterns);
        assert.deepEqual(keys(["triggers[*]"], { triggers: ["a"] }, { triggers: ["b"] }), ["triggers"]);
        // A whole list added is the key's own path, which "triggers[*]" does not contain (infer's forceReplace covers it).
        assert.deepEqual(keys(["triggers[*]"], {}, { triggers: ["b"] }), []);
        assert.deepEqual(keys(["environment.MARKER"], { environment: { MARKER: "1", X: "a" } }, { environment: { MARKER: "1", X: "b" } }), []);
        assert.deepEqual(keys(["environment.MARKER"], { environment: { MARKER: "1" } }, { environment: { MARKER: "2" } }), ["environment"]);
        assert.deepEqual(keys(["ports[0].external"], { ports: [{ external: 1, internal: 80 }] }, { ports: [{ external: 2, internal: 80 }] }), ["ports"]);
    });

    it("a replacement runs Check again on the program's values, without ignoreChanges (step_generator.go:1882-1900)", async () => {
        const first = deployment([]);
        await first.register(registration({ object: { length: 8, keepers: { k: "1" } } }));
        await first.finish();
        const second = deployment(first.resultingState());
        const result = await second.register(registration({ object: { length: 12, keepers: { k: "2" } }, ignoreChanges: ["length"] }));
        assert.equal(byName(second, "r").op, "replace");
        assert.equal(String(reveal(result.outputs.result)).length, 12, "the new value follows the program's length, not the ignored old one");
    });

    it("deletes form one dependency-ordered schedule: a resource goes once nothing condemned depends on it (step_generator.go:2560-2609)", () => {
        const state = (name: string, deps: string[] = [], extra: Partial<ResourceState> = {}): ResourceState => ({
            urn: `urn:pulumi:s::p::t::${name}`, type: "t", custom: true, id: name, inputs: {}, outputs: {},
            dependencies: deps.map(d => `urn:pulumi:s::p::t::${d}`), propertyDependencies: {}, ...extra,
        });
        // An old half of a replacement (pending) that a removed resource depends on waits for it.
        const base = state("base", [], { delete: true });
        const dependent = state("dependent", ["base"]);
        const unrelated = state("unrelated");
        const order = scheduleDeletes([base, dependent, unrelated]).map(round => round.map(r => r.id));
        assert.deepEqual(order, [["dependent"], ["unrelated", "base"]]);
    });

    it("the display prints [unknown], a bare (replace) header, drops stack outputs that become unknown at preview and totals only two or more kinds of change (object_diff.go:66-82, 360, 972-980; diff.go:303-327)", () => {
        const old: ResourceState = { urn: "urn:pulumi:s::p::t::r", type: "t", custom: true, id: "1", inputs: { port: 1 }, outputs: {}, dependencies: [], propertyDependencies: {} };
        const stack: ResourceState = { urn: "urn:pulumi:s::p::pulumi:pulumi:Stack::p-s", type: "pulumi:pulumi:Stack", custom: false, inputs: {}, outputs: { url: "http://a", name: "x" }, dependencies: [], propertyDependencies: {} };
        const text = renderPreview("s", [
            { op: "update", urn: stack.urn, type: stack.type, old: stack, new: { ...stack, outputs: { url: UNKNOWN, name: "y" } }, changedKeys: ["outputs"], replaceKeys: [] },
            { op: "replace", urn: old.urn, type: "t", old, new: { ...old, inputs: { port: UNKNOWN } }, changedKeys: ["port"], replaceKeys: ["port"], deleteBeforeReplace: true },
        ]);
        assert.match(text, /\+-t: \(replace\)\n/);
        assert.match(text, /~ port: 1 => \[unknown\]/);
        assert.doesNotMatch(text, /url/);
        assert.match(text, /~ name: "x" => "y"/);
        assert.match(text, /Resources:\n {4}~ 1 to update\n {4}\+-1 to replace\n {4}2 changes$/);
        const one = renderPreview("s", [{ op: "create", urn: old.urn, type: "t", new: old, changedKeys: [], replaceKeys: [] }], [], "Updating");
        assert.match(one, /Resources:\n {4}\+ 1 created$/);
        const none = renderPreview("s", [{ op: "same", urn: old.urn, type: "t", old, new: old, changedKeys: [], replaceKeys: [] }]);
        assert.match(none, /Resources:\n {4}1 unchanged$/);
    });
});

describe("conformance: providers (rules shared by the emulator and the e2e executor)", () => {
    it("random keepers: RequiresReplaceIfValuesNotNull (terraform-provider-random mapplanmodifiers.go:18-99 @ f8d869dc98d9)", () => {
        const cases: [PropertyMap | null, PropertyMap | null, boolean, string][] = [
            [null, null, false, "no keepers either side"],
            [null, { rotation: "1" }, true, "set for the first time"],
            [null, { rotation: null }, false, "only null values"],
            [{ rotation: "1" }, { rotation: "1" }, false, "unchanged"],
            [{ rotation: "1" }, { rotation: "2" }, true, "changed"],
            [{ rotation: "1" }, null, true, "removed entirely"],
            [{ rotation: "1" }, {}, true, "emptied"],
            [{ rotation: "1" }, { rotation: "1", extra: null }, false, "a new key with a null value"],
        ];
        const provider = new RandomProvider();
        for (const [state, config, replaces, label] of cases) {
            assert.equal(keepersRequireReplace(state, config), replaces, label);
            const olds: PropertyMap = { length: 8, ...(state ? { keepers: state } : {}) };
            const news: PropertyMap = { length: 8, ...(config ? { keepers: config } : {}) };
            const diff = provider.diff(STRING, olds, olds, news);
            assert.equal(diff.replaceKeys.includes("keepers"), replaces, `emulator: ${label}`);
            assert.deepEqual(randomReplaceKeys(diff.changedKeys, olds, news), diff.replaceKeys, `executor rule: ${label}`);
        }
    });

    it("a local command's id is known at preview: NewUniqueHex(name, 8, 0) before the preview check (pulumi-command v1.2.1 local/commandController.go:42-50)", async () => {
        assert.match(commandId("gate"), /^gate[0-9a-f]{8}$/);
        const created = await new CommandProvider().create(COMMAND, { create: "exit 1" }, { pwd: os.tmpdir(), urn: "urn:pulumi:s::p::command:local:Command::gate", timeoutSeconds: 0, log: () => undefined }, true);
        assert.match(created.id, /^gate[0-9a-f]{8}$/);
        assert.equal(created.outputs.stdout, UNKNOWN);
        const preview = deployment([], { dryRun: true });
        const result = await preview.register(registration({ type: COMMAND, name: "gate", object: { create: "exit 1" } }));
        assert.match(result.id, /^gate[0-9a-f]{8}$/, "the SDK receives a known id");
    });

    it("Container: Read-back state diffed against the inputs; a stopped container reads must_run=false (an update), extra port bindings replace (kreuzwerker v4.5.0 funcs.go:800-845, structures.go:35-59)", () => {
        const inputs = { name: "c", image: "sha256:abc", mustRun: true, restart: "no", ports: [{ internal: 80, external: 8090, ip: "0.0.0.0", protocol: "tcp" }] };
        const inspected = (running: boolean, bindings: { HostIp: string; HostPort: string }[] | null): InspectedContainer => ({
            Id: "id", Name: "/c", Image: "sha256:abc", Config: { Image: "img:1" }, State: { Running: running, ExitCode: running ? 0 : 137 },
            HostConfig: { RestartPolicy: { Name: "no" } }, NetworkSettings: { Ports: { "80/tcp": bindings } },
        });
        const running = containerReadBack(inspected(true, [{ HostIp: "0.0.0.0", HostPort: "8090" }]), inputs);
        assert.deepEqual(containerChangedKeys(inputs, running, inputs), []);
        const stopped = containerReadBack(inspected(false, null), inputs);
        assert.equal(stopped.mustRun, false);
        assert.equal(stopped.exitCode, 137);
        assert.deepEqual(stopped.ports, [], "must_run was true: the empty ports of an exited container are read back");
        const changed = containerChangedKeys(inputs, stopped, inputs);
        assert.deepEqual(changed, ["mustRun", "ports"]);
        assert.deepEqual(containerReplaceKeys(changed), ["ports"]);
        const dual = containerReadBack(inspected(true, [{ HostIp: "0.0.0.0", HostPort: "8090" }, { HostIp: "::", HostPort: "8090" }]), inputs);
        assert.deepEqual(containerReplaceKeys(containerChangedKeys(inputs, dual, inputs)), ["ports"]);
        // The emulator's provider diffs the same way.
        const diff = new DockerProvider(os.tmpdir()).diff("docker:index/container:Container", inputs as PropertyMap, { ...stopped, ports: running.ports } as PropertyMap, inputs as PropertyMap);
        assert.deepEqual([diff.changedKeys, diff.replaceKeys, diff.deleteBeforeReplace], [["mustRun"], [], true]);
    });

    it("Container schema defaults: restart \"no\", must_run true, a port's ip \"0.0.0.0\" and protocol \"tcp\" (resource_docker_container.go:122, 230, 487-535 @ v4.5.0)", () => {
        assert.deepEqual(containerDefaults({ name: "c", image: "i", ports: [{ internal: 80, external: 8090 }] }), {
            name: "c", image: "i", restart: "no", mustRun: true, ports: [{ internal: 80, external: 8090, ip: "0.0.0.0", protocol: "tcp" }],
        });
        assert.deepEqual(containerDefaults({ name: "c", image: "i", restart: "always", mustRun: false }), { name: "c", image: "i", restart: "always", mustRun: false });
    });

    it("Container arguments updated in place include healthcheck, start, max_retry_count, init and tmpfs (resource_docker_container.go @ v4.5.0)", () => {
        for (const key of ["healthcheck", "start", "maxRetryCount", "init", "tmpfs", "restart", "mustRun", "wait", "waitTimeout"]) {
            assert.ok(CONTAINER_IN_PLACE.has(key), key);
            assert.deepEqual(containerReplaceKeys([key]), [], key);
        }
        assert.deepEqual(containerReplaceKeys(["envs", "labels", "ports", "image", "name", "uploads", "networksAdvanced"]).length, 7);
        assert.deepEqual(remoteImageReplaceKeys(["keepLocally", "forceRemove"]), []);
        assert.deepEqual(remoteImageReplaceKeys(["name"]), ["name"]);
    });

    it("the build context digest hashes each file's mode, and applies the ignore file (pulumi-docker provider/provider.go:606-684)", () => {
        const context = fs.mkdtempSync(path.join(os.tmpdir(), "conformance-context-"));
        const dockerfile = path.join(context, "Dockerfile");
        fs.writeFileSync(dockerfile, "FROM scratch\n");
        fs.writeFileSync(path.join(context, "run.sh"), "echo\n", { mode: 0o644 });
        const before = hashContext(context, dockerfile);
        fs.chmodSync(path.join(context, "run.sh"), 0o755);
        const executable = hashContext(context, dockerfile);
        assert.notEqual(executable, before, "a mode change is a change of the context");
        fs.mkdirSync(path.join(context, "empty"));
        assert.equal(hashContext(context, dockerfile), executable, "directories themselves are not hashed");
        fs.writeFileSync(path.join(context, "notes.md"), "x");
        fs.writeFileSync(path.join(context, ".dockerignore"), "notes.md\n");
        const ignored = hashContext(context, dockerfile);
        fs.writeFileSync(path.join(context, "notes.md"), "y");
        assert.equal(hashContext(context, dockerfile), ignored, "an ignored file does not count");
    });
});
