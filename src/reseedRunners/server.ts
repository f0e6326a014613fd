/**
 * The `server` re-seed runner of the IIS target: each step is still a local command (so that switching runners is an
 * update), which runs `src/scripts/reseed-server.js`; that script runs reseed.js's steps with every SQL Server
 * statement carried out on the IIS server by `src/scripts/iis/reseed-sqlclient.ps1` (Windows PowerShell and the .NET
 * Framework's System.Data.SqlClient), over an SSH session of the IIS target's own connection. The database is then
 * reached only from the server, and Integrated Security signs in as the SSH user. See docs/reseed.md.
 */
import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import { DatabaseProvider } from "../args";
import { nodeScriptCommand } from "../packagedScripts";
import { commandLine } from "../powershell";
import { ReseedRunner } from "../reseed";

/**
 * What the executor's command line runs: read the step library and the executor (each Base64 of its UTF-8 text, the
 * first two lines of standard input), dot-source the library, and run the executor with UTF-8 readers of standard
 * input and output. The scripts and everything secret travel on standard input; this line is the same for every
 * deployment and safe through cmd.exe.
 */
export const EXECUTOR_BOOTSTRAP = [
    "$ErrorActionPreference='Stop'",
    "$utf8=New-Object Text.UTF8Encoding $false",
    "$reader=New-Object IO.StreamReader ([Console]::OpenStandardInput()),$utf8",
    "$writer=New-Object IO.StreamWriter ([Console]::OpenStandardOutput()),$utf8",
    ". ([ScriptBlock]::Create($utf8.GetString([Convert]::FromBase64String($reader.ReadLine()))))",
    "& ([ScriptBlock]::Create($utf8.GetString([Convert]::FromBase64String($reader.ReadLine())))) $reader $writer",
].join(";");

/** The line that starts the executor through cmd.exe (as OpenSSH for Windows runs every command). */
export function executorCommandLine(): string {
    return commandLine(EXECUTOR_BOOTSTRAP);
}

export interface ServerRunnerSettings {
    readonly provider: DatabaseProvider;
    /** The IIS target's connection; none: the IIS server is the machine that runs Pulumi. */
    readonly connection?: command.types.input.remote.ConnectionArgs;
}

export function serverRunner(settings: ServerRunnerSettings): ReseedRunner {
    const script = nodeScriptCommand("reseed-server.js");
    const executor = executorCommandLine();
    return {
        step: () => ({ command: script, environment: { RESEED_DB_PROVIDER: settings.provider, RESEED_EXECUTOR_COMMAND: executor } }),
        dependsOn: [],
        // On the step's secret stdin only: the connection may hold a password or a private key.
        stdin: settings.connection ? pulumi.output(settings.connection).apply(connection => ({ server: connection })) : undefined,
    };
}
