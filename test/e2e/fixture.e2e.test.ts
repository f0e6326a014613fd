// The Identity Service test double (test/fixtures/identity-service) built and run the way the vendor's
// guide runs the real service: `docker build -f Dockerfile-OAuth`, configuration in environment variables,
// the signing PFX copied into the container, HTTP published on 127.0.0.1 only. It needs Docker
// (start-docker.sh) and the PostgreSQL of start-postgres.sh, reached from containers at the bridge gateway.
import { strict as assert } from "assert";
import { execFile, execFileSync, spawn } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { promisify } from "util";
import { Client } from "pg";
import { createScratchDatabase, PostgresEnv, readPostgresEnv, ScratchDatabase, withClient } from "./infra/postgres";
import { ClientDefinition } from "../../src/configuration";
import { storedClient } from "../../src/reseed";

const execFileAsync = promisify(execFile);

const REPO_ROOT = path.join(__dirname, "..", "..");
const INFRA_DIR = path.join(__dirname, "infra");
const FIXTURE_DIR = path.join(REPO_ROOT, "test", "fixtures", "identity-service");
const RESEED_SCRIPT = path.join(REPO_ROOT, "src", "scripts", "reseed.js");
const IMAGE = "creatio-identity-service-e2e/identity-service:local";
const LABEL_KEY = "creatio-identity-service-e2e";
/** Containers of this run only: stop.sh removes every container with LABEL_KEY. */
const RUN_LABEL = `${LABEL_KEY}=run-${process.pid}-${crypto.randomBytes(3).toString("hex")}`;
const READY_TIMEOUT_MS = 30_000;

const CLIENT_ID = "E2eSystemClient1";
const SECRET = "S3cretForTheE2eTests0123456789ab";
const SCOPES = ["register_own_resource", "get_resource_list", "IdentityServerApi"];

/** A `Clients` entry, as the package renders it. */
type ClientConfig = ClientDefinition;

function systemClient(overrides: Partial<ClientConfig> = {}): ClientConfig {
  return {
    ClientId: CLIENT_ID,
    ClientName: "Creatio system client (e2e)",
    Secrets: [SECRET],
    AllowedGrantTypes: ["implicit", "client_credentials"],
    RedirectUris: ["http://creatio.test", "http://creatio.test/lib", "http://creatio.test/lib/"],
    PostLogoutRedirectUris: ["http://creatio.test"],
    IdentityTokenLifetime: 300,
    AccessTokenLifetime: 1234,
    AllowedScopes: SCOPES,
    ...overrides,
  };
}

async function docker(args: string[], options: { env?: NodeJS.ProcessEnv; cwd?: string; timeout?: number } = {}): Promise<string> {
  try {
    const { stdout } = await execFileAsync("docker", args, { maxBuffer: 16 * 1024 * 1024, ...options });
    return stdout.trim();
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`docker ${args[0]} failed: ${(e.stderr || e.message).trim()}`);
  }
}

/** The token-signing PFX to copy in: the stand-in loads it for real, so it must be a PFX without a password. */
const SIGNING_PFX = path.join(REPO_ROOT, "test", "fixtures", "certificates", "signing.pfx");

interface Service {
  id: string;
  url: string;
}

describe("Identity Service test double in Docker", function () {
  let env: PostgresEnv;
  let tmp: string;
  let pfx: string;
  let db: ScratchDatabase;
  let service: Service;

  /** The connection string as the container sees the database (through the bridge gateway). */
  const containerConnectionString = (database: string) =>
    `Server=${env.hostFromContainers};Port=${env.port};Database=${database};User ID=${env.user};Password=${env.password};Timeout=5;`;

  /**
   * docker create + cp + start. Values go through the docker CLI's environment (`-e NAME`), so secrets are
   * not on its command line. `certificate: false` starts without copying the PFX in.
   */
  async function startService(options: { database: string; clients: ClientConfig[]; certificate?: string | false; logLevel?: string }): Promise<string> {
    const settings: Record<string, string> = {
      DbProvider: "Postgres",
      DatabaseConnectionString: containerConnectionString(options.database),
      PostgresConnection: containerConnectionString(options.database),
      Clients: JSON.stringify(options.clients),
      X509CertificatePath: "/app/openssl.pfx",
      Logging__LogLevel__Default: options.logLevel ?? "Debug",
      ASPNETCORE_URLS: "http://+:80",
      // The stand-in acts as 8.3.1+, where the vendor's default (true) would advertise https on this plain HTTP port.
      ForceHttpsSchemeInRequests: "false",
    };
    const args = ["create", "--label", RUN_LABEL, "-p", "127.0.0.1::80"];
    for (const name of Object.keys(settings)) args.push("-e", name);
    const id = await docker([...args, IMAGE], { env: { ...process.env, ...settings } });
    const certificate = options.certificate === undefined ? pfx : options.certificate;
    if (certificate) await docker(["cp", certificate, `${id}:/app/openssl.pfx`]);
    await docker(["start", id]);
    return id;
  }

  async function urlOf(id: string): Promise<string> {
    const mapping = (await docker(["port", id, "80/tcp"])).split("\n")[0]; // "127.0.0.1:49153"
    assert.match(mapping, /^127\.0\.0\.1:\d+$/, "the port must be published on loopback only");
    return `http://${mapping}`;
  }

  /** Polls discovery until it answers 200; fails early, with the logs, when the container stops. */
  async function waitReady(id: string): Promise<Service> {
    const url = await urlOf(id);
    const deadline = Date.now() + READY_TIMEOUT_MS;
    let last = "";
    while (Date.now() < deadline) {
      try {
        const res = await fetch(`${url}/.well-known/openid-configuration`, { signal: AbortSignal.timeout(2000) });
        if (res.status === 200) return { id, url };
        last = `HTTP ${res.status}`;
      } catch (err) {
        last = (err as Error).message;
      }
      if ((await docker(["inspect", "-f", "{{.State.Running}}", id])) !== "true") break;
      await new Promise((r) => setTimeout(r, 250));
    }
    throw new Error(`service ${id.slice(0, 12)} not ready (${last}); logs:\n${await logsOf(id)}`);
  }

  async function logsOf(id: string): Promise<string> {
    const { stdout, stderr } = await execFileAsync("docker", ["logs", id]);
    return stdout + stderr;
  }

  async function exitCodeOf(id: string): Promise<number> {
    return Number(await docker(["wait", id], { timeout: READY_TIMEOUT_MS }));
  }

  function requestToken(url: string, form: Record<string, string>): Promise<Response> {
    return fetch(`${url}/connect/token`, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams(form).toString(),
    });
  }

  const credentials = (secret = SECRET, clientId = CLIENT_ID) => ({ client_id: clientId, client_secret: secret, grant_type: "client_credentials" });

  async function countRows(database: ScratchDatabase, clientId: string): Promise<{ clients: number; secrets: number }> {
    return withClient(database.config, async (c: Client) => {
      const clients = await c.query(`SELECT count(*)::int AS n FROM "Clients" WHERE "ClientId" = $1`, [clientId]);
      const secrets = await c.query(
        `SELECT count(*)::int AS n FROM "ClientSecrets" s JOIN "Clients" cl ON cl."Id" = s."ClientId" WHERE cl."ClientId" = $1`,
        [clientId],
      );
      return { clients: clients.rows[0].n, secrets: secrets.rows[0].n };
    });
  }

  before(async function () {
    env = readPostgresEnv();
    if (!env.hostFromContainers) {
      throw new Error("PGHOST_FROM_CONTAINERS is missing: run test/e2e/infra/start-docker.sh, then start-postgres.sh again");
    }
    await docker(["version", "--format", "{{.Server.Version}}"]).catch(() => {
      throw new Error("Docker does not answer: run test/e2e/infra/start-docker.sh first");
    });
    execFileSync("bash", [path.join(INFRA_DIR, "build-base-image.sh")], { stdio: ["ignore", "ignore", "inherit"] });
    await docker(["build", "-q", "-f", "Dockerfile-OAuth", "-t", IMAGE, "--label", `${LABEL_KEY}=1`, "."], {
      cwd: FIXTURE_DIR,
      env: { ...process.env, DOCKER_BUILDKIT: "0" },
    });
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "cis-e2e-fixture-"));
    pfx = SIGNING_PFX;
    db = await createScratchDatabase(env, "cis_e2e_fixture");
    service = await waitReady(await startService({ database: db.name, clients: [systemClient()] }));
  });

  after(async function () {
    const ids = (await docker(["ps", "-aq", "--filter", `label=${RUN_LABEL}`]).catch(() => "")).split("\n").filter(Boolean);
    if (ids.length > 0) await docker(["rm", "-f", ...ids]).catch(() => undefined);
    await db?.drop().catch(() => undefined);
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it("publishes discovery with the issuer taken from the request's Host", async () => {
    const res = await fetch(`${service.url}/.well-known/openid-configuration`);
    assert.equal(res.status, 200);
    const doc = (await res.json()) as Record<string, unknown>;
    assert.equal(doc.issuer, service.url);
    assert.equal(doc.token_endpoint, `${service.url}/connect/token`);
    assert.ok((doc.grant_types_supported as string[]).includes("client_credentials"));
    // The API scopes the stand-in seeds (the vendor's list), then offline_access, as IdentityServer4 lists them.
    const supported = doc.scopes_supported as string[];
    for (const scope of SCOPES) assert.ok(supported.includes(scope), scope);
    assert.equal(supported[supported.length - 1], "offline_access");
    const root = await fetch(`${service.url}/`);
    assert.equal(root.status, 200);
    assert.match(await root.text(), /running/);
  });

  it("issues a token for the right secret and answers invalid_client for a wrong one", async () => {
    const ok = await requestToken(service.url, credentials());
    assert.equal(ok.status, 200);
    const token = (await ok.json()) as Record<string, unknown>;
    assert.equal(typeof token.access_token, "string");
    assert.ok((token.access_token as string).length >= 32);
    assert.equal(token.token_type, "Bearer");
    assert.equal(token.expires_in, 1234, "expires_in is the client's AccessTokenLifetime");

    const wrong = await requestToken(service.url, credentials("not-the-secret-not-the-secret-00"));
    assert.equal(wrong.status, 400);
    assert.deepEqual(await wrong.json(), { error: "invalid_client" });
    const unknown = await requestToken(service.url, credentials(SECRET, "NoSuchClient0000"));
    assert.deepEqual(await unknown.json(), { error: "invalid_client" });
    const password = await requestToken(service.url, { ...credentials(), grant_type: "password" });
    assert.equal(password.status, 400);
    assert.deepEqual(await password.json(), { error: "unauthorized_client" }, "a client without the password grant");
  });

  it("stores the client as IdentityServer4 does, with non-cascading foreign keys", async () => {
    await withClient(db.config, async (c) => {
      const secret = await c.query(
        `SELECT s."Value", s."Type" FROM "ClientSecrets" s JOIN "Clients" cl ON cl."Id" = s."ClientId" WHERE cl."ClientId" = $1`,
        [CLIENT_ID],
      );
      assert.deepEqual(secret.rows, [{ Value: crypto.createHash("sha256").update(SECRET).digest("base64"), Type: "SharedSecret" }]);
      const fks = await c.query(
        `SELECT conrelid::regclass::text AS child, confdeltype FROM pg_constraint
          WHERE contype = 'f' AND confrelid = '"Clients"'::regclass ORDER BY 1`,
      );
      assert.equal(fks.rowCount, 9);
      for (const fk of fks.rows) assert.equal(fk.confdeltype, "a", `${fk.child} must not cascade`);
    });
  });

  it("logs neither the secret nor the database password, even at Debug level", async () => {
    const logs = await logsOf(service.id);
    assert.match(logs, /client E2eSystemClient1 inserted/);
    assert.ok(!logs.includes(SECRET), "secret in the logs");
    assert.ok(!logs.includes(env.password), "database password in the logs");
  });

  it("does not insert the client twice when a second container starts with the same configuration", async () => {
    await docker(["stop", "-t", "5", service.id]);
    assert.equal(await exitCodeOf(service.id), 0, "SIGTERM ends the service cleanly");
    const second = await waitReady(await startService({ database: db.name, clients: [systemClient()] }));
    assert.deepEqual(await countRows(db, CLIENT_ID), { clients: 1, secrets: 1 });
    assert.equal((await requestToken(second.url, credentials())).status, 200);
    assert.match(await logsOf(second.id), /client E2eSystemClient1 already exists|the Clients table has rows: configured clients not applied/);
    service = second;
  });

  it("ignores a changed client until reseed.js replaced the stored one, then applies it; accepts a second secret at once", async () => {
    const own = await createScratchDatabase(env, "cis_e2e_fixture_reseed");
    try {
      const newSecret = "AnotherSecretForE2eTests98765432";
      const rotatedSecret = "RotatedSecretForE2eTests12345678";
      const v1 = systemClient();
      const v2 = systemClient({ Secrets: [newSecret], AccessTokenLifetime: 600 });
      const v3 = systemClient({ Secrets: [rotatedSecret], AccessTokenLifetime: 600 });
      const hostConnectionString = `Server=${env.host};Port=${env.port};Database=${own.name};User ID=${env.user};Password=${env.password};`;
      const reseed = (action: "prepare" | "retire", client: ClientConfig, previousStdout?: string) =>
        runReseed({ action, connectionString: hostConnectionString, client: storedClient(client) }, previousStdout);

      // Deploy 1: no tables yet, nothing to delete; the service inserts the client.
      const first = await reseed("prepare", v1);
      assert.equal(JSON.parse(first).deletedClients, 0);
      const s1 = await waitReady(await startService({ database: own.name, clients: [v1] }));
      assert.equal((await requestToken(s1.url, credentials())).status, 200);
      await docker(["rm", "-f", s1.id]);

      // The vendor's behaviour: a changed client alone has no effect on restart.
      const stale = await waitReady(await startService({ database: own.name, clients: [v2] }));
      assert.equal((await requestToken(stale.url, credentials(newSecret))).status, 400);
      assert.equal((await requestToken(stale.url, credentials())).status, 200);
      await docker(["rm", "-f", stale.id]);

      // Deploy 2: reseed.js finds the stored client differing from v2 and replaces it in place; the restarted service uses v2.
      const second = await reseed("prepare", v2, first);
      assert.equal(JSON.parse(second).deletedClients, 0);
      assert.equal(JSON.parse(second).updatedClients, 1);
      assert.notEqual(JSON.parse(second).restartToken, "");
      const s2 = await waitReady(await startService({ database: own.name, clients: [v2] }));
      const ok = await requestToken(s2.url, credentials(newSecret));
      assert.equal(ok.status, 200);
      assert.equal(((await ok.json()) as { expires_in: number }).expires_in, 600);
      assert.equal((await requestToken(s2.url, credentials())).status, 400);
      assert.deepEqual(await countRows(own, CLIENT_ID), { clients: 1, secrets: 1 });

      // Deploy 3 with the same client: nothing is deleted, the restart token stays.
      const third = await reseed("prepare", v2, second);
      assert.equal(JSON.parse(third).deletedClients, 0);
      assert.equal(JSON.parse(third).restartToken, JSON.parse(second).restartToken);
      assert.deepEqual(await countRows(own, CLIENT_ID), { clients: 1, secrets: 1 });

      // Deploy 4, only the secret rotated: added as a second secret, which the running service accepts at once
      // next to the old one; retiring removes the old one.
      assert.equal(JSON.parse(await reseed("prepare", v3, third)).addedSecrets, 1);
      assert.equal((await requestToken(s2.url, credentials(rotatedSecret))).status, 200);
      assert.equal((await requestToken(s2.url, credentials(newSecret))).status, 200);
      assert.equal(JSON.parse(await reseed("retire", v3)).retiredSecrets, 1);
      assert.equal((await requestToken(s2.url, credentials(rotatedSecret))).status, 200);
      assert.equal((await requestToken(s2.url, credentials(newSecret))).status, 400);
      assert.deepEqual(await countRows(own, CLIENT_ID), { clients: 1, secrets: 1 });
      await docker(["rm", "-f", s2.id]);
    } finally {
      await own.drop();
    }
  });

  it("refuses to start without a PFX at X509CertificatePath", async () => {
    const id = await startService({ database: db.name, clients: [systemClient()], certificate: false });
    assert.notEqual(await exitCodeOf(id), 0);
    assert.match(await logsOf(id), /X509CertificatePath: Could not find file '\/app\/openssl\.pfx'/);
  });

  it("refuses to start when the file at X509CertificatePath is not a PFX", async () => {
    const notPfx = path.join(tmp, "not-a.pfx");
    fs.writeFileSync(notPfx, "-----BEGIN CERTIFICATE-----\n");
    const id = await startService({ database: db.name, clients: [systemClient()], certificate: notPfx });
    assert.notEqual(await exitCodeOf(id), 0);
    assert.match(await logsOf(id), /is not a PKCS#12 \(PFX\) file/);
  });
});

/** Runs reseed.js the way the command provider does; resolves with its stdout, rejects with its stderr. */
function runReseed(stdin: object, previousStdout?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, RESEED_DB_PROVIDER: "Postgres" };
    if (previousStdout !== undefined) env.PULUMI_COMMAND_STDOUT = previousStdout;
    const child = spawn(process.execPath, [RESEED_SCRIPT], { env, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code) => (code === 0 ? resolve(stdout) : reject(new Error(`reseed.js exited ${code}: ${stderr}`))));
    child.stdin.end(JSON.stringify(stdin));
  });
}
