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
    assert.deepEqual(kinds(replaced.operations), ["replace cmd"]);
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
    assert.deepEqual(kinds(rotated.operations), ["replace password"]);
    assert.notEqual(rotated.outputs.password, first.outputs.password);
    assert.equal(rotated.outputs.lower, first.outputs.lower);
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

  it("fails a RemoteImage that is not on the engine, since nothing can be pulled here", async () => {
    const err = await failure(ex, () => ({ id: new docker.RemoteImage("missing", { name: "creatio-identity-service-e2e/no-such-image:0" }).imageId }));
    assert.match(err.message, /image "creatio-identity-service-e2e\/no-such-image:0" is not on the local Docker Engine and no registry is reachable/);
  });
});
