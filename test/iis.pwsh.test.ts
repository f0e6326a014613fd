// Every IIS step and delete script, run for real in PowerShell (pwsh 7 from the project's dotnet tool manifest,
// standing for powershell.exe) exactly as the component sends it, against a stand-in IIS and Windows server
// (test/fixtures/iis-server). Run with `npm run test:pwsh`; it needs the .NET SDK.
import { strict as assert } from "assert";
import * as crypto from "crypto";
import * as fs from "fs";
import * as http from "http";
import * as https from "https";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { DatabaseProvider, DeploymentTarget, IdentityServiceArgs, IisDeployment } from "../src";
import { openPfx, reencodedPfxBase64 } from "../src/certificates";
import { installInput } from "../src/targets/iis";
import fc from "fast-check";
import { commandLine, POWERSHELL, quote, scriptFileRunner } from "../src/powershell";
import { IisServer, NET8_RUNTIMES, pwsh, RunResult, ServerLayout } from "./support/iisServer";
import { SshServer } from "./support/sshServer";
import { STEP_ORDER, StepCommand, stepCommands, StepName } from "./iisSteps";
import { valueOf } from "./support/mocks";

const SECRETS = {
    connectionString: "Host=db;Database=creatio;Username=ids;Password=Pwsh-Conn-Secret-7731;",
    clientSecret: "PwshClientSecret-0123456789abcdefXYZ",
    poolPassword: "Pool-Pa$$w0rd-'q'-`t`;s\"d\u00e9",
    rotatedPoolPassword: "Rotated-Pool-Secret-2291",
    pfxPassword: "",
};

const SIGNING_PFX = path.join(__dirname, "fixtures", "certificates", "signing.pfx");
/** The signing PFX as the server receives it: opened in the program and encoded again (no password, 3DES). */
let DELIVERED_PFX: Buffer;
const work = fs.mkdtempSync(path.join(os.tmpdir(), "iis-pwsh-suite-"));

function iisArgs(iis: Partial<IisDeployment> = {}, overrides: Partial<IdentityServiceArgs> = {}): IdentityServiceArgs {
    return {
        target: DeploymentTarget.Iis,
        creatioVersion: "8.2.3",
        database: { provider: DatabaseProvider.Postgres, connectionString: SECRETS.connectionString },
        client: { id: "pwsh-client-0123456789", secret: SECRETS.clientSecret, reseed: false },
        signingCertificate: { path: SIGNING_PFX },
        readiness: { enabled: false },
        iis: { creatioPath: "C:\\Creatio", archivePath: "C:\\Packages\\IdentityService.zip", port: 8090, ...iis },
        ...overrides,
    };
}

/** An IdentityService.zip laid out like the vendor's: appsettings.json, web.config with <aspNetCore>, the DLL. */
function makeArchive(name: string, marker: string): string {
    const folder = path.join(work, `${name}-content`);
    fs.mkdirSync(path.join(folder, "pfx", "win"), { recursive: true });
    fs.copyFileSync(path.join(__dirname, "fixtures", "identity-service", "appsettings.json"), path.join(folder, "appsettings.json"));
    fs.writeFileSync(
        path.join(folder, "web.config"),
        '<?xml version="1.0" encoding="utf-8"?>\r\n<configuration>\r\n  <location path="." inheritInChildApplications="false">\r\n' +
            "    <system.webServer>\r\n      <handlers>\r\n" +
            '        <add name="aspNetCore" path="*" verb="*" modules="AspNetCoreModuleV2" resourceType="Unspecified" />\r\n' +
            '      </handlers>\r\n      <aspNetCore processPath="dotnet" arguments=".\\IdentityService.dll" stdoutLogEnabled="false" stdoutLogFile=".\\logs\\stdout" hostingModel="inprocess" />\r\n' +
            "    </system.webServer>\r\n  </location>\r\n</configuration>\r\n",
    );
    fs.writeFileSync(path.join(folder, "IdentityService.dll"), `stand-in assembly ${marker}`);
    fs.writeFileSync(path.join(folder, "pfx", "win", "readme.txt"), marker);
    const archive = path.join(work, `${name}.zip`);
    pwsh(`Compress-Archive -Path '${folder}/*' -DestinationPath '${archive}' -Force`);
    return archive;
}

/** A self-signed TLS certificate as a PFX (with its private key) or a CER (without), and its thumbprint. */
function makeCertificate(subject: string, withKey: boolean): { bytes: Buffer; thumbprint: string } {
    const file = path.join(work, `${subject}.${withKey ? "pfx" : "cer"}`);
    const thumbprint = pwsh(
        [
            "$key = [System.Security.Cryptography.RSA]::Create(2048)",
            `$request = [System.Security.Cryptography.X509Certificates.CertificateRequest]::new('CN=${subject}', $key, 'SHA256', [System.Security.Cryptography.RSASignaturePadding]::Pkcs1)`,
            "$certificate = $request.CreateSelfSigned([DateTimeOffset]::Now.AddDays(-1), [DateTimeOffset]::Now.AddYears(1))",
            `$type = if (${withKey ? "$true" : "$false"}) { 'Pfx' } else { 'Cert' }`,
            `[System.IO.File]::WriteAllBytes('${file}', $certificate.Export($type))`,
            "[Console]::Out.Write($certificate.Thumbprint)",
        ].join("\n"),
    );
    return { bytes: fs.readFileSync(file), thumbprint: thumbprint.trim() };
}

/**
 * A private CA (self-signed, a CA by its basic constraints) and a TLS certificate for localhost it issued, with the
 * key, as PEM; and another CA that issued nothing here.
 */
function makeCaIssuedCertificate(): { caPem: string; otherCaPem: string; certPem: string; keyPem: string } {
    const text = pwsh(
        [
            "using namespace System.Security.Cryptography",
            "using namespace System.Security.Cryptography.X509Certificates",
            "$ErrorActionPreference = 'Stop'",
            "function New-Ca([string] $name) {",
            "    $request = [CertificateRequest]::new(\"CN=$name\", [RSA]::Create(2048), 'SHA256', [RSASignaturePadding]::Pkcs1)",
            "    $request.CertificateExtensions.Add([X509BasicConstraintsExtension]::new($true, $false, 0, $true))",
            "    $request.CertificateExtensions.Add([X509KeyUsageExtension]::new([X509KeyUsageFlags]::KeyCertSign -bor [X509KeyUsageFlags]::CrlSign, $true))",
            "    return $request.CreateSelfSigned([DateTimeOffset]::Now.AddDays(-1), [DateTimeOffset]::Now.AddYears(1))",
            "}",
            "$ca = New-Ca 'Readiness Test Root CA'",
            "$other = New-Ca 'Another Test Root CA'",
            "$key = [RSA]::Create(2048)",
            "$request = [CertificateRequest]::new('CN=localhost', $key, 'SHA256', [RSASignaturePadding]::Pkcs1)",
            "$names = [SubjectAlternativeNameBuilder]::new()",
            "$names.AddDnsName('localhost')",
            "$request.CertificateExtensions.Add($names.Build())",
            "$usages = [OidCollection]::new()",
            "$usages.Add([Oid]::new('1.3.6.1.5.5.7.3.1')) | Out-Null",
            "$request.CertificateExtensions.Add([X509EnhancedKeyUsageExtension]::new($usages, $false))",
            "$leaf = $request.Create($ca, [DateTimeOffset]::Now.AddHours(-1), [DateTimeOffset]::Now.AddDays(30), [byte[]](1, 2, 3, 4))",
            "[Console]::Out.Write(($ca.ExportCertificatePem(), $other.ExportCertificatePem(), $leaf.ExportCertificatePem(), $key.ExportPkcs8PrivateKeyPem()) -join '|')",
        ].join("\n"),
    );
    const [caPem, otherCaPem, certPem, keyPem] = text.trim().split("|");
    return { caPem, otherCaPem, certPem, keyPem };
}

/** Runs one step's create (or delete) command on the server, as the command provider would. */
function run(server: IisServer, step: StepCommand, which: "create" | "delete" = "create", stdin = step.stdin): RunResult {
    const text = which === "create" ? step.create : step.delete!;
    if (step.interpreter) {
        return server.runLocal(step.interpreter, text, stdin);
    }
    return server.runLine(text, stdin);
}

function ok(result: RunResult, what: string): RunResult {
    assert.equal(result.code, 0, `${what} failed (${result.code}):\n${result.stderr}${result.stdout}`);
    return result;
}

function deployAll(server: IisServer, steps: Record<StepName, StepCommand>): Record<string, RunResult> {
    const results: Record<string, RunResult> = {};
    for (const name of STEP_ORDER) {
        results[name] = ok(run(server, steps[name]), name);
    }
    return results;
}

function deleteAll(server: IisServer, steps: Record<StepName, StepCommand>): void {
    for (const name of [...STEP_ORDER].reverse()) {
        if (steps[name].delete !== undefined) {
            ok(run(server, steps[name], "delete"), `${name} (delete)`);
        }
    }
}

function newServer(layout: ServerLayout = {}, archive = ARCHIVE): IisServer {
    const server = new IisServer(layout);
    servers.push(server);
    fs.copyFileSync(archive, server.hostPath("C:\\Packages\\IdentityService.zip"));
    return server;
}

/** The attribute of an element in applicationHost.config, found by a regular expression over the element. */
function poolElement(server: IisServer, name: string): string {
    const match = new RegExp(`<add name="${name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}"[^]*?(?:/>|</add>)`).exec(server.config());
    assert.ok(match, `pool ${name} in applicationHost.config`);
    return match[0];
}

function snapshot(server: IisServer): { config: string; acl: string; files: string; commits: string } {
    const files: string[] = [];
    const walk = (dir: string) => {
        for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
            const full = path.join(dir, entry.name);
            if (entry.isDirectory()) {
                walk(full);
            } else {
                files.push(`${path.relative(server.root, full)} ${fs.statSync(full).mtimeMs} ${fs.readFileSync(full).toString("base64").length}`);
            }
        }
    };
    walk(server.hostPath("C:\\"));
    const commits = /commits="(\d+)"/.exec(server.runtime())?.[1] ?? "0";
    return { config: server.config(), acl: JSON.stringify(server.acl()), files: files.sort().join("\n"), commits };
}

/**
 * An OAuth 2.0 server as the readiness check meets it: OpenID Connect discovery (issuer, token_endpoint) and a
 * client_credentials token endpoint (RFC 6749 4.4) that knows one client.
 */
async function oauthServer(
    clientId: string,
    clientSecret: string,
    failing = false,
    refusedScope?: string,
    tls?: { cert: string; key: string },
): Promise<{ port: number; scopes: (string | null)[]; close(): Promise<void> }> {
    const scopes: (string | null)[] = [];
    const scheme = tls ? "https" : "http";
    const handler = (request: http.IncomingMessage, response: http.ServerResponse) => {
        const port = (server.address() as net.AddressInfo).port;
        if (failing) {
            // What ASP.NET Core Module answers when the app cannot start (500.30-500.37).
            response.writeHead(500, { "content-type": "text/html" });
            response.end("<h1>HTTP Error 500.30 - ASP.NET Core app failed to start</h1>");
            return;
        }
        if (request.method === "GET" && request.url === "/.well-known/openid-configuration") {
            response.writeHead(200, { "content-type": "application/json" });
            response.end(JSON.stringify({ issuer: `${scheme}://localhost:${port}`, token_endpoint: `${scheme}://localhost:${port}/connect/token` }));
            return;
        }
        if (request.method === "POST" && request.url === "/connect/token") {
            let body = "";
            request.on("data", chunk => (body += chunk));
            request.on("end", () => {
                const form = new URLSearchParams(body);
                scopes.push(form.get("scope"));
                const known = form.get("grant_type") === "client_credentials" && form.get("client_id") === clientId && form.get("client_secret") === clientSecret;
                // RFC 6749 5.2: a scope the client may not have is invalid_scope.
                const scopeRefused = known && refusedScope !== undefined && (form.get("scope") ?? "").split(" ").includes(refusedScope);
                response.writeHead(known && !scopeRefused ? 200 : 400, { "content-type": "application/json" });
                response.end(
                    JSON.stringify(
                        !known ? { error: "invalid_client" } : scopeRefused ? { error: "invalid_scope" } : { access_token: "token", token_type: "Bearer", expires_in: 3600 },
                    ),
                );
            });
            return;
        }
        response.writeHead(404);
        response.end();
    };
    const server = tls ? https.createServer(tls, handler) : http.createServer(handler);
    await new Promise<void>(resolve => server.listen(0, "127.0.0.1", resolve));
    return { port: (server.address() as net.AddressInfo).port, scopes, close: () => new Promise(resolve => server.close(() => resolve())) };
}

const servers: IisServer[] = [];
let ARCHIVE: string;
let ARCHIVE_V2: string;

describe("IIS steps in PowerShell against a stand-in IIS", function () {
    this.timeout(600000);

    before(async () => {
        ARCHIVE = makeArchive("archive-v1", "v1");
        ARCHIVE_V2 = makeArchive("archive-v2", "v2");
        DELIVERED_PFX = Buffer.from(await valueOf(reencodedPfxBase64(SIGNING_PFX, undefined)), "base64");
    });

    after(() => {
        for (const server of servers) {
            server.dispose();
        }
        fs.rmSync(work, { recursive: true, force: true });
    });

    describe("a fresh server", () => {
        let server: IisServer;
        let steps: Record<StepName, StepCommand>;
        let results: Record<string, RunResult>;

        before(async () => {
            server = newServer();
            steps = await stepCommands("fresh", iisArgs());
            results = deployAll(server, steps);
        });

        it("runs the uploader as powershell.exe -EncodedCommand and every other step by its file's name, as the component sends them", () => {
            for (const name of STEP_ORDER) {
                assert.deepEqual(steps[name].interpreter, [...POWERSHELL, name === "scripts" ? "-EncodedCommand" : "-Command"], name);
            }
            const folder = server.hostPath("C:\\Creatio\\IdentityService.deploy");
            for (const name of STEP_ORDER.filter(step => step !== "scripts")) {
                const file = /^\$file='C:\\Creatio\\IdentityService\.deploy\\([^']+)';/.exec(steps[name].create)![1];
                assert.ok(fs.existsSync(path.join(folder, file)), `${name} runs ${file}, which the scripts step wrote`);
            }
            assert.match(results.prerequisites.stdout, /"Microsoft.AspNetCore.App 8\.0\.11"/);
        });

        it("creates the pool: No Managed Code, Integrated, 64-bit, ApplicationPoolIdentity, profile loaded, auto-start", () => {
            const pool = poolElement(server, "IdentityService-fresh");
            assert.match(pool, /managedRuntimeVersion=""/);
            assert.match(pool, /managedPipelineMode="Integrated"/);
            assert.match(pool, /enable32BitAppOnWin64="false"/);
            assert.match(pool, /autoStart="true"/);
            assert.match(pool, /identityType="ApplicationPoolIdentity"/);
            assert.match(pool, /loadUserProfile="true"/);
            assert.match(pool, /setProfileEnvironment="true"/);
            assert.match(server.runtime(), /<pool name="IdentityService-fresh" state="Started"/);
        });

        it("creates the site on its port beside a site with net.tcp and net.pipe bindings, and starts it", () => {
            const config = server.config();
            const site = /<site name="IdentityService-fresh"[^]*?<\/site>/.exec(config)![0];
            assert.match(site, /applicationPool="IdentityService-fresh"/);
            assert.match(site, /physicalPath="C:\\Creatio\\IdentityService"/);
            assert.match(site, /<binding protocol="http" bindingInformation="\*:8090:" \/>/);
            assert.match(config, /bindingInformation="808:\*"/, "the other site keeps its net.tcp binding");
            assert.match(server.runtime(), /<site name="IdentityService-fresh" state="Started"/);
        });

        it("extracts the archive, patches appsettings.json and web.config, and writes the signing certificate", () => {
            const install = server.hostPath("C:\\Creatio\\IdentityService");
            assert.equal(fs.readFileSync(path.join(install, "IdentityService.dll"), "utf8"), "stand-in assembly v1");
            const settings = JSON.parse(fs.readFileSync(path.join(install, "appsettings.json"), "utf8"));
            assert.equal(settings.DatabaseConnectionString, SECRETS.connectionString);
            assert.equal(settings.DbProvider, "Postgres");
            assert.match(settings.Clients, /pwsh-client-0123456789/);
            assert.deepEqual(fs.readFileSync(path.join(install, "signing-certificate.pfx")), DELIVERED_PFX);
            assert.ok(!fs.existsSync(path.join(install, "app_offline.htm")));
            assert.ok(!fs.existsSync(`${install}.staging`));
            assert.match(fs.readFileSync(path.join(install, ".identity-service-archive"), "utf8"), /^[0-9A-F]{64} [0-9a-f-]{36}$/);
            const install1 = JSON.parse(results.install.stdout);
            assert.match(install1.extraction, /^[0-9a-f-]{36}$/);
        });

        it("keeps the upload folder, appsettings.json and the PFX to Administrators, SYSTEM (and the pool's account)", () => {
            const acl = server.acl();
            const deploy = acl["c:\\creatio\\identityservice.deploy"];
            assert.equal(deploy.inherited, false);
            assert.deepEqual(deploy.grants.map(g => `${g.account}:${g.inheritance}${g.rights}`).sort(), ["*S-1-5-18:(OI)(CI)F", "*S-1-5-32-544:(OI)(CI)F"]);
            for (const file of ["appsettings.json", "signing-certificate.pfx"]) {
                const entry = acl[`c:\\creatio\\identityservice\\${file}`];
                assert.equal(entry.inherited, false, file);
                assert.deepEqual(
                    entry.grants.map(g => `${g.account}:${g.rights}`).sort(),
                    ["*S-1-5-18:F", "*S-1-5-32-544:F", "IIS AppPool\\IdentityService-fresh:R"],
                    file,
                );
            }
        });

        it("changes nothing when every step runs a second time", () => {
            const before = snapshot(server);
            const runtimeBefore = server.runtime();
            const again = deployAll(server, steps);
            const after = snapshot(server);
            assert.equal(after.config, before.config, "applicationHost.config is unchanged");
            assert.equal(after.commits, before.commits, "no configuration commit changed anything");
            assert.equal(after.files, before.files, "no file on C: was written");
            assert.equal(server.runtime(), runtimeBefore, "no pool or site was started, stopped or recycled");
            assert.equal(JSON.parse(again.install.stdout).extraction, JSON.parse(results.install.stdout).extraction);
            assert.equal(JSON.parse(again.configuration.stdout).revision, JSON.parse(results.configuration.stdout).revision);
            assert.deepEqual(JSON.parse(again.scripts.stdout).written, []);
        });

        it("leaves the other owners' sites and pools as they were", () => {
            const config = server.config();
            assert.match(config, /<site name="Creatio" id="2">[^]*?applicationPool="Creatio"[^]*?bindingInformation="\*:8080:"/);
            assert.match(poolElement(server, "Creatio"), /managedRuntimeVersion="v4.0"/);
        });
    });

    describe("updates", () => {
        let deployed: IisServer;
        let server: IisServer;

        before(async () => {
            deployed = newServer();
            deployAll(deployed, await stepCommands("upd", iisArgs()));
        });

        beforeEach(() => {
            server = deployed.copy();
            servers.push(server);
        });

        it("a new archive: extracted behind app_offline.htm with the pool stopped, then configured and restarted", async () => {
            fs.copyFileSync(ARCHIVE_V2, server.hostPath("C:\\Packages\\IdentityService-v2.zip"));
            const steps = await stepCommands("upd", iisArgs({ archivePath: "C:\\Packages\\IdentityService-v2.zip" }));
            const install = ok(run(server, steps.install), "install");
            const installPath = server.hostPath("C:\\Creatio\\IdentityService");
            assert.equal(fs.readFileSync(path.join(installPath, "IdentityService.dll"), "utf8"), "stand-in assembly v2");
            assert.match(server.runtime(), /<pool name="IdentityService-upd" state="Stopped" log="[^"]*stop;"/);
            assert.deepEqual(fs.readFileSync(path.join(installPath, "signing-certificate.pfx")), DELIVERED_PFX, "the PFX is kept");
            // The extraction replaced appsettings.json: the configuration step runs again with the new revision.
            assert.equal(JSON.parse(fs.readFileSync(path.join(installPath, "appsettings.json"), "utf8")).DatabaseConnectionString, "");
            const stdin = JSON.parse(steps.configuration.stdin);
            stdin.installRevision = install.stdout.trim();
            ok(run(server, steps.configuration, "create", JSON.stringify(stdin)), "configuration");
            assert.equal(JSON.parse(fs.readFileSync(path.join(installPath, "appsettings.json"), "utf8")).DatabaseConnectionString, SECRETS.connectionString);
            assert.match(server.runtime(), /<pool name="IdentityService-upd" state="Started" log="[^"]*stop;start;"/);
        });

        it("a new archive while the pool is still starting, and its worker process lingers: waited for, then replaced", async () => {
            fs.copyFileSync(ARCHIVE_V2, server.hostPath("C:\\Packages\\IdentityService-v2.zip"));
            const steps = await stepCommands("upd", iisArgs({ archivePath: "C:\\Packages\\IdentityService-v2.zip" }));
            server.editRuntime(xml =>
                xml.replace(/<pool name="IdentityService-upd" state="Started"/, '<pool name="IdentityService-upd" state="Started" transition="Starting" reads="2" lingering="2"'),
            );
            ok(run(server, steps.install), "install");
            const pool = /<pool name="IdentityService-upd"[^>]*>/.exec(server.runtime())![0];
            assert.match(pool, /state="Stopped"/);
            assert.match(pool, /reads="0"/, "the state was read until it settled");
            assert.match(pool, /lingering="0"/, "the worker process was waited for");
            assert.equal(fs.readFileSync(server.hostPath("C:\\Creatio\\IdentityService\\IdentityService.dll"), "utf8"), "stand-in assembly v2");
        });

        it("files extracted again from the same archive: a new extraction id, so the configuration runs again", async () => {
            const steps = await stepCommands("upd", iisArgs());
            const marker = server.hostPath("C:\\Creatio\\IdentityService\\.identity-service-archive");
            const before = fs.readFileSync(marker, "utf8");
            fs.writeFileSync(marker, "");
            const install = JSON.parse(ok(run(server, steps.install), "install").stdout);
            assert.equal(install.archiveSha256, before.split(" ")[0]);
            assert.notEqual(install.extraction, before.split(" ")[1]);
        });

        it("a marker of the previous package version (the hash alone) is honoured: nothing is extracted again", async () => {
            const steps = await stepCommands("upd", iisArgs());
            const marker = server.hostPath("C:\\Creatio\\IdentityService\\.identity-service-archive");
            const hash = fs.readFileSync(marker, "utf8").split(" ")[0];
            fs.writeFileSync(marker, hash);
            const dll = server.hostPath("C:\\Creatio\\IdentityService\\IdentityService.dll");
            const before = fs.statSync(dll).mtimeMs;
            const install = JSON.parse(ok(run(server, steps.install), "install").stdout);
            assert.deepEqual(install, { archiveSha256: hash, extraction: hash });
            assert.equal(fs.statSync(dll).mtimeMs, before);
        });

        it("a pool password: the pool runs as the user, the password stored encrypted, nothing else touched", async () => {
            for (const password of [SECRETS.poolPassword, SECRETS.rotatedPoolPassword]) {
                const steps = await stepCommands("upd", iisArgs({ appPoolIdentity: { username: ".\\svc-ids", password } }));
                ok(run(server, steps["app-pool"]), "app-pool");
                const pool = poolElement(server, "IdentityService-upd");
                assert.match(pool, /identityType="SpecificUser"/);
                assert.match(pool, /userName="\.\\svc-ids"/);
                assert.ok(!server.config().includes(password), "the password is not in applicationHost.config in plain text");
            }
        });

        it("a port: the http binding moves, and a port of another site is refused naming it", async () => {
            ok(run(server, (await stepCommands("upd", iisArgs({ port: 8091 }))).site), "site");
            assert.match(server.config(), /bindingInformation="\*:8091:"/);
            assert.ok(!server.config().includes('"*:8090:"'));
            const taken = run(server, (await stepCommands("upd", iisArgs({ port: 8080 }))).site);
            assert.equal(taken.code, 1);
            assert.equal(taken.stderr.trim(), "site: port 8080 is already bound by the IIS site 'Creatio': choose another iis.port or iis.https.port");
        });

        it("https: the binding gets the certificate, a re-run leaves it alone, a new certificate replaces it", async () => {
            const first = makeCertificate("ids-first.example.com", true);
            const second = makeCertificate("ids-second.example.com", true);
            server.addCertificate("My", "first.pfx", first.bytes);
            server.addCertificate("WebHosting", "second.pfx", second.bytes);
            const withFirst = await stepCommands("upd", iisArgs({ https: { port: 8443, certificateThumbprint: first.thumbprint } }));
            ok(run(server, withFirst.site), "site");
            // The certificate is bound in HTTP.sys only, as real IIS keeps it, not in applicationHost.config.
            assert.match(server.config(), /<binding bindingInformation="\*:8443:" protocol="https" \/>/);
            assert.doesNotMatch(server.config(), /certificateHash/);
            assert.match(server.runtime(), new RegExp(`<sslcert endpoint="0.0.0.0:8443" hash="${first.thumbprint}" store="My"`));
            const before = snapshot(server);
            ok(run(server, withFirst.site), "site again");
            assert.equal(snapshot(server).commits, before.commits, "the second run commits nothing");
            const withSecond = await stepCommands("upd", iisArgs({ https: { port: 8443, certificateThumbprint: second.thumbprint } }));
            ok(run(server, withSecond.site), "site with the new certificate");
            assert.match(server.runtime(), new RegExp(`<sslcert endpoint="0.0.0.0:8443" hash="${second.thumbprint}" store="WebHosting"`));
            assert.doesNotMatch(server.runtime(), new RegExp(first.thumbprint), "the first certificate is no longer bound");
            assert.match(server.config(), /bindingInformation="\*:8090:"/, "the http binding stays");
        });

        it("https: a certificate without its private key, or missing, is refused with what to do", async () => {
            const keyless = makeCertificate("ids-keyless.example.com", false);
            server.addCertificate("My", "keyless.cer", keyless.bytes);
            const result = run(server, (await stepCommands("upd", iisArgs({ https: { port: 8443, certificateThumbprint: keyless.thumbprint } }))).site);
            assert.equal(result.code, 1);
            assert.match(result.stderr, new RegExp(`^site: the certificate ${keyless.thumbprint} in LocalMachine\\\\My has no private key: import it again from a \\.pfx`));
            const missing = run(server, (await stepCommands("upd", iisArgs({ https: { port: 8443, certificateThumbprint: "AB".repeat(20) } }))).site);
            assert.match(missing.stderr, /^site: no certificate with thumbprint A?B+A?.* in the LocalMachine\\My or LocalMachine\\WebHosting store/);
        });

        it("a configuration change: appsettings.json patched and the pool recycled, with a new revision", async () => {
            const steps = await stepCommands("upd", iisArgs({}, { logLevel: "Debug" as any }));
            const runtimeBefore = server.runtime();
            const result = JSON.parse(ok(run(server, steps.configuration), "configuration").stdout);
            assert.equal(result.appSettings, "changed");
            const settings = JSON.parse(fs.readFileSync(server.hostPath("C:\\Creatio\\IdentityService\\appsettings.json"), "utf8"));
            assert.equal(settings.Logging.LogLevel.Default, "Debug");
            assert.notEqual(server.runtime(), runtimeBefore);
            assert.match(server.runtime(), /<pool name="IdentityService-upd" state="Started" log="[^"]*recycle;"/);
        });

        it("the escape hatches: additionalSettings merged into appsettings.json, environment into web.config, and a variable removed once it goes", async () => {
            const webConfigPath = server.hostPath("C:\\Creatio\\IdentityService\\web.config");
            const shipped = fs.readFileSync(webConfigPath, "utf8");
            const hatches = await stepCommands(
                "upd",
                iisArgs({}, {
                    additionalSettings: { Serilog: { MinimumLevel: "Warning" }, "Smtp:Password": pulumi.secret("Smtp-Secret-3301") },
                    environment: { TZ: "Europe/Berlin", DOTNET_gcServer: "0" },
                }),
            );
            const result = JSON.parse(ok(run(server, hatches.configuration), "configuration").stdout);
            assert.deepEqual([result.appSettings, result.webConfig], ["changed", "changed"]);
            const settings = JSON.parse(fs.readFileSync(server.hostPath("C:\\Creatio\\IdentityService\\appsettings.json"), "utf8"));
            assert.deepEqual([settings.Serilog, settings.Smtp], [{ MinimumLevel: "Warning" }, { Password: "Smtp-Secret-3301" }]);
            assert.ok(settings.Clients, "next to the package's own keys");
            const webConfig = fs.readFileSync(webConfigPath, "utf8");
            assert.match(webConfig, /<environmentVariables>\r\n +<environmentVariable name="TZ" value="Europe\/Berlin" \/>\r\n +<environmentVariable name="DOTNET_gcServer" value="0" \/>\r\n +<\/environmentVariables>/);
            assert.match(server.runtime(), /<pool name="IdentityService-upd" state="Started" log="[^"]*recycle;"/, "the service restarted to read them");
            assert.equal(JSON.parse(ok(run(server, hatches.configuration), "configuration").stdout).webConfig, "unchanged", "a second run changes nothing");

            // The variables go again with `environment`: the names the step recorded are removed, the file as shipped.
            const without = await stepCommands("upd", iisArgs({}, { additionalSettings: { Serilog: { MinimumLevel: "Warning" }, "Smtp:Password": pulumi.secret("Smtp-Secret-3301") } }));
            assert.equal(JSON.parse(ok(run(server, without.configuration), "configuration").stdout).webConfig, "changed");
            const cleaned = fs.readFileSync(webConfigPath, "utf8");
            assert.doesNotMatch(cleaned, /environmentVariable/);
            assert.equal(cleaned.replace(/\s+/g, " ").replace(/ ?\/?>( <\/aspNetCore>)?/g, ">"), shipped.replace(/\s+/g, " ").replace(/ ?\/?>( <\/aspNetCore>)?/g, ">"), "the rest of the file as it was");
        });

        it("a new restart token (client re-seeding deleted rows) recycles the pool once, though no file changed", async () => {
            const steps = await stepCommands("upd", iisArgs());
            const stdin = JSON.parse(steps.configuration.stdin);
            stdin.restartToken = "rows-deleted-1";
            const first = JSON.parse(ok(run(server, steps.configuration, "create", JSON.stringify(stdin)), "configuration").stdout);
            assert.equal(first.appSettings, "unchanged");
            assert.match(server.runtime(), /<pool name="IdentityService-upd" state="Started" log="[^"]*recycle;"/);
            const runtime = server.runtime();
            const again = JSON.parse(ok(run(server, steps.configuration, "create", JSON.stringify(stdin)), "configuration").stdout);
            assert.equal(server.runtime(), runtime, "the same token does not restart it again");
            assert.equal(again.revision, first.revision);
        });

        it("a pool that IIS still reports as starting is waited for, not started twice", async () => {
            const steps = await stepCommands("upd", iisArgs({}, { logLevel: "Error" as any }));
            server.editRuntime(xml => xml.replace('<pool name="IdentityService-upd" state="Started"', '<pool name="IdentityService-upd" state="Started" transition="Starting" reads="3"'));
            ok(run(server, steps.configuration), "configuration");
            assert.match(server.runtime(), /<pool name="IdentityService-upd" state="Started" transition="Starting" reads="0" log="[^"]*recycle;"/);
        });
    });

    describe("delete", () => {
        it("removes the site, pool and folders of a complete deployment and nothing of the other owners", async () => {
            const server = newServer();
            const steps = await stepCommands("del", iisArgs());
            deployAll(server, steps);
            deleteAll(server, steps);
            const config = server.config();
            assert.ok(!config.includes("IdentityService-del"));
            assert.match(config, /<site name="Creatio"/);
            assert.match(config, /<site name="Default Web Site"/);
            assert.ok(!fs.existsSync(server.hostPath("C:\\Creatio\\IdentityService")));
            assert.ok(!fs.existsSync(server.hostPath("C:\\Creatio\\IdentityService.deploy")));
            assert.ok(fs.existsSync(server.hostPath("C:\\Creatio")));
        });

        it("succeeds on a half-created server (scripts, prerequisites and install only) and twice", async () => {
            const server = newServer();
            const steps = await stepCommands("half", iisArgs());
            for (const name of ["scripts", "prerequisites", "install"] as const) {
                ok(run(server, steps[name]), name);
            }
            // A destroy retried after a failure runs the remaining deletes again; the scripts step, which every other
            // step depends on, is deleted last, so its files are there for them.
            const others = { ...steps, scripts: { ...steps.scripts, delete: undefined } };
            deleteAll(server, others);
            deleteAll(server, others);
            assert.ok(!fs.existsSync(server.hostPath("C:\\Creatio\\IdentityService")));
            ok(run(server, steps.scripts, "delete"), "scripts (delete)");
            ok(run(server, steps.scripts, "delete"), "scripts (delete) again");
            assert.ok(!fs.existsSync(server.hostPath("C:\\Creatio\\IdentityService.deploy")));
        });

        it("a delete whose file is gone (the upload folder removed by hand) fails with what to do, never exit 0", async () => {
            const server = newServer();
            const steps = await stepCommands("gone-delete", iisArgs());
            deployAll(server, steps);
            fs.rmSync(server.hostPath("C:\\Creatio\\IdentityService.deploy"), { recursive: true });
            const result = run(server, steps.site, "delete");
            assert.equal(result.code, 1);
            assert.match(result.stderr, /^runner: cannot start C:\\Creatio\\IdentityService\.deploy\\delete-site-[0-9a-f]{12}\.ps1: .*pulumi up --replace <its URN> writes it again\)$/m);
            assert.match(server.config(), /<site name="IdentityService-gone-delete"/, "the site is still there");
            // Written again by replacing the scripts step (pulumi up --replace: the new step's create, then the old
            // step's delete, which keeps the folder while the install folder beside it is there), the delete runs.
            ok(run(server, steps.scripts), "scripts");
            const kept = JSON.parse(ok(run(server, steps.scripts, "delete"), "scripts (delete) of the replaced step").stdout);
            assert.deepEqual(kept, { kept: "C:\\Creatio\\IdentityService.deploy", reason: "the install folder C:\\Creatio\\IdentityService is still there" });
            ok(run(server, steps.site, "delete"), "site (delete)");
            assert.doesNotMatch(server.config(), /<site name="IdentityService-gone-delete"/);
        });

        it("succeeds when IIS is not installed at all", async () => {
            const server = newServer({ webAdministration: false, iis: false });
            const steps = await stepCommands("noiis", iisArgs());
            // The other steps exist only after the scripts step wrote their files.
            ok(run(server, steps.scripts), "scripts");
            deleteAll(server, steps);
        });
    });

    describe("what the package did not create", () => {
        it("refuses a non-empty install folder without its marker, and leaves the files", async () => {
            const server = newServer();
            const foreign = server.hostPath("C:\\Creatio\\Shared");
            fs.mkdirSync(foreign);
            fs.writeFileSync(path.join(foreign, "Terrasoft.WebApp.dll"), "Creatio's");
            const steps = await stepCommands("own", iisArgs({ installPath: "C:\\Creatio\\Shared" }));
            ok(run(server, steps.scripts), "scripts");
            ok(run(server, steps.prerequisites), "prerequisites");
            const result = run(server, steps.install);
            assert.equal(result.code, 1);
            assert.equal(result.stderr.trim(), "install: C:\\Creatio\\Shared holds files this package did not put there: choose another iis.installPath, or empty the folder if they may go");
            ok(run(server, steps.install, "delete"), "install (delete)");
            assert.equal(fs.readFileSync(path.join(foreign, "Terrasoft.WebApp.dll"), "utf8"), "Creatio's");
        });

        it("refuses Creatio's folder, or one above it, as the install folder on the server too", async () => {
            const server = newServer();
            const steps = await stepCommands("above", iisArgs());
            ok(run(server, steps.scripts), "scripts");
            for (const installPath of ["C:\\Creatio", "C:\\"]) {
                const stdin = installInput({
                    archivePath: "C:\\Packages\\IdentityService.zip",
                    installPath,
                    creatioPath: "C:\\Creatio",
                    appPoolName: "IdentityService-above",
                    creatioVersion: "8.2.3",
                });
                const result = run(server, steps.install, "create", stdin);
                assert.equal(result.code, 1, installPath);
                assert.match(result.stderr, /^install: iis\.installPath .* is Creatio's folder or a folder above it: give a folder of its own, such as C:\\Creatio\\IdentityService/);
            }
        });

        it("refuses to take over another owner's site or pool, and does not delete them", async () => {
            const server = newServer();
            const site = await stepCommands("foreign", iisArgs({ siteName: "Creatio" }));
            deployAllUntil(server, site, "app-pool");
            const siteResult = run(server, site.site);
            assert.equal(siteResult.code, 1);
            assert.equal(siteResult.stderr.trim(), "site: the IIS site 'Creatio' serves C:\\Creatio, which this package did not install: it is not this deployment's; choose another iis.siteName");
            ok(run(server, site.site, "delete"), "site (delete)");
            assert.match(server.config(), /<site name="Creatio"/);

            const pool = await stepCommands("foreign", iisArgs({ appPoolName: "Creatio" }));
            const poolResult = run(server, pool["app-pool"]);
            assert.equal(poolResult.code, 1);
            assert.equal(poolResult.stderr.trim(), "app-pool: the application pool 'Creatio' is used by the IIS site 'Creatio': it is not this deployment's; choose another iis.appPoolName");
            ok(run(server, pool["app-pool"], "delete"), "app-pool (delete)");
            assert.match(poolElement(server, "Creatio"), /managedRuntimeVersion="v4.0"/);
        });
    });

    describe("hostile names and paths", () => {
        it("deploys, re-runs and deletes with spaces, quotes, [brackets] and non-ASCII in names and paths", async () => {
            const server = newServer();
            const creatio = "C:\\Creatio [prod]\\It's \u00dcber \u0436\u0443\u0440\u043d\u0430\u043b";
            fs.mkdirSync(server.hostPath(creatio), { recursive: true });
            fs.copyFileSync(ARCHIVE, server.hostPath(`${creatio}\\Identity Service [v1].zip`));
            const steps = await stepCommands(
                "hostile",
                iisArgs({
                    creatioPath: creatio,
                    archivePath: `${creatio}\\Identity Service [v1].zip`,
                    siteName: "Identity Service \u00e9t\u00e9 (\u0442\u0435\u0441\u0442) & more",
                    appPoolName: "Pool \u00fc (1) & $x `y`",
                }),
            );
            deployAll(server, steps);
            const install = server.hostPath(`${creatio}\\IdentityService`);
            assert.equal(fs.readFileSync(path.join(install, "IdentityService.dll"), "utf8"), "stand-in assembly v1");
            assert.ok(server.config().includes('name="Identity Service \u00e9t\u00e9 (\u0442\u0435\u0441\u0442) &amp; more"'));
            assert.ok(server.config().includes('name="Pool \u00fc (1) &amp; $x `y`"'));
            assert.ok(server.acl()[`${creatio}\\IdentityService\\appsettings.json`.toLowerCase()].grants.some(g => g.account === "IIS AppPool\\Pool \u00fc (1) & $x `y`"));
            const before = snapshot(server);
            deployAll(server, steps);
            assert.equal(snapshot(server).files, before.files);
            deleteAll(server, steps);
            assert.ok(!fs.existsSync(install));
            assert.ok(!server.config().includes("Pool \u00fc"));
        });
    });

    describe("where Windows PowerShell 5.1 and real IIS differ from PowerShell 7 (as the stand-in models them)", () => {
        /** Stdout must be ASCII (one JSON line, or nothing): 5.1 writes it in the console's OEM code page. */
        function asciiJson(result: RunResult, what: string): any {
            assert.match(result.stdout, /^[\x00-\x7f]*$/, `${what}: stdout is ASCII: ${JSON.stringify(result.stdout)}`);
            return result.stdout.trim() === "" ? undefined : JSON.parse(result.stdout);
        }

        it("every step and delete writes ASCII JSON on stdout for paths, site and pool names beyond ASCII (OEM code page 866)", async () => {
            const server = newServer({ oemCodePage: 866 });
            const creatio = "C:\\Cr\u00e9atio \u0436\u0443\u0440\u043d\u0430\u043b \u540d \ud83d\ude42";
            fs.mkdirSync(server.hostPath(creatio), { recursive: true });
            const siteName = "Identity \u00e9t\u00e9 \u0442\u0435\u0441\u0442 \u540d \ud83d\ude42";
            const appPoolName = "Pool \u00fc \u0436 \u540d";
            const steps = await stepCommands("oem", iisArgs({ creatioPath: creatio, siteName, appPoolName }));
            const printed: Record<string, any> = {};
            for (const name of STEP_ORDER) {
                printed[name] = asciiJson(ok(run(server, steps[name]), name), name);
            }
            assert.equal(printed.scripts.directory, `${creatio}\\IdentityService.deploy`);
            assert.equal(printed["app-pool"].appPoolName, appPoolName);
            assert.equal(printed.site.siteName, siteName);
            assert.match(printed.prerequisites.windows, /^Windows Server 2022 Datacenter \(build 20348\)$/);
            assert.match(printed.configuration.revision, /^[0-9a-f-]{36}$/);
            // The scripts step, deleted while the install folder is there, says why it keeps the folder.
            assert.deepEqual(asciiJson(ok(run(server, steps.scripts, "delete"), "scripts (delete)"), "scripts (delete)"), {
                kept: `${creatio}\\IdentityService.deploy`,
                reason: `the install folder ${creatio}\\IdentityService is still there`,
            });
            // A site of that name that serves another folder is left in place, and the delete says so.
            fs.mkdirSync(server.hostPath(`${creatio}\\Other`));
            const config = server.config().replace(`physicalPath="${creatio}\\IdentityService"`, `physicalPath="${creatio}\\Other"`);
            fs.writeFileSync(path.join(server.root, "config", "applicationHost.config"), config);
            const left = asciiJson(ok(run(server, steps.site, "delete"), "site (delete)"), "site (delete)");
            assert.deepEqual(left, { deleted: false, reason: `the IIS site '${siteName}' serves ${creatio}\\Other, which this package did not install: left in place` });
            for (const name of ["app-pool", "install"] as const) {
                asciiJson(ok(run(server, steps[name], "delete"), `${name} (delete)`), `${name} (delete)`);
            }
        });

        it("the step library reads back any JSON the component writes and writes it as ASCII JSON, under 5.1's ConvertTo-Json (fast-check: 300 values in one run)", () => {
            const server = newServer();
            const library = path.join(__dirname, "..", "src", "scripts", "iis", "step-library.ps1");
            const text = fc.oneof(
                fc.string({ unit: fc.constantFrom(..."'\"`$;%!^&|<>\\/ \t\r\n\u0001\u001f\u007f\u00fc\u00e9\u0436\u540d\u2018\u2028\u20ac", "\ud83d\ude42"), maxLength: 40 }),
                fc.string({ unit: "grapheme", maxLength: 20 }),
                fc.constantFrom("", " ", "   ", "true", "null", "0", "<a b='c'/>", "&amp;"),
            );
            const value = fc.record({
                password: text,
                port: fc.integer({ min: -65535, max: 65535 }),
                enabled: fc.boolean(),
                names: fc.array(text, { maxLength: 3 }),
                https: fc.option(fc.record({ path: text }), { nil: null }),
            });
            fc.assert(
                fc.property(fc.array(value, { minLength: 300, maxLength: 300 }), values => {
                    const script = `. ${quote(library)}; $in = Read-StepInput 'probe'; Write-StepResult ([ordered]@{ values = $in.values })`;
                    const result = server.runLocal([...POWERSHELL, "-Command"], script, JSON.stringify({ values }));
                    assert.equal(result.code, 0, result.stderr);
                    assert.match(result.stdout, /^[\x00-\x7f]*$/, "ASCII only");
                    // fast-check's records have no prototype; JSON.parse's have Object's.
                    assert.deepEqual(JSON.parse(result.stdout).values, JSON.parse(JSON.stringify(values)));
                }),
                // One run of 300 values; a failure is reported as it is (shrinking would start PowerShell again and again).
                { numRuns: 1, endOnFailure: true },
            );
        });

        it("the pool step never touches Creatio's pool when siteName and appPoolName both name Creatio's site and pool", async () => {
            const server = newServer();
            const steps = await stepCommands("takeover", iisArgs({ siteName: "Creatio", appPoolName: "Creatio" }));
            deployAllUntil(server, steps, "install");
            const before = poolElement(server, "Creatio");
            const result = run(server, steps["app-pool"]);
            assert.equal(result.code, 1);
            assert.equal(result.stderr.trim(), "app-pool: the application pool 'Creatio' is used by the IIS site 'Creatio': it is not this deployment's; choose another iis.appPoolName");
            assert.equal(poolElement(server, "Creatio"), before, "Creatio's pool is as it was");
            ok(run(server, steps["app-pool"], "delete"), "app-pool (delete)");
            assert.equal(poolElement(server, "Creatio"), before);
        });

        it("no secret reaches a command that module logging records (event 4103), through a deploy with readiness and a delete", async () => {
            const oauth = await oauthServer("pwsh-client-0123456789", SECRETS.clientSecret);
            try {
                // Microsoft.PowerShell.Utility: ConvertFrom-Json, ConvertTo-Json, New-Object, Add-Type and the like.
                const server = newServer({ moduleLogging: ["Microsoft.PowerShell.Utility"] });
                const steps = await stepCommands(
                    "logged",
                    iisArgs({ port: oauth.port, appPoolIdentity: { username: ".\\svc-ids", password: SECRETS.poolPassword } }, { readiness: { timeoutSeconds: 20 } }),
                );
                deployAll(server, steps);
                const gate = await server.runLocalAsync(steps.readiness.interpreter!, steps.readiness.create, steps.readiness.stdin);
                assert.equal(gate.code, 0, gate.stderr);
                deleteAll(server, steps);
                const log = fs.readFileSync(path.join(server.root, "events", "4103.jsonl"), "utf8");
                const events = log.trim().split("\n").map(line => JSON.parse(line) as { command: string; payload: string });
                const commands = new Set(events.map(event => event.command));
                for (const command of ["New-Object", "Add-Type", "ConvertTo-Json", "Get-FileHash"]) {
                    assert.ok(commands.has(command), `module logging recorded ${command}: the check is not vacuous`);
                }
                const pfx = DELIVERED_PFX;
                const forms = [
                    ...Object.values(SECRETS).filter(secret => secret !== ""),
                    ...Object.values(SECRETS).filter(secret => secret !== "").map(secret => JSON.stringify(secret).slice(1, -1)),
                    pfx.toString("base64").slice(0, 40),
                    [...pfx.subarray(0, 24)].join(", "),
                    [...pfx.subarray(0, 24)].join(" "),
                ];
                for (const event of events) {
                    for (const form of forms) {
                        assert.ok(!event.payload.includes(form), `event 4103 of ${event.command} holds a secret (${form.slice(0, 12)}...)`);
                    }
                }
            } finally {
                await oauth.close();
            }
        });

        it("takes over an upload folder someone else created only as Administrators' own, and never writes through a link in it", async () => {
            const server = newServer();
            const steps = await stepCommands("owned", iisArgs());
            const folder = server.hostPath("C:\\Creatio\\IdentityService.deploy");
            const victim = server.hostPath("C:\\Creatio\\victim.txt");
            fs.writeFileSync(victim, "not yours");
            fs.mkdirSync(folder);
            fs.writeFileSync(path.join(folder, "planted.ps1"), "# left by whoever made the folder");
            const install = /^file (install-[0-9a-f]{12}\.ps1) /m.exec(steps.scripts.stdin)![1];
            fs.symlinkSync(victim, path.join(folder, install));
            ok(run(server, steps.scripts), "scripts");
            assert.equal(fs.readFileSync(victim, "utf8"), "not yours", "nothing was written through the link");
            assert.ok(!fs.lstatSync(path.join(folder, install)).isSymbolicLink(), "the link was replaced by the file itself");
            const acl = server.acl()["c:\\creatio\\identityservice.deploy"];
            assert.equal(acl.owner, "*S-1-5-32-544", "owned by Administrators");
            assert.equal(server.acl()["c:\\creatio\\identityservice.deploy\\planted.ps1"]?.owner, "*S-1-5-32-544", "and so is everything already in it");
            assert.equal(acl.inherited, false);
            // A folder that is itself a link is refused, and nothing is written where it points.
            const linked = newServer();
            const elsewhere = linked.hostPath("C:\\Creatio\\elsewhere");
            fs.mkdirSync(elsewhere);
            fs.symlinkSync(elsewhere, linked.hostPath("C:\\Creatio\\IdentityService.deploy"));
            const refused = run(linked, steps.scripts);
            assert.equal(refused.code, 1);
            assert.equal(refused.stderr.trim(), "scripts: C:\\Creatio\\IdentityService.deploy is a junction or symbolic link: remove it");
            assert.deepEqual(fs.readdirSync(elsewhere), []);
        });

        it("deletes a link in the install folder, never what it points to (5.1's Remove-Item -Recurse follows it)", async () => {
            const server = newServer();
            const steps = await stepCommands("links", iisArgs());
            deployAll(server, steps);
            const shared = server.hostPath("C:\\Shared logs");
            fs.mkdirSync(shared);
            fs.writeFileSync(path.join(shared, "other-service.log"), "keep me");
            const install = server.hostPath("C:\\Creatio\\IdentityService");
            fs.symlinkSync(shared, path.join(install, "logs"));
            fs.symlinkSync(shared, path.join(install, "wwwroot"));
            // A new archive replaces the files (keeping logs): the wwwroot link goes, not the folder it points to.
            fs.copyFileSync(ARCHIVE_V2, server.hostPath("C:\\Packages\\IdentityService-v2.zip"));
            ok(run(server, (await stepCommands("links", iisArgs({ archivePath: "C:\\Packages\\IdentityService-v2.zip" }))).install), "install");
            assert.ok(!fs.existsSync(path.join(install, "wwwroot")));
            assert.equal(fs.readFileSync(path.join(shared, "other-service.log"), "utf8"), "keep me");
            deleteAll(server, steps);
            assert.ok(!fs.existsSync(install));
            assert.equal(fs.readFileSync(path.join(shared, "other-service.log"), "utf8"), "keep me", "the delete removed the logs link, not the shared folder");
        });

        it("gives appsettings.json and the PFX their permissions before a secret goes in (icacls watched at every call)", async () => {
            const spy = fs.mkdtempSync(path.join(work, "icacls-spy-"));
            const calls = path.join(spy, "calls.jsonl");
            // Records, at each icacls call, whether its file already held a secret and was already restricted, then
            // runs the stand-in's icacls.
            fs.writeFileSync(
                path.join(spy, "icacls.exe"),
                [
                    "#!/usr/bin/env node",
                    '"use strict";',
                    'const fs = require("fs"), path = require("path"), { spawnSync } = require("child_process");',
                    "const target = process.argv[2] || '';",
                    "const host = path.join(process.env.IIS_STANDIN_ROOT, 'C', ...target.replace(/^[Cc]:[\\\\/]?/, '').split(/[\\\\/]+/).filter(Boolean));",
                    "const store = path.join(process.env.IIS_STANDIN_ROOT, 'acl.json');",
                    "const acl = (fs.existsSync(store) ? JSON.parse(fs.readFileSync(store, 'utf8')) : {})[target.replace(/\\//g, '\\\\').toLowerCase()];",
                    "const content = fs.existsSync(host) && fs.statSync(host).isFile() ? fs.readFileSync(host) : Buffer.alloc(0);",
                    "const secrets = JSON.parse(process.env.SPY_SECRETS);",
                    "fs.appendFileSync(process.env.SPY_CALLS, JSON.stringify({ target, holdsSecret: secrets.some(s => content.includes(Buffer.from(s, 'base64'))), restricted: !!acl && acl.inherited === false }) + '\\n');",
                    "const result = spawnSync(process.env.SPY_ICACLS, process.argv.slice(2), { stdio: 'inherit' });",
                    "process.exit(result.status === null ? 1 : result.status);",
                ].join("\n"),
                { mode: 0o755 },
            );
            const fixtureBin = path.join(__dirname, "fixtures", "iis-server", "bin");
            const secrets = [SECRETS.connectionString, SECRETS.clientSecret].map(secret => Buffer.from(secret).toString("base64"));
            secrets.push(DELIVERED_PFX.subarray(0, 64).toString("base64"));
            const server = newServer({
                environment: {
                    PATH: `${spy}${path.delimiter}${fixtureBin}${path.delimiter}${process.env.PATH}`,
                    SPY_CALLS: calls,
                    SPY_ICACLS: path.join(fixtureBin, "icacls.exe"),
                    SPY_SECRETS: JSON.stringify(secrets),
                },
            });
            const steps = await stepCommands("acl-first", iisArgs());
            deployAll(server, steps);
            // Windows takes / and \ alike (Join-Path writes / on this machine).
            const seen = fs
                .readFileSync(calls, "utf8")
                .trim()
                .split("\n")
                .map(line => JSON.parse(line) as { target: string; holdsSecret: boolean; restricted: boolean })
                .map(call => ({ ...call, target: call.target.replace(/\//g, "\\") }));
            for (const file of ["appsettings.json", "signing-certificate.pfx"]) {
                const first = seen.find(call => call.target === `C:\\Creatio\\IdentityService\\${file}`);
                assert.ok(first, `icacls ran on ${file}`);
                assert.deepEqual([first.holdsSecret, first.restricted], [false, false], `${file} got its permissions before a secret went in`);
            }
            for (const call of seen) {
                assert.ok(!call.holdsSecret || call.restricted, `${call.target} held a secret while readable by others`);
            }
            const leftovers: string[] = [];
            const walk = (dir: string) => {
                for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
                    if (entry.isDirectory()) walk(path.join(dir, entry.name));
                    else if (/\.tmp$/.test(entry.name)) leftovers.push(path.join(dir, entry.name));
                }
            };
            walk(server.hostPath("C:\\"));
            assert.deepEqual(leftovers, [], "no temporary file stays behind");
        });

        it("never removes a staging folder the install step did not make, and removes its own", async () => {
            const server = newServer();
            const steps = await stepCommands("staging", iisArgs());
            ok(run(server, steps.scripts), "scripts");
            const staging = server.hostPath("C:\\Creatio\\IdentityService.staging");
            fs.mkdirSync(staging);
            fs.writeFileSync(path.join(staging, "someone-elses.txt"), "theirs");
            const refused = run(server, steps.install);
            assert.equal(refused.code, 1);
            assert.equal(
                refused.stderr.trim(),
                "install: extracting the archive: C:\\Creatio\\IdentityService.staging holds files this package did not put there (it extracts the archive there first): remove that folder if they may go, or choose another iis.installPath",
            );
            ok(run(server, steps.install, "delete"), "install (delete)");
            assert.equal(fs.readFileSync(path.join(staging, "someone-elses.txt"), "utf8"), "theirs");
            // A staging folder the install step left (marked as its own), say after a failed extraction, goes.
            fs.rmSync(staging, { recursive: true });
            fs.mkdirSync(staging);
            fs.writeFileSync(path.join(staging, ".identity-service-staging"), "extracting");
            fs.writeFileSync(path.join(staging, "half-extracted.dll"), "x");
            ok(run(server, steps.install), "install");
            assert.ok(!fs.existsSync(staging));
        });

        it("refuses to run in ConstrainedLanguage mode, naming it, in the uploader and in every other step", async () => {
            const steps = await stepCommands("clm", iisArgs());
            const full = newServer();
            ok(run(full, steps.scripts), "scripts");
            const locked = newServer({ languageMode: "ConstrainedLanguage" });
            const uploader = run(locked, steps.scripts);
            assert.equal(uploader.code, 1);
            assert.match(uploader.stderr + uploader.stdout, /Only core types are supported in this language mode/);
            fs.cpSync(full.hostPath("C:\\Creatio\\IdentityService.deploy"), locked.hostPath("C:\\Creatio\\IdentityService.deploy"), { recursive: true });
            const step = run(locked, steps.prerequisites);
            assert.equal(step.code, 1);
            assert.match(step.stderr, /^runner: Windows PowerShell runs in ConstrainedLanguage mode on this server \(a system lockdown policy: AppLocker, WDAC or __PSLockdownPolicy\); the IIS steps need FullLanguage for the account they run as/);
        });
    });

    describe("prerequisites on each supported Windows Server", () => {
        /** The prerequisites step's input with another PFX, as the AES-256 signing.pfx would arrive unencoded. */
        function withPfx(stdin: string, pfx: Buffer): string {
            return JSON.stringify({ ...JSON.parse(stdin), signingCertificate: { base64: pfx.toString("base64") } });
        }
        const AES_PFX = fs.readFileSync(SIGNING_PFX);

        for (const version of [2016, 2019, 2022, 2025] as const) {
            it(`Windows Server ${version}: every check passes, and the report names what was found`, async () => {
                const server = newServer({ windowsServer: version });
                const steps = await stepCommands(`ws${version}`, iisArgs());
                ok(run(server, steps.scripts), "scripts");
                const report = JSON.parse(ok(run(server, steps.prerequisites), "prerequisites").stdout);
                const expected = { 2016: ["14393", "5.1.14393.0"], 2019: ["17763", "5.1.17763.1"], 2022: ["20348", "5.1.20348.1"], 2025: ["26100", "5.1.26100.1"] }[version];
                assert.equal(report.windows, `Windows Server ${version} Datacenter (build ${expected[0]})`);
                assert.equal(report.powerShell, expected[1]);
                assert.equal(report.languageMode, "FullLanguage");
                assert.equal(report.iis, "10.0");
                const opened = openPfx(DELIVERED_PFX, undefined);
                assert.ok(opened.ok);
                assert.equal(report.signingCertificate, new crypto.X509Certificate(opened.certificatePem).fingerprint.replace(/:/g, ""));
                assert.deepEqual(report.runtimes, ["Microsoft.AspNetCore.App 8.0.11"]);
            });
        }

        it("Windows Server 2016 cannot import an AES-encrypted PFX: the report says so before anything changes (2019 imports it)", async () => {
            const server = newServer({ windowsServer: 2016 });
            const steps = await stepCommands("aes", iisArgs());
            ok(run(server, steps.scripts), "scripts");
            const before = snapshot(server);
            const result = run(server, steps.prerequisites, "create", withPfx(steps.prerequisites.stdin, AES_PFX));
            assert.equal(result.code, 1);
            assert.equal(
                result.stderr.trim(),
                "prerequisites: the signing certificate does not import on this server (The specified network password is not correct.); the service could not load it: " +
                    "give a PFX this Windows imports (the package encodes it with PBE-SHA1-3DES, which every supported Windows Server imports)",
            );
            assert.deepEqual(snapshot(server), before, "nothing changed");
            const newer = newServer({ windowsServer: 2019 });
            ok(run(newer, steps.scripts), "scripts");
            ok(run(newer, steps.prerequisites, "create", withPfx(steps.prerequisites.stdin, AES_PFX)), "prerequisites on 2019");
        });

        it("reports every problem at once, each with its fix, and changes nothing", async () => {
            const server = newServer({
                windowsServer: 2016,
                aspNetCoreModule: false,
                openSshDefaultShell: "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe",
                environment: { SSH_CONNECTION: "192.0.2.1 50000 192.0.2.2 22" },
            });
            const steps = await stepCommands("many", iisArgs({ creatioPath: "C:\\Creatio" }));
            ok(run(server, steps.scripts), "scripts");
            const input = JSON.parse(withPfx(steps.prerequisites.stdin, AES_PFX));
            // A member no IIS has, as a server whose IIS lacks one the steps use would show it.
            input.iisApi.ApplicationPoolProcessModel.properties.push("SetProfileEnvironment");
            input.creatioPath = "C:\\Creatio Missing";
            const before = snapshot(server);
            const result = run(server, steps.prerequisites, "create", JSON.stringify(input));
            assert.equal(result.code, 1);
            const lines = result.stderr.trim().split("\n");
            assert.equal(lines[0], "prerequisites: 5 problems on this server (nothing was changed):");
            assert.deepEqual(lines.slice(1).map(line => line.replace(/:.*$/s, "")), [
                "- the IIS management API on this server (Microsoft.Web.Administration) lacks what the steps use",
                "- the signing certificate does not import on this server (The specified network password is not correct.); the service could not load it",
                "- the OpenSSH server's DefaultShell is C",
                "- Creatio's folder C",
                "- the ASP.NET Core 8.0 hosting bundle or a runtime it needs is not installed (ASP.NET Core Module V2 registered in IIS",
            ]);
            assert.match(lines[1], /lacks what the steps use: ApplicationPoolProcessModel\.SetProfileEnvironment \(a property\); the IIS target needs IIS 10/);
            assert.match(lines[3], /remove the DefaultShell value under HKLM\\SOFTWARE\\OpenSSH \(or set it to cmd\.exe\), then restart sshd$/);
            assert.match(lines[4], /C:\\Creatio Missing does not exist on this host: fix iis\.creatioPath$/);
            assert.match(lines[5], /install the .*hosting bundle, then restart IIS with: net stop was \/y; net start w3svc$/);
            assert.deepEqual(snapshot(server), before, "nothing changed");
        });

        it("finds stdin text beyond ASCII changed on the way, and says where to look", async () => {
            const server = newServer();
            const steps = await stepCommands("probe", iisArgs());
            ok(run(server, steps.scripts), "scripts");
            const input = JSON.parse(steps.prerequisites.stdin);
            input.encodingProbe = "\u00c3\u00bc";
            const result = run(server, steps.prerequisites, "create", JSON.stringify(input));
            assert.equal(result.code, 1);
            assert.match(result.stderr, /^prerequisites: text beyond ASCII arrives changed on standard input \(UTF-16 code units 195,188 instead of 252,21517,8364,55357,56898\)/);
        });
    });

    describe("missing prerequisites", () => {
        const cases: [string, ServerLayout, RegExp][] = [
            ["IIS", { iis: false }, /^prerequisites: IIS \(the W3SVC service\) is not installed: run Install-WindowsFeature Web-Server,Web-Scripting-Tools$/],
            ["the WebAdministration module", { webAdministration: false }, /^prerequisites: the WebAdministration PowerShell module is missing: run Install-WindowsFeature Web-Scripting-Tools$/],
            [
                "the ASP.NET Core Module",
                { aspNetCoreModule: false },
                /^prerequisites: the ASP\.NET Core 8\.0 hosting bundle or a runtime it needs is not installed \(ASP\.NET Core Module V2 registered in IIS: False; missing: none; found: Microsoft\.AspNetCore\.App 8\.0\.11\): install the .*hosting bundle.*, then restart IIS with: net stop was \/y; net start w3svc$/,
            ],
            [
                "the ASP.NET Core 8 runtime",
                { runtimes: [{ name: "Microsoft.AspNetCore.App", version: "6.0.36" }, ...NET8_RUNTIMES.slice(1)] },
                /^prerequisites: .*\(ASP\.NET Core Module V2 registered in IIS: True; missing: Microsoft\.AspNetCore\.App 8\.0; found: none of the required ones\)/,
            ],
            ["the dotnet muxer and every runtime", { runtimes: null }, /missing: Microsoft\.AspNetCore\.App 8\.0; found: none of the required ones/],
        ];
        for (const [what, layout, message] of cases) {
            it(`names ${what} and how to install it`, async () => {
                const server = newServer(layout);
                const steps = await stepCommands("pre", iisArgs());
                ok(run(server, steps.scripts), "scripts");
                const result = run(server, steps.prerequisites);
                assert.equal(result.code, 1);
                assert.match(result.stderr.trim(), message);
                assert.ok(!result.stderr.includes("CLIXML"));
            });
        }

        it("names a hosting bundle installed before IIS (module on disk, not registered) and the repair", async () => {
            const server = newServer({ aspNetCoreModule: false });
            const dll = server.hostPath("C:\\Program Files\\IIS\\Asp.Net Core Module\\V2\\aspnetcorev2.dll");
            fs.mkdirSync(path.dirname(dll), { recursive: true });
            fs.writeFileSync(dll, "module");
            const steps = await stepCommands("pre", iisArgs());
            ok(run(server, steps.scripts), "scripts");
            const result = run(server, steps.prerequisites);
            assert.match(result.stderr, /^prerequisites: the ASP\.NET Core Module V2 is on disk but not registered in IIS: the hosting bundle was installed before IIS\. Repair the /);
        });

        it("names a Creatio folder that does not exist, before anything is written", async () => {
            const server = newServer();
            const steps = await stepCommands("typo", iisArgs({ creatioPath: "C:\\Creatoi" }));
            const result = run(server, steps.scripts);
            assert.equal(result.code, 1);
            assert.equal(result.stderr.trim(), "scripts: the folder C:\\Creatoi does not exist on this host: fix iis.creatioPath (or iis.installPath)");
            assert.ok(!fs.existsSync(server.hostPath("C:\\Creatoi")));
        });
    });

    describe("failures", () => {
        it("an uploaded script that cannot start fails the step with a plain-text message (never exit 0)", async () => {
            const server = newServer();
            const steps = await stepCommands("gone", iisArgs());
            ok(run(server, steps.scripts), "scripts");
            fs.rmSync(server.hostPath("C:\\Creatio\\IdentityService.deploy"), { recursive: true });
            const result = run(server, steps.prerequisites);
            assert.equal(result.code, 1);
            assert.match(result.stderr, /^runner: cannot start C:\\Creatio\\IdentityService\.deploy\\prerequisites-[0-9a-f]{12}\.ps1: .*\(the -iis-scripts step writes it: pulumi up --replace <its URN> writes it again\)$/m);
            assert.ok(!result.stderr.includes("CLIXML"));
            assert.equal(result.stdout, "");
        });

        it("an uploaded script that does not parse fails the step too", async () => {
            const server = newServer();
            const steps = await stepCommands("broken", iisArgs());
            ok(run(server, steps.scripts), "scripts");
            const folder = server.hostPath("C:\\Creatio\\IdentityService.deploy");
            const file = fs.readdirSync(folder).find(name => name.startsWith("prerequisites-"))!;
            fs.writeFileSync(path.join(folder, file), "if ( {");
            const result = run(server, steps.prerequisites);
            assert.equal(result.code, 1);
            assert.match(result.stderr, /^runner: cannot start .*prerequisites-.*\.ps1: /);
        });

        it("a failing configuration step prints no secret and no CLIXML", async () => {
            const server = newServer();
            const steps = await stepCommands("fail", iisArgs({ appPoolIdentity: { username: ".\\svc", password: SECRETS.poolPassword } }));
            deployAll(server, steps);
            fs.writeFileSync(server.hostPath("C:\\Creatio\\IdentityService\\appsettings.json"), `{ "DatabaseConnectionString": "${SECRETS.connectionString}", `);
            const result = run(server, steps.configuration);
            assert.equal(result.code, 1);
            assert.match(result.stderr, /^configuration: appsettings\.json: /);
            for (const secret of Object.values(SECRETS).filter(secret => secret !== "")) {
                assert.ok(!result.stderr.includes(secret) && !result.stdout.includes(secret), "no secret in the output");
            }
            assert.ok(!result.stderr.includes("CLIXML"));
        });

        it("an error message in another language arrives as UTF-8", async () => {
            const server = newServer();
            const steps = await stepCommands("utf8", iisArgs({ creatioPath: "C:\\\u041a\u0440\u0435\u0430\u0442\u0438\u043e" }));
            const result = run(server, steps.scripts);
            assert.equal(result.code, 1);
            assert.ok(result.stderr.includes("C:\\\u041a\u0440\u0435\u0430\u0442\u0438\u043e does not exist"), result.stderr);
        });
    });

    describe("the runner and the upload, through the stand-in cmd.exe", () => {
        const SSH_ARGS = { connection: { host: "127.0.0.1", port: 22, user: "Administrator", privateKey: "key" } };

        for (const delayedExpansion of [false, true]) {
            it(`deploys and deletes over cmd.exe with % ! ^ & ' ( ) spaces and non-ASCII in the install path (delayed expansion ${delayedExpansion ? "on" : "off"})`, async () => {
                const server = newServer();
                const creatio = "C:\\Creatio 50% !windir! %windir% ^(a & b)' \u00fc\u540d";
                fs.mkdirSync(server.hostPath(creatio), { recursive: true });
                const steps = await stepCommands("cmd", iisArgs({ creatioPath: creatio, ...SSH_ARGS }));
                for (const name of STEP_ORDER) {
                    assert.equal(steps[name].interpreter, undefined, "remote steps: command lines through cmd.exe");
                    ok(server.runLine(steps[name].create, steps[name].stdin, { delayedExpansion }), name);
                }
                const install = server.hostPath(`${creatio}\\IdentityService`);
                assert.equal(fs.readFileSync(path.join(install, "IdentityService.dll"), "utf8"), "stand-in assembly v1");
                assert.ok(fs.readdirSync(server.hostPath(`${creatio}\\IdentityService.deploy`)).some(file => file.startsWith("install-")));
                for (const name of [...STEP_ORDER].reverse()) {
                    if (steps[name].delete !== undefined) {
                        ok(server.runLine(steps[name].delete!, steps[name].stdin, { delayedExpansion }), `${name} (delete)`);
                    }
                }
                assert.ok(!fs.existsSync(install));
                assert.ok(!fs.existsSync(server.hostPath(`${creatio}\\IdentityService.deploy`)));
            });
        }

        /** Writes a file into C:\\Creatio as the scripts step would: named after its content's SHA-256; returns its path. */
        function uploaded(server: IisServer, name: string, content: string): string {
            const file = `C:\\Creatio\\${name}-${crypto.createHash("sha256").update(content).digest("hex").slice(0, 12)}.ps1`;
            fs.writeFileSync(server.hostPath(file), `\ufeff${content}`);
            return file;
        }

        const LIBRARY = "function Get-Greeting { 'got ' }\n";

        it("passes the script's exit code, stdout, stderr and stdin through, in plain text, with the step library's functions", () => {
            const server = newServer();
            const library = uploaded(server, "step-library", LIBRARY);
            const file = uploaded(server, "probe", "$in = [Console]::In.ReadToEnd()\n[Console]::Out.Write((Get-Greeting) + $in)\n[Console]::Error.Write('warned')\nexit 7\n");
            const result = server.runLine(commandLine(scriptFileRunner(file, library, "hint")), "stdin text");
            assert.deepEqual([result.code, result.stdout, result.stderr], [7, "got stdin text", "warned"]);
            const missing = server.runLine(commandLine(scriptFileRunner("C:\\Creatio\\missing-0123456789ab.ps1", library, "hint")), "");
            assert.equal(missing.code, 1);
            assert.match(missing.stderr, /^runner: cannot start C:\\Creatio\\missing-0123456789ab\.ps1: .* \(hint\)$/m);
            const throws = uploaded(server, "throws", "throw 'boom'\n");
            const failed = server.runLine(commandLine(scriptFileRunner(throws, library, "hint")), "");
            assert.equal(failed.code, 1);
            assert.equal(failed.stderr.trim(), `runner: ${throws} failed: boom`);
            for (const output of [result, missing, failed]) {
                assert.ok(!output.stderr.includes("CLIXML"));
            }
        });

        it("exits 0 for a step that returns, whatever the last native program it ran returned (icacls without arguments: 87)", () => {
            const server = newServer();
            const library = uploaded(server, "step-library", LIBRARY);
            const file = uploaded(server, "native", "$ErrorActionPreference = 'Continue'\n& icacls.exe 2>&1 | Out-Null\n[Console]::Out.Write(\"icacls returned $LASTEXITCODE\")\n");
            const result = server.runLine(commandLine(scriptFileRunner(file, library, "hint")), "");
            assert.deepEqual([result.code, result.stdout], [0, "icacls returned 87"], result.stderr);
        });

        it("refuses a script or a step library changed on the server (its SHA-256 no longer begins with its name's hash), running nothing", () => {
            const server = newServer();
            const library = uploaded(server, "step-library", LIBRARY);
            const file = uploaded(server, "probe", "[Console]::Out.Write('ran')\n");
            for (const changed of [file, library]) {
                const original = fs.readFileSync(server.hostPath(changed));
                fs.writeFileSync(server.hostPath(changed), `${original.toString("utf8")}[Console]::Out.Write(' and more')\n`);
                const result = server.runLine(commandLine(scriptFileRunner(file, library, "hint")), "");
                assert.equal(result.code, 1, changed);
                assert.equal(result.stdout, "", `${changed}: nothing ran`);
                assert.equal(
                    result.stderr.trim(),
                    `runner: cannot start ${file}: ${changed} is not what its name says: its SHA-256 does not begin with the hash in its name (changed on this server) (hint)`,
                );
                fs.writeFileSync(server.hostPath(changed), original);
            }
            assert.equal(server.runLine(commandLine(scriptFileRunner(file, library, "hint")), "").stdout, "ran");
        });

        it("refuses a malformed upload, or a file whose content does not match its name, before writing anything", async () => {
            const server = newServer();
            const steps = await stepCommands("upload", iisArgs());
            const folder = server.hostPath("C:\\Creatio\\IdentityService.deploy");
            const lines = steps.scripts.stdin.split("\n");
            const header = lines.findIndex(line => line.startsWith("file install-"));
            const [, name, count] = /^file (\S+) (\d+)$/.exec(lines[header])!;
            const cases: [string, string, RegExp][] = [
                ["no folder line", lines.slice(1).join("\n"), /^scripts: the input does not start with a 'folder <path>' line/],
                ["no final line break", steps.scripts.stdin.slice(0, -1), /does not end in a line break/],
                ["a line count too small", lines.map((l, i) => (i === header ? `file ${name} ${Number(count) - 1}` : l)).join("\n"), new RegExp(`^scripts: the content of ${name.replace(".", "\\.")} does not match the hash in its name$`)],
                ["a line that is not a file header", lines.map((l, i) => (i === header ? `File ${name} ${count}` : l)).join("\n"), /^scripts: line \d+ is not a 'file <name>-<hash>\.<ps1\|cs> <line count>' line$/],
                ["a line count too large", lines.map((l, i) => (i === header ? `file ${name} 999999` : l)).join("\n"), new RegExp(`^scripts: ${name.replace(".", "\\.")} announces 999999 lines, but only \\d+ follow$`)],
                ["a name without its hash", lines.map((l, i) => (i === header ? `file install.ps1 ${count}` : l)).join("\n"), /is not a 'file <name>-<hash>/],
                ["a changed line", lines.map((l, i) => (i === header + 5 ? `${l} # changed` : l)).join("\n"), new RegExp(`^scripts: the content of ${name.replace(".", "\\.")} does not match the hash in its name$`)],
            ];
            for (const [what, stdin, message] of cases) {
                const result = run(server, steps.scripts, "create", stdin);
                assert.equal(result.code, 1, what);
                assert.match(result.stderr.trim(), message, what);
                assert.ok(!result.stderr.includes("CLIXML"), what);
                assert.ok(!fs.existsSync(folder), `${what}: nothing written`);
            }
            // The well-formed input writes every file with a byte order mark, and a second run writes nothing.
            const first = JSON.parse(ok(run(server, steps.scripts), "scripts").stdout);
            assert.ok(first.written.includes(name));
            assert.deepEqual([...fs.readFileSync(path.join(folder, name)).subarray(0, 3)], [0xef, 0xbb, 0xbf]);
            assert.deepEqual(JSON.parse(ok(run(server, steps.scripts), "scripts again").stdout).written, []);
            // A file changed on the server is restored to what its name says; older files stay.
            fs.writeFileSync(path.join(folder, name), "tampered");
            fs.writeFileSync(path.join(folder, "install-000000000000.ps1"), "an older version\n");
            assert.deepEqual(JSON.parse(ok(run(server, steps.scripts), "scripts restores").stdout).written, [name]);
            assert.ok(fs.existsSync(path.join(folder, "install-000000000000.ps1")));
        });
    });

    describe("readiness on the server", () => {
        /**
         * The gate against an OAuth server standing for the site: over https with `tls` (then the site's https port,
         * and a thumbprint the package knows that is not the served certificate's).
         */
        async function gate(secretOnServer: string, failing = false, refusedScope?: string, tls?: { cert: string; key: string; caCertificate?: string }) {
            const oauth = await oauthServer("pwsh-client-0123456789", secretOnServer, failing, refusedScope, tls);
            try {
                const server = newServer();
                const site = tls ? { port: 8090, https: { port: oauth.port, certificateThumbprint: "AB".repeat(20) } } : { port: oauth.port };
                // A TLS handshake and chain build on a loaded machine take longer than plain requests.
                const steps = await stepCommands("ready", iisArgs(site, { readiness: { timeoutSeconds: tls ? 15 : 4, caCertificate: tls?.caCertificate } }));
                ok(run(server, steps.scripts), "scripts");
                return await server.runLocalAsync(steps.readiness.interpreter!, steps.readiness.create, steps.readiness.stdin);
            } finally {
                await oauth.close();
            }
        }

        it("passes once discovery answers and the configured client gets a token", async () => {
            const result = await gate(SECRETS.clientSecret);
            assert.equal(result.code, 0, result.stderr);
            assert.match(result.stdout, /"tokenVerified":true/);
            const output = JSON.parse(result.stdout);
            assert.equal(output.tokenVerified, true);
            assert.match(output.issuer, /^http:\/\/localhost:\d+$/);
        });

        it("fails with advice, and without the secret, when the service refuses the client", async () => {
            const result = await gate("Another-Secret-On-The-Server-000");
            assert.equal(result.code, 1);
            assert.match(result.stderr, /^readiness: Identity Service at http:\/\/localhost:\d+ was not ready after 4 s: the client_credentials token request .* with error "invalid_client"\. The token endpoint rejected the credentials/);
            assert.ok(!result.stderr.includes(SECRETS.clientSecret) && !result.stdout.includes(SECRETS.clientSecret));
            assert.ok(!result.stderr.includes("CLIXML"));
        });

        it("asks for the scopes Creatio asks for, and names them when the service answers invalid_scope", async () => {
            // 8.2.3's system actions ask for the documented scopes; the user operations (activate_user ...) are allowed, not asked for.
            const result = await gate(SECRETS.clientSecret, false, "find_clients");
            assert.equal(result.code, 1);
            assert.match(result.stderr, /with error "invalid_scope"\. The token endpoint refused the scopes register_own_resource .*find_clients.* IdentityServerApi for client "pwsh-client-0123456789"/);
            assert.doesNotMatch(result.stderr, /activate_user/);
            assert.match(result.stderr, /AllowedScopes/);
            assert.ok(!result.stderr.includes(SECRETS.clientSecret));
        });

        describe("over https, with a binding certificate a private CA issued", () => {
            let pki: ReturnType<typeof makeCaIssuedCertificate>;
            before(() => {
                pki = makeCaIssuedCertificate();
            });

            /** A renewed binding: the CA issued the served certificate, and the thumbprint the package knows is another's. */
            const httpsGate = (caCertificate?: string) => gate(SECRETS.clientSecret, false, undefined, { cert: pki.certPem, key: pki.keyPem, caCertificate });

            it("trusts a certificate that chains to readiness.caCertificate", async () => {
                const result = await httpsGate(pki.caPem);
                assert.equal(result.code, 0, result.stderr);
                const output = JSON.parse(result.stdout);
                assert.equal(output.tokenVerified, true);
                assert.match(output.issuer, /^https:\/\/localhost:\d+$/);
            });

            it("refuses it without the CA, or with another CA: verification is never skipped", async () => {
                for (const caCertificate of [undefined, pki.otherCaPem]) {
                    const result = await httpsGate(caCertificate);
                    assert.equal(result.code, 1, result.stdout);
                    assert.match(result.stderr, /the discovery document at https:\/\/localhost:\d+\/\.well-known\/openid-configuration did not succeed; last seen: TLS error: .*Check the certificate the site presents/s);
                }
            });
        });

        it("names the IIS restart a freshly installed hosting bundle needs when the site answers 500", async () => {
            const result = await gate(SECRETS.clientSecret, true);
            assert.equal(result.code, 1);
            assert.match(result.stderr, /last seen: HTTP 500.*The service answers but fails: .* On IIS, HTTP 500\.30-500\.37 right after installing the hosting bundle means IIS has not been restarted since: run net stop was \/y, then net start w3svc\./s);
        });
    });

    describe("over a real SSH connection (OpenSSH on loopback, key authentication)", () => {
        let server: IisServer;
        let ssh: SshServer;

        before(async () => {
            server = newServer();
            const environment = server.environment();
            ssh = await SshServer.start(
                Object.fromEntries(Object.entries(environment).filter((entry): entry is [string, string] => entry[1] !== undefined)),
            );
        });

        after(() => ssh?.stop());

        it("deploys and deletes with the command lines the component sends, passing stdin, exit codes and stderr", async () => {
            const steps = await stepCommands("ssh", iisArgs({ connection: { host: "127.0.0.1", port: ssh.port, user: "Administrator", privateKey: "key" } }));
            assert.equal(steps.scripts.interpreter, undefined);
            for (const name of STEP_ORDER) {
                if (name === "scripts") {
                    assert.match(steps[name].create, /^powershell\.exe -NoProfile -NonInteractive -ExecutionPolicy Bypass -EncodedCommand [A-Za-z0-9+/=]+$/);
                } else {
                    assert.match(steps[name].create, /^powershell\.exe -NoProfile -NonInteractive -ExecutionPolicy Bypass -Command "\$file='C:\\Creatio\\IdentityService\.deploy\\[a-z-]+-[0-9a-f]{12}\.ps1';[^"]*"$/);
                }
                ok(await ssh.run(steps[name].create, steps[name].stdin), `${name} over SSH`);
            }
            assert.match(server.runtime(), /<site name="IdentityService-ssh" state="Started"/);
            // A failing step keeps its exit code and its plain-text message on the way back.
            const taken = await stepCommands("ssh", iisArgs({ port: 8080, connection: { host: "127.0.0.1", port: ssh.port, user: "Administrator", privateKey: "key" } }));
            const refused = await ssh.run(taken.site.create, taken.site.stdin);
            assert.equal(refused.code, 1);
            assert.equal(refused.stderr.trim(), "site: port 8080 is already bound by the IIS site 'Creatio': choose another iis.port or iis.https.port");
            for (const name of [...STEP_ORDER].reverse()) {
                if (steps[name].delete !== undefined) {
                    ok(await ssh.run(steps[name].delete!, steps[name].stdin), `${name} (delete) over SSH`);
                }
            }
            assert.ok(!server.config().includes("IdentityService-ssh"));
            assert.ok(!fs.existsSync(server.hostPath("C:\\Creatio\\IdentityService")));
        });
    });
});

function deployAllUntil(server: IisServer, steps: Record<StepName, StepCommand>, last: StepName): void {
    for (const name of STEP_ORDER) {
        ok(run(server, steps[name]), name);
        if (name === last) {
            return;
        }
    }
}

