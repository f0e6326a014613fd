// The test executor itself (test/e2e/support/executor.ts): engine semantics (no-op, update, replace, delete, order),
// the providers it re-implements, and its refusals. Local commands and random values need nothing else; the image
// tests need Docker (test/e2e/infra/start-docker.sh) and build on the e2e base image.
import { strict as assert } from "assert";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import * as docker from "@pulumi/docker";
import * as random from "@pulumi/random";
import { docker as dockerCli, Executor, RunError } from "./support/executor";

const INFRA_DIR = path.join(__dirname, "infra");
const COMMAND = "command:local:Command";

/** Runs a program that must fail; returns the RunError. */
async function failure(executor: Executor, program: () => Record<string, pulumi.Input<unknown>>): Promise<RunError> {
  try {
    await executor.run(program);
  } catch (err) {
    if (err instanceof RunError) return err;
    throw err;
  }
  assert.fail("the run should have failed");
}

const kinds = (operations: readonly { kind: string; name: string }[]) => operations.map(op => `${op.kind} ${op.name}`);

describe("test executor: engine semantics and providers", function () {
  let tmp: string;
  const executors: Executor[] = [];
  const executor = () => {
    const created = new Executor();
    executors.push(created);
    return created;
  };

  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "cis-e2e-executor-"));
  });

  after(async () => {
    for (const created of executors) await created.cleanup();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it("local commands: create, no-op, update with the previous output, replace on triggers, delete when dropped", async () => {
    const ex = executor();
    const deleted = path.join(tmp, "deleted.log");
    const program = (stdin: string, trigger: string, present = true) => () => {
      if (!present) return {};
      const cmd = new command.local.Command("cmd", {
        create: 'printf "created %s in %s, " "$GREETING" "$(pwd)"; cat',
        update: 'printf "updated after [%s], " "$PULUMI_COMMAND_STDOUT"; cat',
        delete: 'printf "deleted after [%s]\\n" "$PULUMI_COMMAND_STDOUT" >> "$DELETED_LOG"',
        environment: { GREETING: "hello", DELETED_LOG: deleted },
        interpreter: ["/bin/bash", "-c"],
        dir: tmp,
        stdin: pulumi.secret(stdin),
        triggers: [trigger],
      });
      return { stdout: cmd.stdout };
    };

    const first = await ex.run(program("one", "a"));
    assert.deepEqual(kinds(first.operations), ["create cmd"]);
    assert.equal(first.outputs.stdout, `created hello in ${fs.realpathSync(tmp)}, one`);
    assert.deepEqual(ex.resource(COMMAND, "cmd")?.secretInputs, ["stdin"]);

    const same = await ex.run(program("one", "a"));
    assert.deepEqual(kinds(same.operations), []);

    const updated = await ex.run(program("two", "a"));
    assert.deepEqual(kinds(updated.operations), ["update cmd"]);
    assert.deepEqual(updated.operations[0].changed, ["stdin"]);
    assert.equal(updated.outputs.stdout, `updated after [created hello in ${fs.realpathSync(tmp)}, one], two`);

    const replaced = await ex.run(program("two", "b"));
    assert.deepEqual(kinds(replaced.operations), ["replace cmd", "delete-replaced cmd"]);
    assert.equal(replaced.outputs.stdout, `created hello in ${fs.realpathSync(tmp)}, two`);
    assert.equal(fs.readFileSync(deleted, "utf8"), `deleted after [updated after [created hello in ${fs.realpathSync(tmp)}, one], two]\n`);

    const dropped = await ex.run(program("two", "b", false));
    assert.deepEqual(kinds(dropped.operations), ["delete cmd"]);
    assert.equal(fs.readFileSync(deleted, "utf8").split("\n").filter(Boolean).length, 2);
    assert.deepEqual(ex.state.filter(entry => entry.custom), []);
  });

  it("a failing command fails the run with the provider's message, its output included, and is not kept", async () => {
    const ex = executor();
    const err = await failure(ex, () => {
      const cmd = new command.local.Command("fails", { create: "echo partial; echo broken >&2; exit 3" });
      return { stdout: cmd.stdout };
    });
    assert.match(err.message, /command:local:Command "fails": exit status 3: running "echo partial; echo broken >&2; exit 3":\npartial\nbroken/);
    assert.deepEqual(kinds(err.operations), ["create fails"]);
    assert.equal(err.operations[0].ok, false);
    assert.equal(ex.resource(COMMAND, "fails"), undefined);
  });

  it("waits for dependencies: a dependsOn command runs only after its dependency finished", async () => {
    const ex = executor();
    const marker = path.join(tmp, "marker");
    const result = await ex.run(() => {
      const first = new command.local.Command("first", { create: `sleep 0.3; echo done > "${marker}"` });
      const second = new command.local.Command("second", { create: `cat "${marker}"` }, { dependsOn: [first] });
      return { stdout: second.stdout };
    });
    assert.equal(result.outputs.stdout, "done");
    const [first, second] = ["first", "second"].map(name => result.operations.find(op => op.name === name)!);
    assert.ok(first.endedAt <= second.startedAt);
    assert.deepEqual(ex.resource(COMMAND, "second")?.dependencies, [`${COMMAND}::first`]);

    const destroyed = await ex.destroy();
    assert.deepEqual(kinds(destroyed), ["delete second", "delete first"], "dependents first");
  });

  it("random values honour their arguments, keep their value, and are replaced when an argument changes", async () => {
    const ex = executor();
    const program = (keeper: string) => () => ({
      lower: new random.RandomString("lower", { length: 24, upper: false, numeric: false, special: false }).result,
      hashes: new random.RandomString("hashes", { length: 10, overrideSpecial: "#", upper: false, lower: false, numeric: false }).result,
      digits: new random.RandomString("digits", { length: 8, minNumeric: 8, special: false }).result,
      password: new random.RandomPassword("password", { length: 32, special: false, keepers: { keeper } }).result,
    });
    const first = await ex.run(program("1"));
    assert.match(String(first.outputs.lower), /^[a-z]{24}$/);
    assert.equal(first.outputs.hashes, "##########");
    assert.match(String(first.outputs.digits), /^[0-9]{8}$/);
    assert.match(String(first.outputs.password), /^[A-Za-z0-9]{32}$/);
    assert.deepEqual(first.secretOutputs, ["password"], "RandomPassword.result is secret, as the provider declares it");

    const again = await ex.run(program("1"));
    assert.deepEqual(kinds(again.operations), []);
    assert.deepEqual(again.outputs, first.outputs);

    const rotated = await ex.run(program("2"));
    assert.deepEqual(kinds(rotated.operations), ["replace password", "delete-replaced password"]);
    assert.notEqual(rotated.outputs.password, first.outputs.password);
    assert.equal(rotated.outputs.lower, first.outputs.lower);
  });

  it("deletes the old resource of a create-before-delete replacement at the end of the run, or at the end of the next after a failure (step_generator.go:2210-2241 @ v3.248.0)", async () => {
    const ex = executor();
    const log = path.join(tmp, "replacement.log");
    fs.writeFileSync(log, "");
    const program = (generation: string, run: string, failAfter = false) => () => {
      const replaced = new command.local.Command("replaced", {
        create: `echo "create ${generation}" >> "${log}"`,
        delete: `echo "delete ${generation}" >> "${log}"`,
        triggers: [generation],
      });
      const after = new command.local.Command(
        "after",
        { create: `echo "after ${run}" >> "${log}"${failAfter ? "; exit 1" : ""}`, environment: { RUN: run } },
        { dependsOn: [replaced] },
      );
      return { after: after.stdout };
    };
    await ex.run(program("g1", "r1"));
    const second = await ex.run(program("g2", "r2"));
    assert.deepEqual(kinds(second.operations), ["replace replaced", "update after", "delete-replaced replaced"]);
    assert.deepEqual(fs.readFileSync(log, "utf8").trim().split("\n"), ["create g1", "after r1", "create g2", "after r2", "delete g1"]);

    fs.writeFileSync(log, "");
    const failed = await failure(ex, program("g3", "r3", true));
    assert.deepEqual(kinds(failed.operations), ["replace replaced", "update after"]);
    assert.deepEqual(ex.pending.map(entry => entry.name), ["replaced"], "the old one waits, as a pending delete");
    const fixed = await ex.run(program("g3", "r4"));
    assert.deepEqual(kinds(fixed.operations), ["update after", "delete-replaced replaced"]);
    assert.deepEqual(fs.readFileSync(log, "utf8").trim().split("\n"), ["create g3", "after r3", "after r4", "delete g2"]);
    assert.deepEqual(ex.pending, []);
  });

  it("marks outputs secret as the engine and the command provider do", async () => {
    const ex = executor();
    const result = await ex.run(() => {
      const cmd = new command.local.Command("secrets", { create: "true", environment: { PLAIN: "p", HIDDEN: pulumi.secret("h") } });
      const whole = new random.RandomString("whole", { length: 4, keepers: pulumi.secret({ k: "v" }) });
      return { environment: cmd.environment, create: cmd.create, keepers: whole.keepers, length: whole.length };
    });
    // The command provider (infer ensureDefaultSecrets) marks an output whose input holds a secret anywhere.
    assert.deepEqual([...result.secretOutputs].sort(), ["environment", "keepers"]);
  });

  it("runs the program like the Pulumi CLI (in the providers' directory, told the root), or like an inline program", async () => {
    const seen = (ex: Executor) => ex.run(() => ({ cwd: process.cwd(), root: pulumi.runtime.getRootDirectory() }));
    const workspace = fs.mkdtempSync(path.join(tmp, "workspace-"));
    const cli = await seen(new Executor({ cwd: workspace }));
    assert.deepEqual(cli.outputs, { cwd: workspace, root: workspace });
    const inline = await seen(new Executor({ cwd: workspace, inlineProgram: true }));
    assert.deepEqual(inline.outputs, { cwd: process.cwd(), root: "" });
  });

  it("refuses resource types, arguments, resource options and invokes it does not implement", async () => {
    const cases: Array<[string, () => Record<string, pulumi.Input<unknown>>, RegExp]> = [
      ["a resource type", () => ({ id: new random.RandomUuid("uuid").result }), /resource type random:index\/randomUuid:RandomUuid is not implemented/],
      [
        "an argument",
        () => ({ out: new command.local.Command("assets", { create: "true", assetPaths: ["*.txt"] }).stdout }),
        /arguments not implemented by the test executor for command:local:Command: assetPaths/,
      ],
      [
        "a nested argument",
        () => ({ out: new docker.RemoteImage("pinned", { name: "x", keepLocally: true, build: { context: "." } }).imageId }),
        /arguments not implemented by the test executor for docker:index\/remoteImage:RemoteImage: build/,
      ],
      [
        "a resource option",
        () => ({ out: new random.RandomString("kept", { length: 4 }, { ignoreChanges: ["length"] }).result }),
        /resource options not implemented by the test executor: ignoreChanges/,
      ],
      [
        "an invoke",
        () => ({ out: command.local.runOutput({ command: "true" }).stdout }),
        /invoke command:local:run is not implemented by the test executor/,
      ],
      [
        "a push",
        () => ({ out: new docker.Image("pushed", { imageName: "registry.example.com/x:1", build: { context: tmp } }).repoDigest }),
        /pushing an image is not possible here/,
      ],
    ];
    for (const [what, program, expected] of cases) {
      const err = await failure(executor(), program);
      assert.match(err.message, expected, `refuses ${what}`);
    }
  });
});

describe("test executor: images (Docker)", function () {
  let tmp: string;
  let ex: Executor;
  const tag = `creatio-identity-service-e2e/executor-test:${process.pid}`;

  before(async function () {
    await dockerCli(["version", "--format", "{{.Server.Version}}"]).catch(() => {
      throw new Error("Docker does not answer: run test/e2e/infra/start-docker.sh first");
    });
    execFileSync("bash", [path.join(INFRA_DIR, "build-base-image.sh")], { stdio: ["ignore", "ignore", "inherit"] });
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "cis-e2e-executor-image-"));
    fs.writeFileSync(path.join(tmp, "Dockerfile"), "FROM creatio-identity-service-e2e/node-base:local\nCOPY content.txt /content.txt\n");
    fs.writeFileSync(path.join(tmp, "content.txt"), "one\n");
    ex = new Executor();
  });

  after(async () => {
    await ex?.cleanup();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it("builds an image, rebuilds it when the build context's content changes, and leaves it on delete", async () => {
    const program = () => {
      const image = new docker.Image("image", { imageName: tag, build: { context: tmp, dockerfile: path.join(tmp, "Dockerfile") }, skipPush: true });
      return { repoDigest: image.repoDigest };
    };
    const first = await ex.run(program);
    assert.deepEqual(kinds(first.operations), ["create image"]);
    const localId = (await dockerCli(["image", "inspect", "-f", "{{.Id}}", tag])).stdout.trim();
    assert.equal(first.outputs.repoDigest, localId, "repoDigest is the local image id");

    assert.deepEqual(kinds((await ex.run(program)).operations), []);

    fs.writeFileSync(path.join(tmp, "content.txt"), "two\n");
    const rebuilt = await ex.run(program);
    assert.deepEqual(kinds(rebuilt.operations), ["update image"]);
    assert.deepEqual(rebuilt.operations[0].changed, ["build"]);
    assert.notEqual(rebuilt.outputs.repoDigest, first.outputs.repoDigest);

    assert.deepEqual(kinds(await ex.destroy()), ["delete image"]);
    assert.equal((await dockerCli(["image", "inspect", tag], { allowFailure: true })).code, 0, "the provider leaves the image");
  });

  it("hashes the build context as the provider does: no rebuild for an empty folder or ignored files", async () => {
    const context = fs.mkdtempSync(path.join(tmp, "digest-"));
    fs.writeFileSync(path.join(context, "build.Dockerfile"), "FROM creatio-identity-service-e2e/node-base:local\nCOPY kept.txt /kept.txt\n");
    fs.writeFileSync(path.join(context, "kept.txt"), "kept\n");
    fs.writeFileSync(path.join(context, "notes.txt"), "one\n");
    fs.mkdirSync(path.join(context, "docs"));
    fs.writeFileSync(path.join(context, "docs", "readme.md"), "one\n");
    fs.writeFileSync(path.join(context, ".dockerignore"), "notes.txt\ndocs\n");
    const digestTag = `${tag}-digest`;
    const program = () => {
      const image = new docker.Image("digest", {
        imageName: digestTag,
        build: { context, dockerfile: path.join(context, "build.Dockerfile") },
        skipPush: true,
      });
      return { repoDigest: image.repoDigest };
    };
    const digester = new Executor();
    try {
      assert.deepEqual(kinds((await digester.run(program)).operations), ["create digest"]);
      fs.mkdirSync(path.join(context, "empty-folder"));
      fs.writeFileSync(path.join(context, "notes.txt"), "two\n");
      fs.writeFileSync(path.join(context, "docs", "readme.md"), "two\n");
      assert.deepEqual(kinds((await digester.run(program)).operations), [], "an empty folder and ignored files change nothing");
      fs.writeFileSync(path.join(context, "kept.txt"), "changed\n");
      assert.deepEqual(kinds((await digester.run(program)).operations), ["update digest"]);
      const stored = digester.resource("docker:index/image:Image", "digest")?.inputs.build as Record<string, unknown>;
      assert.equal(stored.platform, `linux/${process.arch === "x64" ? "amd64" : process.arch}`, "Check adds the default platform");
    } finally {
      await digester.cleanup();
    }
  });

  it("fails a RemoteImage that is not on the engine, since nothing can be pulled here", async () => {
    const err = await failure(ex, () => ({ id: new docker.RemoteImage("missing", { name: "creatio-identity-service-e2e/no-such-image:0" }).imageId }));
    assert.match(err.message, /image "creatio-identity-service-e2e\/no-such-image:0" is not on the local Docker Engine and no registry is reachable/);
  });
});

describe("test executor: containers as kreuzwerker v4.5 creates, reads and diffs them (Docker)", function () {
  const suffix = `${process.pid}-${Date.now().toString(36)}`;
  const exitsImage = `creatio-identity-service-e2e/executor-exits:${suffix}`;
  const sleepsImage = `creatio-identity-service-e2e/executor-sleeps:${suffix}`;
  const label = `creatio-identity-service-e2e.executor-test=${suffix}`;
  let tmp: string;
  const executors: Executor[] = [];
  const executor = () => {
    const created = new Executor();
    executors.push(created);
    return created;
  };

  before(async function () {
    execFileSync("bash", [path.join(INFRA_DIR, "build-base-image.sh")], { stdio: ["ignore", "ignore", "inherit"] });
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "cis-e2e-executor-container-"));
    for (const [image, script] of [
      [exitsImage, "process.exit(3)"],
      [sleepsImage, "setInterval(() => undefined, 60000); process.on('SIGTERM', () => process.exit(0))"],
    ]) {
      const dir = fs.mkdtempSync(path.join(tmp, "image-"));
      fs.writeFileSync(path.join(dir, "Dockerfile"), `FROM creatio-identity-service-e2e/node-base:local\nENTRYPOINT ["/usr/bin/node", "-e", ${JSON.stringify(script)}]\n`);
      await dockerCli(["build", "-q", "--label", label, "-t", image, dir], { env: { DOCKER_BUILDKIT: "0" } });
    }
  });

  after(async () => {
    for (const created of executors) await created.cleanup();
    await dockerCli(["image", "rm", exitsImage, sleepsImage], { allowFailure: true });
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  const container = (name: string, image: string, extra: Partial<docker.ContainerArgs> = {}) => () => ({
    id: new docker.Container(name, { name: `cis-executor-${name}-${suffix}`, image, labels: [{ label: "creatio-identity-service-e2e.executor-test", value: suffix }], ...extra }).id,
  });

  it("creates a container that stops at once (no wait for running); a refresh finds it stopped and starts or replaces it", async () => {
    const ex = executor();
    const plain = container("exits", exitsImage);
    const created = await ex.run(plain);
    assert.deepEqual(kinds(created.operations), ["create exits"], "the create succeeds although the service exits");
    const id = ex.resource("docker:index/container:Container", "exits")!.id;
    await dockerCli(["wait", id]);
    // Read finds it stopped: must_run false in the state, so must_run true is an update that starts it again.
    const refreshed = await ex.run(plain, { refresh: true });
    assert.deepEqual(kinds(refreshed.operations), ["update exits"]);
    assert.deepEqual(refreshed.operations[0].changed, ["mustRun"]);

    // With published ports, Read also finds no ports on the stopped container: a replacement.
    const port = 20000 + (process.pid % 20000);
    const published = container("exits-ports", exitsImage, { ports: [{ internal: 80, external: port, ip: "127.0.0.1" }] });
    await ex.run(published);
    await dockerCli(["wait", ex.resource("docker:index/container:Container", "exits-ports")!.id]);
    const replaced = await ex.run(published, { refresh: true });
    const replacement = replaced.operations.find(op => op.name === "exits-ports" && op.kind === "replace");
    assert.ok(replacement, replaced.operations.map(op => `${op.kind} ${op.name}`).join(", "));
    assert.deepEqual(replacement.changed, ["mustRun", "ports"]);
  });

  it("compares env, labels and uploads as sets, reads ports back, and notices a stopped or removed container only on refresh", async () => {
    const ex = executor();
    const port = 20000 + ((process.pid + 1) % 20000);
    const program = (envs: string[], labels: Array<{ label: string; value: string }>) =>
      container("sleeps", sleepsImage, {
        envs,
        labels: [...labels, { label: "creatio-identity-service-e2e.executor-test", value: suffix }],
        ports: [{ internal: 80, external: port, ip: "127.0.0.1" }],
        uploads: [
          { file: "/a.txt", content: "a" },
          { file: "/b.txt", content: "b" },
        ],
      });
    const first = await ex.run(program(["A=1", "B=2"], [{ label: "x", value: "1" }, { label: "y", value: "2" }]));
    assert.deepEqual(kinds(first.operations), ["create sleeps"]);
    const state = ex.resource("docker:index/container:Container", "sleeps")!;
    assert.deepEqual(state.outputs.ports, [{ internal: 80, external: port, ip: "127.0.0.1", protocol: "tcp" }], "read back from the engine");

    const reordered = await ex.run(program(["B=2", "A=1", "A=1"], [{ label: "y", value: "2" }, { label: "x", value: "1" }]));
    assert.deepEqual(kinds(reordered.operations), [], "sets: order and repetitions do not count");

    const id = state.id;
    await dockerCli(["stop", "-t", "1", id]);
    assert.deepEqual(kinds((await ex.run(program(["A=1", "B=2"], [{ label: "x", value: "1" }, { label: "y", value: "2" }]))).operations), [], "no refresh, nothing noticed");
    const refreshed = await ex.run(program(["A=1", "B=2"], [{ label: "x", value: "1" }, { label: "y", value: "2" }]), { refresh: true });
    assert.deepEqual(kinds(refreshed.operations), ["replace sleeps"]);
    assert.deepEqual(refreshed.operations[0].changed, ["mustRun", "ports"]);

    await dockerCli(["rm", "-f", ex.resource("docker:index/container:Container", "sleeps")!.id]);
    const recreated = await ex.run(program(["A=1", "B=2"], [{ label: "x", value: "1" }, { label: "y", value: "2" }]), { refresh: true });
    assert.deepEqual(kinds(recreated.operations), ["create sleeps"], "a removed container leaves the state on refresh");
  });
});
