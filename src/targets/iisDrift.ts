/**
 * Drift detection of the IIS target (`iis.detectDrift`): a read-only script, `src/scripts/iis/drift.ps1`, runs on the
 * server on every preview and update, as the invoke `command.local.run` (over SSH through `ssh-run.js`: @pulumi/command
 * 1.2.1 has no remote invoke), before any step. For each part a step manages (the site, the pool, the files the
 * configuration step writes) it prints a token, which becomes `drift.token` in that step's standard input:
 *
 * - while the server matches, the token the step last ran with (each step records it on the server once done), so
 *   the input is unchanged and the preview shows nothing;
 * - once the part was changed there, a new token (`changed: bindings (<hash>)`), so that exactly that step shows as
 *   an update and, on `pulumi up`, runs again and repairs it, recording the new token.
 *
 * The engine keeps no invoke result between runs (pulumi/pulumi pkg/resource/deploy/source_eval.go `Invoke` @ v3.248.0
 * calls the provider each time): what makes a clean server read the same as the last run is the record on the server.
 * The token travels in the step's standard input rather than in its triggers, since a change of `triggers` replaces a
 * command (pulumi/pulumi-command provider/pkg/provider/common/inputs.go @ v1.2.1, `replaceOnChanges`), which would
 * delete the site and pool first; a change of stdin is an update, which re-runs the step's idempotent script.
 */
import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import { nodeScriptCommand, readScript } from "../packagedScripts";
import { encodeCommand, encodedCommandLine, minify, POWERSHELL } from "../powershell";
import { windowsJoin } from "./iis";

/** The parts a step manages, by the key the read-back prints. */
export const DRIFT_PARTS = ["site", "appPool", "configuration"] as const;
export type DriftPart = (typeof DRIFT_PARTS)[number];
export type DriftTokens = Record<DriftPart, string>;

/** What a step's standard input carries with detection on: where to record its token, the token, and the files to hash. */
export interface DriftMark {
    readonly record: string;
    readonly token: string;
    readonly files?: readonly string[];
}

/** The read-back script as it travels: inline and minified (a preview may run before the scripts step uploaded it). */
export function driftScript(): string {
    return minify(readScript("iis/drift.ps1"));
}

/** Where a step records its token: in the upload folder, which only administrators can write. */
export function driftRecordPath(scriptsDir: string, part: DriftPart): string {
    return windowsJoin(scriptsDir, `drift-${part}.txt`);
}

/** What the site step leaves, as drift.ps1 reads it from IIS: folder, pool and the bindings, sorted by ordinal. */
export function expectedSiteState(values: {
    readonly physicalPath: string;
    readonly appPoolName: string;
    readonly port: number;
    readonly https?: { readonly port: number; readonly certificateThumbprint: string };
}): string {
    const bindings = [`http *:${values.port}:`];
    if (values.https) {
        bindings.push(`https *:${values.https.port}: ${values.https.certificateThumbprint}`);
    }
    bindings.sort();
    return `path=${values.physicalPath}|pool=${values.appPoolName}|bindings=${bindings.join(",")}`;
}

/**
 * What the app-pool step leaves, as drift.ps1 reads it: the identity (a user by name: its password is never read
 * back), No Managed Code, Integrated, 64-bit and Load User Profile.
 */
export function expectedAppPoolState(values: { readonly loadUserProfile: boolean; readonly username?: string }): string {
    const identity = values.username === undefined ? "ApplicationPoolIdentity" : `SpecificUser:${values.username}`;
    return `identity=${identity}|runtime=|pipeline=Integrated|32bit=False|profile=${values.loadUserProfile ? "True" : "False"}`;
}

export interface DriftReadValues {
    readonly scriptsDir: string;
    readonly siteName: string;
    readonly site: string;
    readonly appPoolName: string;
    readonly appPool: string;
    /** The files the configuration step writes. */
    readonly files: readonly string[];
}

/** The read-back's standard input: one tab-separated line per part (see drift.ps1). No value in it is secret. */
export function driftInput(values: DriftReadValues): string {
    const fields = [values.scriptsDir, values.siteName, values.site, values.appPoolName, values.appPool, ...values.files];
    if (fields.some(field => /[\t\r\n]/.test(field))) {
        throw new Error("the drift read-back's input cannot hold a tab or line break");
    }
    return [
        ["site", driftRecordPath(values.scriptsDir, "site"), values.site, values.siteName],
        ["appPool", driftRecordPath(values.scriptsDir, "appPool"), values.appPool, values.appPoolName],
        ["configuration", driftRecordPath(values.scriptsDir, "configuration"), "", ...values.files],
    ]
        .map(line => `${line.join("\t")}\n`)
        .join("");
}

/** The read-back's output: one JSON line with a string token for each part; anything else is an error naming it. */
export function parseDriftTokens(stdout: string): DriftTokens {
    let parsed: unknown;
    try {
        parsed = JSON.parse(stdout);
    } catch {
        parsed = undefined;
    }
    const tokens = parsed as Record<string, unknown> | undefined;
    if (!tokens || typeof tokens !== "object" || DRIFT_PARTS.some(part => typeof tokens[part] !== "string")) {
        throw new Error(`the IIS drift read-back (iis.detectDrift) printed ${JSON.stringify(stdout.slice(0, 200))}, not a token for each of ${DRIFT_PARTS.join(", ")}`);
    }
    return Object.fromEntries(DRIFT_PARTS.map(part => [part, tokens[part] as string])) as DriftTokens;
}

/**
 * Runs the read-back on the server, on every preview and update (`command.local.run` is an invoke: the engine calls
 * it on each run, in previews too). Without a connection, PowerShell runs it here; with one, `ssh-run.js` signs in
 * with the connection, which reaches it on stdin only, as a secret. The tokens are hashes and words, never a setting:
 * they are made plain again, so that the steps' inputs stay readable in a preview.
 */
export function readDrift(
    input: pulumi.Output<string>,
    connection: command.types.input.remote.ConnectionArgs | undefined,
    parent: pulumi.Resource,
): pulumi.Output<DriftTokens> {
    const script = driftScript();
    const result = connection
        ? command.local.runOutput(
              {
                  command: nodeScriptCommand("ssh-run.js"),
                  stdin: pulumi.secret(
                      pulumi.all([pulumi.output(connection), input]).apply(([resolved, stdin]) =>
                          JSON.stringify({ connection: resolved, command: encodedCommandLine(script), stdin }),
                      ),
                  ),
                  addPreviousOutputInEnv: false,
                  logging: "stderr",
              },
              { parent },
          )
        : command.local.runOutput(
              {
                  interpreter: [...POWERSHELL, "-EncodedCommand"],
                  command: encodeCommand(script),
                  stdin: input,
                  addPreviousOutputInEnv: false,
                  logging: "stderr",
              },
              { parent },
          );
    return pulumi.unsecret(result.stdout).apply(parseDriftTokens);
}
