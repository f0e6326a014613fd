// iis.detectDrift under Pulumi mocks: the read-back's input and output, what each step's standard input carries with
// the option on (and that nothing changes with it off), that a new token of one part changes exactly that step, how
// the read-back travels (PowerShell here, ssh-run.js over SSH with the connection on stdin only), and the argument
// checks. drift.ps1 itself runs against the stand-in IIS in test/iisDrift.pwsh.test.ts.
import "../support/mocks";
import { strict as assert } from "assert";
import * as pulumi from "@pulumi/pulumi";
import { DatabaseProvider, DeploymentTarget, IdentityService, IdentityServiceArgs, IisDeployment } from "../../src";
import {
    driftInput,
    driftRecordPath,
    driftScript,
    DriftTokens,
    expectedAppPoolState,
    expectedSiteState,
    parseDriftTokens,
} from "../../src/targets/iisDrift";
import { decodeCommand, MAX_COMMAND_LINE, encodedCommandLine, POWERSHELL } from "../../src/powershell";
import { readScript } from "../../src/packagedScripts";
import { isSecretInput, onInvoke, Recorder, registered, resetMocks, settle, valueOf } from "../support/mocks";

const CONNECTION_STRING = "Host=db;Database=creatio;Username=ids;Password=Drift-Conn-Secret-7731;";
const CLIENT_SECRET = "DriftClientSecret-0123456789abcdefXYZ";
const SSH_PASSWORD = "Ssh-Drift-Secret-2208";
const DIR = "C:\\Creatio\\IdentityService.deploy";

function iisArgs(iis: Partial<IisDeployment> = {}): IdentityServiceArgs {
    return {
        target: DeploymentTarget.Iis,
        creatioVersion: "8.2.3",
        database: { provider: DatabaseProvider.Postgres, connectionString: CONNECTION_STRING },
        client: { secret: CLIENT_SECRET },
        iis: { creatioPath: "C:\\Creatio", archivePath: "C:\\Packages\\IdentityService.zip", port: 8090, ...iis },
    };
}

interface Invoked {
    readonly token: string;
    readonly inputs: Record<string, unknown>;
}

/** Builds the program with the read-back answering `tokens`; returns the recorded resources and the invokes made. */
async function build(name: string, args: IdentityServiceArgs, tokens: DriftTokens = { site: "s0", appPool: "p0", configuration: "c0" }) {
    const invoked: Invoked[] = [];
    onInvoke(call => {
        invoked.push({ token: call.token, inputs: call.inputs });
        return { ...call.inputs, stdout: JSON.stringify(tokens), stderr: "" };
    });
    try {
        resetMocks();
        const recorder = new Recorder();
        const service = new IdentityService(name, args, { transformations: [recorder.transformation] });
        await valueOf(service.url);
        const stdin = async (step: string) => String(await valueOf(recorder.byName(`${name}-iis-${step}`).props.stdin as pulumi.Input<string>));
        const steps: Record<string, string> = {};
        for (const step of ["scripts", "prerequisites", "install", "app-pool", "site", "configuration"]) {
            steps[step] = await stdin(step);
        }
        return { recorder, invoked, steps };
    } finally {
        onInvoke();
    }
}

describe("IIS drift detection: the read-back's data", () => {
    it("expects the site's folder, pool and bindings, sorted as drift.ps1 sorts them (ordinal)", () => {
        assert.equal(
            expectedSiteState({ physicalPath: "C:\\Creatio\\IdentityService", appPoolName: "pool", port: 8090 }),
            "path=C:\\Creatio\\IdentityService|pool=pool|bindings=http *:8090:",
        );
        assert.equal(
            expectedSiteState({ physicalPath: "C:\\ids", appPoolName: "p", port: 8090, https: { port: 443, certificateThumbprint: "AB".repeat(20) } }),
            `path=C:\\ids|pool=p|bindings=http *:8090:,https *:443: ${"AB".repeat(20)}`,
        );
    });

    it("expects the pool's identity by name only (never its password), No Managed Code, Integrated, 64-bit, Load User Profile", () => {
        assert.equal(expectedAppPoolState({ loadUserProfile: true }), "identity=ApplicationPoolIdentity|runtime=|pipeline=Integrated|32bit=False|profile=True");
        assert.equal(
            expectedAppPoolState({ loadUserProfile: false, username: "CORP\\svc-ids" }),
            "identity=SpecificUser:CORP\\svc-ids|runtime=|pipeline=Integrated|32bit=False|profile=False",
        );
    });

    it("sends one tab-separated line per part, with its record file in the upload folder", () => {
        const text = driftInput({
            scriptsDir: DIR,
            siteName: "site",
            site: "path=C:\\x|pool=p|bindings=http *:1:",
            appPoolName: "p",
            appPool: "identity=ApplicationPoolIdentity",
            files: ["C:\\x\\appsettings.json", "C:\\x\\web.config"],
        });
        assert.equal(
            text,
            `site\t${DIR}\\drift-site.txt\tpath=C:\\x|pool=p|bindings=http *:1:\tsite\n` +
                `appPool\t${DIR}\\drift-appPool.txt\tidentity=ApplicationPoolIdentity\tp\n` +
                `configuration\t${DIR}\\drift-configuration.txt\t\tC:\\x\\appsettings.json\tC:\\x\\web.config\n`,
        );
        assert.throws(
            () => driftInput({ scriptsDir: DIR, siteName: "a\tb", site: "", appPoolName: "p", appPool: "", files: [] }),
            /cannot hold a tab or line break/,
        );
    });

    it("reads a token for each part, and refuses any other output, naming the option", () => {
        assert.deepEqual(parseDriftTokens('{"site":"a","appPool":"","configuration":"changed: web.config (0123456789ab)"}\r\n'), {
            site: "a",
            appPool: "",
            configuration: "changed: web.config (0123456789ab)",
        });
        for (const bad of ["", "not json", '{"site":"a","appPool":"b"}', '{"site":"a","appPool":"b","configuration":null}']) {
            assert.throws(() => parseDriftTokens(bad), /the IIS drift read-back \(iis\.detectDrift\) printed .*not a token for each of site, appPool, configuration/);
        }
    });

    it("travels inline within cmd.exe's line limit, as the packaged drift.ps1 minified", () => {
        assert.ok(driftScript().length > 0);
        assert.ok(readScript("iis/drift.ps1").includes("$ErrorActionPreference = 'Stop'"));
        const line = encodedCommandLine(driftScript());
        assert.ok(line.length <= MAX_COMMAND_LINE, `the read-back's command line is ${line.length} characters`);
    });
});

describe("IIS drift detection: the steps", () => {
    beforeEach(resetMocks);

    it("is off by default: no read-back runs and every step's input is what it was without the option", async () => {
        const off = await build("drift-off", iisArgs());
        assert.deepEqual(off.invoked, []);
        for (const step of ["app-pool", "site", "configuration"]) {
            assert.equal(JSON.parse(off.steps[step]).drift, undefined, step);
        }
        const explicit = await build("drift-off", iisArgs({ detectDrift: false }));
        assert.deepEqual(explicit.steps, off.steps, "detectDrift: false is the default");
    });

    it("on: reads back once, with PowerShell here, and gives the site, pool and configuration steps their part's token", async () => {
        const off = await build("drift-on", iisArgs());
        const on = await build("drift-on", iisArgs({ detectDrift: true }), { site: "s1", appPool: "p1", configuration: "c1" });
        assert.equal(on.invoked.length, 1);
        const [readBack] = on.invoked;
        assert.equal(readBack.token, "command:local:run");
        assert.deepEqual(readBack.inputs.interpreter, [...POWERSHELL, "-EncodedCommand"]);
        assert.equal(decodeCommand(String(readBack.inputs.command)), driftScript());
        assert.equal(
            readBack.inputs.stdin,
            driftInput({
                scriptsDir: DIR,
                siteName: "IdentityService-drift-on",
                site: "path=C:\\Creatio\\IdentityService|pool=IdentityService-drift-on|bindings=http *:8090:",
                appPoolName: "IdentityService-drift-on",
                appPool: "identity=ApplicationPoolIdentity|runtime=|pipeline=Integrated|32bit=False|profile=True",
                files: ["C:\\Creatio\\IdentityService\\appsettings.json", "C:\\Creatio\\IdentityService\\web.config", "C:\\Creatio\\IdentityService\\signing-certificate.pfx"],
            }),
        );
        assert.deepEqual(JSON.parse(on.steps.site).drift, { record: driftRecordPath(DIR, "site"), token: "s1" });
        assert.deepEqual(JSON.parse(on.steps["app-pool"]).drift, { record: driftRecordPath(DIR, "appPool"), token: "p1" });
        assert.deepEqual(JSON.parse(on.steps.configuration).drift, {
            record: driftRecordPath(DIR, "configuration"),
            token: "c1",
            files: ["C:\\Creatio\\IdentityService\\appsettings.json", "C:\\Creatio\\IdentityService\\web.config", "C:\\Creatio\\IdentityService\\signing-certificate.pfx"],
        });
        // Everything else in those inputs, and the other steps' inputs, as without the option.
        const withoutDrift = (text: string) => {
            const parsed = JSON.parse(text.startsWith("{") ? text : "{}");
            delete parsed.drift;
            return parsed;
        };
        for (const step of ["scripts", "prerequisites", "install", "app-pool", "site", "configuration"]) {
            assert.deepEqual(withoutDrift(on.steps[step]), withoutDrift(off.steps[step]), step);
        }
        assert.equal(on.steps.scripts, off.steps.scripts);
        // The triggers stay as they were: a change of triggers would replace (and first delete) the site and pool.
        for (const step of ["app-pool", "site"]) {
            assert.deepEqual(await valueOf(on.recorder.byName(`drift-on-iis-${step}`).props.triggers), [`IdentityService-drift-on`]);
        }
    });

    it("a new token of one part changes exactly that step's input", async () => {
        const base = { site: "s", appPool: "p", configuration: "c" };
        const before = await build("drift-one", iisArgs({ detectDrift: true }), base);
        for (const [part, step] of [["site", "site"], ["appPool", "app-pool"], ["configuration", "configuration"]] as const) {
            const after = await build("drift-one", iisArgs({ detectDrift: true }), { ...base, [part]: "changed: x (0123456789ab)" });
            const changed = Object.keys(before.steps).filter(name => before.steps[name] !== after.steps[name]);
            assert.deepEqual(changed, [step], part);
        }
    });

    it("over SSH: ssh-run.js gets the connection on stdin only, as a secret, and the steps' inputs stay as secret as before", async () => {
        const ssh = { host: "win-iis.example.com", user: "Administrator", password: SSH_PASSWORD };
        const on = await build("drift-ssh", iisArgs({ detectDrift: true, connection: ssh }));
        const [readBack] = on.invoked;
        assert.match(String(readBack.inputs.command), /^node ".*src\/scripts\/ssh-run\.js"$/);
        assert.equal(readBack.inputs.interpreter, undefined, "the command provider's default shell runs node");
        const request = JSON.parse(String(readBack.inputs.stdin));
        assert.deepEqual(request.connection, ssh);
        assert.equal(request.command, encodedCommandLine(driftScript()));
        assert.ok(request.stdin.startsWith("site\t"));
        for (const text of [String(readBack.inputs.command), request.command, request.stdin]) {
            for (const secret of [SSH_PASSWORD, CONNECTION_STRING, CLIENT_SECRET]) {
                assert.ok(!text.includes(secret), "no secret in the read-back's command line or its input for the server");
            }
        }
        assert.equal(await isSecretInput(on.recorder.byName("drift-ssh-iis-site").props.stdin), false, "the site's input stays readable in a preview");
        assert.equal(await isSecretInput(on.recorder.byName("drift-ssh-iis-configuration").props.stdin), true);
        assert.deepEqual(JSON.parse(on.steps.site).drift.token, "s0");
    });
});

describe("IIS drift detection: arguments", () => {
    beforeEach(resetMocks);

    const cases: Array<[string, IdentityServiceArgs, RegExp]> = [
        ["a value that is not a boolean", iisArgs({ detectDrift: "yes" as unknown as boolean }), /- iis\.detectDrift: "yes" is not a boolean; give true to read the server back/],
        [
            "a connection through a proxy",
            iisArgs({ detectDrift: true, connection: { host: "win", proxy: { host: "jump" } } }),
            /- iis\.detectDrift: cannot read the server back through connection\.proxy/,
        ],
        [
            "another target",
            {
                target: DeploymentTarget.Docker,
                creatioVersion: "8.2.3",
                database: { provider: DatabaseProvider.Postgres, connectionString: CONNECTION_STRING },
                docker: { image: "ids:8.2.3" },
                iis: { detectDrift: true } as IisDeployment,
            },
            /- iis\.detectDrift: reads back an IIS server, but target is "docker"; remove it/,
        ],
    ];
    for (const [title, args, message] of cases) {
        it(`refuses ${title}, naming iis.detectDrift, before creating anything`, async () => {
            const before = registered.length;
            assert.throws(() => new IdentityService("drift-bad", args), (error: Error) => {
                assert.match(error.message, message);
                return true;
            });
            await settle();
            assert.deepEqual(registered.slice(before).filter(r => r.type !== "creatio-identity-service:index:IdentityService"), []);
        });
    }
});
