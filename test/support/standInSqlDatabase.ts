/**
 * The "database" behind the stand-in SqlClient (test/fixtures/sqlclient): an HTTP server on loopback that takes the
 * stand-in's JSON requests (connect, begin, query, end) and answers each statement with the recording stand-in of
 * test/support/transactSql.ts, so that the `server` runner's statements are answered by the same cases as the T-SQL
 * test's. It applies two of SQL Server's own refusals of a parameterized statement: error 137 for a variable the
 * statement uses but does not declare, and error 8178 for a parameter whose value was not supplied (Microsoft's
 * "Database engine events and errors" list). Nothing here is SQL Server.
 */
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as http from "http";
import { AddressInfo } from "net";
import * as path from "path";
import { prepareToolchain } from "./iisServer";
import { recordingSql, Row } from "./transactSql";

const SQLCLIENT_SOURCE = path.join(__dirname, "..", "fixtures", "sqlclient", "StandIn.SqlClient.cs");

/** Compiles the stand-in SqlClient with the stand-in machine's pwsh, once a test run; returns its assembly. */
export function compileStandInSqlClient(): string {
    const chain = prepareToolchain();
    const assembly = path.join(chain.bin, "StandIn.SqlClient.dll");
    if (!fs.existsSync(assembly)) {
        const script =
            `$ErrorActionPreference='Stop'; Add-Type -Path '${SQLCLIENT_SOURCE}' -OutputAssembly '${assembly}' -ReferencedAssemblies ` +
            "System.Data.Common,System.Net.Http,System.Text.Json,System.Collections,System.ComponentModel.Primitives,System.Runtime," +
            "System.Private.CoreLib,netstandard,System.Net.Primitives,System.Memory,System.ComponentModel,System.ComponentModel.TypeConverter," +
            "System.Xml.ReaderWriter,System.Private.Xml,System.Data";
        const result = spawnSync(chain.pwsh[0], [...chain.pwsh.slice(1), "-NoProfile", "-NonInteractive", "-Command", script], { encoding: "utf8" });
        assert.equal(result.status, 0, result.stderr);
    }
    return assembly;
}

export interface SqlError {
    readonly number: number;
    readonly class: number;
    readonly message: string;
}

export interface StandInSqlDatabaseOptions {
    /** The rows of "Clients" (changed by the statements as the recording stand-in does). */
    readonly clients: Row[];
    /** Permissions HAS_PERMS_BY_NAME answers 0 for, as the grant check names them. */
    readonly denied?: string[];
    /** The error the connection is refused with (a login failure, say). */
    readonly connectError?: SqlError;
    /** Rows for a statement the recording stand-in does not answer (undefined: let it answer). */
    readonly rows?: (statement: string) => object[] | undefined;
    /** A statement that fails, and how. */
    readonly failing?: { readonly statement: RegExp; readonly error: SqlError };
}

interface Parameter {
    readonly name: string;
    readonly type: string;
    readonly size: number;
    readonly supplied: boolean;
    readonly value: unknown;
}

export class StandInSqlDatabase {
    private constructor(
        private readonly server: http.Server,
        readonly url: string,
        /** Every request, in order. */
        readonly requests: Array<Record<string, unknown>>,
        /** The statements, in order. */
        readonly statements: string[],
    ) {}

    static async start(options: StandInSqlDatabaseOptions): Promise<StandInSqlDatabase> {
        const recorded: string[] = [];
        const sql = recordingSql(options.clients, recorded, options.denied ?? []);
        const requests: Array<Record<string, unknown>> = [];
        const statements: string[] = [];
        const server = http.createServer((request, response) => {
            const chunks: Buffer[] = [];
            request.on("data", chunk => chunks.push(chunk));
            request.on("end", () => {
                const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as Record<string, unknown>;
                requests.push(body);
                void answer(body).then(
                    result => response.end(JSON.stringify(result)),
                    (err: Error) => response.end(JSON.stringify({ error: { number: 50000, class: 16, message: err.message } })),
                );
            });
        });
        const answer = async (body: Record<string, unknown>): Promise<object> => {
            if ("connect" in body) return options.connectError ? { error: options.connectError } : {};
            if (!("query" in body)) return {};
            const text = String(body.query);
            statements.push(text);
            const parameters = body.parameters as Parameter[];
            const declared = new Set(parameters.map(parameter => parameter.name.replace(/^@/, "").toLowerCase()));
            for (const used of text.replace(/N?'(?:[^']|'')*'/g, "''").matchAll(/(?<!@)@(\w+)/g)) {
                if (!declared.has(used[1].toLowerCase())) {
                    return { error: { number: 137, class: 15, message: `Must declare the scalar variable "@${used[1]}".` } };
                }
            }
            const missing = parameters.find(parameter => !parameter.supplied);
            if (missing) {
                return { error: { number: 8178, class: 16, message: `The parameterized query expects the parameter '${missing.name}', which was not supplied.` } };
            }
            if (options.failing && options.failing.statement.test(text)) return { error: options.failing.error };
            const given = options.rows?.(text);
            if (given) return { recordset: given, rowsAffected: -1 };
            const statement = new sql.Request();
            for (const parameter of parameters) statement.input(parameter.name.replace(/^@/, ""), parameter.value);
            const result = await statement.query(text);
            const isSelect = /^\s*SELECT\b/i.test(text);
            // A result row holds scalars only: the recording stand-in's rows carry what it keeps about a client
            // ("redirectUris") next to their columns.
            const recordset = (result.recordset as Array<Record<string, unknown>>).map(row =>
                Object.fromEntries(Object.entries(row).filter(([, value]) => value === null || typeof value !== "object")),
            );
            return { recordset, rowsAffected: isSelect ? -1 : (result.rowsAffected[0] ?? 0) };
        };
        await new Promise<void>(resolve => server.listen(0, "127.0.0.1", resolve));
        return new StandInSqlDatabase(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, requests, statements);
    }

    /** How each transaction ended ("commit" or "rollback"), in order. */
    ends(): string[] {
        return this.requests.filter(request => "end" in request).map(request => String(request.end));
    }

    stop(): Promise<void> {
        return new Promise(resolve => this.server.close(() => resolve()));
    }
}
