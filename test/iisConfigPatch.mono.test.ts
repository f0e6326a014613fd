// The appsettings.json / web.config patch of the IIS configuration step, run for real on real files.
// src/scripts/iis/ConfigPatch.cs is the one implementation: configure.ps1 compiles it with Add-Type on the server
// (.NET Framework, C# 5); here Mono's compiler builds the very same file, held to C# 5 (-langversion:5), and the
// tests run it on files with a BOM, CRLF line endings, extra keys, missing keys and hostile values, twice.
// The patch itself comes from the same TypeScript the component uses (configurationInput).
import { strict as assert } from "assert";
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { DatabaseProvider, LogLevel } from "../src";
import { renderSettings } from "../src/configuration";
import { flattenSetting } from "../src/escapeHatches";
import { configurationInput } from "../src/targets/iis";
import { resolveVersion, VersionProfile } from "../src/versions";

const root = path.join(__dirname, "..");
const BOM = Buffer.from([0xef, 0xbb, 0xbf]);

function hasCommand(name: string): boolean {
    return spawnSync("sh", ["-c", `command -v ${name}`]).status === 0;
}

/** The patch the configuration step sends, built exactly as the component builds it. */
function patchFor(overrides: { connectionString?: string; clientSecret?: string; logLevel?: LogLevel } = {}): string {
    const profile = resolveVersion("8.3.1") as VersionProfile;
    const settings = renderSettings(profile, {
        provider: DatabaseProvider.MsSqlServer,
        connectionString: overrides.connectionString ?? "Server=sql;Database=creatio;User Id=ids;Password=P@ss\"w0rd\\;",
        client: { id: "ClientId-0123456789", name: "Creatio", secret: overrides.clientSecret ?? "S".repeat(32), accessTokenLifetimeSeconds: 3600, systemClient: profile.systemClient },
        signingCertificatePath: "C:\\Creatio\\IdentityService\\signing-certificate.pfx",
        logLevel: overrides.logLevel ?? LogLevel.Warning,
        servedOverHttps: false,
    });
    const input = configurationInput({
        installPath: "C:\\Creatio\\IdentityService",
        siteName: "s",
        appPoolName: "p",
        patcherPath: "C:\\x.cs",
        settings,
        stdoutLog: { enabled: false, path: ".\\logs\\stdout" },
        poolAccount: "IIS AppPool\\p",
        installRevision: "{}",
        secrets: [],
    });
    return JSON.parse(input).appSettings;
}

describe("IIS configuration patch on real files (ConfigPatch.cs under Mono)", function () {
    this.timeout(60000);
    let work: string;
    let exe: string;
    /** Stands for the upload folder, where configure.ps1 has the patcher write its temporary file. */
    let deploy: string;

    before(() => {
        if (!hasCommand("mcs") || !hasCommand("mono")) {
            throw new Error(
                "Mono is needed to run the configuration patcher on real files: apt-get install -y mono-mcs mono-runtime libmono-system-xml4.0-cil",
            );
        }
        work = fs.mkdtempSync(path.join(os.tmpdir(), "config-patch-"));
        exe = path.join(work, "config-patch.exe");
        deploy = path.join(work, "IdentityService.deploy");
        fs.mkdirSync(deploy);
        execFileSync("mcs", [
            "-langversion:5",
            "-warnaserror+",
            "-r:System.Xml",
            `-out:${exe}`,
            path.join(root, "src", "scripts", "iis", "ConfigPatch.cs"),
            path.join(root, "test", "support", "ConfigPatchCli.cs"),
        ]);
    });

    after(() => {
        if (work) {
            fs.rmSync(work, { recursive: true, force: true });
        }
    });

    function run(...args: string[]): { status: number; stdout: string; stderr: string } {
        const result = spawnSync("mono", [exe, ...args], { encoding: "utf8" });
        return { status: result.status ?? -1, stdout: result.stdout.trim(), stderr: result.stderr.trim() };
    }

    function patchAppSettings(file: string, patch: string) {
        const patchFile = `${file}.patch.json`;
        fs.writeFileSync(patchFile, patch);
        return run("appsettings", file, patchFile, path.join(deploy, "appsettings.json.tmp"));
    }

    function patchWebConfig(file: string, enabled: "true" | "false", logFile: string, environment?: Record<string, string>, previous?: string[]) {
        const extra: string[] = [];
        if (environment !== undefined || previous !== undefined) {
            extra.push(`${file}.environment.json`);
            fs.writeFileSync(extra[0], JSON.stringify(environment ?? {}));
        }
        if (previous !== undefined) {
            extra.push(`${file}.previous.json`);
            fs.writeFileSync(extra[1], JSON.stringify(previous));
        }
        return run("webconfig", file, enabled, path.join(deploy, "web.config.tmp"), logFile, ...extra);
    }

    let counter = 0;
    function file(name: string, content: Buffer | string): string {
        const target = path.join(work, `${counter++}-${name}`);
        fs.writeFileSync(target, content);
        return target;
    }

    describe("appsettings.json", () => {
        const shipped = [
            "{",
            '  "dbProvider": "MsSqlServer",',
            '  "DatabaseConnectionString": "",',
            '  "Logging": {',
            '    "LogLevel": {',
            '      "Default": "Information",',
            '      "Microsoft.AspNetCore": "Warning"',
            "    }",
            "  },",
            '  "AllowedHosts": "*",',
            '  "Limits": { "Max": 1.5e3, "Min": -0, "List": [1, true, null, "a\\u00e9\\"b"], "Empty": [], "None": {} },',
            '  "Path": "C:\\\\Sample\\\\openssl.pfx",',
            '  "Unicode": "\u00fc\u540d \\ud83d\\ude00"',
            "}",
            "",
        ].join("\r\n");

        it("strips the BOM, keeps CRLF, every other key and its place, sets the keys and adds the missing ones", () => {
            const target = file("appsettings.json", Buffer.concat([BOM, Buffer.from(shipped, "utf8")]));
            const patch = patchFor();
            assert.deepEqual(patchAppSettings(target, patch), { status: 0, stdout: "changed", stderr: "" });

            const bytes = fs.readFileSync(target);
            assert.notDeepEqual(bytes.subarray(0, 3), BOM, "written without a BOM");
            const text = bytes.toString("utf8");
            assert.ok(text.endsWith("}\r\n"), "keeps the final newline");
            assert.ok(!/[^\r]\n/.test(text), "CRLF line endings only");
            const result = JSON.parse(text);
            const expected = JSON.parse(patch);
            // Existing keys first, in the file's order and spelling (keys match case-insensitively), then new ones.
            assert.deepEqual(Object.keys(result), [
                "dbProvider",
                "DatabaseConnectionString",
                "Logging",
                "AllowedHosts",
                "Limits",
                "Path",
                "Unicode",
                "MsSqlConnection",
                "Clients",
                "X509CertificatePath",
                "ForceHttpsSchemeInRequests",
            ]);
            assert.equal(result.dbProvider, "MsSqlServer");
            assert.equal(result.DatabaseConnectionString, expected.DatabaseConnectionString);
            assert.equal(result.MsSqlConnection, expected.MsSqlConnection);
            assert.deepEqual(JSON.parse(result.Clients), JSON.parse(expected.Clients));
            assert.equal(result.X509CertificatePath, "C:\\Creatio\\IdentityService\\signing-certificate.pfx");
            assert.equal(result.ForceHttpsSchemeInRequests, false);
            assert.deepEqual(result.Logging, { LogLevel: { Default: "Warning", "Microsoft.AspNetCore": "Warning" } });
            assert.equal(result.AllowedHosts, "*");
            assert.deepEqual(result.Limits, { Max: 1.5e3, Min: -0, List: [1, true, null, 'a\u00e9"b'], Empty: [], None: {} });
            assert.ok(text.includes('"Max": 1.5e3'), "numbers are kept exactly as written");
            assert.equal(result.Path, "C:\\Sample\\openssl.pfx");
            assert.equal(result.Unicode, "\u00fc\u540d \ud83d\ude00");
        });

        it("writes a changed file through the temporary file it is given (in the upload folder), which does not stay", () => {
            const target = file("appsettings.json", shipped);
            assert.equal(patchAppSettings(target, patchFor({ connectionString: "Server=db;Password=Mono-Tmp-Secret-61;" })).stdout, "changed");
            assert.equal(JSON.parse(fs.readFileSync(target, "utf8")).DatabaseConnectionString, "Server=db;Password=Mono-Tmp-Secret-61;");
            assert.deepEqual(fs.readdirSync(deploy), [], "the temporary file was moved over the file");
            assert.deepEqual(fs.readdirSync(work).filter(name => name.endsWith(".tmp")), [], "nothing written next to the file");
        });

        it("is idempotent: a second run with the same patch leaves the file byte-identical and says unchanged", () => {
            const target = file("appsettings.json", Buffer.concat([BOM, Buffer.from(shipped, "utf8")]));
            const patch = patchFor();
            assert.equal(patchAppSettings(target, patch).stdout, "changed");
            const first = fs.readFileSync(target);
            const mtime = fs.statSync(target).mtimeMs;
            assert.deepEqual(patchAppSettings(target, patch), { status: 0, stdout: "unchanged", stderr: "" });
            assert.deepEqual(fs.readFileSync(target), first);
            assert.equal(fs.statSync(target).mtimeMs, mtime, "not even rewritten");
        });

        it("applies a changed patch over an already patched file, and only what changed", () => {
            const target = file("appsettings.json", shipped);
            patchAppSettings(target, patchFor());
            const before = JSON.parse(fs.readFileSync(target, "utf8"));
            assert.equal(patchAppSettings(target, patchFor({ logLevel: LogLevel.Debug, clientSecret: "T".repeat(32) })).stdout, "changed");
            const after = JSON.parse(fs.readFileSync(target, "utf8"));
            assert.equal(after.Logging.LogLevel.Default, "Debug");
            assert.equal(JSON.parse(after.Clients)[0].Secrets[0], "T".repeat(32));
            assert.deepEqual(Object.keys(after), Object.keys(before));
            assert.deepEqual({ ...after, Logging: 0, Clients: 0 }, { ...before, Logging: 0, Clients: 0 });
        });

        it("writes hostile values so that JSON readers get them back exactly", () => {
            const connectionString = "Server=db;Password='\"\\;$x`\n\t\u00fc\u2028\u0001;";
            const target = file("appsettings.json", '{"Kept": true}');
            assert.equal(patchAppSettings(target, patchFor({ connectionString })).stdout, "changed");
            const text = fs.readFileSync(target, "utf8");
            assert.ok(!text.endsWith("\n"), "no final newline where the file had none");
            const result = JSON.parse(text);
            assert.equal(result.DatabaseConnectionString, connectionString);
            assert.equal(result.Kept, true);
            assert.equal(patchAppSettings(target, patchFor({ connectionString })).stdout, "unchanged");
        });

        it("merges additionalSettings of any JSON value next to the package's keys, sections matched ignoring case", () => {
            const target = file("appsettings.json", shipped);
            const profile = resolveVersion("8.3.1") as VersionProfile;
            const extra = { Serilog: { Using: ["Console"], MinimumLevel: { Default: "Warning" } }, Limits: { Max: 10, Flag: null }, "logging:LogLevel:System": "Error" };
            const settings = renderSettings(profile, {
                provider: DatabaseProvider.MsSqlServer,
                connectionString: "Server=sql;Database=creatio;User Id=ids;Password=p;",
                client: { id: "ClientId-0123456789", name: "Creatio", secret: "S".repeat(32), accessTokenLifetimeSeconds: 3600, systemClient: profile.systemClient },
                logLevel: LogLevel.Warning,
                servedOverHttps: false,
                additionalSettings: Object.entries(extra).flatMap(([key, value]) => flattenSetting(key, value)),
            });
            const input = JSON.parse(configurationInput({
                installPath: "C:\\Creatio\\IdentityService", siteName: "s", appPoolName: "p", patcherPath: "C:\\x.cs", settings,
                stdoutLog: { enabled: false, path: ".\\logs\\stdout" }, poolAccount: "IIS AppPool\\p", installRevision: "{}", secrets: [],
            }));
            assert.equal(patchAppSettings(target, input.appSettings).stdout, "changed");
            const merged = JSON.parse(fs.readFileSync(target, "utf8"));
            assert.deepEqual(merged.Serilog, extra.Serilog);
            assert.deepEqual(merged.Limits, { Max: 10, Min: -0, List: [1, true, null, 'a\u00e9"b'], Empty: [], None: {}, Flag: null }, "merged into the file's section");
            assert.deepEqual(merged.Logging.LogLevel, { Default: "Warning", "Microsoft.AspNetCore": "Warning", System: "Error" });
            assert.equal(merged.dbProvider, "MsSqlServer", "the package's keys are there too, in the file's spelling");
            assert.equal(patchAppSettings(target, input.appSettings).stdout, "unchanged");
        });

        it("replaces a value of another kind (a string where the patch has a section, and the reverse)", () => {
            const target = file("appsettings.json", '{\n  "Logging": "off",\n  "Clients": { "old": 1 }\n}\n');
            patchAppSettings(target, patchFor());
            const result = JSON.parse(fs.readFileSync(target, "utf8"));
            assert.deepEqual(result.Logging, { LogLevel: { Default: "Warning" } });
            assert.equal(typeof result.Clients, "string");
        });

        it("refuses JSON with comments, invalid JSON and text that is not UTF-8, leaving the file as it was", () => {
            const cases: Array<[Buffer, RegExp]> = [
                [Buffer.from('{\n  // the provider\n  "DbProvider": "x"\n}'), /FormatException: appsettings\.json is not valid JSON at line 2, column 3: comments are not supported/],
                [Buffer.from('{"a": 1,}'), /not valid JSON at line 1, column 9: expected a property name/],
                [Buffer.from("[1, 2]"), /does not hold a JSON object/],
                [Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d]), /appsettings\.json is not UTF-8 text/],
            ];
            for (const [content, message] of cases) {
                const target = file("appsettings.json", content);
                const result = patchAppSettings(target, patchFor());
                assert.equal(result.status, 1);
                assert.match(result.stderr, message);
                assert.deepEqual(fs.readFileSync(target), content, "file untouched");
            }
        });
    });

    describe("web.config", () => {
        const shipped = [
            '<?xml version="1.0" encoding="utf-8"?>',
            "<configuration>",
            '  <location path="." inheritInChildApplications="false">',
            "    <system.webServer>",
            "      <handlers>",
            '        <add name="aspNetCore" path="*" verb="*" modules="AspNetCoreModuleV2" resourceType="Unspecified" />',
            "      </handlers>",
            '      <aspNetCore processPath="dotnet" arguments=".\\IdentityService.dll" stdoutLogEnabled="false" stdoutLogFile=".\\logs\\stdout" hostingModel="inprocess" />',
            "    </system.webServer>",
            "  </location>",
            "</configuration>",
            "<!--ProjectGuid: 6C5F1A8E-0000-0000-0000-000000000000-->",
            "",
        ].join("\r\n");

        it("sets stdoutLogEnabled and stdoutLogFile, keeps everything else byte for byte, strips the BOM", () => {
            const target = file("web.config", Buffer.concat([BOM, Buffer.from(shipped, "utf8")]));
            assert.deepEqual(patchWebConfig(target, "true", "D:\\Logs\\ids & \"co\" <1>\\stdout"), { status: 0, stdout: "changed", stderr: "" });
            const text = fs.readFileSync(target, "utf8");
            assert.equal(
                text,
                shipped.replace(
                    'stdoutLogEnabled="false" stdoutLogFile=".\\logs\\stdout"',
                    'stdoutLogEnabled="true" stdoutLogFile="D:\\Logs\\ids &amp; &quot;co&quot; &lt;1&gt;\\stdout"',
                ),
            );
        });

        it("is idempotent, and turning the log off keeps the file path", () => {
            const target = file("web.config", shipped);
            assert.equal(patchWebConfig(target, "true", ".\\logs\\stdout").stdout, "changed");
            const first = fs.readFileSync(target);
            assert.equal(patchWebConfig(target, "true", ".\\logs\\stdout").stdout, "unchanged");
            assert.deepEqual(fs.readFileSync(target), first);
            assert.equal(patchWebConfig(target, "false", ".\\logs\\stdout").stdout, "changed");
            assert.equal(fs.readFileSync(target, "utf8"), shipped);
        });

        it("patches a web.config without <location>, with LF line endings", () => {
            const plain = '<?xml version="1.0"?>\n<configuration>\n  <system.webServer>\n    <aspNetCore processPath="dotnet" />\n  </system.webServer>\n</configuration>\n';
            const target = file("web.config", plain);
            assert.equal(patchWebConfig(target, "true", ".\\logs\\stdout").stdout, "changed");
            assert.equal(
                fs.readFileSync(target, "utf8"),
                plain.replace('<aspNetCore processPath="dotnet" />', '<aspNetCore processPath="dotnet" stdoutLogEnabled="true" stdoutLogFile=".\\logs\\stdout" />'),
            );
        });

        it("adds the environment variables under <aspNetCore>, each on a line of its own, with the file's line endings", () => {
            const target = file("web.config", shipped);
            const environment = { TZ: "Europe/Berlin", Logging__LogLevel__Microsoft: 'a & "b" <c>' };
            assert.equal(patchWebConfig(target, "false", ".\\logs\\stdout", environment, []).stdout, "changed");
            const aspNetCore = '<aspNetCore processPath="dotnet" arguments=".\\IdentityService.dll" stdoutLogEnabled="false" stdoutLogFile=".\\logs\\stdout" hostingModel="inprocess"';
            assert.equal(
                fs.readFileSync(target, "utf8"),
                shipped.replace(
                    `${aspNetCore} />`,
                    `${aspNetCore}>\r\n        <environmentVariables>\r\n          <environmentVariable name="TZ" value="Europe/Berlin" />\r\n` +
                        '          <environmentVariable name="Logging__LogLevel__Microsoft" value="a &amp; &quot;b&quot; &lt;c&gt;" />\r\n' +
                        "        </environmentVariables>\r\n      </aspNetCore>",
                ),
            );
            assert.equal(patchWebConfig(target, "false", ".\\logs\\stdout", environment, Object.keys(environment)).stdout, "unchanged", "idempotent");
        });

        it("changes a value, removes a variable it set before, keeps one it did not set, and leaves the element alone without any", () => {
            const withOwn = shipped.replace(
                'hostingModel="inprocess" />',
                'hostingModel="inprocess">\r\n        <environmentVariables>\r\n          <environmentVariable name="ASPNETCORE_ENVIRONMENT" value="Production" />\r\n        </environmentVariables>\r\n      </aspNetCore>',
            );
            const target = file("web.config", withOwn);
            assert.equal(patchWebConfig(target, "false", ".\\logs\\stdout").stdout, "unchanged", "no variables now or before: untouched");
            assert.equal(patchWebConfig(target, "false", ".\\logs\\stdout", { TZ: "UTC", Extra: "1" }, []).stdout, "changed");
            assert.equal(patchWebConfig(target, "false", ".\\logs\\stdout", { tz: "Europe/Berlin" }, ["TZ", "Extra"]).stdout, "changed");
            const text = fs.readFileSync(target, "utf8");
            assert.match(text, /<environmentVariable name="ASPNETCORE_ENVIRONMENT" value="Production" \/>/, "not the package's: kept");
            assert.match(text, /<environmentVariable name="TZ" value="Europe\/Berlin" \/>/, "names match ignoring case; the file's spelling stays");
            assert.doesNotMatch(text, /Extra/, "set before, not now: removed");
            assert.equal(patchWebConfig(target, "false", ".\\logs\\stdout", {}, ["tz"]).stdout, "changed");
            assert.equal(fs.readFileSync(target, "utf8"), withOwn, "back to the file as shipped");
        });

        it("removes the element it added once its last variable goes", () => {
            const target = file("web.config", shipped);
            assert.equal(patchWebConfig(target, "false", ".\\logs\\stdout", { TZ: "UTC" }, []).stdout, "changed");
            assert.equal(patchWebConfig(target, "false", ".\\logs\\stdout", {}, ["TZ"]).stdout, "changed");
            const text = fs.readFileSync(target, "utf8");
            assert.doesNotMatch(text, /environmentVariable/);
            assert.match(text, /hostingModel="inprocess">\r\n +<\/aspNetCore>/);
        });

        it("refuses environment variables that are not strings, leaving the file as it was", () => {
            const target = file("web.config", shipped);
            fs.writeFileSync(`${target}.environment.json`, '{"PORT": 8080}');
            const result = run("webconfig", target, "false", path.join(deploy, "web.config.tmp"), "", `${target}.environment.json`);
            assert.equal(result.status, 1);
            assert.match(result.stderr, /the environment variable PORT is not a string/);
            assert.equal(fs.readFileSync(target, "utf8"), shipped);
        });

        it("refuses a web.config without <aspNetCore> or that is not XML, leaving it as it was", () => {
            for (const [content, message] of [
                ["<configuration><system.webServer /></configuration>", /has no <aspNetCore> element under <system\.webServer>/],
                ["<configuration>", /web\.config is not valid XML/],
            ] as const) {
                const target = file("web.config", content);
                const result = patchWebConfig(target, "true", ".\\logs\\stdout");
                assert.equal(result.status, 1);
                assert.match(result.stderr, message);
                assert.equal(fs.readFileSync(target, "utf8"), content);
            }
        });
    });
});
