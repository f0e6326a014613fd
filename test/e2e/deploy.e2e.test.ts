// The IdentityService component's real program, deployed to the real Docker Engine and PostgreSQL of the e2e infra
// scripts by the test executor (test/e2e/support/executor.ts), which performs every resource operation for real and
// keeps state between runs like the Pulumi engine. Scenarios: first deploy, a no-op second run, re-seeding turned off
// and on again, rotations of a generated and of a fixed client id under a token-request load, the repair of a client
// edited in the database, a service that never becomes ready, and destroy. A timing table is printed at the end.
// The whole sequence runs once per seeding rule of the stand-in Identity Service (a client inserted when its id is
// missing, or only into an empty "Clients" table), the second time with IdentityServer4's optional client store cache
// on (for a few seconds, so that its expiry is seen).
//
// Needs: test/e2e/infra/start-docker.sh, then start-postgres.sh. The service (in its container) reaches PostgreSQL at
// the Docker bridge gateway; the re-seed command (on this machine) reaches the same cluster at 127.0.0.1 through
// `database.reseedConnectionString`, which these scenarios exercise. (The gateway address would work from here too:
// start-postgres.sh keeps this machine's connections to it on their bridge source address, past Docker's
// MASQUERADE rule, so the cluster's pg_hba (bridge subnet only) accepts them; emulator.e2e.test.ts relies on that.)
// Set E2E_EXECUTOR_LOG=1 to see every operation the executor performs.
import { strict as assert } from "assert";
import { execFile } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { promisify } from "util";
import * as pulumi from "@pulumi/pulumi";
import { DatabaseProvider, DeploymentTarget, IdentityService, IdentityServiceArgs } from "../../src";
import { CONTAINER_LABEL, RESTART_TOKEN_LABEL } from "../../src/targets/docker";
import { createScratchDatabase, ScratchDatabase, withClient } from "./infra/postgres";
import { docker, Executor, Operation, RunError, RunResult } from "./support/executor";
import { freePort } from "../support/freePort";
import { DeploymentSuiteEnv, prepareDeploymentSuite } from "./support/prepare";
import { SeedingRule, StandInContext, standInContext } from "./support/standInContext";

const execFileAsync = promisify(execFile);

const REPO_ROOT = path.join(__dirname, "..", "..");
const CREATIO_VERSION = "8.2.3";
/** How long the stand-in's client store keeps a client in the cached variant (its real default is 15 minutes). */
const CACHE_SECONDS = 8;
const VARIANTS: Array<{ seedingRule: SeedingRule; clientStoreCacheSeconds?: number }> = [
  { seedingRule: "missing-id" },
  { seedingRule: "empty-table", clientStoreCacheSeconds: CACHE_SECONDS },
];
const SIGNING_PFX = path.join(REPO_ROOT, "test", "fixtures", "certificates", "signing.pfx");
const E2E_LABEL = "creatio-identity-service-e2e";
const NEVER_READY_IMAGE = `${E2E_LABEL}/never-ready:local`;

/** Unique per run, so that other sessions on the same engine never collide with these containers. */
const RUN_ID = crypto.randomBytes(3).toString("hex");
const NEVER_READY_NAME = `cis-e2e-never-ready-${RUN_ID}`;
const NEVER_READY_TIMEOUT_SECONDS = 5;
/** Start-up of the run around the gate: random values, image inspect, re-seed, container create and start. */
const NEVER_READY_SLACK_SECONDS = 25;

const T = {
  randomString: "random:index/randomString:RandomString",
  randomPassword: "random:index/randomPassword:RandomPassword",
  image: "docker:index/image:Image",
  remoteImage: "docker:index/remoteImage:RemoteImage",
  container: "docker:index/container:Container",
  command: "command:local:Command",
};

interface Deployed {
  url: string;
  clientId: string;
  clientSecret: string;
  containerId: string;
}

const timings: Array<[string, number]> = [];

async function timed<R>(step: string, action: () => Promise<R>): Promise<R> {
  const started = performance.now();
  try {
    return await action();
  } finally {
    timings.push([step, performance.now() - started]);
  }
}

function summary(operations: readonly Operation[]): string[] {
  return operations.map(op => `${op.kind} ${op.name}`).sort();
}


/**
 * One HTTP exchange. A connection closed before any answer is retried for up to 3 s (with a note on the console):
 * now and then on this machine, Docker's port proxy drops a fresh loopback connection to a container that is
 * serving (its restart count stays 0). HTTP answers, whatever their status, are never retried; `retries: 0` for
 * checks that expect the connection to fail.
 */
async function exchange(url: string, init: RequestInit = {}, retries = 10): Promise<{ status: number; body: Record<string, unknown> }> {
  for (let attempt = 0; ; attempt++) {
    try {
      const response = await fetch(url, { ...init, signal: AbortSignal.timeout(5000) });
      if (attempt > 0) console.log(`    note: ${url} answered after ${attempt} dropped connection(s)`);
      return { status: response.status, body: (await response.json()) as Record<string, unknown> };
    } catch (err) {
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      const dropped = cause?.code === "UND_ERR_SOCKET" || cause?.code === "ECONNRESET";
      if (!dropped || attempt >= retries) throw err;
      await new Promise(resolve => setTimeout(resolve, 300));
    }
  }
}

function discovery(url: string, retries?: number): Promise<{ status: number; body: Record<string, unknown> }> {
  return exchange(`${url}/.well-known/openid-configuration`, {}, retries);
}

function requestToken(url: string, clientId: string, clientSecret: string): Promise<{ status: number; body: Record<string, unknown> }> {
  return exchange(`${url}/connect/token`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ grant_type: "client_credentials", client_id: clientId, client_secret: clientSecret }),
  });
}

/** What one token request got: a token, a refusal (`invalid_client`), another answer, or no answer at all. */
type TokenOutcome = "accepted" | "refused" | "other" | "unavailable";

interface TokenSample {
  readonly startedAt: number;
  readonly endedAt: number;
  readonly outcome: TokenOutcome;
}

/** One token request, never retried: for the load below, which records what a client like Creatio would see. */
async function tokenOutcome(url: string, clientId: string, clientSecret: string): Promise<TokenOutcome> {
  try {
    const response = await fetch(`${url}/connect/token`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ grant_type: "client_credentials", client_id: clientId, client_secret: clientSecret }),
      signal: AbortSignal.timeout(3000),
    });
    const body = (await response.json().catch(() => ({}))) as { error?: string };
    if (response.status === 200) return "accepted";
    return response.status === 400 && body.error === "invalid_client" ? "refused" : "other";
  } catch {
    return "unavailable";
  }
}

/** Whether the credentials are refused (`invalid_client`) within `seconds`, asking once a second. */
async function refusedWithin(url: string, credentials: { clientId: string; clientSecret: string }, seconds: number): Promise<boolean> {
  const deadline = performance.now() + seconds * 1000;
  for (;;) {
    if ((await tokenOutcome(url, credentials.clientId, credentials.clientSecret)) === "refused") return true;
    if (performance.now() >= deadline) return false;
    await new Promise(resolve => setTimeout(resolve, 1000));
  }
}

/** Token requests with one pair of credentials, one after another, until stopped. */
class TokenLoad {
  readonly samples: TokenSample[] = [];
  private running = true;
  private readonly loop: Promise<void>;

  constructor(url: string, clientId: string, clientSecret: string, pauseMs = 25) {
    this.loop = (async () => {
      while (this.running) {
        const startedAt = performance.now();
        const outcome = await tokenOutcome(url, clientId, clientSecret);
        this.samples.push({ startedAt, endedAt: performance.now(), outcome });
        await new Promise(resolve => setTimeout(resolve, pauseMs));
      }
    })();
  }

  async stop(): Promise<TokenSample[]> {
    this.running = false;
    await this.loop;
    return this.samples;
  }
}

function count(samples: readonly TokenSample[], outcome: TokenOutcome): number {
  return samples.filter(sample => sample.outcome === outcome).length;
}

/** The longest stretch with no answer at all (the container being replaced), in ms. */
function longestUnavailability(samples: readonly TokenSample[]): number {
  let longest = 0;
  let since: number | undefined;
  for (const sample of samples) {
    if (sample.outcome === "unavailable") since ??= sample.startedAt;
    else if (since !== undefined) {
      longest = Math.max(longest, sample.startedAt - since);
      since = undefined;
    }
  }
  return longest;
}

async function inspect(containerId: string): Promise<Record<string, any>> {
  const { stdout } = await docker(["inspect", containerId]);
  return JSON.parse(stdout)[0];
}

/** The one regular file of a tar stream (as `docker cp <container>:<file> -` writes it): mode and content. */
function fileFromTar(tar: Buffer): { mode: number; content: Buffer } {
  const size = parseInt(tar.subarray(124, 136).toString("ascii").replace(/\0.*$/, "").trim(), 8);
  const mode = parseInt(tar.subarray(100, 108).toString("ascii").replace(/\0.*$/, "").trim(), 8);
  return { mode, content: tar.subarray(512, 512 + size) };
}

/** Runs `action`; when it fails, adds the container's state and last log lines to the error. */
async function explained<R>(containerId: string, action: () => Promise<R>): Promise<R> {
  try {
    return await action();
  } catch (err) {
    const state = await docker(["inspect", "-f", "{{json .State}} restarts={{.RestartCount}}", containerId], { allowFailure: true });
    const logs = await docker(["logs", "--tail", "30", containerId], { allowFailure: true });
    (err as Error).message += `\ncontainer ${containerId.slice(0, 12)}: ${state.stdout.trim() || state.stderr.trim()}\n${logs.stdout}${logs.stderr}`;
    throw err;
  }
}

/** The never-ready service: answers 503 to everything, forever. Built FROM the e2e base image. */
async function buildNeverReadyImage(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cis-e2e-never-ready-"));
  try {
    fs.writeFileSync(
      path.join(dir, "server.js"),
      'require("http").createServer((req, res) => { res.statusCode = 503; res.end("still starting"); }).listen(80);\n' +
        'process.on("SIGTERM", () => process.exit(0));\n',
    );
    fs.writeFileSync(
      path.join(dir, "Dockerfile"),
      `FROM ${E2E_LABEL}/node-base:local\nWORKDIR /app\nCOPY server.js /app/\nENTRYPOINT ["/usr/bin/node", "/app/server.js"]\n`,
    );
    await docker(["build", "-q", "--label", `${E2E_LABEL}=1`, "-t", NEVER_READY_IMAGE, dir], { env: { DOCKER_BUILDKIT: "0" } });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

for (const variant of VARIANTS) {
const cached = variant.clientStoreCacheSeconds !== undefined;
const NAME = `cis-e2e-${RUN_ID}-${variant.seedingRule}`;
describe(`IdentityService on Docker, deployed by the test executor, with a service that seeds by "${variant.seedingRule}"${cached ? " and caches clients" : ""}`, function () {
  let standIn: StandInContext;
  let env: DeploymentSuiteEnv;
  let db: ScratchDatabase;
  let connectionString: string;
  let reseedConnectionString: string;
  let httpPort: number;
  let executor: Executor;
  let neverReady: Executor | undefined;
  let first: Deployed | undefined;
  let rotated: Deployed | undefined;

  const log = process.env.E2E_EXECUTOR_LOG ? (line: string) => process.stderr.write(line + "\n") : undefined;

  function args(rotation: string, overrides: Partial<IdentityServiceArgs> = {}): IdentityServiceArgs {
    return {
      target: DeploymentTarget.Docker,
      creatioVersion: CREATIO_VERSION,
      database: {
        provider: DatabaseProvider.Postgres,
        connectionString: pulumi.secret(connectionString),
        reseedConnectionString: pulumi.secret(reseedConnectionString),
      },
      client: { rotation },
      signingCertificate: { path: SIGNING_PFX },
      docker: { build: { context: standIn.path }, httpPort, bindAddress: "127.0.0.1" },
      readiness: { timeoutSeconds: 120 },
      ...overrides,
    };
  }

  /** The program: one IdentityService and its outputs. */
  const program = (name: string, serviceArgs: () => IdentityServiceArgs) => () => {
    const service = new IdentityService(name, serviceArgs());
    return {
      url: service.url,
      clientId: service.clientId,
      clientSecret: service.clientSecret,
      creatioSystemSettings: service.creatioSystemSettings,
    };
  };

  function deployed(result: RunResult): Deployed {
    const container = executor.resource(T.container, `${NAME}-container`);
    assert.ok(container, "the container is in the executor's state");
    return {
      url: String(result.outputs.url),
      clientId: String(result.outputs.clientId),
      clientSecret: String(result.outputs.clientSecret),
      containerId: container.id,
    };
  }

  async function clientRows(clientId: string): Promise<number> {
    return withClient(db.config, async c => {
      const found = await c.query(`SELECT count(*)::int AS n FROM "Clients" WHERE "ClientId" = $1`, [clientId]);
      return found.rows[0].n as number;
    });
  }

  function reseedOutput(): {
    clientId: string;
    deletedClients: number;
    insertedClients: number;
    updatedClients: number;
    addedSecrets: number;
    restartToken: string;
    supersededClientIds: string[];
  } {
    const reseed = executor.resource(T.command, `${NAME}-client-reseed`);
    assert.ok(reseed, "the re-seed command is in the executor's state");
    return JSON.parse(String(reseed.outputs.stdout));
  }

  function retireOutput(): { clientId: string; retiredClients: number; retiredSecrets: number; pendingClientIds: string[] } {
    const retire = executor.resource(T.command, `${NAME}-client-retire`);
    assert.ok(retire, "the retire command is in the executor's state");
    return JSON.parse(String(retire.outputs.stdout));
  }

  async function secretRows(clientId: string): Promise<number> {
    return withClient(db.config, async c => {
      const found = await c.query(
        `SELECT count(*)::int AS n FROM "ClientSecrets" s JOIN "Clients" cl ON cl."Id" = s."ClientId" WHERE cl."ClientId" = $1`,
        [clientId],
      );
      return found.rows[0].n as number;
    });
  }

  /**
   * Runs `program` while token requests with the old credentials go on: none may be refused before the retire step
   * starts; the new credentials get a token from the moment the run returns; the old ones are refused afterwards.
   * Records how long the service did not answer at all (the container being replaced) in the timing table.
   */
  async function rotateUnderLoad(step: string, old: Deployed, serviceArgs: () => IdentityServiceArgs): Promise<{ result: RunResult; now: Deployed }> {
    const load = new TokenLoad(old.url, old.clientId, old.clientSecret);
    let result: RunResult;
    try {
      result = await timed(step, () => executor.run(program(NAME, serviceArgs)));
    } finally {
      await load.stop();
    }
    const now = deployed(result);
    const immediately = await Promise.all(Array.from({ length: 5 }, () => tokenOutcome(now.url, now.clientId, now.clientSecret)));
    assert.deepEqual(immediately, Array(5).fill("accepted"), "the new credentials get a token as soon as the run returns");

    const retire = result.operations.find(o => o.name === `${NAME}-client-retire`);
    assert.ok(retire, "the retire step ran");
    const beforeRetirement = load.samples.filter(sample => sample.endedAt < retire.startedAt);
    assert.equal(count(beforeRetirement, "refused"), 0, "the old credentials were never refused before the retire step");
    assert.equal(count(beforeRetirement, "other"), 0);
    assert.ok(count(beforeRetirement, "accepted") > 0, "the load ran while the old service was up");
    // A service that caches clients keeps the retired credentials of a cached client until its copy expires (nothing
    // restarts the service after the retire step): refused once the cache entry has expired, at the latest.
    assert.equal(await refusedWithin(now.url, old, cached ? CACHE_SECONDS + 5 : 0), true, "the old credentials are retired");
    timings.push([`${step}: longest time without an answer`, longestUnavailability(load.samples)]);
    console.log(
      `    ${step}: ${load.samples.length} token requests with the old credentials: ${count(load.samples, "accepted")} accepted, ` +
        `${count(load.samples, "unavailable")} unanswered while the container was replaced, ${count(load.samples, "refused")} refused ` +
        `(all after the retire step started)`,
    );
    return { result, now };
  }

  before(async function () {
    env = await prepareDeploymentSuite();
    await buildNeverReadyImage();
    standIn = standInContext({ ...variant, creatioVersion: CREATIO_VERSION });

    db = await createScratchDatabase(env, "cis_e2e_deploy");
    const connection = (host: string) =>
      `Server=${host};Port=${env.port};Database=${db.name};User ID=${env.user};Password=${env.password};Timeout=5;`;
    connectionString = connection(env.hostFromContainers);
    reseedConnectionString = connection(env.host);
    httpPort = await freePort();
    executor = new Executor({ log });
  });

  after(async function () {
    const removed = [...(await executor?.cleanup() ?? []), ...(await neverReady?.cleanup() ?? [])];
    if (removed.length > 0) console.log(`  cleanup removed: ${removed.join(", ")}`);
    await db?.drop().catch(() => undefined);
    standIn?.remove();
    if (timings.length > 0) {
      const width = Math.max(...timings.map(([step]) => step.length));
      console.log("\n  timing (ms)");
      for (const [step, ms] of timings) console.log(`    ${step.padEnd(width)}  ${String(Math.round(ms)).padStart(7)}`);
      timings.length = 0;
    }
  });

  it("1. first deploy: builds the image, re-seeds, runs the container, serves discovery and a token to the output client", async function () {
    const result = await timed("deploy", () => executor.run(program(NAME, () => args("1"))));
    assert.deepEqual(summary(result.operations), [
      `create ${NAME}-client-id`,
      `create ${NAME}-client-reseed`,
      `create ${NAME}-client-retire`,
      `create ${NAME}-client-secret`,
      `create ${NAME}-container`,
      `create ${NAME}-image`,
      `create ${NAME}-readiness`,
    ]);
    first = deployed(result);

    // Ordering: the re-seed finished before the container was created, the gate ran after it.
    const op = (name: string) => result.operations.find(o => o.name === name)!;
    assert.ok(op(`${NAME}-client-reseed`).endedAt <= op(`${NAME}-container`).startedAt, "re-seed before the container");
    assert.ok(op(`${NAME}-image`).endedAt <= op(`${NAME}-container`).startedAt, "image before the container");
    assert.ok(op(`${NAME}-container`).endedAt <= op(`${NAME}-readiness`).startedAt, "readiness gate after the container");
    assert.ok(op(`${NAME}-readiness`).endedAt <= op(`${NAME}-client-retire`).startedAt, "retire step after the gate");

    // Outputs: generated credentials of the documented lengths; the secret ones are secrets.
    assert.equal(first.url, `http://localhost:${httpPort}`);
    assert.match(first.clientId, /^[A-Za-z0-9]{16}$/);
    assert.match(first.clientSecret, /^[A-Za-z0-9]{32}$/);
    assert.deepEqual([...result.secretOutputs].sort(), ["clientSecret", "creatioSystemSettings"]);
    assert.deepEqual(result.outputs.creatioSystemSettings, {
      OAuth20IdentityServerUrl: first.url,
      OAuth20IdentityServerClientId: first.clientId,
      OAuth20IdentityServerClientSecret: first.clientSecret,
    });

    // The container: running, labelled, published on loopback only, restart policy, signing PFX uploaded.
    const container = await inspect(first.containerId);
    assert.equal(container.State.Running, true);
    assert.equal(container.Name, `/${NAME}`);
    assert.equal(container.Config.Labels[CONTAINER_LABEL], NAME);
    assert.equal(container.HostConfig.RestartPolicy.Name, "unless-stopped");
    assert.deepEqual(container.HostConfig.PortBindings["80/tcp"], [{ HostIp: "127.0.0.1", HostPort: String(httpPort) }]);
    const { stdout: tar } = await execFileAsync("docker", ["cp", `${first.containerId}:/app/signing-certificate.pfx`, "-"], {
      encoding: "buffer",
      maxBuffer: 16 * 1024 * 1024,
    });
    const uploaded = fileFromTar(tar);
    assert.ok(uploaded.content.equals(fs.readFileSync(SIGNING_PFX)), "the signing PFX in the container is the fixture's");
    assert.equal(uploaded.mode & 0o777, 0o644);
    // The connection string reaches the service in its settings file, never in its environment.
    const { stdout: settingsTar } = await execFileAsync("docker", ["cp", `${first.containerId}:/app/appsettings.Production.json`, "-"], {
      encoding: "buffer",
      maxBuffer: 16 * 1024 * 1024,
    });
    assert.equal(JSON.parse(fileFromTar(settingsTar).content.toString("utf8")).PostgresConnection, connectionString, "the connection string reaches the service");
    assert.ok(!JSON.stringify(container.Config.Env).includes(connectionString), "the connection string is not in the container's environment");

    // The service: discovery with an issuer, a token for the output credentials, the client row in the database.
    const doc = await explained(first.containerId, () => discovery(first!.url));
    assert.equal(doc.status, 200);
    assert.equal(typeof doc.body.issuer, "string");
    assert.ok((doc.body.issuer as string).length > 0);
    const token = await requestToken(first.url, first.clientId, first.clientSecret);
    assert.equal(token.status, 200, JSON.stringify(token.body));
    assert.equal(typeof token.body.access_token, "string");
    assert.equal(await clientRows(first.clientId), 1);
    assert.equal(reseedOutput().clientId, first.clientId);
    assert.deepEqual(
      reseedOutput(),
      {
        clientId: first.clientId,
        deletedClients: 0,
        insertedClients: 0,
        updatedClients: 0,
        addedSecrets: 0,
        restartToken: "",
        supersededClientIds: [],
        tablesMissing: true,
      },
      "nothing to do on a first deploy: the service creates its tables and seeds the client",
    );
    assert.match(
      String(executor.resource(T.command, `${NAME}-client-retire`)!.outputs.stderr),
      /found no table "Clients": the service created its tables and seeded the configured client, so there is nothing to retire/,
      "the retire step of the same run, told so, touched nothing",
    );
    assert.deepEqual(retireOutput(), { clientId: first.clientId, retiredClients: 0, retiredSecrets: 0, pendingClientIds: [] });
    assert.equal((await inspect(first.containerId)).RestartCount, 0, "the service never restarted");
  });

  it("2. the same program again performs zero operations", async function () {
    assert.ok(first, "needs the first deploy");
    const result = await timed("no-op run", () => executor.run(program(NAME, () => args("1"))));
    assert.deepEqual(summary(result.operations), []);
    const again = deployed(result);
    assert.deepEqual(again, first);
    assert.equal((await inspect(first.containerId)).State.Running, true);
    assert.equal((await requestToken(first.url, first.clientId, first.clientSecret)).status, 200);
  });

  it("3. turning re-seeding off and on again for the running deployment changes nothing else, and tokens keep working", async function () {
    assert.ok(first, "needs the first deploy");
    const off = await executor.run(program(NAME, () => args("1", { client: { rotation: "1", reseed: false } })));
    assert.deepEqual(summary(off.operations), [`delete ${NAME}-client-reseed`, `delete ${NAME}-client-retire`]);

    // Created anew, the steps have no previous output: they decide from the database, where the client matches.
    const load = new TokenLoad(first.url, first.clientId, first.clientSecret);
    let on: RunResult;
    try {
      on = await timed("re-seeding turned on", () => executor.run(program(NAME, () => args("1"))));
    } finally {
      await load.stop();
    }
    assert.deepEqual(summary(on.operations), [`create ${NAME}-client-reseed`, `create ${NAME}-client-retire`]);
    assert.deepEqual(reseedOutput(), { clientId: first.clientId, deletedClients: 0, insertedClients: 0, updatedClients: 0, addedSecrets: 0, restartToken: "", supersededClientIds: [] });
    assert.equal(await clientRows(first.clientId), 1);
    assert.deepEqual(deployed(on), first, "the same container, the same credentials");
    assert.ok(load.samples.length > 0);
    assert.deepEqual(
      load.samples.filter(sample => sample.outcome !== "accepted"),
      [],
      "every token request during the run succeeded",
    );
  });

  it("4. a new client.rotation: the new client joins the old one, which is retired only after the new one is in service", async function () {
    assert.ok(first, "needs the first deploy");
    const { result, now } = await rotateUnderLoad("rotation (generated id)", first, () => args("2"));
    assert.deepEqual(summary(result.operations), [
      `delete-replaced ${NAME}-client-id`,
      `delete-replaced ${NAME}-client-secret`,
      `delete-replaced ${NAME}-readiness`,
      `replace ${NAME}-client-id`,
      `replace ${NAME}-client-secret`,
      `replace ${NAME}-container`,
      `replace ${NAME}-readiness`,
      `update ${NAME}-client-reseed`,
      `update ${NAME}-client-retire`,
    ]);
    rotated = now;
    assert.notEqual(rotated.clientId, first.clientId);
    assert.notEqual(rotated.clientSecret, first.clientSecret);
    assert.notEqual(rotated.containerId, first.containerId, "a new container");
    assert.equal((await docker(["inspect", first.containerId], { allowFailure: true })).code, 1, "the old container is gone");

    const op = (name: string) => result.operations.find(o => o.name === name)!;
    assert.ok(op(`${NAME}-client-reseed`).endedAt <= op(`${NAME}-container`).startedAt, "re-seed before the new container");
    assert.ok(op(`${NAME}-readiness`).endedAt <= op(`${NAME}-client-retire`).startedAt, "retired after the gate");

    // Nothing deleted before the service restarted; the new client inserted next to the old one before it started
    // (under either seeding rule the service inserts nothing itself now); the old one retired after.
    assert.deepEqual(reseedOutput(), {
      clientId: rotated.clientId,
      deletedClients: 0,
      insertedClients: 1,
      updatedClients: 0,
      addedSecrets: 0,
      restartToken: "",
      supersededClientIds: [first.clientId],
    });
    assert.deepEqual(retireOutput(), { clientId: rotated.clientId, retiredClients: 1, retiredSecrets: 0, pendingClientIds: [] });
    assert.equal(await clientRows(first.clientId), 0);
    assert.equal(await clientRows(rotated.clientId), 1);
    assert.equal((await inspect(rotated.containerId)).RestartCount, 0, "the new service never restarted");
  });

  it("5. a fixed client.id with a rotated secret: both secrets work until the old one is retired", async function () {
    assert.ok(rotated, "needs the rotated deployment");
    const fixed = { id: `cis-e2e-fixed-${RUN_ID}`, reseed: true };
    const firstSecret = `First-${RUN_ID}-secret-0123456789abcdefgh`;
    const secondSecret = `Second-${RUN_ID}-secret-0123456789abcdefg`;

    // From generated credentials to supplied ones: the generated client is retired like any replaced client.
    const { now: withFixedId } = await rotateUnderLoad("to a fixed client id", rotated, () => args("2", { client: { ...fixed, secret: firstSecret } }));
    assert.equal(withFixedId.clientId, fixed.id);
    assert.equal(await clientRows(rotated.clientId), 0);

    const { result, now } = await rotateUnderLoad("rotation (fixed id, new secret)", withFixedId, () =>
      args("2", { client: { ...fixed, secret: secondSecret } }),
    );
    assert.deepEqual(summary(result.operations), [
      `delete-replaced ${NAME}-readiness`,
      `replace ${NAME}-container`,
      `replace ${NAME}-readiness`,
      `update ${NAME}-client-reseed`,
      `update ${NAME}-client-retire`,
    ]);
    assert.equal(now.clientId, fixed.id);
    assert.equal(now.clientSecret, secondSecret);
    assert.equal(reseedOutput().addedSecrets, 1, "the new secret went in next to the old one, before the service restarted");
    assert.equal(reseedOutput().deletedClients, 0);
    assert.equal(retireOutput().retiredSecrets, 1);
    assert.equal(await clientRows(fixed.id), 1);
    assert.equal(await secretRows(fixed.id), 1);
    rotated = now;
  });

  it("6. a client edited in the database is repaired: replaced, and the service restarted to drop any cached copy", async function () {
    assert.ok(rotated, "needs the rotated deployment");
    const current = rotated;
    await withClient(db.config, c => c.query(`UPDATE "Clients" SET "AccessTokenLifetime" = 60 WHERE "ClientId" = $1`, [current.clientId]));
    // Without the cache the edit is seen at once; with it the service answers from its copy until that expires.
    if (!cached) assert.equal((await requestToken(current.url, current.clientId, current.clientSecret)).body.expires_in, 60);

    // Any run of the re-seed step compares the database with the configuration: here a new re-seed connection string.
    const client = { id: current.clientId, secret: current.clientSecret };
    const repairArgs = () =>
      args("2", {
        client,
        database: {
          provider: DatabaseProvider.Postgres,
          connectionString: pulumi.secret(connectionString),
          reseedConnectionString: pulumi.secret(`${reseedConnectionString}Application Name=cis-e2e-repair;`),
        },
      });
    const result = await timed("repair", () => executor.run(program(NAME, repairArgs)));
    assert.deepEqual(summary(result.operations), [
      `delete-replaced ${NAME}-readiness`,
      `replace ${NAME}-container`,
      `replace ${NAME}-readiness`,
      `update ${NAME}-client-reseed`,
      `update ${NAME}-client-retire`,
    ]);
    const repaired = deployed(result);
    assert.equal(reseedOutput().deletedClients, 0);
    assert.equal(reseedOutput().updatedClients, 1, "replaced in place, whatever rule the service seeds by");
    assert.match(reseedOutput().restartToken, /^[0-9a-f]{16}$/);
    assert.notEqual(repaired.containerId, current.containerId, "the container was replaced: a cached copy of the edited client is gone");
    assert.equal((await inspect(repaired.containerId)).Config.Labels[RESTART_TOKEN_LABEL], reseedOutput().restartToken);
    const token = await requestToken(repaired.url, repaired.clientId, repaired.clientSecret);
    assert.equal(token.status, 200, JSON.stringify(token.body));
    assert.equal(token.body.expires_in, 3600);

    // The same program again: nothing runs, nothing restarts.
    const again = await executor.run(program(NAME, repairArgs));
    assert.deepEqual(summary(again.operations), []);
    rotated = repaired;
  });

  (variant === VARIANTS[0] ? it : it.skip)("7. a service that never becomes ready fails the deploy within the gate's timeout, naming the URL and the last status", async function () {
    const port = await freePort();
    neverReady = new Executor({ log });
    const started = performance.now();
    let failure: RunError | undefined;
    try {
      await neverReady.run(
        program(NEVER_READY_NAME, () =>
          args("1", {
            docker: { image: NEVER_READY_IMAGE, httpPort: port, bindAddress: "127.0.0.1" },
            readiness: { timeoutSeconds: NEVER_READY_TIMEOUT_SECONDS },
          }),
        ),
      );
    } catch (err) {
      if (!(err instanceof RunError)) throw err;
      failure = err;
    }
    const elapsedMs = performance.now() - started;
    timings.push(["never-ready failure", elapsedMs]);
    assert.ok(failure, "the run must fail");
    assert.ok(elapsedMs < (NEVER_READY_TIMEOUT_SECONDS + NEVER_READY_SLACK_SECONDS) * 1000, `failed after ${Math.round(elapsedMs)} ms`);

    const url = `http://localhost:${port}`;
    assert.match(failure.message, new RegExp(`${NEVER_READY_NAME}-readiness`));
    assert.ok(failure.message.includes(url), `the message names ${url}:\n${failure.message}`);
    assert.match(failure.message, /HTTP 503/);
    assert.match(failure.message, new RegExp(`${NEVER_READY_TIMEOUT_SECONDS} s`));
    if (process.env.E2E_EXECUTOR_LOG) console.log(failure.message);

    const gate = failure.operations.find(o => o.name === `${NEVER_READY_NAME}-readiness`);
    assert.ok(gate && !gate.ok, "the readiness gate is the failed step");
    const gateMs = gate.endedAt - gate.startedAt;
    assert.ok(gateMs >= NEVER_READY_TIMEOUT_SECONDS * 1000 - 500, `the gate waited its timeout (${Math.round(gateMs)} ms)`);
    assert.ok(gateMs < (NEVER_READY_TIMEOUT_SECONDS + 10) * 1000, `the gate stopped at its timeout (${Math.round(gateMs)} ms)`);
    assert.deepEqual(
      failure.operations.filter(o => o.ok).map(o => `${o.kind} ${o.type}`).sort(),
      [`create ${T.command}`, `create ${T.container}`, `create ${T.randomPassword}`, `create ${T.randomString}`, `create ${T.remoteImage}`].sort(),
    );
    // Like the engine after a failed update: what was created stays in the state, the failed gate does not.
    assert.ok(neverReady.resource(T.container, `${NEVER_READY_NAME}-container`));
    assert.equal(neverReady.resource(T.command, `${NEVER_READY_NAME}-readiness`), undefined);

    await neverReady.destroy();
    const left = await docker(["ps", "-aq", "--filter", `label=${CONTAINER_LABEL}=${NEVER_READY_NAME}`]);
    assert.equal(left.stdout.trim(), "");
    assert.equal((await docker(["image", "inspect", NEVER_READY_IMAGE], { allowFailure: true })).code, 0, "keepLocally: the image stays");
  });

  it("8. destroy removes everything of the stack from Docker and leaves no state", async function () {
    assert.ok(rotated ?? first, "needs a deployed stack");
    const operations = await timed("destroy", () => executor.destroy());
    assert.deepEqual(summary(operations), [
      `delete ${NAME}-client-reseed`,
      `delete ${NAME}-client-retire`,
      `delete ${NAME}-container`,
      `delete ${NAME}-image`,
      `delete ${NAME}-readiness`,
    ]);
    const order = operations.map(o => o.name);
    assert.ok(order.indexOf(`${NAME}-client-retire`) < order.indexOf(`${NAME}-readiness`), "the retire step before the gate");
    assert.ok(order.indexOf(`${NAME}-readiness`) < order.indexOf(`${NAME}-container`), "the gate before the container");
    assert.ok(order.indexOf(`${NAME}-container`) < order.indexOf(`${NAME}-client-reseed`), "the container before the re-seed");
    assert.ok(order.indexOf(`${NAME}-container`) < order.indexOf(`${NAME}-image`), "the container before its image");
    assert.deepEqual(executor.state, []);

    const left = await docker(["ps", "-aq", "--filter", `label=${CONTAINER_LABEL}=${NAME}`]);
    assert.equal(left.stdout.trim(), "", "no container of the stack is left");
    await assert.rejects(discovery((rotated ?? first)!.url, 0), "nothing answers on the service URL any more");
  });
});
}
