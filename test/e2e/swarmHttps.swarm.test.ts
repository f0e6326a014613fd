// The Swarm target serving HTTPS (`swarm.https`), deployed by the test executor to a real single-node swarm of the real
// Docker Engine, with the real PostgreSQL of the e2e infra scripts: the tasks' Kestrel serves a certificate issued by
// a private CA, delivered as a Docker secret with its password in the settings secret; the readiness gate verifies
// the chain through `readiness.caCertificate` and passes; discovery answers over https with that certificate and the
// https issuer; `docker service inspect` shows no password; a renewed certificate rolls the tasks start-first under an
// https load (no failed request) while the service stays the same; destroy leaves no service or secret.
//
// As in swarm.swarm.test.ts, this machine's kernel has no IPVS, so the routing mesh does not work here: the service
// runs with `endpointMode: "dnsrr"` behind the test's layer-4 balancer (test/e2e/swarm/front.js), which publishes the
// HTTP port and the HTTPS port on 127.0.0.1 and passes TLS through to the tasks' port 443, as a load balancer in front
// of a `dnsrr` service does. On a host with IPVS, `vip` mode publishes both ports on every node instead (the published
// ports are pinned by the unit tests, test/targets/swarm.test.ts).
//
// Needs: test/e2e/infra/start-docker.sh, then start-postgres.sh. The swarm is initialised here when the engine is not
// in one and left again at the end; an existing swarm is left as it is.
import { strict as assert } from "assert";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as tls from "tls";
import * as pulumi from "@pulumi/pulumi";
import { DatabaseProvider, DeploymentTarget, IdentityService, IdentityServiceArgs } from "../../src";
import { CONTAINER_LABEL, CONTAINER_TLS_CERTIFICATE_PATH } from "../../src/targets/docker";
import { createScratchDatabase, PostgresEnv, readPostgresEnv, ScratchDatabase } from "./infra/postgres";
import { docker, Executor } from "./support/executor";
import { DB_RELAY_PORT, Front, startFront } from "./support/front";
import { describeFailures, failures, freePort, Load, request } from "./support/load";
import { engine } from "./support/swarm";
import { labelledObjects, prepareSwarmSuite, removeComponentObjects, shellBaseRelease } from "./support/swarmSuite";
import { createPrivateCa, IssuedCertificate, PrivateCa } from "../support/privateCa";

const SIGNING_PFX = path.join(__dirname, "..", "fixtures", "certificates", "signing.pfx");

const RUN_ID = crypto.randomBytes(3).toString("hex");
const NAME = `cis-swarm-tls-${RUN_ID}`;
const FRONT = `${NAME}-front`;
const ALIAS = `ids-tls-${RUN_ID}`;
/** The PFX passwords of the first and the renewed certificate: neither may appear in the service spec. */
const PASSWORDS = [`Pfx-Pass-${RUN_ID}-4411`, `Pfx-Pass-${RUN_ID}-7723`];

const T = { service: "docker:index/service:Service", secret: "docker:index/secret:Secret" };

interface Service {
  ID: string;
  Spec: { TaskTemplate: { ContainerSpec: { Env?: string[]; Secrets?: Array<{ File: { Name: string }; SecretName: string }> } } };
  UpdateStatus?: { State?: string; Message?: string };
}

const labelled = (kind: "services" | "secrets" | "networks") => labelledObjects(NAME, kind);

/** The certificate a TLS server presents at 127.0.0.1:`port` for `servername`, verified against `ca`. */
function servedCertificate(port: number, servername: string, ca: string): Promise<crypto.X509Certificate> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: "127.0.0.1", port, servername, ca }, () => {
      resolve(socket.getPeerX509Certificate()!);
      socket.end();
    });
    socket.on("error", reject);
  });
}

async function until(what: string, condition: () => Promise<boolean>, timeoutMs = 300_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise(resolve => setTimeout(resolve, 500));
  }
}

describe("IdentityService on Docker Swarm over HTTPS (real single-node swarm and PostgreSQL, a private CA)", function () {
  let env: PostgresEnv;
  let db: ScratchDatabase;
  let executor: Executor;
  let swarm: { leave(): Promise<void> } | undefined;
  let front: Front;
  let httpsPort: number;
  let url: string;
  let connectionString: string;
  let reseedConnectionString: string;
  let releaseContext: string;
  let certificateFolder: string;
  let ca: PrivateCa;
  let serviceId: string;
  const issued: IssuedCertificate[] = [];
  const pfxPaths: string[] = [];
  const report: string[] = [];

  const log = process.env.E2E_EXECUTOR_LOG ? (line: string) => process.stderr.write(line + "\n") : undefined;

  function args(certificate: number): IdentityServiceArgs {
    return {
      target: DeploymentTarget.Swarm,
      // 8.3.1: ForceHttpsSchemeInRequests exists, and follows the service's own https by default.
      creatioVersion: "8.3.1",
      database: {
        provider: DatabaseProvider.Postgres,
        connectionString: pulumi.secret(connectionString),
        reseedConnectionString: pulumi.secret(reseedConnectionString),
      },
      signingCertificate: { path: SIGNING_PFX },
      swarm: {
        build: { context: releaseContext },
        replicas: 1,
        endpointMode: "dnsrr",
        serviceAlias: ALIAS,
        networks: [front.networkId],
        httpPort: Number(new URL(front.url).port),
        https: { port: httpsPort, certificate: { path: pfxPaths[certificate], password: pulumi.secret(PASSWORDS[certificate]) } },
        hostname: "localhost",
        update: { monitor: "5s" },
      },
      readiness: { timeoutSeconds: 180, caCertificate: ca.certificatePem },
    };
  }

  const program = (serviceArgs: () => IdentityServiceArgs) => () => {
    const service = new IdentityService(NAME, serviceArgs());
    return { url: service.url, clientId: service.clientId, clientSecret: service.clientSecret };
  };

  before(async function () {
    env = readPostgresEnv();
    if (!env.hostFromContainers) {
      throw new Error("PGHOST_FROM_CONTAINERS is missing: run test/e2e/infra/start-docker.sh, then test/e2e/infra/start-postgres.sh again");
    }
    swarm = await prepareSwarmSuite();

    // The service's certificates for localhost, issued by a private CA: the first one and its renewal.
    ca = createPrivateCa(`Swarm Test CA ${RUN_ID}`);
    certificateFolder = fs.mkdtempSync(path.join(os.tmpdir(), `${NAME}-tls-`));
    for (const [index, password] of PASSWORDS.entries()) {
      issued.push(ca.issue(["localhost"]));
      pfxPaths.push(path.join(certificateFolder, `tls-${index}.pfx`));
      fs.writeFileSync(pfxPaths[index], issued[index].pfx(password));
    }

    db = await createScratchDatabase(env, "cis_swarm_tls");
    httpsPort = await freePort();
    front = await startFront(FRONT, {
      serviceAlias: ALIAS,
      port: await freePort(),
      httpsPort,
      dbHost: env.hostFromContainers,
      dbPort: env.port,
      label: `${CONTAINER_LABEL}=${FRONT}`,
    });
    url = `https://localhost:${httpsPort}`;
    const connection = (host: string, port: number) =>
      `Server=${host};Port=${port};Database=${db.name};User ID=${env.user};Password=${env.password};Timeout=5;Maximum Pool Size=20;`;
    connectionString = connection(FRONT, DB_RELAY_PORT);
    reseedConnectionString = connection(env.host, env.port);

    releaseContext = shellBaseRelease(NAME, "8.3.1");

    executor = new Executor({ log });
  });

  after(async function () {
    await removeComponentObjects(NAME, async () => {
      await executor?.cleanup();
      await front?.remove();
    });
    for (const folder of [releaseContext, certificateFolder]) if (folder) fs.rmSync(folder, { recursive: true, force: true });
    await db?.drop().catch(() => undefined);
    await swarm?.leave();
    if (report.length > 0) console.log(`\n  under load:\n${report.map(line => `    ${line}`).join("\n")}`);
  });

  it("1. serves HTTPS with the private CA's certificate: the gate verifies it and passes, discovery answers over https, no password in the service spec", async function () {
    const result = await executor.run(program(() => args(0)));
    assert.ok(result.operations.some(o => o.kind === "create" && o.name === `${NAME}-tls-pfx`), "the certificate is a Docker secret of its own");
    assert.ok(result.operations.some(o => o.kind === "create" && o.name === `${NAME}-readiness`), "the readiness gate ran and passed");
    assert.equal(result.outputs.url, url);
    serviceId = executor.resource(T.service, `${NAME}-service`)!.id;

    // The certificate the tasks serve is the one issued for them, its chain verified against the private CA.
    const served = await servedCertificate(httpsPort, "localhost", ca.certificatePem);
    assert.equal(served.serialNumber, new crypto.X509Certificate(issued[0].certificatePem).serialNumber);
    const discovery = await request(`${url}/.well-known/openid-configuration`, "GET", undefined, ca.certificatePem);
    assert.equal(discovery.status, 200);
    assert.equal(JSON.parse(discovery.body).issuer, url, "the service advertises its https address as the issuer");
    assert.equal(JSON.parse(discovery.body).token_endpoint, `${url}/connect/token`);
    // Kestrel still serves HTTP inside the task, which the default health check probes.
    assert.equal((await request(`${front.url}/.well-known/openid-configuration`)).status, 200);

    const inspected = (await docker(["service", "inspect", serviceId])).stdout;
    const [service] = JSON.parse(inspected) as Service[];
    for (const secret of [PASSWORDS[0], env.password, String(result.outputs.clientSecret)]) {
      assert.ok(!inspected.includes(secret), "docker service inspect shows no secret value");
    }
    const environment = service.Spec.TaskTemplate.ContainerSpec.Env ?? [];
    assert.ok(environment.includes("ASPNETCORE_URLS=https://+:443;http://+:80"), environment.join(" "));
    assert.ok(environment.includes(`ASPNETCORE_Kestrel__Certificates__Default__Path=${CONTAINER_TLS_CERTIFICATE_PATH}`), environment.join(" "));
    assert.ok(!environment.some(variable => /password/i.test(variable)), `no password variable: ${environment.join(" ")}`);
    assert.ok(
      (service.Spec.TaskTemplate.ContainerSpec.Secrets ?? []).some(secret => secret.File.Name === CONTAINER_TLS_CERTIFICATE_PATH),
      "the certificate is mounted from its Docker secret",
    );
    assert.equal((await labelled("secrets")).length, 3, "the settings, the signing certificate and the HTTPS certificate");
  });

  it("2. changes nothing on a second run of the same program", async function () {
    const result = await executor.run(program(() => args(0)));
    assert.deepEqual(result.operations.map(o => `${o.kind} ${o.name}`), [], "no operation");
  });

  it("3. rolls the tasks onto a renewed certificate under an https load: the same service, no failed request", async function () {
    const load = Load.discovery(url, ca.certificatePem);
    const result = await executor.run(program(() => args(1)));
    await until("the rolling update to complete", async () => {
      const service = await engine<Service>("GET", `/services/${serviceId}`);
      const state = service.UpdateStatus?.State;
      if (state && /paused|rollback/.test(state)) throw new Error(`the update ended ${state}: ${service.UpdateStatus?.Message}`);
      return state === undefined || state === "completed";
    });
    const samples = await load.stop();
    report.push(`certificate renewal: discovery over https ${describeFailures(samples)}`);

    const operations = result.operations.map(o => `${o.kind} ${o.name}`);
    assert.ok(operations.includes(`replace ${NAME}-tls-pfx`), operations.join(", "));
    assert.ok(operations.includes(`update ${NAME}-service`), `the service is updated, not replaced: ${operations.join(", ")}`);
    const changed = result.operations.find(o => o.name === `${NAME}-service`)!.changed;
    assert.ok(changed.every(p => p.startsWith("taskSpec.containerSpec.secrets.")), `only the secrets' references change: ${changed.join(", ")}`);
    assert.equal(executor.resource(T.service, `${NAME}-service`)!.id, serviceId, "the same service");
    assert.ok(operations.includes(`replace ${NAME}-readiness`), "the gate ran again (a new trigger replaces it) and passed");
    assert.equal(failures(samples).length, 0, `no https discovery request fails (${describeFailures(samples)})`);
    assert.ok(samples.length > 20, `the load ran (${samples.length} requests)`);

    const served = await servedCertificate(httpsPort, "localhost", ca.certificatePem);
    assert.equal(served.serialNumber, new crypto.X509Certificate(issued[1].certificatePem).serialNumber, "the renewed certificate is served");
    const inspected = (await docker(["service", "inspect", serviceId])).stdout;
    assert.ok(!inspected.includes(PASSWORDS[1]), "the new password is not in the service spec either");
    await until("the replaced secret to be deleted", async () => (await labelled("secrets")).length === 3, 60_000);
  });

  it("4. destroys everything: no service or secret left", async function () {
    await executor.destroy();
    assert.deepEqual(await labelled("services"), []);
    assert.deepEqual(await labelled("secrets"), []);
  });
});
