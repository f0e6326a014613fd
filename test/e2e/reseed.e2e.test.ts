// src/scripts/reseed.js against a real PostgreSQL (from test/e2e/infra/start-postgres.sh), run the way
// the command provider runs it: env RESEED_DB_PROVIDER and PULUMI_COMMAND_STDOUT, JSON on stdin, one JSON
// line on stdout. Both steps (prepare before the service restarts, retire once the new client is in service)
// decide from the rows in the database. Every test works in its own scratch database, on tables shaped like
// IdentityServer4 4.x's Entity Framework migration (every NOT NULL column, no defaults). The scenarios that involve the
// service seeding its configured client run under both seeding rules it may follow: insert a client whose id is
// missing, or insert only into an empty "Clients" table.
import { strict as assert } from "assert";
import * as net from "net";
import { Client } from "pg";
import { ClientDefinition } from "../../src/configuration";
import { identityServerSecretHash } from "../../src/reseed";
import { systemClientProfile } from "../../src/versions";
import { createScratchDatabase, PostgresEnv, readPostgresEnv, ScratchDatabase, withClient } from "./infra/postgres";
import {
  createTables,
  definition,
  FULL,
  INSERTED,
  insertClient,
  NONE,
  parseStdout,
  rowsOf,
  runReseed,
  secretHashesOf,
  SEEDING_RULES,
  serviceStarts,
  stdinFor,
} from "./support/clientTables";
import { describeFailures, failures, Load, Sample, tokenStatus } from "./support/load";
import { SIGNING_PFX, StandIn, startStandIn } from "../fixtures/identity-service/standIn";

const OLD_ID = "OldClientId00001";
const NEW_ID = "NewClientId00002";
const OTHER_ID = "OtherClient00003";
const OLD_SECRET = "Old-Secret-0123456789abcdefghijklmn";
const NEW_SECRET = "New-Secret-0123456789abcdefghijklmn";

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

  const PREPARED = { deletedClients: 0, insertedClients: 0, updatedClients: 0, addedSecrets: 0, restartToken: "", supersededClientIds: [] };

  it("does nothing on a first deploy, before the service created its tables (both steps)", async () => {
    const client1 = definition(NEW_ID, NEW_SECRET);
    const prepared = parseStdout(await runReseed(stdinFor("prepare", connectionString(), client1)));
    assert.deepEqual(prepared, { clientId: NEW_ID, ...PREPARED, tablesMissing: true });
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

    assert.deepEqual(parseStdout(result), { clientId: NEW_ID, ...PREPARED });
    assert.match(result.stderr, /matches its configuration/);
    assert.deepEqual(await rowsOf(client, NEW_ID), FULL);
    assert.deepEqual(await rowsOf(client, OTHER_ID), FULL);
  });

  it("inserts the client with every column IdentityServer4's schema requires, as the service's store reads it back", async () => {
    await createTables(client);
    await insertClient(client, definition(OTHER_ID, OLD_SECRET));
    const configured = definition(NEW_ID, NEW_SECRET);

    const prepared = parseStdout(await runReseed(stdinFor("prepare", connectionString(), configured)));

    assert.deepEqual(prepared, { clientId: NEW_ID, ...PREPARED, insertedClients: 1 });
    assert.deepEqual(await rowsOf(client, NEW_ID), INSERTED);
    const row = (await client.query(`SELECT * FROM "Clients" WHERE "ClientId" = $1`, [NEW_ID])).rows[0];
    assert.equal(row.ProtocolType, "oidc");
    assert.equal(row.Enabled, true);
    assert.equal(row.RequireClientSecret, true);
    assert.equal(row.AccessTokenLifetime, 3600);
    assert.ok(row.Created instanceof Date, "Created is set");
    const secret = (await client.query(`SELECT "Type", "Created" FROM "ClientSecrets" WHERE "Value" = $1`, [identityServerSecretHash(NEW_SECRET)])).rows[0];
    assert.equal(secret.Type, "SharedSecret");
    // Compared again, the inserted client matches its configuration: the next run does nothing.
    const again = parseStdout(await runReseed(stdinFor("prepare", connectionString(), configured), JSON.stringify(prepared)));
    assert.deepEqual(again, { clientId: NEW_ID, ...PREPARED });
  });

  for (const rule of SEEDING_RULES) {
    describe(`with a service that seeds ${rule}`, () => {
      it("repairs a client edited by hand: replaces it in place, its row and the rows of tables it does not write kept, and hands out a new restart token", async () => {
        await createTables(client);
        const rowId = await insertClient(client, definition(NEW_ID, NEW_SECRET));
        await insertClient(client, definition(OTHER_ID, OLD_SECRET));
        await client.query(`UPDATE "Clients" SET "AccessTokenLifetime" = 60 WHERE "ClientId" = $1`, [NEW_ID]);
        await client.query(
          `DELETE FROM "ClientScopes" WHERE "Scope" = 'IdentityServerApi' AND "ClientId" = (SELECT "Id" FROM "Clients" WHERE "ClientId" = $1)`,
          [NEW_ID],
        );
        const previous = JSON.stringify({ clientId: NEW_ID, deletedClients: 0, addedSecrets: 0, restartToken: "" });

        const result = await runReseed(stdinFor("prepare", connectionString(), definition(NEW_ID, NEW_SECRET)), previous);

        const out = parseStdout(result);
        assert.deepEqual([out.deletedClients, out.insertedClients, out.updatedClients], [0, 0, 1]);
        assert.match(String(out.restartToken), /^[0-9a-f]{16}$/);
        assert.match(result.stderr, /differs from its configuration in AccessTokenLifetime, AllowedScopes: replaced the client in place/);
        assert.deepEqual(await rowsOf(client, NEW_ID), FULL, "the configured client, its claim (a table reseed.js does not write) left alone");
        const row = (await client.query(`SELECT "Id", "AccessTokenLifetime" FROM "Clients" WHERE "ClientId" = $1`, [NEW_ID])).rows[0];
        assert.deepEqual([row.Id, row.AccessTokenLifetime], [rowId, 3600], "the same row, repaired");
        assert.deepEqual(await rowsOf(client, OTHER_ID), FULL);
        assert.equal((await client.query(`SELECT count(*)::int AS n FROM "ApiScopes"`)).rows[0].n, 1);

        // The restarted service seeds nothing (the client is there under either rule); the next run keeps the token.
        assert.equal(await serviceStarts(client, definition(NEW_ID, NEW_SECRET), rule), false);
        const again = parseStdout(await runReseed(stdinFor("prepare", connectionString(), definition(NEW_ID, NEW_SECRET)), JSON.stringify(out)));
        assert.deepEqual(again, { clientId: NEW_ID, ...PREPARED, restartToken: out.restartToken });
      });

      it("replaces a disabled client and one whose configuration changed (new redirect URIs)", async () => {
        await createTables(client);
        await insertClient(client, definition(NEW_ID, NEW_SECRET));
        await insertClient(client, definition(OTHER_ID, NEW_SECRET));
        await client.query(`UPDATE "Clients" SET "Enabled" = false WHERE "ClientId" = $1`, [OTHER_ID]);

        const moved = definition(NEW_ID, NEW_SECRET, { creatioUrl: "https://moved.example.com" });
        const changed = await runReseed(stdinFor("prepare", connectionString(), moved));
        const disabled = await runReseed(stdinFor("prepare", connectionString(), definition(OTHER_ID, NEW_SECRET)));

        assert.equal(parseStdout(changed).updatedClients, 1);
        assert.match(changed.stderr, /RedirectUris, PostLogoutRedirectUris/);
        assert.equal(parseStdout(disabled).updatedClients, 1);
        assert.match(disabled.stderr, /in Enabled/);
        assert.equal(await serviceStarts(client, moved, rule), false);
        const redirects = await client.query(
          `SELECT r."RedirectUri" FROM "ClientRedirectUris" r JOIN "Clients" c ON c."Id" = r."ClientId" WHERE c."ClientId" = $1 ORDER BY 1`,
          [NEW_ID],
        );
        assert.deepEqual(redirects.rows.map((r) => r.RedirectUri), ["https://moved.example.com", "https://moved.example.com/lib", "https://moved.example.com/lib/"]);
        assert.equal((await client.query(`SELECT "Enabled" FROM "Clients" WHERE "ClientId" = $1`, [OTHER_ID])).rows[0].Enabled, true);
      });

      it("rotates the secret of a fixed client id without a gap: adds the new secret, retires the old one afterwards", async () => {
        await createTables(client);
        await insertClient(client, definition(NEW_ID, OLD_SECRET));
        const rotated = definition(NEW_ID, NEW_SECRET);

        const prepared = parseStdout(await runReseed(stdinFor("prepare", connectionString(), rotated)));

        assert.deepEqual(prepared, { clientId: NEW_ID, ...PREPARED, addedSecrets: 1 });
        assert.deepEqual(await secretHashesOf(client, NEW_ID), [identityServerSecretHash(OLD_SECRET), identityServerSecretHash(NEW_SECRET)].sort());
        const created = await client.query(`SELECT "Type", "Created" FROM "ClientSecrets" WHERE "Value" = $1`, [identityServerSecretHash(NEW_SECRET)]);
        assert.equal(created.rows[0].Type, "SharedSecret");
        assert.ok(created.rows[0].Created instanceof Date);
        assert.equal(await serviceStarts(client, rotated, rule), false);

        const retired = parseStdout(await runReseed(stdinFor("retire", connectionString(), rotated)));

        assert.deepEqual(retired, { clientId: NEW_ID, retiredClients: 0, retiredSecrets: 1, pendingClientIds: [] });
        assert.deepEqual(await secretHashesOf(client, NEW_ID), [identityServerSecretHash(NEW_SECRET)]);
        assert.deepEqual(await rowsOf(client, NEW_ID), FULL);
      });

      it("rotates a generated client id without a gap: inserts the new client next to the old one, which the retire step removes", async () => {
        await createTables(client);
        await insertClient(client, definition(OLD_ID, OLD_SECRET));
        await insertClient(client, definition(OTHER_ID, OLD_SECRET));
        const next = definition(NEW_ID, NEW_SECRET);

        const prepared = parseStdout(await runReseed(stdinFor("prepare", connectionString(), next), JSON.stringify({ clientId: OLD_ID, restartToken: "" })));
        assert.deepEqual(prepared, { clientId: NEW_ID, ...PREPARED, insertedClients: 1, supersededClientIds: [OLD_ID] });
        assert.deepEqual(await rowsOf(client, OLD_ID), FULL, "the old client still works");
        assert.deepEqual(await rowsOf(client, NEW_ID), INSERTED, "the new one is there before the service starts, under either rule");
        assert.equal(await serviceStarts(client, next, rule), false);

        const previousRetire = JSON.stringify({ clientId: OLD_ID, retiredClients: 0, retiredSecrets: 0, pendingClientIds: [] });
        const retired = parseStdout(await runReseed(stdinFor("retire", connectionString(), next), previousRetire));
        assert.deepEqual(retired, { clientId: NEW_ID, retiredClients: 1, retiredSecrets: 0, pendingClientIds: [] });
        assert.deepEqual(await rowsOf(client, OLD_ID), NONE);
        assert.deepEqual(await rowsOf(client, NEW_ID), INSERTED);
        assert.deepEqual(await rowsOf(client, OTHER_ID), FULL, "a client this step never put in service is left alone");
      });
    });
  }

  it("retires nothing while the configured client is not in the database, and keeps the old id pending", async () => {
    await createTables(client);
    await insertClient(client, definition(OLD_ID, OLD_SECRET));
    const next = definition(NEW_ID, NEW_SECRET);
    const previousRetire = JSON.stringify({ clientId: OLD_ID, retiredClients: 0, retiredSecrets: 0, pendingClientIds: [] });

    const early = parseStdout(await runReseed(stdinFor("retire", connectionString(), next), previousRetire));

    assert.deepEqual(early, { clientId: NEW_ID, retiredClients: 0, retiredSecrets: 0, pendingClientIds: [OLD_ID] });
    assert.deepEqual(await rowsOf(client, OLD_ID), FULL);
  });

  it("a retire step created in the same run as a rotation retires the client the re-seed step saw replaced", async () => {
    await createTables(client);
    await insertClient(client, definition(OLD_ID, OLD_SECRET));
    const next = definition(NEW_ID, NEW_SECRET);
    const prepared = parseStdout(await runReseed(stdinFor("prepare", connectionString(), next), JSON.stringify({ clientId: OLD_ID })));

    // No previous output of its own: only the re-seed step's list tells it which client was replaced.
    const retired = parseStdout(
      await runReseed({ ...stdinFor("retire", connectionString(), next), supersededClientIds: prepared.supersededClientIds }),
    );

    assert.deepEqual(retired, { clientId: NEW_ID, retiredClients: 1, retiredSecrets: 0, pendingClientIds: [] });
    assert.deepEqual(await rowsOf(client, OLD_ID), NONE);
    assert.deepEqual(await rowsOf(client, NEW_ID), INSERTED);
  });

  describe("with a case-insensitive collation on the client id (SQL Server's default)", () => {
    beforeEach(async () => {
      await client.query(`CREATE COLLATION ci (provider = icu, locale = 'und-u-ks-level2', deterministic = false)`);
      await createTables(client, { clientIdCollation: "ci" });
    });

    it("replaces a stored id that differs only in case, which the service would never find", async () => {
      const upper = NEW_ID.toUpperCase();
      const rowId = await insertClient(client, definition(upper, NEW_SECRET));

      const result = await runReseed(stdinFor("prepare", connectionString(), definition(NEW_ID, NEW_SECRET)));

      const out = parseStdout(result);
      assert.deepEqual(out, { clientId: NEW_ID, ...PREPARED, updatedClients: 1, restartToken: out.restartToken });
      assert.match(result.stderr, new RegExp(`client id "${upper}" differs from "${NEW_ID}" only in case`));
      const ids = await client.query(`SELECT "Id", "ClientId" FROM "Clients"`);
      assert.deepEqual(ids.rows, [{ Id: rowId, ClientId: NEW_ID }], "exactly the configured id, once, in the row that held it");
      assert.deepEqual(await rowsOf(client, NEW_ID), FULL, "its row, given the configured id, with its child rows");
    });

    it("retires only the exact ids it put in service, never one that differs in case", async () => {
      await insertClient(client, definition(OLD_ID, OLD_SECRET));
      await insertClient(client, definition(NEW_ID, NEW_SECRET));

      const retired = parseStdout(
        await runReseed({ ...stdinFor("retire", connectionString(), definition(NEW_ID, NEW_SECRET)), supersededClientIds: [OLD_ID.toLowerCase()] }),
      );

      assert.equal(retired.retiredClients, 0);
      assert.deepEqual(await rowsOf(client, OLD_ID), FULL);
    });
  });

  it("refuses before deleting anything when \"Clients\" requires a column it cannot fill, naming the column and the way out", async () => {
    await createTables(client);
    await insertClient(client, definition(NEW_ID, NEW_SECRET));
    await client.query(`UPDATE "Clients" SET "AccessTokenLifetime" = 60 WHERE "ClientId" = $1`, [NEW_ID]);
    await client.query(`ALTER TABLE "Clients" ADD COLUMN "TenantId" uuid`);
    await client.query(`UPDATE "Clients" SET "TenantId" = gen_random_uuid()`);
    await client.query(`ALTER TABLE "Clients" ALTER COLUMN "TenantId" SET NOT NULL`);

    const result = await runReseed(stdinFor("prepare", connectionString(), definition(NEW_ID, NEW_SECRET)));

    assert.equal(result.code, 1);
    assert.equal(result.stdout, "");
    assert.match(result.stderr, /cannot insert client "NewClientId00002": "Clients"\."TenantId" requires a value \(NOT NULL, no default\)/);
    assert.match(result.stderr, /Nothing was changed\..*client\.reseed: false/s);
    assert.ok(!result.stderr.includes(env.password));
    assert.deepEqual(await rowsOf(client, NEW_ID), FULL, "the edited client is still there");
    assert.equal((await client.query(`SELECT "AccessTokenLifetime" FROM "Clients" WHERE "ClientId" = $1`, [NEW_ID])).rows[0].AccessTokenLifetime, 60);
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
    assert.match(result.stderr, new RegExp(`user "${env.user}" lacks a privilege re-seeding needs: DELETE on "public"\\."ClientSecrets"\\. Nothing was changed\\.`));
    assert.match(result.stderr, new RegExp(`GRANT DELETE ON "public"\\."ClientSecrets" TO "${env.user}";`));
    assert.ok(!result.stderr.includes(env.password), result.stderr);
    assert.deepEqual(await rowsOf(client, NEW_ID), FULL);
  });

  it("waits for another writer of \"Clients\" and decides from what it wrote: a client inserted meanwhile is not inserted again", async () => {
    await createTables(client);
    await insertClient(client, definition(OTHER_ID, OLD_SECRET));
    const writer = new Client(db.config);
    await writer.connect();
    try {
      // Another re-seed (or the service seeding) holds the lock and has not inserted the client yet.
      await writer.query(`BEGIN`);
      await writer.query(`LOCK TABLE "Clients" IN SHARE ROW EXCLUSIVE MODE`);
      const run = runReseed(stdinFor("prepare", connectionString(), definition(NEW_ID, NEW_SECRET)));
      const waiting = async () =>
        (await client.query(`SELECT count(*)::int AS n FROM pg_locks l WHERE l.relation = '"Clients"'::regclass AND NOT l.granted`)).rows[0].n > 0;
      for (let attempt = 0; attempt < 600 && !(await waiting()); attempt++) await new Promise((resolve) => setTimeout(resolve, 50));
      assert.ok(await waiting(), "the step never waited for the lock on \"Clients\"");
      await insertClient(writer, definition(NEW_ID, NEW_SECRET));
      await writer.query(`COMMIT`);

      const result = await run;
      assert.deepEqual(parseStdout(result), { clientId: NEW_ID, ...PREPARED }, result.stderr);
      assert.deepEqual(await rowsOf(client, NEW_ID), FULL);
    } finally {
      await writer.end().catch(() => undefined);
    }
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
    // "ClientSecrets" is rewritten after the other child tables: make its delete fail.
    await client.query(`CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN RAISE EXCEPTION 'secrets are read-only in this test'; END $$`);
    await client.query(`CREATE TRIGGER refuse BEFORE DELETE ON "ClientSecrets" FOR EACH ROW EXECUTE FUNCTION refuse()`);

    const result = await runReseed(stdinFor("prepare", connectionString(), definition(NEW_ID, NEW_SECRET)));

    assert.equal(result.code, 1);
    assert.match(result.stderr, /secrets are read-only in this test.*rolled back/s);
    assert.deepEqual(await rowsOf(client, NEW_ID), FULL);
    assert.equal((await client.query(`SELECT "ClientName" FROM "Clients" WHERE "ClientId" = $1`, [NEW_ID])).rows[0].ClientName, "edited");
  });

  it("also works when some child tables cascade (as in IdentityServer4's own migrations)", async () => {
    await createTables(client, { cascade: ["ClientSecrets", "ClientScopes", "ClientClaims"] });
    await insertClient(client, definition(NEW_ID, NEW_SECRET));
    await insertClient(client, definition(OTHER_ID, NEW_SECRET));
    await client.query(`UPDATE "Clients" SET "IdentityTokenLifetime" = 1 WHERE "ClientId" = $1`, [NEW_ID]);

    const out = parseStdout(await runReseed(stdinFor("prepare", connectionString(), definition(NEW_ID, NEW_SECRET))));

    assert.equal(out.updatedClients, 1);
    assert.deepEqual(await rowsOf(client, NEW_ID), FULL);
    assert.equal((await client.query(`SELECT "IdentityTokenLifetime" FROM "Clients" WHERE "ClientId" = $1`, [NEW_ID])).rows[0].IdentityTokenLifetime, 300);
    assert.deepEqual(await rowsOf(client, OTHER_ID), FULL);
  });

  it("leaves the rows of a table of someone else's that references the client, even through a cascading key", async () => {
    await createTables(client);
    const rowId = await insertClient(client, definition(NEW_ID, NEW_SECRET));
    // A table of Creatio's own (or any other), which a deletion of the client would empty, cascading or not.
    await client.query(`CREATE TABLE "ClientAudit" ("Id" serial PRIMARY KEY, "Client" int NOT NULL REFERENCES "Clients"("Id") ON DELETE CASCADE, "Note" text)`);
    await client.query(`INSERT INTO "ClientAudit" ("Client", "Note") VALUES ($1, 'approved')`, [rowId]);
    await client.query(`UPDATE "Clients" SET "ClientName" = 'edited' WHERE "Id" = $1`, [rowId]);

    const out = parseStdout(await runReseed(stdinFor("prepare", connectionString(), definition(NEW_ID, NEW_SECRET))));

    assert.equal(out.updatedClients, 1);
    assert.deepEqual((await client.query(`SELECT "Client", "Note" FROM "ClientAudit"`)).rows, [{ Client: rowId, Note: "approved" }]);
    assert.equal((await client.query(`SELECT "ClientName" FROM "Clients" WHERE "Id" = $1`, [rowId])).rows[0].ClientName, "Creatio");
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

describe("reseed.js replacing the client while the stand-in Identity Service serves it (real PostgreSQL)", function () {
  // The stand-in reads a client for every token request as IdentityServer4's EF store does (its README, R1.16): the
  // "Clients" row first, then each child table in a query of its own, by the row's "Id", grant types before redirect
  // URIs. A replacement that gave the client a new row would leave a request that read the old row just before it
  // with no grant types and no secrets; one that dropped the implicit grant and its redirect URIs at once would leave
  // a request that read the old grant types with no redirect URI, which IdentityServer4 drops. Either way
  // `invalid_client`. Several requesters keep asking for tokens with the unchanged credentials while the client is
  // changed back and forth, each change as a deployment makes it; none may fail.
  this.timeout(300_000);
  const CHANGES = 20;
  const REQUESTERS = 4;
  let env: PostgresEnv;
  let db: ScratchDatabase | undefined;
  let service: StandIn | undefined;

  before(() => {
    env = readPostgresEnv();
  });

  afterEach(async () => {
    await service?.stop();
    await db?.drop();
    service = undefined;
    db = undefined;
  });

  /**
   * Deploys `configurations[0]` on the stand-in, then makes each change of the client CHANGES times, alternating:
   * the prepare step, and after it (`retire`) the retire step, under the token load. Returns the load's samples and,
   * after each change, how many redirect URIs the client has.
   */
  async function changeUnderLoad(
    configurations: [ClientDefinition, ClientDefinition],
    options: { retire: boolean },
  ): Promise<{ samples: Sample[]; redirectUris: number[] }> {
    db = await createScratchDatabase(env, "cis_e2e_reseed_load");
    const connectionString = `Server=${env.host};Port=${env.port};Database=${db.name};User ID=${env.user};Password="${env.password.replace(/"/g, '""')}";Timeout=5;`;
    service = await startStandIn({
      env: {
        DbProvider: "Postgres",
        PostgresConnection: connectionString,
        X509CertificatePath: SIGNING_PFX,
        Clients: JSON.stringify([configurations[0]]),
        ForceHttpsSchemeInRequests: "false",
        STANDIN_CREATIO_VERSION: "8.2.3",
      },
    });
    assert.equal(await tokenStatus(service.url, NEW_ID, NEW_SECRET), 200, service.logs());

    const loads = Array.from({ length: REQUESTERS }, () => Load.token(service!.url, NEW_ID, NEW_SECRET));
    const restartTokens: unknown[] = [];
    const redirectUris: number[] = [];
    let previous: string | undefined;
    try {
      for (let i = 0; i < CHANGES; i++) {
        const configured = configurations[(i + 1) % 2];
        const out = parseStdout(await runReseed(stdinFor("prepare", connectionString, configured), previous));
        restartTokens.push(out.restartToken);
        previous = JSON.stringify(out);
        if (options.retire) parseStdout(await runReseed(stdinFor("retire", connectionString, configured)));
        redirectUris.push((await client(db, `SELECT count(*)::int AS n FROM "ClientRedirectUris"`)).n);
      }
    } finally {
      await Promise.all(loads.map((load) => load.stop()));
    }
    const samples = loads.flatMap((load) => load.samples);
    console.log(`      ${CHANGES} changes; token requests: ${describeFailures(samples)}`);
    // Each run replaced the client: a new restart token every time, so the service would restart after each.
    assert.equal(new Set(restartTokens).size, CHANGES);
    assert.ok(restartTokens.every((token) => /^[0-9a-f]{16}$/.test(String(token))));
    assert.equal(await tokenStatus(service.url, NEW_ID, NEW_SECRET), 200);
    return { samples, redirectUris };
  }

  const client = (database: ScratchDatabase, sql: string) => withClient(database.config, async (c) => (await c.query(sql)).rows[0] as { n: number });

  it("no token request with the unchanged credentials fails while the client is replaced (the upgrade's new scopes)", async () => {
    const deployed = definition(NEW_ID, NEW_SECRET);
    const upgraded = definition(NEW_ID, NEW_SECRET, { systemClient: systemClientProfile([8, 3, 1]) });

    const { samples } = await changeUnderLoad([deployed, upgraded], { retire: false });

    assert.ok(samples.length > CHANGES * REQUESTERS, `the load ran (${samples.length} requests)`);
    assert.equal(failures(samples).length, 0, `token requests with the unchanged credentials: ${describeFailures(samples)}`);
  });

  it("none fails either while the implicit grant is dropped and granted again (the Creatio URL removed and set)", async () => {
    const withUrl = definition(NEW_ID, NEW_SECRET);
    const withoutUrl = definition(NEW_ID, NEW_SECRET, { creatioUrl: undefined });
    assert.deepEqual([withUrl.AllowedGrantTypes, withoutUrl.AllowedGrantTypes, withoutUrl.RedirectUris], [["implicit", "client_credentials"], ["client_credentials"], []]);

    const { samples, redirectUris } = await changeUnderLoad([withUrl, withoutUrl], { retire: true });

    assert.ok(samples.length > CHANGES * REQUESTERS, `the load ran (${samples.length} requests)`);
    assert.equal(failures(samples).length, 0, `token requests with the unchanged credentials: ${describeFailures(samples)}`);
    // After each deployment (both steps) the rows are the configuration's: the redirect URIs the prepare step kept
    // when the URL was removed are gone once the retire step ran.
    assert.deepEqual(redirectUris, Array.from({ length: CHANGES }, (_, i) => (i % 2 === 0 ? 0 : withUrl.RedirectUris.length)));
  });
});
