/**
 * What can be known about a database connection string before anything runs: that it signs in with a password,
 * and whether re-seeding (which signs in with the `pg` and `mssql` drivers, wherever its runner runs) can use it. Messages never quote the string: it is a secret.
 */
import { parse } from "@tediousjs/connection-string";
import { Check } from "./validation";
import { ReseedRunner } from "./args";

/** Keys compare case-insensitively and without spaces, as ADO.NET and Npgsql read them ("User ID", "UserId"). */
function normalizeKey(key: string): string {
    return key.toLowerCase().replace(/[\s_]/g, "");
}

/** The string's settings by normalized key, or undefined when it cannot be parsed. */
export function connectionStringSettings(text: string): Map<string, string> | undefined {
    try {
        const settings = new Map<string, string>();
        for (const [key, value] of parse(text)) {
            settings.set(normalizeKey(key), String(value));
        }
        return settings;
    } catch {
        return undefined;
    }
}

/** Whether the string signs in with Windows or Kerberos authentication instead of a password. */
export function usesIntegratedSecurity(settings: Map<string, string>): boolean {
    const value = settings.get("integratedsecurity") ?? settings.get("trustedconnection");
    return value !== undefined && /^(true|yes|sspi)$/i.test(value.trim());
}

/** Whether the string carries a password (under any of its ADO.NET and Npgsql names). */
export function hasPassword(settings: Map<string, string>): boolean {
    return ["password", "pwd", "psw"].some(key => settings.has(key));
}

const UNPARSABLE = `cannot be parsed as "Key=Value;..." pairs; check its quoting (a value with ";" or "=" needs quotes)`;

/** A connection string the service and re-seeding can sign in with: a password, or Integrated Security. */
export const connectionStringCheck: Check<string> = value => {
    const settings = connectionStringSettings(value);
    if (!settings) {
        return UNPARSABLE;
    }
    if (!hasPassword(settings) && !usesIntegratedSecurity(settings)) {
        return 'has no password; add "Password=...;" for its User ID (without one, signing in to the database fails)';
    }
    return undefined;
};

/**
 * A connection string re-seeding can use: its Node.js drivers sign in with a database login, never with Integrated Security;
 * the `server` runner's .NET Framework SqlClient on the IIS server takes either. `suppliedSeparately` says whether the
 * string is `database.reseedConnectionString` (else it is the service's `database.connectionString`);
 * `serverRunnerOffered` whether the message may point to the `server` runner (IIS target).
 */
export function reseedConnectionStringCheck(suppliedSeparately: boolean, runner: ReseedRunner = ReseedRunner.Local, serverRunnerOffered = false): Check<string> {
    return value => {
        const settings = connectionStringSettings(value);
        // The `server` runner signs in through the .NET Framework's SqlClient on the IIS server, as the SSH user.
        if (runner === ReseedRunner.Server || !settings || !usesIntegratedSecurity(settings)) {
            return undefined; // an unparsable string is reported by connectionStringCheck
        }
        const fix = suppliedSeparately
            ? "give it a database login (User ID and Password) instead"
            : "give `database.reseedConnectionString` with a database login (User ID and Password) for re-seeding";
        return (
            "uses Integrated Security (Windows authentication), which client re-seeding cannot use: its Node.js drivers (on the " +
            `machine that runs Pulumi or in the re-seed container) sign in with a login and password; ${fix}, ` +
            (serverRunnerOffered ? 'or re-seed on the IIS server, where Windows authentication works (`client.reseedRunner: "server"`), ' : "") +
            "or set `client.reseed: false` " +
            "(then delete the client rows by hand after a client change)"
        );
    };
}

/** Runs checks in order and reports the first problem. */
export function firstProblem<T>(...all: Check<T>[]): Check<T> {
    return value => {
        for (const check of all) {
            const problem = check(value);
            if (problem !== undefined) {
                return problem;
            }
        }
        return undefined;
    };
}
