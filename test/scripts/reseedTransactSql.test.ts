// Every statement the MsSqlServer dialect of src/scripts/reseed.js sends, parsed by a T-SQL parser. No SQL Server
// engine runs on these machines (none in Debian's packages or npm), so the dialect never meets a server in the tests:
// the store runs against a recording stand-in of `mssql` that answers from the shape of each statement, through every
// branch of both steps (insert, replace in place, a new secret, retire; a client id that differs only in case, alone or
// next to the exact one), and each
// statement it sent must parse as T-SQL (node-sql-parser, "transactsql" dialect). The parser is lenient in places (it
// takes `LIMIT`), so the test also refuses the PostgreSQL forms this script uses elsewhere.
import { strict as assert } from "assert";
import * as crypto from "crypto";
import * as path from "path";
import { Parser } from "node-sql-parser";
import { DOCUMENTED_ROLE, documentedStatements } from "../e2e/support/grants";

// eslint-disable-next-line @typescript-eslint/no-require-imports
const reseed = require(path.join(__dirname, "..", "..", "src", "scripts", "reseed.js"));

const parser = new Parser();
const parsesAsTransactSql = (statement: string) => parser.astify(statement, { database: "transactsql" });

const hash = (text: string) => crypto.createHash("sha256").update(text, "utf8").digest("base64");
const DESIRED = {
  ClientId: "NewClientId00002",
  ClientName: "Creatio",
  SecretHashes: [hash("new secret")],
  AllowedGrantTypes: ["client_credentials"],
  AllowedScopes: ["register_own_resource", "IdentityServerApi"],
  RedirectUris: [],
  PostLogoutRedirectUris: [],
  Properties: { AllowedQueryParameters: '["invitationHash","targetSubject"]' },
  IdentityTokenLifetime: 300,
  AccessTokenLifetime: 3600,
};

/** IdentityServer4 4.x's client tables: the required columns (ConfigurationDb.sql), as sys.columns describes them. */
const REQUIRED: Record<string, string[]> = {
  Clients: ["Enabled", "ClientId", "ProtocolType", "RequireClientSecret", "RequireConsent", "AllowRememberConsent", "AlwaysIncludeUserClaimsInIdToken",
    "RequirePkce", "AllowPlainTextPkce", "RequireRequestObject", "AllowAccessTokensViaBrowser", "FrontChannelLogoutSessionRequired",
    "BackChannelLogoutSessionRequired", "AllowOfflineAccess", "IdentityTokenLifetime", "AccessTokenLifetime", "AuthorizationCodeLifetime",
    "AbsoluteRefreshTokenLifetime", "SlidingRefreshTokenLifetime", "RefreshTokenUsage", "UpdateAccessTokenClaimsOnRefresh",
    "RefreshTokenExpiration", "AccessTokenType", "EnableLocalLogin", "IncludeJwtId", "AlwaysSendClientClaims", "Created", "DeviceCodeLifetime", "NonEditable"],
  ClientGrantTypes: ["GrantType", "ClientId"],
  ClientScopes: ["Scope", "ClientId"],
  ClientRedirectUris: ["RedirectUri", "ClientId"],
  ClientPostLogoutRedirectUris: ["PostLogoutRedirectUri", "ClientId"],
  ClientProperties: ["Key", "Value", "ClientId"],
  ClientSecrets: ["Value", "Type", "Created", "ClientId"],
};

/** Their nullable, defaulted or identity columns. */
const OPTIONAL: Record<string, string[]> = {
  Clients: ["Id", "ClientName", "Description", "ClientUri", "LogoUri", "ConsentLifetime", "ClientClaimsPrefix", "Updated", "LastAccessed"],
  ClientSecrets: ["Id", "Description", "Expiration"],
};

interface Row {
  Id: number;
  ClientId: string;
  /** What "ClientRedirectUris" holds for it (none unless given). */
  redirectUris?: string[];
}

/** The tables with a foreign key to "Clients" in IdentityServer4 4.x's ConfigurationDb.sql: the six it writes, then the others. */
const CHILD_TABLES = ["ClientGrantTypes", "ClientScopes", "ClientRedirectUris", "ClientPostLogoutRedirectUris", "ClientProperties", "ClientSecrets"];
const OTHER_REFERENCING_TABLES = ["ClientClaims", "ClientCorsOrigins", "ClientIdPRestrictions"];

/**
 * A stand-in of the `mssql` module's Request for one scenario: records every statement and answers it from its shape.
 * `clients` are the rows "Clients" holds, matched case-insensitively as SQL Server's default collation does;
 * `denied` the permissions HAS_PERMS_BY_NAME answers 0 for, as the grant check names them.
 */
function recordingSql(clients: Row[], statements: string[], denied: string[] = [], otherReferencingTables = ["ClientClaims"]) {
  const stored = (clientId: string) => clients.filter(row => row.ClientId.toLowerCase() === clientId.toLowerCase());
  class Request {
    private readonly inputs = new Map<string, unknown>();
    input(name: string, typeOrValue: unknown, value?: unknown) {
      this.inputs.set(name, value === undefined ? typeOrValue : value);
      return this;
    }
    async query(text: string) {
      statements.push(text);
      const answer = (recordset: object[], rowsAffected = [recordset.length]) => ({ recordset, rowsAffected });
      if (/^SELECT USER_NAME\(\) AS name$/.test(text)) return answer([{ name: "reseed" }]);
      if (/^SELECT HAS_PERMS_BY_NAME\(@table, N'OBJECT', @privilege\) AS granted$/.test(text)) {
        return answer([{ granted: denied.includes(`${this.inputs.get("privilege")} on ${this.inputs.get("table")}`) ? 0 : 1 }]);
      }
      if (/AS canSelect/.test(text)) {
        return answer(
          [...CHILD_TABLES, ...otherReferencingTables].map(table => {
            const name = `[dbo].[${table}]`;
            const granted = (permission: string) => (denied.includes(`${permission} on ${name}`) ? 0 : 1);
            return { name, column: "[ClientId]", table, canSelect: granted("SELECT ([ClientId])"), canDelete: granted("DELETE") };
          }),
        );
      }
      if (/AS \[schema\]/.test(text)) return answer([{ id: 101, schema: "[dbo]" }]);
      if (/SELECT name FROM sys\.columns/.test(text)) return answer([{ name: "Created" }]);
      if (/FROM sys\.columns c/.test(text)) {
        const table = /\[(\w+)\]$/.exec(String(this.inputs.get("table")))![1];
        const optional = OPTIONAL[table] ?? ["Id"];
        return answer([...optional.map(name => ({ name, required: 0 })), ...(REQUIRED[table] ?? []).map(name => ({ name, required: 1 }))]);
      }
      if (/OBJECT_ID\(@table, N'U'\) AS id/.test(text)) return answer([{ id: 202 }]);
      if (/FROM sys\.foreign_keys/.test(text)) return answer([{ name: "[dbo].[ClientScopes]", column: "[ClientId]", referenced: "[Id]", columns: 1 }]);
      if (/^SELECT \[Id\], \[ClientId\], \[Enabled\]/.test(text)) {
        return answer(stored(String(this.inputs.get("clientId"))).map(row => ({ ...row, Enabled: true, ClientName: "edited", IdentityTokenLifetime: 300, AccessTokenLifetime: 3600 })));
      }
      if (/^SELECT \[Id\], \[ClientId\] FROM/.test(text)) {
        const ids = [...this.inputs.entries()].filter(([key]) => /^(id\d+|clientId)$/.test(key)).map(([, v]) => String(v));
        return answer(clients.filter(row => ids.some(id => id.toLowerCase() === row.ClientId.toLowerCase())));
      }
      if (/^SELECT \[Value\] FROM/.test(text)) return answer([{ Value: hash("old secret") }]);
      if (/^SELECT \[RedirectUri\] AS v FROM/.test(text)) {
        return answer((clients.find(row => row.Id === this.inputs.get("id"))?.redirectUris ?? []).map(v => ({ v })));
      }
      if (/^SELECT \[Key\], \[Value\]/.test(text)) return answer([]);
      if (/^SELECT/.test(text)) return answer([]);
      if (/^INSERT INTO .*\[Clients\]/.test(text)) {
        const columns = /\(([^)]*)\) VALUES/.exec(text)![1].split(", ");
        clients.push({ Id: 900 + clients.length, ClientId: String(this.inputs.get(`v${columns.indexOf("[ClientId]")}`)) });
      }
      if (/^UPDATE .*\[Clients\] SET /.test(text)) {
        const columns = /SET (.*) WHERE/.exec(text)![1].split(", ").map(assignment => assignment.split(" = "));
        const clientId = columns.find(([column]) => column === "[ClientId]")![1].slice(1);
        const row = clients.find(candidate => candidate.Id === this.inputs.get("id"))!;
        row.ClientId = String(this.inputs.get(clientId));
      }
      if (/^DELETE FROM .*\[Clients\] WHERE \[Id\] IN/.test(text)) {
        const ids = [...this.inputs.entries()].filter(([key]) => key.startsWith("row")).map(([, v]) => v);
        for (let i = clients.length - 1; i >= 0; i--) if (ids.includes(clients[i].Id)) clients.splice(i, 1);
      }
      return answer([], [1]);
    }
  }
  return { Request, NVarChar: (n: number) => `nvarchar(${n})`, Int: "int" };
}

async function statementsOf(clients: Row[], step: (store: unknown) => Promise<unknown>, denied: string[] = []): Promise<string[]> {
  const statements: string[] = [];
  await step(reseed.msSqlStore({}, recordingSql(clients, statements, denied)));
  return statements;
}

describe("reseed.js: the SQL Server dialect parses as T-SQL", () => {
  const scenarios: Array<[string, Row[], (store: unknown) => Promise<unknown>]> = [
    ["prepare inserts a missing client", [{ Id: 1, ClientId: "OtherClient00003" }], store => reseed.prepare(store, DESIRED, undefined)],
    ["prepare replaces a differing client in place", [{ Id: 1, ClientId: DESIRED.ClientId }], store => reseed.prepare(store, DESIRED, undefined)],
    ["prepare replaces an id that differs only in case", [{ Id: 1, ClientId: DESIRED.ClientId.toUpperCase() }], store => reseed.prepare(store, DESIRED, undefined)],
    [
      "prepare keeps the exact id and deletes another that differs only in case",
      [{ Id: 1, ClientId: DESIRED.ClientId }, { Id: 2, ClientId: DESIRED.ClientId.toLowerCase() }],
      store => reseed.prepare(store, DESIRED, undefined),
    ],
    [
      "prepare adds a new secret",
      [{ Id: 1, ClientId: DESIRED.ClientId }],
      // The stored client as the recording stand-in answers it (name "edited", no list rows), with another secret.
      store => reseed.prepare(store, { ...DESIRED, ClientName: "edited", AllowedGrantTypes: [], AllowedScopes: [], Properties: {} }, undefined),
    ],
    [
      "retire removes the redirect URIs of a grant type the client no longer has",
      [{ Id: 1, ClientId: DESIRED.ClientId, redirectUris: ["https://creatio.example.com", "https://creatio.example.com/lib"] }],
      // The client as the recording stand-in answers it (name "edited", no grant type, its old secret), after the
      // prepare step dropped its implicit grant and kept the redirect URIs.
      store => reseed.retire(store, { ...DESIRED, ClientName: "edited", AllowedGrantTypes: [], AllowedScopes: [], Properties: {}, SecretHashes: [hash("old secret")] }, undefined, []),
    ],
    [
      "retire removes a replaced client and another secret",
      [{ Id: 1, ClientId: DESIRED.ClientId }, { Id: 2, ClientId: "OldClientId00001" }],
      store => reseed.retire(store, { ...DESIRED, ClientName: "edited" }, { clientId: "OldClientId00001", restartToken: "", pendingClientIds: [] }, []),
    ],
  ];

  for (const [title, clients, step] of scenarios) {
    it(`${title}: every statement`, async () => {
      const rows = clients.map(row => ({ ...row }));
      const statements = await statementsOf(rows, step);
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
