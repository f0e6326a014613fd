// The recording stand-in of `mssql` and the scenarios of the SQL Server dialect, shared by the T-SQL test
// (test/scripts/reseedTransactSql.test.ts) and the `server` runner's test (test/reseedServer.pwsh.test.ts), where the
// stand-in answers what the stand-in SqlClient on the server sends it.
import * as crypto from "crypto";
import * as path from "path";

// eslint-disable-next-line @typescript-eslint/no-require-imports
export const reseed = require(path.join(__dirname, "..", "..", "src", "scripts", "reseed.js"));

export const hash = (text: string) => crypto.createHash("sha256").update(text, "utf8").digest("base64");
export const DESIRED = {
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
export const REQUIRED: Record<string, string[]> = {
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
export const OPTIONAL: Record<string, string[]> = {
  Clients: ["Id", "ClientName", "Description", "ClientUri", "LogoUri", "ConsentLifetime", "ClientClaimsPrefix", "Updated", "LastAccessed"],
  ClientSecrets: ["Id", "Description", "Expiration"],
};

export interface Row {
  Id: number;
  ClientId: string;
  /** What "ClientRedirectUris" holds for it (none unless given). */
  redirectUris?: string[];
}

/** The tables with a foreign key to "Clients" in IdentityServer4 4.x's ConfigurationDb.sql: the six it writes, then the others. */
export const CHILD_TABLES = ["ClientGrantTypes", "ClientScopes", "ClientRedirectUris", "ClientPostLogoutRedirectUris", "ClientProperties", "ClientSecrets"];
export const OTHER_REFERENCING_TABLES = ["ClientClaims", "ClientCorsOrigins", "ClientIdPRestrictions"];

/**
 * A stand-in of the `mssql` module's Request for one scenario: records every statement and answers it from its shape.
 * `clients` are the rows "Clients" holds, matched case-insensitively as SQL Server's default collation does;
 * `denied` the permissions HAS_PERMS_BY_NAME answers 0 for, as the grant check names them.
 */
export function recordingSql(clients: Row[], statements: string[], denied: string[] = [], otherReferencingTables = ["ClientClaims"]) {
  const stored = (clientId: string) => clients.filter(row => row.ClientId.toLowerCase() === clientId.toLowerCase());
  class Request {
    readonly inputs = new Map<string, unknown>();
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

/** What one step is given: its action, the configured client, and its previous result. */
export interface StepInput {
  readonly action: "prepare" | "retire";
  readonly client: Omit<typeof DESIRED, "Properties"> & { readonly Properties: Record<string, string> };
  readonly previous?: { clientId: string; restartToken: string; pendingClientIds: string[] };
}

/** The scenarios both the T-SQL test and the `server` runner's test run: a title, the rows of "Clients", the step. */
export const SCENARIOS: Array<[string, Row[], StepInput]> = [
  ["prepare inserts a missing client", [{ Id: 1, ClientId: "OtherClient00003" }], { action: "prepare", client: DESIRED }],
  ["prepare replaces a differing client in place", [{ Id: 1, ClientId: DESIRED.ClientId }], { action: "prepare", client: DESIRED }],
  ["prepare replaces an id that differs only in case", [{ Id: 1, ClientId: DESIRED.ClientId.toUpperCase() }], { action: "prepare", client: DESIRED }],
  [
    "prepare keeps the exact id and deletes another that differs only in case",
    [{ Id: 1, ClientId: DESIRED.ClientId }, { Id: 2, ClientId: DESIRED.ClientId.toLowerCase() }],
    { action: "prepare", client: DESIRED },
  ],
  [
    "prepare adds a new secret",
    [{ Id: 1, ClientId: DESIRED.ClientId }],
    // The stored client as the recording stand-in answers it (name "edited", no list rows), with another secret.
    { action: "prepare", client: { ...DESIRED, ClientName: "edited", AllowedGrantTypes: [], AllowedScopes: [], Properties: {} } },
  ],
  [
    "retire removes the redirect URIs of a grant type the client no longer has",
    [{ Id: 1, ClientId: DESIRED.ClientId, redirectUris: ["https://creatio.example.com", "https://creatio.example.com/lib"] }],
    // The client as the recording stand-in answers it (name "edited", no grant type, its old secret), after the
    // prepare step dropped its implicit grant and kept the redirect URIs.
    { action: "retire", client: { ...DESIRED, ClientName: "edited", AllowedGrantTypes: [], AllowedScopes: [], Properties: {}, SecretHashes: [hash("old secret")] } },
  ],
  [
    "retire removes a replaced client and another secret",
    [{ Id: 1, ClientId: DESIRED.ClientId }, { Id: 2, ClientId: "OldClientId00001" }],
    { action: "retire", client: { ...DESIRED, ClientName: "edited" }, previous: { clientId: "OldClientId00001", restartToken: "", pendingClientIds: [] } },
  ],
];

/** The step of a scenario, on a store. */
export function stepOf(input: StepInput): (store: unknown) => Promise<{ output: Record<string, unknown>; note: string }> {
  return store => (input.action === "prepare" ? reseed.prepare(store, input.client, input.previous) : reseed.retire(store, input.client, input.previous, []));
}
