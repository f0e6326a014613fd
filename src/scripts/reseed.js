#!/usr/bin/env node
/*
 * Client re-seed for the Creatio Identity Service.
 *
 * The service inserts the system client from its configuration only when no client with that id exists,
 * so a changed client (id, secret, lifetimes, redirect URIs, ...) has no effect until the old rows are gone.
 * This script deletes them, in one transaction, before the service restarts with the new configuration.
 *
 * Run as `node reseed.js` by a local command with `addPreviousOutputInEnv: true`.
 *   Environment:
 *     RESEED_DB_PROVIDER     "Postgres" or "MsSqlServer" (the service's DbProvider)
 *     PULUMI_COMMAND_STDOUT  this script's previous stdout (set by the command provider on update)
 *   Standard input: JSON {"connectionString": "<ADO.NET style>", "clientId": "<new client id>",
 *                         "clientHash": "<sha256 hex of the rendered Clients JSON>"}
 *   Standard output: exactly one JSON line {"clientId": "...", "clientHash": "...", "deletedClients": N}
 *   Exit codes: 0 done (or nothing to do), 1 database error (rolled back), 2 bad input.
 *
 * Decision: when the previous run printed the same clientHash, nothing changes (a new connection string
 * alone must not delete the client). Otherwise, for the new and the previous client id: if table "Clients"
 * does not exist yet (first deploy), nothing to do; else delete the rows of every table with a foreign key
 * to "Clients" for those clients, then the clients themselves.
 *
 * Messages name the database host and database, never the password or the connection string.
 * `require` it to use the helpers; it only runs main() when started directly.
 */
"use strict";

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
const NO_REACH_HINT =
  "If the machine running Pulumi reaches the database under another address, set `database.reseedConnectionString`; " +
  "if it cannot reach the database at all, set `client.reseed: false` and delete the client's rows from " +
  '"Clients" and its child tables by hand before the service restarts.';

/** Bad input: exit 2, the message says what to fix. */
class ConfigError extends Error {
  constructor(message) {
    super(message);
    this.name = "ConfigError";
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

/** SQL Server: `mssql` reads ADO.NET strings itself; this only rejects what it cannot do. */
function checkMsSqlConnectionString(connectionString) {
  const entries = parseConnectionString(connectionString);
  const integrated = entries.get("integratedsecurity") ?? entries.get("trustedconnection");
  if (integrated !== undefined && /^(true|yes|sspi)$/i.test(integrated.trim())) {
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
      return { host: `${c.host}:${c.port}`, database: c.database || "(default database)", password: c.password };
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
// Inputs and the decision

function parseInput(text) {
  let input;
  try {
    input = JSON.parse(text);
  } catch {
    throw new ConfigError(
      'standard input is not valid JSON: pass {"connectionString": "...", "clientId": "...", "clientHash": "..."} ' +
        "(the content is not shown here because it holds the connection string)",
    );
  }
  if (input === null || typeof input !== "object") throw new ConfigError("standard input must be a JSON object");
  for (const key of ["connectionString", "clientId", "clientHash"]) {
    if (typeof input[key] !== "string" || input[key] === "") {
      throw new ConfigError(`standard input has no "${key}" (a non-empty string is required)`);
    }
  }
  if (!/^[0-9a-f]{64}$/i.test(input.clientHash)) {
    throw new ConfigError('"clientHash" must be the SHA-256 hex digest of the rendered Clients JSON');
  }
  return { connectionString: input.connectionString, clientId: input.clientId, clientHash: input.clientHash.toLowerCase() };
}

function parseProvider(value) {
  const provider = PROVIDERS.find((p) => p.toLowerCase() === String(value || "").trim().toLowerCase());
  if (!provider) {
    throw new ConfigError(`RESEED_DB_PROVIDER must be one of ${PROVIDERS.join(", ")}, got "${value || ""}"`);
  }
  return provider;
}

/**
 * The previous run's result from PULUMI_COMMAND_STDOUT: the last line that is a JSON object with a string
 * clientHash, or undefined (first run, or output from something else).
 */
function parsePreviousOutput(stdout) {
  if (typeof stdout !== "string") return undefined;
  const lines = stdout.split(/\r?\n/).map((l) => l.trim()).filter(Boolean);
  for (let i = lines.length - 1; i >= 0; i--) {
    try {
      const value = JSON.parse(lines[i]);
      if (value && typeof value === "object" && typeof value.clientHash === "string") {
        return {
          clientId: typeof value.clientId === "string" && value.clientId !== "" ? value.clientId : undefined,
          clientHash: value.clientHash.toLowerCase(),
        };
      }
    } catch {
      // not JSON: keep looking
    }
  }
  return undefined;
}

/** What to do: `{ action: "none" }` when the client is unchanged, else the client ids whose rows go. */
function planReseed(input, previous) {
  if (previous && previous.clientHash === input.clientHash) return { action: "none", clientIds: [] };
  const clientIds = [input.clientId];
  if (previous && previous.clientId && previous.clientId !== input.clientId) clientIds.push(previous.clientId);
  return { action: "delete", clientIds };
}

// ---------------------------------------------------------------------------
// Database work: one transaction each

async function reseedPostgres(connectionString, clientIds) {
  const pg = require("pg");
  const client = new pg.Client(pgConfigFromConnectionString(connectionString));
  client.on("error", () => {}); // a dropped connection surfaces as a failed query
  await client.connect();
  try {
    await client.query("BEGIN");
    const clients = await client.query(
      `SELECT c.oid, n.nspname AS schema, c.relname AS name
         FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
        WHERE c.oid = to_regclass($1)`,
      [pg.escapeIdentifier(CLIENTS_TABLE)],
    );
    if (clients.rowCount === 0) {
      await client.query("COMMIT");
      return { deletedClients: 0, deletedChildRows: 0, tablesFound: false };
    }
    const { oid, schema, name } = clients.rows[0];
    const clientsTable = `${pg.escapeIdentifier(schema)}.${pg.escapeIdentifier(name)}`;
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
      [oid],
    );
    let deletedChildRows = 0;
    for (const child of children.rows) {
      if (Number(child.columns) !== 1) {
        throw new Error(`table ${child.schema}.${child.name} references "Clients" with a multi-column foreign key, which this script does not handle`);
      }
      const result = await client.query(
        `DELETE FROM ${pg.escapeIdentifier(child.schema)}.${pg.escapeIdentifier(child.name)}
          WHERE ${pg.escapeIdentifier(child.column)} IN
                (SELECT ${pg.escapeIdentifier(child.referenced)} FROM ${clientsTable} WHERE "ClientId" = ANY($1::text[]))`,
        [clientIds],
      );
      deletedChildRows += result.rowCount;
    }
    const deleted = await client.query(`DELETE FROM ${clientsTable} WHERE "ClientId" = ANY($1::text[])`, [clientIds]);
    await client.query("COMMIT");
    return { deletedClients: deleted.rowCount, deletedChildRows, tablesFound: true };
  } catch (err) {
    await client.query("ROLLBACK").catch(() => {});
    throw err;
  } finally {
    await client.end().catch(() => {});
  }
}

async function reseedMsSql(connectionString, clientIds) {
  checkMsSqlConnectionString(connectionString);
  const sql = require("mssql");
  const pool = new sql.ConnectionPool(connectionString);
  pool.on("error", () => {});
  await pool.connect();
  try {
    const transaction = new sql.Transaction(pool);
    await transaction.begin();
    const request = () => {
      const r = new sql.Request(transaction);
      clientIds.forEach((id, i) => r.input(`id${i}`, sql.NVarChar(4000), id));
      return r;
    };
    const idList = clientIds.map((_, i) => `@id${i}`).join(", ");
    try {
      const clients = await request().query(
        `SELECT OBJECT_ID(N'${CLIENTS_TABLE}', N'U') AS id,
                QUOTENAME(OBJECT_SCHEMA_NAME(OBJECT_ID(N'${CLIENTS_TABLE}', N'U'))) + N'.' + QUOTENAME(N'${CLIENTS_TABLE}') AS name`,
      );
      const found = clients.recordset[0];
      if (!found || found.id === null) {
        await transaction.commit();
        return { deletedClients: 0, deletedChildRows: 0, tablesFound: false };
      }
      const children = await request().input("clients", sql.Int, found.id).query(
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
        const result = await request().query(
          `DELETE FROM ${child.name} WHERE ${child.column} IN
             (SELECT ${child.referenced} FROM ${found.name} WHERE [ClientId] IN (${idList}))`,
        );
        deletedChildRows += result.rowsAffected[0] || 0;
      }
      const deleted = await request().query(`DELETE FROM ${found.name} WHERE [ClientId] IN (${idList})`);
      await transaction.commit();
      return { deletedClients: deleted.rowsAffected[0] || 0, deletedChildRows, tablesFound: true };
    } catch (err) {
      await transaction.rollback().catch(() => {});
      throw err;
    }
  } finally {
    await pool.close().catch(() => {});
  }
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
function describeError(err, provider, connectionString) {
  const target = describeTarget(provider, connectionString);
  const where = `the ${provider} database "${target.database}" at ${target.host}`;
  const code = err && (err.code || (err.originalError && err.originalError.code));
  const number = err && (err.number || (err.originalError && err.originalError.number));
  const detail = (err && err.message) || String(err);
  let what;
  if (code === "57014" || code === "55P03") {
    what =
      `${where} did not answer in time (${detail}). Something may hold a lock on "Clients" or its child tables; ` +
      `raise Command Timeout in the connection string or retry. Nothing was deleted.`;
  } else if (UNREACHABLE_CODES.has(code) || /timeout|timed out|terminated unexpectedly/i.test(detail)) {
    what =
      `cannot reach ${where} (${detail}). Check the server name and port in the connection string and that this machine ` +
      `can reach the database server (firewall, listen address, pg_hba.conf or SQL Server's TCP settings). ${NO_REACH_HINT}`;
  } else if (code === "28000") {
    what =
      `${where} refuses this login from this machine (${detail}). Check the server's pg_hba.conf for this client ` +
      `address and user. ${NO_REACH_HINT}`;
  } else if (code === "28P01" || code === "ELOGIN") {
    what =
      `authentication failed on ${where} (${detail}). Check the user and password in the connection string ` +
      `and that this login may connect from this machine.`;
  } else if (code === "3D000" || number === 4060) {
    what = `${where} does not exist or cannot be opened (${detail}). Check the database name in the connection string.`;
  } else if (code === "42501" || number === 229 || number === 230) {
    what =
      `permission denied on ${where} (${detail}). The connection string's user needs SELECT and DELETE on "Clients" ` +
      `and on every table that references it. Nothing was deleted.`;
  } else {
    what = `failed on ${where}: ${detail}. Nothing was deleted (the transaction was rolled back).`;
  }
  // Drivers do not echo passwords, but be sure; passwords under 4 characters cannot be told from ordinary text.
  return redact(`reseed: ${what}`, [connectionString, target.password]);
}

// ---------------------------------------------------------------------------
// Main

/**
 * Runs one re-seed. `drivers` is for tests; returns the stdout object and a note for stderr.
 */
async function run({ provider, stdinText, previousStdout }, drivers = { Postgres: reseedPostgres, MsSqlServer: reseedMsSql }) {
  const dbProvider = parseProvider(provider);
  const input = parseInput(stdinText);
  const previous = parsePreviousOutput(previousStdout);
  const plan = planReseed(input, previous);
  const output = { clientId: input.clientId, clientHash: input.clientHash, deletedClients: 0 };
  if (plan.action === "none") {
    return { output, note: "client configuration unchanged: nothing deleted" };
  }
  if (dbProvider === "Postgres") pgConfigFromConnectionString(input.connectionString); // bad strings are input errors
  else checkMsSqlConnectionString(input.connectionString);
  let result;
  try {
    result = await drivers[dbProvider](input.connectionString, plan.clientIds);
  } catch (err) {
    const failure = new Error(describeError(err, dbProvider, input.connectionString));
    failure.exitCode = EXIT_DB_ERROR;
    throw failure;
  }
  output.deletedClients = result.deletedClients;
  const note = result.tablesFound
    ? `deleted ${result.deletedClients} client(s) and ${result.deletedChildRows} child row(s)`
    : 'table "Clients" does not exist yet: nothing to delete';
  return { output, note };
}

function readStdin() {
  return new Promise((resolve, reject) => {
    const chunks = [];
    process.stdin.on("data", (c) => chunks.push(c));
    process.stdin.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    process.stdin.on("error", reject);
  });
}

async function main() {
  try {
    const { output, note } = await run({
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
  parseConnectionString,
  pgConfigFromConnectionString,
  checkMsSqlConnectionString,
  describeTarget,
  parseInput,
  parseProvider,
  parsePreviousOutput,
  planReseed,
  reseedPostgres,
  reseedMsSql,
  redact,
  describeError,
  run,
  main,
};

if (require.main === module) {
  main();
}
