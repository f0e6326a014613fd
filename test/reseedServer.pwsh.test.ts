// The `server` re-seed runner end to end, as far as it can run here: src/scripts/reseed-server.js on this machine opens
// an SSH session (its own client, ssh2) to a real OpenSSH server, whose commands run through the stand-in cmd.exe and
// the stand-in powershell.exe (PowerShell 7 after the stand-in Windows machine), where src/scripts/iis/reseed-sqlclient.ps1
// carries out every statement through the stand-in System.Data.SqlClient (test/fixtures/sqlclient), whose "database"
// answers with the recording stand-in the T-SQL test uses, through the same scenarios. No SQL Server is involved: what
// is checked is that the runner sends exactly the statements the `local` runner's `mssql` path sends, with the same
// parameters, in one transaction that commits on success and rolls back on any failure, that its output is reseed.js's,
// and that its failures keep reseed.js's messages and exit codes.
import { strict as assert } from "assert";
import { execFileSync, spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { Parser } from "node-sql-parser";
import { executorCommandLine } from "../src/reseedRunners/server";
import { IisServer } from "./support/iisServer";
import { SshServer } from "./support/sshServer";
import { compileStandInSqlClient, StandInSqlDatabase, StandInSqlDatabaseOptions } from "./support/standInSqlDatabase";
import { DESIRED, hash, recordingSql, reseed, Row, SCENARIOS, StepInput, stepOf } from "./support/transactSql";

const SCRIPT = path.join(__dirname, "..", "src", "scripts", "reseed-server.js");
const parser = new Parser();

interface StepResult {
    readonly code: number | null;
    readonly stdout: string;
    readonly stderr: string;
}

function runStep(stdin: object, environment: Record<string, string> = {}): Promise<StepResult> {
    return new Promise((resolve, reject) => {
        const child = spawn(process.execPath, [SCRIPT], {
            env: { PATH: process.env.PATH, RESEED_DB_PROVIDER: "MsSqlServer", RESEED_EXECUTOR_COMMAND: executorCommandLine(), ...environment },
        });
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", chunk => (stdout += chunk));
        child.stderr.on("data", chunk => (stderr += chunk));
        child.on("error", reject);
        child.on("close", code => resolve({ code, stdout, stderr }));
        child.stdin.end(JSON.stringify(stdin));
    });
}

describe("the server re-seed runner over SSH, through the stand-in SqlClient (PowerShell 7)", function () {
    this.timeout(120_000);
    let server: IisServer;
    let ssh: SshServer;
    let database: StandInSqlDatabase | undefined;
    /** Where each test's database is: the session reads it from the environment sshd gives it. */
    const pointer = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "reseed-server-")), "database-url");

    before(async () => {
        const assembly = compileStandInSqlClient();
        server = new IisServer();
        const environment = Object.fromEntries(Object.entries(server.environment()).filter((entry): entry is [string, string] => entry[1] !== undefined));
        ssh = await SshServer.start({ ...environment, IIS_STANDIN_SQLCLIENT: assembly, IIS_STANDIN_SQL_DATABASE_FILE: pointer });
    });

    after(() => ssh?.stop());
    afterEach(async () => {
        await database?.stop();
        database = undefined;
    });

    async function withDatabase(options: StandInSqlDatabaseOptions): Promise<StandInSqlDatabase> {
        database = await StandInSqlDatabase.start(options);
        fs.writeFileSync(pointer, database.url);
        return database;
    }

    const connection = () => ({ host: "127.0.0.1", port: ssh.port, user: os.userInfo().username, privateKey: ssh.clientKey() });
    const stdinOf = (input: StepInput, connectionString = "Server=db.example.com;Database=creatio;User ID=reseed;Password=s3cret-Pa55") => ({
        action: input.action,
        connectionString,
        client: input.client,
        server: connection(),
    });
    const previousStdout = (input: StepInput): Record<string, string> => (input.previous ? { PULUMI_COMMAND_STDOUT: JSON.stringify(input.previous) } : {});

    for (const [title, clients, input] of SCENARIOS) {
        it(`${title}: the local runner's statements, carried out on the server in one committed transaction`, async () => {
            const expectedRows = clients.map(row => ({ ...row }));
            const expectedStatements: string[] = [];
            const expected = await stepOf(input)(reseed.msSqlStore({}, recordingSql(expectedRows, expectedStatements)));

            const rows = clients.map(row => ({ ...row }));
            const db = await withDatabase({ clients: rows });
            const result = await runStep(stdinOf(input), previousStdout(input));
            assert.equal(result.code, 0, result.stderr);
            assert.deepEqual(db.statements, expectedStatements);
            for (const statement of db.statements) assert.doesNotThrow(() => parser.astify(statement, { database: "transactsql" }), statement);
            assert.deepEqual(rows, expectedRows);
            assert.deepEqual(db.ends(), ["commit"]);
            const output = JSON.parse(result.stdout);
            assert.deepEqual({ ...output, restartToken: typeof output.restartToken }, { ...expected.output, restartToken: typeof expected.output.restartToken });
            assert.equal(result.stderr.trim(), `reseed: ${expected.note}`);
            // The connection string and the key went on standard input only.
            const connect = db.requests.find(request => "connect" in request)!;
            assert.equal(connect.connect, stdinOf(input).connectionString);
        });
    }

    it("binds each value with the type and size mssql would: Int, NVarChar(n), and a value's own type when none is given", async () => {
        const db = await withDatabase({ clients: [{ Id: 1, ClientId: "OtherClient00003" }] });
        const result = await runStep(stdinOf({ action: "prepare", client: DESIRED }));
        assert.equal(result.code, 0, result.stderr);
        const parameters = db.requests.filter(request => "query" in request).flatMap(request => request.parameters as Array<{ name: string; type: string; size: number; value: unknown }>);
        assert.ok(parameters.some(p => p.name === "@clientId" && p.type === "NVarChar" && p.size === 200 && p.value === DESIRED.ClientId));
        assert.ok(parameters.some(p => p.type === "Int" && typeof p.value === "number"));
        // Inserted columns without a declared type: strings as NVarChar, whole numbers as Int, booleans as Bit, dates as DateTime.
        for (const type of ["Bit", "DateTime"]) assert.ok(parameters.some(p => p.type === type), type);
        assert.ok(parameters.some(p => p.value === hash("new secret")));
    });

    it("a login without a grant is refused before any change, naming the grant, and the transaction is rolled back", async () => {
        const rows: Row[] = [{ Id: 1, ClientId: DESIRED.ClientId }];
        const db = await withDatabase({ clients: rows, denied: ["DELETE on [dbo].[ClientSecrets]"] });
        const result = await runStep(stdinOf({ action: "prepare", client: DESIRED }));
        assert.equal(result.code, 1);
        assert.match(result.stderr, /^reseed: the database user "reseed" lacks a privilege re-seeding needs: DELETE on \[dbo\]\.\[ClientSecrets\]\. Nothing was changed\. Grant it as the tables' owner: GRANT DELETE ON \[dbo\]\.\[ClientSecrets\] TO \[reseed\];/);
        assert.deepEqual(db.statements.filter(statement => /^(DELETE|INSERT|UPDATE)\b/.test(statement)), []);
        assert.deepEqual(db.ends(), ["rollback"]);
        assert.equal(result.stdout, "");
    });

    it("a statement that fails halfway rolls the transaction back and says so, without the connection string", async () => {
        const db = await withDatabase({
            clients: [{ Id: 1, ClientId: DESIRED.ClientId }],
            failing: { statement: /^INSERT INTO \[dbo\]\.\[ClientScopes\]/, error: { number: 547, class: 16, message: "The INSERT statement conflicted with the FOREIGN KEY constraint." } },
        });
        const result = await runStep(stdinOf({ action: "prepare", client: DESIRED }));
        assert.equal(result.code, 1);
        assert.equal(
            result.stderr.trim(),
            'reseed: failed on the MsSqlServer database "creatio" at db.example.com:1433: The INSERT statement conflicted with the FOREIGN KEY constraint.. Nothing was changed (the transaction was rolled back).',
        );
        // The executor ends its own transaction when a statement fails: nothing is committed.
        assert.ok(!db.ends().includes("commit"));
        assert.doesNotMatch(result.stderr, /s3cret/);
    });

    it("a login the server refuses is reported as reseed.js reports it, naming the server's address", async () => {
        await withDatabase({ clients: [], connectError: { number: 18456, class: 14, message: "Login failed for user 'CONTOSO\\svc-deploy'." } });
        const result = await runStep(stdinOf({ action: "prepare", client: DESIRED }, "Server=db.example.com;Database=creatio;Integrated Security=true"));
        assert.equal(result.code, 1);
        assert.match(result.stderr, /^reseed: authentication failed on the MsSqlServer database "creatio" at db\.example\.com:1433 \(Login failed for user 'CONTOSO\\svc-deploy'\.\)\. Check the user and password in the connection string and that this login may connect from the IIS server\./);
    });

    it("Integrated Security is accepted: the .NET Framework's SqlClient signs in as the SSH user", async () => {
        const db = await withDatabase({ clients: [{ Id: 1, ClientId: "OtherClient00003" }] });
        const result = await runStep(stdinOf({ action: "prepare", client: DESIRED }, "Server=db.example.com;Database=creatio;Integrated Security=SSPI"));
        assert.equal(result.code, 0, result.stderr);
        assert.equal(db.requests[0].connect, "Server=db.example.com;Database=creatio;Integrated Security=SSPI");
    });

    it("checks the server's key when the connection gives hostKey, as the command provider does: the right one passes, another is refused", async () => {
        const db = await withDatabase({ clients: [{ Id: 1, ClientId: "OtherClient00003" }] });
        const good = await runStep({ ...stdinOf({ action: "prepare", client: DESIRED }), server: { ...connection(), hostKey: ssh.hostKey() } });
        assert.equal(good.code, 0, good.stderr);
        const other = fs.mkdtempSync(path.join(os.tmpdir(), "reseed-server-host-"));
        execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", path.join(other, "key")]);
        const wrongKey = fs.readFileSync(path.join(other, "key.pub"), "utf8");
        fs.rmSync(other, { recursive: true, force: true });
        const requests = db.requests.length;
        const bad = await runStep({ ...stdinOf({ action: "prepare", client: DESIRED }), server: { ...connection(), hostKey: wrongKey } });
        assert.equal(bad.code, 1);
        assert.match(bad.stderr, /^reseed: cannot open an SSH session on the IIS server .*\(Host denied \(verification failed\)\)\. Nothing was changed\./);
        assert.equal(db.requests.length, requests);
    });

    it("no form of the connection string reaches a command that module logging records (event 4103)", async () => {
        // A server of its own, whose Group Policy logs Microsoft.PowerShell.Utility (ConvertFrom-Json, New-Object, ...).
        const logged = new IisServer({ moduleLogging: ["Microsoft.PowerShell.Utility"] });
        const environment = Object.fromEntries(Object.entries(logged.environment()).filter((entry): entry is [string, string] => entry[1] !== undefined));
        const loggedSsh = await SshServer.start({ ...environment, IIS_STANDIN_SQLCLIENT: compileStandInSqlClient(), IIS_STANDIN_SQL_DATABASE_FILE: pointer });
        try {
            await withDatabase({ clients: [{ Id: 1, ClientId: DESIRED.ClientId }] });
            const connectionString = "Server=db.example.com;Database=creatio;User ID=reseed;Password=Logged-Pa55word-77";
            const stdin = { ...stdinOf({ action: "prepare", client: DESIRED }, connectionString), server: { ...connection(), port: loggedSsh.port, privateKey: loggedSsh.clientKey() } };
            const result = await runStep(stdin);
            assert.equal(result.code, 0, result.stderr);
            const events = fs
                .readFileSync(path.join(logged.root, "events", "4103.jsonl"), "utf8")
                .trim()
                .split("\n")
                .map(line => JSON.parse(line) as { command: string; payload: string });
            assert.ok(events.some(event => event.command === "New-Object"), "module logging recorded New-Object: the check is not vacuous");
            for (const form of [connectionString, "Logged-Pa55word-77", Buffer.from(connectionString).toString("base64").slice(0, 40)]) {
                for (const event of events) assert.ok(!event.payload.includes(form), `event 4103 of ${event.command} holds the connection string`);
            }
        } finally {
            loggedSsh.stop();
        }
    });

    it("an SSH session the server refuses changes nothing and names the fix", async () => {
        const db = await withDatabase({ clients: [] });
        const other = fs.mkdtempSync(path.join(os.tmpdir(), "reseed-server-key-"));
        execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", path.join(other, "key")]);
        const stdin = { ...stdinOf({ action: "prepare", client: DESIRED }), server: { ...connection(), privateKey: fs.readFileSync(path.join(other, "key"), "utf8") } };
        const result = await runStep(stdin);
        fs.rmSync(other, { recursive: true, force: true });
        assert.equal(result.code, 1);
        assert.match(
            result.stderr,
            new RegExp(`^reseed: cannot open an SSH session on the IIS server ${os.userInfo().username}@127\\.0\\.0\\.1:${ssh.port} \\(All configured authentication methods failed\\)\\. Nothing was changed\\. Check \`iis\\.connection\``),
        );
        assert.deepEqual(db.requests, []);
    });
});
