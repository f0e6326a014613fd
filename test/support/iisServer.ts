/**
 * A stand-in Windows server with IIS for running the package's IIS steps in real PowerShell (pwsh from the project's
 * dotnet tool manifest, standing for powershell.exe). See test/fixtures/iis-server/README.md for what is emulated.
 * Each server is a folder: C:\ is `<root>/C`, IIS configuration is `<root>/config/applicationHost.config`, run-time
 * state (services, pool and site state, HTTP.sys certificate bindings) `<root>/runtime.xml`, file permission
 * changes `<root>/acl.json`, and the certificate store `<root>/certificates/<location>/<store>/`.
 */
import { ChildProcessWithoutNullStreams, execFileSync, spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

export const FIXTURE = path.join(__dirname, "..", "fixtures", "iis-server");
/** The stand-in cmd.exe, which OpenSSH for Windows runs every command through. */
export const CMD = path.join(FIXTURE, "bin", "cmd.exe");
const REPOSITORY = path.join(__dirname, "..", "..");

/** The Windows Server versions a server can be (test/fixtures/iis-server/windows-server.json). */
export type WindowsServerVersion = 2016 | 2019 | 2022 | 2025;

/** What a version of Windows Server has (test/fixtures/iis-server/windows-server.json, with its sources). */
export interface WindowsServerProfile {
    readonly productName: string;
    readonly build: number;
    readonly releaseId: string;
    readonly displayVersion: string | null;
    readonly powerShellVersion: string;
    readonly iisVersion: string;
    readonly openSshCapability: boolean;
    readonly pfxAesImport: boolean;
}

export const WINDOWS_SERVERS: Readonly<Record<WindowsServerVersion, WindowsServerProfile>> = JSON.parse(
    fs.readFileSync(path.join(__dirname, "..", "fixtures", "iis-server", "windows-server.json"), "utf8"),
).versions;

/** A registry value as the registry provider reads it. */
export type RegistryValue =
    | { readonly type: "REG_SZ" | "REG_EXPAND_SZ"; readonly value: string }
    | { readonly type: "REG_DWORD" | "REG_QWORD"; readonly value: number }
    | { readonly type: "REG_MULTI_SZ"; readonly value: readonly string[] }
    | { readonly type: "REG_BINARY"; readonly value: string };

/** Registry keys ("HKEY_LOCAL_MACHINE\\SOFTWARE\\...") and their values. */
export type RegistryKeys = Readonly<Record<string, Readonly<Record<string, RegistryValue>>>>;

/** A runtime as the dotnet muxer lists it. */
export interface Runtime {
    readonly name: string;
    readonly version: string;
}

export interface ServerLayout {
    /** W3SVC installed and running (IIS). Default true. */
    readonly iis?: boolean;
    /** The WebAdministration module on PSModulePath. Default true. */
    readonly webAdministration?: boolean;
    /** AspNetCoreModuleV2 in IIS's global modules, as the hosting bundle registers it. Default true. */
    readonly aspNetCoreModule?: boolean;
    /** %ProgramFiles%\dotnet\dotnet.exe and the runtimes it lists; null for no muxer. */
    readonly runtimes?: readonly Runtime[] | null;
    /** More environment for sessions, e.g. IIS_STANDIN_HOSTING=1 to start sites' applications. */
    readonly environment?: Readonly<Record<string, string>>;
    /** The Windows Server version (its build, PowerShell 5.1 build, IIS version and what follows). Default 2022. */
    readonly windowsServer?: WindowsServerVersion;
    /** The console's OEM code page (HKLM\\SYSTEM\\CurrentControlSet\\Control\\Nls\\CodePage OEMCP). Default 437. */
    readonly oemCodePage?: 437 | 850 | 852 | 866;
    /** ConstrainedLanguage: a system-wide lockdown policy (the machine's __PSLockdownPolicy=4). Default FullLanguage. */
    readonly languageMode?: "FullLanguage" | "ConstrainedLanguage";
    /** Group Policy "Turn on Module Logging" for these module names (event 4103 in events/4103.jsonl). */
    readonly moduleLogging?: readonly string[];
    /** OpenSSH's DefaultShell registry value (HKLM\\SOFTWARE\\OpenSSH). Default: none (cmd.exe). */
    readonly openSshDefaultShell?: string;
    /** More registry keys and values. */
    readonly registry?: RegistryKeys;
}

/** Shared, compiled once per test run. */
interface Toolchain {
    readonly pwsh: readonly string[];
    readonly bin: string;
}

let toolchain: Toolchain | undefined;

/** Finds pwsh (restoring the dotnet tool when needed) and compiles the stand-in assemblies once. */
export function prepareToolchain(): Toolchain {
    if (toolchain) {
        return toolchain;
    }
    execFileSync("dotnet", ["tool", "restore"], { cwd: REPOSITORY, stdio: "pipe" });
    const bin = fs.mkdtempSync(path.join(os.tmpdir(), "iis-standin-bin-"));
    const script = [
        "$ErrorActionPreference = 'Stop'",
        "[Console]::Out.WriteLine([System.Reflection.Assembly]::GetEntryAssembly().Location)",
        `Add-Type -Path '${path.join(FIXTURE, "Microsoft.Web.Administration.cs")}' -OutputAssembly '${path.join(bin, "Microsoft.Web.Administration.dll")}' ` +
            "-ReferencedAssemblies System.Private.Xml,System.Private.Xml.Linq,System.Xml.Linq,System.Xml.ReaderWriter,System.Net.Primitives," +
            "System.Collections,System.Linq,System.Runtime.InteropServices,System.Console,System.Runtime,System.Private.CoreLib,netstandard," +
            "System.Diagnostics.Process,System.ComponentModel.Primitives,System.Text.RegularExpressions,System.Collections.Specialized",
        `Add-Type -Path '${path.join(FIXTURE, "StandIn.Machine.cs")}' -OutputAssembly '${path.join(bin, "StandIn.Machine.dll")}'`,
    ].join("\n");
    const pwshDll = execFileSync("dotnet", ["tool", "run", "pwsh", "-NoProfile", "-NonInteractive", "-Command", script], {
        cwd: REPOSITORY,
        encoding: "utf8",
    }).trim();
    toolchain = { pwsh: ["dotnet", pwshDll], bin };
    return toolchain;
}

export interface RunResult {
    readonly code: number;
    readonly stdout: string;
    readonly stderr: string;
}

/** Writes `stdin` to a started process and collects its output until it ends. */
export function runToEnd(child: ChildProcessWithoutNullStreams, stdin: string): Promise<RunResult> {
    return new Promise((resolve, reject) => {
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", chunk => (stdout += chunk));
        child.stderr.on("data", chunk => (stderr += chunk));
        child.on("error", reject);
        child.on("close", code => resolve({ code: code ?? -1, stdout, stderr }));
        child.stdin.end(stdin);
    });
}

const GLOBAL_MODULES = [
    ["HttpLoggingModule", "%windir%\\System32\\inetsrv\\loghttp.dll"],
    ["UriCacheModule", "%windir%\\System32\\inetsrv\\cachuri.dll"],
    ["StaticFileModule", "%windir%\\System32\\inetsrv\\static.dll"],
    ["ProtocolSupportModule", "%windir%\\System32\\inetsrv\\protsup.dll"],
];

function applicationHostConfig(layout: ServerLayout): string {
    const modules = [...GLOBAL_MODULES];
    if (layout.aspNetCoreModule ?? true) {
        modules.push(["AspNetCoreModuleV2", "%ProgramFiles%\\IIS\\Asp.Net Core Module\\V2\\aspnetcorev2.dll"]);
    }
    return `<?xml version="1.0" encoding="UTF-8"?>
<configuration>
    <system.applicationHost>
        <applicationPools>
            <add name="DefaultAppPool" />
            <add name="Creatio" managedRuntimeVersion="v4.0" />
            <applicationPoolDefaults managedRuntimeVersion="v4.0">
                <processModel identityType="ApplicationPoolIdentity" />
            </applicationPoolDefaults>
        </applicationPools>
        <sites>
            <site name="Default Web Site" id="1">
                <application path="/">
                    <virtualDirectory path="/" physicalPath="%SystemDrive%\\inetpub\\wwwroot" />
                </application>
                <bindings>
                    <binding protocol="http" bindingInformation="*:80:" />
                    <binding protocol="net.tcp" bindingInformation="808:*" />
                    <binding protocol="net.pipe" bindingInformation="*" />
                    <binding protocol="net.msmq" bindingInformation="localhost" />
                </bindings>
            </site>
            <site name="Creatio" id="2">
                <application path="/" applicationPool="Creatio">
                    <virtualDirectory path="/" physicalPath="C:\\Creatio" />
                </application>
                <bindings>
                    <binding protocol="http" bindingInformation="*:8080:" />
                </bindings>
            </site>
            <siteDefaults>
                <logFile logFormat="W3C" directory="%SystemDrive%\\inetpub\\logs\\LogFiles" />
            </siteDefaults>
            <applicationDefaults applicationPool="DefaultAppPool" />
        </sites>
    </system.applicationHost>
    <system.webServer>
        <globalModules>
${modules.map(([name, image]) => `            <add name="${name}" image="${image}" />`).join("\n")}
        </globalModules>
    </system.webServer>
</configuration>
`;
}

function runtimeXml(layout: ServerLayout): string {
    const services = (layout.iis ?? true)
        ? '    <service name="W3SVC" status="Running" startType="Automatic" />\n    <service name="WAS" status="Running" startType="Manual" />\n'
        : "";
    return `<?xml version="1.0" encoding="utf-8"?>
<runtime>
${services}    <pool name="DefaultAppPool" state="Started" />
    <pool name="Creatio" state="Started" />
    <site name="Default Web Site" state="Started" />
    <site name="Creatio" state="Started" />
</runtime>
`;
}

/** The server's Windows version profile. */
export function windowsServer(layout: ServerLayout): WindowsServerProfile {
    return WINDOWS_SERVERS[layout.windowsServer ?? 2022];
}

/** IIS's schema as a server of that IIS version ships it: the attributes added later are not in it. */
export function iisSchema(iisVersion: string): string {
    const newer = (since: string) => since.split(".").map(Number).reduce((a, b) => a * 100 + b, 0) > iisVersion.split(".").map(Number).reduce((a, b) => a * 100 + b, 0);
    return fs
        .readFileSync(path.join(FIXTURE, "IIS_schema.xml"), "utf8")
        .replace(/^\s*<attribute [^>]*since="([\d.]+)"[^>]*\/>\n/gm, (line, since: string) => (newer(since) ? "" : line));
}

/** The registry a server of this layout has: Windows, PowerShell, IIS, .NET and the policies the layout sets. */
export function registryKeys(layout: ServerLayout): RegistryKeys {
    const windows = windowsServer(layout);
    const hklm = "HKEY_LOCAL_MACHINE";
    const [iisMajor, iisMinor] = windows.iisVersion.split(".").map(Number);
    const keys: Record<string, Record<string, RegistryValue>> = {
        [`${hklm}\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion`]: {
            ProductName: { type: "REG_SZ", value: windows.productName },
            CurrentBuild: { type: "REG_SZ", value: String(windows.build) },
            CurrentBuildNumber: { type: "REG_SZ", value: String(windows.build) },
            CurrentMajorVersionNumber: { type: "REG_DWORD", value: 10 },
            CurrentMinorVersionNumber: { type: "REG_DWORD", value: 0 },
            CurrentVersion: { type: "REG_SZ", value: "6.3" },
            ReleaseId: { type: "REG_SZ", value: windows.releaseId },
            ...(windows.displayVersion ? { DisplayVersion: { type: "REG_SZ", value: windows.displayVersion } as RegistryValue } : {}),
            EditionID: { type: "REG_SZ", value: "ServerDatacenter" },
            InstallationType: { type: "REG_SZ", value: "Server" },
        },
        [`${hklm}\\SOFTWARE\\Microsoft\\PowerShell\\3\\PowerShellEngine`]: {
            PowerShellVersion: { type: "REG_SZ", value: windows.powerShellVersion },
            PSCompatibleVersion: { type: "REG_SZ", value: "1.0, 2.0, 3.0, 4.0, 5.0, 5.1" },
            RuntimeVersion: { type: "REG_SZ", value: "v4.0.30319" },
            ApplicationBase: { type: "REG_SZ", value: "C:\\Windows\\System32\\WindowsPowerShell\\v1.0" },
        },
        [`${hklm}\\SYSTEM\\CurrentControlSet\\Control\\Nls\\CodePage`]: {
            OEMCP: { type: "REG_SZ", value: String(layout.oemCodePage ?? 437) },
            ACP: { type: "REG_SZ", value: "1252" },
        },
        [`${hklm}\\SYSTEM\\CurrentControlSet\\Control\\Session Manager\\Environment`]: {
            ComSpec: { type: "REG_EXPAND_SZ", value: "%SystemRoot%\\system32\\cmd.exe" },
            ...(layout.languageMode === "ConstrainedLanguage" ? { __PSLockdownPolicy: { type: "REG_SZ", value: "4" } as RegistryValue } : {}),
        },
    };
    if (layout.iis ?? true) {
        keys[`${hklm}\\SOFTWARE\\Microsoft\\InetStp`] = {
            MajorVersion: { type: "REG_DWORD", value: iisMajor },
            MinorVersion: { type: "REG_DWORD", value: iisMinor },
            SetupString: { type: "REG_SZ", value: `IIS ${windows.iisVersion}` },
            VersionString: { type: "REG_SZ", value: `Version ${windows.iisVersion}` },
            InstallPath: { type: "REG_EXPAND_SZ", value: "C:\\Windows\\system32\\inetsrv" },
            PathWWWRoot: { type: "REG_EXPAND_SZ", value: "%SystemDrive%\\inetpub\\wwwroot" },
        };
    }
    for (const runtime of layout.runtimes === null ? [] : (layout.runtimes ?? NET8_RUNTIMES)) {
        const key = `${hklm}\\SOFTWARE\\WOW6432Node\\dotnet\\Setup\\InstalledVersions\\x64\\sharedfx\\${runtime.name}`;
        keys[key] = { ...keys[key], [runtime.version]: { type: "REG_DWORD", value: 1 } };
    }
    if (layout.openSshDefaultShell !== undefined) {
        keys[`${hklm}\\SOFTWARE\\OpenSSH`] = { DefaultShell: { type: "REG_SZ", value: layout.openSshDefaultShell } };
    }
    if (layout.moduleLogging !== undefined) {
        const policy = `${hklm}\\SOFTWARE\\Policies\\Microsoft\\Windows\\PowerShell\\ModuleLogging`;
        keys[policy] = { EnableModuleLogging: { type: "REG_DWORD", value: 1 } };
        keys[`${policy}\\ModuleNames`] = Object.fromEntries(layout.moduleLogging.map(name => [name, { type: "REG_SZ", value: name } as RegistryValue]));
    }
    for (const [key, values] of Object.entries(layout.registry ?? {})) {
        keys[key] = { ...keys[key], ...values };
    }
    return keys;
}

const xmlText = (text: string) => text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

/** registry.xml: nested keys with their values, as the stand-in registry provider reads them. */
export function registryXml(keys: RegistryKeys): string {
    interface Node { readonly keys: Map<string, Node>; readonly values: [string, RegistryValue][] }
    const root: Node = { keys: new Map(), values: [] };
    for (const [keyPath, values] of Object.entries(keys)) {
        let node = root;
        for (const part of keyPath.split("\\")) {
            const existing = [...node.keys.entries()].find(([name]) => name.toLowerCase() === part.toLowerCase());
            node = existing ? existing[1] : node.keys.set(part, { keys: new Map(), values: [] }).get(part)!;
        }
        node.values.push(...Object.entries(values));
    }
    const write = (node: Node, indent: string): string =>
        [
            ...node.values.map(([name, value]) =>
                value.type === "REG_MULTI_SZ"
                    ? `${indent}<value name="${xmlText(name)}" type="REG_MULTI_SZ">${value.value.map(item => `<string>${xmlText(item)}</string>`).join("")}</value>\n`
                    : `${indent}<value name="${xmlText(name)}" type="${value.type}">${xmlText(String(value.value))}</value>\n`,
            ),
            ...[...node.keys.entries()].map(([name, child]) => `${indent}<key name="${xmlText(name)}">\n${write(child, indent + "  ")}${indent}</key>\n`),
        ].join("");
    return `<?xml version="1.0" encoding="utf-8"?>\n<registry>\n${write(root, "  ")}</registry>\n`;
}

/** The runtimes the hosting bundle of Creatio 8.2.x (ASP.NET Core 8) installs. */
export const NET8_RUNTIMES: Runtime[] = [
    { name: "Microsoft.AspNetCore.App", version: "8.0.11" },
    { name: "Microsoft.NETCore.App", version: "8.0.11" },
];

export class IisServer {
    readonly root: string;
    private readonly chain: Toolchain;

    constructor(readonly layout: ServerLayout = {}, copyOf?: IisServer) {
        this.chain = prepareToolchain();
        this.root = fs.mkdtempSync(path.join(os.tmpdir(), "iis-standin-server-"));
        if (copyOf) {
            // Nothing in a server's files names its folder on this machine: a copy is the same server.
            fs.cpSync(copyOf.root, this.root, { recursive: true, preserveTimestamps: true });
            return;
        }
        fs.mkdirSync(path.join(this.root, "config", "schema"), { recursive: true });
        fs.writeFileSync(path.join(this.root, "config", "applicationHost.config"), applicationHostConfig(layout));
        fs.writeFileSync(path.join(this.root, "config", "schema", "IIS_schema.xml"), iisSchema(windowsServer(layout).iisVersion));
        fs.writeFileSync(path.join(this.root, "registry.xml"), registryXml(registryKeys(layout)));
        fs.writeFileSync(path.join(this.root, "runtime.xml"), runtimeXml(layout));
        fs.writeFileSync(path.join(this.root, "layout.json"), JSON.stringify({ runtimes: layout.runtimes ?? NET8_RUNTIMES }));
        for (const folder of ["Creatio", "Windows\\System32\\inetsrv", "inetpub\\wwwroot", "Packages"]) {
            fs.mkdirSync(this.hostPath(`C:\\${folder}`), { recursive: true });
        }
        if (layout.runtimes !== null) {
            const muxer = this.hostPath("C:\\Program Files\\dotnet\\dotnet.exe");
            fs.mkdirSync(path.dirname(muxer), { recursive: true });
            fs.copyFileSync(path.join(FIXTURE, "dotnet.exe"), muxer);
            fs.chmodSync(muxer, 0o755);
        }
        fs.mkdirSync(path.join(this.root, "certificates", "LocalMachine", "My"), { recursive: true });
        fs.mkdirSync(path.join(this.root, "certificates", "LocalMachine", "WebHosting"), { recursive: true });
    }

    /** Where a Windows path of this server lives on this machine (C:\ only). */
    hostPath(windowsPath: string): string {
        const match = /^[Cc]:[\\/]?(.*)$/.exec(windowsPath);
        if (!match) {
            throw new Error(`not a path on the stand-in C: drive: ${windowsPath}`);
        }
        return path.join(this.root, "C", ...match[1].split(/[\\/]+/).filter(part => part !== ""));
    }

    /** The environment a session on this server gets. */
    environment(): NodeJS.ProcessEnv {
        const modules = this.layout.webAdministration ?? true ? path.join(FIXTURE, "Modules") : "";
        return {
            PATH: `${path.join(FIXTURE, "bin")}${path.delimiter}${process.env.PATH}`,
            HOME: process.env.HOME,
            IIS_STANDIN_ROOT: this.root,
            IIS_STANDIN_BIN: this.chain.bin,
            IIS_STANDIN_PWSH: this.chain.pwsh.join(path.delimiter),
            PSModulePath: modules,
            windir: "C:\\Windows",
            SystemDrive: "C:",
            SystemRoot: "C:\\Windows",
            ProgramFiles: "C:\\Program Files",
            COMPUTERNAME: "IIS-STANDIN",
            DOTNET_CLI_TELEMETRY_OPTOUT: "1",
            DOTNET_NOLOGO: "1",
            POWERSHELL_TELEMETRY_OPTOUT: "1",
            POWERSHELL_UPDATECHECK: "Off",
            ...this.layout.environment,
        };
    }

    /** Runs a local command as `@pulumi/command` does: the interpreter's argv with the create text appended. */
    runLocal(interpreter: readonly string[], text: string, stdin: string): RunResult {
        const [file, ...args] = interpreter;
        return this.finish(spawnSync(file, [...args, text], { input: stdin, env: this.environment(), encoding: "utf8", cwd: this.root }));
    }

    /** As `runLocal`, without blocking this process (for tests that serve HTTP to the step themselves). */
    runLocalAsync(interpreter: readonly string[], text: string, stdin: string): Promise<RunResult> {
        const [file, ...args] = interpreter;
        return runToEnd(spawn(file, [...args, text], { env: this.environment(), cwd: this.root }), stdin);
    }

    /**
     * Runs a remote command line as OpenSSH for Windows hands it to cmd.exe: `cmd.exe /c "<line>"`, through the
     * stand-in cmd.exe (test/fixtures/iis-server/cmd.js). `delayedExpansion` stands for the DelayedExpansion registry
     * value that turns `!NAME!` expansion on for every cmd.exe.
     */
    runLine(line: string, stdin: string, { delayedExpansion = false } = {}): RunResult {
        const env = { ...this.environment(), ...(delayedExpansion ? { IIS_STANDIN_CMD_DELAYED_EXPANSION: "1" } : {}) };
        return this.finish(spawnSync(CMD, ["/c", `"${line}"`], { input: stdin, env, encoding: "utf8", cwd: this.root }));
    }

    private finish(result: ReturnType<typeof spawnSync>): RunResult {
        if (result.error) {
            throw result.error;
        }
        return { code: result.status ?? -1, stdout: String(result.stdout), stderr: String(result.stderr) };
    }

    config(): string {
        return fs.readFileSync(path.join(this.root, "config", "applicationHost.config"), "utf8");
    }

    runtime(): string {
        return fs.readFileSync(path.join(this.root, "runtime.xml"), "utf8");
    }

    /** Edits the run-time state, e.g. to hold a pool in "Starting" for some reads. */
    editRuntime(edit: (xml: string) => string): void {
        fs.writeFileSync(path.join(this.root, "runtime.xml"), edit(this.runtime()));
    }

    acl(): Record<string, { path: string; inherited: boolean; owner?: string; grants: { account: string; inheritance: string; rights: string }[] }> {
        const file = path.join(this.root, "acl.json");
        return fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, "utf8")) : {};
    }

    /** Adds a certificate (a PFX with a private key, or a CER without) to LocalMachine\<store>. */
    addCertificate(store: "My" | "WebHosting", fileName: string, bytes: Buffer): void {
        fs.writeFileSync(path.join(this.root, "certificates", "LocalMachine", store, fileName), bytes);
    }

    /** An identical server in a folder of its own (to start several tests from one deployed state). */
    copy(): IisServer {
        return new IisServer(this.layout, this);
    }

    dispose(): void {
        fs.rmSync(this.root, { recursive: true, force: true });
    }
}

/** Runs a PowerShell snippet with pwsh directly (test setup, not a step). */
export function pwsh(script: string, env: NodeJS.ProcessEnv = process.env): string {
    const chain = prepareToolchain();
    const [file, ...args] = chain.pwsh;
    return execFileSync(file, [...args, "-NoProfile", "-NonInteractive", "-Command", script], { env, encoding: "utf8" });
}
