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
  clientId?: string;
  clientHash: string;
}
interface Input {
  connectionString: string;
  clientId: string;
  clientHash: string;
}
type Driver = (connectionString: string, clientIds: string[]) => Promise<{ deletedClients: number; deletedChildRows: number; tablesFound: boolean }>;
interface ReseedModule {
  ConfigError: new (message: string) => Error;
  pgConfigFromConnectionString(connectionString: string): PgConfig;
  parsePreviousOutput(stdout: string | undefined): Previous | undefined;
  planReseed(input: Input, previous: Previous | undefined): { action: "none" | "delete"; clientIds: string[] };
  describeError(err: unknown, provider: string, connectionString: string): string;
  run(
    args: { provider: string | undefined; stdinText: string; previousStdout: string | undefined },
    drivers?: Record<string, Driver>,
  ): Promise<{ output: { clientId: string; clientHash: string; deletedClients: number }; note: string }>;
}
// eslint-disable-next-line @typescript-eslint/no-require-imports
const reseed: ReseedModule = require(scriptPath);

const hash = (text: string) => crypto.createHash("sha256").update(text).digest("hex");
const HASH_A = hash("clients A");
const HASH_B = hash("clients B");
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
  it("reads the JSON line the script printed last time", () => {
    const line = JSON.stringify({ clientId: "old-client-id-16", clientHash: HASH_A, deletedClients: 1 });
    assert.deepEqual(reseed.parsePreviousOutput(line), { clientId: "old-client-id-16", clientHash: HASH_A });
    assert.deepEqual(reseed.parsePreviousOutput(`${line}\n`), { clientId: "old-client-id-16", clientHash: HASH_A });
    assert.deepEqual(reseed.parsePreviousOutput(`some warning\r\n${line}\r\n\r\n`), {
      clientId: "old-client-id-16",
      clientHash: HASH_A,
    });
  });

  it("normalizes the hash to lower case and takes the last JSON line", () => {
    const first = JSON.stringify({ clientId: "a", clientHash: HASH_B });
    const last = JSON.stringify({ clientId: "b", clientHash: HASH_A.toUpperCase() });
    assert.deepEqual(reseed.parsePreviousOutput(`${first}\n${last}`), { clientId: "b", clientHash: HASH_A });
  });

  it("returns undefined on a first run or for output that is not the script's", () => {
    for (const stdout of [undefined, "", "\n", "not json", "[1,2]", '{"clientId":"x"}', "null", '"text"']) {
      assert.equal(reseed.parsePreviousOutput(stdout), undefined, String(stdout));
    }
  });
});

describe("reseed.js: the decision", () => {
  const input = { connectionString: "Server=h;Database=d", clientId: "new-client-id-16", clientHash: HASH_B };

  it("changes nothing when the client hash is the same (a new connection string alone)", () => {
    assert.deepEqual(reseed.planReseed(input, { clientId: "new-client-id-16", clientHash: HASH_B }), {
      action: "none",
      clientIds: [],
    });
  });

  it("deletes the new and the previous client when the hash differs", () => {
    assert.deepEqual(reseed.planReseed(input, { clientId: "old-client-id-16", clientHash: HASH_A }), {
      action: "delete",
      clientIds: ["new-client-id-16", "old-client-id-16"],
    });
  });

  it("deletes the new client on a first run, and the same id only once", () => {
    assert.deepEqual(reseed.planReseed(input, undefined).clientIds, ["new-client-id-16"]);
    assert.deepEqual(reseed.planReseed(input, { clientId: "new-client-id-16", clientHash: HASH_A }).clientIds, [
      "new-client-id-16",
    ]);
  });

  it("does not call the database when nothing changes, even with an unusable connection string", async () => {
    let called = false;
    const driver: Driver = async () => {
      called = true;
      return { deletedClients: 0, deletedChildRows: 0, tablesFound: true };
    };
    const result = await reseed.run(
      {
        provider: "Postgres",
        stdinText: JSON.stringify({ ...input, connectionString: "Server=unreachable.invalid;Database=d" }),
        previousStdout: JSON.stringify({ clientId: input.clientId, clientHash: HASH_B, deletedClients: 1 }),
      },
      { Postgres: driver, MsSqlServer: driver },
    );
    assert.equal(called, false);
    assert.deepEqual(result.output, { clientId: "new-client-id-16", clientHash: HASH_B, deletedClients: 0 });
  });

  it("hands the driver both client ids and reports what it deleted", async () => {
    const seen: string[][] = [];
    const driver: Driver = async (_cs, ids) => {
      seen.push(ids);
      return { deletedClients: 2, deletedChildRows: 9, tablesFound: true };
    };
    const result = await reseed.run(
      {
        provider: "postgres",
        stdinText: JSON.stringify(input),
        previousStdout: JSON.stringify({ clientId: "old-client-id-16", clientHash: HASH_A, deletedClients: 0 }),
      },
      { Postgres: driver, MsSqlServer: driver },
    );
    assert.deepEqual(seen, [["new-client-id-16", "old-client-id-16"]]);
    assert.equal(result.output.deletedClients, 2);
    assert.match(result.note, /deleted 2 client\(s\) and 9 child row\(s\)/);
  });

  it("rejects a bad provider and bad stdin as input errors", async () => {
    await assert.rejects(
      reseed.run({ provider: "Oracle", stdinText: JSON.stringify(input), previousStdout: undefined }),
      (err: Error) => err instanceof reseed.ConfigError && /RESEED_DB_PROVIDER/.test(err.message),
    );
    await assert.rejects(
      reseed.run({ provider: "Postgres", stdinText: "Password=x", previousStdout: undefined }),
      (err: Error) => err instanceof reseed.ConfigError && !/Password=x/.test(err.message),
    );
    await assert.rejects(
      reseed.run({ provider: "Postgres", stdinText: JSON.stringify({ ...input, clientHash: "abc" }), previousStdout: undefined }),
      /clientHash/,
    );
  });
});

describe("reseed.js: error messages", () => {
  const connectionString = `Server=db.internal;Port=5433;Database=creatio;User ID=creatio;Password=${quote(PASSWORD)}`;
  const errorWith = (props: Record<string, unknown>) => Object.assign(new Error(String(props.message ?? "failed")), props);

  it("names host and database and what to check, per kind of failure", () => {
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ code: "ECONNREFUSED", message: "connect ECONNREFUSED 10.0.0.5:5433" }, /cannot reach .*client\.reseed: false/s],
      [{ message: "Connection terminated due to connection timeout" }, /cannot reach .*client\.reseed: false/s],
      [{ code: "28P01", message: 'password authentication failed for user "creatio"' }, /authentication failed .*user and password/s],
      [{ code: "28000", message: "no pg_hba.conf entry for host" }, /pg_hba\.conf.*client\.reseed: false/s],
      [{ code: "3D000", message: 'database "creatio" does not exist' }, /does not exist or cannot be opened/],
      [{ code: "42501", message: "permission denied for table Clients" }, /permission denied .*DELETE/s],
      [{ code: "57014", message: "canceling statement due to statement timeout" }, /did not answer in time/],
      [{ code: "XX000", message: "something else" }, /rolled back/],
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

  it("prints exactly one JSON line and exits 0 when nothing changed", async () => {
    const input = { connectionString: `Server=127.0.0.1;Port=1;Database=d;Password=${PASSWORD}`, clientId: "c", clientHash: HASH_A };
    const result = await runScript(
      { RESEED_DB_PROVIDER: "Postgres", PULUMI_COMMAND_STDOUT: JSON.stringify({ clientId: "c", clientHash: HASH_A, deletedClients: 0 }) },
      JSON.stringify(input),
    );
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, `${JSON.stringify({ clientId: "c", clientHash: HASH_A, deletedClients: 0 })}\n`);
    assert.match(result.stderr, /unchanged/);
  });

  it("exits 1 with a message naming the database, not the password, when the server is unreachable", async () => {
    // Port 1 on loopback: refused at once.
    const input = { connectionString: `Server=127.0.0.1;Port=1;Database=creatio;User ID=u;Password=${quote(PASSWORD)}`, clientId: "c", clientHash: HASH_A };
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
