// The Docker target's container as the Docker Engine runs it, deployed by the test executor against the real Docker
// Engine and PostgreSQL: every secret (the connection string, the client secret, the Redis connection, the Kestrel
// certificate's password, a secret of `additionalSettings`) reaches the service in the uploaded settings file
// `/app/appsettings.Production.json` and none in anything `docker inspect` shows, while the service uses each of them
// (the readiness gate gets discovery and a token over HTTPS); the escape hatches reach the process (an environment
// variable listed in `overrides` changes its log level); the default health check reports the container healthy on a
// base with bash, and unhealthy on one without; a new health check replaces the container (the provider never applies
// one to an existing container) and takes effect.
//
// Images: the stand-in Identity Service (test/fixtures/identity-service) on the shell base (the node base plus this
// machine's bash, head and grep, what the vendor's Debian base image gives the default probe:
// test/e2e/infra/build-shell-base-image.sh), and on the bare node base, which has no bash.
//
// Needs: test/e2e/infra/start-docker.sh, then start-postgres.sh.
import { strict as assert } from "assert";
import { execFileSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { DatabaseProvider, DeploymentTarget, IdentityService, IdentityServiceArgs } from "../../src";
import { SETTINGS_FILE_PATH } from "../../src/targets/docker";
import { createScratchDatabase, ScratchDatabase } from "./infra/postgres";
import { docker, Executor, RunResult } from "./support/executor";
import { freePort } from "../support/freePort";
import { createPrivateCa, PrivateCa } from "../support/privateCa";
import { DeploymentSuiteEnv, prepareDeploymentSuite } from "./support/prepare";
import { StandInContext, standInContext } from "./support/standInContext";

const REPO_ROOT = path.join(__dirname, "..", "..");
const INFRA_DIR = path.join(__dirname, "infra");
const CERTIFICATES = path.join(REPO_ROOT, "test", "fixtures", "certificates");
const SIGNING_PFX = path.join(CERTIFICATES, "signing.pfx");
const TLS_PASSWORD = "tls-test-password";
const CREATIO_VERSION = "8.2.3";
const BARE_BASE_IMAGE = "creatio-identity-service-e2e/node-base:local";
const SHELL_BASE_IMAGE = "creatio-identity-service-e2e/node-shell-base:local";

const RUN_ID = crypto.randomBytes(3).toString("hex");
const SECRET_NAME = `cis-e2e-secrets-${RUN_ID}`;
const HEALTH_NAME = `cis-e2e-health-${RUN_ID}`;
const REDIS_SECRET = `Redis-Secret-${RUN_ID}-5521`;
const SMTP_SECRET = `Smtp-Secret-${RUN_ID}-8817`;

async function inspect(containerId: string): Promise<Record<string, any>> {
  return JSON.parse((await docker(["inspect", containerId])).stdout)[0];
}

/** Docker's health status of a container once it is `wanted`, within `seconds`; the last state otherwise. */
async function healthWithin(containerId: string, wanted: string, seconds: number): Promise<Record<string, any>> {
  const deadline = performance.now() + seconds * 1000;
  for (;;) {
    const health = (await inspect(containerId)).State.Health;
    if (health?.Status === wanted || performance.now() >= deadline) return health;
    await new Promise(resolve => setTimeout(resolve, 1000));
  }
}

/** A copy of the stand-in's build context whose image is built FROM `base`. */
function onBase(context: StandInContext, base: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `cis-e2e-docker-${RUN_ID}-`));
  fs.cpSync(context.path, dir, { recursive: true });
  const dockerfile = path.join(dir, "Dockerfile-OAuth");
  const text = fs.readFileSync(dockerfile, "utf8");
  assert.ok(text.includes(`FROM ${BARE_BASE_IMAGE}`), "the stand-in is built FROM the node base");
  fs.writeFileSync(dockerfile, text.replace(`FROM ${BARE_BASE_IMAGE}`, `FROM ${base}`));
  return dir;
}

describe("IdentityService on Docker: secrets only in the settings file, the escape hatches and the health check, on the real Docker Engine", function () {
  let env: DeploymentSuiteEnv;
  let db: ScratchDatabase;
  let standIn: StandInContext;
  let shellContext: string;
  let bareContext: string;
  let connectionString: string;
  let reseedConnectionString: string;
  let ca: PrivateCa;
  let tlsFolder: string;
  let tlsPfx: string;
  const executors: Executor[] = [];
  const log = process.env.E2E_EXECUTOR_LOG ? (line: string) => process.stderr.write(line + "\n") : undefined;

  const program = (name: string, args: () => IdentityServiceArgs) => () => {
    const service = new IdentityService(name, args());
    return { url: service.url, clientId: service.clientId, clientSecret: service.clientSecret };
  };

  function containerOf(executor: Executor, name: string): string {
    const container = executor.resource("docker:index/container:Container", `${name}-container`);
    assert.ok(container, `${name}: the container is in the executor's state`);
    return container.id;
  }

  before(async function () {
    env = await prepareDeploymentSuite();
    execFileSync("bash", [path.join(INFRA_DIR, "build-shell-base-image.sh")], { stdio: ["ignore", "ignore", "inherit"] });
    standIn = standInContext({ seedingRule: "missing-id", creatioVersion: CREATIO_VERSION });
    shellContext = onBase(standIn, SHELL_BASE_IMAGE);
    bareContext = onBase(standIn, BARE_BASE_IMAGE);
    db = await createScratchDatabase(env, "cis_e2e_docker");
    const connection = (host: string) => `Server=${host};Port=${env.port};Database=${db.name};User ID=${env.user};Password=${env.password};Timeout=5;`;
    connectionString = connection(env.hostFromContainers);
    reseedConnectionString = connection(env.host);
    // The service's HTTPS certificate, issued by a private CA that the readiness gate trusts through readiness.caCertificate.
    ca = createPrivateCa(`cis-e2e-ca-${RUN_ID}`);
    tlsFolder = fs.mkdtempSync(path.join(os.tmpdir(), `cis-e2e-tls-${RUN_ID}-`));
    tlsPfx = path.join(tlsFolder, "tls.pfx");
    fs.writeFileSync(tlsPfx, ca.issue(["localhost"]).pfx(TLS_PASSWORD));
  });

  after(async function () {
    for (const executor of executors) {
      const removed = await executor.cleanup().catch(() => []);
      if (removed.length > 0) console.log(`  cleanup removed: ${removed.join(", ")}`);
    }
    await db?.drop().catch(() => undefined);
    standIn?.remove();
    for (const dir of [shellContext, bareContext, tlsFolder]) if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it("1. keeps every secret out of what docker inspect shows, in the settings file the service reads, and reports the container healthy", async function () {
    const executor = new Executor({ log });
    executors.push(executor);
    const [httpPort, httpsPort] = [await freePort(), await freePort()];
    const args = (): IdentityServiceArgs => ({
      target: DeploymentTarget.Docker,
      creatioVersion: CREATIO_VERSION,
      database: { provider: DatabaseProvider.Postgres, connectionString: pulumi.secret(connectionString), reseedConnectionString: pulumi.secret(reseedConnectionString) },
      signingCertificate: { path: SIGNING_PFX },
      redisConnection: pulumi.secret(`redis.invalid:6379,password=${REDIS_SECRET}`),
      docker: {
        build: { context: shellContext },
        httpPort,
        bindAddress: "127.0.0.1",
        https: { port: httpsPort, certificate: { path: tlsPfx, password: pulumi.secret(TLS_PASSWORD) } },
      },
      additionalSettings: { AllowedHosts: "*", Smtp: { Host: "smtp.invalid", Password: pulumi.secret(SMTP_SECRET) } },
      environment: { Logging__LogLevel__Default: "Information" },
      overrides: ["Logging__LogLevel__Default"],
      readiness: { timeoutSeconds: 120, caCertificate: ca.certificatePem },
    });
    const result: RunResult = await executor.run(program(SECRET_NAME, args));
    // The gate got discovery and a token over HTTPS: Kestrel loaded the certificate with the password from the file,
    // the service seeded the client from the file's Clients and reached the database with the file's connection string.
    assert.equal(result.outputs.url, `https://localhost:${httpsPort}`);
    const clientSecret = String(result.outputs.clientSecret);
    const id = containerOf(executor, SECRET_NAME);

    const inspected = await inspect(id);
    const shown = JSON.stringify(inspected);
    const secrets: Record<string, string> = {
      "the connection string": connectionString,
      "the database password": env.password,
      "the client secret": clientSecret,
      "the Redis connection's password": REDIS_SECRET,
      "the Kestrel certificate's password": TLS_PASSWORD,
      "a secret of additionalSettings": SMTP_SECRET,
    };
    for (const [what, secret] of Object.entries(secrets)) {
      assert.ok(secret.length >= 8, `${what} is long enough to be searched for`);
      assert.ok(!shown.includes(secret), `docker inspect shows ${what}`);
    }
    const environment: string[] = inspected.Config.Env;
    for (const entry of [
      `ASPNETCORE_URLS=https://+:443;http://+:80`,
      `ASPNETCORE_HTTPS_PORT=${httpsPort}`,
      "ASPNETCORE_Kestrel__Certificates__Default__Path=/app/tls-certificate.pfx",
      "ASPNETCORE_ENVIRONMENT=Production",
      "Logging__LogLevel__Default=Information",
    ]) {
      assert.ok(environment.includes(entry), `the container's environment has ${entry}`);
    }

    // The settings file the service read: every secret is there, and the user's keys next to the package's.
    const tar = (await docker(["cp", `${id}:${SETTINGS_FILE_PATH}`, "-"], {})).stdout;
    const size = parseInt(tar.slice(124, 136).replace(/\0.*$/, "").trim(), 8);
    const file = JSON.parse(tar.slice(512, 512 + size));
    assert.equal(file.DatabaseConnectionString, connectionString);
    assert.equal(JSON.parse(file.Clients)[0].Secrets[0], clientSecret);
    assert.equal(file.RedisConnection, `redis.invalid:6379,password=${REDIS_SECRET}`);
    assert.deepEqual(file.Kestrel, { Certificates: { Default: { Password: TLS_PASSWORD } } });
    assert.deepEqual(file.Smtp, { Host: "smtp.invalid", Password: SMTP_SECRET });
    assert.equal(file.AllowedHosts, "*");

    // The environment variable the overrides list allowed won over the file's Warning: the service logs at Information.
    const logs = await docker(["logs", id]);
    assert.match(logs.stdout + logs.stderr, /^info: /m, "information lines in the log");

    const health = await healthWithin(id, "healthy", 90);
    assert.equal(health?.Status, "healthy", `the default probe on a base with bash: ${JSON.stringify(health?.Log?.slice(-1))}`);
    assert.equal(health.Log.at(-1).ExitCode, 0);
  });

  it("2. reports a container unhealthy whose image has no bash for the default probe, while the service itself answers", async function () {
    const executor = new Executor({ log });
    executors.push(executor);
    const httpPort = await freePort();
    const args = (healthCheck?: string[]) => (): IdentityServiceArgs => ({
      target: DeploymentTarget.Docker,
      creatioVersion: CREATIO_VERSION,
      database: { provider: DatabaseProvider.Postgres, connectionString: pulumi.secret(connectionString), reseedConnectionString: pulumi.secret(reseedConnectionString) },
      signingCertificate: { path: SIGNING_PFX },
      docker: { build: { context: bareContext }, httpPort, bindAddress: "127.0.0.1", ...(healthCheck ? { healthCheck } : {}) },
      readiness: { timeoutSeconds: 120 },
    });
    await executor.run(program(HEALTH_NAME, args()));
    const first = containerOf(executor, HEALTH_NAME);
    // Failures count only after the start period (1 minute), then 3 in a row, 3 seconds apart.
    const health = await healthWithin(first, "unhealthy", 120);
    assert.equal(health?.Status, "unhealthy");
    assert.ok(health.FailingStreak >= 3, `failing streak ${health.FailingStreak}`);
    assert.match(JSON.stringify(health.Log.at(-1)), /bash/, "the probe's own error names what is missing");
    const listed = await docker(["ps", "--filter", "health=unhealthy", "--filter", `id=${first}`, "--format", "{{.ID}} {{.Status}}"]);
    assert.match(listed.stdout, /\(unhealthy\)/, "docker ps reports it");

    // A probe of the user's that the image can run: the container is replaced (the provider would not apply it) and healthy.
    const probe = [
      "CMD",
      "/usr/bin/node",
      "-e",
      "require('http').get('http://127.0.0.1/.well-known/openid-configuration', r => process.exit(r.statusCode === 200 ? 0 : 1)).on('error', () => process.exit(1))",
    ];
    const second = await executor.run(program(HEALTH_NAME, args(probe)));
    const container = second.operations.find(op => op.name === `${HEALTH_NAME}-container`);
    assert.equal(container?.kind, "replace", "a new health check is a new container");
    assert.deepEqual(container?.changed, ["healthcheck"]);
    const replaced = containerOf(executor, HEALTH_NAME);
    assert.notEqual(replaced, first);
    assert.equal((await healthWithin(replaced, "healthy", 90))?.Status, "healthy");

    // And a run with the same arguments changes nothing: the health check reads back as it was written.
    const third = await executor.run(program(HEALTH_NAME, args(probe)));
    assert.deepEqual(third.operations.filter(op => op.type === "docker:index/container:Container").map(op => op.kind), []);
  });
});
