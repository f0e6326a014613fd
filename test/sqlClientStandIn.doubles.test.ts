// The stand-in System.Data.SqlClient (test/fixtures/sqlclient) against the rules of Microsoft's documentation it
// claims (its README's conformance table): each rule is exercised in real PowerShell 7 on the compiled stand-in, with
// the stand-in database behind it. One pwsh run tries every rule and prints one JSON line a rule.
import { strict as assert } from "assert";
import { prepareToolchain } from "./support/iisServer";
import { compileStandInSqlClient, StandInSqlDatabase } from "./support/standInSqlDatabase";

/** Each rule: PowerShell that returns what happened (the exception's type and message, or a value). */
const RULES: Record<string, string> = {
    factory: "$f = [System.Data.Common.DbProviderFactories]::GetFactory('System.Data.SqlClient'); $f.CreateConnection().GetType().FullName",
    openTwice: "$c = $f.CreateConnection(); $c.ConnectionString = 'Server=x'; $c.Open(); $c.Open()",
    connectionStringWhileOpen: "$c = $f.CreateConnection(); $c.ConnectionString = 'Server=x'; $c.Open(); $c.ConnectionString = 'Server=y'",
    closedExecute: "$c = $f.CreateConnection(); $c.ConnectionString = 'Server=x'; $m = $c.CreateCommand(); $m.CommandText = 'SELECT 1 AS v'; $m.ExecuteReader()",
    parallelTransactions: "$c = $f.CreateConnection(); $c.ConnectionString = 'Server=x'; $c.Open(); $null = $c.BeginTransaction(); $c.BeginTransaction()",
    commandWithoutTransaction: "$c = $f.CreateConnection(); $c.ConnectionString = 'Server=x'; $c.Open(); $null = $c.BeginTransaction(); $m = $c.CreateCommand(); $m.CommandText = 'SELECT 1 AS v'; $m.ExecuteReader()",
    openReader: "$c = $f.CreateConnection(); $c.ConnectionString = 'Server=x'; $c.Open(); $t = $c.BeginTransaction(); $m = $c.CreateCommand(); $m.Transaction = $t; $m.CommandText = 'SELECT 1 AS v'; $r = $m.ExecuteReader(); $m.ExecuteReader()",
    commitTwice: "$c = $f.CreateConnection(); $c.ConnectionString = 'Server=x'; $c.Open(); $t = $c.BeginTransaction(); $t.Commit(); $t.Commit()",
    disposeRollsBack: "$c = $f.CreateConnection(); $c.ConnectionString = 'Server=x'; $c.Open(); $t = $c.BeginTransaction(); $t.Dispose(); 'disposed'",
    closeRollsBack: "$c = $f.CreateConnection(); $c.ConnectionString = 'Server=x'; $c.Open(); $t = $c.BeginTransaction(); $c.Close(); 'closed'",
    selectRecordsAffected: "$c = $f.CreateConnection(); $c.ConnectionString = 'Server=x'; $c.Open(); $m = $c.CreateCommand(); $m.CommandText = 'SELECT USER_NAME() AS name'; $r = $m.ExecuteReader(); $n = $r.Read(); $v = $r.GetValue(0); $r.Close(); '{0}|{1}' -f $r.RecordsAffected, $v",
    nullIsDbNull: "$c = $f.CreateConnection(); $c.ConnectionString = 'Server=x'; $c.Open(); $m = $c.CreateCommand(); $m.CommandText = 'SELECT NULL AS v'; $r = $m.ExecuteReader(); $null = $r.Read(); ($r.GetValue(0) -is [DBNull])",
    readAfterClose: "$c = $f.CreateConnection(); $c.ConnectionString = 'Server=x'; $c.Open(); $m = $c.CreateCommand(); $m.CommandText = 'SELECT 1 AS v'; $r = $m.ExecuteReader(); $r.Close(); $r.Read()",
    sqlException: "$c = $f.CreateConnection(); $c.ConnectionString = 'Server=x'; $c.Open(); $m = $c.CreateCommand(); $m.CommandText = 'SELECT @undeclared AS v'; try { $m.ExecuteReader() } catch { $e = $_.Exception.GetBaseException(); '{0}|{1}|{2}|{3}' -f $e.GetType().FullName, $e.Number, $e.Class, ($e -is [System.Data.Common.DbException]) }",
    notSupplied: "$c = $f.CreateConnection(); $c.ConnectionString = 'Server=x'; $c.Open(); $m = $c.CreateCommand(); $m.CommandText = 'SELECT @v AS v'; $null = $m.Parameters.Add('@v', [System.Data.SqlDbType]::Int); try { $m.ExecuteReader() } catch { $_.Exception.GetBaseException().Number }",
    duplicateParameter: "$m = $f.CreateCommand(); $null = $m.Parameters.Add('@v', [System.Data.SqlDbType]::Int); $m.Parameters.Add('@v', [System.Data.SqlDbType]::Int)",
};

describe("the stand-in System.Data.SqlClient keeps the rules of Microsoft's documentation (PowerShell 7)", function () {
    this.timeout(120_000);
    const outcome: Record<string, string> = {};
    let database: StandInSqlDatabase;

    before(async () => {
        const assembly = compileStandInSqlClient();
        database = await StandInSqlDatabase.start({ clients: [], rows: statement => (statement === "SELECT NULL AS v" ? [{ v: null }] : undefined) });
        const script = [
            "$ErrorActionPreference = 'Stop'",
            `Add-Type -Path '${assembly}'`,
            "[StandIn.SqlClient.Registration]::Register()",
            // As the executor does: the factory machine.config registers (a type name would find PowerShell 7's own SqlClient).
            "$f = [System.Data.Common.DbProviderFactories]::GetFactory('System.Data.SqlClient')",
            ...Object.entries(RULES).map(
                ([name, body]) =>
                    `try { $value = & { ${body} }; [Console]::Out.WriteLine((ConvertTo-Json -Compress ([ordered]@{ rule = '${name}'; value = [string]$value }))) } ` +
                    `catch { $e = $_.Exception.GetBaseException(); [Console]::Out.WriteLine((ConvertTo-Json -Compress ([ordered]@{ rule = '${name}'; value = $e.GetType().Name + ': ' + $e.Message }))) }`,
            ),
        ].join("\n");
        const chain = prepareToolchain();
        // Run asynchronously: the database answers from this process.
        const { spawn } = await import("child_process");
        const child = spawn(chain.pwsh[0], [...chain.pwsh.slice(1), "-NoProfile", "-NonInteractive", "-Command", "-"], {
            env: { ...process.env, IIS_STANDIN_SQL_DATABASE: database.url },
        });
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", chunk => (stdout += chunk));
        child.stderr.on("data", chunk => (stderr += chunk));
        child.stdin.end(script);
        const code = await new Promise<number | null>(resolve => child.on("close", resolve));
        assert.equal(code, 0, stderr);
        // pwsh reading commands from stdin writes terminal modes in front of its lines.
        for (const line of stdout.split("\n").map(l => /\{"rule".*\}/.exec(l)?.[0]).filter((l): l is string => l !== undefined)) {
            const { rule, value } = JSON.parse(line);
            outcome[rule] = value;
        }
        assert.deepEqual(Object.keys(outcome).sort(), Object.keys(RULES).sort(), stdout + stderr);
    });

    after(() => database?.stop());

    it("machine.config's factory: DbProviderFactories.GetFactory(\"System.Data.SqlClient\") creates a SqlConnection", () => {
        assert.equal(outcome.factory, "System.Data.SqlClient.SqlConnection");
    });

    it("SqlConnection.Open of an open connection, and its ConnectionString while open, throw InvalidOperationException", () => {
        assert.equal(outcome.openTwice, "InvalidOperationException: The connection was not closed. The connection's current state is open.");
        assert.match(outcome.connectionStringWhileOpen, /^InvalidOperationException: Not allowed to change the 'ConnectionString' property/);
    });

    it("SqlCommand.ExecuteReader refuses a closed connection, a pending transaction it was not given, and a second open reader", () => {
        assert.match(outcome.closedExecute, /^InvalidOperationException: ExecuteReader requires an open and available Connection/);
        assert.match(outcome.commandWithoutTransaction, /^InvalidOperationException: ExecuteReader requires the command to have a transaction when the connection assigned to the command is in a pending local transaction/);
        assert.match(outcome.openReader, /^InvalidOperationException: There is already an open DataReader associated with this Connection which must be closed first\./);
    });

    it("SqlConnection.BeginTransaction refuses a parallel transaction; SqlTransaction.Commit a completed one", () => {
        assert.equal(outcome.parallelTransactions, "InvalidOperationException: SqlConnection does not support parallel transactions.");
        assert.equal(outcome.commitTwice, "InvalidOperationException: This SqlTransaction has completed; it is no longer usable.");
    });

    it("a pending transaction is rolled back by SqlTransaction.Dispose and by SqlConnection.Close", () => {
        assert.equal(outcome.disposeRollsBack, "disposed");
        assert.equal(outcome.closeRollsBack, "closed");
        assert.deepEqual(database.ends().slice(-2), ["rollback", "rollback"]);
    });

    it("SqlDataReader: RecordsAffected is -1 for a SELECT, NULL reads as DBNull.Value, Read after Close throws", () => {
        assert.equal(outcome.selectRecordsAffected, "-1|reseed");
        assert.equal(outcome.nullIsDbNull, "True");
        assert.equal(outcome.readAfterClose, "InvalidOperationException: Invalid attempt to call Read when reader is closed.");
    });

    it("a server error arrives as SqlException (a DbException) with Number and Class: 137 for an undeclared variable, 8178 for a value not supplied", () => {
        assert.equal(outcome.sqlException, "System.Data.SqlClient.SqlException|137|15|True");
        assert.equal(outcome.notSupplied, "8178");
    });

    it("SqlParameterCollection.Add refuses a name it holds", () => {
        assert.match(outcome.duplicateParameter, /^ArgumentException: The SqlParameter with ParameterName '@v' is already contained by this SqlParameterCollection\./);
    });
});
