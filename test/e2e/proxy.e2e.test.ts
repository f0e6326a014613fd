// The IdentityService component behind a real TLS-terminating reverse proxy, deployed to the real Docker Engine and
// PostgreSQL by the test executor. On a Docker network of the test's own: nginx (this machine's Debian package, in a
// container: test/e2e/support/proxy.ts) with a certificate from a test CA made here, terminating TLS for the service
// (`publicUrl` https://ids-proxy) and for the Creatio test double (its URL https://localhost:<port>, trusted through
// `creatio.tls.caCertificate`); Creatio's container trusts the test CA as its machine's store would. The service
// itself serves plain HTTP, published on 127.0.0.1 for the readiness gate.
// Scenarios: the first deploy, whose gate checks the issuer Creatio will see, and after which the discovery document
// and a token request through the proxy, and Creatio's health check from its container through the proxy, pass; the
// service told nothing about the proxy (forwarded headers and ForceHttpsSchemeInRequests off), which the gate refuses
// with the issuer message while the proxy indeed serves that wrong issuer; the proxy settings back; destroy.
//
// Needs: test/e2e/infra/start-docker.sh, then start-postgres.sh; nginx and openssl (tools/test-all.sh e2e installs
// them). Run from the repository root.
import { strict as assert } from "assert";
import * as crypto from "crypto";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { CreatioRuntime, DatabaseProvider, DeploymentTarget, IdentityService, IdentityServiceArgs } from "../../src";
import { CONTAINER_LABEL } from "../../src/targets/docker";
import { createScratchDatabase, ScratchDatabase } from "./infra/postgres";
import { CreatioContainer, createDockerNetwork, DockerNetwork, startCreatioContainer } from "./support/creatio";
import { docker, Executor, RunError } from "./support/executor";
import { createTestCertificates, requestThroughProxy, ReverseProxy, startReverseProxy, TestCertificates } from "./support/proxy";
import { freePort } from "../support/freePort";
import { DeploymentSuiteEnv, prepareDeploymentSuite } from "./support/prepare";
import { StandInContext, standInContext } from "./support/standInContext";

const REPO_ROOT = path.join(__dirname, "..", "..");
const SIGNING_PFX = path.join(REPO_ROOT, "test", "fixtures", "certificates", "signing.pfx");
const RUN_ID = crypto.randomBytes(3).toString("hex");
const NAME = `cis-e2e-proxy-${RUN_ID}`;
const CREATIO_USER = "Supervisor";
const CREATIO_PASSWORD = `Creatio-${crypto.randomBytes(6).toString("hex")}`;
/** The version the service and Creatio act as: ForceHttpsSchemeInRequests (8.3.1+) and Creatio's health check on .NET (8.3.2+). */
const CREATIO_VERSION = "8.3.2";
/** The proxy's name on the network, and so the host Creatio reaches the service at. */
const PROXY_HOST = "ids-proxy";
const PUBLIC_URL = `https://${PROXY_HOST}`;
/** The proxy's ports inside its container: the service's and Creatio's. */
const SERVICE_ROUTE = 443;
const CREATIO_ROUTE = 8443;
const COMMAND = "command:local:Command";

const timings: Array<[string, number]> = [];
async function timed<R>(step: string, action: () => Promise<R>): Promise<R> {
  const started = performance.now();
  try {
    return await action();
  } finally {
    timings.push([step, performance.now() - started]);
  }
}

describe("IdentityService behind a real TLS-terminating reverse proxy (nginx; real Docker and PostgreSQL; Creatio test double in its container)", function () {
  const log = process.env.E2E_EXECUTOR_LOG ? (line: string) => process.stderr.write(line + "\n") : undefined;
  let env: DeploymentSuiteEnv;
  let db: ScratchDatabase;
  let executor: Executor;
  let network: DockerNetwork;
  let certificates: TestCertificates;
  let proxy: ReverseProxy;
  let creatio: CreatioContainer;
  let standIn: StandInContext;
  let httpPort: number;
  let connectionString: string;
  let reseedConnectionString: string;
  let deployed: { clientId: string; clientSecret: string } | undefined;

  const creatioUrl = () => `https://localhost:${proxy.publishedPorts.get(CREATIO_ROUTE)}`;

  function args(overrides: Partial<IdentityServiceArgs> = {}): IdentityServiceArgs {
    return {
      target: DeploymentTarget.Docker,
      creatioVersion: CREATIO_VERSION,
      database: {
        provider: DatabaseProvider.Postgres,
        connectionString: pulumi.secret(connectionString),
        reseedConnectionString: pulumi.secret(reseedConnectionString),
      },
      signingCertificate: { path: SIGNING_PFX },
      // On the default bridge (where PostgreSQL lets containers in) and on the proxy's network; published on
      // 127.0.0.1 only, where the readiness gate reaches it.
      docker: { build: { context: standIn.path }, httpPort, bindAddress: "127.0.0.1", containerName: NAME, networks: ["bridge", network.name] },
      publicUrl: PUBLIC_URL,
      readiness: { timeoutSeconds: 120 },
      creatio: {
        url: creatioUrl(),
        username: CREATIO_USER,
        password: pulumi.secret(CREATIO_PASSWORD),
        runtime: CreatioRuntime.Net,
        tls: { caCertificate: certificates.caCertificate },
        timeoutSeconds: 90,
      },
      ...overrides,
    };
  }

  const program = (serviceArgs: IdentityServiceArgs) => () => {
    const service = new IdentityService(NAME, serviceArgs);
    return { url: service.url, publicUrl: service.publicUrl, clientId: service.clientId, clientSecret: service.clientSecret, creatioHealthCheck: service.creatioHealthCheck };
  };

  /** The discovery document as a client of the proxy gets it (the public host resolved to the proxy's published port). */
  async function discoveryThroughProxy(): Promise<Record<string, string>> {
    const response = await requestThroughProxy(proxy.publishedPorts.get(SERVICE_ROUTE)!, PUBLIC_URL, "/.well-known/openid-configuration", certificates.caCertificate);
    assert.equal(response.status, 200, response.body);
    return JSON.parse(response.body);
  }

  /** The settings file the Docker target uploads into the container (the service's settings live there, not in its environment). */
  async function containerSettings(): Promise<Record<string, unknown>> {
    const read = "process.stdout.write(require('fs').readFileSync('/app/appsettings.Production.json', 'utf8'))";
    return JSON.parse((await docker(["exec", NAME, "node", "-e", read])).stdout);
  }

  async function containerEnvironment(): Promise<string[]> {
    return JSON.parse((await docker(["inspect", "--format", "{{json .Config.Env}}", NAME])).stdout);
  }

  before(async function () {
    env = await prepareDeploymentSuite();
    db = await createScratchDatabase(env, "cis_e2e_proxy");
    const connection = (host: string) => `Server=${host};Port=${env.port};Database=${db.name};User ID=${env.user};Password=${env.password};Timeout=5;`;
    connectionString = connection(env.hostFromContainers);
    reseedConnectionString = connection(env.host);
    httpPort = await freePort();
    standIn = standInContext({ seedingRule: "empty-table", creatioVersion: CREATIO_VERSION });
    certificates = createTestCertificates([PROXY_HOST, "localhost", "127.0.0.1"]);
    network = await createDockerNetwork("cis-e2e-proxy");
    creatio = await startCreatioContainer({
      network: network.name,
      alias: "creatio",
      runtime: CreatioRuntime.Net,
      version: CREATIO_VERSION,
      users: { [CREATIO_USER]: CREATIO_PASSWORD },
      identityServiceTimeoutMs: 20000,
      trustedCaCertificate: certificates.caCertificate,
    });
    proxy = await startReverseProxy({
      network: network.name,
      aliases: [PROXY_HOST],
      routes: [
        { listen: SERVICE_ROUTE, upstream: `http://${NAME}:80` },
        { listen: CREATIO_ROUTE, upstream: "http://creatio:80" },
      ],
      certificates,
    });
    executor = new Executor({ log });
  });

  after(async function () {
    const removed = (await executor?.cleanup()) ?? [];
    if (removed.length > 0) console.log(`  cleanup removed: ${removed.join(", ")}`);
    await proxy?.stop();
    await creatio?.stop();
    await network?.remove();
    await db?.drop().catch(() => undefined);
    standIn?.remove();
    if (timings.length > 0) {
      const width = Math.max(...timings.map(([step]) => step.length));
      console.log("\n  timing (ms)");
      for (const [step, ms] of timings) console.log(`    ${step.padEnd(width)}  ${String(Math.round(ms)).padStart(7)}`);
    }
  });

  it("first deploy: the gate sees the issuer Creatio will see; discovery, a token and Creatio's health check pass through the proxy", async function () {
    const result = await timed("deploy + connect through the proxy", () =>
      executor.run(program(args())).catch(async (err: Error) => {
        err.message += `\nCreatio's token requests: ${JSON.stringify(await creatio.tokenRequests())}\nproxy: ${(await proxy.accessLog()).join("\n")}`;
        throw err;
      }),
    );
    deployed = { clientId: String(result.outputs.clientId), clientSecret: String(result.outputs.clientSecret) };
    assert.equal(result.outputs.url, `http://localhost:${httpPort}`);
    assert.equal(result.outputs.publicUrl, PUBLIC_URL);

    // The service was told it is behind a proxy that terminates TLS.
    const environment = await containerEnvironment();
    assert.ok(environment.includes("ASPNETCORE_FORWARDEDHEADERS_ENABLED=true"), environment.join("\n"));
    assert.equal((await containerSettings()).ForceHttpsSchemeInRequests, true);
    assert.ok(environment.includes("ASPNETCORE_URLS=http://+:80"), "the service itself serves plain HTTP");

    // The gate compared the issuer the service advertises to a request shaped as the proxy forwards Creatio's.
    const gate = JSON.parse(String(executor.resource(COMMAND, `${NAME}-readiness`)!.outputs.stdout));
    assert.equal(gate.issuer, PUBLIC_URL);
    assert.equal(gate.issuerVerified, true);

    // Through the proxy, as Creatio and any OAuth client see the service.
    const discovery = await discoveryThroughProxy();
    assert.equal(discovery.issuer, PUBLIC_URL);
    assert.equal(discovery.token_endpoint, `${PUBLIC_URL}/connect/token`);
    assert.equal(discovery.jwks_uri, `${PUBLIC_URL}/.well-known/openid-configuration/jwks`);
    const token = await requestThroughProxy(proxy.publishedPorts.get(SERVICE_ROUTE)!, PUBLIC_URL, new URL(discovery.token_endpoint).pathname, certificates.caCertificate, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ grant_type: "client_credentials", client_id: deployed.clientId, client_secret: deployed.clientSecret, scope: "get_client_info IdentityServerApi" }).toString(),
    });
    assert.equal(token.status, 200, token.body);
    assert.equal(typeof JSON.parse(token.body).access_token, "string");

    // Creatio's own calls left its container for https://ids-proxy, through the proxy, and got tokens.
    assert.deepEqual(result.outputs.creatioHealthCheck, {
      checked: true,
      hasProblem: false,
      isSystemSettingsFilledIn: true,
      isIdentityServiceAvailable: true,
      isAccessTokenRetrievableForSystemActions: true,
      isDefaultResourceRegistered: true,
    });
    const tokens = await creatio.tokenRequests();
    assert.deepEqual([...new Set(tokens.map(t => t.purpose))].sort(), ["AddDefaultResource", "OAuthHealthCheck"]);
    for (const request of tokens) {
      assert.equal(request.identityServiceUrl, PUBLIC_URL);
      assert.equal(request.outcome, "token", JSON.stringify(request));
    }
    const forwarded = (await proxy.accessLog()).filter(line => line.includes("/connect/token"));
    assert.ok(forwarded.length >= tokens.length + 1, forwarded.join("\n"));
    assert.ok(forwarded.every(line => / 200 host=ids-proxy proto=https$/.test(line)), forwarded.join("\n"));
  });

  it("the service told nothing about the proxy: the gate fails naming both URLs and the fix, and the proxy indeed serves the wrong issuer", async function () {
    assert.ok(deployed, "needs the first deploy");
    let failure: RunError | undefined;
    try {
      await timed("misconfigured (gate fails after its timeout)", () =>
        executor.run(program(args({ proxy: { forwardedHeaders: false }, forceHttpsSchemeInRequests: false, readiness: { timeoutSeconds: 15 } }))),
      );
    } catch (err) {
      if (!(err instanceof RunError)) throw err;
      failure = err;
    }
    assert.ok(failure, "the run must fail");
    console.log(`  the gate's message: ${failure.message.slice(failure.message.indexOf("readiness: "))}`);
    assert.match(failure.message, new RegExp(`${NAME}-readiness`));
    assert.match(
      failure.message,
      /it advertises the issuer http:\/\/ids-proxy, but Creatio is given https:\/\/ids-proxy \(publicUrl, or url without one\), and Creatio's discovery client requires the issuer to be that URL/,
    );
    assert.match(failure.message, /Host: ids-proxy, X-Forwarded-Proto: https/);
    assert.match(failure.message, /turn on forwarded headers \(proxy\.forwardedHeaders/);
    assert.ok(!failure.message.includes(deployed.clientSecret), "no secret in the failure");

    const environment = await containerEnvironment();
    assert.ok(!environment.some(line => line.startsWith("ASPNETCORE_FORWARDEDHEADERS_ENABLED=")), environment.join("\n"));
    assert.equal((await containerSettings()).ForceHttpsSchemeInRequests, false);
    // What the gate predicted is what Creatio would get through the proxy.
    const discovery = await discoveryThroughProxy();
    assert.equal(discovery.issuer, "http://ids-proxy");
    assert.equal(discovery.token_endpoint, "http://ids-proxy/connect/token");
  });

  it("with the proxy settings back, the gate and Creatio's health check pass again", async function () {
    assert.ok(deployed, "needs the first deploy");
    const result = await timed("proxy settings back", () => executor.run(program(args())));
    assert.equal((await discoveryThroughProxy()).issuer, PUBLIC_URL);
    assert.equal((result.outputs.creatioHealthCheck as { hasProblem: boolean }).hasProblem, false);
  });

  it("destroy removes the service's container and leaves the proxy's network alone", async function () {
    assert.ok(deployed, "needs a deployed stack");
    await timed("destroy", () => executor.destroy());
    assert.deepEqual(executor.state, []);
    const left = await docker(["ps", "-aq", "--filter", `label=${CONTAINER_LABEL}=${NAME}`]);
    assert.equal(left.stdout.trim(), "");
    assert.equal((await docker(["network", "inspect", "--format", "{{.Name}}", network.name])).stdout.trim(), network.name);
  });
});
