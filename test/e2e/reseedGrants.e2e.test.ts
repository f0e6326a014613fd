// The grants docs/reseed.md documents for PostgreSQL, read from that page and run on the real PostgreSQL for a login
// that holds nothing else (start-postgres.sh's LOGIN-only role): re-seeding passes on every path with them, and with
// each one revoked in turn it fails before reading or changing a client row, naming the privilege and its GRANT.
// The tables live in a schema of their own (no PUBLIC rights on it) of a scratch database whose CONNECT is revoked
// from PUBLIC, so that every documented privilege is one the login would otherwise lack.
import { strict as assert } from "assert";
import { Client } from "pg";
import { createScratchDatabase, PostgresEnv, readPostgresEnv, ScratchDatabase } from "./infra/postgres";
import { adapted, documentedStatements, SCHEMA } from "./support/grants";
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
  SEEDING_RULES,
  serviceStarts,
  stdinFor,
} from "./support/clientTables";

const A_ID = "ClientA000000001";
const B_ID = "ClientB000000002";
const OTHER_ID = "OtherClient00003";
const S1 = "Secret-One-0123456789abcdefghijklm";
const S2 = "Secret-Two-0123456789abcdefghijklm";
const S3 = "Secret-Six-0123456789abcdefghijklm";

/** One privilege a GRANT statement gives: what REVOKE takes back and how the re-seed step names it. */
interface Privilege {
  revoke: string;
  grant: string;
  named: string;
  expectedGrant: string;
}

/** `app."Clients"` or `app` as the re-seed step writes names: every part quoted. */
function quoted(name: string): string {
  return name
    .split(".")
    .map((part) => (part.startsWith('"') ? part : `"${part}"`))
    .join(".");
}

/** Splits `GRANT a, b (c) ON [KIND] x, y TO r` into one privilege per privilege and object. */
function privilegesOf(statement: string): Privilege[] {
  const match = /^GRANT (.+?) ON (DATABASE |SCHEMA |SEQUENCE )?(.+) TO (\S+)$/.exec(statement);
  assert.ok(match, `not a GRANT statement: ${statement}`);
  const [, privileges, kind = "", objects, role] = match;
  const result: Privilege[] = [];
  for (const object of objects.split(/,\s*/)) {
    for (const privilege of privileges.split(/,\s*(?![^(]*\))/)) {
      const on = `${kind}${object}`;
      result.push({
        revoke: `REVOKE ${privilege} ON ${on} FROM ${role}`,
        grant: `GRANT ${privilege} ON ${on} TO ${role}`,
        named: `${privilege} on ${kind.toLowerCase()}${kind === "DATABASE " ? object : quoted(object)}`,
        expectedGrant: `GRANT ${privilege} ON ${kind}${kind === "DATABASE " ? object : quoted(object)} TO ${role};`,
      });
    }
  }
  return result;
}

describe("client re-seeding with only the documented PostgreSQL grants", function () {
  this.timeout(120_000);
  let env: PostgresEnv;
  let role: string;

  before(function () {
    env = readPostgresEnv();
    if (!env.reseedUser || !env.reseedPassword) {
      throw new Error("the env file names no LOGIN-only role (PGRESEED_USER): rerun test/e2e/infra/start-postgres.sh");
    }
    role = env.reseedUser;
  });

  /** A scratch database as described above, its owner connected with the tables' schema on its search path. */
  async function database(): Promise<{ db: ScratchDatabase; owner: Client; connectionString: string }> {
    const db = await createScratchDatabase(env, "cis_e2e_grants");
    const owner = new Client(db.config);
    await owner.connect();
    await owner.query(`REVOKE CONNECT ON DATABASE ${db.name} FROM PUBLIC`);
    await owner.query(`CREATE SCHEMA ${SCHEMA}`);
    await owner.query(`SET search_path = ${SCHEMA}`);
    const connectionString =
      `Server=${env.host};Port=${env.port};Database=${db.name};User ID=${role};Password=${env.reseedPassword};` +
      `Search Path=${SCHEMA};Timeout=5;`;
    return { db, owner, connectionString };
  }

  /** IdentityServer4's tables that reference "Clients" besides those in CHILD_TABLES. */
  async function moreReferencingTables(owner: Client): Promise<void> {
    await owner.query(`CREATE TABLE "ClientCorsOrigins" ("Id" serial PRIMARY KEY, "ClientId" int NOT NULL REFERENCES "Clients"("Id"), "Origin" text NOT NULL)`);
    await owner.query(`CREATE TABLE "ClientIdPRestrictions" ("Id" serial PRIMARY KEY, "ClientId" int NOT NULL REFERENCES "Clients"("Id"), "Provider" text NOT NULL)`);
  }

  async function grant(owner: Client, db: ScratchDatabase, titles: string[]): Promise<void> {
    for (const title of titles) {
      for (const statement of documentedStatements(title)) await owner.query(adapted(statement, db.name, role));
    }
  }

  for (const idColumns of ["serial", "identity"] as const) {
    for (const rule of SEEDING_RULES) {
      it(`every path passes, ${idColumns} Id columns, a service that seeds ${rule}`, async () => {
        const { db, owner, connectionString } = await database();
        try {
          const step = async (action: "prepare" | "retire", client: ReturnType<typeof definition>, previous?: string, extra: object = {}) => {
            const result = await runReseed({ ...stdinFor(action, connectionString, client), ...extra }, previous);
            return { out: parseStdout(result), stdout: result.stdout, stderr: result.stderr };
          };
          // A first deploy: no tables yet, the login may only connect and use the schema.
          for (const statement of documentedStatements("PostgreSQL").filter((s) => /ON (DATABASE|SCHEMA) /.test(s))) {
            await owner.query(adapted(statement, db.name, role));
          }
          const first = await step("prepare", definition(A_ID, S1));
          assert.match(first.stderr, /does not exist yet/);
          assert.equal(first.out.tablesMissing, true);

          // The service creates its tables and seeds its client; Creatio keeps an app of its own there.
          await createTables(owner, { idColumns });
          await moreReferencingTables(owner);
          await insertClient(owner, definition(OTHER_ID, S1));
          assert.equal(await serviceStarts(owner, definition(A_ID, S1), rule), rule === "when the id is missing");
          // The same run's retire step, told that the prepare step found no tables, passes before any table grant.
          const firstRetire = await step("retire", definition(A_ID, S1), undefined, { tablesMissingAtPrepare: true });
          assert.deepEqual(firstRetire.out, { clientId: A_ID, retiredClients: 0, retiredSecrets: 0, pendingClientIds: [] });
          assert.match(firstRetire.stderr, /nothing to retire/);
          // Without that, it needs the grants: they are given once the tables exist.
          const refused = await runReseed(stdinFor("retire", connectionString, definition(A_ID, S1)));
          assert.equal(refused.code, 1);
          assert.match(refused.stderr, /lacks privileges re-seeding needs/);
          await grant(owner, db, idColumns === "serial" ? ["PostgreSQL", "PostgreSQL, serial Id columns"] : ["PostgreSQL"]);

          // Insert (a missing client) or nothing to do.
          let prepared = await step("prepare", definition(A_ID, S1));
          assert.equal(prepared.out.insertedClients, rule === "only into an empty table" ? 1 : 0, prepared.stderr);
          assert.equal((await step("retire", definition(A_ID, S1), undefined)).out.retiredClients, 0);

          // Replace a client edited by hand, in place: its row and the rows of tables re-seeding does not write kept
          // (the service's seeding, in these tests, adds a claim).
          const seeded = await rowsOf(owner, A_ID);
          const rowIdOf = async (clientId: string) => (await owner.query(`SELECT "Id" FROM "Clients" WHERE "ClientId" = $1`, [clientId])).rows[0].Id;
          const aRow = await rowIdOf(A_ID);
          await owner.query(`UPDATE "Clients" SET "AccessTokenLifetime" = 60 WHERE "ClientId" = $1`, [A_ID]);
          prepared = await step("prepare", definition(A_ID, S1), prepared.stdout);
          assert.deepEqual([prepared.out.deletedClients, prepared.out.insertedClients, prepared.out.updatedClients], [0, 0, 1], prepared.stderr);
          assert.match(String(prepared.out.restartToken), /^[0-9a-f]{16}$/);
          assert.deepEqual(await rowsOf(owner, A_ID), seeded);
          assert.equal(await rowIdOf(A_ID), aRow, "the same row");
          assert.deepEqual(seeded, rule === "when the id is missing" ? FULL : INSERTED);
          assert.equal(await serviceStarts(owner, definition(A_ID, S1), rule), false);

          // The implicit grant dropped (no Creatio URL): its redirect URIs stay until the retire step removes them.
          const withoutUrl = definition(A_ID, S1, { creatioUrl: undefined });
          prepared = await step("prepare", withoutUrl, prepared.stdout);
          assert.equal(prepared.out.updatedClients, 1, prepared.stderr);
          assert.equal((await rowsOf(owner, A_ID)).ClientRedirectUris, FULL.ClientRedirectUris);
          let retired = await step("retire", withoutUrl);
          assert.equal((await rowsOf(owner, A_ID)).ClientRedirectUris, 0, retired.stderr);
          assert.match(retired.stderr, /redirect URI\(s\) the client no longer needs/);

          // The Creatio URL set again: replaced in place, with its redirect URIs.
          prepared = await step("prepare", definition(A_ID, S1), prepared.stdout);
          assert.equal(prepared.out.updatedClients, 1, prepared.stderr);
          assert.deepEqual(await rowsOf(owner, A_ID), seeded);

          // A rotated secret: added next to the old one, then the old one retired.
          prepared = await step("prepare", definition(A_ID, S2), prepared.stdout);
          assert.equal(prepared.out.addedSecrets, 1, prepared.stderr);
          retired = await step("retire", definition(A_ID, S2));
          assert.equal(retired.out.retiredSecrets, 1, retired.stderr);

          // A rotated client id: the new one inserted, the old one (with a claim and a CORS origin) retired.
          assert.equal(await rowIdOf(A_ID), aRow, "still the same row");
          await owner.query(`INSERT INTO "ClientClaims" ("ClientId", "Type", "Value") VALUES ($1, 'role', 'system')`, [aRow]);
          await owner.query(`INSERT INTO "ClientCorsOrigins" ("ClientId", "Origin") VALUES ($1, 'https://creatio.example.com')`, [aRow]);
          prepared = await step("prepare", definition(B_ID, S3), prepared.stdout);
          assert.equal(prepared.out.insertedClients, 1, prepared.stderr);
          assert.deepEqual(prepared.out.supersededClientIds, [A_ID]);
          assert.equal(await serviceStarts(owner, definition(B_ID, S3), rule), false);
          retired = await step("retire", definition(B_ID, S3), undefined, { supersededClientIds: [A_ID] });
          assert.equal(retired.out.retiredClients, 1, retired.stderr);

          assert.deepEqual(await rowsOf(owner, A_ID), NONE);
          assert.equal((await owner.query(`SELECT count(*)::int AS n FROM "ClientCorsOrigins"`)).rows[0].n, 0);
          assert.deepEqual(await rowsOf(owner, B_ID), INSERTED);
          assert.deepEqual(await rowsOf(owner, OTHER_ID), FULL);
        } finally {
          await owner.end().catch(() => undefined);
          await db.drop();
        }
      });
    }
  }

  describe("with each documented privilege revoked in turn", () => {
    let db: ScratchDatabase;
    let owner: Client;
    let connectionString: string;
    const privileges = [...documentedStatements("PostgreSQL"), ...documentedStatements("PostgreSQL, serial Id columns")].flatMap((statement) =>
      privilegesOf(adapted(statement, "DB", "ROLE")),
    );

    /** Every row of every table in the schema, in a fixed order. */
    async function snapshot(): Promise<string> {
      const tables = await owner.query(`SELECT tablename FROM pg_tables WHERE schemaname = $1 ORDER BY 1`, [SCHEMA]);
      const rows: Record<string, unknown[]> = {};
      for (const { tablename } of tables.rows) rows[tablename] = (await owner.query(`SELECT * FROM "${tablename}" ORDER BY "Id"`)).rows;
      return JSON.stringify(rows);
    }

    before(async () => {
      ({ db, owner, connectionString } = await database());
      await createTables(owner);
      await moreReferencingTables(owner);
      await insertClient(owner, definition(A_ID, S1));
      await insertClient(owner, definition(OTHER_ID, S1));
      // Due for a replacement, which updates and deletes rows: a refusal must come before it.
      await owner.query(`UPDATE "Clients" SET "AccessTokenLifetime" = 60 WHERE "ClientId" = $1`, [A_ID]);
      await grant(owner, db, ["PostgreSQL", "PostgreSQL, serial Id columns"]);
    });

    after(async () => {
      await owner?.end().catch(() => undefined);
      await db?.drop();
    });

    it("the page documents every privilege this checks: CONNECT, USAGE, four on Clients, three on each child table, two on each other, the sequences", () => {
      assert.equal(privileges.length, 1 + 1 + 4 + 6 * 3 + 3 * 2 + 7);
    });

    it("with every documented privilege, a step runs (the refusals below come from the one revoked)", async () => {
      const before = await snapshot();
      // Only checked here, not changed: the retire step with nothing to retire.
      const result = await runReseed(stdinFor("retire", connectionString, definition(A_ID, S1)));
      assert.equal(parseStdout(result).retiredClients, 0, result.stderr);
      assert.equal(await snapshot(), before);
    });

    for (const [index, privilege] of privileges.entries()) {
      it(`without ${privilege.named.replace("DB", "the database").replace(/"?ROLE"?/, "the login")}: both steps refuse, name it and its GRANT, change nothing`, async () => {
        const actual = (statement: string) => statement.replace(/\bDB\b/, db.name).replace(/"ROLE"/, `"${role}"`);
        const before = await snapshot();
        await owner.query(actual(privilege.revoke));
        try {
          for (const action of ["prepare", "retire"] as const) {
            const result = await runReseed(stdinFor(action, connectionString, definition(A_ID, S1)));
            assert.equal(result.code, 1, `${action} #${index}: ${result.stderr}`);
            assert.equal(result.stdout, "");
            assert.match(result.stderr, /Nothing was changed/);
            assert.ok(!result.stderr.includes(env.reseedPassword!), result.stderr);
            if (/^CONNECT /.test(privilege.named)) {
              assert.match(result.stderr, new RegExp(`needs CONNECT on the database \\(GRANT CONNECT ON DATABASE "${db.name}" TO "${role}";`), result.stderr);
            } else {
              const named = actual(privilege.named);
              assert.ok(result.stderr.includes(`lacks a privilege re-seeding needs: ${named}.`), `${action}: expected "${named}" in: ${result.stderr}`);
              assert.ok(result.stderr.includes(actual(privilege.expectedGrant)), `${action}: expected ${actual(privilege.expectedGrant)} in: ${result.stderr}`);
            }
          }
          assert.equal(await snapshot(), before, "every row as it was");
        } finally {
          await owner.query(actual(privilege.grant));
        }
      });
    }
  });
});
