// Every IIS step and delete script, run for real in PowerShell (pwsh 7 from the project's dotnet tool manifest,
// standing for powershell.exe) exactly as the component sends it, against a stand-in IIS and Windows server
// (test/fixtures/iis-server). Run with `npm run test:pwsh`; it needs the .NET SDK.
import { strict as assert } from "assert";
import * as fs from "fs";
import * as http from "http";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { DatabaseProvider, DeploymentTarget, IdentityServiceArgs, IisDeployment } from "../src";
import { installInput } from "../src/targets/iis";
import { commandLine, POWERSHELL, scriptFileRunner } from "../src/powershell";
import { IisServer, NET8_RUNTIMES, pwsh, RunResult, ServerLayout } from "./support/iisServer";
import { SshServer } from "./support/sshServer";
import { STEP_ORDER, StepCommand, stepCommands, StepName } from "./iisSteps";

const SECRETS = {
    connectionString: "Host=db;Database=creatio;Username=ids;Password=Pwsh-Conn-Secret-7731;",
    clientSecret: "PwshClientSecret-0123456789abcdefXYZ",
    poolPassword: "Pool-Pa$$w0rd-'q'-`t`;s\"d\u00e9",
    rotatedPoolPassword: "Rotated-Pool-Secret-2291",
    pfxPassword: "",
};

const SIGNING_PFX = path.join(__dirname, "fixtures", "certificates", "signing.pfx");
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

const servers: IisServer[] = [];
let ARCHIVE: string;
let ARCHIVE_V2: string;

describe("IIS steps in PowerShell against a stand-in IIS", function () {
    this.timeout(600000);

    before(() => {
        ARCHIVE = makeArchive("archive-v1", "v1");
        ARCHIVE_V2 = makeArchive("archive-v2", "v2");
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
            assert.deepEqual(fs.readFileSync(path.join(install, "signing-certificate.pfx")), fs.readFileSync(SIGNING_PFX));
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
            assert.deepEqual(fs.readFileSync(path.join(installPath, "signing-certificate.pfx")), fs.readFileSync(SIGNING_PFX), "the PFX is kept");
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
            assert.match(server.config(), new RegExp(`protocol="https" bindingInformation="\\*:8443:" certificateHash="${first.thumbprint}" certificateStoreName="My"`));
            assert.match(server.runtime(), new RegExp(`<sslcert endpoint="0.0.0.0:8443" hash="${first.thumbprint}" store="My"`));
            const before = snapshot(server);
            ok(run(server, withFirst.site), "site again");
            assert.equal(snapshot(server).commits, before.commits, "the second run commits nothing");
            const withSecond = await stepCommands("upd", iisArgs({ https: { port: 8443, certificateThumbprint: second.thumbprint } }));
            ok(run(server, withSecond.site), "site with the new certificate");
            assert.match(server.config(), new RegExp(`certificateHash="${second.thumbprint}" certificateStoreName="WebHosting"`));
            assert.match(server.runtime(), new RegExp(`<sslcert endpoint="0.0.0.0:8443" hash="${second.thumbprint}" store="WebHosting"`));
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
            assert.match(ok(run(server, steps.scripts, "delete"), "scripts (delete) of the replaced step").stdout, /^kept C:\\Creatio\\IdentityService\.deploy: /);
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

        it("passes the script's exit code, stdout, stderr and stdin through, in plain text", () => {
            const server = newServer();
            const file = "C:\\Creatio\\probe-0123456789ab.ps1";
            fs.writeFileSync(
                server.hostPath(file),
                "$in = [Console]::In.ReadToEnd()\n[Console]::Out.Write('got ' + $in)\n[Console]::Error.Write('warned')\nexit 7\n",
            );
            const result = server.runLine(commandLine(scriptFileRunner(file, "hint")), "stdin text");
            assert.deepEqual([result.code, result.stdout, result.stderr], [7, "got stdin text", "warned"]);
            const missing = server.runLine(commandLine(scriptFileRunner(file.replace("probe", "missing"), "hint")), "");
            assert.equal(missing.code, 1);
            assert.match(missing.stderr, /^runner: cannot start C:\\Creatio\\missing-0123456789ab\.ps1: .* \(hint\)$/m);
            fs.writeFileSync(server.hostPath(file.replace("probe", "throws")), "throw 'boom'\n");
            const failed = server.runLine(commandLine(scriptFileRunner(file.replace("probe", "throws"), "hint")), "");
            assert.equal(failed.code, 1);
            assert.equal(failed.stderr.trim(), "runner: C:\\Creatio\\throws-0123456789ab.ps1 failed: boom");
            for (const output of [result, missing, failed]) {
                assert.ok(!output.stderr.includes("CLIXML"));
            }
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
         * An OAuth 2.0 server as the readiness check meets it: OpenID Connect discovery (issuer, token_endpoint) and a
         * client_credentials token endpoint (RFC 6749 4.4) that knows one client.
         */
        async function oauthServer(
            clientId: string,
            clientSecret: string,
            failing = false,
            refusedScope?: string,
        ): Promise<{ port: number; scopes: (string | null)[]; close(): Promise<void> }> {
            const scopes: (string | null)[] = [];
            const server = http.createServer((request, response) => {
                const port = (server.address() as net.AddressInfo).port;
                if (failing) {
                    // What ASP.NET Core Module answers when the app cannot start (500.30-500.37).
                    response.writeHead(500, { "content-type": "text/html" });
                    response.end("<h1>HTTP Error 500.30 - ASP.NET Core app failed to start</h1>");
                    return;
                }
                if (request.method === "GET" && request.url === "/.well-known/openid-configuration") {
                    response.writeHead(200, { "content-type": "application/json" });
                    response.end(JSON.stringify({ issuer: `http://localhost:${port}`, token_endpoint: `http://localhost:${port}/connect/token` }));
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
            });
            await new Promise<void>(resolve => server.listen(0, "127.0.0.1", resolve));
            return { port: (server.address() as net.AddressInfo).port, scopes, close: () => new Promise(resolve => server.close(() => resolve())) };
        }

        async function gate(secretOnServer: string, failing = false, refusedScope?: string) {
            const oauth = await oauthServer("pwsh-client-0123456789", secretOnServer, failing, refusedScope);
            try {
                const server = newServer();
                const steps = await stepCommands("ready", iisArgs({ port: oauth.port }, { readiness: { timeoutSeconds: 4 } }));
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
            const result = await gate(SECRETS.clientSecret, false, "activate_user");
            assert.equal(result.code, 1);
            assert.match(result.stderr, /with error "invalid_scope"\. The token endpoint refused the scopes register_own_resource .*activate_user.* IdentityServerApi for client "pwsh-client-0123456789"/);
            assert.match(result.stderr, /AllowedScopes/);
            assert.ok(!result.stderr.includes(SECRETS.clientSecret));
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

