// Taking over an install made by hand (docs/operations.md, "Taking over an install made by hand"), the Docker
// procedure end to end on the real Docker Engine and PostgreSQL: an Identity Service installed as the vendor's guide
// installs it (the image built with `docker build -f ./Dockerfile-OAuth .`, started with `docker run`, its
// `appsettings.json` naming the database, the client in `Clients` and the signing PFX in `X509CertificatePath`) is
// replaced by the component deployed next to it with that client and that PFX; the old container is removed and the
// new service keeps serving the old credentials and the old key. A second run changes nothing.
//
// Image: the stand-in Identity Service (test/fixtures/identity-service), seeding its clients only into an empty
// "Clients" table, so that the new service finds the hand-made install's rows and only re-seeding can bring them to
// the new configuration. The stand-in's access tokens are opaque (its README, "Where it deliberately differs"), so a
// token's signature cannot be checked: what lets the old install's tokens keep validating is the key set, which must
// be the same key under the same `kid`.
//
// Needs: test/e2e/infra/start-docker.sh, then start-postgres.sh.
import { strict as assert } from "assert";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { DatabaseProvider, DeploymentTarget, IdentityService, IdentityServiceArgs } from "../../src";
import { openPfx } from "../../src/certificates";
import { DEFAULT_CLIENT_NAME } from "../../src/configuration";
import { createScratchDatabase, ScratchDatabase, withClient } from "./infra/postgres";
import { docker, Executor, RunResult } from "./support/executor";
import { freePort } from "../support/freePort";
import { DeploymentSuiteEnv, prepareDeploymentSuite } from "./support/prepare";
import { StandInContext, standInContext } from "./support/standInContext";

const CREATIO_VERSION = "8.2.3";
const SIGNING_PFX = path.join(__dirname, "..", "fixtures", "certificates", "signing.pfx");
const E2E_LABEL = "creatio-identity-service-e2e";
const RUN_ID = crypto.randomBytes(3).toString("hex");
/** The container the administrator started by hand, and the image they built. */
const MANUAL_CONTAINER = `cis-e2e-takeover-manual-${RUN_ID}`;
const MANUAL_IMAGE = `${E2E_LABEL}/takeover-manual-${RUN_ID}:local`;
/** Where the hand-made install keeps its signing PFX, relative to the service's folder (/app). */
const MANUAL_PFX_PATH = "certificates/signing.pfx";
/** The component's name: its container is `${NAME}-container`, another name than the hand-made one. */
const NAME = `cis-e2e-takeover-${RUN_ID}`;

/** The client the administrator wrote into `Clients` (16 and 32 characters, as the guide asks). */
const HAND_MADE_CLIENT = {
  id: `takeover${crypto.randomBytes(4).toString("hex")}`,
  secret: crypto.randomBytes(24).toString("base64url"),
};

/** The Creatio URL of the hand-made client's redirect URIs. */
const CREATIO_URL = "https://creatio.example";
/** The hand-made client's name, the vendor's example; the component names its client `client.name` (default "Creatio"). */
const HAND_MADE_CLIENT_NAME = "My Identity Service App";

/** The vendor's example `Clients` entry, as an administrator fills it in for a Creatio at `creatioUrl`. */
function handMadeClients(creatioUrl: string): string {
  return JSON.stringify([
    {
      ClientId: HAND_MADE_CLIENT.id,
      ClientName: HAND_MADE_CLIENT_NAME,
      Secrets: [HAND_MADE_CLIENT.secret],
      AllowedGrantTypes: ["implicit", "client_credentials"],
      RedirectUris: [creatioUrl, `${creatioUrl}/lib`, `${creatioUrl}/lib/`],
      PostLogoutRedirectUris: [creatioUrl],
      IdentityTokenLifetime: 300,
      AccessTokenLifetime: 3600,
      AllowedScopes: ["register_own_resource", "get_resource_list", "get_client_info", "find_clients", "remove_client", "update_client", "add_registrar_client", "IdentityServerApi"],
    },
  ]);
}

interface JsonWebKey {
  kid: string;
  kty: string;
  n: string;
  e: string;
  x5c: string[];
}

/** One HTTP exchange, its JSON body parsed. A connection closed before any answer is retried for up to 3 s. */
async function exchange(url: string, init: RequestInit = {}): Promise<{ status: number; body: Record<string, unknown> }> {
  for (let attempt = 0; ; attempt++) {
    try {
      const response = await fetch(url, { ...init, signal: AbortSignal.timeout(5000) });
      return { status: response.status, body: (await response.json()) as Record<string, unknown> };
    } catch (err) {
      const code = (err as { cause?: { code?: string } }).cause?.code;
      if (!(code === "UND_ERR_SOCKET" || code === "ECONNRESET") || attempt >= 10) throw err;
      await new Promise(resolve => setTimeout(resolve, 300));
    }
  }
}

function requestToken(url: string, clientId: string, clientSecret: string) {
  return exchange(`${url}/connect/token`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ grant_type: "client_credentials", client_id: clientId, client_secret: clientSecret }),
  });
}

async function keySet(url: string): Promise<JsonWebKey[]> {
  const { status, body } = await exchange(`${url}/.well-known/openid-configuration/jwks`);
  assert.equal(status, 200, `${url} serves its key set`);
  return body.keys as JsonWebKey[];
}

/** Waits until the service at `url` serves its discovery document; on a timeout, fails with the container's log. */
async function waitUntilServing(url: string, container: string, timeoutMs = 60000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const status = await fetch(`${url}/.well-known/openid-configuration`, { signal: AbortSignal.timeout(3000) })
      .then(response => response.status)
      .catch(() => undefined);
    if (status === 200) return;
    if (performance.now() >= deadline) {
      const logs = await docker(["logs", "--tail", "20", container], { allowFailure: true });
      throw new Error(`${container} did not serve its discovery document within ${timeoutMs / 1000} s:\n${logs.stdout}${logs.stderr}`);
    }
    await new Promise(resolve => setTimeout(resolve, 500));
  }
}

describe("Taking over an install made by hand with docker run: the documented procedure on the real Docker Engine", function () {
  let env: DeploymentSuiteEnv;
  let db: ScratchDatabase;
  let standIn: StandInContext;
  let settingsDir: string | undefined;
  let manualUrl: string;
  let manualToken: string;
  let manualKeys: JsonWebKey[];
  let newUrl: string;
  let tookOver = false;
  const executor = new Executor({ log: process.env.E2E_EXECUTOR_LOG ? (line: string) => process.stderr.write(line + "\n") : undefined });

  const connection = (host: string) => `Server=${host};Port=${env.port};Database=${db.name};User ID=${env.user};Password=${env.password};Timeout=5;`;

  /** Step 2 of the procedure: the client and the PFX read from the hand-made install, another container name and port. */
  const args = (httpPort: number): IdentityServiceArgs => ({
    target: DeploymentTarget.Docker,
    creatioVersion: CREATIO_VERSION,
    database: {
      provider: DatabaseProvider.Postgres,
      connectionString: pulumi.secret(connection(env.hostFromContainers)),
      reseedConnectionString: pulumi.secret(connection(env.host)),
    },
    client: { id: HAND_MADE_CLIENT.id, secret: pulumi.secret(HAND_MADE_CLIENT.secret), creatioUrl: CREATIO_URL },
    signingCertificate: { path: SIGNING_PFX },
    docker: { build: { context: standIn.path }, httpPort, bindAddress: "127.0.0.1" },
    readiness: { timeoutSeconds: 120 },
  });
  let newPort: number;
  const program = () => () => {
    const service = new IdentityService(NAME, args(newPort));
    return { url: service.url, clientId: service.clientId };
  };

  /** The client's rows in the database, as IdentityServer4's tables hold them: names, grant types, redirect URIs. */
  const clientRows = () =>
    withClient(db.config, async c => {
      const of = async (sql: string) => (await c.query(sql, [HAND_MADE_CLIENT.id])).rows.map(row => String(row.value));
      return {
        names: await of(`SELECT "ClientName" AS value FROM "Clients" WHERE "ClientId" = $1`),
        grantTypes: await of(`SELECT g."GrantType" AS value FROM "ClientGrantTypes" g JOIN "Clients" c ON c."Id" = g."ClientId" WHERE c."ClientId" = $1 ORDER BY 1`),
        redirectUris: await of(`SELECT r."RedirectUri" AS value FROM "ClientRedirectUris" r JOIN "Clients" c ON c."Id" = r."ClientId" WHERE c."ClientId" = $1 ORDER BY 1`),
      };
    });
  const HAND_MADE_ROWS = {
    grantTypes: ["client_credentials", "implicit"],
    redirectUris: [CREATIO_URL, `${CREATIO_URL}/lib`, `${CREATIO_URL}/lib/`],
  };

  before(async function () {
    env = await prepareDeploymentSuite();
    standIn = standInContext({ seedingRule: "empty-table", creatioVersion: CREATIO_VERSION });
    db = await createScratchDatabase(env, "cis_e2e_takeover");
  });

  after(async function () {
    const removed = await executor.cleanup().catch(() => []);
    if (removed.length > 0) console.log(`  cleanup removed: ${removed.join(", ")}`);
    await docker(["rm", "-f", "-v", MANUAL_CONTAINER], { allowFailure: true });
    await docker(["rmi", MANUAL_IMAGE], { allowFailure: true });
    await db?.drop().catch(() => undefined);
    standIn?.remove();
    if (settingsDir) fs.rmSync(settingsDir, { recursive: true, force: true });
  });

  it("1. an install made by hand (docker build, docker run with its appsettings.json and signing PFX) issues a token to its client", async function () {
    const port = await freePort();
    manualUrl = `http://127.0.0.1:${port}`;
    // The administrator's appsettings.json: the database, the client and the PFX's path, the rest as shipped.
    settingsDir = fs.mkdtempSync(path.join(os.tmpdir(), "cis-e2e-takeover-"));
    const shipped = JSON.parse(fs.readFileSync(path.join(standIn.path, "appsettings.json"), "utf8"));
    const settingsFile = path.join(settingsDir, "appsettings.json");
    fs.writeFileSync(
      settingsFile,
      JSON.stringify({ ...shipped, DbProvider: "Postgres", PostgresConnection: connection(env.hostFromContainers), X509CertificatePath: MANUAL_PFX_PATH, Clients: handMadeClients(CREATIO_URL) }, null, 2),
      { mode: 0o644 },
    );
    await docker(["build", "-q", "--label", `${E2E_LABEL}=1`, "-f", path.join(standIn.path, "Dockerfile-OAuth"), "-t", MANUAL_IMAGE, standIn.path], {
      env: { DOCKER_BUILDKIT: "0" },
    });
    await docker([
      "run", "-d", "--name", MANUAL_CONTAINER, "--label", `${E2E_LABEL}=1`,
      "-p", `127.0.0.1:${port}:80`,
      "-v", `${settingsFile}:/app/appsettings.json:ro`,
      "-v", `${SIGNING_PFX}:/app/${MANUAL_PFX_PATH}:ro`,
      MANUAL_IMAGE,
    ]);
    await waitUntilServing(manualUrl, MANUAL_CONTAINER);

    const token = await requestToken(manualUrl, HAND_MADE_CLIENT.id, HAND_MADE_CLIENT.secret);
    assert.equal(token.status, 200, `the hand-made install issues a token to its client: ${JSON.stringify(token.body)}`);
    manualToken = String(token.body.access_token);
    manualKeys = await keySet(manualUrl);
    assert.equal(manualKeys.length, 1);
    const pfx = openPfx(fs.readFileSync(SIGNING_PFX), undefined);
    assert.ok(pfx.ok, "the fixture opens without a password");
    const signing = new crypto.X509Certificate(pfx.certificatePem);
    assert.equal(manualKeys[0].x5c[0], signing.raw.toString("base64"), "the hand-made install signs with the mounted PFX");
    assert.deepEqual(await clientRows(), { names: [HAND_MADE_CLIENT_NAME], ...HAND_MADE_ROWS }, "the service seeded the client of its appsettings.json");
  });

  it("2. the component deployed next to it with that client and PFX serves the old credentials and the same signing key", async function () {
    assert.ok(manualToken, "step 1 ran");
    newPort = await freePort();
    const result: RunResult = await executor.run(program());
    newUrl = String(result.outputs.url);
    assert.equal(newUrl, `http://localhost:${newPort}`);
    assert.equal(result.outputs.clientId, HAND_MADE_CLIENT.id);
    const container = executor.resource("docker:index/container:Container", `${NAME}-container`);
    assert.ok(container, "the component created its own container");
    assert.notEqual(container.outputs.name, MANUAL_CONTAINER);

    const token = await requestToken(newUrl, HAND_MADE_CLIENT.id, HAND_MADE_CLIENT.secret);
    assert.equal(token.status, 200, `the old credentials get a token from the new service: ${JSON.stringify(token.body)}`);

    // The tokens the old install issued keep validating: the new service publishes the same key under the same kid.
    const newKeys = await keySet(newUrl);
    assert.deepEqual(
      newKeys.map(key => [key.kid, key.kty, key.n, key.e, key.x5c[0]]),
      manualKeys.map(key => [key.kid, key.kty, key.n, key.e, key.x5c[0]]),
    );

    // Re-seeding found the hand-made client's one row and brought it to the configuration (the component's client
    // name), keeping the implicit grant and the redirect URIs through `client.creatioUrl`; the old install reads it too.
    assert.deepEqual(await clientRows(), { names: [DEFAULT_CLIENT_NAME], ...HAND_MADE_ROWS });
    const fromOld = await requestToken(manualUrl, HAND_MADE_CLIENT.id, HAND_MADE_CLIENT.secret);
    assert.equal(fromOld.status, 200, "the old install keeps serving the re-seeded client until it is removed");
    tookOver = true;
  });

  it("3. with the old container removed, the new service still answers, and a second run changes nothing", async function () {
    assert.ok(tookOver, "step 2 passed");
    await docker(["rm", "-f", "-v", MANUAL_CONTAINER]);
    const gone = await fetch(`${manualUrl}/.well-known/openid-configuration`, { signal: AbortSignal.timeout(3000) }).then(
      () => "answered",
      () => "no answer",
    );
    assert.equal(gone, "no answer", "the hand-made install is gone");

    const discovery = await exchange(`${newUrl}/.well-known/openid-configuration`);
    assert.equal(discovery.status, 200);
    const token = await requestToken(newUrl, HAND_MADE_CLIENT.id, HAND_MADE_CLIENT.secret);
    assert.equal(token.status, 200, `the new service still issues tokens to the old client: ${JSON.stringify(token.body)}`);
    assert.deepEqual((await keySet(newUrl)).map(key => key.kid), manualKeys.map(key => key.kid));

    const again = await executor.run(program());
    assert.deepEqual(again.operations.map(op => `${op.kind} ${op.name}`), [], "the second run performs no operation");
    assert.equal((await requestToken(newUrl, HAND_MADE_CLIENT.id, HAND_MADE_CLIENT.secret)).status, 200);
  });
});
