// iis.detectDrift end to end over a real SSH connection (Debian's OpenSSH on loopback, key authentication) against the
// stand-in IIS (test/fixtures/iis-server): the program is built under Pulumi's mocks, whose invoke runs
// `command:local:run` as the command provider does (test/emulator/providers/command.ts `invokeLocalRun`), so the
// read-back really runs on every "preview": ssh-run.js signs in with the connection's private key and runs drift.ps1
// through the stand-in cmd.exe. A preview is what the command provider's diff makes of it (any changed input of a
// step is an update, as test/emulator/providers/rules.ts says); `up` runs the changed steps' commands over SSH, in
// the engine's order. Deploy, a clean preview, a hand edit on the server, a preview with exactly that step changed,
// up repairing it, a clean preview again.
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { DatabaseProvider, DeploymentTarget, IdentityServiceArgs } from "../src";
import { invokeLocalRun } from "./emulator/providers/command";
import { stableJson } from "./emulator/providers/rules";
import { STEP_ORDER, StepCommand, stepCommands, StepName } from "./iisSteps";
import { identityServiceArchive } from "./support/identityServiceArchive";
import { IisServer, pwsh } from "./support/iisServer";
import { onInvoke } from "./support/mocks";
import { SshServer } from "./support/sshServer";
import { freePort } from "./support/freePort";

const REPOSITORY = path.join(__dirname, "..");
const CONNECTION_STRING = "Server=db;Port=5432;Database=ids;User ID=ids;Password=Drift-Db-Password-0123;";
const CLIENT = { id: "drift-client-000001", secret: "Drift-Client-Secret-0123456789abcd" };

describe("IIS drift detection end to end over SSH, against the stand-in IIS", function () {
    this.timeout(900000);
    const work = fs.mkdtempSync(path.join(os.tmpdir(), "iis-drift-e2e-"));
    let server: IisServer;
    let ssh: SshServer;
    let sitePort: number;
    /** The inputs of each step after the last `up`: the state a preview diffs against. */
    let state: Partial<Record<StepName, StepCommand>> = {};
    /** Every read-back the program ran: its command line and output, to check that none carries a secret. */
    const readBacks: { command: string; stdout: string; stderr: string }[] = [];

    before(async () => {
        server = new IisServer();
        fs.copyFileSync(identityServiceArchive(work, { service: false }), server.hostPath("C:\\Packages\\IdentityService.zip"));
        const environment = Object.fromEntries(Object.entries(server.environment()).filter((entry): entry is [string, string] => entry[1] !== undefined));
        ssh = await SshServer.start(environment);
        sitePort = await freePort();
        onInvoke(async args => {
            assert.equal(args.token, "command:local:run", "the only invoke is the read-back");
            const result = await invokeLocalRun(args.inputs, {
                pwd: process.cwd(),
                urn: args.token,
                timeoutSeconds: 0,
                log: () => undefined,
            });
            readBacks.push({ command: String(result.command), stdout: String(result.stdout), stderr: String(result.stderr) });
            return result;
        });
    });

    after(() => {
        onInvoke();
        ssh?.stop();
        server?.dispose();
        fs.rmSync(work, { recursive: true, force: true });
    });

    function args(): IdentityServiceArgs {
        return {
            target: DeploymentTarget.Iis,
            creatioVersion: "8.2.3",
            database: { provider: DatabaseProvider.Postgres, connectionString: CONNECTION_STRING },
            client: { ...CLIENT, reseed: false },
            signingCertificate: { path: path.join(REPOSITORY, "test", "fixtures", "certificates", "signing.pfx") },
            readiness: { enabled: false },
            iis: {
                creatioPath: "C:\\Creatio",
                archivePath: "C:\\Packages\\IdentityService.zip",
                port: sitePort,
                connection: { host: "127.0.0.1", port: ssh.port, user: os.userInfo().username, privateKey: ssh.clientKey() },
                detectDrift: true,
            },
        };
    }

    /** A preview: the program runs (and with it the read-back), and each step whose inputs differ is a change. */
    async function preview(): Promise<{ steps: Record<StepName, StepCommand>; changed: StepName[] }> {
        const steps = await stepCommands("drift", args());
        const changed = STEP_ORDER.filter(name => state[name] === undefined || stableJson(state[name]) !== stableJson(steps[name]));
        return { steps, changed };
    }

    /** `pulumi up`: the changed steps run (an update runs the same command as a create), in the engine's order. */
    async function up(): Promise<StepName[]> {
        const { steps, changed } = await preview();
        for (const name of changed) {
            const result = await ssh.run(steps[name].create, steps[name].stdin);
            assert.equal(result.code, 0, `${name} over SSH failed (${result.code}):\n${result.stderr}${result.stdout}`);
        }
        state = steps;
        return changed;
    }

    function driftToken(step: StepCommand): string {
        return JSON.parse(step.stdin).drift.token;
    }

    it("deploys every step, and a preview right after shows no change", async () => {
        assert.deepEqual(await up(), [...STEP_ORDER]);
        const { changed } = await preview();
        assert.deepEqual(changed, [], "an unchanged server reads back as it was left");
    });

    it("a binding changed by hand: the preview shows only the site step changed, up repairs it, the next preview is clean", async () => {
        const otherPort = await freePort();
        pwsh(
            `Import-Module WebAdministration; $m = New-Object Microsoft.Web.Administration.ServerManager; ` +
                `$b = $m.Sites['IdentityService-drift'].Bindings; $b.Remove($b[0]); $b.Add('*:${otherPort}:', 'http') | Out-Null; $m.CommitChanges()`,
            server.environment(),
        );
        assert.ok(server.config().includes(`*:${otherPort}:`), "the hand edit reached applicationHost.config");
        const { steps, changed } = await preview();
        assert.deepEqual(changed, ["site"]);
        assert.match(driftToken(steps.site), /^changed: bindings \([0-9a-f]{12}\)$/);
        assert.deepEqual(await up(), ["site"]);
        assert.ok(server.config().includes(`*:${sitePort}:`) && !server.config().includes(`*:${otherPort}:`), "the site step put the binding back");
        assert.deepEqual((await preview()).changed, []);
    });

    it("the pool's identity changed by hand: only the app-pool step changes, and up repairs it", async () => {
        pwsh(
            `Import-Module WebAdministration; $m = New-Object Microsoft.Web.Administration.ServerManager; ` +
                `$m.ApplicationPools['IdentityService-drift'].ProcessModel.IdentityType = [Microsoft.Web.Administration.ProcessModelIdentityType]::LocalSystem; $m.CommitChanges()`,
            server.environment(),
        );
        const { steps, changed } = await preview();
        assert.deepEqual(changed, ["app-pool"]);
        assert.match(driftToken(steps["app-pool"]), /^changed: identity \([0-9a-f]{12}\)$/);
        assert.deepEqual(await up(), ["app-pool"]);
        assert.doesNotMatch(server.config(), /identityType="LocalSystem"/);
        assert.deepEqual((await preview()).changed, []);
    });

    it("web.config edited by hand: only the configuration step changes, up writes it again, the next preview is clean", async () => {
        const webConfig = server.hostPath("C:\\Creatio\\IdentityService\\web.config");
        const original = fs.readFileSync(webConfig, "utf8");
        fs.writeFileSync(webConfig, original.replace('stdoutLogEnabled="false"', 'stdoutLogEnabled="true"'));
        const { steps, changed } = await preview();
        assert.deepEqual(changed, ["configuration"]);
        assert.match(driftToken(steps.configuration), /^changed: web\.config \([0-9a-f]{12}\)$/);
        assert.deepEqual(await up(), ["configuration"]);
        assert.equal(fs.readFileSync(webConfig, "utf8"), original, "the configuration step patched it back");
        assert.deepEqual((await preview()).changed, []);
    });

    it("the same hand edit a second time is seen again (the token is new, not the one it repaired last time)", async () => {
        const otherPort = await freePort();
        const edit = () =>
            pwsh(
                `Import-Module WebAdministration; $m = New-Object Microsoft.Web.Administration.ServerManager; ` +
                    `$b = $m.Sites['IdentityService-drift'].Bindings; $b.Remove($b[0]); $b.Add('*:${otherPort}:', 'http') | Out-Null; $m.CommitChanges()`,
                server.environment(),
            );
        edit();
        assert.deepEqual(await up(), ["site"]);
        edit();
        assert.deepEqual((await preview()).changed, ["site"]);
        assert.deepEqual(await up(), ["site"]);
        assert.deepEqual((await preview()).changed, []);
    });

    it("no read-back carried a secret, in its command line or its output", () => {
        assert.ok(readBacks.length >= 10, `the read-back ran on every run (${readBacks.length} times)`);
        const secrets = [CONNECTION_STRING, "Drift-Db-Password-0123", CLIENT.secret, ssh.clientKey().trim(), ...ssh.clientKey().split("\n").filter(line => line.length > 20)];
        for (const run of readBacks) {
            for (const secret of secrets) {
                for (const text of [run.command, run.stdout, run.stderr]) {
                    assert.ok(!text.includes(secret), "a read-back's command line or output holds a secret");
                }
            }
        }
    });
});
