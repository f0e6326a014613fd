// The `container` re-seed runner on the Swarm target, deployed by the test executor to a real single-node swarm with
// the real PostgreSQL: the database is reached only at `<front>:5432`, a relay on the overlay network the service
// joins through `swarm.networks` (the test cluster admits connections from the Docker bridge only), so a re-seed that
// works proves it ran on the service's networks. Re-seeding signs in with the LOGIN-only role, granted after the first
// deploy exactly what docs/reseed.md lists. The runs: a first deploy (re-seeding has nothing to do yet), a client
// edited by hand and repaired by a forced re-seed (its restart token rolls the task through `taskSpec.forceUpdate`),
// a client rotation re-seeded and retired from the container, and destroy. No re-seed container may be left.
//
// Needs what test/e2e/swarm.swarm.test.ts needs; the swarm is initialised here when the engine is not in one and left
// again at the end, an existing swarm is left as it is.
import { pinStandInVersion } from "./support/standInContext";
import { strict as assert } from "assert";
import { execFileSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { Client } from "pg";
import { DatabaseProvider, DeploymentTarget, IdentityService, IdentityServiceArgs, ReseedRunner } from "../../src";
import { CONTAINER_LABEL } from "../../src/targets/docker";
import { restartCounter } from "../../src/targets/swarm";
import { createScratchDatabase, PostgresEnv, readPostgresEnv, ScratchDatabase } from "./infra/postgres";
import { docker, Executor, RunResult } from "./support/executor";
import { DB_RELAY_PORT, Front, startFront } from "./support/front";
import { adapted, documentedStatements } from "./support/grants";
import { freePort, tokenStatus } from "./support/load";
import { buildRunnerImage } from "./support/runnerImage";
import { engine } from "./support/swarm";

const REPO_ROOT = path.join(__dirname, "..", "..");
const FIXTURE_DIR = path.join(REPO_ROOT, "test", "fixtures", "identity-service");
const SIGNING_PFX = path.join(REPO_ROOT, "test", "fixtures", "certificates", "signing.pfx");
const BARE_BASE_IMAGE = "creatio-identity-service-e2e/node-base:local";
const SHELL_BASE_IMAGE = "creatio-identity-service-e2e/node-shell-base:local";

const RUN_ID = crypto.randomBytes(3).toString("hex");
const NAME = `cis-reseed-swarm-${RUN_ID}`;
const FRONT = `${NAME}-front`;
const ALIAS = `ids-rs-${RUN_ID}`;
const RESEED = `command:local:Command::${NAME}-client-reseed`;

interface ServiceSpec {
  Spec: { TaskTemplate: { ForceUpdate?: number } };
  UpdateStatus?: { State?: string; Message?: string };
}

describe("the container re-seed runner on Docker Swarm (real single-node swarm and PostgreSQL)", function () {
  this.timeout(900_000);
  let env: PostgresEnv;
  let db: ScratchDatabase;
  let executor: Executor;
  let initialisedSwarm = false;
  let front: Front;
  let url: string;
  let runnerImage: string;
  let context: string;
  let connectionString: string;
  let reseedConnectionString: string;
  let credentials: { clientId: string; clientSecret: string };

  const args = (rotation: string): IdentityServiceArgs => ({
    target: DeploymentTarget.Swarm,
    creatioVersion: "8.2.3",
    database: {
      provider: DatabaseProvider.Postgres,
      connectionString: pulumi.secret(connectionString),
      reseedConnectionString: pulumi.secret(reseedConnectionString),
    },
    client: { rotation, reseedRunner: ReseedRunner.Container, reseedImage: runnerImage },
    signingCertificate: { path: SIGNING_PFX },
    swarm: {
      build: { context },
      replicas: 1,
      endpointMode: "dnsrr",
      serviceAlias: ALIAS,
      networks: [front.networkId],
      httpPort: Number(new URL(url).port),
      hostname: "127.0.0.1",
      update: { monitor: "2s" },
    },
    readiness: { timeoutSeconds: 180 },
  });
  const program = (rotation: string) => () => {
    const service = new IdentityService(NAME, args(rotation));
    return { url: service.url, clientId: service.clientId, clientSecret: service.clientSecret };
  };
  const outputs = (result: RunResult) => ({ clientId: String(result.outputs.clientId), clientSecret: String(result.outputs.clientSecret) });
  const owner = () => {
    const client = new Client(db.config);
    return client.connect().then(() => client);
  };
  async function runnerContainers(): Promise<string[]> {
    const result = await docker(["ps", "-aq", "--filter", `label=${CONTAINER_LABEL}=${NAME}`, "--filter", "label=creatio-identity-service.role"]);
    return result.stdout.split(/\s+/).filter(Boolean);
  }
  async function service(): Promise<ServiceSpec> {
    const filters = encodeURIComponent(JSON.stringify({ name: [`${NAME}-service`] }));
    const [found] = await engine<Array<{ ID: string }>>("GET", `/services?filters=${filters}`);
    return engine<ServiceSpec>("GET", `/services/${found.ID}`);
  }
  /** The last result a step printed, as its state keeps it. */
  function stepOutput(role: "client-reseed" | "client-retire"): Record<string, unknown> {
    const step = executor.resource("command:local:Command", `${NAME}-${role}`);
    return JSON.parse(String(step?.outputs.stdout).trim().split("\n").pop()!);
  }

  before(async function () {
    if (path.resolve(process.cwd()) !== path.resolve(REPO_ROOT)) {
      throw new Error(`run the swarm tests from the repository root (${REPO_ROOT}): the component's local commands use paths relative to it`);
    }
    env = readPostgresEnv();
    if (!env.hostFromContainers || !env.reseedUser || !env.reseedPassword) {
      throw new Error("the env file lacks PGHOST_FROM_CONTAINERS or PGRESEED_USER: run test/e2e/infra/start-docker.sh, then start-postgres.sh");
    }
    const state = (await docker(["info", "--format", "{{.Swarm.LocalNodeState}}"])).stdout.trim();
    if (state === "inactive") {
      await docker(["swarm", "init", "--advertise-addr", "127.0.0.1"]);
      initialisedSwarm = true;
    } else if (state !== "active") {
      throw new Error(`the Docker Engine is in swarm state "${state}"; it must be "active" or "inactive"`);
    }
    runnerImage = await buildRunnerImage();
    execFileSync("bash", [path.join(__dirname, "swarm", "build-images.sh")], { stdio: ["ignore", "ignore", "inherit"] });
    db = await createScratchDatabase(env, "cis_reseed_swarm");
    front = await startFront(FRONT, {
      serviceAlias: ALIAS,
      port: await freePort(),
      dbHost: env.hostFromContainers,
      dbPort: env.port,
      label: `${CONTAINER_LABEL}=${FRONT}`,
    });
    url = front.url;
    const at = `Server=${FRONT};Port=${DB_RELAY_PORT};Database=${db.name};Timeout=5;`;
    connectionString = `${at}User ID=${env.user};Password=${env.password};Maximum Pool Size=10;`;
    reseedConnectionString = `${at}User ID=${env.reseedUser};Password=${env.reseedPassword};`;
    context = fs.mkdtempSync(path.join(os.tmpdir(), `${NAME}-release-`));
    fs.cpSync(FIXTURE_DIR, context, { recursive: true });
    // The archive of 8.2.3, the version deployed (no ForceHttpsSchemeInRequests yet).
    pinStandInVersion(context, "8.2.3");
    const dockerfile = path.join(context, "Dockerfile-OAuth");
    fs.writeFileSync(dockerfile, fs.readFileSync(dockerfile, "utf8").replace(`FROM ${BARE_BASE_IMAGE}`, `FROM ${SHELL_BASE_IMAGE}`));
    executor = new Executor({});
  });

  after(async function () {
    const filters = encodeURIComponent(JSON.stringify({ label: [`${CONTAINER_LABEL}=${NAME}`] }));
    for (const kind of ["services", "secrets"]) {
      for (const item of (await engine<Array<{ ID: string }>>("GET", `/${kind}?filters=${filters}`).catch(() => [])) as Array<{ ID: string }>) {
        await engine("DELETE", `/${kind}/${item.ID}`).catch(() => undefined);
      }
    }
    await executor?.cleanup();
    for (const id of await runnerContainers().catch(() => [])) await docker(["rm", "-f", id], { allowFailure: true });
    await front?.remove();
    for (let attempt = 0; attempt < 30; attempt++) {
      const networks = await engine<Array<{ Id: string }>>("GET", `/networks?filters=${filters}`).catch(() => []);
      if (networks.length === 0) break;
      for (const network of networks) await engine("DELETE", `/networks/${network.Id}`).catch(() => undefined);
      await new Promise(resolve => setTimeout(resolve, 1000));
    }
    if (context) fs.rmSync(context, { recursive: true, force: true });
    await db?.drop().catch(() => undefined);
    if (initialisedSwarm) {
      await docker(["swarm", "leave", "--force"], { allowFailure: true });
      await docker(["network", "rm", "docker_gwbridge"], { allowFailure: true });
    }
  });

  afterEach(async () => {
    assert.deepEqual(await runnerContainers(), [], "no re-seed container is left");
  });

  it("1. first deploy: the re-seed container runs on the service's network before the service exists, with nothing to do", async () => {
    const result = await executor.run(program("1"));
    const order = result.operations.map(o => o.name);
    assert.ok(order.indexOf(`${NAME}-network`) < order.indexOf(`${NAME}-client-reseed`), order.join(", "));
    assert.ok(order.indexOf(`${NAME}-client-reseed`) < order.indexOf(`${NAME}-service`), order.join(", "));
    const output = stepOutput("client-reseed");
    assert.equal(output.deletedClients, 0);
    credentials = outputs(result);
    assert.equal(await tokenStatus(url, credentials.clientId, credentials.clientSecret), 200);
    assert.equal((await service()).Spec.TaskTemplate.ForceUpdate ?? 0, 0, "no restart token yet");
  });

  it("2. with only the documented grants, a client edited by hand is repaired from the container, and the tasks roll", async () => {
    const c = await owner();
    try {
      for (const statement of documentedStatements("PostgreSQL")) await c.query(adapted(statement, db.name, env.reseedUser!, "public"));
      await c.query(`UPDATE "Clients" SET "AccessTokenLifetime" = 60 WHERE "ClientId" = $1`, [credentials.clientId]);
    } finally {
      await c.end();
    }
    await executor.run(program("1"), { replace: [RESEED] });
    const output = stepOutput("client-reseed");
    assert.deepEqual([output.deletedClients, output.insertedClients, output.updatedClients], [0, 0, 1], JSON.stringify(output));
    assert.match(String(output.restartToken), /^[0-9a-f]{16}$/);
    const spec = await service();
    assert.equal(spec.Spec.TaskTemplate.ForceUpdate, restartCounter(String(output.restartToken)), "the restart token reached taskSpec.forceUpdate");
    assert.equal(await tokenStatus(url, credentials.clientId, credentials.clientSecret), 200);
    const c2 = await owner();
    try {
      const row = await c2.query(`SELECT "AccessTokenLifetime" FROM "Clients" WHERE "ClientId" = $1`, [credentials.clientId]);
      assert.equal(row.rows[0].AccessTokenLifetime, 3600, "the configured client is back");
    } finally {
      await c2.end();
    }
  });

  it("3. a client rotation: the new client inserted and the old one retired from the container", async () => {
    const result = await executor.run(program("2"));
    const rotated = outputs(result);
    assert.notEqual(rotated.clientId, credentials.clientId);
    assert.equal(await tokenStatus(url, rotated.clientId, rotated.clientSecret), 200);
    assert.notEqual(await tokenStatus(url, credentials.clientId, credentials.clientSecret), 200, "the old client is retired");
    assert.equal(stepOutput("client-retire").retiredClients, 1);
    credentials = rotated;
  });

  it("4. destroy leaves no service, network or re-seed container of the component", async () => {
    await executor.destroy();
    const filters = encodeURIComponent(JSON.stringify({ label: [`${CONTAINER_LABEL}=${NAME}`] }));
    assert.deepEqual(await engine("GET", `/services?filters=${filters}`), []);
  });
});
