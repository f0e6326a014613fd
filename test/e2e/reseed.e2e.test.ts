// src/scripts/reseed.js against a real PostgreSQL (from test/e2e/infra/start-postgres.sh), run the way
// the command provider runs it: env RESEED_DB_PROVIDER and PULUMI_COMMAND_STDOUT, JSON on stdin, one JSON
// line on stdout. Both steps (prepare before the service restarts, retire once the new client is in service)
// decide from the rows in the database. Every test works in its own scratch database.
import { strict as assert } from "assert";
import { spawn } from "child_process";
import * as net from "net";
import * as path from "path";
import { Client } from "pg";
import { ClientDefinition, clientDefinition, ClientSettings } from "../../src/configuration";
import { identityServerSecretHash, storedClient } from "../../src/reseed";
import { systemClientProfile } from "../../src/versions";
import { createScratchDatabase, PostgresEnv, readPostgresEnv, ScratchDatabase, withClient } from "./infra/postgres";

const scriptPath = path.join(__dirname, "..", "..", "src", "scripts", "reseed.js");

const OLD_ID = "OldClientId00001";
const NEW_ID = "NewClientId00002";
const OTHER_ID = "OtherClient00003";
const OLD_SECRET = "Old-Secret-0123456789abcdefghijklmn";
const NEW_SECRET = "New-Secret-0123456789abcdefghijklmn";

/** A client as the component configures it (the package's own rendering), and as reseed.js receives it. */
function definition(id: string, secret: string, overrides: Partial<ClientSettings> = {}): ClientDefinition {
  return clientDefinition({
    id,
    name: "Creatio",
    secret,
    creatioUrl: "https://creatio.example.com",
    accessTokenLifetimeSeconds: 3600,
    systemClient: systemClientProfile([8, 2, 3]),
    ...overrides,
  });
}
const stdinFor = (action: "prepare" | "retire", connectionString: string, client: ClientDefinition) => ({
  action,
  connectionString,
  client: storedClient(client),
});

/** IdentityServer4's client child tables (those reseed.js compares, plus claims) with the column each stores. */
const CHILD_TABLES: Array<[string, string]> = [
  ["ClientSecrets", "Value"],
  ["ClientScopes", "Scope"],
  ["ClientGrantTypes", "GrantType"],
  ["ClientRedirectUris", "RedirectUri"],
  ["ClientPostLogoutRedirectUris", "PostLogoutRedirectUri"],
  ["ClientClaims", "Type"],
];

/**
 * Tables shaped like IdentityServer4 4.x's EF Core migration (the columns reseed.js reads; "Created" without a
 * default, as EF sets it); foreign keys without ON DELETE CASCADE unless listed in `cascade`.
 */
async function createTables(c: Client, cascade: string[] = []): Promise<void> {
  await c.query(`CREATE TABLE "Clients" (
    "Id" serial PRIMARY KEY, "Enabled" boolean NOT NULL, "ClientId" varchar(200) NOT NULL UNIQUE, "ClientName" varchar(200),
    "AccessTokenLifetime" int NOT NULL, "IdentityTokenLifetime" int NOT NULL, "Created" timestamp NOT NULL)`);
  for (const [table, column] of CHILD_TABLES) {
    const onDelete = cascade.includes(table) ? "ON DELETE CASCADE" : "";
    const extra =
      table === "ClientSecrets"
        ? `, "Description" varchar(2000), "Expiration" timestamp, "Type" varchar(250) NOT NULL, "Created" timestamp NOT NULL`
        : table === "ClientClaims"
          ? `, "Value" varchar(250) NOT NULL`
          : "";
    await c.query(`CREATE TABLE "${table}" (
      "Id" serial PRIMARY KEY, "ClientId" int NOT NULL REFERENCES "Clients"("Id") ${onDelete}, "${column}" text NOT NULL${extra})`);
  }
  // Not a client table: must be left alone.
  await c.query(`CREATE TABLE "ApiScopes" ("Id" serial PRIMARY KEY, "Name" text NOT NULL)`);
  await c.query(`INSERT INTO "ApiScopes" ("Name") VALUES ('IdentityServerApi')`);
}

/** Inserts a client the way the service seeds one from its configuration (plus one claim row). */
async function insertClient(c: Client, client: ClientDefinition): Promise<number> {
  const { rows } = await c.query(
    `INSERT INTO "Clients" ("Enabled", "ClientId", "ClientName", "AccessTokenLifetime", "IdentityTokenLifetime", "Created")
     VALUES (true, $1, $2, $3, $4, now()) RETURNING "Id"`,
    [client.ClientId, client.ClientName, client.AccessTokenLifetime, client.IdentityTokenLifetime],
  );
  const id = rows[0].Id as number;
  for (const secret of client.Secrets) {
    await c.query(`INSERT INTO "ClientSecrets" ("ClientId", "Value", "Type", "Created") VALUES ($1, $2, 'SharedSecret', now())`, [
      id,
      identityServerSecretHash(secret),
    ]);
  }
  const lists: Array<[string, string, string[]]> = [
    ["ClientScopes", "Scope", client.AllowedScopes],
    ["ClientGrantTypes", "GrantType", client.AllowedGrantTypes],
    ["ClientRedirectUris", "RedirectUri", client.RedirectUris],
    ["ClientPostLogoutRedirectUris", "PostLogoutRedirectUri", client.PostLogoutRedirectUris],
  ];
  for (const [table, column, values] of lists) {
    for (const value of values) await c.query(`INSERT INTO "${table}" ("ClientId", "${column}") VALUES ($1, $2)`, [id, value]);
  }
  await c.query(`INSERT INTO "ClientClaims" ("ClientId", "Type", "Value") VALUES ($1, 'role', 'system')`, [id]);
  return id;
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

/** The rows a client seeded from `definition(...)` has (3 redirect URIs, 1 post-logout URI, 8 scopes, 2 grants). */
const FULL = { Clients: 1, ClientSecrets: 1, ClientScopes: 8, ClientGrantTypes: 2, ClientRedirectUris: 3, ClientPostLogoutRedirectUris: 1, ClientClaims: 1 };
const NONE = { Clients: 0, ...Object.fromEntries(CHILD_TABLES.map(([t]) => [t, 0])) };

async function secretHashesOf(c: Client, clientId: string): Promise<string[]> {
  const r = await c.query(
    `SELECT s."Value" FROM "ClientSecrets" s JOIN "Clients" cl ON cl."Id" = s."ClientId" WHERE cl."ClientId" = $1 ORDER BY 1`,
    [clientId],
  );
  return r.rows.map(row => row.Value as string);
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

function parseStdout(result: ScriptResult): Record<string, unknown> {
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

  it("does nothing on a first deploy, before the service created its tables (both steps)", async () => {
    const client1 = definition(NEW_ID, NEW_SECRET);
    const prepared = parseStdout(await runReseed(stdinFor("prepare", connectionString(), client1)));
    assert.deepEqual(prepared, { clientId: NEW_ID, deletedClients: 0, addedSecrets: 0, restartToken: "", supersededClientIds: [] });
    const retired = parseStdout(await runReseed(stdinFor("retire", connectionString(), client1)));
    assert.deepEqual(retired, { clientId: NEW_ID, retiredClients: 0, retiredSecrets: 0, pendingClientIds: [] });
    const tables = await client.query(`SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = 'public'`);
    assert.equal(tables.rows[0].n, 0);
  });

  it("deletes nothing when created for a running deployment whose client matches (no previous output)", async () => {
    await createTables(client);
    await insertClient(client, definition(NEW_ID, NEW_SECRET));
    await insertClient(client, definition(OTHER_ID, OLD_SECRET));

    const result = await runReseed(stdinFor("prepare", connectionString(), definition(NEW_ID, NEW_SECRET)));

    assert.deepEqual(parseStdout(result), { clientId: NEW_ID, deletedClients: 0, addedSecrets: 0, restartToken: "", supersededClientIds: [] });
    assert.match(result.stderr, /matches its configuration/);
    assert.deepEqual(await rowsOf(client, NEW_ID), FULL);
    assert.deepEqual(await rowsOf(client, OTHER_ID), FULL);
  });

  it("repairs a client edited by hand: deletes it with its child rows and hands out a new restart token", async () => {
    await createTables(client);
    await insertClient(client, definition(NEW_ID, NEW_SECRET));
    await insertClient(client, definition(OTHER_ID, OLD_SECRET));
    await client.query(`UPDATE "Clients" SET "AccessTokenLifetime" = 60 WHERE "ClientId" = $1`, [NEW_ID]);
    await client.query(
      `DELETE FROM "ClientScopes" WHERE "Scope" = 'IdentityServerApi' AND "ClientId" = (SELECT "Id" FROM "Clients" WHERE "ClientId" = $1)`,
      [NEW_ID],
    );
    const previous = JSON.stringify({ clientId: NEW_ID, deletedClients: 0, addedSecrets: 0, restartToken: "" });

    const result = await runReseed(stdinFor("prepare", connectionString(), definition(NEW_ID, NEW_SECRET)), previous);

    const out = parseStdout(result);
    assert.equal(out.deletedClients, 1);
    assert.match(String(out.restartToken), /^[0-9a-f]{16}$/);
    assert.match(result.stderr, /differs from its configuration in AccessTokenLifetime, AllowedScopes/);
    assert.deepEqual(await rowsOf(client, NEW_ID), NONE);
    assert.deepEqual(await rowsOf(client, OTHER_ID), FULL);
    assert.equal((await client.query(`SELECT count(*)::int AS n FROM "ApiScopes"`)).rows[0].n, 1);

    // Seeded again by the restarted service: the next run keeps the token (no second restart).
    await insertClient(client, definition(NEW_ID, NEW_SECRET));
    const again = parseStdout(await runReseed(stdinFor("prepare", connectionString(), definition(NEW_ID, NEW_SECRET)), JSON.stringify(out)));
    assert.deepEqual(again, { clientId: NEW_ID, deletedClients: 0, addedSecrets: 0, restartToken: out.restartToken, supersededClientIds: [] });
  });

  it("deletes a disabled client and one whose configuration changed (new redirect URIs)", async () => {
    await createTables(client);
    await insertClient(client, definition(NEW_ID, NEW_SECRET));
    await insertClient(client, definition(OTHER_ID, NEW_SECRET));
    await client.query(`UPDATE "Clients" SET "Enabled" = false WHERE "ClientId" = $1`, [OTHER_ID]);

    const moved = definition(NEW_ID, NEW_SECRET, { creatioUrl: "https://moved.example.com" });
    const changed = await runReseed(stdinFor("prepare", connectionString(), moved));
    const disabled = await runReseed(stdinFor("prepare", connectionString(), definition(OTHER_ID, NEW_SECRET)));

    assert.equal(parseStdout(changed).deletedClients, 1);
    assert.match(changed.stderr, /RedirectUris, PostLogoutRedirectUris/);
    assert.equal(parseStdout(disabled).deletedClients, 1);
    assert.match(disabled.stderr, /in Enabled/);
  });

  it("rotates the secret of a fixed client id without a gap: adds the new secret, retires the old one afterwards", async () => {
    await createTables(client);
    await insertClient(client, definition(NEW_ID, OLD_SECRET));
    const rotated = definition(NEW_ID, NEW_SECRET);

    const prepared = parseStdout(await runReseed(stdinFor("prepare", connectionString(), rotated)));

    assert.deepEqual(prepared, { clientId: NEW_ID, deletedClients: 0, addedSecrets: 1, restartToken: "", supersededClientIds: [] });
    assert.deepEqual(await secretHashesOf(client, NEW_ID), [identityServerSecretHash(OLD_SECRET), identityServerSecretHash(NEW_SECRET)].sort());
    const created = await client.query(`SELECT "Type", "Created" FROM "ClientSecrets" WHERE "Value" = $1`, [identityServerSecretHash(NEW_SECRET)]);
    assert.equal(created.rows[0].Type, "SharedSecret");
    assert.ok(created.rows[0].Created instanceof Date);

    const retired = parseStdout(await runReseed(stdinFor("retire", connectionString(), rotated)));

    assert.deepEqual(retired, { clientId: NEW_ID, retiredClients: 0, retiredSecrets: 1, pendingClientIds: [] });
    assert.deepEqual(await secretHashesOf(client, NEW_ID), [identityServerSecretHash(NEW_SECRET)]);
    assert.deepEqual(await rowsOf(client, NEW_ID), FULL);
  });

  it("rotates a generated client id without a gap: keeps the old client until the retire step removes it", async () => {
    await createTables(client);
    await insertClient(client, definition(OLD_ID, OLD_SECRET));
    await insertClient(client, definition(OTHER_ID, OLD_SECRET));
    const next = definition(NEW_ID, NEW_SECRET);

    const prepared = parseStdout(await runReseed(stdinFor("prepare", connectionString(), next), JSON.stringify({ clientId: OLD_ID, restartToken: "" })));
    assert.deepEqual(prepared, { clientId: NEW_ID, deletedClients: 0, addedSecrets: 0, restartToken: "", supersededClientIds: [OLD_ID] });
    assert.deepEqual(await rowsOf(client, OLD_ID), FULL, "the old client still works");

    // The retire step before the new service inserted its client: nothing retired, the old id stays pending.
    const previousRetire = JSON.stringify({ clientId: OLD_ID, retiredClients: 0, retiredSecrets: 0, pendingClientIds: [] });
    const early = parseStdout(await runReseed(stdinFor("retire", connectionString(), next), previousRetire));
    assert.deepEqual(early, { clientId: NEW_ID, retiredClients: 0, retiredSecrets: 0, pendingClientIds: [OLD_ID] });
    assert.deepEqual(await rowsOf(client, OLD_ID), FULL);

    await insertClient(client, next);
    const retired = parseStdout(await runReseed(stdinFor("retire", connectionString(), next), JSON.stringify(early)));
    assert.deepEqual(retired, { clientId: NEW_ID, retiredClients: 1, retiredSecrets: 0, pendingClientIds: [] });
    assert.deepEqual(await rowsOf(client, OLD_ID), NONE);
    assert.deepEqual(await rowsOf(client, NEW_ID), FULL);
    assert.deepEqual(await rowsOf(client, OTHER_ID), FULL, "a client this step never put in service is left alone");
  });

  it("a retire step created in the same run as a rotation retires the client the re-seed step saw replaced", async () => {
    await createTables(client);
    await insertClient(client, definition(OLD_ID, OLD_SECRET));
    const next = definition(NEW_ID, NEW_SECRET);
    const prepared = parseStdout(await runReseed(stdinFor("prepare", connectionString(), next), JSON.stringify({ clientId: OLD_ID })));
    await insertClient(client, next);

    // No previous output of its own: only the re-seed step's list tells it which client was replaced.
    const retired = parseStdout(
      await runReseed({ ...stdinFor("retire", connectionString(), next), supersededClientIds: prepared.supersededClientIds }),
    );

    assert.deepEqual(retired, { clientId: NEW_ID, retiredClients: 1, retiredSecrets: 0, pendingClientIds: [] });
    assert.deepEqual(await rowsOf(client, OLD_ID), NONE);
    assert.deepEqual(await rowsOf(client, NEW_ID), FULL);
  });

  it("fails fast, naming the missing password, when the connection string has none", async function () {
    // A stalled connection would hold the process until the server's authentication_timeout (60 s by default).
    this.timeout(30_000);
    const noPassword = `Server=${env.host};Port=${env.port};Database=${db.name};User ID=${env.user};Timeout=5;`;

    const result = await runReseed(stdinFor("prepare", noPassword, definition(NEW_ID, NEW_SECRET)));

    assert.equal(result.code, 1, result.stderr);
    assert.equal(result.stdout, "");
    assert.match(result.stderr, new RegExp(`"${db.name}" at ${env.host.replace(/\./g, "\\.")}:${env.port} asks for a password, but the connection string has none`));
    assert.match(result.stderr, /Add Password=/);
    assert.doesNotMatch(result.stderr, /rolled back/);
  });

  it("fails with a message naming host and database, not the password, and changes nothing on a wrong password", async () => {
    await createTables(client);
    await insertClient(client, definition(NEW_ID, OLD_SECRET));
    const wrongPassword = `wrong-${env.password}-x`;

    const result = await runReseed(stdinFor("prepare", connectionString(wrongPassword), definition(NEW_ID, NEW_SECRET)));

    assert.notEqual(result.code, 0);
    assert.equal(result.stdout, "");
    assert.match(result.stderr, new RegExp(`authentication failed on the Postgres database "${db.name}" at ${env.host.replace(/\./g, "\\.")}:${env.port}`));
    assert.match(result.stderr, /Check the user and password/);
    assert.ok(!result.stderr.includes(wrongPassword), result.stderr);
    assert.ok(!result.stderr.includes(env.password), result.stderr);
    assert.deepEqual(await rowsOf(client, NEW_ID), FULL);
  });

  it("fails naming the missing permission, and changes nothing, when the user may not delete", async () => {
    await createTables(client);
    await insertClient(client, definition(NEW_ID, NEW_SECRET));
    await client.query(`UPDATE "Clients" SET "ClientName" = 'edited' WHERE "ClientId" = $1`, [NEW_ID]);
    // An owner may revoke its own privileges: the table becomes read-only for the role the script connects as.
    await client.query(`REVOKE DELETE ON "ClientSecrets" FROM CURRENT_USER`);

    const result = await runReseed(stdinFor("prepare", connectionString(), definition(NEW_ID, NEW_SECRET)));

    assert.equal(result.code, 1);
    assert.match(result.stderr, /permission denied .*DELETE/s);
    assert.match(result.stderr, new RegExp(`"${db.name}"`));
    assert.ok(!result.stderr.includes(env.password), result.stderr);
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

    const result = await runReseed(stdinFor("prepare", unreachable, definition(NEW_ID, NEW_SECRET)));

    assert.equal(result.code, 1);
    assert.match(result.stderr, new RegExp(`cannot reach .*"identity" at 127\\.0\\.0\\.1:${closedPort}.*client\\.reseed: false`, "s"));
    assert.ok(!result.stderr.includes("Unreachable-Secret-1"), result.stderr);
  });

  it("rolls everything back when one delete fails half-way", async () => {
    await createTables(client);
    await insertClient(client, definition(NEW_ID, NEW_SECRET));
    await client.query(`UPDATE "Clients" SET "ClientName" = 'edited' WHERE "ClientId" = $1`, [NEW_ID]);
    // "ClientSecrets" is deleted after the other child tables (they go in name order): make it fail.
    await client.query(`CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN RAISE EXCEPTION 'secrets are read-only in this test'; END $$`);
    await client.query(`CREATE TRIGGER refuse BEFORE DELETE ON "ClientSecrets" FOR EACH ROW EXECUTE FUNCTION refuse()`);

    const result = await runReseed(stdinFor("prepare", connectionString(), definition(NEW_ID, NEW_SECRET)));

    assert.equal(result.code, 1);
    assert.match(result.stderr, /secrets are read-only in this test.*rolled back/s);
    assert.deepEqual(await rowsOf(client, NEW_ID), { ...FULL, Clients: 1 });
    assert.equal((await client.query(`SELECT "ClientName" FROM "Clients" WHERE "ClientId" = $1`, [NEW_ID])).rows[0].ClientName, "edited");
  });

  it("also works when some child tables cascade (as in IdentityServer4's own migrations)", async () => {
    await createTables(client, ["ClientSecrets", "ClientScopes", "ClientClaims"]);
    await insertClient(client, definition(NEW_ID, NEW_SECRET));
    await insertClient(client, definition(OTHER_ID, NEW_SECRET));
    await client.query(`UPDATE "Clients" SET "IdentityTokenLifetime" = 1 WHERE "ClientId" = $1`, [NEW_ID]);

    const out = parseStdout(await runReseed(stdinFor("prepare", connectionString(), definition(NEW_ID, NEW_SECRET))));

    assert.equal(out.deletedClients, 1);
    assert.deepEqual(await rowsOf(client, NEW_ID), NONE);
    assert.deepEqual(await rowsOf(client, OTHER_ID), FULL);
  });

  it("finds the tables through the connection's search path", async () => {
    await client.query(`CREATE SCHEMA identity`);
    await client.query(`SET search_path = identity`);
    await createTables(client);
    await insertClient(client, definition(NEW_ID, OLD_SECRET));
    await withClient(db.config, async (other) => {
      const withPath = `${connectionString()}Search Path=identity;`;
      const out = parseStdout(await runReseed(stdinFor("prepare", withPath, definition(NEW_ID, NEW_SECRET))));
      assert.equal(out.addedSecrets, 1);
      const retired = parseStdout(await runReseed(stdinFor("retire", withPath, definition(NEW_ID, NEW_SECRET))));
      assert.equal(retired.retiredSecrets, 1);
      const left = await other.query(`SELECT "Value" FROM identity."ClientSecrets"`);
      assert.deepEqual(left.rows.map((r) => r.Value), [identityServerSecretHash(NEW_SECRET)]);
    });
  });
});
