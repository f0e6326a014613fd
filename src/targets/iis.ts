/**
 * The IIS target: the Identity Service as an IIS site with its own application pool on a Windows server, deployed by
 * PowerShell steps that run on that server (over SSH with `connection`, else on the machine that runs Pulumi).
 *
 * Every step script is a real file under `src/scripts/iis/` and reads ONE JSON document on standard input holding
 * all its values, secret or not: no value is ever spliced into script text, so a script's text is the same for
 * every deployment and holds no secret. The `scripts` step writes every step script (with the step library they all
 * use, and the configuration patcher) to a folder on the server under names that carry their content hash, its
 * standard input being the files as plain lines; every other step runs its file with one readable line
 * (`powershell.exe ... -Command "..."`, safe through cmd.exe, which OpenSSH for Windows runs commands through), which
 * checks each file's hash before running it. So a changed script shows in `pulumi preview --diff` as changed lines of
 * the `scripts` step and as a new file name in the command of the step that runs it. Only the uploader travels
 * inline, as `-EncodedCommand`.
 *
 * Steps, chained in this order, each idempotent:
 *   scripts → prerequisites → install → app-pool → site → configuration → readiness
 */
import * as crypto from "crypto";
import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import { IisDeployment } from "../args";
import { Claim, knownClaims } from "../claims";
import { mergeEnvironment, Setting, toAppSettingsPatch } from "../configuration";
import { TargetManaged } from "../escapeHatches";
import { serviceUrl } from "./docker";
import { readScript } from "../packagedScripts";
import { commandLine, encodeCommand, encodedCommandLine, minify, POWERSHELL, scriptFileRunner } from "../powershell";
import { forwardedHeadersEnvironment } from "../proxy";
import { readinessEnvironment, ReadinessSettings } from "../readiness";
import { ArgumentCheck, Check, checks, describe, isKnown } from "../validation";
import { VersionProfile } from "../versions";
import { forwardedHeadersFor, PlannedTarget } from "./target";
import { DriftMark, driftInput, driftRecordPath, DriftTokens, expectedAppPoolState, expectedSiteState, readDrift } from "./iisDrift";

/**
 * The variables the ASP.NET Core Module sets in the service's environment itself (dotnet/aspnetcore
 * src/Servers/IIS/AspNetCoreModuleV2/CommonLib/environmentvariablehash.h, the `*_ENV_STR` names, and
 * OutOfProcessRequestHandler/serverprocess.h, `ASPNETCORE_PORT`, `ASPNETCORE_APPL_PATH`, `ASPNETCORE_TOKEN`): it
 * replaces some of them whatever web.config says and needs the others, so `environment` may not set them unless
 * `overrides` lists one.
 */
const MODULE_VARIABLE = "which the ASP.NET Core Module sets for the process itself";
export const IIS_MANAGED: TargetManaged = {
    settings: [],
    environment: [
        "ASPNETCORE_IIS_PHYSICAL_PATH",
        "ASPNETCORE_IIS_HTTPAUTH",
        "ASPNETCORE_IIS_WEBSOCKETS_SUPPORTED",
        "ASPNETCORE_HOSTINGSTARTUPASSEMBLIES",
        "ASPNETCORE_ANCM_HTTPS_PORT",
        "ASPNETCORE_PORT",
        "ASPNETCORE_APPL_PATH",
        "ASPNETCORE_TOKEN",
    ].map(name => ({ name, purpose: MODULE_VARIABLE, secret: false })),
};

export const DEFAULT_NAME_PREFIX = "IdentityService-";
export const DEFAULT_INSTALL_FOLDER = "IdentityService";
export const DEFAULT_STDOUT_LOG_FILE = ".\\logs\\stdout";
export const DEFAULT_LOAD_USER_PROFILE = true;
/** IIS limits application pool names to 64 characters. */
export const MAX_APP_POOL_NAME_LENGTH = 64;
/** Site names have no documented limit; this keeps them usable in IIS Manager and paths. */
export const MAX_SITE_NAME_LENGTH = 200;
/** The signing PFX is written into the install folder under this name. */
export const SIGNING_CERTIFICATE_FILE = "signing-certificate.pfx";
/** The configuration patcher, compiled on the server by Add-Type. */
export const PATCHER_FILE = "ConfigPatch.cs";
/** The functions every step script uses, run by the runner before the step (see scriptFileRunner). */
export const LIBRARY_FILE = "step-library.ps1";
/** Windows Server 2016 (1607) and later: IIS 10 and Windows PowerShell 5.1, what the steps are written for. */
export const MINIMUM_WINDOWS_BUILD = 14393;
export const MINIMUM_IIS_MAJOR_VERSION = 10;

/**
 * The Microsoft.Web.Administration members and enum values the step scripts use, by class (members inherited from
 * ConfigurationElement and ConfigurationElementCollectionBase are looked up on the class they are used on). The
 * prerequisites step checks on the server that each exists, before anything is changed: a member this server's IIS
 * lacks would otherwise fail a later step halfway. The list is kept equal to what the scripts access, and each entry
 * to the real API, by tests.
 */
export const IIS_API: Readonly<Record<string, { readonly properties?: readonly string[]; readonly methods?: readonly string[]; readonly enumValues?: readonly string[] }>> = {
    ServerManager: { properties: ["ApplicationPools", "Sites"], methods: ["CommitChanges", "GetApplicationHostConfiguration"] },
    Configuration: { methods: ["GetSection"] },
    ConfigurationSection: { methods: ["GetCollection"] },
    ApplicationPoolCollection: { methods: ["Add", "Remove"] },
    ApplicationPool: {
        properties: ["AutoStart", "Enable32BitAppOnWin64", "ManagedPipelineMode", "ManagedRuntimeVersion", "ProcessModel", "State", "WorkerProcesses"],
        methods: ["Recycle", "Start", "Stop"],
    },
    ApplicationPoolProcessModel: { properties: ["IdentityType", "LoadUserProfile", "Password", "UserName"], methods: ["SetAttributeValue"] },
    WorkerProcessCollection: { properties: ["Count"] },
    SiteCollection: { methods: ["Add", "Remove"] },
    Site: { properties: ["Applications", "Bindings", "Name", "State"], methods: ["Start", "Stop"] },
    Application: { properties: ["ApplicationPoolName", "VirtualDirectories"] },
    VirtualDirectory: { properties: ["PhysicalPath"] },
    BindingCollection: { methods: ["Add", "Remove"] },
    Binding: { properties: ["BindingInformation", "CertificateHash", "CertificateStoreName", "Protocol"] },
    ManagedPipelineMode: { enumValues: ["Integrated"] },
    ProcessModelIdentityType: { enumValues: ["ApplicationPoolIdentity", "SpecificUser"] },
};

/**
 * Text beyond ASCII (two-byte, three-byte and four-byte UTF-8) that the prerequisites step must receive intact on
 * standard input and write back as ASCII JSON, with its UTF-16 code units to compare.
 */
export const ENCODING_PROBE = "\u00fc\u540d\u20ac\ud83d\ude42";

// ---------------------------------------------------------------------------------------------------------------
// Settings and validation

/** IIS settings with defaults applied and plain values checked. */
export interface IisSettings {
    readonly connection?: command.types.input.remote.ConnectionArgs;
    readonly creatioPath: pulumi.Input<string>;
    readonly installPath: pulumi.Input<string>;
    readonly archivePath: pulumi.Input<string>;
    readonly siteName: pulumi.Input<string>;
    readonly appPoolName: pulumi.Input<string>;
    readonly port: pulumi.Input<number>;
    readonly hostname: pulumi.Input<string>;
    readonly appPoolIdentity?: { readonly username: pulumi.Input<string>; readonly password: pulumi.Input<string> };
    readonly loadUserProfile: pulumi.Input<boolean>;
    readonly stdoutLog: { readonly enabled: pulumi.Input<boolean>; readonly path: pulumi.Input<string> };
    readonly https?: { readonly port: pulumi.Input<number>; readonly certificateThumbprint: pulumi.Input<string> };
    /** Read the site, pool and configuration back on every run (see iisDrift.ts). */
    readonly detectDrift: boolean;
    readonly retainOnDelete: boolean;
}

/** Characters IIS refuses in site and application pool names. */
const IIS_NAME_FORBIDDEN = /[/\\[\]:|<>+=;,?*'"%\u0000-\u001f\u007f]/;
const IIS_NAME_FORBIDDEN_GLOBAL = new RegExp(IIS_NAME_FORBIDDEN.source, "g");
const FORBIDDEN_LIST = `/ \\ [ ] : | < > + = ; , ? * ' " % or control characters`;

export function iisNameCheck(kind: string, maxLength: number): Check<string> {
    return value => {
        if (typeof value !== "string" || value.trim() === "") {
            return `must not be empty; give the ${kind} name`;
        }
        if (IIS_NAME_FORBIDDEN.test(value)) {
            return `${describe(value)} is not a valid ${kind} name: IIS does not accept ${FORBIDDEN_LIST}; remove them`;
        }
        if (value !== value.trim()) {
            return `${describe(value)} starts or ends with white space; remove it`;
        }
        if (value.length > maxLength) {
            return `${describe(value)} is ${value.length} characters long; IIS accepts at most ${maxLength} for a ${kind} name`;
        }
        return undefined;
    };
}

/**
 * The default site and pool name: `IdentityService-<component name>` with what IIS refuses replaced by `-`. Names
 * longer than the limit are cut and end in a hash of the component name, so two instances never share one.
 */
export function defaultIisName(componentName: string, maxLength: number = MAX_APP_POOL_NAME_LENGTH): string {
    const sanitized = (DEFAULT_NAME_PREFIX + componentName.replace(IIS_NAME_FORBIDDEN_GLOBAL, "-")).replace(/\s+/g, "-");
    if (sanitized.length <= maxLength) {
        return sanitized;
    }
    const hash = crypto.createHash("sha256").update(componentName).digest("hex").slice(0, 8);
    return `${sanitized.slice(0, maxLength - hash.length - 1)}-${hash}`;
}

const DRIVE_PATH = /^[A-Za-z]:[\\/]/;
const UNC_PATH = /^\\\\[^\\/]+[\\/][^\\/]+/;
const PATH_FORBIDDEN = /[<>"|?*\u0000-\u001f]/;

/**
 * An absolute Windows path: `C:\...` or a UNC path `\\server\share\...`. With `local`, UNC paths are refused: an
 * application pool's virtual account cannot be granted access on a file server, and an SSH session logged on with a
 * key has no network credentials.
 */
export function windowsPathCheck(options: { zip?: boolean; folder?: boolean; local?: boolean } = {}): Check<string> {
    return value => {
        if (options.local && typeof value === "string" && UNC_PATH.test(value)) {
            return `${describe(value)} is a network (UNC) path; give a folder on a local drive of the IIS server, such as "C:\\Creatio"`;
        }
        if (typeof value !== "string" || !(DRIVE_PATH.test(value) || UNC_PATH.test(value))) {
            const example = options.zip
                ? '"C:\\Creatio\\IdentityService.zip" or "\\\\server\\share\\IdentityService.zip"'
                : '"C:\\Creatio\\IdentityService" or "\\\\server\\share\\folder"';
            // "C:\Creatio" written with one backslash in TypeScript or JavaScript arrives as "C:Creatio".
            const escaping = typeof value === "string" && /^[A-Za-z]:[^\\/]/.test(value)
                ? '; in TypeScript and JavaScript strings write each backslash twice ("C:\\\\Creatio")'
                : "";
            return `${describe(value)} is not an absolute Windows path; write it like ${example}${escaping}`;
        }
        if (PATH_FORBIDDEN.test(value) || value.slice(2).includes(":")) {
            return `${describe(value)} contains characters Windows does not allow in paths (< > " | ? * : or control characters); remove them`;
        }
        if (options.zip && !/\.zip$/i.test(value)) {
            return `${describe(value)} does not end in .zip; give the path of IdentityService.zip on the server`;
        }
        if (options.folder && /^[A-Za-z]:[\\/]*$/.test(value)) {
            return `${describe(value)} is the root of a drive; give a folder such as "C:\\Creatio\\IdentityService"`;
        }
        return undefined;
    };
}

/** A certificate thumbprint without the spaces (and invisible marks) Windows shows and copies with it, upper case. */
export function normalizeThumbprint(value: string): string {
    return typeof value === "string" ? value.replace(/[\s\u200e\u200f\ufeff]/g, "").toUpperCase() : value;
}

const thumbprintCheck: Check<string> = value =>
    /^[0-9A-F]{40}$/.test(normalizeThumbprint(value))
        ? undefined
        : `${describe(value)} is not a certificate thumbprint; give its 40 hexadecimal digits (spaces are ignored), as ` +
          "Get-ChildItem Cert:\\LocalMachine\\My shows them";

/** Joins a Windows folder and a name. */
export function windowsJoin(folder: string, name: string): string {
    return `${folder.replace(/[\\/]+$/, "")}\\${name}`;
}

/** A required field: when it is missing, says so and what to give, instead of checking the value. */
function required<T>(what: string, check: Check<T>): Check<T> {
    return value => (value === undefined || value === null ? `is missing; give ${what}` : check(value));
}

function mapInput<T, U>(value: pulumi.Input<T>, f: (value: T) => U): pulumi.Input<U> {
    return isKnown(value) ? f(value) : pulumi.output(value).apply(v => f(v as T));
}

/**
 * What a site takes exclusively on its server: the site and pool names, its ports and its folder (names and paths
 * compared without case, as Windows does). The server is the SSH host, or the machine that runs Pulumi.
 */
export function iisClaims(settings: IisSettings): Claim[] {
    const connection = settings.connection;
    if (connection && !(isKnown(connection.host) && isKnown(connection.port ?? 22))) {
        return []; // the server is not known yet, so nothing can collide for certain
    }
    const server = connection ? `${String(connection.host).toLowerCase()}:${connection.port ?? 22}` : "local";
    const description = connection ? `on the IIS server ${connection.host}` : "on the local IIS server";
    const lower = (value: unknown) => String(value).toLowerCase();
    return knownClaims(`iis:${server}`, description, [
        ["iis.siteName", settings.siteName, value => `site "${lower(value)}"`],
        ["iis.appPoolName", settings.appPoolName, value => `application pool "${lower(value)}"`],
        ["iis.port", settings.port, port => `port ${port}`],
        ["iis.https.port", settings.https?.port, port => `port ${port}`],
        ["iis.installPath", settings.installPath, value => `folder ${lower(value).replace(/\\+$/, "")}`],
    ]);
}

/** `iis.retainOnDelete`, a plain boolean: it becomes a resource option, which cannot wait for a value. */
function retainOnDelete(value: unknown, check: ArgumentCheck): boolean {
    if (value !== undefined && typeof value !== "boolean") {
        check.fail("iis.retainOnDelete", `${describe(value)} is not a boolean; give true or false`);
    }
    return value === true;
}

export function iisSettings(name: string, args: IisDeployment, check: ArgumentCheck): IisSettings {
    const creatioPath = check.input(
        "iis.creatioPath",
        args.creatioPath,
        required('Creatio\'s root folder on the server, such as "C:\\Creatio"', windowsPathCheck({ folder: true, local: true })),
    );
    const installPath =
        args.installPath === undefined
            ? mapInput(creatioPath, path => (typeof path === "string" ? windowsJoin(path, DEFAULT_INSTALL_FOLDER) : path))
            : check.input("iis.installPath", args.installPath, windowsPathCheck({ folder: true, local: true }));
    if (args.installPath !== undefined && isKnown(installPath) && isKnown(creatioPath) && typeof installPath === "string" && typeof creatioPath === "string") {
        const folder = (path: string) => path.replace(/\//g, "\\").replace(/\\+$/, "").toLowerCase();
        const install = folder(installPath);
        const creatio = folder(creatioPath);
        if (install === creatio || creatio.startsWith(`${install}\\`)) {
            check.fail(
                "iis.installPath",
                `${describe(installPath)} is Creatio's folder (iis.creatioPath) or a folder above it; give a folder of its own, such as "${windowsJoin(creatioPath, DEFAULT_INSTALL_FOLDER)}"`,
            );
        }
    }
    const port = check.input("iis.port", args.port, required("the site's HTTP port, such as 8090", checks.port));

    const https = args.https && {
        port: check.input("iis.https.port", args.https.port, checks.port),
        certificateThumbprint: mapInput(
            check.input("iis.https.certificateThumbprint", args.https.certificateThumbprint, thumbprintCheck),
            normalizeThumbprint,
        ),
    };
    if (https && isKnown(https.port) && isKnown(port) && https.port === port) {
        check.fail("iis.https.port", `${https.port} is also iis.port; use two different ports for HTTP and HTTPS`);
    }

    const identity = args.appPoolIdentity && {
        username: check.input("iis.appPoolIdentity.username", args.appPoolIdentity.username, value =>
            typeof value === "string" && value.trim() !== ""
                ? undefined
                : "must not be empty; give the account as DOMAIN\\user or .\\user, or leave appPoolIdentity out for ApplicationPoolIdentity",
        ),
        password: check.input("iis.appPoolIdentity.password", args.appPoolIdentity.password, checks.secretNonEmpty),
    };

    const detectDrift = args.detectDrift ?? false;
    if (typeof detectDrift !== "boolean") {
        check.fail("iis.detectDrift", `${describe(detectDrift)} is not a boolean; give true to read the server back on every preview, or leave it out`);
    } else if (detectDrift && args.connection?.proxy !== undefined) {
        check.fail(
            "iis.detectDrift",
            "cannot read the server back through connection.proxy (the read-back connects directly); reach the server without a proxy, or leave detectDrift out",
        );
    }

    const hostname = check.input(
        "iis.hostname",
        args.hostname ?? (args.connection ? args.connection.host : "localhost"),
        checks.hostname,
    );

    return {
        connection: args.connection,
        creatioPath,
        installPath,
        archivePath: check.input(
            "iis.archivePath",
            args.archivePath,
            required('the path of IdentityService.zip on the server, such as "C:\\Creatio\\IdentityService.zip"', windowsPathCheck({ zip: true })),
        ),
        siteName: check.input(
            args.siteName === undefined ? "iis.siteName (default: from the component name)" : "iis.siteName",
            args.siteName ?? defaultIisName(name),
            iisNameCheck("site", MAX_SITE_NAME_LENGTH),
        ),
        appPoolName: check.input(
            args.appPoolName === undefined ? "iis.appPoolName (default: from the component name)" : "iis.appPoolName",
            args.appPoolName ?? defaultIisName(name),
            iisNameCheck("application pool", MAX_APP_POOL_NAME_LENGTH),
        ),
        port,
        hostname,
        appPoolIdentity: identity,
        loadUserProfile: args.loadUserProfile ?? DEFAULT_LOAD_USER_PROFILE,
        stdoutLog: {
            enabled: args.stdoutLog?.enabled ?? false,
            path: check.input("iis.stdoutLog.path", args.stdoutLog?.path ?? DEFAULT_STDOUT_LOG_FILE, value =>
                typeof value === "string" && value.trim() !== "" && !PATH_FORBIDDEN.test(value)
                    ? undefined
                    : `${describe(value)} is not a usable log file path; give a path such as ".\\logs\\stdout" (no < > " | ? * or control characters)`,
            ),
        },
        https,
        detectDrift: detectDrift === true,
        retainOnDelete: retainOnDelete(args.retainOnDelete, check),
    };
}

// ---------------------------------------------------------------------------------------------------------------
// Scripts and how they travel

/** The packaged step scripts (`src/scripts/iis/<name>.ps1`). */
export const STEP_SCRIPTS = [
    "prerequisites",
    "scripts",
    "delete-scripts",
    "install",
    "delete-install",
    "app-pool",
    "delete-app-pool",
    "site",
    "delete-site",
    "configure",
    "readiness",
] as const;
export type StepScript = (typeof STEP_SCRIPTS)[number];

export function stepScript(script: StepScript): string {
    return readScript(`iis/${script}.ps1`);
}

function contentHash(text: string): string {
    return crypto.createHash("sha256").update(text).digest("hex").slice(0, 12);
}

/** A file the `scripts` step writes to the server. */
export interface UploadedFile {
    readonly name: string;
    readonly content: string;
}

/**
 * The scripts that carry the others: the `scripts` step and its delete travel inline (minified) as `-EncodedCommand`
 * (base64 of the script, the one form of a whole script that nothing on the way can mangle), since no file exists
 * before them. A test keeps their command lines under MAX_COMMAND_LINE.
 */
export const UPLOADER_SCRIPTS: readonly StepScript[] = ["scripts", "delete-scripts"];

/** A file under its content hash, lines ending in `\n` on every machine (a checkout may have turned them into `\r\n`). */
function hashedFile(name: string, extension: string, source: string): UploadedFile {
    const content = source.replace(/\r\n/g, "\n");
    return { name: `${name}-${contentHash(content)}.${extension}`, content };
}

/** The patcher's source, uploaded for the configuration step. */
export function patcherFile(): UploadedFile {
    return hashedFile(PATCHER_FILE.replace(/\.cs$/, ""), "cs", readScript(`iis/${PATCHER_FILE}`));
}

/** The step library, uploaded for every step the runner starts. */
export function libraryFile(): UploadedFile {
    return hashedFile(LIBRARY_FILE.replace(/\.ps1$/, ""), "ps1", readScript(`iis/${LIBRARY_FILE}`));
}

/**
 * A step script as the `scripts` step uploads it (the packaged one by default): named after its content, so a change
 * is a new name.
 */
export function scriptFile(script: StepScript, source: string = stepScript(script)): UploadedFile {
    return hashedFile(script, "ps1", source);
}

/** Every file the `scripts` step uploads: the patcher, the step library and every step script but the uploader's own. */
export function uploadedFiles(): UploadedFile[] {
    return [patcherFile(), libraryFile(), ...STEP_SCRIPTS.filter(script => !UPLOADER_SCRIPTS.includes(script)).map(script => scriptFile(script))];
}

/** The folder the `scripts` step writes to: next to the install folder, never inside it (extraction clears it). */
export function scriptsDirectory(installPath: string): string {
    return `${installPath.replace(/[\\/]+$/, "")}.deploy`;
}

/** What to do when a step's file is missing: the `scripts` step only runs again when it is replaced. */
const RUNNER_HINT = "the -iis-scripts step writes it: pulumi up --replace <its URN> writes it again";

/**
 * The PowerShell text a step's command runs: for the uploader, the script itself (minified); for any other step, one
 * line that runs its uploaded file by name (see scriptFileRunner), so that a preview shows which file a step runs.
 */
export function commandScript(script: StepScript, scriptsDir: string): string {
    if (UPLOADER_SCRIPTS.includes(script)) {
        return minify(stepScript(script));
    }
    return fileRunner(scriptFile(script), scriptsDir);
}

/** The one line that runs an uploaded file, with the step library, from the folder the `scripts` step writes. */
export function fileRunner(file: UploadedFile, scriptsDir: string): string {
    return scriptFileRunner(windowsJoin(scriptsDir, file.name), windowsJoin(scriptsDir, libraryFile().name), RUNNER_HINT);
}

/** The command line a step runs over SSH (through cmd.exe): readable `-Command`, or `-EncodedCommand` for the uploader. */
export function remoteCommandLine(script: StepScript, scriptsDir: string): string {
    const text = commandScript(script, scriptsDir);
    return UPLOADER_SCRIPTS.includes(script) ? encodedCommandLine(text) : commandLine(text);
}

/** A local step's interpreter (PowerShell started directly, no cmd.exe) and the text appended to it as the last argument. */
export function localCommand(script: StepScript, scriptsDir: string): { interpreter: string[]; text: string } {
    const text = commandScript(script, scriptsDir);
    return UPLOADER_SCRIPTS.includes(script)
        ? { interpreter: [...POWERSHELL, "-EncodedCommand"], text: encodeCommand(text) }
        : { interpreter: [...POWERSHELL, "-Command"], text };
}

// ---------------------------------------------------------------------------------------------------------------
// Standard input of each step: pure builders, all values as JSON

/**
 * The prerequisites step's standard input: the version's hosting bundle, the IIS API the scripts use, the encoding
 * probe and, base64, the signing PFX the service will load (so this input is a secret when one is given).
 */
export function prerequisitesInput(profile: VersionProfile, creatioPath: string, signingCertificate?: string): string {
    return JSON.stringify({
        hostingBundleVersion: profile.release.iis.hostingBundleVersion,
        frameworks: profile.release.iis.frameworks,
        install: profile.release.iis.install,
        creatioPath,
        minimumWindowsBuild: MINIMUM_WINDOWS_BUILD,
        minimumIisVersion: MINIMUM_IIS_MAJOR_VERSION,
        iisApi: Object.fromEntries(
            Object.entries(IIS_API).map(([type, members]) => [
                type,
                { properties: members.properties ?? [], methods: members.methods ?? [], enumValues: members.enumValues ?? [] },
            ]),
        ),
        encodingProbe: ENCODING_PROBE,
        encodingProbeCodes: Array.from({ length: ENCODING_PROBE.length }, (_, i) => ENCODING_PROBE.charCodeAt(i)),
        signingCertificate: signingCertificate === undefined ? null : { base64: signingCertificate },
    });
}

/**
 * The `scripts` step's standard input, as plain lines so that a preview shows a changed script line by line (a JSON
 * document would be shown decoded, each script one long string): `folder <directory>`, then for each file
 * `file <name> <line count>` followed by exactly that many lines, its content (which ends in a line break).
 * scripts.ps1 reads it back strictly.
 */
export function scriptsInput(directory: string, files: readonly UploadedFile[]): string {
    if (/[\r\n]/.test(directory)) {
        throw new Error(`the upload folder cannot hold a line break: ${JSON.stringify(directory)}`);
    }
    const lines = [`folder ${directory}`];
    for (const file of files) {
        if (!/^[A-Za-z0-9][A-Za-z0-9.-]*$/.test(file.name)) {
            throw new Error(`an uploaded file name holds only letters, digits, dots and dashes: ${JSON.stringify(file.name)}`);
        }
        if (!file.content.endsWith("\n")) {
            throw new Error(`${file.name} does not end in a line break`);
        }
        const content = file.content.slice(0, -1).split("\n");
        lines.push(`file ${file.name} ${content.length}`, ...content);
    }
    return `${lines.join("\n")}\n`;
}

export interface InstallValues {
    readonly archivePath: string;
    readonly installPath: string;
    /** Creatio's folder: the install folder may not be it, nor above it. */
    readonly creatioPath: string;
    readonly appPoolName: string;
    readonly creatioVersion: string;
}

export function installInput(values: InstallValues): string {
    return JSON.stringify({
        archivePath: values.archivePath,
        installPath: values.installPath,
        creatioPath: values.creatioPath,
        appPoolName: values.appPoolName,
        creatioVersion: values.creatioVersion,
    });
}

export interface AppPoolValues {
    readonly appPoolName: string;
    /**
     * This deployment's site: a pool that another site's application runs in is someone else's. The site of this
     * name counts as this deployment's only when it serves `installPath` or a folder the install step filled.
     */
    readonly siteName: string;
    readonly installPath: string;
    readonly loadUserProfile: boolean;
    readonly identity?: { readonly username: string; readonly password: string };
    /** With iis.detectDrift: where the step records its token for the read-back. */
    readonly drift?: DriftMark;
}

export function appPoolInput(values: AppPoolValues): string {
    return JSON.stringify({
        appPoolName: values.appPoolName,
        siteName: values.siteName,
        installPath: values.installPath,
        loadUserProfile: values.loadUserProfile,
        identity: values.identity ? { username: values.identity.username, password: values.identity.password } : null,
        ...(values.drift ? { drift: values.drift } : {}),
    });
}

export interface SiteValues {
    readonly siteName: string;
    readonly appPoolName: string;
    readonly physicalPath: string;
    readonly port: number;
    readonly https?: { readonly port: number; readonly certificateThumbprint: string };
    /** With iis.detectDrift: where the step records its token for the read-back. */
    readonly drift?: DriftMark;
}

export function siteInput(values: SiteValues): string {
    return JSON.stringify({
        siteName: values.siteName,
        appPoolName: values.appPoolName,
        physicalPath: values.physicalPath,
        port: values.port,
        https: values.https ? { port: values.https.port, certificateThumbprint: values.https.certificateThumbprint } : null,
        ...(values.drift ? { drift: values.drift } : {}),
    });
}

/** The account the pool runs as, for file permissions: the virtual account of ApplicationPoolIdentity, or the user. */
export function poolAccount(appPoolName: string, username?: string): string {
    return username ?? `IIS AppPool\\${appPoolName}`;
}

export interface ConfigurationValues {
    readonly installPath: string;
    readonly siteName: string;
    readonly appPoolName: string;
    readonly patcherPath: string;
    /** The rendered settings, merged into appsettings.json. */
    readonly settings: readonly Setting[];
    readonly stdoutLog: { readonly enabled: boolean; readonly path: string };
    /** Base64 of the signing PFX. */
    readonly signingCertificate?: string;
    readonly poolAccount: string;
    /** What the install step printed: changes whenever the archive was extracted again. */
    readonly installRevision: string;
    /** Set once client re-seeding deleted rows, new each time: the service must restart even if no file changed. */
    readonly restartToken?: string;
    /** The user's environment variables, set in web.config's `<aspNetCore><environmentVariables>`. */
    readonly environment?: Readonly<Record<string, string>>;
    /** Values to redact from error messages. */
    readonly secrets: readonly string[];
    /** With iis.detectDrift: where the step records its token and the state of the files it writes. */
    readonly drift?: DriftMark;
}

export function configurationInput(values: ConfigurationValues): string {
    return JSON.stringify({
        installPath: values.installPath,
        siteName: values.siteName,
        appPoolName: values.appPoolName,
        patcherPath: values.patcherPath,
        appSettings: JSON.stringify(toAppSettingsPatch(values.settings)),
        webConfig: {
            stdoutLogEnabled: values.stdoutLog.enabled,
            stdoutLogFile: values.stdoutLog.path,
            // JSON text, passed to the patcher as it is; only when there are some, so that a deployment without any
            // sends what it always sent.
            ...(values.environment && Object.keys(values.environment).length > 0 ? { environmentVariables: JSON.stringify(values.environment) } : {}),
        },
        signingCertificate:
            values.signingCertificate === undefined
                ? null
                : { path: windowsJoin(values.installPath, SIGNING_CERTIFICATE_FILE), base64: values.signingCertificate },
        poolAccount: values.poolAccount,
        installRevision: values.installRevision,
        ...(values.restartToken ? { restartToken: values.restartToken } : {}),
        secrets: values.secrets.filter(secret => secret !== ""),
        ...(values.drift ? { drift: values.drift } : {}),
    });
}

/** The files the configuration step writes, whose SHA-256 the drift read-back compares. */
export function configurationFiles(installPath: string, signingCertificate: boolean): string[] {
    return [
        windowsJoin(installPath, "appsettings.json"),
        windowsJoin(installPath, "web.config"),
        ...(signingCertificate ? [windowsJoin(installPath, SIGNING_CERTIFICATE_FILE)] : []),
    ];
}

// ---------------------------------------------------------------------------------------------------------------
// Resources

export interface IisServiceInputs {
    readonly settings: IisSettings;
    readonly profile: VersionProfile;
    /** The rendered service configuration (secret), with `X509CertificatePath` = `signingCertificatePath(...)`. */
    readonly configuration: pulumi.Output<Setting[]>;
    /** Base64 bytes of the signing PFX (secret), when one is given. */
    readonly signingCertificate?: pulumi.Output<string>;
    /** Every secret value of the configuration, to redact from error messages. */
    readonly secrets: pulumi.Input<string | undefined | readonly string[]>[];
    /** The site's environment variables, for web.config: the forwarded headers switch, then the user's. */
    readonly environment: pulumi.Output<Record<string, string>>;
    /** The URL handed to Creatio, when it differs from the server's URL: the issuer the gate expects. */
    readonly publicUrl?: pulumi.Input<string>;
    /** Changes whenever client re-seeding deleted rows: the configuration step then runs (and restarts the site) again. */
    readonly restartToken?: pulumi.Output<string>;
    /** The readiness gate, when enabled. */
    readonly readiness?: {
        readonly settings: ReadinessSettings;
        readonly clientId: pulumi.Input<string>;
        readonly clientSecret: pulumi.Input<string>;
    };
}

export interface IisService {
    readonly steps: Record<string, command.local.Command | command.remote.Command>;
    readonly configuration: command.local.Command | command.remote.Command;
    readonly gate?: command.local.Command | command.remote.Command;
    /** The URL Creatio (and the deploying machine) reach the service at. */
    readonly url: pulumi.Output<string>;
}

/** Where the signing PFX lands on the server, as `X509CertificatePath`. */
export function signingCertificatePath(settings: IisSettings): pulumi.Output<string> {
    return pulumi.output(settings.installPath).apply(path => windowsJoin(path, SIGNING_CERTIFICATE_FILE));
}

/** The service URL as Creatio reaches it. */
export function iisServiceUrl(settings: IisSettings): pulumi.Output<string> {
    return pulumi
        .all([settings.hostname, settings.port, settings.https?.port])
        .apply(([hostname, port, httpsPort]) => serviceUrl(hostname, port, httpsPort));
}

/** The URL the readiness check uses on the server itself. */
export function iisLocalUrl(settings: IisSettings): pulumi.Output<string> {
    return pulumi.all([settings.port, settings.https?.port]).apply(([port, httpsPort]) => serviceUrl("localhost", port, httpsPort));
}

/**
 * The gate's settings as the script reads them: the expected issuer only when it is not the URL the gate polls (the
 * script's default), so that a site Creatio reaches at localhost keeps the input it had before the issuer check.
 */
export function gateSettings(values: Readonly<Record<string, string>>): Record<string, string> {
    const { IDENTITY_SERVICE_PUBLIC_URL: publicUrl, ...rest } = values;
    return publicUrl === undefined || publicUrl === values.IDENTITY_SERVICE_URL ? rest : { ...rest, IDENTITY_SERVICE_PUBLIC_URL: publicUrl };
}

/** The server a connection reaches, `host:port` (host without case), not secret: what a step is replaced for. */
export function serverOf(connection: command.types.input.remote.ConnectionArgs): pulumi.Output<string> {
    return pulumi
        .all([connection.host, connection.port ?? 22])
        .apply(([host, port]) => `${String(host).toLowerCase()}:${port}`);
}

interface StepOptions {
    readonly create: StepScript;
    readonly delete?: StepScript;
    readonly stdin: pulumi.Input<string>;
    /** The stdin holds secrets: no logging, secret stdout and stderr. */
    readonly secret: boolean;
    readonly triggers?: pulumi.Input<pulumi.Input<unknown>[]>;
    readonly dependsOn: pulumi.Resource[];
    readonly deleteBeforeReplace?: boolean;
}

/**
 * One step: a remote command over SSH when there is a connection, else a local one that starts PowerShell itself
 * (no cmd.exe in between). Either way the command names the uploaded script file it runs (see commandScript).
 */
function createStep(
    resourceName: string,
    options: StepOptions,
    context: { settings: IisSettings; scriptsDir: pulumi.Output<string>; parent: pulumi.Resource },
): command.local.Command | command.remote.Command {
    const opts: pulumi.CustomResourceOptions = {
        parent: context.parent,
        dependsOn: options.dependsOn,
        deleteBeforeReplace: options.deleteBeforeReplace,
        // The engine reads this from the state of the step it deletes (pulumi/pulumi pkg/resource/deploy/step.go:630
        // @ v3.248.0), so it protects a server only from the run after the one that set it.
        retainOnDelete: context.settings.retainOnDelete || undefined,
        additionalSecretOutputs: options.secret ? ["stdout", "stderr"] : undefined,
    };
    const common = {
        stdin: options.secret ? pulumi.secret(options.stdin) : options.stdin,
        triggers: options.triggers,
        addPreviousOutputInEnv: false,
        logging: options.secret ? ("none" as const) : undefined,
    };
    const { connection } = context.settings;
    if (connection) {
        const line = (script: StepScript) => context.scriptsDir.apply(dir => remoteCommandLine(script, dir));
        const create = line(options.create);
        // Another server is another deployment: the step is replaced, so its delete runs on the old server (with the
        // connection kept in the state) and it runs anew on the new one. New credentials for the same server are an
        // update, which each step survives without changing anything there.
        // Extra triggers may be an Output that resolves to an array or to nothing (no restart token).
        const triggers = pulumi
            .all([serverOf(connection), pulumi.output(options.triggers ?? [])])
            .apply(([server, others]) => [server, ...(others ?? [])]);
        return new command.remote.Command(
            resourceName,
            { ...common, triggers, connection, create, update: create, delete: options.delete && line(options.delete) },
            opts,
        );
    }
    // The create and delete scripts of a step travel the same way (both uploaded, or both the uploader's own).
    const local = (script: StepScript) => context.scriptsDir.apply(dir => localCommand(script, dir));
    const create = local(options.create);
    return new command.local.Command(
        resourceName,
        {
            ...common,
            interpreter: create.interpreter,
            create: create.text,
            update: create.text,
            delete: options.delete && local(options.delete).text,
        },
        opts,
    );
}

/**
 * Creates the steps. `configurationDependsOn` orders the configuration step (which restarts the service) after work
 * that must precede every restart, such as client re-seeding.
 */
export function createIisService(
    name: string,
    inputs: IisServiceInputs,
    parent: pulumi.Resource,
    configurationDependsOn: pulumi.Resource[],
): IisService {
    const { settings, profile } = inputs;
    const installPath = pulumi.output(settings.installPath);
    const scriptsDir = installPath.apply(scriptsDirectory);
    const context = { settings, scriptsDir, parent };
    const files = uploadedFiles();
    const patcher = files[0];
    const identity = settings.appPoolIdentity;
    const https = settings.https;
    const signed = inputs.signingCertificate !== undefined;
    // With detection on, each of these steps gets the read-back's token of its part (see iisDrift.ts).
    const drift = settings.detectDrift ? driftTokens(settings, scriptsDir, signed, parent) : undefined;
    const mark = (part: keyof DriftTokens, extra: { files?: string[] } = {}) =>
        drift && pulumi.all([scriptsDir, drift]).apply(([dir, tokens]): DriftMark => ({ record: driftRecordPath(dir, part), token: tokens[part], ...extra }));

    // The scripts come first: every other step runs a file this one writes.
    const scripts = createStep(
        `${name}-iis-scripts`,
        {
            create: "scripts",
            delete: "delete-scripts",
            stdin: scriptsDir.apply(dir => scriptsInput(dir, files)),
            secret: false,
            // A new folder replaces the step, so the old folder is removed once everything moved over.
            triggers: [scriptsDir],
            dependsOn: [],
        },
        context,
    );

    // The signing PFX is loaded on the server before anything changes there: its input is then a secret.
    const prerequisites = createStep(
        `${name}-iis-prerequisites`,
        {
            create: "prerequisites",
            stdin: pulumi
                .all([settings.creatioPath, inputs.signingCertificate])
                .apply(([creatioPath, pfx]) => prerequisitesInput(profile, creatioPath, pfx)),
            secret: inputs.signingCertificate !== undefined,
            dependsOn: [scripts],
        },
        context,
    );

    const install = createStep(
        `${name}-iis-install`,
        {
            create: "install",
            delete: "delete-install",
            stdin: pulumi
                .all([settings.archivePath, installPath, settings.creatioPath, settings.appPoolName])
                .apply(([archivePath, path, creatioPath, appPoolName]) =>
                    installInput({ archivePath, installPath: path, creatioPath, appPoolName, creatioVersion: profile.text }),
                ),
            secret: false,
            // A new install folder is a new install: the old folder is removed (after everything moved over).
            triggers: [installPath],
            dependsOn: [prerequisites],
        },
        context,
    );

    const appPool = createStep(
        `${name}-iis-app-pool`,
        {
            create: "app-pool",
            delete: "delete-app-pool",
            stdin: pulumi
                .all([settings.appPoolName, settings.siteName, installPath, settings.loadUserProfile, identity?.username, identity?.password, mark("appPool")])
                .apply(([appPoolName, siteName, path, loadUserProfile, username, password, driftMark]) =>
                    appPoolInput({
                        appPoolName,
                        siteName,
                        installPath: path,
                        loadUserProfile,
                        identity: identity ? { username: username!, password: password! } : undefined,
                        drift: driftMark,
                    }),
                ),
            secret: identity !== undefined,
            // Another name is another pool: remove the old one first.
            triggers: [settings.appPoolName],
            deleteBeforeReplace: true,
            dependsOn: [install],
        },
        context,
    );

    const site = createStep(
        `${name}-iis-site`,
        {
            create: "site",
            delete: "delete-site",
            stdin: pulumi
                .all([settings.siteName, settings.appPoolName, installPath, settings.port, https?.port, https?.certificateThumbprint, mark("site")])
                .apply(([siteName, appPoolName, physicalPath, port, httpsPort, certificateThumbprint, driftMark]) =>
                    siteInput({
                        siteName,
                        appPoolName,
                        physicalPath,
                        port,
                        https: https ? { port: httpsPort!, certificateThumbprint: certificateThumbprint! } : undefined,
                        drift: driftMark,
                    }),
                ),
            secret: false,
            // Another name is another site: remove the old one (and free its ports) first.
            triggers: [settings.siteName],
            deleteBeforeReplace: true,
            dependsOn: [appPool],
        },
        context,
    );

    const configuration = createStep(
        `${name}-iis-configuration`,
        {
            create: "configure",
            stdin: pulumi
                .all([
                    pulumi.all([installPath, settings.siteName, settings.appPoolName, scriptsDir, identity?.username]),
                    pulumi.all([settings.stdoutLog.enabled, settings.stdoutLog.path, install.stdout, pulumi.all(inputs.secrets)]),
                    inputs.configuration,
                    inputs.signingCertificate,
                    inputs.restartToken,
                    inputs.environment,
                    installPath.apply(path => mark("configuration", { files: configurationFiles(path, signed) })),
                ])
                .apply(([[path, siteName, appPoolName, dir, username], [enabled, logPath, installed, secrets], configured, pfx, restart, environment, driftMark]) =>
                    configurationInput({
                        installPath: path,
                        siteName,
                        appPoolName,
                        patcherPath: windowsJoin(dir, patcher.name),
                        settings: configured,
                        stdoutLog: { enabled, path: logPath },
                        signingCertificate: pfx,
                        poolAccount: poolAccount(appPoolName, username),
                        installRevision: installed,
                        restartToken: restart,
                        environment,
                        secrets: secrets.flat().filter((secret): secret is string => typeof secret === "string"),
                        drift: driftMark,
                    }),
                ),
            secret: true,
            // Absent until re-seeding first deletes rows, so that turning re-seeding on changes nothing (an output
            // that resolves to undefined leaves the property unset, which the SDK's type does not express).
            triggers: inputs.restartToken?.apply(token => (token ? [token] : undefined)) as pulumi.Output<unknown[]> | undefined,
            dependsOn: [site, ...configurationDependsOn],
        },
        context,
    );

    const steps: Record<string, command.local.Command | command.remote.Command> = {
        prerequisites,
        scripts,
        install,
        "app-pool": appPool,
        site,
        configuration,
    };

    let gate: command.local.Command | command.remote.Command | undefined;
    if (inputs.readiness) {
        const { readiness } = inputs;
        // The gate polls localhost; the issuer it expects is the URL Creatio uses (publicUrl, else the server's URL).
        const environment = readinessEnvironment(
            {
                url: iisLocalUrl(settings),
                publicUrl: inputs.publicUrl ?? iisServiceUrl(settings),
                clientId: readiness.clientId,
                clientSecret: readiness.clientSecret,
                revision: "",
            },
            readiness.settings,
        );
        gate = createStep(
            `${name}-readiness`,
            {
            create: "readiness",
            stdin: pulumi
                .all([environment, readiness.clientSecret, settings.https?.certificateThumbprint])
                // The site's own certificate is trusted by its thumbprint, so a self-signed one passes too.
                .apply(([values, clientSecret, thumbprint]) =>
                    JSON.stringify({ ...gateSettings(values), clientSecret, ...(thumbprint === undefined ? {} : { certificateThumbprint: thumbprint }) }),
                ),
            secret: true,
            // The configuration step prints a new revision on every run: the check runs again after each restart.
            triggers: [configuration.stdout],
            dependsOn: [configuration],
            },
            context,
        );
        steps.readiness = gate;
    }

    return { steps, configuration, gate, url: iisServiceUrl(settings) };
}

/**
 * The read-back of `iis.detectDrift`, with what each step leaves on the server as the package expects it (the
 * configuration's files are compared with what its step recorded).
 */
function driftTokens(settings: IisSettings, scriptsDir: pulumi.Output<string>, signed: boolean, parent: pulumi.Resource): pulumi.Output<DriftTokens> {
    const https = settings.https;
    const input = pulumi
        .all([
            pulumi.all([scriptsDir, settings.installPath, settings.siteName, settings.appPoolName]),
            pulumi.all([settings.port, https?.port, https?.certificateThumbprint, settings.loadUserProfile, settings.appPoolIdentity?.username]),
        ])
        .apply(([[dir, installPath, siteName, appPoolName], [port, httpsPort, thumbprint, loadUserProfile, username]]) =>
            driftInput({
                scriptsDir: dir,
                siteName,
                site: expectedSiteState({
                    physicalPath: installPath,
                    appPoolName,
                    port,
                    https: https ? { port: httpsPort!, certificateThumbprint: thumbprint! } : undefined,
                }),
                appPoolName,
                appPool: expectedAppPoolState({ loadUserProfile, username: settings.appPoolIdentity ? username : undefined }),
                files: configurationFiles(installPath, signed),
            }),
        );
    return readDrift(input, settings.connection, parent);
}

/**
 * The IIS target behind the target interface: the steps over SSH (or local PowerShell), whose last one is the
 * configuration, and the readiness gate that runs on the server itself.
 */
export function planIis(settings: IisSettings): PlannedTarget {
    return {
        facts: { signingCertificatePath: signingCertificatePath(settings), servedOverHttps: settings.https !== undefined },
        claims: () => iisClaims(settings),
        deploy: (name, inputs, parent, dependsOn) => {
            const deployed = createIisService(
                name,
                {
                    settings,
                    profile: inputs.profile,
                    configuration: inputs.configuration,
                    signingCertificate: inputs.signingCertificate,
                    secrets: inputs.secrets,
                    environment: pulumi
                        .all([forwardedHeadersFor(inputs, iisServiceUrl(settings)), inputs.environment])
                        .apply(([forwarded, user]) => mergeEnvironment(forwardedHeadersEnvironment(forwarded), user)),
                    publicUrl: inputs.publicUrl,
                    readiness: inputs.readiness,
                    restartToken: inputs.restartToken,
                },
                parent,
                dependsOn,
            );
            return { url: deployed.url, gate: deployed.gate, service: deployed.configuration };
        },
    };
}
