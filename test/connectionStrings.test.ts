import { strict as assert } from "assert";
import {
    connectionStringCheck,
    connectionStringSettings,
    hasPassword,
    reseedConnectionStringCheck,
    usesIntegratedSecurity,
} from "../src/connectionStrings";

describe("connection strings", () => {
    const cases: [title: string, text: string, password: boolean, integrated: boolean][] = [
        ["Npgsql with Password", "Server=db;Port=5432;Database=creatio;User ID=creatio;Password=pw;", true, false],
        ["Npgsql without a password", "Server=db;Port=5432;Database=creatio;User ID=creatio;", false, false],
        ["an empty Password is still a password", "Server=db;User ID=u;Password=;", true, false],
        ["Pwd, in other case", "server=db;uid=u;PWD=x", true, false],
        ["a quoted password with ; and =", "Server=db;User ID=u;Password=\"a;b=c\"", true, false],
        ["SQL Server Integrated Security=SSPI", "Data Source=sql;Initial Catalog=creatio;Integrated Security=SSPI", false, true],
        ["Trusted_Connection=yes", "Server=sql;Database=creatio;Trusted_Connection=yes", false, true],
        ["Integrated Security=false", "Server=sql;Integrated Security=false;User ID=u;Password=p", true, false],
    ];
    for (const [title, text, password, integrated] of cases) {
        it(`reads ${title}`, () => {
            const settings = connectionStringSettings(text)!;
            assert.equal(hasPassword(settings), password);
            assert.equal(usesIntegratedSecurity(settings), integrated);
            assert.equal(connectionStringCheck(text) === undefined, password || integrated);
        });
    }

    it("reports a string it cannot parse without quoting it", () => {
        const problem = connectionStringCheck("Server=db;Password='Secret-Part")!;
        assert.match(problem, /cannot be parsed/);
        assert.ok(!problem.includes("Secret-Part"));
    });

    it("refuses Integrated Security only where re-seeding would use it, naming the fix for each field", () => {
        const integrated = "Server=sql;Integrated Security=true";
        assert.match(reseedConnectionStringCheck(false)(integrated)!, /give `database\.reseedConnectionString`/);
        assert.match(reseedConnectionStringCheck(true)(integrated)!, /give it a database login \(User ID and Password\) instead/);
        assert.equal(reseedConnectionStringCheck(false)("Server=sql;User ID=u;Password=p"), undefined);
    });
});
