// Every statement the MsSqlServer dialect of src/scripts/reseed.js sends, parsed by a T-SQL parser. No SQL Server
// engine runs on these machines (none in Debian's packages or npm), so the dialect never meets a server in the tests:
// the store runs against a recording stand-in of `mssql` that answers from the shape of each statement, through every
// branch of both steps (insert, replace in place, a new secret, retire; a client id that differs only in case, alone or
// next to the exact one), and each
// statement it sent must parse as T-SQL (node-sql-parser, "transactsql" dialect). The parser is lenient in places (it
// takes `LIMIT`), so the test also refuses the PostgreSQL forms this script uses elsewhere.
import { strict as assert } from "assert";
import { Parser } from "node-sql-parser";
import { DOCUMENTED_ROLE, documentedStatements } from "../e2e/support/grants";
import { DESIRED, OTHER_REFERENCING_TABLES, recordingSql, reseed, Row, SCENARIOS, stepOf } from "../support/transactSql";

const parser = new Parser();
const parsesAsTransactSql = (statement: string) => parser.astify(statement, { database: "transactsql" });

async function statementsOf(clients: Row[], step: (store: unknown) => Promise<unknown>, denied: string[] = []): Promise<string[]> {
  const statements: string[] = [];
  await step(reseed.msSqlStore({}, recordingSql(clients, statements, denied)));
  return statements;
}

describe("reseed.js: the SQL Server dialect parses as T-SQL", () => {
  for (const [title, clients, input] of SCENARIOS) {
    it(`${title}: every statement`, async () => {
      const rows = clients.map(row => ({ ...row }));
      const statements = await statementsOf(rows, stepOf(input));
      if (title.startsWith("prepare")) {
        // Matched exactly after the case-insensitive query: only the configured id is left, once.
        assert.deepEqual(rows.map(row => row.ClientId).filter(id => id.toLowerCase() === DESIRED.ClientId.toLowerCase()), [DESIRED.ClientId]);
      }
      if (title.startsWith("retire removes the redirect URIs")) {
        assert.deepEqual(statements.filter(statement => /^DELETE\b/.test(statement)), ["DELETE FROM [dbo].[ClientRedirectUris] WHERE [ClientId] = @id"]);
      }
      if (title === "prepare adds a new secret") {
        assert.equal(statements.filter(statement => /^INSERT INTO \[dbo\]\.\[ClientSecrets\]/.test(statement)).length, 1);
        assert.deepEqual(statements.filter(statement => /^(UPDATE|DELETE)\b/.test(statement)), []);
      }
      if (title.startsWith("prepare replaces") || title.startsWith("prepare keeps")) {
        // In place: the row that held the id keeps its "Id" (IdentityServer4 reads the child rows by it).
        assert.equal(rows.find(row => row.ClientId === DESIRED.ClientId)!.Id, 1);
        assert.equal(statements.filter(statement => /^UPDATE \[dbo\]\.\[Clients\] SET .* WHERE \[Id\] = @id$/.test(statement)).length, 1);
        // The child tables it writes are emptied (the client's redirect URI tables too) and filled again; no others.
        const emptied = statements.map(statement => /^DELETE FROM \[dbo\]\.\[(\w+)\] WHERE \[ClientId\] = @id$/.exec(statement)?.[1]).filter(Boolean);
        assert.deepEqual(emptied, ["ClientGrantTypes", "ClientScopes", "ClientRedirectUris", "ClientPostLogoutRedirectUris", "ClientProperties", "ClientSecrets"]);
      }
      assert.ok(statements.length >= 5, `${statements.length} statements`);
      for (const statement of statements) {
        assert.doesNotThrow(() => parsesAsTransactSql(statement), `not T-SQL:\n${statement}`);
        // PostgreSQL forms the other dialect uses, some of which the parser would let through.
        assert.doesNotMatch(statement, /\$\d|::|= ANY\(|\bRETURNING\b|\bFOR UPDATE\b|\bLIMIT\b|\bnow\(\)|"/, statement);
      }
    });
  }

  it("a login without a grant is refused before any change, with GRANT statements that parse as T-SQL", async () => {
    // The stored client differs (the stand-in answers its name as "edited"): granted, the step would replace it in place.
    const denied = ["UPDATE on [dbo].[Clients]", "DELETE on [dbo].[ClientSecrets]", "SELECT ([ClientId]) on [dbo].[ClientClaims]"];
    const statements: string[] = [];
    const rows = [{ Id: 1, ClientId: DESIRED.ClientId }];
    const refusal = await reseed
      .prepare(reseed.msSqlStore({}, recordingSql(rows, statements, denied)), DESIRED, undefined)
      .then(() => undefined, (err: Error) => err);
    assert.ok(refusal instanceof reseed.RefusalError, String(refusal));
    assert.match(
      refusal.message,
      /the database user "reseed" lacks privileges re-seeding needs: UPDATE on \[dbo\]\.\[Clients\]; DELETE on \[dbo\]\.\[ClientSecrets\]; SELECT \(\[ClientId\]\) on \[dbo\]\.\[ClientClaims\]\. Nothing was changed\./,
    );
    const grants = refusal.message.match(/GRANT [^;]+;/g) ?? [];
    assert.deepEqual(grants, [
      "GRANT UPDATE ON [dbo].[Clients] TO [reseed];",
      "GRANT DELETE ON [dbo].[ClientSecrets] TO [reseed];",
      "GRANT SELECT ([ClientId]) ON [dbo].[ClientClaims] TO [reseed];",
    ]);
    for (const grant of grants) assert.doesNotThrow(() => parsesAsTransactSql(grant), grant);
    assert.deepEqual(statements.filter(statement => /^(DELETE|INSERT|UPDATE)\b/.test(statement)), []);
    assert.deepEqual(rows, [{ Id: 1, ClientId: DESIRED.ClientId }]);
  });

  it("the grant check asks for exactly the SQL Server grants docs/reseed.md lists, each of which parses as T-SQL", async () => {
    const documented = documentedStatements("SQL Server").filter(statement => !/^CREATE USER /.test(statement));
    // One privilege and table at a time: the parser takes a single privilege per GRANT, as the check prints them.
    const perPrivilege = documented.flatMap(statement => {
      const [, privileges, table, user] = /^GRANT (.+) ON (\S+) TO (\S+)$/.exec(statement)!;
      assert.equal(user, `[${DOCUMENTED_ROLE}]`);
      return privileges.split(/,\s*(?![^(]*\))/).map(privilege => ({ privilege, table }));
    });
    assert.equal(perPrivilege.length, 4 + 6 * 3 + 3 * 2, "four on Clients, three on each child table, two on each other");
    for (const { privilege, table } of perPrivilege) {
      const statement = `GRANT ${privilege} ON ${table} TO [${DOCUMENTED_ROLE}];`;
      assert.doesNotThrow(() => parsesAsTransactSql(statement), statement);
    }
    const store = (denied: string[]) => reseed.msSqlStore({}, recordingSql([], [], denied, OTHER_REFERENCING_TABLES));
    const everyDenied = await store(perPrivilege.map(({ privilege, table }) => `${privilege} on ${table}`)).missingGrants();
    assert.deepEqual(
      everyDenied.missing.map((m: { grant: string }) => m.grant).sort(),
      perPrivilege.map(({ privilege, table }) => `GRANT ${privilege} ON ${table} TO [reseed];`).sort(),
    );
    assert.deepEqual((await store([]).missingGrants()).missing, []);
  });

  it("the parser refuses what is not T-SQL, so passing it means something", () => {
    for (const statement of [
      `DELETE FROM "Clients" WHERE "ClientId" = ANY($1::text[])`,
      `SELECT "Id" FROM "Clients" WHERE "ClientId" = $1 FOR UPDATE`,
      `INSERT INTO "Clients" ("ClientId") VALUES ($1) RETURNING "Id"`,
      `SELECT * FROM t WHERE a = = 1`,
    ]) {
      assert.throws(() => parsesAsTransactSql(statement), statement);
    }
  });
});
