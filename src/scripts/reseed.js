#!/usr/bin/env node
/*
 * Keeps the Identity Service's system client in the database equal to its configuration.
 *
 * The service seeds its `Clients` setting into the database at start-up by a rule that is not documented: insert each
 * configured client whose id is missing, or (IdentityServer4's own quickstart, docs/quickstarts/5_entityframework.rst)
 * only when the "Clients" table is empty, which never happens again once Creatio keeps its OAuth apps in that table.
 * So the client rows are written here, the same way under either rule. Two steps, each one transaction, both deciding
 * from the rows in the database:
 *
 *   prepare  (before the service restarts with the configuration)
 *     no "Clients" table: nothing to do (the service creates its tables and seeds the empty table);
 *     no row for the client id: insert the client (and its child rows);
 *     a stored field differs from the configuration (name, lifetimes, grant types, scopes, redirect URIs, properties,
 *       disabled), or a client id that differs only in case holds the id under a case-insensitive collation: replace
 *       it in place, keeping its "Clients" row (its "Id", which IdentityServer4 reads its child rows by): update the
 *       row's columns (its id included), delete and insert its rows in the child tables written here (grant types,
 *       scopes, redirect URIs, post-logout redirect URIs, properties, secrets), leave the rows of other tables that
 *       reference it, and delete other rows holding the id under the collation (a client that loses the grant type
 *       needing its redirect URIs keeps them until the retire step); then print a new `restartToken`, which the
 *       deployment feeds into the service's inputs so that the service restarts in the same run (dropping a copy it
 *       may cache for 15 minutes);
 *     only the secret is new: add it as a second secret row (IdentityServer4 accepts any of a client's secrets),
 *       so the old credentials keep working;
 *     otherwise nothing.
 *     Before it writes anything it reads the columns of the tables it inserts into, and refuses (changing nothing)
 *     when one of them requires a value it cannot give.
 *   Both steps first check that the login holds every grant re-seeding needs (docs/reseed.md) and refuse, before
 *   reading a client row, naming each missing privilege and its GRANT statement; then (PostgreSQL) lock "Clients" for
 *   the transaction.
 *   retire   (after the new client is in service)
 *     when the configured client with its configured secret is in the database: delete the client ids this step
 *     or the prepare step put in service before (their previous outputs), every other secret of the configured
 *     client and the redirect URIs the prepare step kept; else nothing, and the ids stay pending for its next run.
 *
 * Client ids are compared as IdentityServer4 compares them, exactly (EntityFramework.Storage ClientStore.cs:52-76 @
 * 4.1.2 filters the rows of its query by ordinal equality): SQL Server's default collation, and a case-insensitive
 * PostgreSQL collation, also return ids that differ in case.
 * Secrets are compared as IdentityServer4 stores them, Base64(SHA-256(secret)); the script never sees a secret.
 *
 * Run as `node reseed.js` by a local command with `addPreviousOutputInEnv: true`, on the machine that runs Pulumi, or
 * bundled with its drivers in a container next to the service by reseed-container.js, or with its SQL Server statements
 * carried out on the IIS server by reseed-server.js.
 *   Environment:
 *     RESEED_DB_PROVIDER     "Postgres" or "MsSqlServer" (the service's DbProvider)
 *     PULUMI_COMMAND_STDOUT  this step's previous stdout (set by the command provider on update only)
 *   Standard input: JSON {"action": "prepare" | "retire", "connectionString": "<ADO.NET style>",
 *                         "client": {"ClientId", "ClientName", "SecretHashes": [...], "AllowedGrantTypes": [...],
 *                                    "AllowedScopes", "RedirectUris", "PostLogoutRedirectUris", "Properties": {...},
 *                                    "IdentityTokenLifetime", "AccessTokenLifetime"}}
 *   Standard output: exactly one JSON line,
 *     prepare: {"clientId", "deletedClients", "insertedClients", "updatedClients", "addedSecrets", "restartToken",
 *               "supersededClientIds"}, and "tablesMissing": true when there is no "Clients" table yet
 *     retire:  {"clientId", "retiredClients", "retiredSecrets", "pendingClientIds"}
 *   The retire step's input may add "supersededClientIds": the prepare step's list of that name (the client id it
 *   prepared before, when another one replaces it), so that a retire step created in the same run still knows it.
 *   It also adds "tablesMissingAtPrepare": true when the prepare step of the same run found no "Clients" table (the
 *   service then created the tables and seeded only the configured client): the retire step has nothing to retire.
 *   Where the step runs elsewhere, its input adds "runner" ("container" or "server"; "local" when absent), which
 *   changes the advice only (and lets "server" sign in with Integrated Security), and "previousStdout", in place of PULUMI_COMMAND_STDOUT.
 *   Exit codes: 0 done (or nothing to do), 1 database error or a table it cannot write (nothing changed), 2 bad input.
 *
 * Messages name the database host and database, never the password or the connection string.
 * `require` it to use the helpers; it only runs main() when started directly.
 */
"use strict";

const crypto = require("crypto");
const { parse } = require("@tediousjs/connection-string");

const EXIT_OK = 0;
const EXIT_DB_ERROR = 1;
const EXIT_BAD_INPUT = 2;

const PROVIDERS = ["Postgres", "MsSqlServer"];
const CLIENTS_TABLE = "Clients";
const DEFAULT_PG_PORT = 5432;
/** Npgsql defaults: Timeout=15 (connect, seconds), Command Timeout=30 (seconds). */
const DEFAULT_CONNECT_TIMEOUT_SECONDS = 15;
const DEFAULT_COMMAND_TIMEOUT_SECONDS = 30;
/**
 * Where the script runs, as the input's "runner" says: the machine that runs Pulumi (`local`, the default), a one-shot
 * container on the service's networks (`container`), or the IIS server (`server`). It changes the advice only.
 */
const RUNNERS = {
  local: {
    here: "the machine that runs Pulumi",
    noReach:
      "If the machine that runs Pulumi reaches the database under another address, set `database.reseedConnectionString`; " +
      'if it cannot reach the database at all, run re-seeding next to the service (`client.reseedRunner`), or set `client.reseed: false` ' +
      'and delete the client\'s rows from "Clients" and its child tables by hand before the service restarts.',
  },
  container: {
    here: "the re-seed container on the service's networks",
    noReach:
      "The container joins the networks the service uses (`docker.networks`, or the Swarm service's networks); give " +
      "`database.reseedConnectionString` with the address the service's network reaches the database at, or set " +
      "`client.reseedRunner: \"local\"` to re-seed from the machine that runs Pulumi.",
  },
  server: {
    here: "the IIS server",
    noReach:
      "The IIS server reaches the database as the site does; give `database.reseedConnectionString` with the address the server reaches it at.",
  },
};

/** Bad input: exit 2, the message says what to fix. */
class ConfigError extends Error {
  constructor(message) {
    super(message);
    this.name = "ConfigError";
  }
}

/** The database holds something this script must not or cannot change: exit 1, nothing changed, the way out named. */
class RefusalError extends Error {
  constructor(message) {
    super(message);
    this.name = "RefusalError";
  }
}

// ---------------------------------------------------------------------------
// Connection strings

/** ADO.NET keys compare case-insensitively; Npgsql also accepts them without spaces ("UserId", "SslMode"). */
function normalizeKey(key) {
  return key.toLowerCase().replace(/[\s_]/g, "");
}

/** Parses "Key=Value;..." (quotes, doubled quotes, `{...}`) into a Map of normalized key -> value. */
function parseConnectionString(connectionString) {
  if (typeof connectionString !== "string" || connectionString.trim() === "") {
    throw new ConfigError('the connection string is empty: pass "connectionString" on stdin');
  }
  let parsed;
  try {
    parsed = parse(connectionString);
  } catch {
    // The parser's message may quote part of the string: do not repeat it.
    throw new ConfigError("the connection string cannot be parsed: check its quoting (values with ';' need quotes)");
  }
  const result = new Map();
  for (const [key, value] of parsed) result.set(normalizeKey(key), value);
  return result;
}

/** The first value among Npgsql's aliases for one setting. */
function pick(entries, aliases) {
  for (const alias of aliases) {
    const value = entries.get(alias);
    if (value !== undefined && value !== "") return value;
  }
  return undefined;
}

function positiveInteger(value, key, fallback) {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) {
    throw new ConfigError(`the connection string's ${key} must be a whole number, got "${value}"`);
  }
  return n;
}

function isTrue(value) {
  return value !== undefined && /^(true|yes|1)$/i.test(value.trim());
}

/** Npgsql's SSL Mode and Trust Server Certificate as `pg`'s `ssl` option. */
function pgSsl(sslMode, trustServerCertificate) {
  switch (normalizeKey(sslMode || "disable").replace(/-/g, "")) {
    // Npgsql's Prefer tries TLS first and falls back to plain text; `pg` cannot fall back, so stay with plain text.
    case "disable":
    case "allow":
    case "prefer":
      return false;
    case "require":
      // Npgsql 8 encrypts without validating the certificate in Require mode.
      return { rejectUnauthorized: false };
    case "verifyca":
      return trustServerCertificate ? { rejectUnauthorized: false } : { rejectUnauthorized: true, checkServerIdentity: () => undefined };
    case "verifyfull":
      return { rejectUnauthorized: !trustServerCertificate };
    default:
      throw new ConfigError(
        `the connection string's SSL Mode "${sslMode}" is not known: use Disable, Allow, Prefer, Require, VerifyCA or VerifyFull`,
      );
  }
}

/** Splits Npgsql's "host", "host:port" or "[v6]:port", keeping the first of several comma-separated hosts. */
function splitHost(value) {
  const first = value.split(",")[0].trim();
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(first);
  if (bracketed) return { host: bracketed[1], port: bracketed[2] };
  const hostPort = /^([^:]+):(\d+)$/.exec(first);
  if (hostPort) return { host: hostPort[1], port: hostPort[2] };
  return { host: first, port: undefined };
}

/**
 * Maps an Npgsql (ADO.NET style) connection string to `pg` client options:
 * Host/Server, Port (default 5432), Database/DB, Username/User ID/UserId/UID/User Name, Password/PWD/PSW,
 * SSL Mode/SslMode + Trust Server Certificate, Timeout (connect, s), Command Timeout (s), Search Path,
 * Application Name.
 */
function pgConfigFromConnectionString(connectionString) {
  const entries = parseConnectionString(connectionString);
  const hostValue = pick(entries, ["host", "server"]);
  if (!hostValue) throw new ConfigError("the connection string has no Server (or Host)");
  const { host, port: portInHost } = splitHost(hostValue);
  const port = positiveInteger(pick(entries, ["port"]) ?? portInHost, "Port", DEFAULT_PG_PORT);
  const connectSeconds = positiveInteger(pick(entries, ["timeout"]), "Timeout", DEFAULT_CONNECT_TIMEOUT_SECONDS);
  const commandSeconds = positiveInteger(pick(entries, ["commandtimeout"]), "Command Timeout", DEFAULT_COMMAND_TIMEOUT_SECONDS);
  const config = {
    host,
    port,
    database: pick(entries, ["database", "db"]),
    user: pick(entries, ["username", "userid", "uid", "user"]),
    password: entries.get("password") ?? entries.get("pwd") ?? entries.get("psw"),
    ssl: pgSsl(pick(entries, ["sslmode"]), isTrue(pick(entries, ["trustservercertificate"]))),
    connectionTimeoutMillis: connectSeconds * 1000,
    statement_timeout: commandSeconds * 1000,
    application_name: pick(entries, ["applicationname"]) || "creatio-identity-service-reseed",
  };
  const searchPath = pick(entries, ["searchpath"]);
  if (searchPath) config.options = `-c search_path=${searchPath.replace(/[\s\\]/g, (c) => "\\" + c)}`;
  return config;
}

/**
 * SQL Server: `mssql` reads ADO.NET strings itself; this only rejects what it cannot do. On the IIS server (`server`
 * runner) the .NET Framework's SqlClient signs in, Windows authentication included.
 */
function checkMsSqlConnectionString(connectionString, runner = "local") {
  const entries = parseConnectionString(connectionString);
  const integrated = entries.get("integratedsecurity") ?? entries.get("trustedconnection");
  if (runner !== "server" && integrated !== undefined && /^(true|yes|sspi)$/i.test(integrated.trim())) {
    throw new ConfigError(
      "the connection string uses Integrated Security (Windows authentication), which this script cannot use: " +
        "give it a SQL Server login (User ID and Password), or set `client.reseed: false` and delete the client rows by hand",
    );
  }
  return entries;
}

/** "host:port/database" for messages: enough to know which database, nothing secret. */
function describeTarget(provider, connectionString) {
  try {
    if (provider === "Postgres") {
      const c = pgConfigFromConnectionString(connectionString);
      return { host: `${c.host}:${c.port}`, database: c.database || "(default database)", user: c.user, password: c.password };
    }
    // mssql's own reading of the string (Data Source/Server "host\\instance,port", Initial Catalog, ...).
    const c = require("mssql").ConnectionPool.parseConnectionString(connectionString);
    const instance = c.options && c.options.instanceName ? `\\${c.options.instanceName}` : "";
    return {
      host: `${c.server || "(no server)"}${instance}:${c.port || 1433}`,
      database: c.database || "(default database)",
      password: c.password,
    };
  } catch {
    return { host: "(unparsed connection string)", database: "(unknown)", password: undefined };
  }
}

// ---------------------------------------------------------------------------
// Inputs

/** The list fields of a client, each stored in its own child table: [field, table, column]. */
const CLIENT_LISTS = [
  ["AllowedGrantTypes", "ClientGrantTypes", "GrantType"],
  ["AllowedScopes", "ClientScopes", "Scope"],
  ["RedirectUris", "ClientRedirectUris", "RedirectUri"],
  ["PostLogoutRedirectUris", "ClientPostLogoutRedirectUris", "PostLogoutRedirectUri"],
];
/** The scalar fields of a client, columns of "Clients". */
const CLIENT_COLUMNS = ["ClientName", "IdentityTokenLifetime", "AccessTokenLifetime"];
/**
 * The grant types IdentityServer4 drops a client for when it has no redirect URI ("No redirect URI configured.",
 * IdentityServer4 src/IdentityServer4/src/Validation/Default/DefaultClientConfigurationValidator.cs:119-135 @ 4.1.2).
 */
const REDIRECT_GRANT_TYPES = ["authorization_code", "hybrid", "implicit"];
const SECRETS_TABLE = "ClientSecrets";
const REDIRECT_URIS_TABLE = "ClientRedirectUris";
const PROPERTIES_TABLE = "ClientProperties";
/** The tables an inserted client is written to, "Clients" first. */
const INSERTED_TABLES = [CLIENTS_TABLE, "ClientGrantTypes", "ClientScopes", "ClientRedirectUris", "ClientPostLogoutRedirectUris", PROPERTIES_TABLE, SECRETS_TABLE];
/**
 * The privileges re-seeding needs on each table it writes, as [table, privilege] in the order they are reported:
 * "Clients" is read to compare, inserted into, updated by a replacement in place and deleted from (a retired client,
 * another row holding the id in another case); its child tables are read, and a replacement deletes and inserts their
 * rows (as do a new and a retired secret). A table that references "Clients" and is not one of them
 * (IdentityServer4's "ClientClaims", "ClientCorsOrigins", "ClientIdPRestrictions") needs DELETE and SELECT on its
 * referencing column only, which the DELETE's condition reads. docs/reseed.md lists the statements.
 */
const CLIENT_TABLE_PRIVILEGES = INSERTED_TABLES.flatMap((table) =>
  (table === CLIENTS_TABLE ? ["SELECT", "INSERT", "UPDATE", "DELETE"] : ["SELECT", "INSERT", "DELETE"]).map((privilege) => [table, privilege]),
);
/** IdentityServer4's type of a hashed shared secret. */
const SHARED_SECRET = "SharedSecret";
const ACTIONS = ["prepare", "retire"];
const SECRET_HASH = /^[A-Za-z0-9+/]{43}=$/;

const INPUT_SHAPE =
  '{"action": "prepare" | "retire", "connectionString": "...", "client": {"ClientId": "...", "SecretHashes": ["<base64 SHA-256>"], ...}}';

function parseInput(text) {
  let input;
  try {
    input = JSON.parse(text);
  } catch {
    throw new ConfigError(
      `standard input is not valid JSON: pass ${INPUT_SHAPE} (the content is not shown here because it holds the connection string)`,
    );
  }
  if (input === null || typeof input !== "object") throw new ConfigError("standard input must be a JSON object");
  if (!ACTIONS.includes(input.action)) {
    throw new ConfigError(`standard input's "action" must be one of ${ACTIONS.join(", ")}`);
  }
  if (typeof input.connectionString !== "string" || input.connectionString === "") {
    throw new ConfigError('standard input has no "connectionString" (a non-empty string is required)');
  }
  if (input.tablesMissingAtPrepare !== undefined && typeof input.tablesMissingAtPrepare !== "boolean") {
    throw new ConfigError('standard input\'s "tablesMissingAtPrepare" must be true or false');
  }
  const superseded = input.supersededClientIds === undefined ? [] : input.supersededClientIds;
  if (!Array.isArray(superseded) || superseded.some((id) => typeof id !== "string" || id === "")) {
    throw new ConfigError('standard input\'s "supersededClientIds" must be an array of client ids');
  }
  const runner = input.runner === undefined ? "local" : input.runner;
  if (!Object.hasOwn(RUNNERS, runner)) {
    throw new ConfigError(`standard input's "runner" must be one of ${Object.keys(RUNNERS).join(", ")}`);
  }
  if (input.previousStdout !== undefined && typeof input.previousStdout !== "string") {
    throw new ConfigError('standard input\'s "previousStdout" must be a string (the step\'s previous standard output)');
  }
  return {
    action: input.action,
    connectionString: input.connectionString,
    client: parseClient(input.client),
    supersededClientIds: superseded,
    tablesMissingAtPrepare: input.tablesMissingAtPrepare === true,
    runner,
    previousStdout: input.previousStdout,
  };
}

/** The client as the service will store it: secrets as IdentityServer4 hashes them, never in clear. */
function parseClient(client) {
  if (client === null || typeof client !== "object") throw new ConfigError('standard input has no "client" object');
  const text = (field) => {
    if (typeof client[field] !== "string" || client[field] === "") {
      throw new ConfigError(`standard input's client has no "${field}" (a non-empty string is required)`);
    }
    return client[field];
  };
  const list = (field) => {
    const value = client[field] === undefined ? [] : client[field];
    if (!Array.isArray(value) || value.some((v) => typeof v !== "string")) {
      throw new ConfigError(`standard input's client.${field} must be an array of strings`);
    }
    return value;
  };
  const lifetime = (field) => {
    if (!Number.isInteger(client[field]) || client[field] <= 0) {
      throw new ConfigError(`standard input's client.${field} must be a positive whole number`);
    }
    return client[field];
  };
  const properties = client.Properties === undefined ? {} : client.Properties;
  if (properties === null || typeof properties !== "object" || Array.isArray(properties) || Object.values(properties).some((v) => typeof v !== "string")) {
    throw new ConfigError("standard input's client.Properties must be an object of strings");
  }
  const secretHashes = list("SecretHashes");
  if (secretHashes.length === 0 || secretHashes.some((h) => !SECRET_HASH.test(h))) {
    throw new ConfigError("standard input's client.SecretHashes must hold the Base64 SHA-256 of each secret (never the secret)");
  }
  return {
    ClientId: text("ClientId"),
    ClientName: text("ClientName"),
    SecretHashes: secretHashes,
    AllowedGrantTypes: list("AllowedGrantTypes"),
    AllowedScopes: list("AllowedScopes"),
    RedirectUris: list("RedirectUris"),
    PostLogoutRedirectUris: list("PostLogoutRedirectUris"),
    Properties: { ...properties },
    IdentityTokenLifetime: lifetime("IdentityTokenLifetime"),
    AccessTokenLifetime: lifetime("AccessTokenLifetime"),
  };
}

function parseProvider(value) {
  const provider = PROVIDERS.find((p) => p.toLowerCase() === String(value || "").trim().toLowerCase());
  if (!provider) {
    throw new ConfigError(`RESEED_DB_PROVIDER must be one of ${PROVIDERS.join(", ")}, got "${value || ""}"`);
  }
  return provider;
}

/**
 * This step's previous result from PULUMI_COMMAND_STDOUT (the command provider sets it on update only): the last
 * line that is a JSON object with a string clientId, or undefined (a create, or output from something else).
 */
function parsePreviousOutput(stdout) {
  if (typeof stdout !== "string") return undefined;
  const lines = stdout.split(/\r?\n/).map((l) => l.trim()).filter(Boolean);
  for (let i = lines.length - 1; i >= 0; i--) {
    try {
      const value = JSON.parse(lines[i]);
      if (value && typeof value === "object" && typeof value.clientId === "string" && value.clientId !== "") {
        const strings = (v) => (Array.isArray(v) ? v.filter((x) => typeof x === "string" && x !== "") : []);
        return {
          clientId: value.clientId,
          restartToken: typeof value.restartToken === "string" ? value.restartToken : "",
          pendingClientIds: strings(value.pendingClientIds),
        };
      }
    } catch {
      // not JSON: keep looking
    }
  }
  return undefined;
}

// ---------------------------------------------------------------------------
// The decisions (pure)

const sortedSet = (values) => [...new Set(values)].sort();

/**
 * The fields in which the stored client differs from the configured one, secrets left out (they are compared on
 * their own). `stored` is what `readClient` returns; its `Properties` is undefined when the schema has no
 * "ClientProperties" table (the service cannot store them either).
 */
function clientDifferences(desired, stored) {
  const differences = [];
  if (!stored.Enabled) differences.push("Enabled");
  for (const column of CLIENT_COLUMNS) {
    if (String(stored[column] ?? "") !== String(desired[column])) differences.push(column);
  }
  for (const [field] of CLIENT_LISTS) {
    if (JSON.stringify(sortedSet(stored[field])) !== JSON.stringify(sortedSet(desired[field]))) differences.push(field);
  }
  if (stored.Properties !== undefined && JSON.stringify(propertyEntries(stored.Properties)) !== JSON.stringify(propertyEntries(desired.Properties))) {
    differences.push("Properties");
  }
  return differences;
}

/** Properties as sorted [key, value] pairs (IdentityServer4 maps them into a dictionary, so order does not count). */
function propertyEntries(properties) {
  return Object.entries(properties || {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

const needsRedirectUris = (grantTypes) => grantTypes.some((grantType) => REDIRECT_GRANT_TYPES.includes(grantType));

/**
 * The stored redirect URIs a replacement keeps for now: those of a client that loses the last grant type needing them
 * and gets none. IdentityServer4 reads the grant types and the redirect URIs in separate queries (grant types first,
 * ClientStore.cs:52-76 @ 4.1.2): a request that read the old grant types just before the replacement and the redirect
 * URIs just after it would see a grant that needs a redirect URI without one, and drop the client (`invalid_client`).
 * With the old redirect URIs kept, every mix of old and new rows is a valid client; the retire step removes them
 * once the grant types are the configured ones (`leftoverRedirectUris`).
 */
function redirectUrisToKeep(desired, stored) {
  const dropped = needsRedirectUris(stored.AllowedGrantTypes) && !needsRedirectUris(desired.AllowedGrantTypes);
  return dropped && desired.RedirectUris.length === 0 ? stored.RedirectUris : [];
}

/**
 * Stored redirect URIs the configuration does not have, of a client whose grant types, stored and configured, need
 * none: what a replacement kept (`redirectUrisToKeep`), or an edit by hand. Removing them cannot make a request fail.
 */
function leftoverRedirectUris(desired, stored) {
  const unused = !needsRedirectUris(stored.AllowedGrantTypes) && !needsRedirectUris(desired.AllowedGrantTypes);
  return unused && desired.RedirectUris.length === 0 ? stored.RedirectUris : [];
}

/**
 * Before the service (re)starts. Whatever rule the service seeds by, the rows must match the configuration before it
 * starts:
 *   - no such client: insert it;
 *   - a field differs (a changed setting, or an edit by hand), or ids that differ only in case hold the client id
 *     under the database's collation: replace the client in place (`updateClientId`: the stored row that keeps its
 *     "Id" and gets the configured values, its id included; `deleteClientIds`: the other rows that hold the id), the
 *     service must restart; when the client loses the grant that needs its redirect URIs, they stay until the retire
 *     step (`keepRedirectUris`, see `redirectUrisToKeep`);
 *   - only the secret is new: add it as one more secret, the old one keeps working until it is retired;
 *   - otherwise: nothing to do.
 * `collidingClientIds` are the stored ids equal to the configured one under the database's comparison but not exactly.
 * The row is kept because IdentityServer4 reads a client in several queries and attaches the child rows to the row it
 * read first by its "Id" (EntityFramework.Storage ClientStore.cs:52-76 @ 4.1.2): a request that read the row before
 * a replacement and its child rows after it would find none under a deleted row's "Id".
 */
function planPrepare(desired, stored, collidingClientIds = []) {
  if (collidingClientIds.length > 0) {
    const [kept, ...others] = stored ? [desired.ClientId, ...collidingClientIds] : collidingClientIds;
    return {
      action: "replace",
      updateClientId: kept,
      deleteClientIds: others,
      keepRedirectUris: stored ? redirectUrisToKeep(desired, stored) : [],
      reason:
        `client id ${collidingClientIds.map((id) => JSON.stringify(id)).join(", ")} differs from ${JSON.stringify(desired.ClientId)} only in case ` +
        "and holds it under the database's case-insensitive collation (the service compares ids exactly, so it would never find the configured client)",
    };
  }
  if (!stored) return { action: "insert", reason: "the client is not in the database" };
  const differences = clientDifferences(desired, stored);
  if (differences.length > 0) {
    return {
      action: "replace",
      updateClientId: desired.ClientId,
      deleteClientIds: [],
      keepRedirectUris: redirectUrisToKeep(desired, stored),
      reason: `the stored client differs from its configuration in ${differences.join(", ")}`,
    };
  }
  const missing = desired.SecretHashes.filter((hash) => !stored.SecretHashes.includes(hash));
  if (missing.length > 0) return { action: "addSecrets", secretHashes: missing, reason: "a new secret: added next to the current one" };
  return { action: "none", reason: "the stored client matches its configuration" };
}

/**
 * After the new client is in service: retire the credentials it replaces (clients this step put in service before,
 * those the prepare step saw replaced, and every other secret of the configured client) and the redirect URIs the
 * prepare step kept (`leftoverRedirectUris`). Nothing is retired unless the configured client with its configured
 * secret is in the database (those redirect URIs aside): retiring would otherwise leave no working credentials; the
 * client ids then stay pending for the next run.
 */
function planRetire(desired, stored, previous, supersededClientIds = []) {
  const candidates = sortedSet([...(previous ? [previous.clientId, ...previous.pendingClientIds] : []), ...supersededClientIds]).filter(
    (id) => id !== desired.ClientId,
  );
  const leftover = stored ? leftoverRedirectUris(desired, stored) : [];
  const differences = stored ? clientDifferences(desired, stored).filter((field) => !(field === "RedirectUris" && leftover.length > 0)) : [];
  const inService = stored && differences.length === 0 && desired.SecretHashes.every((h) => stored.SecretHashes.includes(h));
  if (!inService) {
    return {
      action: "none",
      clientIds: [],
      secretHashes: [],
      redirectUris: [],
      pendingClientIds: candidates,
      reason: "the configured client is not in the database as configured yet: nothing retired",
    };
  }
  return {
    action: "retire",
    clientIds: candidates,
    secretHashes: stored.SecretHashes.filter((hash) => !desired.SecretHashes.includes(hash)),
    redirectUris: leftover,
    pendingClientIds: [],
  };
}

/**
 * The values of "Clients" columns IdentityServer4 sets itself when it stores a client: its `Client` model's defaults
 * (IdentityServer/IdentityServer4 src/Storage/src/Models/Client.cs:27-296 @ 4.1.2, mapped to the entity of
 * src/EntityFramework.Storage/src/Entities/Client.cs:13-68, whose columns are those of 2.5.4 and 3.1.4 plus
 * RequireRequestObject and AllowedIdentityTokenSigningAlgorithms). The nullable columns are left out.
 */
const CLIENT_DEFAULTS = {
  Enabled: true,
  ProtocolType: "oidc",
  RequireClientSecret: true,
  RequireConsent: false,
  AllowRememberConsent: true,
  AlwaysIncludeUserClaimsInIdToken: false,
  RequirePkce: true,
  AllowPlainTextPkce: false,
  RequireRequestObject: false,
  AllowAccessTokensViaBrowser: false,
  FrontChannelLogoutSessionRequired: true,
  BackChannelLogoutSessionRequired: true,
  AllowOfflineAccess: false,
  AuthorizationCodeLifetime: 300,
  AbsoluteRefreshTokenLifetime: 2592000,
  SlidingRefreshTokenLifetime: 1296000,
  RefreshTokenUsage: 1, // TokenUsage.OneTimeOnly
  UpdateAccessTokenClaimsOnRefresh: false,
  RefreshTokenExpiration: 1, // TokenExpiration.Absolute
  AccessTokenType: 0, // AccessTokenType.Jwt
  EnableLocalLogin: true,
  IncludeJwtId: true,
  AlwaysSendClientClaims: false,
  ClientClaimsPrefix: "client_",
  DeviceCodeLifetime: 300,
  NonEditable: false,
};

/** The child tables an inserted client gets rows in: [table, rows of the client, may the table be absent]. */
const INSERTED_CHILDREN = [
  ["ClientGrantTypes", (c) => c.AllowedGrantTypes.map((v) => ({ GrantType: v })), false],
  ["ClientScopes", (c) => c.AllowedScopes.map((v) => ({ Scope: v })), false],
  ["ClientRedirectUris", (c) => c.RedirectUris.map((v) => ({ RedirectUri: v })), false],
  ["ClientPostLogoutRedirectUris", (c) => c.PostLogoutRedirectUris.map((v) => ({ PostLogoutRedirectUri: v })), false],
  // IdentityServer4 schemas all have it; a service whose schema lacks it stores no properties either.
  [PROPERTIES_TABLE, (c) => propertyEntries(c.Properties).map(([Key, Value]) => ({ Key, Value })), true],
  [SECRETS_TABLE, (c) => c.SecretHashes.map((v) => ({ Value: v, Type: SHARED_SECRET })), false],
];

/**
 * What inserting the client writes, from the columns of each table (`columns`: table -> [{name, required}], or
 * undefined when the table does not exist; `required`: NOT NULL without a default, not generated). A required column
 * this script cannot fill, or a table or column it needs that is missing, is a problem; the caller refuses before
 * changing anything. `now` fills "Created". `childTables` are the child tables of the client that exist, rows or not:
 * those a replacement empties and fills again. Pure.
 */
function planInsertion(desired, columns, now) {
  const problems = [];
  const shape = (table, values, foreignKey) => {
    const found = columns[table];
    const names = new Set(found.map((c) => c.name));
    const given = new Set([...Object.keys(values), ...(foreignKey ? ["ClientId"] : [])]);
    for (const column of found) {
      if (column.required && !given.has(column.name)) {
        problems.push(`"${table}"."${column.name}" requires a value (NOT NULL, no default) that this script does not know`);
      }
    }
    return Object.fromEntries(Object.entries(values).filter(([name]) => names.has(name)));
  };
  if (!columns[CLIENTS_TABLE]) return { problems: [`table "${CLIENTS_TABLE}" does not exist`], client: {}, children: [], childTables: [] };
  const clientValues = {
    ...CLIENT_DEFAULTS,
    ClientId: desired.ClientId,
    ClientName: desired.ClientName,
    IdentityTokenLifetime: desired.IdentityTokenLifetime,
    AccessTokenLifetime: desired.AccessTokenLifetime,
    Created: now,
  };
  const client = shape(CLIENTS_TABLE, clientValues, false);
  for (const needed of ["ClientId", ...CLIENT_COLUMNS]) {
    if (!(needed in client)) problems.push(`"${CLIENTS_TABLE}" has no column "${needed}"`);
  }
  const children = [];
  const childTables = [];
  for (const [table, rowsOf, optional] of INSERTED_CHILDREN) {
    const rows = rowsOf(desired).map((row) => (table === SECRETS_TABLE ? { ...row, Created: now } : row));
    if (!columns[table]) {
      if (!optional && rows.length > 0) problems.push(`table "${table}" does not exist`);
      continue;
    }
    childTables.push(table);
    const shaped = rows.map((row) => shape(table, row, true));
    const missing = rows.length > 0 ? Object.keys(rows[0]).filter((name) => name !== "Created" && !(name in shaped[0])) : [];
    for (const name of missing) problems.push(`"${table}" has no column "${name}"`);
    if (shaped.length > 0) children.push({ table, rows: shaped });
  }
  return { problems: [...new Set(problems)], client, children, childTables };
}

/** Refuses an insertion with problems: what is wrong, that nothing changed, and the ways out. */
function refuseInsertion(problems, desired) {
  return new RefusalError(
    `cannot insert client ${JSON.stringify(desired.ClientId)}: ${problems.join("; ")}. Nothing was changed. ` +
      "The service's tables are not the ones this script knows (IdentityServer4's Entity Framework schema): add the client's rows yourself " +
      "(its configuration is the service's Clients setting) or give such columns a default, then run again; or set `client.reseed: false` " +
      "and manage the client rows by hand.",
  );
}

/** The "Clients" columns a replacement updates in place: every value an insertion writes but "Created" (the row keeps it). */
function updatedColumns(insertion) {
  return Object.entries(insertion.client).filter(([name]) => name !== "Created");
}

/** Inserts an insertion's child rows for the client row `rowId` with a store's `insertRow`; returns how many. */
async function insertChildRows(insertRow, rowId, children) {
  let childRows = 0;
  for (const { table, rows } of children) {
    for (const row of rows) {
      await insertRow(table, { ...row, ClientId: rowId });
      childRows++;
    }
  }
  return childRows;
}

function newRestartToken() {
  return crypto.randomBytes(8).toString("hex");
}

/**
 * The row of exactly this client id among rows a database returned for it, and the ids that matched only under the
 * database's collation (differing in case): IdentityServer4 keeps only the exact match.
 */
function matchClientId(rows, clientId) {
  return {
    exact: rows.find((row) => row.ClientId === clientId),
    colliding: rows.filter((row) => row.ClientId !== clientId).map((row) => row.ClientId),
  };
}

// ---------------------------------------------------------------------------
// PostgreSQL

/** Opens a connection and runs `work` in one transaction; the connection is closed whatever happens. */
async function withPostgres(connectionString, work) {
  const pg = require("pg");
  const client = new pg.Client(pgConfigFromConnectionString(connectionString));
  client.on("error", () => {}); // a dropped connection surfaces as a failed query
  let begun = false;
  try {
    try {
      await client.connect();
    } catch (err) {
      err.whileConnecting = true;
      throw err;
    }
    await client.query("BEGIN");
    begun = true;
    // Expiration and Created are UTC in IdentityServer4's tables.
    await client.query("SET LOCAL TIME ZONE 'UTC'");
    const result = await work(postgresStore(client, pg));
    await client.query("COMMIT");
    return result;
  } catch (err) {
    if (begun) {
      await client.query("ROLLBACK").catch(() => {});
      err.rolledBack = true;
    }
    throw err;
  } finally {
    await client.end().catch(() => {});
  }
}

/** The schema names of a PostgreSQL `search_path` setting, `"$user"` as the session's user. */
function searchPathSchemas(searchPath, user) {
  return String(searchPath)
    .split(",")
    .map((item) => item.trim())
    .filter(Boolean)
    .map((item) => (item.startsWith('"') && item.endsWith('"') ? item.slice(1, -1).replace(/""/g, '"') : item.toLowerCase()))
    .map((item) => (item === "$user" ? user : item));
}

/** The client tables of one PostgreSQL database, found through the connection's search path. */
function postgresStore(client, pg) {
  const id = pg.escapeIdentifier;
  let tables;
  async function locate() {
    if (tables !== undefined) return tables;
    const found = await client.query(
      `SELECT c.oid, n.nspname AS schema FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
        WHERE c.oid = to_regclass($1)`,
      [id(CLIENTS_TABLE)],
    );
    if (found.rowCount === 0) return (tables = null);
    const { oid, schema } = found.rows[0];
    const name = (table) => `${id(schema)}.${id(table)}`;
    const columns = await client.query(
      `SELECT attname FROM pg_catalog.pg_attribute WHERE attrelid = to_regclass($1) AND attnum > 0 AND NOT attisdropped`,
      [name(SECRETS_TABLE)],
    );
    return (tables = { oid, name, secretColumns: new Set(columns.rows.map((r) => r.attname)) });
  }
  // A timestamp without a time zone ignores the offset: the UTC text is stored as UTC, as Entity Framework stores it.
  const pgValue = (v) => (v instanceof Date ? v.toISOString() : v);
  async function insertRow(table, row, returning = "") {
    const t = await locate();
    const names = Object.keys(row);
    return client.query(
      `INSERT INTO ${t.name(table)} (${names.map(id).join(", ")}) VALUES (${names.map((_, i) => `$${i + 1}`).join(", ")})${returning}`,
      names.map((name) => pgValue(row[name])),
    );
  }
  return {
    async missingGrants() {
      const user = (await client.query("SELECT current_user AS name")).rows[0].name;
      const t = await locate();
      const grant = (privilege, kind, what) => ({
        privilege: `${privilege} on ${kind ? `${kind.toLowerCase()} ` : ""}${what}`,
        grant: `GRANT ${privilege} ON ${kind ? `${kind} ` : ""}${what} TO ${id(user)};`,
      });
      if (!t) {
        // Without USAGE a schema drops out of the search path, and its "Clients" with it: that is not a first deploy.
        const schemas = searchPathSchemas((await client.query("SELECT current_setting('search_path') AS path")).rows[0].path, user);
        const hidden = await client.query(
          `SELECT DISTINCT n.nspname AS schema FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
            WHERE c.relname = $1 AND c.relkind IN ('r', 'p') AND n.nspname = ANY($2::text[]) AND NOT has_schema_privilege(n.oid, 'USAGE')`,
          [CLIENTS_TABLE, schemas],
        );
        return { user, missing: hidden.rows.map((r) => grant("USAGE", "SCHEMA", id(r.schema))) };
      }
      const missing = [];
      const tables = await client.query(
        `SELECT c.oid, c.relname AS table, p.privilege, has_table_privilege(c.oid, p.privilege) AS granted
           FROM unnest($2::text[], $3::text[]) WITH ORDINALITY AS p(relname, privilege, position)
           JOIN pg_catalog.pg_class c ON c.relname = p.relname
          WHERE c.relnamespace = (SELECT relnamespace FROM pg_catalog.pg_class WHERE oid = $1) AND c.relkind IN ('r', 'p')
          ORDER BY p.position`,
        [t.oid, CLIENT_TABLE_PRIVILEGES.map(([table]) => table), CLIENT_TABLE_PRIVILEGES.map(([, privilege]) => privilege)],
      );
      for (const r of tables.rows) if (!r.granted) missing.push(grant(r.privilege, "", t.name(r.table)));
      const clientTables = [...new Set(tables.rows.map((r) => r.oid))];
      // nextval() of a serial column's sequence needs USAGE; an identity column's does not.
      const sequences = await client.query(
        `SELECT sn.nspname AS schema, sc.relname AS name FROM pg_catalog.pg_attribute a
           CROSS JOIN LATERAL (SELECT pg_get_serial_sequence(a.attrelid::regclass::text, a.attname)::regclass AS oid) s
           JOIN pg_catalog.pg_class sc ON sc.oid = s.oid
           JOIN pg_catalog.pg_namespace sn ON sn.oid = sc.relnamespace
          WHERE a.attrelid = ANY($1::oid[]) AND a.attnum > 0 AND NOT a.attisdropped AND a.atthasdef AND a.attidentity = ''
            AND NOT has_sequence_privilege(s.oid, 'USAGE') AND NOT has_sequence_privilege(s.oid, 'UPDATE')
          ORDER BY array_position($2::text[], (SELECT relname::text FROM pg_catalog.pg_class WHERE oid = a.attrelid)), 2`,
        [clientTables, INSERTED_TABLES],
      );
      for (const r of sequences.rows) missing.push(grant("USAGE", "SEQUENCE", `${id(r.schema)}.${id(r.name)}`));
      const referencing = await client.query(
        `SELECT DISTINCT n.nspname AS schema, c.relname AS table, a.attname AS column,
                has_column_privilege(c.oid, a.attnum, 'SELECT') AS can_select, has_table_privilege(c.oid, 'DELETE') AS can_delete
           FROM pg_catalog.pg_constraint con
           JOIN pg_catalog.pg_class c ON c.oid = con.conrelid
           JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
           JOIN pg_catalog.pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = ANY(con.conkey)
          WHERE con.contype = 'f' AND con.confrelid = $1 AND NOT (con.conrelid = ANY($2::oid[]))
          ORDER BY 1, 2, 3`,
        [t.oid, clientTables],
      );
      for (const r of referencing.rows) {
        const table = `${id(r.schema)}.${id(r.table)}`;
        if (!r.can_select) missing.push(grant(`SELECT (${id(r.column)})`, "", table));
        if (!r.can_delete && !missing.some((m) => m.privilege === `DELETE on ${table}`)) missing.push(grant("DELETE", "", table));
      }
      return { user, missing };
    },
    async lockClients() {
      // Held to the end of the transaction: the read, the decision and the writes see no other writer of "Clients", and
      // two re-seeds run one after the other. Any of UPDATE, DELETE, TRUNCATE (from PostgreSQL 17 also MAINTAIN) allows
      // this mode (PostgreSQL's LOCK reference, "Notes"); the login holds UPDATE and DELETE, both checked above.
      await client.query(`LOCK TABLE ${(await locate()).name(CLIENTS_TABLE)} IN SHARE ROW EXCLUSIVE MODE`);
    },
    async readClient(clientId) {
      const t = await locate();
      if (!t) return { stored: undefined, collidingClientIds: [] };
      const rows = await client.query(
        `SELECT "Id", "ClientId", "Enabled", ${CLIENT_COLUMNS.map(id).join(", ")} FROM ${t.name(CLIENTS_TABLE)} WHERE "ClientId" = $1`,
        [clientId],
      );
      const { exact, colliding } = matchClientId(rows.rows, clientId);
      if (!exact) return { stored: undefined, collidingClientIds: colliding };
      const stored = { ...exact };
      for (const [field, table, column] of CLIENT_LISTS) {
        const values = await client.query(`SELECT ${id(column)} AS v FROM ${t.name(table)} WHERE "ClientId" = $1`, [stored.Id]);
        stored[field] = values.rows.map((r) => r.v);
      }
      const secrets = await client.query(
        `SELECT "Value" FROM ${t.name(SECRETS_TABLE)}
          WHERE "ClientId" = $1 AND "Type" = $2 AND ("Expiration" IS NULL OR "Expiration" > now())`,
        [stored.Id, SHARED_SECRET],
      );
      stored.SecretHashes = secrets.rows.map((r) => r.Value);
      const properties = await client.query(`SELECT to_regclass($1) IS NOT NULL AS present`, [t.name(PROPERTIES_TABLE)]);
      if (properties.rows[0].present) {
        const pairs = await client.query(`SELECT "Key", "Value" FROM ${t.name(PROPERTIES_TABLE)} WHERE "ClientId" = $1`, [stored.Id]);
        stored.Properties = Object.fromEntries(pairs.rows.map((r) => [r.Key, r.Value]));
      }
      return { stored, collidingClientIds: colliding };
    },
    async tablesExist() {
      return (await locate()) !== null;
    },
    async columns(tableNames) {
      const t = await locate();
      const result = {};
      for (const table of tableNames) {
        const found = await client.query(
          `SELECT a.attname AS name, (a.attnotnull AND NOT a.atthasdef AND a.attidentity = '' AND a.attgenerated = '') AS required
             FROM pg_catalog.pg_attribute a WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped`,
          [t.name(table)],
        );
        result[table] = found.rowCount > 0 ? found.rows : undefined;
      }
      return result;
    },
    async insertClient(insertion) {
      const created = await insertRow(CLIENTS_TABLE, insertion.client, ' RETURNING "Id"');
      return { childRows: await insertChildRows(insertRow, created.rows[0].Id, insertion.children) };
    },
    async replaceClient(clientId, replacement) {
      const t = await locate();
      // The row cannot change under us: lockClients' SHARE ROW EXCLUSIVE lock on "Clients" is held since before the read.
      const found = await client.query(`SELECT "Id", "ClientId" FROM ${t.name(CLIENTS_TABLE)} WHERE "ClientId" = $1`, [clientId]);
      const rowId = matchClientId(found.rows, clientId).exact.Id;
      const values = updatedColumns(replacement);
      await client.query(
        `UPDATE ${t.name(CLIENTS_TABLE)} SET ${values.map(([name], i) => `${id(name)} = $${i + 2}`).join(", ")} WHERE "Id" = $1`,
        [rowId, ...values.map(([, v]) => pgValue(v))],
      );
      let deletedChildRows = 0;
      for (const table of replacement.childTables) {
        deletedChildRows += (await client.query(`DELETE FROM ${t.name(table)} WHERE "ClientId" = $1`, [rowId])).rowCount;
      }
      return { deletedChildRows, childRows: await insertChildRows(insertRow, rowId, replacement.children) };
    },
    async deleteClients(clientIds) {
      const t = await locate();
      if (!t || clientIds.length === 0) return { deletedClients: 0, deletedChildRows: 0 };
      const found = await client.query(`SELECT "Id", "ClientId" FROM ${t.name(CLIENTS_TABLE)} WHERE "ClientId" = ANY($1::text[])`, [clientIds]);
      const rowIds = found.rows.filter((r) => clientIds.includes(r.ClientId)).map((r) => r.Id);
      if (rowIds.length === 0) return { deletedClients: 0, deletedChildRows: 0 };
      const children = await client.query(
        `SELECT n.nspname AS schema, c.relname AS name, a.attname AS column, ra.attname AS referenced,
                cardinality(con.conkey) AS columns
           FROM pg_catalog.pg_constraint con
           JOIN pg_catalog.pg_class c ON c.oid = con.conrelid
           JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
           JOIN pg_catalog.pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = con.conkey[1]
           JOIN pg_catalog.pg_attribute ra ON ra.attrelid = con.confrelid AND ra.attnum = con.confkey[1]
          WHERE con.contype = 'f' AND con.confrelid = $1 AND con.conrelid <> con.confrelid
          ORDER BY n.nspname, c.relname, a.attname`,
        [t.oid],
      );
      let deletedChildRows = 0;
      for (const child of children.rows) {
        if (Number(child.columns) !== 1) {
          throw new Error(`table ${child.schema}.${child.name} references "Clients" with a multi-column foreign key, which this script does not handle`);
        }
        const result = await client.query(
          `DELETE FROM ${id(child.schema)}.${id(child.name)}
            WHERE ${id(child.column)} IN (SELECT ${id(child.referenced)} FROM ${t.name(CLIENTS_TABLE)} WHERE "Id" = ANY($1::int[]))`,
          [rowIds],
        );
        deletedChildRows += result.rowCount;
      }
      const deleted = await client.query(`DELETE FROM ${t.name(CLIENTS_TABLE)} WHERE "Id" = ANY($1::int[])`, [rowIds]);
      return { deletedClients: deleted.rowCount, deletedChildRows };
    },
    async addSecrets(stored, secretHashes) {
      const t = await locate();
      // IdentityServer4 3.x and later require "Created" (set by the application, no column default).
      const created = t.secretColumns.has("Created");
      for (const hash of secretHashes) {
        await client.query(
          `INSERT INTO ${t.name(SECRETS_TABLE)} ("ClientId", "Value", "Type"${created ? ', "Created"' : ""})
           VALUES ($1, $2, $3${created ? ", now()" : ""})`,
          [stored.Id, hash, SHARED_SECRET],
        );
      }
      return secretHashes.length;
    },
    async deleteSecrets(stored, secretHashes) {
      if (secretHashes.length === 0) return 0;
      const t = await locate();
      const result = await client.query(
        `DELETE FROM ${t.name(SECRETS_TABLE)} WHERE "ClientId" = $1 AND "Type" = $2 AND "Value" = ANY($3::text[])`,
        [stored.Id, SHARED_SECRET, secretHashes],
      );
      return result.rowCount;
    },
    async deleteRedirectUris(stored) {
      const t = await locate();
      return (await client.query(`DELETE FROM ${t.name(REDIRECT_URIS_TABLE)} WHERE "ClientId" = $1`, [stored.Id])).rowCount;
    },
  };
}

// ---------------------------------------------------------------------------
// SQL Server

async function withMsSql(connectionString, work) {
  checkMsSqlConnectionString(connectionString);
  return inMsSqlTransaction(require("mssql"), connectionString, work);
}

/**
 * One transaction through `sql`, the `mssql` module or another with its surface (ConnectionPool, Transaction, Request,
 * Int, NVarChar): the `server` runner's sends each statement to the .NET Framework's SqlClient on the IIS server
 * (reseed-server.js), so that both run the same statements, built here.
 */
async function inMsSqlTransaction(sql, connectionString, work) {
  const pool = new sql.ConnectionPool(connectionString);
  pool.on("error", () => {});
  let transaction;
  try {
    try {
      await pool.connect();
    } catch (err) {
      err.whileConnecting = true;
      throw err;
    }
    transaction = new sql.Transaction(pool);
    await transaction.begin();
    const result = await work(msSqlStore(transaction, sql));
    await transaction.commit();
    return result;
  } catch (err) {
    if (transaction) {
      await transaction.rollback().catch(() => {});
      err.rolledBack = true;
    }
    throw err;
  } finally {
    await pool.close().catch(() => {});
  }
}

/** SQL Server's QUOTENAME for a name in a statement shown to the user. */
function quoteName(name) {
  return `[${String(name).replace(/]/g, "]]")}]`;
}

function msSqlStore(transaction, sql) {
  const request = () => new sql.Request(transaction);
  let tables;
  async function locate() {
    if (tables !== undefined) return tables;
    const found = (
      await request().query(
        `SELECT OBJECT_ID(N'${CLIENTS_TABLE}', N'U') AS id, QUOTENAME(OBJECT_SCHEMA_NAME(OBJECT_ID(N'${CLIENTS_TABLE}', N'U'))) AS [schema]`,
      )
    ).recordset[0];
    if (!found || found.id === null) return (tables = null);
    const name = (table) => `${found.schema}.[${table}]`;
    const columns = await request().query(`SELECT name FROM sys.columns WHERE object_id = OBJECT_ID(N'${found.schema}.[${SECRETS_TABLE}]')`);
    return (tables = { id: found.id, name, secretColumns: new Set(columns.recordset.map((r) => r.name)) });
  }
  const withIds = (r, ids) => {
    ids.forEach((v, i) => r.input(`id${i}`, sql.NVarChar(4000), v));
    return ids.map((_, i) => `@id${i}`).join(", ");
  };
  const withRowIds = (r, ids) => {
    ids.forEach((v, i) => r.input(`row${i}`, sql.Int, v));
    return ids.map((_, i) => `@row${i}`).join(", ");
  };
  async function insertRow(table, row) {
    const r = request();
    const names = Object.keys(row);
    names.forEach((name, i) => r.input(`v${i}`, row[name]));
    return r.query(`INSERT INTO ${(await locate()).name(table)} (${names.map((n) => `[${n}]`).join(", ")}) VALUES (${names.map((_, i) => `@v${i}`).join(", ")})`);
  }
  return {
    async missingGrants() {
      const user = (await request().query(`SELECT USER_NAME() AS name`)).recordset[0].name;
      const t = await locate();
      // SQL Server shows a login only the tables it holds a permission on: without any, "Clients" looks absent.
      if (!t) return { user, missing: [] };
      const grant = (privilege, what) => ({ privilege: `${privilege} on ${what}`, grant: `GRANT ${privilege} ON ${what} TO ${quoteName(user)};` });
      const missing = [];
      for (const [table, privilege] of CLIENT_TABLE_PRIVILEGES) {
        const granted = await request()
          .input("table", sql.NVarChar(600), t.name(table))
          .input("privilege", sql.NVarChar(30), privilege)
          .query(`SELECT HAS_PERMS_BY_NAME(@table, N'OBJECT', @privilege) AS granted`);
        if (granted.recordset[0].granted !== 1) missing.push(grant(privilege, t.name(table)));
      }
      const referencing = await request().input("clients", sql.Int, t.id).query(
        `SELECT DISTINCT QUOTENAME(OBJECT_SCHEMA_NAME(fk.parent_object_id)) + N'.' + QUOTENAME(OBJECT_NAME(fk.parent_object_id)) AS name,
                QUOTENAME(pc.name) AS [column], OBJECT_NAME(fk.parent_object_id) AS [table],
                HAS_PERMS_BY_NAME(QUOTENAME(OBJECT_SCHEMA_NAME(fk.parent_object_id)) + N'.' + QUOTENAME(OBJECT_NAME(fk.parent_object_id)), N'OBJECT', N'SELECT', pc.name, N'COLUMN') AS canSelect,
                HAS_PERMS_BY_NAME(QUOTENAME(OBJECT_SCHEMA_NAME(fk.parent_object_id)) + N'.' + QUOTENAME(OBJECT_NAME(fk.parent_object_id)), N'OBJECT', N'DELETE') AS canDelete
           FROM sys.foreign_keys fk
           JOIN sys.foreign_key_columns fkc ON fkc.constraint_object_id = fk.object_id
           JOIN sys.columns pc ON pc.object_id = fkc.parent_object_id AND pc.column_id = fkc.parent_column_id
          WHERE fk.referenced_object_id = @clients AND fk.parent_object_id <> fk.referenced_object_id
          ORDER BY 1, 2`,
      );
      for (const r of referencing.recordset) {
        if (INSERTED_TABLES.includes(r.table)) continue;
        if (r.canSelect !== 1) missing.push(grant(`SELECT (${r.column})`, r.name));
        if (r.canDelete !== 1 && !missing.some((m) => m.privilege === `DELETE on ${r.name}`)) missing.push(grant("DELETE", r.name));
      }
      return { user, missing };
    },
    async lockClients() {
      // The reads take UPDLOCK on the rows they return, held to the end of the transaction.
    },
    async readClient(clientId) {
      const t = await locate();
      if (!t) return { stored: undefined, collidingClientIds: [] };
      const rows = await request()
        .input("clientId", sql.NVarChar(200), clientId)
        .query(`SELECT [Id], [ClientId], [Enabled], ${CLIENT_COLUMNS.map((c) => `[${c}]`).join(", ")} FROM ${t.name(CLIENTS_TABLE)} WITH (UPDLOCK)
                 WHERE [ClientId] = @clientId`);
      // The default collation is case-insensitive: the query also returns ids that differ in case.
      const { exact, colliding } = matchClientId(rows.recordset, clientId);
      if (!exact) return { stored: undefined, collidingClientIds: colliding };
      const stored = { ...exact };
      for (const [field, table, column] of CLIENT_LISTS) {
        const values = await request().input("id", sql.Int, stored.Id).query(`SELECT [${column}] AS v FROM ${t.name(table)} WHERE [ClientId] = @id`);
        stored[field] = values.recordset.map((r) => r.v);
      }
      const secrets = await request()
        .input("id", sql.Int, stored.Id)
        .input("type", sql.NVarChar(250), SHARED_SECRET)
        .query(`SELECT [Value] FROM ${t.name(SECRETS_TABLE)}
                 WHERE [ClientId] = @id AND [Type] = @type AND ([Expiration] IS NULL OR [Expiration] > SYSUTCDATETIME())`);
      stored.SecretHashes = secrets.recordset.map((r) => r.Value);
      const properties = await request()
        .input("table", sql.NVarChar(600), t.name(PROPERTIES_TABLE))
        .query(`SELECT OBJECT_ID(@table, N'U') AS id`);
      if (properties.recordset[0].id !== null) {
        const pairs = await request().input("id", sql.Int, stored.Id).query(`SELECT [Key], [Value] FROM ${t.name(PROPERTIES_TABLE)} WHERE [ClientId] = @id`);
        stored.Properties = Object.fromEntries(pairs.recordset.map((r) => [r.Key, r.Value]));
      }
      return { stored, collidingClientIds: colliding };
    },
    async tablesExist() {
      return (await locate()) !== null;
    },
    async columns(tableNames) {
      const t = await locate();
      const result = {};
      for (const table of tableNames) {
        const found = await request()
          .input("table", sql.NVarChar(600), t.name(table))
          .query(`SELECT c.name AS name, CASE WHEN c.is_nullable = 0 AND c.default_object_id = 0 AND c.is_identity = 0 AND c.is_computed = 0 THEN 1 ELSE 0 END AS required
                    FROM sys.columns c WHERE c.object_id = OBJECT_ID(@table, N'U')`);
        result[table] = found.recordset.length > 0 ? found.recordset.map((r) => ({ name: r.name, required: r.required === 1 })) : undefined;
      }
      return result;
    },
    async insertClient(insertion) {
      const t = await locate();
      await insertRow(CLIENTS_TABLE, insertion.client);
      const rows = await request()
        .input("clientId", sql.NVarChar(200), insertion.client.ClientId)
        .query(`SELECT [Id], [ClientId] FROM ${t.name(CLIENTS_TABLE)} WHERE [ClientId] = @clientId`);
      return { childRows: await insertChildRows(insertRow, matchClientId(rows.recordset, insertion.client.ClientId).exact.Id, insertion.children) };
    },
    async replaceClient(clientId, replacement) {
      const t = await locate();
      const found = await request()
        .input("clientId", sql.NVarChar(200), clientId)
        .query(`SELECT [Id], [ClientId] FROM ${t.name(CLIENTS_TABLE)} WITH (UPDLOCK) WHERE [ClientId] = @clientId`);
      // The collation also returns ids that differ in case: the row kept is the one holding exactly this id.
      const rowId = matchClientId(found.recordset, clientId).exact.Id;
      const values = updatedColumns(replacement);
      const update = request().input("id", sql.Int, rowId);
      values.forEach(([, v], i) => update.input(`v${i}`, v));
      await update.query(`UPDATE ${t.name(CLIENTS_TABLE)} SET ${values.map(([name], i) => `[${name}] = @v${i}`).join(", ")} WHERE [Id] = @id`);
      let deletedChildRows = 0;
      for (const table of replacement.childTables) {
        const deleted = await request().input("id", sql.Int, rowId).query(`DELETE FROM ${t.name(table)} WHERE [ClientId] = @id`);
        deletedChildRows += deleted.rowsAffected[0] || 0;
      }
      return { deletedChildRows, childRows: await insertChildRows(insertRow, rowId, replacement.children) };
    },
    async deleteClients(clientIds) {
      const t = await locate();
      if (!t || clientIds.length === 0) return { deletedClients: 0, deletedChildRows: 0 };
      const r0 = request();
      const found = await r0.query(`SELECT [Id], [ClientId] FROM ${t.name(CLIENTS_TABLE)} WITH (UPDLOCK) WHERE [ClientId] IN (${withIds(r0, clientIds)})`);
      // Deleted by row id: the collation would also match ids that differ in case.
      const rowIds = found.recordset.filter((row) => clientIds.includes(row.ClientId)).map((row) => row.Id);
      if (rowIds.length === 0) return { deletedClients: 0, deletedChildRows: 0 };
      const children = await request().input("clients", sql.Int, t.id).query(
        `SELECT QUOTENAME(OBJECT_SCHEMA_NAME(fk.parent_object_id)) + N'.' + QUOTENAME(OBJECT_NAME(fk.parent_object_id)) AS name,
                QUOTENAME(pc.name) AS [column], QUOTENAME(rc.name) AS referenced,
                (SELECT COUNT(*) FROM sys.foreign_key_columns k WHERE k.constraint_object_id = fk.object_id) AS columns
           FROM sys.foreign_keys fk
           JOIN sys.foreign_key_columns fkc ON fkc.constraint_object_id = fk.object_id AND fkc.constraint_column_id = 1
           JOIN sys.columns pc ON pc.object_id = fkc.parent_object_id AND pc.column_id = fkc.parent_column_id
           JOIN sys.columns rc ON rc.object_id = fkc.referenced_object_id AND rc.column_id = fkc.referenced_column_id
          WHERE fk.referenced_object_id = @clients AND fk.parent_object_id <> fk.referenced_object_id
          ORDER BY 1, 2`,
      );
      let deletedChildRows = 0;
      for (const child of children.recordset) {
        if (Number(child.columns) !== 1) {
          throw new Error(`table ${child.name} references "Clients" with a multi-column foreign key, which this script does not handle`);
        }
        const r = request();
        const list = withRowIds(r, rowIds);
        const result = await r.query(
          `DELETE FROM ${child.name} WHERE ${child.column} IN (SELECT ${child.referenced} FROM ${t.name(CLIENTS_TABLE)} WHERE [Id] IN (${list}))`,
        );
        deletedChildRows += result.rowsAffected[0] || 0;
      }
      const r = request();
      const deleted = await r.query(`DELETE FROM ${t.name(CLIENTS_TABLE)} WHERE [Id] IN (${withRowIds(r, rowIds)})`);
      return { deletedClients: deleted.rowsAffected[0] || 0, deletedChildRows };
    },
    async addSecrets(stored, secretHashes) {
      const t = await locate();
      const created = t.secretColumns.has("Created");
      for (const hash of secretHashes) {
        await request()
          .input("id", sql.Int, stored.Id)
          .input("value", sql.NVarChar(4000), hash)
          .input("type", sql.NVarChar(250), SHARED_SECRET)
          .query(`INSERT INTO ${t.name(SECRETS_TABLE)} ([ClientId], [Value], [Type]${created ? ", [Created]" : ""})
                  VALUES (@id, @value, @type${created ? ", SYSUTCDATETIME()" : ""})`);
      }
      return secretHashes.length;
    },
    async deleteSecrets(stored, secretHashes) {
      if (secretHashes.length === 0) return 0;
      const r = request().input("id", sql.Int, stored.Id).input("type", sql.NVarChar(250), SHARED_SECRET);
      const list = withIds(r, secretHashes);
      const result = await r.query(`DELETE FROM ${(await locate()).name(SECRETS_TABLE)} WHERE [ClientId] = @id AND [Type] = @type AND [Value] IN (${list})`);
      return result.rowsAffected[0] || 0;
    },
    async deleteRedirectUris(stored) {
      const result = await request().input("id", sql.Int, stored.Id).query(`DELETE FROM ${(await locate()).name(REDIRECT_URIS_TABLE)} WHERE [ClientId] = @id`);
      return result.rowsAffected[0] || 0;
    },
  };
}

// ---------------------------------------------------------------------------
// The two steps, on any store

/**
 * What both steps do first: refuse, before reading or changing a client row, when the login lacks a grant re-seeding
 * needs (every grant of every path, so a missing one shows on the first run, not at the first rotation); then hold
 * the lock on "Clients" for the rest of the transaction. Returns whether the tables exist.
 */
async function guard(store) {
  const { user, missing } = await store.missingGrants();
  if (missing.length > 0) throw refuseGrants(user, missing);
  if (!(await store.tablesExist())) return false;
  await store.lockClients();
  return true;
}

/** Refuses a login that lacks grants: each missing privilege, that nothing changed, and the statements that fix it. */
function refuseGrants(user, missing) {
  return new RefusalError(
    `the database user ${JSON.stringify(user)} lacks ${missing.length === 1 ? "a privilege" : "privileges"} re-seeding needs: ` +
      `${missing.map((m) => m.privilege).join("; ")}. Nothing was changed. Grant ${missing.length === 1 ? "it" : "them"} as the tables' owner: ` +
      `${missing.map((m) => m.grant).join(" ")} (docs/reseed.md lists every grant re-seeding needs), or set \`client.reseed: false\` ` +
      "and manage the client rows by hand.",
  );
}

/**
 * Before the service (re)starts: see `planPrepare`. The restart token changes whenever the stored client was replaced:
 * a service that caches clients (IdentityServer4's optional client store cache, 15 minutes) must drop the old copy.
 */
async function prepare(store, desired, previous) {
  const output = {
    clientId: desired.ClientId,
    deletedClients: 0,
    insertedClients: 0,
    updatedClients: 0,
    addedSecrets: 0,
    restartToken: previous ? previous.restartToken : "",
    // The client this step prepared before, when another one takes its place: for the retire step.
    supersededClientIds: previous && previous.clientId !== desired.ClientId ? [previous.clientId] : [],
  };
  if (!(await guard(store))) {
    // Told to this run's retire step: the service then creates the tables and seeds only the configured client.
    return { output: { ...output, tablesMissing: true }, note: 'table "Clients" does not exist yet: the service creates it and inserts the client' };
  }
  const { stored, collidingClientIds } = await store.readClient(desired.ClientId);
  const plan = planPrepare(desired, stored, collidingClientIds);
  if (plan.action === "insert" || plan.action === "replace") {
    // Checked before anything is changed: a table this script cannot write leaves the database as it was.
    const written = plan.keepRedirectUris && plan.keepRedirectUris.length > 0 ? { ...desired, RedirectUris: plan.keepRedirectUris } : desired;
    const insertion = planInsertion(written, await store.columns(INSERTED_TABLES), new Date());
    if (insertion.problems.length > 0) throw refuseInsertion(insertion.problems, desired);
    if (plan.action === "insert") {
      const inserted = await store.insertClient(insertion);
      output.insertedClients = 1;
      return { output, note: `${plan.reason}: inserted the configured client (${inserted.childRows} child row(s))` };
    }
    // Other rows holding the id under the collation go first, so that the kept row can take it exactly.
    const deleted = plan.deleteClientIds.length > 0 ? await store.deleteClients(plan.deleteClientIds) : { deletedClients: 0, deletedChildRows: 0 };
    output.deletedClients = deleted.deletedClients;
    const replaced = await store.replaceClient(plan.updateClientId, insertion);
    output.updatedClients = 1;
    output.restartToken = newRestartToken();
    const others = deleted.deletedClients > 0 ? `deleted ${deleted.deletedClients} other client(s) with ${deleted.deletedChildRows} child row(s) and ` : "";
    const kept = written === desired ? "" : `; its ${written.RedirectUris.length} redirect URI(s) stay until the retire step, since it lost the grant type that needs them`;
    return {
      output,
      note:
        `${plan.reason}: ${others}replaced the client in place (its "Clients" row kept and updated, ` +
        `${replaced.deletedChildRows} child row(s) replaced by ${replaced.childRows}; rows of other tables that reference it left alone)${kept}`,
    };
  }
  if (plan.action === "addSecrets") {
    output.addedSecrets = await store.addSecrets(stored, plan.secretHashes);
  }
  return { output, note: plan.reason };
}

/** After the new client is in service: see `planRetire`. */
async function retire(store, desired, previous, supersededClientIds, tablesMissingAtPrepare = false) {
  if (tablesMissingAtPrepare) {
    // Nothing this run could retire is in tables the service created after the prepare step; and a login that gets its
    // grants once the tables exist (docs/reseed.md) has none of them yet.
    const { pendingClientIds } = planRetire(desired, undefined, previous, supersededClientIds);
    return {
      output: { clientId: desired.ClientId, retiredClients: 0, retiredSecrets: 0, pendingClientIds },
      note: 'the prepare step of this run found no table "Clients": the service created its tables and seeded the configured client, so there is nothing to retire',
    };
  }
  const stored = (await guard(store)) ? (await store.readClient(desired.ClientId)).stored : undefined;
  const plan = planRetire(desired, stored, previous, supersededClientIds);
  const output = { clientId: desired.ClientId, retiredClients: 0, retiredSecrets: 0, pendingClientIds: plan.pendingClientIds };
  if (plan.action === "none") return { output, note: plan.reason };
  output.retiredClients = (await store.deleteClients(plan.clientIds)).deletedClients;
  output.retiredSecrets = await store.deleteSecrets(stored, plan.secretHashes);
  const uris = plan.redirectUris.length > 0 ? await store.deleteRedirectUris(stored) : 0;
  const urisNote = uris > 0 ? ` and ${uris} redirect URI(s) the client no longer needs` : "";
  return { output, note: `retired ${output.retiredClients} client(s) and ${output.retiredSecrets} other secret(s) of the client${urisNote}` };
}

// ---------------------------------------------------------------------------
// Errors

const UNREACHABLE_CODES = new Set([
  "ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "ETIMEDOUT", "EHOSTUNREACH", "ENETUNREACH", "ECONNRESET", "EPIPE",
  "ESOCKET", "ETIMEOUT", // mssql
]);

/** Removes the password (and any longer secret) from a driver message. */
function redact(text, secrets) {
  let result = String(text);
  for (const secret of secrets) {
    if (typeof secret === "string" && secret.length >= 4) result = result.split(secret).join("***");
  }
  return result;
}

/**
 * One paragraph for a failed database step: which database, what went wrong, what to check.
 * Never contains the password or the connection string.
 */
/** A PostgreSQL identifier quoted for a statement shown to the user. */
function pgIdentifier(name) {
  return `"${String(name).replace(/"/g, '""')}"`;
}

function describeError(err, provider, connectionString, runner = "local") {
  const { here, noReach } = RUNNERS[runner];
  const target = describeTarget(provider, connectionString);
  const where = `the ${provider} database "${target.database}" at ${target.host}`;
  const code = err && (err.code || (err.originalError && err.originalError.code));
  const number = err && (err.number || (err.originalError && err.originalError.number));
  const detail = (err && err.message) || String(err);
  let what;
  if (err && err.whileConnecting && !target.password && /password/i.test(detail)) {
    what =
      `${where} asks for a password, but the connection string has none (${detail}). Add Password=... to the connection ` +
      "string (`database.reseedConnectionString` when only re-seeding's string lacks it). Nothing was changed.";
  } else if (code === "57014" || code === "55P03") {
    what =
      `${where} did not answer in time (${detail}). Something may hold a lock on "Clients" or its child tables; ` +
      `raise Command Timeout in the connection string or retry. Nothing was changed.`;
  } else if (UNREACHABLE_CODES.has(code) || /timeout|timed out|terminated unexpectedly/i.test(detail)) {
    what =
      `cannot reach ${where} from ${here} (${detail}). Check the server name and port in the connection string and that ${here} ` +
      `can reach the database server (firewall, listen address, pg_hba.conf or SQL Server's TCP settings). ${noReach}`;
  } else if (code === "28000") {
    what =
      `${where} refuses this login from ${here} (${detail}). Check the server's pg_hba.conf for this client ` +
      `address and user. ${noReach}`;
  } else if (code === "28P01" || code === "ELOGIN") {
    what =
      `authentication failed on ${where} (${detail}). Check the user and password in the connection string ` +
      `and that this login may connect from ${here}.`;
  } else if (code === "3D000" || number === 4060) {
    what = `${where} does not exist or cannot be opened (${detail}). Check the database name in the connection string.`;
  } else if (err && err.whileConnecting && code === "42501") {
    what =
      `${where} refuses the connection (${detail}): the user needs CONNECT on the database ` +
      `(GRANT CONNECT ON DATABASE ${pgIdentifier(target.database)} TO ${pgIdentifier(target.user)}; as the database's owner). Nothing was changed.`;
  } else if (code === "42501" || number === 229 || number === 230) {
    what =
      `permission denied on ${where} (${detail}). The connection string's user needs SELECT, INSERT, UPDATE and DELETE on ` +
      `"Clients", SELECT, INSERT and DELETE on its child tables, and SELECT on the referencing column and DELETE on every ` +
      `other table that references "Clients" ` +
      `(docs/reseed.md lists the statements). Nothing was changed.`;
  } else if (err && err.whileConnecting) {
    what = `cannot connect to ${where} (${detail}). Nothing was changed.`;
  } else if (err && err.rolledBack) {
    what = `failed on ${where}: ${detail}. Nothing was changed (the transaction was rolled back).`;
  } else {
    what = `failed on ${where}: ${detail}. Nothing was changed.`;
  }
  // Drivers do not echo passwords, but be sure; passwords under 4 characters cannot be told from ordinary text.
  return redact(`reseed: ${what}`, [connectionString, target.password]);
}

// ---------------------------------------------------------------------------
// Main

/**
 * Runs one step (`prepare` or `retire`). `stores` is for tests: provider name -> (connectionString, work) => result.
 * Returns the stdout object and a note for stderr.
 */
async function run({ provider, stdinText, previousStdout }, stores = { Postgres: withPostgres, MsSqlServer: withMsSql }) {
  const dbProvider = parseProvider(provider);
  const input = parseInput(stdinText);
  // The command provider's PULUMI_COMMAND_STDOUT locally; on stdin where the step runs elsewhere (its environment shows).
  const previous = parsePreviousOutput(previousStdout ?? input.previousStdout);
  if (dbProvider === "Postgres") pgConfigFromConnectionString(input.connectionString); // bad strings are input errors
  else checkMsSqlConnectionString(input.connectionString, input.runner);
  const step = input.action === "prepare" ? prepare : retire;
  try {
    return await stores[dbProvider](input.connectionString, (store) => step(store, input.client, previous, input.supersededClientIds, input.tablesMissingAtPrepare));
  } catch (err) {
    const failure = new Error(
      err instanceof RefusalError ? redact(`reseed: ${err.message}`, [input.connectionString]) : describeError(err, dbProvider, input.connectionString, input.runner),
    );
    failure.exitCode = EXIT_DB_ERROR;
    throw failure;
  }
}

function readStdin() {
  return new Promise((resolve, reject) => {
    const chunks = [];
    process.stdin.on("data", (c) => chunks.push(c));
    process.stdin.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    process.stdin.on("error", reject);
  });
}

/** Runs one step as a command: `step` is `run`, or another runner's (reseed-server.js) with the same contract. */
async function main(step = run) {
  try {
    const { output, note } = await step({
      provider: process.env.RESEED_DB_PROVIDER,
      stdinText: await readStdin(),
      previousStdout: process.env.PULUMI_COMMAND_STDOUT,
    });
    process.stderr.write(`reseed: ${note}\n`);
    process.stdout.write(JSON.stringify(output) + "\n");
    process.exitCode = EXIT_OK;
  } catch (err) {
    const message = err instanceof ConfigError ? `reseed: ${err.message}` : err.message;
    process.stderr.write(message + "\n");
    process.exitCode = err instanceof ConfigError ? EXIT_BAD_INPUT : err.exitCode || EXIT_DB_ERROR;
  }
}

module.exports = {
  ConfigError,
  RefusalError,
  parseConnectionString,
  pgConfigFromConnectionString,
  checkMsSqlConnectionString,
  describeTarget,
  parseInput,
  parseProvider,
  parsePreviousOutput,
  clientDifferences,
  planPrepare,
  planRetire,
  planInsertion,
  matchClientId,
  prepare,
  retire,
  withPostgres,
  withMsSql,
  inMsSqlTransaction,
  msSqlStore,
  redact,
  describeError,
  run,
  main,
};

if (require.main === module) {
  main();
}
