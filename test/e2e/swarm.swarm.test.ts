// The IdentityService component on the Swarm target, deployed by the test executor to a real single-node swarm of the
// real Docker Engine, with the real PostgreSQL of the e2e infra scripts: three replicas with the package's default
// health check and its own Redis, a second run that changes nothing, a task stopped under load, a client rotation, a
// client re-seed (a hand edit of the client rows repaired) and a version upgrade under load (no discovery request may
// fail, the old credentials keep getting tokens until they are retired, also while the client is replaced), Redis keeping its data when its task
// restarts, a scale-down from three tasks to one, the default health check in an image without bash, and destroy (no
// service, secret or network left; the Redis volume stays, as Docker keeps named volumes).
//
// Images: the stand-in Identity Service (test/fixtures/identity-service) is built on a base that has what the
// vendor's base image (Microsoft's ASP.NET Core image, Debian) gives the default probe: bash, head and grep, this
// Debian machine's own (test/e2e/swarm/build-images.sh). Redis is this machine's redis-server in an image run like
// the official one.
//
// This machine's kernel has no IPVS, so the routing mesh (service VIP, ingress-published ports) does not work here.
// The service therefore runs with `endpointMode: "dnsrr"` and a load balancer container of the test in front of it
// (test/e2e/swarm/front.js) on an overlay network the service joins through `swarm.networks`; on a normal host the
// default `vip` mode publishes `httpPort` on every node instead. The balancer also relays the database port, because
// the test cluster admits connections from the Docker bridge only, and tasks on an overlay network leave the node
// through docker_gwbridge.
//
// Needs: test/e2e/infra/start-docker.sh, then start-postgres.sh, and redis-server installed (Debian package). The
// swarm is initialised here when the engine is not in one (`docker swarm init --advertise-addr 127.0.0.1`) and left
// again at the end; an existing swarm is left as it is.
import { pinStandInVersion } from "./support/standInContext";
import { strict as assert } from "assert";
import { execFileSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { DatabaseProvider, DeploymentTarget, IdentityService, IdentityServiceArgs } from "../../src";
import { CONTAINER_LABEL } from "../../src/targets/docker";
import { DEFAULT_HEALTH_CHECK, restartCounter } from "../../src/targets/swarm";
import { createScratchDatabase, PostgresEnv, readPostgresEnv, ScratchDatabase, withClient } from "./infra/postgres";
import { docker, Executor, Operation, RunResult } from "./support/executor";
import { DB_RELAY_PORT, Front, startFront } from "./support/front";
import { describeFailures, failures, freePort, Load, longestGap, request, Sample, tokenStatus } from "./support/load";
import { engine } from "./support/swarm";

const REPO_ROOT = path.join(__dirname, "..", "..");
const INFRA_DIR = path.join(__dirname, "infra");
const SWARM_DIR = path.join(__dirname, "swarm");
const FIXTURE_DIR = path.join(REPO_ROOT, "test", "fixtures", "identity-service");
const SIGNING_PFX = path.join(REPO_ROOT, "test", "fixtures", "certificates", "signing.pfx");
const BARE_BASE_IMAGE = "creatio-identity-service-e2e/node-base:local";
const SHELL_BASE_IMAGE = "creatio-identity-service-e2e/node-shell-base:local";
const REDIS_IMAGE = "creatio-identity-service-e2e/redis:local";

const RUN_ID = crypto.randomBytes(3).toString("hex");
const NAME = `cis-swarm-${RUN_ID}`;
const FRONT = `${NAME}-front`;
const ALIAS = `ids-${RUN_ID}`;
const REDIS_VOLUME = `${NAME}-redis-data`;
const RESEED = `command:local:Command::${NAME}-client-reseed`;

const T = {
  service: "docker:index/service:Service",
  secret: "docker:index/secret:Secret",
  network: "docker:index/network:Network",
};

interface Task {
  ID: string;
  Slot?: number;
  CreatedAt: string;
  DesiredState: string;
  Spec: { ForceUpdate?: number };
  Status: { State: string; Err?: string; ContainerStatus?: { ContainerID?: string } };
}

interface Service {
  ID: string;
  Spec: { TaskTemplate: { ForceUpdate?: number; ContainerSpec: { Healthcheck?: { Test?: string[] } } } };
  UpdateStatus?: { State?: string; StartedAt?: string; CompletedAt?: string; Message?: string };
}

async function tasks(serviceId: string, desiredRunning = true): Promise<Task[]> {
  const filters = encodeURIComponent(JSON.stringify({ service: [serviceId], ...(desiredRunning ? { "desired-state": ["running"] } : {}) }));
  return engine<Task[]>("GET", `/tasks?filters=${filters}`);
}

async function runningTasks(serviceId: string): Promise<Task[]> {
  return (await tasks(serviceId)).filter(task => task.Status.State === "running");
}

async function labelled(kind: "services" | "secrets" | "networks"): Promise<Array<{ ID?: string; Id?: string; Spec?: { Name: string }; Name?: string }>> {
  const filters = encodeURIComponent(JSON.stringify({ label: [`${CONTAINER_LABEL}=${NAME}`] }));
  return engine("GET", `/${kind}?filters=${filters}`);
}

async function until(what: string, condition: () => Promise<boolean>, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise(resolve => setTimeout(resolve, 500));
  }
}

/** Swarm's own account of the last update: done once `completed` (or when the run started none). */
async function rolloutDone(serviceId: string): Promise<Service> {
  let service!: Service;
  await until(
    "the rolling update to complete",
    async () => {
      service = await engine<Service>("GET", `/services/${serviceId}`);
      const state = service.UpdateStatus?.State;
      if (state && /paused|rollback/.test(state)) throw new Error(`the update ended ${state}: ${service.UpdateStatus?.Message}`);
      return state === undefined || state === "completed";
    },
    300_000,
  );
  return service;
}

function summary(operations: readonly Operation[]): string[] {
  return operations.map(o => `${o.kind} ${o.name}`).sort();
}

/** The samples whose request started between two wall-clock times. */
function within(samples: readonly Sample[], from: number, to: number): Sample[] {
  return samples.filter(sample => performance.timeOrigin + sample.startedAt >= from && performance.timeOrigin + sample.startedAt <= to);
}

/**
 * Watches a service's tasks (every 250 ms) during an update: at each look, how many tasks meant to run are running,
 * and how many of the new spec (its ForceUpdate counter) are meant to run but not running yet.
 */
class TaskWatch {
  readonly looks: Array<{ running: number; newStarting: number; newRunning: number }> = [];
  private active = true;
  private readonly loop: Promise<void>;

  constructor(serviceId: string, isNew: (task: Task) => boolean) {
    this.loop = (async () => {
      while (this.active) {
        const now = await tasks(serviceId).catch(() => undefined);
        if (now) {
          this.looks.push({
            running: now.filter(task => task.Status.State === "running").length,
            newStarting: now.filter(task => isNew(task) && task.Status.State !== "running").length,
            newRunning: now.filter(task => isNew(task) && task.Status.State === "running").length,
          });
        }
        await new Promise(resolve => setTimeout(resolve, 250));
      }
    })();
  }

  async stop(): Promise<this> {
    this.active = false;
    await this.loop;
    return this;
  }
}

async function redisContainer(serviceId: string): Promise<string> {
  const [task] = await runningTasks(serviceId);
  const id = task?.Status.ContainerStatus?.ContainerID;
  if (!id) throw new Error("the Redis task has no running container");
  return id;
}

describe("IdentityService on Docker Swarm, deployed by the test executor (real single-node swarm and PostgreSQL)", function () {
  let env: PostgresEnv;
  let db: ScratchDatabase;
  let executor: Executor;
  let initialisedSwarm = false;
  let front: Front;
  let url: string;
  let connectionString: string;
  let reseedConnectionString: string;
  let releaseContext: string;
  let upgradeContext: string;
  let serviceId: string;
  let credentials: { clientId: string; clientSecret: string };
  const report: string[] = [];

  const log = process.env.E2E_EXECUTOR_LOG ? (line: string) => process.stderr.write(line + "\n") : undefined;

  function args(options: { rotation: string; replicas: number; creatioVersion?: string; context?: string }): IdentityServiceArgs {
    return {
      target: DeploymentTarget.Swarm,
      creatioVersion: options.creatioVersion ?? "8.2.3",
      database: {
        provider: DatabaseProvider.Postgres,
        connectionString: pulumi.secret(connectionString),
        reseedConnectionString: pulumi.secret(reseedConnectionString),
      },
      client: { rotation: options.rotation },
      signingCertificate: { path: SIGNING_PFX },
      swarm: {
        build: { context: options.context ?? releaseContext },
        replicas: options.replicas,
        endpointMode: "dnsrr",
        serviceAlias: ALIAS,
        networks: [front.networkId],
        httpPort: Number(new URL(url).port),
        hostname: "127.0.0.1",
        // The package's default health check runs (no `healthCheck`): the image has bash, head and grep.
        redis: { image: REDIS_IMAGE, volume: REDIS_VOLUME },
        update: { monitor: "5s" },
        maxDatabaseConnections: 90,
      },
      readiness: { timeoutSeconds: 180 },
    };
  }

  const program = (serviceArgs: () => IdentityServiceArgs) => () => {
    const service = new IdentityService(NAME, serviceArgs());
    return { url: service.url, clientId: service.clientId, clientSecret: service.clientSecret };
  };

  function outputs(result: RunResult): { clientId: string; clientSecret: string } {
    return { clientId: String(result.outputs.clientId), clientSecret: String(result.outputs.clientSecret) };
  }

  /**
   * Runs `pulumi up` with a discovery load and a token load with the current credentials, kept up until Swarm reports
   * the rolling update complete (the provider returns as soon as every slot runs a task, which can be before that).
   * No discovery request may fail, and no token request before the retire step.
   */
  async function upUnderLoad(
    step: string,
    serviceArgs: () => IdentityServiceArgs,
    options: { replace?: string[]; watch?: (task: Task) => boolean } = {},
  ): Promise<{ result: RunResult; discovery: Sample[]; tokens: Sample[]; service: Service; watch?: TaskWatch }> {
    const discovery = Load.discovery(url);
    const tokenLoad = Load.token(url, credentials.clientId, credentials.clientSecret);
    const watch = options.watch && new TaskWatch(serviceId, options.watch);
    const result = await executor.run(program(serviceArgs), { replace: options.replace });
    const service = await rolloutDone(serviceId);
    const discoverySamples = await discovery.stop();
    const tokenSamples = await tokenLoad.stop();
    await watch?.stop();
    const retire = result.operations.find(o => o.name === `${NAME}-client-retire`);
    const beforeRetire = tokenSamples.filter(s => retire === undefined || s.endedAt < retire.startedAt);
    report.push(
      `${step}: discovery ${describeFailures(discoverySamples)}, longest gap ${Math.round(longestGap(discoverySamples))} ms; ` +
        `old credentials before the retire step ${describeFailures(beforeRetire)}`,
    );
    assert.equal(failures(discoverySamples).length, 0, `${step}: no discovery request fails (${describeFailures(discoverySamples)})`);
    assert.equal(failures(beforeRetire).length, 0, `${step}: the old credentials keep working until retired (${describeFailures(beforeRetire)})`);
    assert.ok(discoverySamples.length > 20, `${step}: the load ran (${discoverySamples.length} requests)`);
    return { result, discovery: discoverySamples, tokens: tokenSamples, service, watch };
  }

  before(async function () {
    if (path.resolve(process.cwd()) !== path.resolve(REPO_ROOT)) {
      throw new Error(`run the swarm tests from the repository root (${REPO_ROOT}): the component's local commands use paths relative to it`);
    }
    env = readPostgresEnv();
    if (!env.hostFromContainers) {
      throw new Error("PGHOST_FROM_CONTAINERS is missing: run test/e2e/infra/start-docker.sh, then test/e2e/infra/start-postgres.sh again");
    }
    const state = (await docker(["info", "--format", "{{.Swarm.LocalNodeState}}"])).stdout.trim();
    if (state === "inactive") {
      await docker(["swarm", "init", "--advertise-addr", "127.0.0.1"]);
      initialisedSwarm = true;
    } else if (state !== "active") {
      throw new Error(`the Docker Engine is in swarm state "${state}"; it must be "active" or "inactive"`);
    }
    execFileSync("bash", [path.join(INFRA_DIR, "build-base-image.sh")], { stdio: ["ignore", "ignore", "inherit"] });
    execFileSync("bash", [path.join(SWARM_DIR, "build-images.sh")], { stdio: ["ignore", "ignore", "inherit"] });

    db = await createScratchDatabase(env, "cis_swarm");
    front = await startFront(FRONT, {
      serviceAlias: ALIAS,
      port: await freePort(),
      dbHost: env.hostFromContainers,
      dbPort: env.port,
      label: `${CONTAINER_LABEL}=${FRONT}`,
    });
    url = front.url;
    const connection = (host: string, port: number) =>
      `Server=${host};Port=${port};Database=${db.name};User ID=${env.user};Password=${env.password};Timeout=5;Maximum Pool Size=20;`;
    connectionString = connection(FRONT, DB_RELAY_PORT);
    reseedConnectionString = connection(env.host, env.port);

    // The release's archive, built on the base with what the vendor's base image has for the default probe.
    releaseContext = fs.mkdtempSync(path.join(os.tmpdir(), `${NAME}-release-`));
    fs.cpSync(FIXTURE_DIR, releaseContext, { recursive: true });
    // The archive of 8.2.3, the version first deployed (no ForceHttpsSchemeInRequests yet).
    pinStandInVersion(releaseContext, "8.2.3");
    const dockerfile = path.join(releaseContext, "Dockerfile-OAuth");
    fs.writeFileSync(dockerfile, fs.readFileSync(dockerfile, "utf8").replace(`FROM ${BARE_BASE_IMAGE}`, `FROM ${SHELL_BASE_IMAGE}`));
    assert.ok(fs.readFileSync(dockerfile, "utf8").includes(`FROM ${SHELL_BASE_IMAGE}`), "the release image is built on the shell base");
    // The next release's archive: the same program, changed by one comment line, so that its image differs.
    upgradeContext = fs.mkdtempSync(path.join(os.tmpdir(), `${NAME}-next-release-`));
    fs.cpSync(releaseContext, upgradeContext, { recursive: true });
    fs.appendFileSync(path.join(upgradeContext, "IdentityService.js"), `// next release ${RUN_ID}\n`);

    executor = new Executor({ log });
  });

  after(async function () {
    // Whatever a failed test left: the component's services and secrets, then what the executor made (the built
    // images, once the services' tasks no longer use them), the networks, the balancer and the Redis volume.
    for (const service of (await labelled("services").catch(() => [])) as Array<{ ID: string }>) await engine("DELETE", `/services/${service.ID}`).catch(() => undefined);
    for (const secret of (await labelled("secrets").catch(() => [])) as Array<{ ID: string }>) await engine("DELETE", `/secrets/${secret.ID}`).catch(() => undefined);
    await executor?.cleanup();
    if (front) {
      const redispatched = (await front.logs()).filter(line => /refused/.test(line)).length;
      report.push(`balancer: ${redispatched} connection(s) refused by a stopping task and sent to the next one`);
      await front.remove();
    }
    for (let attempt = 0; attempt < 30; attempt++) {
      const networks = (await labelled("networks").catch(() => [])) as Array<{ Id: string }>;
      if (networks.length === 0) break;
      for (const network of networks) await engine("DELETE", `/networks/${network.Id}`).catch(() => undefined);
      await new Promise(resolve => setTimeout(resolve, 1000));
    }
    for (let attempt = 0; attempt < 30; attempt++) {
      const removed = await docker(["volume", "rm", REDIS_VOLUME], { allowFailure: true });
      if (removed.code === 0 || /no such volume/i.test(removed.stderr)) break;
      await new Promise(resolve => setTimeout(resolve, 1000)); // the Redis container is still being removed
    }
    for (const context of [releaseContext, upgradeContext]) if (context) fs.rmSync(context, { recursive: true, force: true });
    await db?.drop().catch(() => undefined);
    if (initialisedSwarm) {
      await docker(["swarm", "leave", "--force"], { allowFailure: true });
      // `swarm init` created the bridge that tasks leave the node through; leaving the swarm keeps it.
      await docker(["network", "rm", "docker_gwbridge"], { allowFailure: true });
    }
    if (report.length > 0) console.log(`\n  under load:\n${report.map(line => `    ${line}`).join("\n")}`);
  });

  it("1. deploys three replicas, healthy by the default health check, with every secret in Docker secrets, none in the service spec", async function () {
    const result = await executor.run(program(() => args({ rotation: "1", replicas: 3 })));
    assert.deepEqual(
      summary(result.operations).filter(line => /-(network|settings|signing-pfx|service|redis|readiness|image)$/.test(line)),
      [
        `create ${NAME}-image`,
        `create ${NAME}-network`,
        `create ${NAME}-readiness`,
        `create ${NAME}-redis`,
        `create ${NAME}-service`,
        `create ${NAME}-settings`,
        `create ${NAME}-signing-pfx`,
      ],
    );
    credentials = outputs(result);
    assert.equal(result.outputs.url, url);
    serviceId = executor.resource(T.service, `${NAME}-service`)!.id;
    assert.equal((await runningTasks(serviceId)).length, 3, "three tasks run");

    const service = await engine<Service>("GET", `/services/${serviceId}`);
    assert.deepEqual(service.Spec.TaskTemplate.ContainerSpec.Healthcheck?.Test, DEFAULT_HEALTH_CHECK, "the package's default probe, over bash");
    for (const task of await runningTasks(serviceId)) {
      const health = JSON.parse((await docker(["inspect", "--format", "{{json .State.Health}}", task.Status.ContainerStatus!.ContainerID!])).stdout);
      assert.equal(health.Status, "healthy", "a task runs only once the default probe passed");
    }
    const inspected = JSON.stringify(service);
    for (const secret of [env.password, credentials.clientSecret]) {
      assert.ok(!inspected.includes(secret), "docker service inspect shows no secret value");
    }
    assert.equal((await labelled("secrets")).length, 2, "the settings and the signing certificate");
    assert.equal((await request(`${url}/.well-known/openid-configuration`)).status, 200);
    assert.equal(await tokenStatus(url, credentials.clientId, credentials.clientSecret), 200, "the output credentials get a token");
  });

  it("2. changes nothing on a second run of the same program", async function () {
    const result = await executor.run(program(() => args({ rotation: "1", replicas: 3 })));
    assert.deepEqual(summary(result.operations), [], "no operation: the provider's Read-back matches what the component gives");
  });

  it("3. keeps answering while a task is stopped, and Swarm starts another", async function () {
    const discovery = Load.discovery(url);
    await new Promise(resolve => setTimeout(resolve, 1000));
    const [victim] = await runningTasks(serviceId);
    // As an operator or a node drain stops it: SIGTERM, then the service finishes what it is answering.
    await docker(["stop", victim.Status.ContainerStatus!.ContainerID!]);
    await until("three running tasks again", async () => (await runningTasks(serviceId)).filter(t => t.ID !== victim.ID).length === 3);
    const samples = await discovery.stop();
    report.push(`task stopped: discovery ${describeFailures(samples)}`);
    assert.equal(failures(samples).length, 0, `no discovery request fails (${describeFailures(samples)})`);
  });

  it("4. rotates the client under load: no failed request, old credentials until retired, new ones at once", async function () {
    const old = credentials;
    const oldSecretIds = (await labelled("secrets")).map(s => s.ID).sort();
    const { result } = await upUnderLoad("rotation", () => args({ rotation: "2", replicas: 3 }));
    credentials = outputs(result);
    assert.notEqual(credentials.clientId, old.clientId);
    assert.equal(await tokenStatus(url, credentials.clientId, credentials.clientSecret), 200, "the new credentials work as soon as up returns");
    assert.equal(await tokenStatus(url, old.clientId, old.clientSecret), 400, "the old credentials are retired");
    const secretIds = (await labelled("secrets")).map(s => s.ID).sort();
    assert.equal(secretIds.length, 2, "the replaced settings secret was deleted after the update");
    assert.notDeepEqual(secretIds, oldSecretIds, "a new settings secret");
    assert.equal(executor.resource(T.service, `${NAME}-service`)!.id, serviceId, "the service was updated in place, not replaced");
  });

  it("5. repairs a client edited by hand with a re-seed that rolls the tasks one at a time: same service, no failed request", async function () {
    await withClient(db.config, client =>
      client.query(`UPDATE "Clients" SET "AccessTokenLifetime" = 60 WHERE "ClientId" = $1`, [credentials.clientId]),
    );
    const before = (await engine<Service>("GET", `/services/${serviceId}`)).Spec.TaskTemplate.ForceUpdate ?? 0;
    const isNew = (task: Task) => (task.Spec.ForceUpdate ?? 0) !== before;
    // `pulumi up --replace <urn of -client-reseed>`, as the README says for a client edited by hand.
    // The client is replaced in place (its row kept), so its unchanged credentials keep working throughout.
    const { result, discovery, tokens, service, watch } = await upUnderLoad("re-seed", () => args({ rotation: "2", replicas: 3 }), {
      replace: [RESEED],
      watch: isNew,
    });

    const reseed = result.operations.find(o => o.name === `${NAME}-client-reseed`)!;
    const token = JSON.parse(String(executor.resource("command:local:Command", `${NAME}-client-reseed`)!.outputs.stdout).trim().split("\n").pop()!).restartToken;
    assert.ok(token, `the re-seed step replaced the edited client and printed a restart token (${reseed.kind})`);
    const serviceOperation = result.operations.find(o => o.name === `${NAME}-service`);
    assert.deepEqual(
      serviceOperation && { kind: serviceOperation.kind, changed: serviceOperation.changed },
      { kind: "update", changed: ["taskSpec.forceUpdate"] },
      "the service is updated in place, through its force-update counter alone",
    );
    assert.equal(executor.resource(T.service, `${NAME}-service`)!.id, serviceId, "the same service");
    assert.equal(service.Spec.TaskTemplate.ForceUpdate, restartCounter(token));
    assert.equal(service.UpdateStatus?.State, "completed");

    // One at a time, start-first: never more than one new task starting, never fewer than three running.
    const looks = watch!.looks;
    assert.ok(looks.length > 10, `the tasks were watched (${looks.length} looks)`);
    assert.equal(Math.max(...looks.map(l => l.newStarting)), 1, "one new task started at a time");
    assert.ok(Math.min(...looks.map(l => l.running)) >= 3, `three tasks ran throughout (fewest seen: ${Math.min(...looks.map(l => l.running))})`);
    const all = await tasks(serviceId, false);
    assert.equal(all.filter(isNew).length, 3, "each slot restarted once");
    assert.deepEqual((await runningTasks(serviceId)).map(isNew), [true, true, true], "every running task is a restarted one");

    const started = Date.parse(service.UpdateStatus!.StartedAt!);
    const completed = Date.parse(service.UpdateStatus!.CompletedAt!);
    const during = within(discovery, started, completed);
    const tokensDuring = within(tokens, started, completed);
    report.push(
      `re-seed rolling restart: ${((completed - started) / 1000).toFixed(1)} s (Swarm's UpdateStatus), ${during.length} discovery requests during it ` +
        `(${failures(during).length} failed), ${tokensDuring.length} token requests during it (${failures(tokensDuring).length} failed); ` +
        `longest time without a token: ${Math.round(longestGap(tokens))} ms`,
    );
    assert.equal(await tokenStatus(url, credentials.clientId, credentials.clientSecret), 200, "the client works again");
    const lifetime = await withClient(db.config, client =>
      client.query(`SELECT "AccessTokenLifetime" FROM "Clients" WHERE "ClientId" = $1`, [credentials.clientId]),
    );
    assert.notEqual(lifetime.rows[0].AccessTokenLifetime, 60, "the hand edit is gone: the re-seed step wrote the configured client");
  });

  it("6. upgrades to the next release under load without a failed request", async function () {
    const before = executor.resource(T.service, `${NAME}-service`)!.inputs as any;
    await upUnderLoad("upgrade", () => args({ rotation: "2", replicas: 3, creatioVersion: "8.3.1", context: upgradeContext }));
    const after = executor.resource(T.service, `${NAME}-service`)!.inputs as any;
    assert.notEqual(after.taskSpec.containerSpec.image, before.taskSpec.containerSpec.image, "a new image rolled out");
    assert.equal((await runningTasks(serviceId)).length, 3);
    assert.equal(executor.resource(T.service, `${NAME}-service`)!.id, serviceId, "the same service");
    assert.equal(await tokenStatus(url, credentials.clientId, credentials.clientSecret), 200);
  });

  it("7. keeps Redis's data in its volume when its task is killed and Swarm starts another", async function () {
    const redisId = executor.resource(T.service, `${NAME}-redis`)!.id;
    const container = await redisContainer(redisId);
    const key = `DataProtection-Keys-${RUN_ID}`;
    await docker(["exec", container, "redis-cli", "RPUSH", key, "<key id=\"1\" />"]);
    // appendfsync everysec: the append-only file holds the write within a second.
    await new Promise(resolve => setTimeout(resolve, 1500));
    await docker(["kill", container]);
    await until("a new Redis task", async () => (await runningTasks(redisId)).some(task => task.Status.ContainerStatus?.ContainerID !== container), 120_000);
    const restarted = await redisContainer(redisId);
    assert.notEqual(restarted, container);
    const kept = (await docker(["exec", restarted, "redis-cli", "LRANGE", key, "0", "-1"])).stdout.trim();
    assert.equal(kept, '<key id="1" />', "the new task reads the key the killed one was given");
    const mounts = JSON.parse((await docker(["inspect", "--format", "{{json .Mounts}}", restarted])).stdout);
    assert.deepEqual(
      mounts.map((m: any) => [m.Type, m.Name, m.Destination]),
      [["volume", REDIS_VOLUME, "/data"]],
    );
  });

  it("8. scales from three tasks to one under load", async function () {
    await upUnderLoad("scale 3 to 1", () => args({ rotation: "2", replicas: 1, creatioVersion: "8.3.1", context: upgradeContext }));
    await until("one running task", async () => (await runningTasks(serviceId)).length === 1);
  });

  it("9. without bash in the image, the default health check never passes: the task never runs", async function () {
    // The same probe, in the stand-in's bare base image (node only), as a service of its own with short timings.
    const probe = await engine<{ ID: string }>("POST", "/services/create", {
      Name: `${NAME}-no-bash`,
      Labels: { [CONTAINER_LABEL]: NAME },
      TaskTemplate: {
        ContainerSpec: {
          Image: BARE_BASE_IMAGE,
          Command: ["/usr/bin/node", "-e", 'require("http").createServer((q, r) => r.end("{}")).listen(80)'],
          Healthcheck: { Test: DEFAULT_HEALTH_CHECK, Interval: 1e9, Timeout: 1e9, StartPeriod: 0, Retries: 1 },
        },
        RestartPolicy: { Condition: "none" },
      },
      Mode: { Replicated: { Replicas: 1 } },
    });
    try {
      let last: Task | undefined;
      await until(
        "the task to fail its health check",
        async () => {
          [last] = await tasks(probe.ID, false);
          return last?.Status.State === "failed";
        },
        120_000,
      );
      assert.match(last!.Status.Err ?? "", /unhealthy/i, "Swarm stops the task as unhealthy");
      // The failed task's container stays (task history) with the probe's log.
      const container = last!.Status.ContainerStatus?.ContainerID;
      assert.ok(container, "the failed task had a container");
      const health = JSON.parse((await docker(["inspect", "--format", "{{json .State.Health}}", container])).stdout);
      assert.equal(health.Status, "unhealthy");
      assert.match(health.Log.at(-1).Output, /"bash": executable file not found/, "the probe cannot start: no bash");
      report.push(`no bash: the default probe's task ended "${last!.Status.State}": ${last!.Status.Err}`);
    } finally {
      await engine("DELETE", `/services/${probe.ID}`).catch(() => undefined);
    }
  });

  it("10. destroys everything: no service, secret or network left; the Redis volume stays, as Docker keeps named volumes", async function () {
    await executor.destroy();
    assert.deepEqual(await labelled("services"), []);
    assert.deepEqual(await labelled("secrets"), []);
    // The manager accepts a network's removal at once and deletes it when the last task container has left.
    await until("the component's network to be gone", async () => (await labelled("networks")).length === 0, 30_000);
    assert.equal(executor.state.length, 0, "nothing left in state");
    assert.equal((await docker(["volume", "inspect", REDIS_VOLUME], { allowFailure: true })).code, 0, "the Redis volume is still there");
  });
});
