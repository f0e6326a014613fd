// The stand-in IIS and Windows server (test/fixtures/iis-server) checked against the rules of the real parts it stands
// for, each cited in the fixture's README.md conformance table: the public surface of Microsoft.Web.Administration, the
// applicationHost.config schema, HTTP.sys, the registry provider, Windows PowerShell 5.1 where PowerShell 7 differs,
// Windows Server versions and module logging. These tests check the double, not the package.
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as http from "http";
import * as os from "os";
import * as path from "path";
import { FIXTURE, iisSchema, IisServer, prepareToolchain, pwsh, ServerLayout } from "./support/iisServer";
import { MemberList, StandInSurface, surfaceViolations } from "./support/mwaSurface";

const MEMBERS: MemberList = JSON.parse(fs.readFileSync(path.join(FIXTURE, "mwa-members.json"), "utf8"));
const POWERSHELL = ["powershell.exe", "-NoProfile", "-NonInteractive", "-Command"];

/** Runs a command on a server as powershell.exe -Command, with stdout as the bytes the caller receives. */
function run(server: IisServer, script: string): { code: number; stdout: Buffer; text: string; stderr: string } {
    const [file, ...args] = POWERSHELL;
    const result = spawnSync(file, [...args, script], { env: server.environment(), cwd: server.root });
    if (result.error) {
        throw result.error;
    }
    return { code: result.status ?? -1, stdout: result.stdout, text: result.stdout.toString("latin1"), stderr: result.stderr.toString("utf8") };
}

/** As run, failing the test when the command fails; its output lines (CR LF or LF). */
function lines(server: IisServer, script: string): string[] {
    const result = run(server, script);
    assert.equal(result.code, 0, `${result.stderr}\n${result.text}`);
    return result.stdout.toString("utf8").split(/\r?\n/).filter(line => line !== "");
}

const servers: IisServer[] = [];
function server(layout: ServerLayout = {}): IisServer {
    const created = new IisServer(layout);
    servers.push(created);
    return created;
}

describe("stand-in IIS and Windows server (test double)", function () {
    this.timeout(300000);

    before(() => prepareToolchain());
    after(() => servers.forEach(s => s.dispose()));

    describe("Microsoft.Web.Administration's public surface", () => {
        let surface: StandInSurface;
        before(() => {
            const dll = path.join(prepareToolchain().bin, "Microsoft.Web.Administration.dll");
            surface = JSON.parse(pwsh(fs.readFileSync(path.join(__dirname, "support", "mwaSurface.ps1"), "utf8").replace("__ASSEMBLY__", dll.replace(/'/g, "''"))));
        });

        it("has no public class, base, constructor, property, method, overload or enum value the real API lacks", () => {
            assert.ok(surface.types.length >= 20, `only ${surface.types.length} public types reflected`);
            assert.deepEqual(surfaceViolations(surface, MEMBERS), []);
        });

        it("has no ApplicationPoolProcessModel.SetProfileEnvironment (no real version has it)", () => {
            const processModel = surface.types.find(t => t.name === "ApplicationPoolProcessModel");
            assert.ok(processModel);
            assert.ok(!processModel.properties.some(p => p.name === "SetProfileEnvironment"));
            assert.ok(MEMBERS.classes.ApplicationPoolProcessModel.not_in_api?.includes("SetProfileEnvironment"));
        });

        it("the check fails on an invented member, a wrong base, a wrong overload and a public constructor", () => {
            const processModel = surface.types.find(t => t.name === "ApplicationPoolProcessModel")!;
            const invented: StandInSurface = {
                types: surface.types.map(t =>
                    t === processModel ? { ...t, properties: [...t.properties, { name: "SetProfileEnvironment", parameters: [] }], constructors: [[]] } : t,
                ),
            };
            const bindings = surface.types.find(t => t.name === "BindingCollection")!;
            const wrong: StandInSurface = {
                types: surface.types.map(t =>
                    t === bindings ? { ...t, base: "ConfigurationElement", methods: [...t.methods, { name: "Add", parameters: ["String"] }] } : t,
                ),
            };
            assert.deepEqual(surfaceViolations(invented, MEMBERS), [
                "ApplicationPoolProcessModel: property SetProfileEnvironment is not a member of the real class (named as not in the API)",
                "ApplicationPoolProcessModel: public constructor () is not one of the real class's (none)",
            ]);
            assert.deepEqual(surfaceViolations(wrong, MEMBERS), [
                "BindingCollection: Add(String) is not an overload of the real class (Binding | String, String | String, Byte[], String | String, Byte[], String, SslFlags)",
                "BindingCollection: base ConfigurationElement, the real class's is ConfigurationElementCollectionBase<Binding>",
            ]);
        });
    });

    describe("applicationHost.config attributes, as ConfigurationElement reads and writes them", () => {
        it("types values by the schema, sets setProfileEnvironment only weakly typed, and fails an unknown attribute with 0x80070585", () => {
            const out = lines(server(), `
                Import-Module WebAdministration
                $manager = New-Object Microsoft.Web.Administration.ServerManager
                $pool = $manager.ApplicationPools['DefaultAppPool']
                $pool.AutoStart.GetType().Name; $pool.QueueLength.GetType().Name; $pool.ProcessModel.GetAttributeValue('identityType').GetType().Name
                $pool.ProcessModel['setProfileEnvironment'].GetType().Name + '=' + $pool.ProcessModel['setProfileEnvironment']
                $pool.ProcessModel.SetAttributeValue('setProfileEnvironment', $false)
                try { $pool.ProcessModel.SetProfileEnvironment = $true } catch { 'typed: ' + $_.Exception.Message }
                try { $pool.ProcessModel.GetAttributeValue('setProfileEnviroment') } catch { $e = $_.Exception.InnerException; 'unknown: ' + $e.GetType().FullName + ' ' + ('{0:X8}' -f $e.HResult) + ' ' + $e.Message }
                try { $pool.SetAttributeValue('noSuchAttribute', 1) } catch { 'set unknown: ' + ('{0:X8}' -f $_.Exception.InnerException.HResult) }
                $manager.CommitChanges()
                $again = New-Object Microsoft.Web.Administration.ServerManager
                'after commit: ' + $again.ApplicationPools['DefaultAppPool'].ProcessModel.GetAttributeValue('setProfileEnvironment')
                try { $pool.AutoStart = $false } catch { 'read only: ' + $_.Exception.InnerException.GetType().Name }
            `);
            assert.deepEqual(out, [
                "Boolean",
                "Int64",
                "Int32",
                "Boolean=True",
                "typed: The property 'SetProfileEnvironment' cannot be found on this object. Verify that the property exists and can be set.",
                "unknown: System.Runtime.InteropServices.COMException 80070585 Invalid index. (Exception from HRESULT: 0x80070585)",
                "set unknown: 80070585",
                "after commit: False",
                "read only: InvalidOperationException",
            ]);
        });

        it("ships the schema of the server's IIS version: setProfileEnvironment from IIS 8.0, idleTimeoutAction from 8.5", () => {
            const has = (schema: string, attribute: string) => new RegExp(`<attribute name="${attribute}"`).test(schema);
            assert.ok(has(iisSchema("10.0"), "setProfileEnvironment") && has(iisSchema("10.0"), "idleTimeoutAction"));
            assert.ok(has(iisSchema("8.0"), "setProfileEnvironment") && !has(iisSchema("8.0"), "idleTimeoutAction"));
            assert.ok(!has(iisSchema("7.5"), "setProfileEnvironment") && has(iisSchema("7.5"), "logonType"));
            const site = server({ windowsServer: 2016 });
            assert.match(fs.readFileSync(path.join(site.root, "config", "schema", "IIS_schema.xml"), "utf8"), /name="setProfileEnvironment"/);
        });

        it("new sites get the real API's id from the name's hash, or the lowest free id with IncrementalSiteIDCreation", () => {
            const [hashed] = lines(server(), `Import-Module WebAdministration; $m = New-Object Microsoft.Web.Administration.ServerManager; $m.Sites.Add('IdentityService', 'http', '*:8090:', 'C:\\Ids').Id`);
            assert.notEqual(hashed, "3");
            assert.ok(Number(hashed) > 2);
            const incremental = server({ registry: { "HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\InetMgr\\Parameters": { IncrementalSiteIDCreation: { type: "REG_DWORD", value: 1 } } } });
            assert.deepEqual(lines(incremental, `Import-Module WebAdministration; $m = New-Object Microsoft.Web.Administration.ServerManager; $m.Sites.Add('IdentityService', 'http', '*:8090:', 'C:\\Ids').Id`), ["3"]);
        });
    });

    describe("HTTP.sys certificate bindings", () => {
        it("keeps an https binding's certificate in HTTP.sys only, reads it back from there, and removes it with the binding", () => {
            const site = server();
            const out = lines(site, `
                Import-Module WebAdministration
                $manager = New-Object Microsoft.Web.Administration.ServerManager
                $binding = $manager.Sites['Creatio'].Bindings.Add('*:8443:', [byte[]](0xAB, 0xCD, 0xEF), 'WebHosting')
                $manager.CommitChanges()
                $fresh = New-Object Microsoft.Web.Administration.ServerManager
                $read = $fresh.Sites['Creatio'].Bindings | Where-Object Protocol -eq 'https'
                [BitConverter]::ToString($read.CertificateHash) + ' ' + $read.CertificateStoreName + ' ' + $read.GetAttributeValue('certificateHash')
            `);
            assert.deepEqual(out, ["AB-CD-EF WebHosting ABCDEF"]);
            assert.doesNotMatch(site.config(), /certificateHash|certificateStoreName|ABCDEF/);
            assert.match(site.config(), /<binding bindingInformation="\*:8443:" protocol="https" \/>/);
            assert.match(site.runtime(), /<sslcert endpoint="0\.0\.0\.0:8443" hash="ABCDEF" store="WebHosting" \/>/);
            lines(site, `
                Import-Module WebAdministration
                $manager = New-Object Microsoft.Web.Administration.ServerManager
                $bindings = $manager.Sites['Creatio'].Bindings
                $bindings.Remove(($bindings | Where-Object Protocol -eq 'https'))
                $manager.CommitChanges()
            `);
            assert.doesNotMatch(site.runtime(), /sslcert/);
        });
    });

    describe("worker processes", () => {
        it("reads WorkerProcesses once per object: the same ServerManager keeps its count, a fresh one sees the change", () => {
            const out = lines(server(), `
                Import-Module WebAdministration
                $manager = New-Object Microsoft.Web.Administration.ServerManager
                $pool = $manager.ApplicationPools['Creatio']
                'before: ' + $pool.WorkerProcesses.Count + ' ' + ($pool.WorkerProcesses | ForEach-Object { $_.State })
                $null = $pool.Stop()
                'same object: ' + $manager.ApplicationPools['Creatio'].WorkerProcesses.Count
                'fresh: ' + (New-Object Microsoft.Web.Administration.ServerManager).ApplicationPools['Creatio'].WorkerProcesses.Count
            `);
            assert.deepEqual(out, ["before: 1 Running", "same object: 1", "fresh: 0"]);
        });
    });

    describe("the ASP.NET Core Module (IIS_STANDIN_HOSTING=1)", () => {
        it("starts the application with the variables of <aspNetCore><environmentVariables> in its environment", () => {
            const site = server({ environment: { IIS_STANDIN_HOSTING: "1" } });
            const folder = site.hostPath("C:\\Apps\\EnvProbe");
            fs.mkdirSync(folder, { recursive: true });
            // The application writes what it was given and exits.
            fs.writeFileSync(
                path.join(folder, "probe.js"),
                'require("fs").writeFileSync("seen.json", JSON.stringify({ forwarded: process.env.ASPNETCORE_FORWARDEDHEADERS_ENABLED, tz: process.env.TZ, urls: process.env.ASPNETCORE_URLS }));\n',
            );
            fs.writeFileSync(
                path.join(folder, "web.config"),
                '<?xml version="1.0" encoding="utf-8"?>\r\n<configuration>\r\n  <location path="." inheritInChildApplications="false">\r\n    <system.webServer>\r\n' +
                    '      <aspNetCore processPath="node" arguments="probe.js" hostingModel="outofprocess">\r\n        <environmentVariables>\r\n' +
                    '          <environmentVariable name="ASPNETCORE_FORWARDEDHEADERS_ENABLED" value="true" />\r\n          <environmentVariable name="TZ" value="UTC" />\r\n' +
                    "        </environmentVariables>\r\n      </aspNetCore>\r\n    </system.webServer>\r\n  </location>\r\n</configuration>\r\n",
            );
            lines(site, `
                Import-Module WebAdministration
                $manager = New-Object Microsoft.Web.Administration.ServerManager
                $null = $manager.ApplicationPools.Add('EnvProbe')
                $null = $manager.Sites.Add('EnvProbe', 'http', '*:18931:', 'C:\\Apps\\EnvProbe')
                $manager.Sites['EnvProbe'].Applications['/'].ApplicationPoolName = 'EnvProbe'
                $manager.CommitChanges()
                # A recycle starts the application of a configured site (as the package's configuration step does).
                $null = (New-Object Microsoft.Web.Administration.ServerManager).ApplicationPools['EnvProbe'].Recycle()
            `);
            const seen = path.join(folder, "seen.json");
            for (let attempt = 0; attempt < 100 && !fs.existsSync(seen); attempt++) {
                spawnSync("sleep", ["0.1"]);
            }
            assert.ok(fs.existsSync(seen), `the site's application started: ${site.runtime()}`);
            assert.deepEqual(JSON.parse(fs.readFileSync(seen, "utf8")), { forwarded: "true", tz: "UTC", urls: "http://+:18931" });
            lines(site, `
                Import-Module WebAdministration
                $manager = New-Object Microsoft.Web.Administration.ServerManager
                $null = $manager.Sites['EnvProbe'].Stop()
            `);
        });
    });

    describe("the registry (HKLM:)", () => {
        it("reads keys and typed values as the Registry provider does, for each Windows Server version", () => {
            const script = `
                $v = Get-ItemProperty 'HKLM:\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion'
                $v.CurrentBuild + ' ' + $v.ProductName
                Get-ItemPropertyValue 'HKLM:\\SOFTWARE\\Microsoft\\PowerShell\\3\\PowerShellEngine' -Name PowerShellVersion
                $iis = Get-ItemProperty HKLM:\\SOFTWARE\\Microsoft\\InetStp
                '' + $iis.MajorVersion + '.' + $iis.MinorVersion + ' ' + $iis.MajorVersion.GetType().Name + ' ' + $iis.InstallPath
                Test-Path HKLM:\\SOFTWARE\\OpenSSH
                (Get-Item 'Registry::HKEY_LOCAL_MACHINE\\SOFTWARE\\WOW6432Node\\dotnet\\Setup\\InstalledVersions\\x64\\sharedfx\\Microsoft.AspNetCore.App').Property
                try { Get-ItemProperty HKLM:\\SOFTWARE\\Microsoft\\InetStp -Name NoSuchValue -ErrorAction Stop } catch { $_.Exception.Message }
            `;
            assert.deepEqual(lines(server({ windowsServer: 2016 }), script), [
                "14393 Windows Server 2016 Datacenter",
                "5.1.14393.0",
                "10.0 Int32 C:\\Windows\\system32\\inetsrv",
                "False",
                "8.0.11",
                "Property NoSuchValue does not exist at path HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\InetStp.",
            ]);
            assert.deepEqual(lines(server({ windowsServer: 2025 }), script).slice(0, 2), ["26100 Windows Server 2025 Datacenter", "5.1.26100.1"]);
        });

        it("holds OpenSSH's DefaultShell and writes values back to the server", () => {
            const site = server({ openSshDefaultShell: "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe" });
            assert.deepEqual(lines(site, `Get-ItemPropertyValue HKLM:\\SOFTWARE\\OpenSSH -Name DefaultShell; New-ItemProperty HKLM:\\SOFTWARE\\OpenSSH -Name DefaultShellCommandOption -Value '/c' -PropertyType String | Out-Null`), [
                "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe",
            ]);
            assert.match(fs.readFileSync(path.join(site.root, "registry.xml"), "utf8"), /<value name="DefaultShellCommandOption" type="REG_SZ">\/c<\/value>/);
        });
    });

    describe("Windows PowerShell 5.1 where PowerShell 7 differs", () => {
        it("reports 5.1 in $PSVersionTable and FullLanguage, or ConstrainedLanguage under a lockdown policy", () => {
            const script = `$PSVersionTable.PSVersion.ToString(); $PSVersionTable.PSEdition; $ExecutionContext.SessionState.LanguageMode
                Import-Module WebAdministration
                try { $null = New-Object Microsoft.Web.Administration.ServerManager; 'created' } catch { $_.FullyQualifiedErrorId }`;
            assert.deepEqual(lines(server({ windowsServer: 2019 }), script), ["5.1.17763.1", "Desktop", "FullLanguage", "created"]);
            // A function stands in for New-Object: the error id is the cmdlet's, the command name after it the function's.
            assert.deepEqual(lines(server({ languageMode: "ConstrainedLanguage" }), script), ["5.1.20348.1", "Desktop", "ConstrainedLanguage", "CannotCreateTypeConstrainedLanguage,New-Object"]);
        });

        it("writes host output in the OEM code page captured at start-up, and a writer taken after setting [Console]::OutputEncoding in UTF-8", () => {
            for (const [oemCodePage, e] of [[437, 0x82], [850, 0x82]] as const) {
                const result = run(server({ oemCodePage }), `
                    [Console]::OutputEncoding = New-Object System.Text.UTF8Encoding $false
                    Write-Output 'out:\u00e9'
                    Write-Host 'host:\u00e9'
                    [Console]::Out.Write("console:\u00e9\`n")
                    [Console]::Out.Flush()
                `);
                assert.equal(result.code, 0, result.stderr);
                assert.deepEqual(result.stdout, Buffer.concat([
                    Buffer.from("out:"), Buffer.from([e]), Buffer.from("\r\n"),
                    Buffer.from("host:"), Buffer.from([e]), Buffer.from("\r\n"),
                    Buffer.from("console:\u00e9\n", "utf8"),
                ]));
            }
            const euro = run(server(), "Write-Output '\u20ac'");
            assert.deepEqual(euro.stdout, Buffer.from("?\r\n"), "a character the OEM code page lacks arrives as ?");
        });

        it("ConvertTo-Json: non-ASCII left as it is, < > ' & escaped, 5.1's layout, and no 7-only parameters", () => {
            const result = run(server(), `
                [Console]::OutputEncoding = New-Object System.Text.UTF8Encoding $false
                [Console]::Out.Write((@{ name = "Caf\u00e9 <b>&'x'" } | ConvertTo-Json -Compress) + "|")
                [Console]::Out.Write(([ordered]@{ a = 1; list = @(1, 2); inner = [ordered]@{ b = 'c' } } | ConvertTo-Json) + "|")
                try { @{} | ConvertTo-Json -EscapeHandling Default } catch { [Console]::Out.Write($_.FullyQualifiedErrorId) }
            `);
            assert.equal(result.code, 0, result.stderr);
            const [compressed, pretty, refused] = result.stdout.toString("utf8").split("|");
            assert.equal(compressed, '{"name":"Caf\u00e9 \\u003cb\\u003e\\u0026\\u0027x\\u0027"}');
            assert.equal(pretty, '{\r\n    "a":  1,\r\n    "list":  [\r\n                 1,\r\n                 2\r\n             ],\r\n    "inner":  {\r\n                  "b":  "c"\r\n              }\r\n}');
            assert.match(refused, /^NamedParameterNotFound,ConvertTo-Json/);
        });

        it("Add-Type keeps its default references when a script names others, and is refused in ConstrainedLanguage", () => {
            const script = `$source = "using System.Collections.Generic; using System.Linq;\`npublic static class Counted { public static int Count() { return new List<int> { 1, 2 }.Count(); } }"
                $xml = "using System.Xml;\`npublic static class Parsed { public static string Root() { var d = new XmlDocument(); d.LoadXml(""<a/>""); return d.DocumentElement.Name; } }"
                try { Add-Type -TypeDefinition $source -ReferencedAssemblies System.Xml, System.Core; [Counted]::Count() } catch { $_.Exception.Message }
                try { Add-Type -TypeDefinition $xml -ReferencedAssemblies ([System.Xml.XmlDocument].Assembly.Location); [Parsed]::Root() } catch { $_.Exception.Message }`;
            assert.deepEqual(lines(server(), script), ["2", "a"]);
            const refused = "Cannot add type. Definition of new types is not supported in this language mode.";
            assert.deepEqual(lines(server({ languageMode: "ConstrainedLanguage" }), script), [refused, refused]);
        });

        it("Remove-Item -Recurse deletes what a directory link inside the tree points to", () => {
            const site = server();
            const shared = site.hostPath("C:\\Shared");
            fs.mkdirSync(path.join(shared, "keep"), { recursive: true });
            fs.writeFileSync(path.join(shared, "keep", "data.txt"), "shared data");
            fs.mkdirSync(site.hostPath("C:\\App"));
            fs.symlinkSync(shared, site.hostPath("C:\\App\\logs"), "dir");
            lines(site, "Remove-Item -LiteralPath 'C:\\App' -Recurse -Force");
            assert.ok(!fs.existsSync(site.hostPath("C:\\App")));
            assert.ok(fs.existsSync(shared), "the link's target folder itself stays");
            assert.deepEqual(fs.readdirSync(shared), [], "its contents are gone");
        });

        it("Invoke-WebRequest without -UseBasicParsing fails once the response arrives; with it, or with IE's first run done, it succeeds", async () => {
            let requests = 0;
            const web = http.createServer((_request, response) => {
                requests++;
                response.setHeader("Content-Type", "text/plain; charset=utf-8");
                response.end("ok");
            });
            await new Promise<void>(resolve => web.listen(0, "127.0.0.1", resolve));
            try {
                const url = `http://127.0.0.1:${(web.address() as { port: number }).port}/`;
                const script = `
                    try { $null = Invoke-WebRequest '${url}' -ErrorAction Stop; 'parsed' } catch { $_.FullyQualifiedErrorId; $_.Exception.Message }
                    (Invoke-WebRequest '${url}' -UseBasicParsing).Content
                    try { Invoke-RestMethod '${url}' -SkipCertificateCheck } catch { $_.FullyQualifiedErrorId }`;
                const plain = await server().runLocalAsync(POWERSHELL, script, "");
                assert.equal(plain.code, 0, plain.stderr);
                assert.deepEqual(plain.stdout.split(/\r?\n/).filter(Boolean), [
                    "WebCmdletIEDomNotSupportedException,Invoke-WebRequest",
                    "The response content cannot be parsed because the Internet Explorer engine is not available, or Internet Explorer's first-launch configuration is not complete. Specify the UseBasicParsing parameter and try again. ",
                    "ok",
                    "NamedParameterNotFound,Invoke-RestMethod",
                ]);
                assert.equal(requests, 2, "the request without -UseBasicParsing was sent");
                const configured = server({ registry: { "HKEY_LOCAL_MACHINE\\Software\\Policies\\Microsoft\\Internet Explorer\\Main": { DisableFirstRunCustomize: { type: "REG_DWORD", value: 1 } } } });
                const ie = await configured.runLocalAsync(POWERSHELL, `(Invoke-WebRequest '${url}').Content`, "");
                assert.deepEqual(ie.stdout.split(/\r?\n/).filter(Boolean), ["ok"], ie.stderr);
            } finally {
                web.close();
            }
        });
    });

    describe("Windows Server versions", () => {
        let pfx: { aes: string; tripleDes: string };
        before(() => {
            const folder = fs.mkdtempSync(path.join(os.tmpdir(), "iis-standin-pfx-"));
            pfx = { aes: path.join(folder, "aes.pfx"), tripleDes: path.join(folder, "3des.pfx") };
            pwsh(`
                $key = [System.Security.Cryptography.RSA]::Create(2048)
                $request = [System.Security.Cryptography.X509Certificates.CertificateRequest]::new('CN=pfx', $key, 'SHA256', [System.Security.Cryptography.RSASignaturePadding]::Pkcs1)
                $certificate = $request.CreateSelfSigned([DateTimeOffset]::Now.AddDays(-1), [DateTimeOffset]::Now.AddYears(1))
                foreach ($case in @(@('${pfx.aes}', 'Aes256Cbc', 'SHA256'), @('${pfx.tripleDes}', 'TripleDes3KeyPkcs12', 'SHA1'))) {
                    $parameters = [System.Security.Cryptography.PbeParameters]::new($case[1], $case[2], 2000)
                    $builder = [System.Security.Cryptography.Pkcs.Pkcs12Builder]::new()
                    $contents = [System.Security.Cryptography.Pkcs.Pkcs12SafeContents]::new()
                    $null = $contents.AddCertificate($certificate)
                    $null = $contents.AddShroudedKey($key, '', $parameters)
                    $builder.AddSafeContentsEncrypted($contents, '', $parameters)
                    $builder.SealWithMac('', [System.Security.Cryptography.HashAlgorithmName]::new($case[2]), 2000)
                    [System.IO.File]::WriteAllBytes($case[0], $builder.Encode())
                }`);
        });

        it("Server 2016 cannot import an AES (PBES2) PFX, as X509Certificate2 and Import-PfxCertificate fail there; 3DES imports; 2019 imports both", () => {
            const script = (file: string) => `
                try { $c = New-Object System.Security.Cryptography.X509Certificates.X509Certificate2 -ArgumentList '${file}', '', 'Exportable'; 'loaded ' + $c.Subject } catch { $_.Exception.Message }
                try { $null = Import-PfxCertificate -FilePath '${file}' -CertStoreLocation Cert:\\LocalMachine\\My; 'imported' } catch { $_.Exception.Message }`;
            const s2016 = server({ windowsServer: 2016 });
            assert.deepEqual(lines(s2016, script(pfx.aes)), [
                'Exception calling ".ctor" with "3" argument(s): "The specified network password is not correct."',
                "The PFX file you are trying to import requires either a different password or membership in an Active Directory principal to which it is protected.",
            ]);
            assert.deepEqual(lines(s2016, script(pfx.tripleDes)), ["loaded CN=pfx", "imported"]);
            assert.deepEqual(lines(server({ windowsServer: 2019 }), script(pfx.aes)), ["loaded CN=pfx", "imported"]);
        });

        it("on the 2016 profile, refuses the X509 forms it cannot intercept, in the command and in scripts it runs", () => {
            const s2016 = server({ windowsServer: 2016 });
            const direct = run(s2016, `[System.Security.Cryptography.X509Certificates.X509Certificate2]::new('${pfx.tripleDes}', '')`);
            assert.notEqual(direct.code, 0);
            assert.match(direct.stderr + direct.text, /cannot check '\[System\.Security\.Cryptography\.X509Certificates\.X509Certificate2\]::new/);
            fs.writeFileSync(s2016.hostPath("C:\\load.ps1"), "$c = New-Object System.Security.Cryptography.X509Certificates.X509Certificate2Collection\n$c.Import('x', '', 'Exportable')\n");
            const viaScript = run(s2016, "& 'C:\\load.ps1'");
            assert.match(viaScript.stderr + viaScript.text, /cannot check '\$c\.Import\('x', '', 'Exportable'\)' \(.*load\.ps1, line 2\)/);
            assert.deepEqual(lines(server({ windowsServer: 2019 }), `[System.Security.Cryptography.X509Certificates.X509Certificate2]::new('${pfx.tripleDes}', '').Subject`), ["CN=pfx"]);
        });

        it("OpenSSH.Server is a Windows capability from Server 2019 on, not on 2016", () => {
            const script = `(Get-WindowsCapability -Online -Name 'OpenSSH.Server*').State
                try { (Add-WindowsCapability -Online -Name 'OpenSSH.Server~~~~0.0.1.0').RestartNeeded } catch { $_.Exception.Message }
                (Get-WindowsCapability -Online -Name 'OpenSSH.Server*').State`;
            assert.deepEqual(lines(server({ windowsServer: 2019 }), script), ["NotPresent", "False", "Installed"]);
            assert.deepEqual(lines(server({ windowsServer: 2016 }), script), [
                "Add-WindowsCapability failed. Windows Server 2016 Datacenter has no capability named 'OpenSSH.Server~~~~0.0.1.0'.",
            ]);
        });
    });

    describe("module logging (event 4103)", () => {
        it("records each command of a logged module with its bound parameter values, and nothing without the policy", () => {
            const logged = server({ moduleLogging: ["Microsoft.PowerShell.Utility"] });
            const script = `$data = '{"clientSecret":"Logged-Secret-4103"}' | ConvertFrom-Json; $data.clientSecret.Length; Get-Date -Year 2020 | Out-Null`;
            assert.deepEqual(lines(logged, script), ["18"]);
            const events = fs
                .readFileSync(path.join(logged.root, "events", "4103.jsonl"), "utf8")
                .trim()
                .split("\n")
                .map(line => JSON.parse(line) as { id: number; command: string; payload: string });
            const convert = events.find(e => e.command === "ConvertFrom-Json");
            assert.ok(convert, JSON.stringify(events));
            assert.equal(convert.id, 4103);
            assert.equal(convert.payload, 'CommandInvocation(ConvertFrom-Json): "ConvertFrom-Json"\r\nParameterBinding(ConvertFrom-Json): name="InputObject"; value="{"clientSecret":"Logged-Secret-4103"}"');
            assert.ok(events.some(e => e.command === "Get-Date" && e.payload.includes('name="Year"; value="2020"')));
            const quiet = server();
            lines(quiet, script);
            assert.ok(!fs.existsSync(path.join(quiet.root, "events")));
        });

        it("a logged command the stand-in replaces keeps 5.1's behaviour: ConvertTo-Json still writes, and is recorded", () => {
            const logged = server({ moduleLogging: ["Microsoft.PowerShell.Utility"] });
            const script = `ConvertTo-Json @{ name = 'a<b' } -Compress`;
            assert.deepEqual(lines(logged, script), ['{"name":"a\\u003cb"}']);
            assert.deepEqual(lines(server(), script), ['{"name":"a\\u003cb"}']);
            const events = fs.readFileSync(path.join(logged.root, "events", "4103.jsonl"), "utf8");
            assert.ok(events.split("\n").some(line => line !== "" && (JSON.parse(line) as { command: string }).command === "ConvertTo-Json"), events);
        });
    });

    describe("icacls.exe", () => {
        it("sets the owner of a folder, with /t of everything under it, as a form of its own; grants and inheritance as given", () => {
            const machine = server();
            fs.mkdirSync(machine.hostPath("C:\\Upload\\sub"), { recursive: true });
            fs.writeFileSync(machine.hostPath("C:\\Upload\\sub\\a.ps1"), "");
            const owner = run(machine, "& icacls.exe 'C:\\Upload' /setowner '*S-1-5-32-544' /T; exit $LASTEXITCODE");
            assert.equal(owner.code, 0, owner.stderr);
            assert.match(owner.text, /Successfully processed 3 files; Failed processing 0 files/);
            const acl = machine.acl();
            assert.deepEqual(
                ["c:\\upload", "c:\\upload\\sub", "c:\\upload\\sub\\a.ps1"].map(key => acl[key]?.owner),
                ["*S-1-5-32-544", "*S-1-5-32-544", "*S-1-5-32-544"],
            );
            const alone = run(machine, "& icacls.exe 'C:\\Upload\\sub' /setowner Someone; exit $LASTEXITCODE");
            assert.equal(alone.code, 0, alone.stderr);
            assert.equal(machine.acl()["c:\\upload\\sub\\a.ps1"].owner, "*S-1-5-32-544", "without /t only the name itself changes");
            const mixed = run(machine, "& icacls.exe 'C:\\Upload' /setowner '*S-1-5-32-544' /grant:r '*S-1-5-18:F'; exit $LASTEXITCODE");
            assert.equal(mixed.code, 87);
            assert.match(mixed.stderr, /Invalid parameter "\/setowner"/);
            const grants = run(machine, "& icacls.exe 'C:\\Upload' /inheritance:r /grant:r '*S-1-5-18:(OI)(CI)F'; exit $LASTEXITCODE");
            assert.equal(grants.code, 0, grants.stderr);
            assert.deepEqual(machine.acl()["c:\\upload"], {
                path: "C:\\Upload",
                inherited: false,
                grants: [{ account: "*S-1-5-18", inheritance: "(OI)(CI)", rights: "F" }],
                owner: "*S-1-5-32-544",
            });
        });
    });
});
