// src/scripts/reseed-container.js against a recording stand-in of the docker CLI: the commands it runs and in which
// order, what reaches the container's stdin, that nothing secret is ever an argument, that the container is removed
// whatever fails, and what each Docker failure tells the user. The real CLI and Engine run in
// test/e2e/reseedContainer.e2e.test.ts.
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";

// eslint-disable-next-line @typescript-eslint/no-require-imports
const wrapper = require(path.join(__dirname, "..", "..", "src", "scripts", "reseed-container.js"));

interface DockerCall {
  args: string[];
  input?: string;
  /** For `docker cp`: the mode of the file copied, while it exists. */
  mode?: number;
}
type Answer = { code: number; stdout: string; stderr: string };

const CONNECTION = "Server=db;Database=identity;User ID=reseed;Password=Container-Secret-77;";
const STDIN = JSON.stringify({ action: "prepare", connectionString: CONNECTION, client: { ClientId: "c" } });
const SCRIPT_OUTPUT = '{"clientId":"c","deletedClients":0,"insertedClients":0,"addedSecrets":0,"restartToken":"","supersededClientIds":[]}\n';

function settings(overrides: Record<string, string> = {}) {
  return wrapper.settingsFrom({
    RESEED_DB_PROVIDER: "Postgres",
    RESEED_IMAGE: "node:24-alpine",
    RESEED_NETWORKS: JSON.stringify(["service-net", "db-net"]),
    RESEED_COMPONENT: "ids",
    RESEED_ROLE: "client-reseed",
    // Any file that exists stands in for the bundle here.
    RESEED_BUNDLE: __filename,
    ...overrides,
  });
}

/** A docker CLI that records its calls and answers `answers[command]` (default: success). */
function recordingDocker(calls: DockerCall[], answers: Record<string, Partial<Answer>> = {}) {
  return async (args: string[], input?: string): Promise<Answer> => {
    calls.push({ args, input, ...(args[0] === "cp" ? { mode: fs.statSync(args[1]).mode & 0o777 } : {}) });
    const key = args[0] === "network" ? "network connect" : args[0];
    const answer = answers[key] ?? {};
    const defaults: Record<string, Answer> = {
      create: { code: 0, stdout: "f00dcafe\n", stderr: "" },
      start: { code: 0, stdout: SCRIPT_OUTPUT, stderr: "reseed: the stored client matches its configuration\n" },
    };
    return { ...(defaults[key] ?? { code: 0, stdout: "", stderr: "" }), ...answer };
  };
}

describe("reseed-container.js: the docker CLI calls of one step (recording stand-in)", () => {
  it("creates, connects, copies, starts with stdin, then removes; the script's stdout and exit code are the step's", async () => {
    const calls: DockerCall[] = [];
    const result = await wrapper.runInContainer(settings(), STDIN, '{"clientId":"c","restartToken":"t0"}', recordingDocker(calls));

    assert.deepEqual(
      calls.map((call) => call.args[0] + (call.args[0] === "network" ? ` ${call.args[1]}` : "")),
      ["create", "network connect", "cp", "start", "rm"],
    );
    assert.deepEqual(calls[0].args, [
      "create", "--interactive", "--rm", "--user", "65534:65534", "--cap-drop", "ALL", "--security-opt", "no-new-privileges",
      "--label", "creatio-identity-service.component=ids", "--label", "creatio-identity-service.role=client-reseed",
      "--env", "RESEED_DB_PROVIDER=Postgres", "--network", "service-net", "--entrypoint", "node", "node:24-alpine", "/reseed.js",
    ]);
    assert.deepEqual(calls[1].args, ["network", "connect", "db-net", "f00dcafe"]);
    assert.equal(calls[2].args[0], "cp");
    assert.match(calls[2].args[1], /reseed-[^/]+\/reseed\.js$/, "a copy readable by the container's user");
    assert.equal(calls[2].args[2], "f00dcafe:/reseed.js");
    assert.equal(calls[2].mode, 0o444);
    assert.ok(!fs.existsSync(calls[2].args[1]), "the copy is removed");
    assert.deepEqual(calls[3].args, ["start", "--attach", "--interactive", "f00dcafe"]);
    assert.deepEqual(JSON.parse(calls[3].input!), { ...JSON.parse(STDIN), runner: "container", previousStdout: '{"clientId":"c","restartToken":"t0"}' });
    assert.deepEqual(calls[4].args, ["rm", "--force", "f00dcafe"]);
    assert.deepEqual(result, { code: 0, stdout: SCRIPT_OUTPUT, stderr: "reseed: the stored client matches its configuration\n" });
    for (const call of calls) {
      assert.ok(!call.args.join(" ").includes("Container-Secret-77"), `no secret in: docker ${call.args.join(" ")}`);
    }
  });

  it("joins the default bridge when there are no networks, and has no previous result on a create", async () => {
    const calls: DockerCall[] = [];
    await wrapper.runInContainer(settings({ RESEED_NETWORKS: "[]" }), STDIN, undefined, recordingDocker(calls));
    assert.ok(!calls[0].args.includes("--network"));
    assert.deepEqual(calls.map((call) => call.args[0]), ["create", "cp", "start", "rm"]);
    assert.deepEqual(JSON.parse(calls[2].input!), { ...JSON.parse(STDIN), runner: "container" });
  });

  it("passes the script's own failure through as it is (its exit code, its message)", async () => {
    const calls: DockerCall[] = [];
    const failed = { code: 1, stdout: "", stderr: "reseed: authentication failed on the Postgres database \"identity\" at db:5432 (...)\n" };
    const result = await wrapper.runInContainer(settings(), STDIN, undefined, recordingDocker(calls, { start: failed }));
    assert.deepEqual(result, failed);
    assert.equal(calls[calls.length - 1].args[0], "rm");
  });

  it("forwards text that is not a JSON object unchanged, for the script to refuse", () => {
    assert.equal(wrapper.forwardedInput("not json", "prev"), "not json");
    assert.equal(wrapper.forwardedInput("[1]", undefined), "[1]");
  });

  const failures: Array<[string, string, Partial<Answer>, RegExp]> = [
    [
      "an image the host cannot pull",
      "create",
      { code: 125, stderr: "Unable to find image 'node:24-alpine' locally\nError response from daemon: Get \"https://registry-1.docker.io/v2/\": dial tcp: lookup registry-1.docker.io: no such host\n" },
      /cannot create the re-seed container from "node:24-alpine" on the local Docker Engine \(.*no such host\); the Docker host has no image "node:24-alpine" and cannot pull it: load it there .*`client\.reseedImage`.*`client\.reseedRunner: "local"`.*Nothing was changed\./,
    ],
    [
      "an overlay network that is not attachable",
      "network connect",
      { code: 1, stderr: "Error response from daemon: Could not attach to network db-net: rpc error: code = PermissionDenied desc = network db-net not manually attachable\n" },
      /the re-seed container cannot join the network "db-net" on the local Docker Engine .*; a container can join a Swarm overlay network only when it is attachable: recreate the network with `docker network create --driver overlay --attachable`/,
    ],
    [
      "a network that does not exist (reported at start)",
      "start",
      { code: 1, stdout: "", stderr: "Error response from daemon: network service-net not found\n" },
      /the re-seed container did not start .*network service-net not found\); it joins the service's networks \(service-net, db-net\): create them first/,
    ],
    [
      "an image without node",
      "start",
      { code: 1, stdout: "", stderr: 'Error response from daemon: failed to create shim task: OCI runtime create failed: runc create failed: unable to start container process: exec: "node": executable file not found in $PATH: unknown\n' },
      /the image "node:24-alpine" has no `node` on its PATH: give `client\.reseedImage` an image with Node\.js 18 or later/,
    ],
    ["a failed copy", "cp", { code: 1, stderr: "Error response from daemon: container rootfs is marked read-only\n" }, /cannot copy the re-seed script into its container .*read-only\); check the Docker host/],
  ];
  for (const [title, step, answer, message] of failures) {
    it(`names the fix for ${title}, and leaves no container`, async () => {
      const calls: DockerCall[] = [];
      const failure = await wrapper.runInContainer(settings(), STDIN, undefined, recordingDocker(calls, { [step]: answer })).then(
        () => assert.fail("it did not fail"),
        (err: Error) => err,
      );
      assert.ok(failure instanceof wrapper.DockerError, String(failure));
      assert.match(failure.message, message);
      assert.ok(!failure.message.includes("Container-Secret-77"));
      if (step !== "create") assert.deepEqual(calls[calls.length - 1].args, ["rm", "--force", "f00dcafe"]);
      else assert.equal(calls.length, 1, "nothing was created");
    });
  }

  it("names the daemon it used: the provider's host when there is one", async () => {
    const failure = await wrapper
      .runInContainer({ ...settings(), daemon: "ssh://deploy@docker1" }, STDIN, undefined, recordingDocker([], { cp: { code: 1, stderr: "boom" } }))
      .catch((err: Error) => err);
    assert.match(failure.message, /on ssh:\/\/deploy@docker1 \(boom\)/);
    assert.equal(settings({}).daemon, "the local Docker Engine");
    assert.equal(wrapper.settingsFrom({ ...envOf(), DOCKER_HOST: "tcp://docker1:2376" }).daemon, "tcp://docker1:2376");
  });

  it("refuses a missing bundle before it creates anything", async () => {
    const calls: DockerCall[] = [];
    const failure = await wrapper.runInContainer(settings({ RESEED_BUNDLE: "/nonexistent/reseed.bundle.js" }), STDIN, undefined, recordingDocker(calls)).catch((err: Error) => err);
    assert.match(failure.message, /the bundled re-seed script \/nonexistent\/reseed\.bundle\.js is missing; the package builds it \(`npm run build`\)/);
    assert.deepEqual(calls, []);
  });

  it("refuses an environment the component did not set", () => {
    assert.throws(() => wrapper.settingsFrom({ ...envOf(), RESEED_IMAGE: "" }), /RESEED_IMAGE is not set/);
    assert.throws(() => wrapper.settingsFrom({ ...envOf(), RESEED_NETWORKS: "db-net" }), /RESEED_NETWORKS must be a JSON array/);
    assert.throws(() => wrapper.settingsFrom({ ...envOf(), RESEED_ROLE: "other" }), /RESEED_ROLE must be one of client-reseed, client-retire/);
  });
});

function envOf(): Record<string, string> {
  return {
    RESEED_DB_PROVIDER: "Postgres",
    RESEED_IMAGE: "node:24-alpine",
    RESEED_NETWORKS: "[]",
    RESEED_COMPONENT: "ids",
    RESEED_ROLE: "client-retire",
    RESEED_BUNDLE: __filename,
  };
}
