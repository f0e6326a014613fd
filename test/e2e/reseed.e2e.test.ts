// src/scripts/reseed.js against a real PostgreSQL (from test/e2e/infra/start-postgres.sh), run the way
// the command provider runs it: env RESEED_DB_PROVIDER and PULUMI_COMMAND_STDOUT, JSON on stdin, one JSON
// line on stdout. Every test works in its own scratch database.
import { strict as assert } from "assert";
import { spawn } from "child_process";
import * as crypto from "crypto";
import * as net from "net";
import * as path from "path";
import { Client } from "pg";
import { createScratchDatabase, PostgresEnv, readPostgresEnv, ScratchDatabase, withClient } from "./infra/postgres";

const scriptPath = path.join(__dirname, "..", "..", "src", "scripts", "reseed.js");

const hash = (text: string) => crypto.createHash("sha256").update(text).digest("hex");
const OLD_ID = "OldClientId00001";
const NEW_ID = "NewClientId00002";
const OTHER_ID = "OtherClient00003";
const OLD_HASH = hash("old clients json");
const NEW_HASH = hash("new clients json");

/** IdentityServer4's client child tables (a subset) with the column each stores. */
const CHILD_TABLES: Array<[string, string]> = [
  ["ClientSecrets", "Value"],
  ["ClientScopes", "Scope"],
  ["ClientGrantTypes", "GrantType"],
  ["ClientRedirectUris", "RedirectUri"],
  ["ClientPostLogoutRedirectUris", "PostLogoutRedirectUri"],
  ["ClientClaims", "Type"],
];

/** Tables shaped like IdentityServer4's; foreign keys without ON DELETE CASCADE unless listed in `cascade`. */
async function createTables(c: Client, cascade: string[] = []): Promise<void> {
  await c.query(`CREATE TABLE "Clients" (
    "Id" serial PRIMARY KEY, "ClientId" varchar(200) NOT NULL UNIQUE, "ClientName" varchar(200),
    "AccessTokenLifetime" int NOT NULL DEFAULT 3600, "IdentityTokenLifetime" int NOT NULL DEFAULT 300)`);
  for (const [table, column] of CHILD_TABLES) {
    const onDelete = cascade.includes(table) ? "ON DELETE CASCADE" : "";
    await c.query(`CREATE TABLE "${table}" (
      "Id" serial PRIMARY KEY, "ClientId" int NOT NULL REFERENCES "Clients"("Id") ${onDelete}, "${column}" text NOT NULL)`);
  }
  // Not a client table: must be left alone.
  await c.query(`CREATE TABLE "ApiScopes" ("Id" serial PRIMARY KEY, "Name" text NOT NULL)`);
  await c.query(`INSERT INTO "ApiScopes" ("Name") VALUES ('IdentityServerApi')`);
}

async function insertClient(c: Client, clientId: string): Promise<void> {
  const { rows } = await c.query(`INSERT INTO "Clients" ("ClientId", "ClientName") VALUES ($1, $1) RETURNING "Id"`, [clientId]);
  for (const [table, column] of CHILD_TABLES) {
    for (const value of ["a", "b"]) {
      await c.query(`INSERT INTO "${table}" ("ClientId", "${column}") VALUES ($1, $2)`, [rows[0].Id, `${clientId}-${value}`]);
    }
  }
}

/** Row counts per table for one client id (by joining through "Clients"). */
async function rowsOf(c: Client, clientId: string): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  const clients = await c.query(`SELECT count(*)::int AS n FROM "Clients" WHERE "ClientId" = $1`, [clientId]);
  counts.Clients = clients.rows[0].n;
  for (const [table] of CHILD_TABLES) {
    const r = await c.query(
      `SELECT count(*)::int AS n FROM "${table}" t JOIN "Clients" cl ON cl."Id" = t."ClientId" WHERE cl."ClientId" = $1`,
      [clientId],
    );
    counts[table] = r.rows[0].n;
  }
  return counts;
}

const FULL = { Clients: 1, ...Object.fromEntries(CHILD_TABLES.map(([t]) => [t, 2])) };
const NONE = { Clients: 0, ...Object.fromEntries(CHILD_TABLES.map(([t]) => [t, 0])) };

async function totalChildRows(c: Client): Promise<number> {
  let total = 0;
  for (const [table] of CHILD_TABLES) total += (await c.query(`SELECT count(*)::int AS n FROM "${table}"`)).rows[0].n;
  return total;
}

interface ScriptResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runReseed(stdin: object, previousStdout?: string): Promise<ScriptResult> {
  return new Promise((resolve, reject) => {
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, RESEED_DB_PROVIDER: "Postgres" };
    if (previousStdout !== undefined) env.PULUMI_COMMAND_STDOUT = previousStdout;
    const child = spawn(process.execPath, [scriptPath], { env, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(JSON.stringify(stdin));
  });
}

function parseStdout(result: ScriptResult): { clientId: string; clientHash: string; deletedClients: number } {
  assert.equal(result.code, 0, `reseed.js failed: ${result.stderr}`);
  const lines = result.stdout.split("\n").filter(Boolean);
  assert.equal(lines.length, 1, `expected one line on stdout, got: ${result.stdout}`);
  return JSON.parse(lines[0]);
}

describe("reseed.js against PostgreSQL", function () {
  let env: PostgresEnv;
  let db: ScratchDatabase;
  let client: Client;

  /** An Npgsql-style connection string, quoted the ADO.NET way. */
  const connectionString = (password = env.password) =>
    `Server=${env.host};Port=${env.port};Database=${db.name};User ID=${env.user};Password="${password.replace(/"/g, '""')}";Timeout=5;`;

  before(() => {
    env = readPostgresEnv();
  });

  beforeEach(async () => {
    db = await createScratchDatabase(env, "cis_e2e_reseed");
    client = new Client(db.config);
    await client.connect();
  });

  afterEach(async () => {
    await client?.end().catch(() => undefined);
    await db?.drop();
  });

  it("succeeds without touching anything on a first deploy, before the service created its tables", async () => {
    const out = parseStdout(await runReseed({ connectionString: connectionString(), clientId: NEW_ID, clientHash: NEW_HASH }));
    assert.deepEqual(out, { clientId: NEW_ID, clientHash: NEW_HASH, deletedClients: 0 });
    const tables = await client.query(`SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = 'public'`);
    assert.equal(tables.rows[0].n, 0);
  });

  it("deletes the old and the new client with their child rows through non-cascading foreign keys", async () => {
    await createTables(client);
    for (const id of [OLD_ID, NEW_ID, OTHER_ID]) await insertClient(client, id);
    const previous = JSON.stringify({ clientId: OLD_ID, clientHash: OLD_HASH, deletedClients: 0 });

    const out = parseStdout(await runReseed({ connectionString: connectionString(), clientId: NEW_ID, clientHash: NEW_HASH }, previous));

    assert.deepEqual(out, { clientId: NEW_ID, clientHash: NEW_HASH, deletedClients: 2 });
    assert.deepEqual(await rowsOf(client, OLD_ID), NONE);
    assert.deepEqual(await rowsOf(client, NEW_ID), NONE);
    assert.deepEqual(await rowsOf(client, OTHER_ID), FULL);
    assert.equal(await totalChildRows(client), CHILD_TABLES.length * 2, "only the unrelated client's child rows remain");
    assert.equal((await client.query(`SELECT count(*)::int AS n FROM "ApiScopes"`)).rows[0].n, 1);
  });

  it("deletes nothing when the client hash is unchanged (only the connection string changed)", async () => {
    await createTables(client);
    for (const id of [NEW_ID, OTHER_ID]) await insertClient(client, id);
    const previous = JSON.stringify({ clientId: NEW_ID, clientHash: NEW_HASH, deletedClients: 1 });

    const out = parseStdout(await runReseed({ connectionString: connectionString(), clientId: NEW_ID, clientHash: NEW_HASH }, previous));

    assert.equal(out.deletedClients, 0);
    assert.deepEqual(await rowsOf(client, NEW_ID), FULL);
    assert.deepEqual(await rowsOf(client, OTHER_ID), FULL);
  });

  it("fails with a message naming host and database, not the password, and deletes nothing on a wrong password", async () => {
    await createTables(client);
    await insertClient(client, NEW_ID);
    const wrongPassword = `wrong-${env.password}-x`;

    const result = await runReseed({ connectionString: connectionString(wrongPassword), clientId: NEW_ID, clientHash: NEW_HASH });

    assert.notEqual(result.code, 0);
    assert.equal(result.stdout, "");
    assert.match(result.stderr, new RegExp(`authentication failed on the Postgres database "${db.name}" at ${env.host.replace(/\./g, "\\.")}:${env.port}`));
    assert.match(result.stderr, /Check the user and password/);
    assert.ok(!result.stderr.includes(wrongPassword), result.stderr);
    assert.ok(!result.stderr.includes(env.password), result.stderr);
    assert.deepEqual(await rowsOf(client, NEW_ID), FULL);
  });

  it("fails naming the missing DELETE permission, and deletes nothing, when the user may not delete", async () => {
    await createTables(client);
    for (const id of [OLD_ID, NEW_ID]) await insertClient(client, id);
    // An owner may revoke its own privileges: the table becomes read-only for the role the script connects as.
    await client.query(`REVOKE DELETE ON "ClientSecrets" FROM CURRENT_USER`);
    const previous = JSON.stringify({ clientId: OLD_ID, clientHash: OLD_HASH });

    const result = await runReseed({ connectionString: connectionString(), clientId: NEW_ID, clientHash: NEW_HASH }, previous);

    assert.equal(result.code, 1);
    assert.match(result.stderr, /permission denied .*DELETE/s);
    assert.match(result.stderr, new RegExp(`"${db.name}"`));
    assert.ok(!result.stderr.includes(env.password), result.stderr);
    assert.deepEqual(await rowsOf(client, OLD_ID), FULL);
    assert.deepEqual(await rowsOf(client, NEW_ID), FULL);
  });

  it("fails naming the database and the way out when the server cannot be reached", async () => {
    const closedPort = await new Promise<number>((resolve) => {
      const server = net.createServer();
      server.listen(0, "127.0.0.1", () => {
        const { port } = server.address() as net.AddressInfo;
        server.close(() => resolve(port));
      });
    });
    const unreachable = `Server=127.0.0.1;Port=${closedPort};Database=identity;User ID=u;Password=Unreachable-Secret-1;Timeout=3;`;

    const result = await runReseed({ connectionString: unreachable, clientId: NEW_ID, clientHash: NEW_HASH });

    assert.equal(result.code, 1);
    assert.match(result.stderr, new RegExp(`cannot reach .*"identity" at 127\\.0\\.0\\.1:${closedPort}.*client\\.reseed: false`, "s"));
    assert.ok(!result.stderr.includes("Unreachable-Secret-1"), result.stderr);
  });

  it("rolls everything back when one delete fails half-way", async () => {
    await createTables(client);
    for (const id of [OLD_ID, NEW_ID]) await insertClient(client, id);
    // "ClientSecrets" is deleted after the other child tables (they go in name order): make it fail.
    await client.query(`CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN RAISE EXCEPTION 'secrets are read-only in this test'; END $$`);
    await client.query(`CREATE TRIGGER refuse BEFORE DELETE ON "ClientSecrets" FOR EACH ROW EXECUTE FUNCTION refuse()`);
    const previous = JSON.stringify({ clientId: OLD_ID, clientHash: OLD_HASH });

    const result = await runReseed({ connectionString: connectionString(), clientId: NEW_ID, clientHash: NEW_HASH }, previous);

    assert.equal(result.code, 1);
    assert.match(result.stderr, /secrets are read-only in this test.*rolled back/s);
    assert.deepEqual(await rowsOf(client, OLD_ID), FULL);
    assert.deepEqual(await rowsOf(client, NEW_ID), FULL);
  });

  it("also works when some child tables cascade (as in IdentityServer4's own migrations)", async () => {
    await createTables(client, ["ClientSecrets", "ClientScopes", "ClientClaims"]);
    for (const id of [NEW_ID, OTHER_ID]) await insertClient(client, id);

    const out = parseStdout(await runReseed({ connectionString: connectionString(), clientId: NEW_ID, clientHash: NEW_HASH }));

    assert.equal(out.deletedClients, 1);
    assert.deepEqual(await rowsOf(client, NEW_ID), NONE);
    assert.deepEqual(await rowsOf(client, OTHER_ID), FULL);
    assert.equal(await totalChildRows(client), CHILD_TABLES.length * 2);
  });

  it("finds the tables through the connection's search path", async () => {
    await client.query(`CREATE SCHEMA identity`);
    await client.query(`SET search_path = identity`);
    await createTables(client);
    await insertClient(client, NEW_ID);
    await withClient(db.config, async (other) => {
      const out = parseStdout(
        await runReseed({ connectionString: `${connectionString()}Search Path=identity;`, clientId: NEW_ID, clientHash: NEW_HASH }),
      );
      assert.equal(out.deletedClients, 1);
      const left = await other.query(`SELECT count(*)::int AS n FROM identity."Clients"`);
      assert.equal(left.rows[0].n, 0);
    });
  });
});
