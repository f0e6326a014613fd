// The IIS deployment end to end over a real SSH connection (Debian's OpenSSH on loopback, key authentication), with
// pwsh standing for powershell.exe on the stand-in Windows server (test/fixtures/iis-server), where starting the site
// starts the stand-in Identity Service (test/fixtures/identity-service) extracted from a real IdentityService.zip,
// against a real PostgreSQL (test/e2e/infra/start-postgres.sh): first deploy, readiness on the host, rotation of the
// client, destroy. Each step runs as the component sends it (command line and stdin), in the engine's order.
import { strict as assert } from "assert";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { DatabaseProvider, DeploymentTarget, IdentityServiceArgs } from "../src";
import { clientConfig, createScratchDatabase, readPostgresEnv, ScratchDatabase, withClient } from "./e2e/infra/postgres";
import { STEP_ORDER, StepCommand, stepCommands, StepName } from "./iisSteps";
import { identityServiceArchive } from "./support/identityServiceArchive";
import { IisServer, RunResult } from "./support/iisServer";
import { SshServer } from "./support/sshServer";
import { freePort } from "./support/freePort";

const REPOSITORY = path.join(__dirname, "..");


function listening(port: number): Promise<boolean> {
    return new Promise(resolve => {
        const socket = net.connect(port, "127.0.0.1", () => {
            socket.end();
            resolve(true);
        });
        socket.on("error", () => resolve(false));
    });
}

describe("IIS deployment end to end over SSH, with the stand-in Identity Service", function () {
    this.timeout(900000);
    const work = fs.mkdtempSync(path.join(os.tmpdir(), "iis-pwsh-e2e-"));
    let database: ScratchDatabase;
    let server: IisServer;
    let ssh: SshServer;
    let sitePort: number;

    before(async () => {
        const postgres = readPostgresEnv();
        database = await createScratchDatabase(postgres, "iis_pwsh");
        server = new IisServer({
            // The archive stands for 8.2.3's IdentityService.zip, the version deployed below (no ForceHttpsSchemeInRequests yet).
            environment: { IIS_STANDIN_HOSTING: "1", NODE_PATH: path.join(REPOSITORY, "node_modules"), STANDIN_CREATIO_VERSION: "8.2.3" },
        });
        fs.copyFileSync(identityServiceArchive(work), server.hostPath("C:\\Packages\\IdentityService.zip"));
        const environment = Object.fromEntries(Object.entries(server.environment()).filter((entry): entry is [string, string] => entry[1] !== undefined));
        ssh = await SshServer.start(environment);
        sitePort = await freePort();
    });

    after(async () => {
        // A service a failed test left running is stopped here (the destroy test stops it otherwise).
        for (const match of server?.runtime().matchAll(/pid="(\d+)"/g) ?? []) {
            try {
                process.kill(Number(match[1]));
            } catch {
                // already gone
            }
        }
        ssh?.stop();
        server?.dispose();
        await database?.drop();
        fs.rmSync(work, { recursive: true, force: true });
    });

    function args(client: { id: string; secret: string }, more: Partial<IdentityServiceArgs> = {}): IdentityServiceArgs {
        const postgres = readPostgresEnv();
        return {
            target: DeploymentTarget.Iis,
            creatioVersion: "8.2.3",
            database: {
                provider: DatabaseProvider.Postgres,
                connectionString: `Server=${postgres.host};Port=${postgres.port};Database=${database.name};User ID=${postgres.user};Password=${postgres.password};`,
            },
            client: { ...client, reseed: false },
            signingCertificate: { path: path.join(REPOSITORY, "test", "fixtures", "certificates", "signing.pfx") },
            readiness: { timeoutSeconds: 60 },
            iis: {
                creatioPath: "C:\\Creatio",
                archivePath: "C:\\Packages\\IdentityService.zip",
                port: sitePort,
                connection: { host: "127.0.0.1", port: ssh.port, user: os.userInfo().username, privateKey: "the test's key" },
            },
            ...more,
        };
    }

    async function run(step: StepCommand, which: "create" | "delete" = "create"): Promise<RunResult> {
        const result = await ssh.run(which === "create" ? step.create : step.delete!, step.stdin);
        assert.equal(result.code, 0, `${step.resource} ${which} over SSH failed (${result.code}):\n${result.stderr}${result.stdout}`);
        return result;
    }

    async function up(steps: Record<StepName, StepCommand>, only?: StepName[]): Promise<Record<string, RunResult>> {
        const results: Record<string, RunResult> = {};
        for (const name of [...STEP_ORDER, "readiness"] as StepName[]) {
            if (!only || only.includes(name)) {
                results[name] = await run(steps[name]);
            }
        }
        return results;
    }

    const first = { id: "e2e-client-first-0001", secret: "E2e-First-Secret-0123456789abcdef" };
    const second = { id: "e2e-client-second-002", secret: "E2e-Second-Secret-0123456789abcde" };

    it("first deploy: every step over SSH, the site starts the service, and readiness gets a token on the host", async () => {
        const results = await up(await stepCommands("e2e", args(first)));
        const ready = JSON.parse(results.readiness.stdout);
        assert.equal(ready.tokenVerified, true);
        assert.ok(await listening(sitePort), "the site's application listens on the site's port");
        assert.match(server.runtime(), /<site name="IdentityService-e2e" state="Started" pid="\d+"/);
    });

    it("rotation: the configuration step restarts the service with the new client, and readiness gets a token for it", async () => {
        const before = /pid="(\d+)"/.exec(/<site name="IdentityService-e2e"[^>]*>/.exec(server.runtime())![0])![1];
        // With client.reseed false, what README tells the user to do for a new client: delete the client rows, so that
        // the restarted service seeds the configured client (into an empty table, the stand-in's default rule).
        await withClient(clientConfig(readPostgresEnv(), database.name), client => client.query('TRUNCATE "Clients" CASCADE'));
        // A new client changes only the configuration step's input (and the readiness check's).
        const results = await up(await stepCommands("e2e", args(second)), ["configuration", "readiness"]);
        assert.equal(JSON.parse(results.configuration.stdout).appSettings, "changed");
        assert.equal(JSON.parse(results.readiness.stdout).tokenVerified, true);
        const after = /pid="(\d+)"/.exec(/<site name="IdentityService-e2e"[^>]*>/.exec(server.runtime())![0])![1];
        assert.notEqual(after, before, "the recycle restarted the service");
    });

    // Creatio reaches the site through a TLS-terminating proxy at this address.
    const PUBLIC_URL = "https://ids.example.test";

    it("behind a proxy with forwarded headers off: the gate fails, naming the advertised issuer, publicUrl and the fix", async () => {
        const steps = await stepCommands("e2e", args(second, { publicUrl: PUBLIC_URL, proxy: { forwardedHeaders: false }, readiness: { timeoutSeconds: 5 } }));
        await up(steps, ["configuration"]);
        const gate = await ssh.run(steps.readiness.create, steps.readiness.stdin);
        assert.equal(gate.code, 1, gate.stdout);
        assert.match(
            gate.stderr,
            /^readiness: Identity Service at http:\/\/localhost:\d+ was not ready after 5 s: it advertises the issuer http:\/\/ids\.example\.test, but Creatio is given https:\/\/ids\.example\.test \(publicUrl, or url without one\)/,
        );
        assert.match(gate.stderr, /This check asked the service the way a proxy forwards Creatio's request \(Host: ids\.example\.test, X-Forwarded-Proto: https\)\. The service does not know that Creatio reaches it over https/);
        assert.match(gate.stderr, /turn on forwarded headers \(proxy\.forwardedHeaders/);
        assert.ok(!gate.stderr.includes(second.secret));
    });

    it("behind a proxy: the site gets ASPNETCORE_FORWARDEDHEADERS_ENABLED, and the gate sees publicUrl as the issuer", async () => {
        const results = await up(await stepCommands("e2e", args(second, { publicUrl: PUBLIC_URL })), ["configuration", "readiness"]);
        const webConfig = fs.readFileSync(server.hostPath("C:\\Creatio\\IdentityService\\web.config"), "utf8");
        assert.match(webConfig, /<environmentVariable name="ASPNETCORE_FORWARDEDHEADERS_ENABLED" value="true" \/>/);
        const ready = JSON.parse(results.readiness.stdout);
        assert.deepEqual([ready.issuer, ready.issuerVerified, ready.tokenVerified], [PUBLIC_URL, true, true]);
    });

    it("destroy: the deletes over SSH stop the service and remove the site, pool and folders", async () => {
        const steps = await stepCommands("e2e", args(second));
        for (const name of [...STEP_ORDER].reverse()) {
            if (steps[name].delete !== undefined) {
                await run(steps[name], "delete");
            }
        }
        assert.equal(await listening(sitePort), false, "the service stopped with its site");
        assert.ok(!server.config().includes("IdentityService-e2e"));
        assert.ok(!fs.existsSync(server.hostPath("C:\\Creatio\\IdentityService")));
        assert.ok(!fs.existsSync(server.hostPath("C:\\Creatio\\IdentityService.deploy")));
    });
});
