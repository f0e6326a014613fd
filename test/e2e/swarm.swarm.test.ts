// The IdentityService component on the Swarm target, deployed by the test executor to a real single-node swarm of the
// real Docker Engine, with the real PostgreSQL of the e2e infra scripts: three replicas, a task stopped under load,
// a client rotation and a version upgrade under load (no discovery request may fail, the old credentials keep
// getting tokens until they are retired), a scale-down from three tasks to one, and destroy (no service, secret or
// network left).
//
// This machine's kernel has no IPVS, so the routing mesh (service VIP, ingress-published ports) does not work here.
// The service therefore runs with `endpointMode: "dnsrr"` and a load balancer container of the test in front of it
// (test/e2e/swarm/front.js) on an overlay network the service joins through `swarm.networks`; on a normal host the
// default `vip` mode publishes `httpPort` on every node instead. The balancer also relays the database port, because
// the test cluster admits connections from the Docker bridge only, and tasks on an overlay network leave the node
// through docker_gwbridge.
//
// Needs: test/e2e/infra/start-docker.sh, then start-postgres.sh. The swarm is initialised here when the engine is not
// in one (`docker swarm init --advertise-addr 127.0.0.1`) and left again at the end; an existing swarm is left as it is.
import { strict as assert } from "assert";
import { execFileSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { DatabaseProvider, DeploymentTarget, IdentityService, IdentityServiceArgs } from "../../src";
import { CONTAINER_LABEL } from "../../src/targets/docker";
import { createScratchDatabase, PostgresEnv, readPostgresEnv, ScratchDatabase } from "./infra/postgres";
import { docker, Executor, Operation, RunResult } from "./support/executor";
import { DB_RELAY_PORT, Front, startFront } from "./support/front";
import { describeFailures, failures, freePort, Load, longestGap, request, tokenStatus } from "./support/load";
import { engine } from "./support/swarm";

const REPO_ROOT = path.join(__dirname, "..", "..");
const INFRA_DIR = path.join(__dirname, "infra");
const FIXTURE_DIR = path.join(REPO_ROOT, "test", "fixtures", "identity-service");
const SIGNING_PFX = path.join(REPO_ROOT, "test", "fixtures", "certificates", "signing.pfx");

const RUN_ID = crypto.randomBytes(3).toString("hex");
const NAME = `cis-swarm-${RUN_ID}`;
const FRONT = `${NAME}-front`;
const ALIAS = `ids-${RUN_ID}`;

/** The health check of the stand-in image, which has `node` but no `bash` (the default probe is for the vendor's image). */
const NODE_HEALTH_CHECK = [
  "CMD",
  "/usr/bin/node",
  "-e",
  'require("http").get("http://127.0.0.1/.well-known/openid-configuration", r => process.exit(r.statusCode === 200 ? 0 : 1)).on("error", () => process.exit(1))',
];

const T = {
  service: "docker:index/service:Service",
  secret: "docker:index/secret:Secret",
  network: "docker:index/network:Network",
};

interface Task {
  ID: string;
  DesiredState: string;
  Status: { State: string; ContainerStatus?: { ContainerID?: string } };
}

async function runningTasks(serviceId: string): Promise<Task[]> {
  const filters = encodeURIComponent(JSON.stringify({ service: [serviceId], "desired-state": ["running"] }));
  return (await engine<Task[]>("GET", `/tasks?filters=${filters}`)).filter(task => task.Status.State === "running");
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

function summary(operations: readonly Operation[]): string[] {
  return operations.map(o => `${o.kind} ${o.name}`).sort();
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
      // The stand-in keeps no data-protection keys; the argument is required for more than one replica.
      redisConnection: pulumi.secret(`redis-${RUN_ID}:6379`),
      swarm: {
        build: { context: options.context ?? FIXTURE_DIR },
        replicas: options.replicas,
        endpointMode: "dnsrr",
        serviceAlias: ALIAS,
        networks: [front.networkId],
        httpPort: Number(new URL(url).port),
        hostname: "127.0.0.1",
        healthCheck: NODE_HEALTH_CHECK,
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

  /** Runs `pulumi up` with a discovery load and a token load with the current credentials; both must never fail before the retire step. */
  async function upUnderLoad(step: string, serviceArgs: () => IdentityServiceArgs): Promise<RunResult> {
    const discovery = Load.discovery(url);
    const tokens = Load.token(url, credentials.clientId, credentials.clientSecret);
    const result = await executor.run(program(serviceArgs));
    const discoverySamples = await discovery.stop();
    const tokenSamples = await tokens.stop();
    const retire = result.operations.find(o => o.name === `${NAME}-client-retire`);
    const beforeRetire = tokenSamples.filter(s => retire === undefined || s.endedAt < retire.startedAt);
    report.push(
      `${step}: discovery ${describeFailures(discoverySamples)}, longest gap ${Math.round(longestGap(discoverySamples))} ms; ` +
        `old credentials before the retire step ${describeFailures(beforeRetire)}`,
    );
    assert.equal(failures(discoverySamples).length, 0, `${step}: no discovery request fails (${describeFailures(discoverySamples)})`);
    assert.equal(failures(beforeRetire).length, 0, `${step}: the old credentials keep working until retired (${describeFailures(beforeRetire)})`);
    assert.ok(discoverySamples.length > 20, `${step}: the load ran (${discoverySamples.length} requests)`);
    return result;
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

    // The next release's archive: the same program, changed by one comment line, so that its image differs.
    upgradeContext = fs.mkdtempSync(path.join(os.tmpdir(), `${NAME}-release-`));
    fs.cpSync(FIXTURE_DIR, upgradeContext, { recursive: true });
    // The program file is what the Dockerfile copies, so its change gives a new image.
    fs.appendFileSync(path.join(upgradeContext, "IdentityService.js"), `// next release ${RUN_ID}\n`);

    executor = new Executor({ log });
  });

  after(async function () {
    // Whatever a failed test left: the component's services and secrets, then what the executor made (the built
    // images, once the services' tasks no longer use them), the networks and the balancer.
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
    if (upgradeContext) fs.rmSync(upgradeContext, { recursive: true, force: true });
    await db?.drop().catch(() => undefined);
    if (initialisedSwarm) {
      await docker(["swarm", "leave", "--force"], { allowFailure: true });
      // `swarm init` created the bridge that tasks leave the node through; leaving the swarm keeps it.
      await docker(["network", "rm", "docker_gwbridge"], { allowFailure: true });
    }
    if (report.length > 0) console.log(`\n  under load:\n${report.map(line => `    ${line}`).join("\n")}`);
  });

  it("1. deploys three replicas with every secret in Docker secrets, none in the service spec", async function () {
    const result = await executor.run(program(() => args({ rotation: "1", replicas: 3 })));
    assert.deepEqual(
      summary(result.operations).filter(line => /-(network|settings|signing-pfx|service|readiness|image)$/.test(line)),
      [
        `create ${NAME}-image`,
        `create ${NAME}-network`,
        `create ${NAME}-readiness`,
        `create ${NAME}-service`,
        `create ${NAME}-settings`,
        `create ${NAME}-signing-pfx`,
      ],
    );
    credentials = outputs(result);
    assert.equal(result.outputs.url, url);
    serviceId = executor.resource(T.service, `${NAME}-service`)!.id;
    assert.equal((await runningTasks(serviceId)).length, 3, "three tasks run");

    const inspected = JSON.stringify(await engine("GET", `/services/${serviceId}`));
    for (const secret of [env.password, credentials.clientSecret, `redis-${RUN_ID}`]) {
      assert.ok(!inspected.includes(secret), "docker service inspect shows no secret value");
    }
    assert.equal((await labelled("secrets")).length, 2, "the settings and the signing certificate");
    assert.equal((await request(`${url}/.well-known/openid-configuration`)).status, 200);
    assert.equal(await tokenStatus(url, credentials.clientId, credentials.clientSecret), 200, "the output credentials get a token");
  });

  it("2. keeps answering while a task is stopped, and Swarm starts another", async function () {
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

  it("3. rotates the client under load: no failed request, old credentials until retired, new ones at once", async function () {
    const old = credentials;
    const oldSecretIds = (await labelled("secrets")).map(s => s.ID).sort();
    const result = await upUnderLoad("rotation", () => args({ rotation: "2", replicas: 3 }));
    credentials = outputs(result);
    assert.notEqual(credentials.clientId, old.clientId);
    assert.equal(await tokenStatus(url, credentials.clientId, credentials.clientSecret), 200, "the new credentials work as soon as up returns");
    assert.equal(await tokenStatus(url, old.clientId, old.clientSecret), 400, "the old credentials are retired");
    const secretIds = (await labelled("secrets")).map(s => s.ID).sort();
    assert.equal(secretIds.length, 2, "the replaced settings secret was deleted after the update");
    assert.notDeepEqual(secretIds, oldSecretIds, "a new settings secret");
    assert.equal(executor.resource(T.service, `${NAME}-service`)!.id, serviceId, "the service was updated in place, not replaced");
  });

  it("4. upgrades to the next release under load without a failed request", async function () {
    const before = executor.resource(T.service, `${NAME}-service`)!.inputs as any;
    await upUnderLoad("upgrade", () => args({ rotation: "2", replicas: 3, creatioVersion: "8.3.1", context: upgradeContext }));
    const after = executor.resource(T.service, `${NAME}-service`)!.inputs as any;
    assert.notEqual(after.taskSpec.containerSpec.image, before.taskSpec.containerSpec.image, "a new image rolled out");
    assert.equal((await runningTasks(serviceId)).length, 3);
    assert.equal(await tokenStatus(url, credentials.clientId, credentials.clientSecret), 200);
  });

  it("5. scales from three tasks to one under load", async function () {
    await upUnderLoad("scale 3 to 1", () => args({ rotation: "2", replicas: 1, creatioVersion: "8.3.1", context: upgradeContext }));
    await until("one running task", async () => (await runningTasks(serviceId)).length === 1);
  });

  it("6. destroys everything: no service, secret or network left", async function () {
    await executor.destroy();
    assert.deepEqual(await labelled("services"), []);
    assert.deepEqual(await labelled("secrets"), []);
    // The manager accepts a network's removal at once and deletes it when the last task container has left.
    await until("the component's network to be gone", async () => (await labelled("networks")).length === 0, 30_000);
    assert.equal(executor.state.length, 0, "nothing left in state");
  });
});
