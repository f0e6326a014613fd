#!/usr/bin/env node
/*
 * The `server` re-seed runner of the IIS target: runs reseed.js's two steps for SQL Server with every statement carried
 * out on the IIS server, by the .NET Framework's own System.Data.SqlClient in Windows PowerShell
 * (iis/reseed-sqlclient.ps1), so that only the server reaches the database and Integrated Security signs in as the
 * account of the SSH session. reseed.js decides and builds every statement (its MsSqlServer dialect, through
 * `inMsSqlTransaction` with a driver of `mssql`'s surface that forwards each statement here): one algorithm and one set of
 * statements whatever the runner.
 *
 * Run as `node reseed-server.js` by the re-seed steps (local commands, like every runner's):
 *   Environment:
 *     RESEED_DB_PROVIDER       "MsSqlServer" (PostgreSQL has no driver in the .NET Framework: refused)
 *     RESEED_EXECUTOR_COMMAND  the line that starts the executor through cmd.exe (`powershell.exe ... -Command "..."`)
 *     PULUMI_COMMAND_STDOUT    this step's previous stdout (set by the command provider on update only)
 *   Standard input: reseed.js's JSON input plus "server": the IIS target's SSH connection {"host", "port", "user",
 *     "password", "privateKey", "privateKeyPassword", "agentSocketPath", "hostKey", "perDialTimeout"}, or no "server" when the IIS
 *     target runs on the machine that runs Pulumi (the executor then starts there, through the system shell).
 *   Standard output, stderr and exit codes: reseed.js's.
 * The executor receives the step library, its own text, the connection string and every statement on its standard
 * input, never on a command line.
 */
"use strict";

const { spawn } = require("child_process");
const fs = require("fs");
const path = require("path");
const reseed = require("./reseed.js");
const { answerPrompts, connectOptions, describeConnection } = require("./ssh-connection.js");

const EXECUTOR_SCRIPT = path.join(__dirname, "iis", "reseed-sqlclient.ps1");
/** The IIS steps' function library, whose JSON reader the executor uses (no cmdlet sees the connection string). */
const STEP_LIBRARY = path.join(__dirname, "iis", "step-library.ps1");
/** The command provider's defaults for a connection (pulumi-command's `remote.Connection`). */

const base64 = (text) => Buffer.from(text, "utf8").toString("base64");

/**
 * A started executor: `request(object)` writes one JSON line and resolves with the next line it answers, parsed.
 * `transport` is a duplex channel: {stdin (writable), stdout, stderr (readable), onExit(callback(code))}.
 */
function executorSession(transport) {
  let buffer = "";
  let stderr = "";
  let exited = false;
  let exitCode;
  const waiting = [];
  const answers = [];
  const settle = () => {
    while (waiting.length > 0 && (answers.length > 0 || exited)) {
      const { resolve, reject } = waiting.shift();
      if (answers.length > 0) {
        resolve(answers.shift());
      } else {
        const detail = stderr.trim().split(/\r?\n/).filter(Boolean).slice(-3).join(" ");
        reject(new Error(`the re-seed script on the IIS server ended (exit code ${exitCode}) without answering${detail ? `: ${detail}` : ""}`));
      }
    }
  };
  transport.stdout.setEncoding("utf8");
  transport.stdout.on("data", (chunk) => {
    buffer += chunk;
    let newline;
    while ((newline = buffer.indexOf("\n")) >= 0) {
      const line = buffer.slice(0, newline).trim();
      buffer = buffer.slice(newline + 1);
      if (line === "") continue;
      try {
        answers.push(JSON.parse(line));
      } catch {
        // Not the executor's: a profile or the host wrote something. Kept for the message if the executor fails.
        stderr += `\n${line}`;
      }
    }
    settle();
  });
  transport.stderr.setEncoding("utf8");
  transport.stderr.on("data", (chunk) => (stderr += chunk));
  transport.stdin.on("error", () => {}); // an executor that exits early closes its stdin
  transport.onExit((code) => {
    exited = true;
    exitCode = code;
    settle();
  });
  return {
    request(message) {
      return new Promise((resolve, reject) => {
        waiting.push({ resolve, reject });
        if (exited) settle();
        else transport.stdin.write(JSON.stringify(message) + "\n");
      });
    },
    send(line) {
      transport.stdin.write(line + "\n");
    },
    close() {
      transport.stdin.end();
      transport.close();
    },
  };
}

/** An error as `mssql` raises one, from the executor's {"error": {...}}: what reseed.js's messages read. */
function sqlClientError(failure) {
  const error = new Error(String(failure.message));
  if (typeof failure.number === "number") error.number = failure.number;
  if (typeof failure.class === "number") error.class = failure.class;
  // SqlClient's numbers for what mssql names by code: -2 a timeout (SqlException.Number for "Timeout expired"),
  // 18456 a login the server refused (MSSQLSERVER_18456); its connection-level failure says "A network-related ...".
  if (failure.number === -2) error.code = "ETIMEOUT";
  else if (failure.number === 18456) error.code = "ELOGIN";
  else if (/^A network-related or instance-specific error/.test(error.message)) error.code = "ESOCKET";
  return error;
}

/** mssql's type for a value given without one (mssql lib/shared.js getTypeByValue @ 12.7.14). */
function typeOfValue(value) {
  if (value === null || value === undefined || typeof value === "string") return { type: "NVarChar" };
  if (typeof value === "number") {
    if (value % 1 !== 0) return { type: "Float" };
    return { type: value < -2147483648 || value > 2147483647 ? "BigInt" : "Int" };
  }
  if (typeof value === "boolean") return { type: "Bit" };
  if (value instanceof Date) return { type: "DateTime" };
  throw new Error(`a parameter value of type ${typeof value} cannot be sent to the IIS server`);
}

/** A parameter as the executor binds it: text as Base64 (see reseed-sqlclient.ps1), other values as JSON. */
function parameter(name, type, value) {
  const bound = { name, type: type.type, ...(type.size !== undefined ? { size: type.size } : {}) };
  if (typeof value === "string") return { ...bound, text: base64(value) };
  if (value instanceof Date) return { ...bound, text: base64(value.toISOString()) };
  return { ...bound, value: value === undefined ? null : value };
}

/**
 * A driver of the `mssql` surface reseed.js's `inMsSqlTransaction` and `msSqlStore` use (ConnectionPool, Transaction,
 * Request, Int, NVarChar), which sends each statement to the executor. The executor opens the transaction with the
 * connection, as `inMsSqlTransaction` always begins one right after connecting.
 */
function sqlClientDriver(open) {
  let session;
  const ask = async (message) => {
    const answer = await session.request(message);
    if (answer && answer.error) throw sqlClientError(answer.error);
    return answer;
  };
  class ConnectionPool {
    constructor(connectionString) {
      this.connectionString = connectionString;
    }
    on() {
      return this;
    }
    async connect() {
      session = await open();
      await ask({ connectionString: base64(this.connectionString) });
    }
    async close() {
      if (session) session.close();
    }
  }
  class Transaction {
    async begin() {}
    async commit() {
      await ask({ end: "commit" });
    }
    async rollback() {
      await ask({ end: "rollback" });
    }
  }
  class Request {
    constructor() {
      this.parameters = [];
    }
    input(name, typeOrValue, value) {
      const typed = arguments.length >= 3;
      const type = typed ? (typeof typeOrValue === "function" ? typeOrValue() : typeOrValue) : typeOfValue(typeOrValue);
      this.parameters.push(parameter(name, type, typed ? value : typeOrValue));
      return this;
    }
    async query(text) {
      const answer = await ask({ query: base64(text), parameters: this.parameters });
      return { recordset: answer.recordset || [], rowsAffected: answer.rowsAffected || [] };
    }
  }
  return { ConnectionPool, Transaction, Request, Int: { type: "Int" }, NVarChar: (size) => ({ type: "NVarChar", size }) };
}

/** Where the executor runs, for messages: never a credential. */
function describeServer(server) {
  return server ? describeConnection(server) : "this machine";
}

/** Checks the "server" object of the input: the IIS target's connection. */
function parseServer(server) {
  if (server === undefined) return undefined;
  if (server === null || typeof server !== "object" || typeof server.host !== "string" || server.host === "") {
    throw new reseed.ConfigError('standard input\'s "server" must be the IIS target\'s connection, with "host"');
  }
  for (const key of ["user", "password", "privateKey", "privateKeyPassword", "agentSocketPath", "hostKey"]) {
    if (server[key] !== undefined && server[key] !== null && typeof server[key] !== "string") {
      throw new reseed.ConfigError(`standard input's "server.${key}" must be a string`);
    }
  }
  return server;
}

/** Opens an SSH session to the IIS server (ssh2) and starts the executor there through cmd.exe. */
function openOverSsh(server, command) {
  const { Client } = require("ssh2");
  return new Promise((resolve, reject) => {
    const client = new Client();
    const where = describeServer(server);
    const fail = (what, err) =>
      reject(
        new reseed.RefusalError(
          `cannot ${what} on the IIS server ${where} (${err.message}). Nothing was changed. Check \`iis.connection\` ` +
            '(it is the connection the IIS steps use), or set `client.reseedRunner: "local"`.',
        ),
      );
    client.on("error", (err) => fail("open an SSH session", err));
    client.on("ready", () => {
      client.exec(command, (err, channel) => {
        if (err) {
          client.end();
          fail("start the re-seed script", err);
          return;
        }
        resolve({
          stdin: channel,
          stdout: channel,
          stderr: channel.stderr,
          onExit: (callback) => {
            // ssh2 reports the exit status ("exit") before the channel closes.
            let status = null;
            channel.on("exit", (code) => (status = typeof code === "number" ? code : null));
            channel.on("close", () => callback(status));
          },
          close: () => client.end(),
        });
      });
    });
    // As the IIS steps sign in (ssh-connection.js); a `hostKey` that is not a public key is a configuration error.
    let options;
    try {
      options = connectOptions(server);
    } catch (err) {
      reject(new reseed.ConfigError(err.message));
      return;
    }
    answerPrompts(client, server);
    client.connect(options);
  });
}

/** Starts the executor on this machine (an IIS target without a connection), through the system shell (cmd.exe). */
function openLocally(command) {
  const child = spawn(command, { shell: true, stdio: ["pipe", "pipe", "pipe"], windowsHide: true });
  return Promise.resolve({
    stdin: child.stdin,
    stdout: child.stdout,
    stderr: child.stderr,
    onExit: (callback) => {
      child.on("error", () => callback(null));
      child.on("close", (code) => callback(code));
    },
    close: () => {},
  });
}

/** Starts the executor and sends it the step library and its own text (the first two lines it reads). */
async function startExecutor(server, command, scripts) {
  const transport = server ? await openOverSsh(server, command) : await openLocally(command);
  const session = executorSession(transport);
  for (const script of scripts) session.send(base64(script));
  return session;
}

/** Runs one step. Returns reseed.js's {output, note}; `open` is for tests (starts the executor, resolves its session). */
async function run({ provider, stdinText, previousStdout, executorCommand }, open) {
  if (provider !== "MsSqlServer") {
    throw new reseed.ConfigError(
      `RESEED_DB_PROVIDER is ${JSON.stringify(provider)}: the "server" runner re-seeds SQL Server only (the .NET Framework has no ` +
        'PostgreSQL driver); set `client.reseedRunner: "local"`',
    );
  }
  let input;
  try {
    input = JSON.parse(stdinText);
  } catch {
    input = undefined;
  }
  if (input === null || typeof input !== "object" || Array.isArray(input)) {
    // reseed.js refuses it with its own message (which never shows the text).
    return reseed.run({ provider, stdinText, previousStdout });
  }
  const { server: givenServer, ...rest } = input;
  const server = parseServer(givenServer);
  if (!open && (typeof executorCommand !== "string" || executorCommand === "")) {
    throw new reseed.ConfigError("RESEED_EXECUTOR_COMMAND is not set: it is the line that starts the executor on the IIS server");
  }
  const start = open || (() => startExecutor(server, executorCommand, [STEP_LIBRARY, EXECUTOR_SCRIPT].map((file) => fs.readFileSync(file, "utf8"))));
  const driver = sqlClientDriver(start);
  return reseed.run(
    { provider, stdinText: JSON.stringify({ ...rest, runner: "server" }), previousStdout },
    { MsSqlServer: (connectionString, work) => reseed.inMsSqlTransaction(driver, connectionString, work) },
  );
}

module.exports = { run, sqlClientDriver, sqlClientError, executorSession, parseServer, EXECUTOR_SCRIPT };

if (require.main === module) {
  // reseed.js's own reading of stdin, output and exit codes, around this runner's step.
  reseed.main((step) => run({ ...step, executorCommand: process.env.RESEED_EXECUTOR_COMMAND }));
}
