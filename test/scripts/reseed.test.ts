// Tests for src/scripts/reseed.js that need no database server: connection-string mapping, the
// re-seed decision, previous-stdout parsing and error messages. The last block runs the real script as a
// child process (the command provider's contract: env + stdin -> one JSON line on stdout).
import { strict as assert } from "assert";
import { spawn } from "child_process";
import * as crypto from "crypto";
import * as path from "path";
import fc from "fast-check";

const scriptPath = path.join(__dirname, "..", "..", "src", "scripts", "reseed.js");

interface PgConfig {
  host: string;
  port: number;
  database?: string;
  user?: string;
  password?: string;
  ssl: false | { rejectUnauthorized: boolean };
  connectionTimeoutMillis: number;
  statement_timeout: number;
  options?: string;
}
interface Previous {
  clientId: string;
  restartToken: string;
  pendingClientIds: string[];
}
interface Desired {
  ClientId: string;
  ClientName: string;
  SecretHashes: string[];
  AllowedGrantTypes: string[];
  AllowedScopes: string[];
  RedirectUris: string[];
  PostLogoutRedirectUris: string[];
  Properties: Record<string, string>;
  IdentityTokenLifetime: number;
  AccessTokenLifetime: number;
}
type Stored = Omit<Desired, "ClientId" | "Properties"> & { Id: number; Enabled: boolean; Properties?: Record<string, string> };
type Columns = Record<string, Array<{ name: string; required: boolean }> | undefined>;
interface Insertion {
  problems: string[];
  client: Record<string, unknown>;
  children: Array<{ table: string; rows: Array<Record<string, unknown>> }>;
  childTables: string[];
}
interface Store {
  missingGrants(): Promise<{ user: string; missing: Array<{ privilege: string; grant: string }> }>;
  lockClients(): Promise<void>;
  tablesExist(): Promise<boolean>;
  readClient(clientId: string): Promise<{ stored: Stored | undefined; collidingClientIds: string[] }>;
  deleteClients(clientIds: string[]): Promise<{ deletedClients: number; deletedChildRows: number }>;
  columns(tables: string[]): Promise<Columns>;
  insertClient(insertion: Insertion): Promise<{ childRows: number }>;
  replaceClient(clientId: string, replacement: Insertion): Promise<{ deletedChildRows: number; childRows: number }>;
  addSecrets(stored: Stored, hashes: string[]): Promise<number>;
  deleteSecrets(stored: Stored, hashes: string[]): Promise<number>;
  deleteRedirectUris(stored: Stored): Promise<number>;
}
type WithStore = (connectionString: string, work: (store: Store) => Promise<unknown>) => Promise<unknown>;
interface ReseedModule {
  ConfigError: new (message: string) => Error;
  pgConfigFromConnectionString(connectionString: string): PgConfig;
  parsePreviousOutput(stdout: string | undefined): Previous | undefined;
  clientDifferences(desired: Desired, stored: Stored): string[];
  planPrepare(
    desired: Desired,
    stored: Stored | undefined,
    collidingClientIds?: string[],
  ): {
    action: "none" | "insert" | "replace" | "addSecrets";
    secretHashes?: string[];
    updateClientId?: string;
    deleteClientIds?: string[];
    keepRedirectUris?: string[];
    reason: string;
  };
  planInsertion(desired: Desired, columns: Columns, now: Date): Insertion;
  matchClientId(rows: Array<{ ClientId: string }>, clientId: string): { exact?: { ClientId: string }; colliding: string[] };
  planRetire(
    desired: Desired,
    stored: Stored | undefined,
    previous: Previous | undefined,
    supersededClientIds?: string[],
  ): { action: "none" | "retire"; clientIds: string[]; secretHashes: string[]; redirectUris: string[]; pendingClientIds: string[] };
  describeError(err: unknown, provider: string, connectionString: string): string;
  run(
    args: { provider: string | undefined; stdinText: string; previousStdout: string | undefined },
    stores?: Record<string, WithStore>,
  ): Promise<{ output: Record<string, unknown>; note: string }>;
}
// eslint-disable-next-line @typescript-eslint/no-require-imports
const reseed: ReseedModule = require(scriptPath);

/** IdentityServer4's stored form of a shared secret. */
const hash = (text: string) => crypto.createHash("sha256").update(text, "utf8").digest("base64");
const HASH_A = hash("secret A");
const HASH_B = hash("secret B");
const DESIRED: Desired = {
  ClientId: "new-client-id-16",
  ClientName: "Creatio",
  SecretHashes: [HASH_B],
  AllowedGrantTypes: ["implicit", "client_credentials"],
  AllowedScopes: ["IdentityServerApi", "get_client_info"],
  RedirectUris: ["https://c.example", "https://c.example/lib"],
  PostLogoutRedirectUris: ["https://c.example"],
  Properties: { AllowedQueryParameters: '["invitationHash","targetSubject"]' },
  IdentityTokenLifetime: 300,
  AccessTokenLifetime: 3600,
};
/** The rows the service stores for `DESIRED`, lists in another order (the database keeps no order). */
const storedAs = (desired: Desired, changes: Partial<Stored> = {}): Stored => {
  return {
    ClientName: desired.ClientName,
    SecretHashes: desired.SecretHashes,
    RedirectUris: desired.RedirectUris,
    PostLogoutRedirectUris: desired.PostLogoutRedirectUris,
    IdentityTokenLifetime: desired.IdentityTokenLifetime,
    AccessTokenLifetime: desired.AccessTokenLifetime,
    Properties: { ...desired.Properties },
    Id: 7,
    Enabled: true,
    AllowedGrantTypes: [...desired.AllowedGrantTypes].reverse(),
    AllowedScopes: [...desired.AllowedScopes].reverse(),
    ...changes,
  };
};
const PASSWORD = "S3cret-Pa55;word'with\"quotes";
/** ADO.NET quoting: double quotes around the value, inner double quotes doubled. */
const quote = (value: string) => `"${value.replace(/"/g, '""')}"`;

describe("reseed.js: Npgsql connection string -> pg options", () => {
  it("maps the string Creatio uses for PostgreSQL", () => {
    const c = reseed.pgConfigFromConnectionString(
      "Server=127.0.0.1;Port=5432;Database=creatio;User ID=puser;password=ppass;Timeout=500; CommandTimeout=400;MaxPoolSize=1024;",
    );
    assert.equal(c.host, "127.0.0.1");
    assert.equal(c.port, 5432);
    assert.equal(c.database, "creatio");
    assert.equal(c.user, "puser");
    assert.equal(c.password, "ppass");
    assert.equal(c.ssl, false);
    assert.equal(c.connectionTimeoutMillis, 500_000);
    assert.equal(c.statement_timeout, 400_000);
  });

  it("defaults the port to 5432 and the timeouts to Npgsql's", () => {
    const c = reseed.pgConfigFromConnectionString("Host=db.example;Database=creatio;Username=u;Password=p");
    assert.equal(c.host, "db.example");
    assert.equal(c.port, 5432);
    assert.equal(c.connectionTimeoutMillis, 15_000);
    assert.equal(c.statement_timeout, 30_000);
  });

  it("reads keys in any casing, with or without spaces, and every user/password alias", () => {
    const cases: Array<[string, string, string]> = [
      ["SERVER=h;pOrT=6543;DataBase=d;USER ID=u1;PassWord=p1", "u1", "p1"],
      ["server=h;port=6543;database=d;UserName=u2;PWD=p2", "u2", "p2"],
      ["Server=h;Port=6543;Database=d;User Name=u3;PSW=p3", "u3", "p3"],
      ["Server=h;Port=6543;Database=d;UserId=u4;Password=p4", "u4", "p4"],
      ["Server=h;Port=6543;DB=d;UID=u5;Password=p5", "u5", "p5"],
    ];
    for (const [connectionString, user, password] of cases) {
      const c = reseed.pgConfigFromConnectionString(connectionString);
      assert.deepEqual([c.host, c.port, c.database, c.user, c.password], ["h", 6543, "d", user, password], connectionString);
    }
  });

  it("keeps quoted values whole: semicolons, equals signs, doubled quotes, spaces", () => {
    const c = reseed.pgConfigFromConnectionString(
      `Server=h;Password="a;b=c""d ";User ID='it''s me';Database={my;db}`,
    );
    assert.equal(c.password, 'a;b=c"d ');
    assert.equal(c.user, "it's me");
    assert.equal(c.database, "my;db");
  });

  it("round-trips any ASCII password quoted the ADO.NET way", () => {
    fc.assert(
      fc.property(fc.string({ unit: "grapheme-ascii" }), (password) => {
        const c = reseed.pgConfigFromConnectionString(`Server=h;Password=${quote(password)};Database=d`);
        return c.password === password && c.database === "d";
      }),
      { numRuns: 500 },
    );
  });

  it("takes the port from Host=host:port and the first of several hosts; Port wins", () => {
    assert.deepEqual(pick(reseed.pgConfigFromConnectionString("Host=db1:6000,db2:6001;Database=d")), ["db1", 6000]);
    assert.deepEqual(pick(reseed.pgConfigFromConnectionString("Host=[::1]:6002;Database=d")), ["::1", 6002]);
    assert.deepEqual(pick(reseed.pgConfigFromConnectionString("Host=db1:6000;Port=7000;Database=d")), ["db1", 7000]);
    function pick(c: PgConfig) {
      return [c.host, c.port];
    }
  });

  it("maps SSL Mode (and SslMode) to pg's ssl option", () => {
    const ssl = (extra: string) => reseed.pgConfigFromConnectionString(`Server=h;Database=d;${extra}`).ssl;
    assert.equal(ssl("SSL Mode=Disable"), false);
    assert.equal(ssl("SslMode=Prefer"), false);
    assert.deepEqual(ssl("SSL Mode=Require"), { rejectUnauthorized: false });
    assert.deepEqual(ssl("sslmode=verify-full"), { rejectUnauthorized: true });
    assert.deepEqual(ssl("SSL Mode=VerifyFull;Trust Server Certificate=true"), { rejectUnauthorized: false });
    assert.equal((ssl("SSL Mode=VerifyCA") as { rejectUnauthorized: boolean }).rejectUnauthorized, true);
    assert.throws(() => ssl("SSL Mode=Sometimes"), /SSL Mode "Sometimes" is not known/);
  });

  it("passes Search Path on as the session's search_path", () => {
    const c = reseed.pgConfigFromConnectionString("Server=h;Database=d;Search Path=identity, public");
    assert.equal(c.options, "-c search_path=identity,\\ public");
  });

  it("rejects strings without a server, bad numbers and unparseable quoting without echoing them", () => {
    assert.throws(() => reseed.pgConfigFromConnectionString("Database=d;Password=topsecret"), (err: Error) => {
      assert.ok(err instanceof reseed.ConfigError);
      assert.match(err.message, /no Server \(or Host\)/);
      assert.doesNotMatch(err.message, /topsecret/);
      return true;
    });
    assert.throws(() => reseed.pgConfigFromConnectionString("Server=h;Port=fifty"), /Port must be a whole number/);
    assert.throws(() => reseed.pgConfigFromConnectionString("  "), /connection string is empty/);
    assert.throws(() => reseed.pgConfigFromConnectionString('Server=h;Password="topsecret'), (err: Error) => {
      assert.match(err.message, /cannot be parsed: check its quoting/);
      assert.doesNotMatch(err.message, /topsecret/);
      return true;
    });
  });
});

describe("reseed.js: previous stdout", () => {
  it("reads the JSON line the step printed last time", () => {
    const line = JSON.stringify({ clientId: "old-client-id-16", deletedClients: 1, addedSecrets: 0, restartToken: "0123456789abcdef" });
    const expected = { clientId: "old-client-id-16", restartToken: "0123456789abcdef", pendingClientIds: [] };
    assert.deepEqual(reseed.parsePreviousOutput(line), expected);
    assert.deepEqual(reseed.parsePreviousOutput(`some warning\r\n${line}\r\n\r\n`), expected);
  });

  it("takes the last JSON line, and the retire step's pending ids", () => {
    const first = JSON.stringify({ clientId: "a" });
    const last = JSON.stringify({ clientId: "b", retiredClients: 0, pendingClientIds: ["old", "", 3] });
    assert.deepEqual(reseed.parsePreviousOutput(`${first}\n${last}`), { clientId: "b", restartToken: "", pendingClientIds: ["old"] });
  });

  it("returns undefined on a create (no previous output) or for output that is not the script's", () => {
    for (const stdout of [undefined, "", "\n", "not json", "[1,2]", '{"clientHash":"x"}', '{"clientId":""}', "null", '"text"']) {
      assert.equal(reseed.parsePreviousOutput(stdout), undefined, String(stdout));
    }
  });
});

/** IdentityServer4 4.x's client tables, as its EF migration creates them (ConfigurationDb.sql): every column NOT NULL that has no default. */
const IS4_COLUMNS: Columns = {
  Clients: [
    { name: "Id", required: false },
    ...["Enabled", "ClientId", "ProtocolType", "RequireClientSecret", "RequireConsent", "AllowRememberConsent", "AlwaysIncludeUserClaimsInIdToken",
      "RequirePkce", "AllowPlainTextPkce", "RequireRequestObject", "AllowAccessTokensViaBrowser", "FrontChannelLogoutSessionRequired",
      "BackChannelLogoutSessionRequired", "AllowOfflineAccess", "IdentityTokenLifetime", "AccessTokenLifetime", "AuthorizationCodeLifetime",
      "AbsoluteRefreshTokenLifetime", "SlidingRefreshTokenLifetime", "RefreshTokenUsage", "UpdateAccessTokenClaimsOnRefresh",
      "RefreshTokenExpiration", "AccessTokenType", "EnableLocalLogin", "IncludeJwtId", "AlwaysSendClientClaims", "Created",
      "DeviceCodeLifetime", "NonEditable"].map((name) => ({ name, required: true })),
    ...["ClientName", "Description", "ClientUri", "LogoUri", "FrontChannelLogoutUri", "BackChannelLogoutUri", "AllowedIdentityTokenSigningAlgorithms",
      "ConsentLifetime", "ClientClaimsPrefix", "PairWiseSubjectSalt", "Updated", "LastAccessed", "UserSsoLifetime", "UserCodeType"].map((name) => ({ name, required: false })),
  ],
  ClientGrantTypes: [{ name: "Id", required: false }, { name: "GrantType", required: true }, { name: "ClientId", required: true }],
  ClientScopes: [{ name: "Id", required: false }, { name: "Scope", required: true }, { name: "ClientId", required: true }],
  ClientRedirectUris: [{ name: "Id", required: false }, { name: "RedirectUri", required: true }, { name: "ClientId", required: true }],
  ClientPostLogoutRedirectUris: [{ name: "Id", required: false }, { name: "PostLogoutRedirectUri", required: true }, { name: "ClientId", required: true }],
  ClientProperties: [{ name: "Id", required: false }, { name: "Key", required: true }, { name: "Value", required: true }, { name: "ClientId", required: true }],
  ClientSecrets: [
    { name: "Id", required: false },
    { name: "Description", required: false },
    { name: "Value", required: true },
    { name: "Expiration", required: false },
    { name: "Type", required: true },
    { name: "Created", required: true },
    { name: "ClientId", required: true },
  ],
};
const NOW = new Date("2026-12-05T10:00:00Z");

describe("reseed.js: the decisions, from the stored rows", () => {
  it("compares lists as sets and secrets apart", () => {
    assert.deepEqual(reseed.clientDifferences(DESIRED, storedAs(DESIRED)), []);
    assert.deepEqual(reseed.clientDifferences(DESIRED, storedAs(DESIRED, { SecretHashes: [HASH_A] })), []);
    assert.deepEqual(
      reseed.clientDifferences(DESIRED, storedAs(DESIRED, { Enabled: false, AccessTokenLifetime: 60, RedirectUris: [], ClientName: "x" })),
      ["Enabled", "ClientName", "AccessTokenLifetime", "RedirectUris"],
    );
    assert.deepEqual(reseed.clientDifferences(DESIRED, storedAs(DESIRED, { Properties: {} })), ["Properties"]);
    assert.deepEqual(reseed.clientDifferences(DESIRED, storedAs(DESIRED, { Properties: undefined })), [], "no ClientProperties table: not compared");
  });

  it("prepare: inserts a missing client itself, whatever rule the service seeds by; nothing when it matches", () => {
    assert.deepEqual(reseed.planPrepare(DESIRED, undefined), { action: "insert", reason: "the client is not in the database" });
    assert.equal(reseed.planPrepare(DESIRED, storedAs(DESIRED)).action, "none");
    // An older secret next to the configured one is the retire step's business.
    assert.equal(reseed.planPrepare(DESIRED, storedAs(DESIRED, { SecretHashes: [HASH_A, HASH_B] })).action, "none");
  });

  it("prepare: a new secret is added next to the old one; any other difference replaces the client in place", () => {
    assert.deepEqual(reseed.planPrepare(DESIRED, storedAs(DESIRED, { SecretHashes: [HASH_A] })), {
      action: "addSecrets",
      secretHashes: [HASH_B],
      reason: "a new secret: added next to the current one",
    });
    const changed = reseed.planPrepare(DESIRED, storedAs(DESIRED, { SecretHashes: [HASH_A], IdentityTokenLifetime: 1 }));
    assert.equal(changed.action, "replace");
    assert.equal(changed.updateClientId, DESIRED.ClientId, "its row is kept");
    assert.deepEqual(changed.deleteClientIds, [], "no client is deleted");
    assert.match(changed.reason, /IdentityTokenLifetime/);
  });

  it("matches client ids exactly, as IdentityServer4 does after a case-insensitive query", () => {
    const rows = [{ ClientId: "NEW-CLIENT-ID-16" }, { ClientId: DESIRED.ClientId }, { ClientId: "New-Client-Id-16" }];
    assert.deepEqual(reseed.matchClientId(rows, DESIRED.ClientId), { exact: rows[1], colliding: ["NEW-CLIENT-ID-16", "New-Client-Id-16"] });
    assert.deepEqual(reseed.matchClientId(rows.slice(0, 1), DESIRED.ClientId), { exact: undefined, colliding: ["NEW-CLIENT-ID-16"] });
    // A client id that differs only in case holds the configured one under the collation: its row takes the configured id.
    const plan = reseed.planPrepare(DESIRED, undefined, ["NEW-CLIENT-ID-16"]);
    assert.equal(plan.action, "replace");
    assert.equal(plan.updateClientId, "NEW-CLIENT-ID-16");
    assert.deepEqual(plan.deleteClientIds, []);
    assert.match(plan.reason, /"NEW-CLIENT-ID-16" differs from "new-client-id-16" only in case/);
    // Several rows hold it: the exact one is kept, else the first; the others are deleted.
    const withExact = reseed.planPrepare(DESIRED, storedAs(DESIRED), ["NEW-CLIENT-ID-16", "New-Client-Id-16"]);
    assert.deepEqual([withExact.action, withExact.updateClientId, withExact.deleteClientIds], ["replace", DESIRED.ClientId, ["NEW-CLIENT-ID-16", "New-Client-Id-16"]]);
    const withoutExact = reseed.planPrepare(DESIRED, undefined, ["NEW-CLIENT-ID-16", "New-Client-Id-16"]);
    assert.deepEqual([withoutExact.updateClientId, withoutExact.deleteClientIds], ["NEW-CLIENT-ID-16", ["New-Client-Id-16"]]);
  });


  it("insertion: fills every required column of IdentityServer4's schema, with IdentityServer4's own defaults", () => {
    const insertion = reseed.planInsertion(DESIRED, IS4_COLUMNS, NOW);
    assert.deepEqual(insertion.problems, []);
    assert.equal(insertion.client.ClientId, DESIRED.ClientId);
    assert.equal(insertion.client.ClientName, "Creatio");
    assert.equal(insertion.client.Enabled, true);
    assert.equal(insertion.client.ProtocolType, "oidc");
    assert.equal(insertion.client.RequireClientSecret, true);
    assert.equal(insertion.client.Created, NOW);
    assert.ok(!("Id" in insertion.client), "the identity column is left to the database");
    const required = IS4_COLUMNS.Clients!.filter((c) => c.required).map((c) => c.name);
    assert.deepEqual(required.filter((name) => !(name in insertion.client)), []);
    assert.deepEqual(
      insertion.children.map((child) => [child.table, child.rows.length]),
      [["ClientGrantTypes", 2], ["ClientScopes", 2], ["ClientRedirectUris", 2], ["ClientPostLogoutRedirectUris", 1], ["ClientProperties", 1], ["ClientSecrets", 1]],
    );
    assert.deepEqual(insertion.children.at(-1)!.rows, [{ Value: HASH_B, Type: "SharedSecret", Created: NOW }]);
    assert.deepEqual(insertion.children[4].rows, [{ Key: "AllowedQueryParameters", Value: '["invitationHash","targetSubject"]' }]);
    assert.deepEqual(insertion.childTables, insertion.children.map((child) => child.table));
  });

  it("insertion: names every child table it writes that exists, also those the client has no rows in (a replacement empties them)", () => {
    const withoutUris = reseed.planInsertion({ ...DESIRED, RedirectUris: [], PostLogoutRedirectUris: [], Properties: {} }, IS4_COLUMNS, NOW);
    assert.deepEqual(withoutUris.children.map((child) => child.table), ["ClientGrantTypes", "ClientScopes", "ClientSecrets"]);
    assert.deepEqual(withoutUris.childTables, [
      "ClientGrantTypes", "ClientScopes", "ClientRedirectUris", "ClientPostLogoutRedirectUris", "ClientProperties", "ClientSecrets",
    ]);
    // Never a table it does not write ("ClientClaims" and the like belong to others), nor one that is missing.
    assert.ok(!reseed.planInsertion(DESIRED, { ...IS4_COLUMNS, ClientProperties: undefined }, NOW).childTables.includes("ClientProperties"));
  });

  it("insertion: leaves out columns an older schema lacks and properties it has no table for", () => {
    const older: Columns = { ...IS4_COLUMNS, Clients: IS4_COLUMNS.Clients!.filter((c) => c.name !== "RequireRequestObject"), ClientProperties: undefined };
    const insertion = reseed.planInsertion(DESIRED, older, NOW);
    assert.deepEqual(insertion.problems, []);
    assert.ok(!("RequireRequestObject" in insertion.client));
    assert.ok(!insertion.children.some((child) => child.table === "ClientProperties"));
  });

  it("insertion: a required column it cannot fill, or a missing table, is a problem", () => {
    const custom: Columns = {
      ...IS4_COLUMNS,
      Clients: [...IS4_COLUMNS.Clients!, { name: "TenantId", required: true }],
      ClientRedirectUris: undefined,
    };
    assert.deepEqual(reseed.planInsertion(DESIRED, custom, NOW).problems, [
      '"Clients"."TenantId" requires a value (NOT NULL, no default) that this script does not know',
      'table "ClientRedirectUris" does not exist',
    ]);
  });

  it("retire: removes the previous client ids and the other secrets once the configured client is in service", () => {
    const previous = { clientId: "old-client-id-16", restartToken: "", pendingClientIds: ["older-client-id1", DESIRED.ClientId] };
    assert.deepEqual(reseed.planRetire(DESIRED, storedAs(DESIRED, { SecretHashes: [HASH_A, HASH_B] }), previous), {
      action: "retire",
      clientIds: ["old-client-id-16", "older-client-id1"],
      secretHashes: [HASH_A],
      redirectUris: [],
      pendingClientIds: [],
    });
    // A create (no previous output): only the configured client's other secrets.
    assert.deepEqual(reseed.planRetire(DESIRED, storedAs(DESIRED), undefined).clientIds, []);
  });

  it("prepare: a client that loses its implicit grant keeps its redirect URIs until the retire step removes them", () => {
    // The Creatio URL removed: client_credentials only, no redirect URIs.
    const withoutUrl: Desired = { ...DESIRED, AllowedGrantTypes: ["client_credentials"], RedirectUris: [], PostLogoutRedirectUris: [] };
    const dropping = reseed.planPrepare(withoutUrl, storedAs(DESIRED));
    assert.equal(dropping.action, "replace");
    assert.deepEqual(dropping.keepRedirectUris, DESIRED.RedirectUris);
    // The next state, as the prepare step wrote it: the retire step finds it in service and removes those URIs.
    const written = storedAs(withoutUrl, { RedirectUris: DESIRED.RedirectUris });
    assert.deepEqual(reseed.planRetire(withoutUrl, written, undefined), {
      action: "retire",
      clientIds: [],
      secretHashes: [],
      redirectUris: DESIRED.RedirectUris,
      pendingClientIds: [],
    });
    // Other changes keep nothing: the grant that needs them stays (new URIs), or is granted (the URL set again).
    const moved = { ...DESIRED, RedirectUris: ["https://moved.example"] };
    assert.deepEqual(reseed.planPrepare(moved, storedAs(DESIRED)).keepRedirectUris, []);
    assert.deepEqual(reseed.planPrepare(DESIRED, storedAs(withoutUrl)).keepRedirectUris, []);
    assert.deepEqual(reseed.planPrepare({ ...DESIRED, ClientName: "renamed" }, storedAs(DESIRED)).keepRedirectUris, []);
    // While implicit is still granted, the stored redirect URIs are the configuration's business: nothing is in service.
    assert.equal(reseed.planRetire(withoutUrl, storedAs(DESIRED), undefined).action, "none");
  });

  it("retire: also removes the ids the re-seed step saw replaced, when it has no previous output of its own", () => {
    const plan = reseed.planRetire(DESIRED, storedAs(DESIRED), undefined, ["old-client-id-16", DESIRED.ClientId]);
    assert.deepEqual(plan.clientIds, ["old-client-id-16"]);
  });

  it("retire: removes nothing while the configured client is missing, differs or lacks its secret, and keeps the ids pending", () => {
    const previous = { clientId: "old-client-id-16", restartToken: "", pendingClientIds: [] };
    for (const stored of [undefined, storedAs(DESIRED, { SecretHashes: [HASH_A] }), storedAs(DESIRED, { AccessTokenLifetime: 1 })]) {
      const plan = reseed.planRetire(DESIRED, stored, previous);
      assert.equal(plan.action, "none");
      assert.deepEqual(plan.clientIds, []);
      assert.deepEqual(plan.secretHashes, []);
      assert.deepEqual(plan.pendingClientIds, ["old-client-id-16"]);
    }
  });
});

describe("reseed.js: the steps against a store", () => {
  /** A database of one table of clients, in memory: records what the steps do to it. */
  function memoryStore(initial: Record<string, Stored>, log: string[], columns: Columns = {}): WithStore {
    const clients = new Map(Object.entries(initial));
    const store: Store = {
      missingGrants: async () => ({ user: "reseed", missing: [] }),
      lockClients: async () => undefined,
      tablesExist: async () => true,
      readClient: async (id) => ({
        stored: clients.has(id) ? { ...clients.get(id)! } : undefined,
        collidingClientIds: [...clients.keys()].filter((key) => key !== id && key.toLowerCase() === id.toLowerCase()),
      }),
      deleteClients: async (ids) => {
        const found = ids.filter((id) => clients.has(id));
        found.forEach((id) => clients.delete(id));
        log.push(`delete ${ids.join(",")}`);
        return { deletedClients: found.length, deletedChildRows: found.length * 3 };
      },
      columns: async (tables) => Object.fromEntries(tables.map((table) => [table, columns[table] ?? [{ name: "Id", required: false }]])),
      insertClient: async (insertion) => {
        log.push(`insert ${insertion.client.ClientId ?? "(no ClientId column)"}`);
        return { childRows: insertion.children.reduce((n, child) => n + child.rows.length, 0) };
      },
      replaceClient: async (id, replacement) => {
        const kept = clients.get(id)!;
        log.push(`replace ${id}`);
        clients.delete(id);
        clients.set(String(replacement.client.ClientId), { ...kept, ClientName: String(replacement.client.ClientName) });
        const lists = [kept.AllowedGrantTypes, kept.AllowedScopes, kept.RedirectUris, kept.PostLogoutRedirectUris, kept.SecretHashes];
        return {
          deletedChildRows: lists.reduce((n, list) => n + list.length, Object.keys(kept.Properties ?? {}).length),
          childRows: replacement.children.reduce((n, child) => n + child.rows.length, 0),
        };
      },
      addSecrets: async (_stored, hashes) => {
        log.push(`add ${hashes.length}`);
        return hashes.length;
      },
      deleteSecrets: async (_stored, hashes) => {
        log.push(`delete secrets ${hashes.length}`);
        return hashes.length;
      },
      deleteRedirectUris: async (stored) => {
        log.push(`delete redirect URIs ${stored.RedirectUris.length}`);
        return stored.RedirectUris.length;
      },
    };
    return async (_connectionString, work) => work(store);
  }
  const stdin = (action: string, client: Desired = DESIRED) => JSON.stringify({ action, connectionString: "Server=h;Database=d;Password=p", client });
  const IS4 = IS4_COLUMNS;

  it("retire after a prepare that found no tables reads nothing and checks no grant: the service seeded only the configured client", async () => {
    const log: string[] = [];
    const refusing: WithStore = async (_connectionString, work) =>
      work({
        missingGrants: async () => {
          log.push("grants checked");
          return { user: "reseed", missing: [{ privilege: "SELECT on Clients", grant: "GRANT SELECT ON Clients TO reseed;" }] };
        },
      } as unknown as Store);
    const input = JSON.stringify({ action: "retire", connectionString: "Server=h;Database=d;Password=p", client: DESIRED, tablesMissingAtPrepare: true });
    const { output, note } = (await reseed.run({ provider: "Postgres", stdinText: input, previousStdout: undefined }, { Postgres: refusing })) as {
      output: unknown;
      note: string;
    };
    assert.deepEqual(output, { clientId: DESIRED.ClientId, retiredClients: 0, retiredSecrets: 0, pendingClientIds: [] });
    assert.match(note, /found no table "Clients".*nothing to retire/);
    assert.deepEqual(log, []);
    // Without the flag the same store refuses, before anything else.
    const refusal = await reseed
      .run({ provider: "Postgres", stdinText: input.replace(',"tablesMissingAtPrepare":true', ""), previousStdout: undefined }, { Postgres: refusing })
      .catch((err: Error) => err);
    assert.match(String((refusal as Error).message), /lacks a privilege re-seeding needs: SELECT on Clients\. Nothing was changed\./);
    assert.deepEqual(log, ["grants checked"]);
  });

  it("prepare replaces a differing client in place, deleting no client, and hands out a new restart token; an unchanged one keeps the previous token", async () => {
    const log: string[] = [];
    const clients = { [DESIRED.ClientId]: storedAs(DESIRED, { ClientName: "edited" }) };
    const first = await reseed.run(
      { provider: "postgres", stdinText: stdin("prepare"), previousStdout: JSON.stringify({ clientId: DESIRED.ClientId, restartToken: "aaaa" }) },
      { Postgres: memoryStore(clients, log, IS4) },
    );
    assert.deepEqual(log, [`replace ${DESIRED.ClientId}`]);
    assert.equal(first.output.deletedClients, 0);
    assert.equal(first.output.insertedClients, 0);
    assert.equal(first.output.updatedClients, 1);
    assert.match(String(first.output.restartToken), /^[0-9a-f]{16}$/);
    assert.notEqual(first.output.restartToken, "aaaa");
    assert.match(
      first.note,
      /differs from its configuration in ClientName: replaced the client in place \(its "Clients" row kept and updated, 9 child row\(s\) replaced by 9; rows of other tables that reference it left alone\)$/,
    );

    const again = await reseed.run(
      { provider: "Postgres", stdinText: stdin("prepare"), previousStdout: JSON.stringify(first.output) },
      { Postgres: memoryStore({ [DESIRED.ClientId]: storedAs(DESIRED) }, log, IS4) },
    );
    assert.deepEqual(again.output, {
      clientId: DESIRED.ClientId,
      deletedClients: 0,
      insertedClients: 0,
      updatedClients: 0,
      addedSecrets: 0,
      restartToken: first.output.restartToken,
      supersededClientIds: [],
    });
  });

  it("prepare inserts a missing client without a restart token: the service has nothing cached for it", async () => {
    const log: string[] = [];
    const result = await reseed.run(
      { provider: "Postgres", stdinText: stdin("prepare"), previousStdout: JSON.stringify({ clientId: "old-client-id-16", restartToken: "" }) },
      { Postgres: memoryStore({ "old-client-id-16": storedAs(DESIRED) }, log, IS4) },
    );
    assert.deepEqual(log, [`insert ${DESIRED.ClientId}`]);
    assert.deepEqual(result.output, {
      clientId: DESIRED.ClientId,
      deletedClients: 0,
      insertedClients: 1,
      updatedClients: 0,
      addedSecrets: 0,
      restartToken: "",
      supersededClientIds: ["old-client-id-16"],
    });
  });

  it("prepare gives a row whose id differs only in case the configured id, deleting the other rows that hold it", async () => {
    const log: string[] = [];
    const upper = DESIRED.ClientId.toUpperCase();
    const mixed = "New-Client-Id-16";
    const clients = { [upper]: storedAs(DESIRED), [mixed]: storedAs(DESIRED) };
    const result = await reseed.run({ provider: "Postgres", stdinText: stdin("prepare"), previousStdout: undefined }, { Postgres: memoryStore(clients, log, IS4) });
    assert.deepEqual(log, [`delete ${mixed}`, `replace ${upper}`]);
    assert.deepEqual([result.output.deletedClients, result.output.insertedClients, result.output.updatedClients], [1, 0, 1]);
    assert.match(String(result.output.restartToken), /^[0-9a-f]{16}$/);
    assert.match(result.note, /only in case .*: deleted 1 other client\(s\) with 3 child row\(s\) and replaced the client in place/);
  });

  it("prepare refuses before deleting anything when a table has a required column it cannot fill, naming it and the way out", async () => {
    const log: string[] = [];
    const columns = { ...IS4, Clients: [...IS4.Clients!, { name: "TenantId", required: true }] };
    await assert.rejects(
      reseed.run({ provider: "Postgres", stdinText: stdin("prepare"), previousStdout: undefined }, {
        Postgres: memoryStore({ [DESIRED.ClientId]: storedAs(DESIRED, { AccessTokenLifetime: 5 }) }, log, columns),
      }),
      (err: Error & { exitCode?: number }) => {
        assert.equal(err.exitCode, 1);
        assert.match(err.message, /^reseed: cannot insert client "new-client-id-16": "Clients"\."TenantId" requires a value \(NOT NULL, no default\)/);
        assert.match(err.message, /Nothing was changed\./);
        assert.match(err.message, /add the client's rows yourself .* or set `client\.reseed: false`/);
        assert.ok(!err.message.includes("Password=p"));
        return true;
      },
    );
    assert.deepEqual(log, [], "nothing deleted, nothing inserted");
  });

  it("prepare keeps the redirect URIs of a dropped implicit grant, and retire removes them once the client is in service", async () => {
    const log: string[] = [];
    const withoutUrl: Desired = { ...DESIRED, AllowedGrantTypes: ["client_credentials"], RedirectUris: [], PostLogoutRedirectUris: [] };
    const prepared = await reseed.run(
      { provider: "Postgres", stdinText: stdin("prepare", withoutUrl), previousStdout: undefined },
      { Postgres: memoryStore({ [DESIRED.ClientId]: storedAs(DESIRED) }, log, IS4) },
    );
    assert.equal(prepared.output.updatedClients, 1);
    assert.match(prepared.note, /differs from its configuration in AllowedGrantTypes, RedirectUris, PostLogoutRedirectUris: .*; its 2 redirect URI\(s\) stay until the retire step/);
    const retired = await reseed.run(
      { provider: "Postgres", stdinText: stdin("retire", withoutUrl), previousStdout: undefined },
      { Postgres: memoryStore({ [DESIRED.ClientId]: storedAs(withoutUrl, { RedirectUris: DESIRED.RedirectUris }) }, log, IS4) },
    );
    assert.deepEqual(log, [`replace ${DESIRED.ClientId}`, "delete ", "delete secrets 0", "delete redirect URIs 2"]);
    assert.equal(retired.note, "retired 0 client(s) and 0 other secret(s) of the client and 2 redirect URI(s) the client no longer needs");
  });

  it("retire reports what it removed and what stays pending", async () => {
    const log: string[] = [];
    const result = await reseed.run(
      { provider: "Postgres", stdinText: stdin("retire"), previousStdout: JSON.stringify({ clientId: "old-client-id-16" }) },
      { Postgres: memoryStore({ [DESIRED.ClientId]: storedAs(DESIRED, { SecretHashes: [HASH_A, HASH_B] }), "old-client-id-16": storedAs(DESIRED) }, log) },
    );
    assert.deepEqual(log, ["delete old-client-id-16", "delete secrets 1"]);
    assert.deepEqual(result.output, { clientId: DESIRED.ClientId, retiredClients: 1, retiredSecrets: 1, pendingClientIds: [] });
  });

  it("rejects a bad provider and bad stdin as input errors, never echoing the input", async () => {
    await assert.rejects(
      reseed.run({ provider: "Oracle", stdinText: stdin("prepare"), previousStdout: undefined }),
      (err: Error) => err instanceof reseed.ConfigError && /RESEED_DB_PROVIDER/.test(err.message),
    );
    await assert.rejects(
      reseed.run({ provider: "Postgres", stdinText: "Password=x", previousStdout: undefined }),
      (err: Error) => err instanceof reseed.ConfigError && !/Password=x/.test(err.message),
    );
    await assert.rejects(reseed.run({ provider: "Postgres", stdinText: stdin("delete"), previousStdout: undefined }), /"action" must be one of prepare, retire/);
    await assert.rejects(
      reseed.run({
        provider: "Postgres",
        stdinText: JSON.stringify({ ...JSON.parse(stdin("retire")), supersededClientIds: "old" }),
        previousStdout: undefined,
      }),
      /"supersededClientIds" must be an array of client ids/,
    );
    await assert.rejects(
      reseed.run({ provider: "Postgres", stdinText: stdin("prepare", { ...DESIRED, SecretHashes: ["plain secret"] }), previousStdout: undefined }),
      /SecretHashes must hold the Base64 SHA-256 of each secret/,
    );
    await assert.rejects(
      reseed.run({ provider: "Postgres", stdinText: stdin("prepare", { ...DESIRED, AccessTokenLifetime: 0 }), previousStdout: undefined }),
      /client\.AccessTokenLifetime must be a positive whole number/,
    );
  });
});

describe("reseed.js: error messages", () => {
  const connectionString = `Server=db.internal;Port=5433;Database=creatio;User ID=creatio;Password=${quote(PASSWORD)}`;
  const errorWith = (props: Record<string, unknown>) => Object.assign(new Error(String(props.message ?? "failed")), props);

  it("says a missing password is missing, and never claims a rollback before connecting", () => {
    const noPassword = "Server=db.internal;Port=5433;Database=creatio;User ID=creatio;";
    const message = reseed.describeError(
      errorWith({ message: "SASL: SCRAM-SERVER-FIRST-MESSAGE: client password must be a string", whileConnecting: true }),
      "Postgres",
      noPassword,
    );
    assert.match(message, /"creatio" at db\.internal:5433 asks for a password, but the connection string has none/);
    assert.doesNotMatch(message, /rolled back/);
  });

  it("names host and database and what to check, per kind of failure", () => {
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ code: "ECONNREFUSED", message: "connect ECONNREFUSED 10.0.0.5:5433" }, /cannot reach .*client\.reseed: false/s],
      [{ message: "Connection terminated due to connection timeout" }, /cannot reach .*client\.reseed: false/s],
      [{ code: "28P01", message: 'password authentication failed for user "creatio"' }, /authentication failed .*user and password/s],
      [{ code: "28000", message: "no pg_hba.conf entry for host" }, /pg_hba\.conf.*client\.reseed: false/s],
      [{ code: "3D000", message: 'database "creatio" does not exist' }, /does not exist or cannot be opened/],
      [{ code: "42501", message: "permission denied for table Clients" }, /permission denied .*SELECT, INSERT, UPDATE and DELETE on "Clients", SELECT, INSERT and DELETE on its child tables/s],
      [{ code: "57014", message: "canceling statement due to statement timeout" }, /did not answer in time/],
      [{ code: "XX000", message: "something else", rolledBack: true }, /Nothing was changed \(the transaction was rolled back\)/],
      [{ code: "XX000", message: "something else", whileConnecting: true }, /cannot connect to .*Nothing was changed\.$/s],
    ];
    for (const [props, pattern] of cases) {
      const message = reseed.describeError(errorWith(props), "Postgres", connectionString);
      assert.match(message, /the Postgres database "creatio" at db\.internal:5433/, message);
      assert.match(message, pattern, message);
      assert.ok(!message.includes(PASSWORD), message);
      assert.ok(!message.includes(connectionString), message);
    }
  });

  it("never contains the password, even when a driver message does", () => {
    fc.assert(
      fc.property(
        fc.string({ unit: "grapheme-ascii", minLength: 4, maxLength: 40 }).filter((p) => p.trim() === p),
        fc.constantFrom("ECONNREFUSED", "28P01", "42501", "XX000", undefined),
        (password, code) => {
          const cs = `Server=db;Database=creatio;User ID=u;Password=${quote(password)}`;
          const message = reseed.describeError(errorWith({ code, message: `bad login with ${password} in ${cs}` }), "Postgres", cs);
          return !message.includes(password);
        },
      ),
      { numRuns: 300 },
    );
  });

  it("describes SQL Server targets the way mssql reads them", () => {
    const message = reseed.describeError(
      errorWith({ code: "ELOGIN", message: "Login failed for user 'sa'." }),
      "MsSqlServer",
      `Data Source=sql01\\CREATIO,1500;Initial Catalog=creatio;User ID=sa;Password=${quote(PASSWORD)}`,
    );
    assert.match(message, /the MsSqlServer database "creatio" at sql01\\CREATIO:1500/);
    assert.match(message, /authentication failed/);
    assert.ok(!message.includes(PASSWORD));
  });
});

describe("reseed.js as a process", () => {
  function runScript(env: Record<string, string>, stdin: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [scriptPath], {
        env: { PATH: process.env.PATH ?? "", ...env },
        stdio: ["pipe", "pipe", "pipe"],
      });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (d) => (stdout += d));
      child.stderr.on("data", (d) => (stderr += d));
      child.on("error", reject);
      child.on("close", (code) => resolve({ code, stdout, stderr }));
      child.stdin.end(stdin);
    });
  }

  it("exits 1 with a message naming the database, not the password, when the server is unreachable", async () => {
    // Port 1 on loopback: refused at once.
    const input = { action: "prepare", connectionString: `Server=127.0.0.1;Port=1;Database=creatio;User ID=u;Password=${quote(PASSWORD)}`, client: DESIRED };
    const result = await runScript({ RESEED_DB_PROVIDER: "Postgres" }, JSON.stringify(input));
    assert.equal(result.code, 1);
    assert.equal(result.stdout, "");
    assert.match(result.stderr, /cannot reach the Postgres database "creatio" at 127\.0\.0\.1:1/);
    assert.ok(!result.stderr.includes(PASSWORD));
  });

  it("exits 2 on bad input without echoing it", async () => {
    const result = await runScript({ RESEED_DB_PROVIDER: "Postgres" }, `Password=${PASSWORD}`);
    assert.equal(result.code, 2);
    assert.equal(result.stdout, "");
    assert.match(result.stderr, /not valid JSON/);
    assert.ok(!result.stderr.includes(PASSWORD));
  });
});
