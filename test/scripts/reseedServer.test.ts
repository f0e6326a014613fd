// src/scripts/reseed-server.js without a server: its refusals, its reading of the executor's answers and failures,
// and the types it binds, with a scripted executor session in place of the SSH one.
import { strict as assert } from "assert";
import * as path from "path";
import { PassThrough } from "stream";
import { DESIRED } from "../support/transactSql";

// eslint-disable-next-line @typescript-eslint/no-require-imports
const server = require(path.join(__dirname, "..", "..", "src", "scripts", "reseed-server.js"));
// eslint-disable-next-line @typescript-eslint/no-require-imports
const reseed = require(path.join(__dirname, "..", "..", "src", "scripts", "reseed.js"));

const CONNECTION = "Server=sql.example.com;Database=creatio;User ID=reseed;Password=Very-Secret-9";
const input = (extra: object = {}) => JSON.stringify({ action: "prepare", connectionString: CONNECTION, client: DESIRED, ...extra });

/** A transport whose executor answers each request line with `answer(request)`; `undefined` ends it. */
function scriptedTransport(answer: (request: Record<string, unknown>) => object | undefined, exitCode = 1) {
    const stdin = new PassThrough();
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    const requests: Array<Record<string, unknown>> = [];
    let onExit: (code: number | null) => void = () => {};
    let scripts = 2;
    stdin.setEncoding("utf8");
    stdin.on("data", (chunk: string) => {
        for (const line of chunk.split("\n").filter(Boolean)) {
            if (scripts > 0) {
                scripts--; // the step library and the executor's own text
                continue;
            }
            const request = JSON.parse(line);
            requests.push(request);
            const reply = answer(request);
            if (reply === undefined) {
                stderr.write("powershell.exe: something went wrong\n");
                setImmediate(() => onExit(exitCode));
            } else {
                stdout.write(JSON.stringify(reply) + "\n");
            }
        }
    });
    return { transport: { stdin, stdout, stderr, onExit: (callback: typeof onExit) => (onExit = callback), close: () => {} }, requests };
}

function openWith(answer: (request: Record<string, unknown>) => object | undefined) {
    const scripted = scriptedTransport(answer);
    const open = async () => {
        const session = server.executorSession(scripted.transport);
        session.send("bGlicmFyeQ==");
        session.send("c2NyaXB0");
        return session;
    };
    return { open, requests: scripted.requests };
}

describe("reseed-server.js: the server runner's local half", () => {
    it("refuses PostgreSQL, naming the fix, as bad input", async () => {
        await assert.rejects(server.run({ provider: "Postgres", stdinText: input(), executorCommand: "x" }), (err: Error) => {
            assert.ok(err instanceof reseed.ConfigError);
            assert.equal(err.message, 'RESEED_DB_PROVIDER is "Postgres": the "server" runner re-seeds SQL Server only (the .NET Framework has no PostgreSQL driver); set `client.reseedRunner: "local"`');
            return true;
        });
    });

    it("refuses a step without the executor's command line", async () => {
        await assert.rejects(server.run({ provider: "MsSqlServer", stdinText: input() }), /RESEED_EXECUTOR_COMMAND is not set/);
    });

    it("refuses a connection without a host, and a key that is not text, without showing them", async () => {
        await assert.rejects(server.run({ provider: "MsSqlServer", stdinText: input({ server: { port: 22 } }), executorCommand: "x" }), /"server" must be the IIS target's connection, with "host"/);
        await assert.rejects(
            server.run({ provider: "MsSqlServer", stdinText: input({ server: { host: "h", privateKey: 42 } }), executorCommand: "x" }),
            /standard input's "server\.privateKey" must be a string/,
        );
    });

    it("leaves input that is not JSON to reseed.js, which refuses it without quoting it", async () => {
        await assert.rejects(server.run({ provider: "MsSqlServer", stdinText: "Password=Very-Secret-9", executorCommand: "x" }), (err: Error) => {
            assert.match(err.message, /standard input is not valid JSON/);
            assert.doesNotMatch(err.message, /Very-Secret-9/);
            return true;
        });
    });

    it("an executor that ends without answering: its last words, and nothing committed", async () => {
        const { open, requests } = openWith(request => ("connectionString" in request ? { connected: true } : undefined));
        await assert.rejects(server.run({ provider: "MsSqlServer", stdinText: input() }, open), (err: Error & { exitCode?: number }) => {
            assert.equal(err.exitCode, 1);
            assert.match(err.message, /^reseed: failed on the MsSqlServer database "creatio" at sql\.example\.com:1433: the re-seed script on the IIS server ended \(exit code 1\) without answering: powershell\.exe: something went wrong\. Nothing was changed/);
            return true;
        });
        assert.ok(!requests.some(request => request.end === "commit"));
        // The connection string went to the executor, Base64 on its stdin.
        assert.equal(Buffer.from(String(requests[0].connectionString), "base64").toString("utf8"), CONNECTION);
    });

    it("reads SqlClient's errors as mssql's: a timeout (-2), a refused login (18456), an unreachable server", () => {
        assert.equal(server.sqlClientError({ number: -2, message: "Timeout expired." }).code, "ETIMEOUT");
        assert.equal(server.sqlClientError({ number: 18456, message: "Login failed for user 'x'." }).code, "ELOGIN");
        assert.equal(server.sqlClientError({ number: 53, message: "A network-related or instance-specific error occurred while establishing a connection to SQL Server." }).code, "ESOCKET");
        const other = server.sqlClientError({ number: 229, class: 14, message: "The SELECT permission was denied." });
        assert.deepEqual([other.code, other.number, other.class], [undefined, 229, 14]);
    });

    it("binds values as mssql types them, text as Base64", async () => {
        const sent: Array<Record<string, unknown>> = [];
        const driver = server.sqlClientDriver(async () => ({
            request: async (message: Record<string, unknown>) => (sent.push(message), { recordset: [], rowsAffected: [1] }),
            close: () => {},
        }));
        const pool = new driver.ConnectionPool(CONNECTION);
        await pool.connect();
        const when = new Date("2026-01-02T03:04:05.678Z");
        await new driver.Request().input("n", driver.NVarChar(200), "n\u00e4me").input("i", driver.Int, 7).input("s", "text").input("w", 3).input("b", 2 ** 40).input("f", 1.5).input("t", true).input("d", when).input("z", null).query("SELECT 1");
        const parameters = sent[1].parameters as Array<Record<string, unknown>>;
        assert.deepEqual(parameters, [
            { name: "n", type: "NVarChar", size: 200, text: Buffer.from("n\u00e4me").toString("base64") },
            { name: "i", type: "Int", value: 7 },
            { name: "s", type: "NVarChar", text: Buffer.from("text").toString("base64") },
            { name: "w", type: "Int", value: 3 },
            { name: "b", type: "BigInt", value: 2 ** 40 },
            { name: "f", type: "Float", value: 1.5 },
            { name: "t", type: "Bit", value: true },
            { name: "d", type: "DateTime", text: Buffer.from(when.toISOString()).toString("base64") },
            { name: "z", type: "NVarChar", value: null },
        ]);
        assert.equal(Buffer.from(String(sent[1].query), "base64").toString("utf8"), "SELECT 1");
    });
});
