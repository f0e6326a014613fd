#!/usr/bin/env node
/*
 * Runs one client re-seeding step (reseed.js) in a one-shot container on the service's networks, through the `docker`
 * CLI, so that the database is reached from where the service reaches it and never from the machine that runs Pulumi.
 * Run as `node reseed-container.js` by a local command with `addPreviousOutputInEnv: true`, exactly like reseed.js:
 * the same stdin, the same stdout (the script's own), the script's exit code.
 *
 *   1. docker create   the image, `node /reseed.js`, stdin open, on the first network, as user nobody without
 *                      capabilities, labelled with the component and the step, removed when it exits;
 *   2. docker network connect   each further network;
 *   3. docker cp       reseed.js bundled with its drivers (bin/scripts/reseed.bundle.js) to /reseed.js;
 *   4. docker start --attach --interactive   this step's stdin, with "runner" and "previousStdout" added, goes to the
 *                      script's stdin: nothing secret is ever on a command line or in the container's environment;
 *   5. docker rm --force   whatever is left, also after a failure.
 *
 * Environment (none of it secret):
 *   RESEED_DB_PROVIDER     "Postgres" or "MsSqlServer", passed to the container
 *   RESEED_IMAGE           the image (Node.js 18 or later as `node` on its PATH)
 *   RESEED_NETWORKS        JSON array of network names or IDs; empty: the default bridge
 *   RESEED_COMPONENT       the component's name (label creatio-identity-service.component)
 *   RESEED_ROLE            "client-reseed" or "client-retire" (label creatio-identity-service.role)
 *   RESEED_BUNDLE          the bundled script, relative to the working directory or absolute
 *   DOCKER_HOST, DOCKER_CERT_PATH, DOCKER_TLS_VERIFY, DOCKER_CONTEXT   read by the docker CLI itself
 *   PULUMI_COMMAND_STDOUT  this step's previous stdout (set by the command provider on update only)
 * Exit codes: the script's (0 done, 1 database error or refusal, 2 bad input); 1 when Docker fails, 2 for a bad
 * environment.
 *
 * `require` it to use the helpers; it only runs main() when started directly.
 */
"use strict";

const { spawn } = require("child_process");
const fs = require("fs");
const os = require("os");
const path = require("path");

const EXIT_FAILED = 1;
const EXIT_BAD_INPUT = 2;
const COMPONENT_LABEL = "creatio-identity-service.component";
const ROLE_LABEL = "creatio-identity-service.role";
const ROLES = ["client-reseed", "client-retire"];
const SCRIPT_IN_CONTAINER = "/reseed.js";
/** nobody: the script reads its stdin and talks to the database, nothing else. */
const CONTAINER_USER = "65534:65534";

class ConfigError extends Error {}

/** A Docker step that failed, with what to do about it. */
class DockerError extends Error {}

function settingsFrom(env) {
  const required = (key) => {
    if (!env[key]) throw new ConfigError(`${key} is not set: the component sets it; run this script through the component`);
    return env[key];
  };
  let networks;
  try {
    networks = JSON.parse(env.RESEED_NETWORKS || "[]");
  } catch {
    networks = undefined;
  }
  if (!Array.isArray(networks) || networks.some((n) => typeof n !== "string" || n === "")) {
    throw new ConfigError("RESEED_NETWORKS must be a JSON array of network names or IDs");
  }
  const role = required("RESEED_ROLE");
  if (!ROLES.includes(role)) throw new ConfigError(`RESEED_ROLE must be one of ${ROLES.join(", ")}`);
  return {
    provider: required("RESEED_DB_PROVIDER"),
    image: required("RESEED_IMAGE"),
    networks,
    component: required("RESEED_COMPONENT"),
    role,
    bundle: path.resolve(required("RESEED_BUNDLE")),
    daemon: env.DOCKER_HOST || (env.DOCKER_CONTEXT ? `the Docker context ${env.DOCKER_CONTEXT}` : "the local Docker Engine"),
  };
}

/**
 * The script's stdin: this step's own, with where it runs (for its advice) and its previous result (which reseed.js
 * reads from PULUMI_COMMAND_STDOUT when it runs locally; here it travels on stdin, out of `docker inspect`). Text that
 * is not a JSON object goes on as it is, for the script to refuse.
 */
function forwardedInput(stdinText, previousStdout) {
  let input;
  try {
    input = JSON.parse(stdinText);
  } catch {
    return stdinText;
  }
  if (input === null || typeof input !== "object" || Array.isArray(input)) return stdinText;
  return JSON.stringify({ ...input, runner: "container", ...(typeof previousStdout === "string" ? { previousStdout } : {}) });
}

/** The `docker create` arguments: everything but the networks after the first. */
function createArguments(settings) {
  return [
    "create",
    "--interactive",
    "--rm",
    "--user",
    CONTAINER_USER,
    "--cap-drop",
    "ALL",
    "--security-opt",
    "no-new-privileges",
    "--label",
    `${COMPONENT_LABEL}=${settings.component}`,
    "--label",
    `${ROLE_LABEL}=${settings.role}`,
    "--env",
    `RESEED_DB_PROVIDER=${settings.provider}`,
    ...(settings.networks.length > 0 ? ["--network", settings.networks[0]] : []),
    "--entrypoint",
    "node",
    settings.image,
    SCRIPT_IN_CONTAINER,
  ];
}

/** Runs the docker CLI; resolves with its exit code and output, rejects only when it cannot be started. */
function dockerCli(args, input) {
  return new Promise((resolve, reject) => {
    const child = spawn("docker", args, { stdio: ["pipe", "pipe", "pipe"] });
    const stdout = [];
    const stderr = [];
    child.stdout.on("data", (c) => stdout.push(c));
    child.stderr.on("data", (c) => stderr.push(c));
    child.on("error", reject);
    child.on("close", (code) =>
      resolve({ code: code ?? EXIT_FAILED, stdout: Buffer.concat(stdout).toString("utf8"), stderr: Buffer.concat(stderr).toString("utf8") }),
    );
    child.stdin.on("error", () => {}); // a CLI that exits early closes its stdin
    child.stdin.end(input ?? "");
  });
}

/** Docker's own message, on one line. */
function dockerMessage(result) {
  return (result.stderr.trim() || `exit code ${result.code}`).split(/\r?\n/).filter(Boolean).slice(-3).join(" ");
}

const LOCAL_INSTEAD = 'or set `client.reseedRunner: "local"` to re-seed from the machine that runs Pulumi';

/**
 * What to do about a failed Docker step, from Docker's own message: a missing network (reported when the container
 * starts), an image the host neither has nor can pull, an overlay network that is not attachable, an image without
 * `node`; otherwise Docker's message as it is.
 */
function dockerFailure(settings, what, result) {
  const message = dockerMessage(result);
  let fix;
  if (/network \S+ not found|No such network/i.test(message)) {
    fix = `it joins the service's networks (${settings.networks.join(", ")}): create them first, ${LOCAL_INSTEAD}`;
  } else if (/Unable to find image|pull access denied|manifest unknown|repository does not exist|failed to resolve reference|no such host|i\/o timeout/i.test(message)) {
    fix =
      `the Docker host has no image "${settings.image}" and cannot pull it: load it there (\`docker pull\` or \`docker load\`), or give ` +
      `\`client.reseedImage\` an image with Node.js 18 or later that the host has or can pull, ${LOCAL_INSTEAD}`;
  } else if (/attachable/i.test(message)) {
    fix =
      "a container can join a Swarm overlay network only when it is attachable: recreate the network with " +
      `\`docker network create --driver overlay --attachable\`, ${LOCAL_INSTEAD}`;
  } else if (/executable file not found|"node": no such file/i.test(message)) {
    fix = `the image "${settings.image}" has no \`node\` on its PATH: give \`client.reseedImage\` an image with Node.js 18 or later`;
  } else {
    fix = `check the Docker host, ${LOCAL_INSTEAD}`;
  }
  return new DockerError(`reseed: ${what} on ${settings.daemon} (${message}); ${fix}. Nothing was changed.`);
}

/**
 * `docker cp` keeps a file's mode, and the container's user (nobody) must read it: `work` gets a copy readable by all,
 * whatever the umask the package was built under.
 */
async function withReadableCopy(file, work) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "reseed-"));
  try {
    const copy = path.join(dir, path.basename(SCRIPT_IN_CONTAINER));
    fs.copyFileSync(file, copy);
    fs.chmodSync(copy, 0o444);
    return await work(copy);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Runs the step in its container; resolves with the script's exit code and output. */
async function runInContainer(settings, stdinText, previousStdout, docker = dockerCli) {
  if (!fs.existsSync(settings.bundle)) {
    throw new DockerError(
      `reseed: the bundled re-seed script ${settings.bundle} is missing; the package builds it (\`npm run build\`): reinstall it or build it. Nothing was changed.`,
    );
  }
  const created = await docker(createArguments(settings));
  if (created.code !== 0) throw dockerFailure(settings, `cannot create the re-seed container from "${settings.image}"`, created);
  const id = created.stdout.trim().split(/\s+/).pop();
  try {
    for (const network of settings.networks.slice(1)) {
      const connected = await docker(["network", "connect", network, id]);
      if (connected.code !== 0) throw dockerFailure(settings, `the re-seed container cannot join the network "${network}"`, connected);
    }
    const copied = await withReadableCopy(settings.bundle, (file) => docker(["cp", file, `${id}:${SCRIPT_IN_CONTAINER}`]));
    if (copied.code !== 0) throw dockerFailure(settings, "cannot copy the re-seed script into its container", copied);
    const started = await docker(["start", "--attach", "--interactive", id], forwardedInput(stdinText, previousStdout));
    // The script's own failures print to stderr and exit 1 or 2; Docker's start with "Error response from daemon".
    if (started.code !== 0 && started.stdout === "" && /^Error response from daemon|OCI runtime|executable file not found/im.test(started.stderr)) {
      throw dockerFailure(settings, "the re-seed container did not start", started);
    }
    return started;
  } finally {
    // Gone already when the script ran (--rm); removed here when a step before it failed.
    await docker(["rm", "--force", id]).catch(() => undefined);
  }
}

function readStdin() {
  return new Promise((resolve, reject) => {
    const chunks = [];
    process.stdin.on("data", (c) => chunks.push(c));
    process.stdin.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    process.stdin.on("error", reject);
  });
}

async function main() {
  try {
    const settings = settingsFrom(process.env);
    const result = await runInContainer(settings, await readStdin(), process.env.PULUMI_COMMAND_STDOUT);
    process.stderr.write(result.stderr);
    process.stdout.write(result.stdout);
    process.exitCode = result.code;
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`reseed: ${err.message}\n`);
      process.exitCode = EXIT_BAD_INPUT;
    } else if (err && err.code === "ENOENT") {
      process.stderr.write(
        "reseed: the container runner needs the `docker` CLI on the machine that runs Pulumi (it runs the step on the Docker host " +
          `the Docker provider uses); install it, ${LOCAL_INSTEAD}. Nothing was changed.\n`,
      );
      process.exitCode = EXIT_FAILED;
    } else {
      process.stderr.write(`${err instanceof DockerError ? err.message : `reseed: ${err && err.message ? err.message : err}`}\n`);
      process.exitCode = EXIT_FAILED;
    }
  }
}

module.exports = { ConfigError, DockerError, settingsFrom, forwardedInput, createArguments, runInContainer, main, SCRIPT_IN_CONTAINER };

if (require.main === module) {
  main();
}
