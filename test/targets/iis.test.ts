// The IIS target under Pulumi mocks: the graph of step commands (local and over SSH), what each step receives on
// stdin, secrecy, that no secret shows in any command text, trigger or environment, which steps change when one
// input changes, the URL outputs, and the argument checks of every IIS field.
import "../support/mocks";
import { strict as assert } from "assert";
import * as crypto from "crypto";
import fc from "fast-check";
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { DatabaseProvider, DeploymentTarget, IdentityService, IdentityServiceArgs, IisDeployment, LogLevel } from "../../src";
import {
    commandScript,
    defaultIisName,
    MAX_APP_POOL_NAME_LENGTH,
    patcherFile,
    remoteCommandLine,
    scriptFile,
    scriptsInput,
    STEP_SCRIPTS,
    stepScript,
    uploadedFiles,
    UPLOADER_SCRIPTS,
    IIS_API,
    MINIMUM_WINDOWS_BUILD,
} from "../../src/targets/iis";
import { encodePkcs12, openPfx } from "../../src/certificates";
import { planDeployment } from "../../src/plan";
import { decodeCommand, encodedCommandLine, MAX_COMMAND_LINE, minify, POWERSHELL, scriptFileRunner } from "../../src/powershell";
import { RELEASES } from "../../src/versions";
import { captureRegistrations, findLeaks, secretForms } from "../support/leaks";
import { isSecretInput, Recorder, registered, resetMocks, settle, valueOf } from "../support/mocks";

const certificates = path.join(__dirname, "..", "fixtures", "certificates");
/** A PFX with a password (AES-256, as OpenSSL 3 writes it): the program opens it and sends it on without one. */
const SIGNING_PFX = path.join(certificates, "tls.pfx");
/** A certificate as PEM, standing for a private CA the gate is told to trust. */
const CA_PEM = fs.readFileSync(path.join(certificates, "generated-certificate.pem"), "utf8");

/** The PFX as the service receives it: opened with its password and encoded again without one. */
async function deliveredPfx(): Promise<string> {
    const opened = openPfx(fs.readFileSync(SIGNING_PFX), "tls-test-password");
    assert.ok(opened.ok);
    return (await encodePkcs12(opened.privateKeyPem, opened.certificatePem)).toString("base64");
}

const SECRETS = {
    connectionString: "Host=db;Database=creatio;Username=ids;Password=Iis-Conn-Secret-5521;",
    clientSecret: "IisClientSecret-0123456789abcdefXYZ",
    poolPassword: "Pool-Pa$$w0rd-'q'-`t`;s\"d\u00e9",
    pfxPassword: "tls-test-password",
    sshPassword: "Ssh-Secret-4410-pw",
    redis: "redis:6379,password=Redis-Secret-3381",
};

const STEPS = ["scripts", "prerequisites", "install", "app-pool", "site", "configuration"] as const;

function iisArgs(iis: Partial<IisDeployment> = {}, overrides: Partial<IdentityServiceArgs> = {}): IdentityServiceArgs {
    return {
        target: DeploymentTarget.Iis,
        creatioVersion: "8.2.3",
        database: { provider: DatabaseProvider.Postgres, connectionString: SECRETS.connectionString },
        client: { secret: SECRETS.clientSecret },
        signingCertificate: { path: SIGNING_PFX, password: SECRETS.pfxPassword },
        redisConnection: SECRETS.redis,
        iis: { creatioPath: "C:\\Creatio", archivePath: "C:\\Packages\\IdentityService.zip", port: 8090, ...iis },
        ...overrides,
    };
}

const SSH = { host: "win-iis.example.com", user: "Administrator", password: SECRETS.sshPassword };

/**
 * Builds the program once, by default as a run of its own (so instances of other runs do not count as
 * collisions); `freshRun: false` continues the current run, e.g. one whose registrations a test captures.
 */
function deploy(name: string, args: IdentityServiceArgs, { freshRun = true } = {}) {
    if (freshRun) {
        resetMocks();
    }
    const recorder = new Recorder();
    const service = new IdentityService(name, args, { transformations: [recorder.transformation] });
    return { service, recorder };
}

async function stdinOf(recorder: Recorder, name: string): Promise<any> {
    return JSON.parse(await valueOf(recorder.byName(name).props.stdin as pulumi.Input<string>));
}

/** The PowerShell a command runs: decoded from its `-EncodedCommand`, or the `-Command` text as it is, local or remote. */
async function scriptOf(props: Record<string, any>, which: "create" | "update" | "delete"): Promise<string | undefined> {
    const text = props[which] === undefined ? undefined : await valueOf(props[which] as pulumi.Input<string>);
    if (text === undefined) {
        return undefined;
    }
    const line = /^powershell\.exe .*?-(EncodedCommand|Command) (.*)$/.exec(text);
    if (line) {
        return line[1] === "EncodedCommand" ? decodeCommand(line[2]) : line[2].slice(1, -1);
    }
    const interpreter = props.interpreter === undefined ? [] : ((await valueOf(props.interpreter)) as string[]);
    return interpreter[interpreter.length - 1] === "-EncodedCommand" ? decodeCommand(text) : text;
}

/** The `scripts` step's standard input read back: its folder and files (the format scripts.ps1 parses). */
function parseUpload(text: string): { folder: string; files: { name: string; content: string }[] } {
    const lines = text.split("\n");
    assert.equal(lines.pop(), "", "the input ends in a line break");
    const folder = /^folder (.+)$/.exec(lines[0])![1];
    const files: { name: string; content: string }[] = [];
    for (let index = 1; index < lines.length; ) {
        const [, name, count] = /^file (\S+) (\d+)$/.exec(lines[index])!;
        files.push({ name, content: lines.slice(index + 1, index + 1 + Number(count)).join("\n") + "\n" });
        index += Number(count) + 1;
    }
    return { folder, files };
}

function allForms(): Array<[string, string]> {
    return Object.entries(SECRETS).flatMap(([label, value]) => secretForms(value).map(form => [label, form] as [string, string]));
}

describe("IIS target (mocks)", () => {
    beforeEach(resetMocks);

    describe("graph", () => {
        it("registers the steps in order, named after the component and parented to it, running locally", async () => {
            const { service, recorder } = deploy("ids", iisArgs());
            await valueOf(service.url);
            assert.deepEqual(
                recorder.constructed.map(r => `${r.type} ${r.name}`),
                [
                    "creatio-identity-service:index:IdentityService ids",
                    "random:index/randomString:RandomString ids-client-id",
                    "command:local:Command ids-client-reseed",
                    ...STEPS.map(step => `command:local:Command ids-iis-${step}`),
                    "command:local:Command ids-readiness",
                    "command:local:Command ids-client-retire",
                ],
            );
            for (const child of recorder.constructed.slice(1)) {
                assert.equal(child.opts.parent, service, `${child.name} is parented to the component`);
            }
        });

        it("chains every step on the one before, and the configuration step also on client re-seeding", async () => {
            const { service, recorder } = deploy("chain", iisArgs());
            await valueOf(service.url);
            const names = [...STEPS.map(step => `chain-iis-${step}`), "chain-readiness"];
            const resources = names.map(name => recorder.byName(name));
            assert.deepEqual(resources[0].opts.dependsOn, []);
            for (let i = 1; i < names.length; i++) {
                const dependsOn = resources[i].opts.dependsOn as pulumi.Resource[];
                const resolved = await Promise.all(dependsOn.map(r => valueOf((r as pulumi.CustomResource).urn)));
                assert.ok(
                    resolved.some(urn => urn.endsWith(`::${names[i - 1]}`)),
                    `${names[i]} depends on ${names[i - 1]} (has ${resolved.join(", ")})`,
                );
            }
            const configurationDeps = await Promise.all(
                (recorder.byName("chain-iis-configuration").opts.dependsOn as pulumi.CustomResource[]).map(r => valueOf(r.urn)),
            );
            assert.ok(configurationDeps.some(urn => urn.endsWith("::chain-client-reseed")), "configuration waits for the re-seed");
        });

        it("leaves re-seeding out when client.reseed is false, and the gate out when readiness is disabled", async () => {
            const { service, recorder } = deploy("bare", iisArgs({}, { client: { secret: SECRETS.clientSecret, reseed: false }, readiness: { enabled: false } }));
            await valueOf(service.url);
            const names = recorder.constructed.map(r => r.name);
            assert.ok(!names.includes("bare-client-reseed"));
            assert.ok(!names.includes("bare-readiness"));
            assert.deepEqual((recorder.byName("bare-iis-configuration").opts.dependsOn as unknown[]).length, 1);
        });

        it("runs every step through powershell.exe without cmd.exe when local: the uploader encoded, the others by file name", async () => {
            const { service, recorder } = deploy("local", iisArgs());
            await valueOf(service.url);
            const dir = "C:\\Creatio\\IdentityService.deploy";
            for (const name of [...STEPS.map(step => `local-iis-${step}`), "local-readiness"]) {
                const props = recorder.byName(name).props;
                assert.equal(props.connection, undefined);
                const create = await valueOf(props.create as pulumi.Input<string>);
                if (name === "local-iis-scripts") {
                    assert.deepEqual(await valueOf(props.interpreter), [...POWERSHELL, "-EncodedCommand"], name);
                    assert.match(create, /^[A-Za-z0-9+/]+=*$/, `${name}: create is the bare base64 argument`);
                } else {
                    assert.deepEqual(await valueOf(props.interpreter), [...POWERSHELL, "-Command"], name);
                    assert.match(create, /^\$file='C:\\Creatio\\IdentityService\.deploy\\[a-z-]+-[0-9a-f]{12}\.ps1';/, `${name}: create names its file`);
                    assert.ok(create.includes(dir), name);
                }
                assert.equal(await valueOf(props.update as pulumi.Input<string>), create, `${name}: update runs the same script`);
                assert.equal(await valueOf(props.addPreviousOutputInEnv), false);
            }
        });

        it("runs every step over SSH as one cmd.exe-safe line under the length limit when connected", async () => {
            const { service, recorder } = deploy("ssh", iisArgs({ connection: SSH }));
            await valueOf(service.url);
            for (const name of [...STEPS.map(step => `ssh-iis-${step}`), "ssh-readiness"]) {
                const { type, props } = recorder.byName(name);
                assert.equal(type, "command:remote:Command", name);
                assert.ok(await isSecretInput(props.connection), "the connection (with its password) is a secret");
                const connection = await valueOf(props.connection as pulumi.Input<Record<string, unknown>>);
                assert.deepEqual([connection.host, connection.user, connection.password], [SSH.host, SSH.user, SSH.password]);
                assert.equal(props.interpreter, undefined);
                for (const which of ["create", "update", "delete"] as const) {
                    if (props[which] === undefined) {
                        continue;
                    }
                    const line = await valueOf(props[which] as pulumi.Input<string>);
                    assert.ok(line.length <= MAX_COMMAND_LINE, `${name} ${which}: ${line.length} characters`);
                    if (name === "ssh-iis-scripts") {
                        // Only the uploader, which carries the others, is base64.
                        assert.match(line, /^powershell\.exe -NoProfile -NonInteractive -ExecutionPolicy Bypass -EncodedCommand [A-Za-z0-9+/]+=*$/);
                        continue;
                    }
                    const match = /^powershell\.exe -NoProfile -NonInteractive -ExecutionPolicy Bypass -Command "([^"]*)"$/.exec(line);
                    assert.ok(match, `${name} ${which}: ${line}`);
                    assert.ok(!/[%!\r\n]/.test(match[1]), `${name} ${which}: nothing cmd.exe acts on inside quotes`);
                    assert.match(match[1], /^\$file='C:\\Creatio\\IdentityService\.deploy\\[a-z-]+-[0-9a-f]{12}\.ps1';/);
                    assert.doesNotMatch(line, /[A-Za-z0-9+/]{60,}/, `${name} ${which}: no base64`);
                }
            }
        });

        it("runs the packaged scripts: the uploader inline (minified), every other one from its uploaded file by hash", async () => {
            const { service, recorder } = deploy("scr", iisArgs());
            await valueOf(service.url);
            const expected: Record<string, [string, string | undefined]> = {
                "scr-iis-prerequisites": ["prerequisites", undefined],
                "scr-iis-scripts": ["scripts", "delete-scripts"],
                "scr-iis-install": ["install", "delete-install"],
                "scr-iis-app-pool": ["app-pool", "delete-app-pool"],
                "scr-iis-site": ["site", "delete-site"],
                "scr-iis-configuration": ["configure", undefined],
                "scr-readiness": ["readiness", undefined],
            };
            const dir = "C:\\Creatio\\IdentityService.deploy";
            for (const [name, [create, remove]] of Object.entries(expected)) {
                const props = recorder.byName(name).props;
                assert.equal(await scriptOf(props, "create"), commandScript(create as any, dir), name);
                assert.equal(await scriptOf(props, "delete"), remove && commandScript(remove as any, dir), `${name} delete`);
            }
            assert.equal(commandScript("scripts", dir), minify(stepScript("scripts")));
            // The scripts step writes the patcher, the step library and every other step script, deletes included, with
            // the packaged content; every runner names the library by its hash too.
            const upload = parseUpload(await valueOf(recorder.byName("scr-iis-scripts").props.stdin as pulumi.Input<string>));
            assert.equal(upload.folder, dir);
            assert.deepEqual(upload.files, uploadedFiles());
            assert.equal(upload.files[0].content, fs.readFileSync(path.join(__dirname, "..", "..", "src", "scripts", "iis", "ConfigPatch.cs"), "utf8"));
            assert.equal(upload.files[1].content, fs.readFileSync(path.join(__dirname, "..", "..", "src", "scripts", "iis", "step-library.ps1"), "utf8"));
            assert.deepEqual(
                upload.files.slice(2).map(file => file.name.replace(/-[0-9a-f]{12}\.ps1$/, "")),
                STEP_SCRIPTS.filter(script => !UPLOADER_SCRIPTS.includes(script)),
            );
            for (const name of ["scr-iis-install", "scr-readiness"]) {
                assert.ok((await scriptOf(recorder.byName(name).props, "create"))!.includes(`$library='${dir}\\${upload.files[1].name}';`), name);
            }
            for (const file of upload.files.slice(2)) {
                const script = file.name.replace(/-[0-9a-f]{12}\.ps1$/, "");
                assert.equal(file.content, stepScript(script as any));
                assert.ok(commandScript(script as any, dir).includes(`'${dir}\\${file.name}'`), `${script} runs its uploaded file`);
            }
        });

        it("names each uploaded file after its content: another content is another name", () => {
            for (const file of uploadedFiles()) {
                assert.match(file.name, /^[A-Za-z-]+-[0-9a-f]{12}\.(ps1|cs)$/);
                const hash = crypto.createHash("sha256").update(file.content).digest("hex").slice(0, 12);
                assert.ok(file.name.includes(hash), file.name);
            }
            assert.equal(scriptFile("install").name, scriptFile("install").name, "the same name on every run");
            assert.notEqual(scriptFile("install").name, scriptFile("delete-install").name);
            for (const script of UPLOADER_SCRIPTS) {
                const line = remoteCommandLine(script, "C:\\Creatio\\IdentityService.deploy");
                assert.equal(line, encodedCommandLine(minify(stepScript(script))));
                assert.ok(line.length <= MAX_COMMAND_LINE, `the uploader's own line fits cmd.exe's: ${script} is ${line.length} characters`);
            }
        });

        it("iis.retainOnDelete puts Pulumi's retainOnDelete on every IIS step (and nothing on them without it)", async () => {
            const retained = deploy("keep", iisArgs({ connection: SSH, retainOnDelete: true })).recorder;
            const plain = deploy("nokeep", iisArgs({ connection: SSH })).recorder;
            for (const step of [...STEPS.map(step => `iis-${step}`), "readiness"]) {
                assert.equal((retained.byName(`keep-${step}`).opts as pulumi.CustomResourceOptions).retainOnDelete, true, step);
                assert.equal((plain.byName(`nokeep-${step}`).opts as pulumi.CustomResourceOptions).retainOnDelete, undefined, step);
            }
        });

        it("gives site and pool a delete command and replaces them (old one first) when their name changes", async () => {
            const { service, recorder } = deploy("del", iisArgs({ siteName: "IDServiceWebsite", appPoolName: "IDServicePool" }));
            await valueOf(service.url);
            for (const [step, trigger] of [["site", "IDServiceWebsite"], ["app-pool", "IDServicePool"]]) {
                const { props, opts } = recorder.byName(`del-iis-${step}`);
                assert.ok(props.delete, `${step} has a delete command`);
                assert.deepEqual(await valueOf(props.triggers), [trigger]);
                assert.equal((opts as pulumi.CustomResourceOptions).deleteBeforeReplace, true);
            }
            assert.deepEqual(await valueOf(recorder.byName("del-iis-install").props.triggers), ["C:\\Creatio\\IdentityService"]);
            // Another install folder means another upload folder: the step is replaced and the old folder removed.
            assert.deepEqual(await valueOf(recorder.byName("del-iis-scripts").props.triggers), ["C:\\Creatio\\IdentityService.deploy"]);
            for (const step of ["prerequisites", "configuration"]) {
                assert.equal(recorder.byName(`del-iis-${step}`).props.delete, undefined, `${step} has nothing to delete`);
            }
        });
    });

    describe("what each step receives", () => {
        it("applies the defaults: install folder under creatioPath, names from the component, ApplicationPoolIdentity", async () => {
            const { service, recorder } = deploy("defaults", iisArgs());
            await valueOf(service.url);
            assert.deepEqual(await stdinOf(recorder, "defaults-iis-prerequisites"), {
                hostingBundleVersion: "8.0",
                frameworks: [{ name: "Microsoft.AspNetCore.App", version: "8.0" }],
                install: ".NET 8 runtime and the ASP.NET Core 8.0 hosting bundle",
                creatioPath: "C:\\Creatio",
                minimumWindowsBuild: 14393,
                minimumIisVersion: 10,
                iisApi: Object.fromEntries(
                    Object.entries(IIS_API).map(([type, m]) => [type, { properties: m.properties ?? [], methods: m.methods ?? [], enumValues: m.enumValues ?? [] }]),
                ),
                encodingProbe: "\u00fc\u540d\u20ac\ud83d\ude42",
                encodingProbeCodes: [0xfc, 0x540d, 0x20ac, 0xd83d, 0xde42],
                // The PFX the service will load, so that the server tries it before anything changes there.
                signingCertificate: { base64: await deliveredPfx() },
            });
            assert.deepEqual(await stdinOf(recorder, "defaults-iis-install"), {
                archivePath: "C:\\Packages\\IdentityService.zip",
                installPath: "C:\\Creatio\\IdentityService",
                creatioPath: "C:\\Creatio",
                appPoolName: "IdentityService-defaults",
                creatioVersion: "8.2.3",
            });
            assert.deepEqual(await stdinOf(recorder, "defaults-iis-app-pool"), {
                appPoolName: "IdentityService-defaults",
                siteName: "IdentityService-defaults",
                installPath: "C:\\Creatio\\IdentityService",
                loadUserProfile: true,
                identity: null,
            });
            assert.deepEqual(await stdinOf(recorder, "defaults-iis-site"), {
                siteName: "IdentityService-defaults",
                appPoolName: "IdentityService-defaults",
                physicalPath: "C:\\Creatio\\IdentityService",
                port: 8090,
                https: null,
            });
        });

        it("takes the hosting bundle from the version table for each release row", async () => {
            for (const [version, bundle] of [["7.18.5", "3.1"], ["8.1.0", "6.0"], ["8.3.2", "8.0"]]) {
                const { service, recorder } = deploy(`v${version.replace(/\./g, "")}`, iisArgs({}, { creatioVersion: version, redisConnection: undefined }));
                await valueOf(service.url);
                const input = await stdinOf(recorder, `v${version.replace(/\./g, "")}-iis-prerequisites`);
                assert.equal(input.hostingBundleVersion, bundle, version);
                assert.deepEqual(input.frameworks, RELEASES.find(r => r.iis.hostingBundleVersion === bundle)!.iis.frameworks, version);
            }
        });

        it("passes the custom pool identity, Load User Profile and the https binding (thumbprint normalized)", async () => {
            const { service, recorder } = deploy(
                "custom",
                iisArgs({
                    appPoolIdentity: { username: "CONTOSO\\svc-ids", password: SECRETS.poolPassword },
                    loadUserProfile: false,
                    https: { port: 8443, certificateThumbprint: "\u200e0a 1b 2c 3d 4e 5f 60 71 82 93 a4 b5 c6 d7 e8 f9 0a 1b 2c 3d" },
                }),
            );
            await valueOf(service.url);
            assert.deepEqual(await stdinOf(recorder, "custom-iis-app-pool"), {
                appPoolName: "IdentityService-custom",
                siteName: "IdentityService-custom",
                installPath: "C:\\Creatio\\IdentityService",
                loadUserProfile: false,
                identity: { username: "CONTOSO\\svc-ids", password: SECRETS.poolPassword },
            });
            const site = await stdinOf(recorder, "custom-iis-site");
            assert.deepEqual(site.https, { port: 8443, certificateThumbprint: "0A1B2C3D4E5F60718293A4B5C6D7E8F90A1B2C3D" });
            const configuration = await stdinOf(recorder, "custom-iis-configuration");
            assert.equal(configuration.poolAccount, "CONTOSO\\svc-ids");
        });

        it("hands the configuration step the rendered settings, the PFX and where to put it, and restarts nothing else", async () => {
            const { service, recorder } = deploy(
                "conf",
                iisArgs({ installPath: "D:\\Apps\\IDS", stdoutLog: { enabled: true, path: "D:\\Logs\\ids\\stdout" } }, { logLevel: LogLevel.Information }),
            );
            await valueOf(service.url);
            const input = await stdinOf(recorder, "conf-iis-configuration");
            assert.equal(input.installPath, "D:\\Apps\\IDS");
            assert.equal(input.siteName, "IdentityService-conf");
            assert.equal(input.appPoolName, "IdentityService-conf");
            assert.equal(input.patcherPath, `D:\\Apps\\IDS.deploy\\${patcherFile().name}`);
            assert.equal(input.poolAccount, "IIS AppPool\\IdentityService-conf");
            assert.deepEqual(input.webConfig, { stdoutLogEnabled: true, stdoutLogFile: "D:\\Logs\\ids\\stdout" });
            assert.ok(!("environmentVariables" in input.webConfig), "without environment, the input is what it always was");
            assert.deepEqual(input.signingCertificate, {
                path: "D:\\Apps\\IDS\\signing-certificate.pfx",
                base64: await deliveredPfx(),
            });
            assert.equal(input.installRevision, "{}", "the install step's output (the archive hash) is an input");
            const appSettings = JSON.parse(input.appSettings);
            assert.equal(appSettings.DbProvider, "Postgres");
            assert.equal(appSettings.DatabaseConnectionString, SECRETS.connectionString);
            assert.equal(appSettings.PostgresConnection, SECRETS.connectionString);
            assert.equal(appSettings.X509CertificatePath, "D:\\Apps\\IDS\\signing-certificate.pfx");
            assert.ok(!("X509CertificatePassword" in appSettings), "the PFX arrives without a password, so no password key is written");
            assert.equal(appSettings.RedisConnection, SECRETS.redis);
            assert.deepEqual(appSettings.Logging, { LogLevel: { Default: "Information" } });
            const clients = JSON.parse(appSettings.Clients);
            assert.equal(clients[0].Secrets[0], SECRETS.clientSecret);
            assert.equal(clients[0].ClientId, await valueOf(service.clientId));
            assert.deepEqual([...input.secrets].sort(), [SECRETS.connectionString, SECRETS.clientSecret, SECRETS.redis, SECRETS.pfxPassword].sort());
        });

        it("hands the configuration step the escape hatches: additionalSettings in the appsettings patch, environment for web.config, secret values redacted", async () => {
            const { service, recorder } = deploy(
                "hatch",
                iisArgs({}, {
                    additionalSettings: { Serilog: { MinimumLevel: "Warning", Secret: pulumi.secret(["Smtp-Secret-1", { Token: "Token-Secret-2" }]) } },
                    environment: { TZ: "Europe/Berlin" },
                }),
            );
            await valueOf(service.url);
            const input = await stdinOf(recorder, "hatch-iis-configuration");
            assert.deepEqual(JSON.parse(input.appSettings).Serilog, { MinimumLevel: "Warning", Secret: ["Smtp-Secret-1", { Token: "Token-Secret-2" }] });
            assert.deepEqual(JSON.parse(input.webConfig.environmentVariables), { TZ: "Europe/Berlin" });
            assert.ok(input.secrets.includes("Smtp-Secret-1") && input.secrets.includes("Token-Secret-2"), "every string of a secret value is redacted from the step's errors");
            assert.ok(!input.secrets.includes("Warning"), "a value that is not secret is not");
        });

        it("redacts a plain value given in place of a package secret from the step's errors, as the secret it replaces", async () => {
            const replaced = "Server=sql;Password=Plain-Override-8812";
            const { service, recorder } = deploy("own-conn", iisArgs({}, { additionalSettings: { DatabaseConnectionString: replaced }, overrides: ["DatabaseConnectionString"] }));
            await valueOf(service.url);
            const input = await stdinOf(recorder, "own-conn-iis-configuration");
            assert.equal(JSON.parse(input.appSettings).DatabaseConnectionString, replaced);
            assert.ok(input.secrets.includes(replaced));
        });

        it("refuses a variable the ASP.NET Core Module sets for the process itself", () => {
            assert.throws(
                () => deploy("ancm", iisArgs({}, { environment: { ASPNETCORE_PORT: "5000" } })),
                /- environment\.ASPNETCORE_PORT: ASPNETCORE_PORT sets "aspnetcore_port", which the package sets as the variable ASPNETCORE_PORT, which the ASP\.NET Core Module sets for the process itself; remove it/,
            );
            assert.doesNotThrow(() => deploy("ancm-env", iisArgs({}, { environment: { ASPNETCORE_ENVIRONMENT: "Staging" } })), "the IIS target reads appsettings.json itself, whatever the environment");
        });

        it("sets ForceHttpsSchemeInRequests to the scheme Creatio uses: false over HTTP, true over HTTPS (8.3.1+)", async () => {
            const http = deploy("fhttp", iisArgs({}, { creatioVersion: "8.3.1" }));
            const https = deploy("fhttps", iisArgs({ https: { port: 8443, certificateThumbprint: "A".repeat(40) } }, { creatioVersion: "8.3.1" }));
            await Promise.all([valueOf(http.service.url), valueOf(https.service.url)]);
            assert.equal(JSON.parse((await stdinOf(http.recorder, "fhttp-iis-configuration")).appSettings).ForceHttpsSchemeInRequests, false);
            assert.equal(JSON.parse((await stdinOf(https.recorder, "fhttps-iis-configuration")).appSettings).ForceHttpsSchemeInRequests, true);
        });

        it("checks readiness on the host itself (localhost), with the same settings as the Docker gate and the secret on stdin", async () => {
            const { service, recorder } = deploy("ready", iisArgs({ connection: SSH }, { readiness: { timeoutSeconds: 120, verifyToken: false } }));
            await valueOf(service.url);
            const input = await stdinOf(recorder, "ready-readiness");
            assert.deepEqual(input, {
                IDENTITY_SERVICE_URL: "http://localhost:8090",
                // The issuer Creatio expects: the server's URL, while the gate polls localhost.
                IDENTITY_SERVICE_PUBLIC_URL: "http://win-iis.example.com:8090",
                IDENTITY_SERVICE_CLIENT_ID: await valueOf(service.clientId),
                READINESS_TIMEOUT_SECONDS: "120",
                READINESS_VERIFY_TOKEN: "false",
                READINESS_TOKEN_SCOPES: "register_own_resource get_resource_list get_client_info find_clients remove_client update_client add_registrar_client IdentityServerApi",
                clientSecret: SECRETS.clientSecret,
            });
            const gate = recorder.byName("ready-readiness").props;
            // The triggers are the server (another server is another deployment) and the configuration step's stdout (the
            // mocks answer "{}"): a new revision whenever the service was restarted.
            assert.deepEqual(await valueOf(gate.triggers), ["win-iis.example.com:22", "{}"]);
            assert.equal(gate.environment, undefined, "nothing travels in the environment (sshd would need AcceptEnv)");
        });

        it("expects no other issuer than the URL it polls when Creatio reaches the site at localhost, as before the issuer check", async () => {
            const { service, recorder } = deploy("local-issuer", iisArgs());
            await valueOf(service.url);
            const input = await stdinOf(recorder, "local-issuer-readiness");
            assert.equal(input.IDENTITY_SERVICE_URL, "http://localhost:8090");
            assert.equal("IDENTITY_SERVICE_PUBLIC_URL" in input, false);
            assert.equal("READINESS_VERIFY_ISSUER" in input, false, "the gate's default: on");
        });

        it("behind a proxy: the gate expects publicUrl as the issuer, and the site is told to read X-Forwarded-Proto", async () => {
            const { service, recorder } = deploy(
                "proxied",
                iisArgs({ connection: SSH }, { creatioVersion: "8.3.1", publicUrl: "https://ids.example.com", readiness: { verifyIssuer: true, caCertificate: CA_PEM } }),
            );
            await valueOf(service.url);
            const gate = await stdinOf(recorder, "proxied-readiness");
            assert.equal(gate.IDENTITY_SERVICE_URL, "http://localhost:8090");
            assert.equal(gate.IDENTITY_SERVICE_PUBLIC_URL, "https://ids.example.com");
            assert.equal(gate.READINESS_VERIFY_ISSUER, "true");
            assert.equal(gate.READINESS_CA_CERTIFICATE, CA_PEM);
            const configuration = await stdinOf(recorder, "proxied-iis-configuration");
            assert.deepEqual(JSON.parse(configuration.webConfig.environmentVariables), { ASPNETCORE_FORWARDEDHEADERS_ENABLED: "true" });
            // Creatio uses https: the service advertises https whatever the proxy forwards.
            assert.equal(JSON.parse(configuration.appSettings).ForceHttpsSchemeInRequests, true);
        });

        it("writes the forwarded headers switch only when publicUrl differs from the server's URL, or as proxy.forwardedHeaders says", async () => {
            const variants = {
                none: iisArgs({ connection: SSH }),
                same: iisArgs({ connection: SSH }, { publicUrl: "http://WIN-IIS.example.com:8090/" }),
                explicitOff: iisArgs({ connection: SSH }, { publicUrl: "https://ids.example.com", proxy: { forwardedHeaders: false } }),
                explicitOn: iisArgs({ connection: SSH }, { proxy: { forwardedHeaders: true } }),
                userValue: iisArgs({ connection: SSH }, { publicUrl: "https://ids.example.com", environment: { ASPNETCORE_FORWARDEDHEADERS_ENABLED: "false", TZ: "UTC" } }),
                oldRuntime: iisArgs({ connection: SSH }, { creatioVersion: "7.18.5", redisConnection: undefined, publicUrl: "https://ids.example.com" }),
            };
            const environments: Record<string, unknown> = {};
            for (const [name, args] of Object.entries(variants)) {
                const { service, recorder } = deploy(`fwd-${name}`, args);
                await valueOf(service.url);
                const text = (await stdinOf(recorder, `fwd-${name}-iis-configuration`)).webConfig.environmentVariables;
                environments[name] = text === undefined ? undefined : JSON.parse(text);
            }
            assert.deepEqual(environments, {
                // Without one the configuration step's input is what it always was.
                none: undefined,
                same: undefined,
                explicitOff: undefined,
                explicitOn: { ASPNETCORE_FORWARDEDHEADERS_ENABLED: "true" },
                // The user's value replaces the package's (environment is the escape hatch).
                userValue: { ASPNETCORE_FORWARDEDHEADERS_ENABLED: "false", TZ: "UTC" },
                // .NET Core 2.2 does not read the switch (versions.ts): it is not written.
                oldRuntime: undefined,
            });
        });

        it("checks readiness over https on the https port when the site has an https binding", async () => {
            const { service, recorder } = deploy("readys", iisArgs({ https: { port: 8443, certificateThumbprint: "b".repeat(40) } }));
            await valueOf(service.url);
            const input = await stdinOf(recorder, "readys-readiness");
            assert.equal(input.IDENTITY_SERVICE_URL, "https://localhost:8443");
            // The site's own certificate is trusted by its thumbprint (a self-signed one passes, nothing else does).
            assert.equal(input.certificateThumbprint, "B".repeat(40));
        });
    });

    describe("outputs", () => {
        it("serves http://localhost:<port> without a connection", async () => {
            const { service } = deploy("url1", iisArgs());
            assert.equal(await valueOf(service.url), "http://localhost:8090");
            assert.equal(await valueOf(service.discoveryUrl), "http://localhost:8090/.well-known/openid-configuration");
        });

        it("serves on the SSH host by default, on https with the https port, or on the given hostname", async () => {
            const ssh = deploy("url2", iisArgs({ connection: SSH, https: { port: 8443, certificateThumbprint: "c".repeat(40) } }));
            assert.equal(await valueOf(ssh.service.url), "https://win-iis.example.com:8443");
            const named = deploy("url3", iisArgs({ connection: SSH, hostname: "ids.example.com" }));
            assert.equal(await valueOf(named.service.url), "http://ids.example.com:8090");
        });

        it("hands Creatio the server's host and site port by default, or publicUrl", async () => {
            const ssh = deploy("pub1", iisArgs({ connection: SSH }));
            assert.equal(await valueOf(ssh.service.publicUrl), "http://win-iis.example.com:8090");
            assert.equal((await valueOf(ssh.service.creatioSystemSettings)).OAuth20IdentityServerUrl, "http://win-iis.example.com:8090");
            const proxied = deploy("pub2", iisArgs({ connection: SSH }, { publicUrl: "https://login.example.com/ids/" }));
            assert.equal(await valueOf(proxied.service.url), "http://win-iis.example.com:8090");
            assert.equal((await valueOf(proxied.service.creatioSystemSettings)).OAuth20IdentityServerUrl, "https://login.example.com/ids");
        });
    });

    describe("secrets", () => {
        for (const variant of ["local", "ssh"] as const) {
            it(`marks every stdin and output holding a secret as secret, with logging off (${variant})`, async () => {
                const name = `sec-${variant}`;
                const { service, recorder } = deploy(
                    name,
                    iisArgs({
                        connection: variant === "ssh" ? SSH : undefined,
                        appPoolIdentity: { username: ".\\ids", password: SECRETS.poolPassword },
                    }),
                );
                await valueOf(service.url);
                for (const step of ["iis-prerequisites", "iis-app-pool", "iis-configuration", "readiness"]) {
                    const { props, opts } = recorder.byName(`${name}-${step}`);
                    assert.ok(await isSecretInput(props.stdin), `${step}: stdin is secret`);
                    assert.equal(await valueOf(props.logging), "none", `${step}: logging off`);
                    for (const output of ["stdout", "stderr"]) {
                        assert.ok((opts as pulumi.CustomResourceOptions).additionalSecretOutputs?.includes(output), `${step}: ${output} is secret`);
                    }
                }
                for (const step of ["iis-scripts", "iis-install", "iis-site"]) {
                    const { props } = recorder.byName(`${name}-${step}`);
                    assert.equal(await isSecretInput(props.stdin), false, `${step}: stdin holds no secret and stays readable in previews`);
                }
                assert.ok(await pulumi.isSecret(service.clientSecret));
                assert.ok(await pulumi.isSecret(service.creatioSystemSettings));
            });

            it(`never puts a secret in a command's text, triggers or environment (${variant})`, async () => {
                const name = `leak-${variant}`;
                const { service, recorder } = deploy(
                    name,
                    iisArgs({
                        connection: variant === "ssh" ? SSH : undefined,
                        appPoolIdentity: { username: ".\\ids", password: SECRETS.poolPassword },
                        https: { port: 8443, certificateThumbprint: "d".repeat(40) },
                    }),
                );
                await valueOf(service.url);
                const pfx = await deliveredPfx();
                const forms = [...allForms(), ["pfx", pfx.slice(0, 40)] as [string, string]];
                for (const resource of recorder.constructed.filter(r => r.type.startsWith("command:") && r.name.startsWith(`${name}-`))) {
                    const texts: string[] = [];
                    for (const which of ["create", "update", "delete"] as const) {
                        const text = await valueOf(resource.props[which] as pulumi.Input<string>);
                        if (text !== undefined) {
                            texts.push(text, (await scriptOf(resource.props, which))!);
                        }
                    }
                    texts.push(JSON.stringify((await valueOf(resource.props.triggers)) ?? []));
                    texts.push(JSON.stringify(await valueOf(resource.props.environment ?? {})));
                    texts.push(JSON.stringify(await valueOf(resource.props.interpreter ?? [])));
                    for (const text of texts) {
                        for (const [label, form] of forms) {
                            assert.ok(!text.includes(form), `${resource.name}: the ${label} shows in its command text, triggers or environment`);
                        }
                    }
                }
            });

            it(`stores no secret outside a Pulumi secret in any registration or output (${variant})`, async () => {
                resetMocks();
                const captured = captureRegistrations();
                const { service } = deploy(
                    `scan-${variant}`,
                    iisArgs({
                        connection: variant === "ssh" ? SSH : undefined,
                        appPoolIdentity: { username: ".\\ids", password: SECRETS.poolPassword },
                    }),
                    { freshRun: false },
                );
                await valueOf(service.url);
                await settle();
                assert.ok(captured.some(c => c.name === `scan-${variant}-iis-configuration`), "the scan saw the steps");
                assert.deepEqual(findLeaks(captured, SECRETS), []);
            });
        }
    });

    describe("updates: only the affected steps change", () => {
        /** Each step's inputs (stdin, command texts, triggers) as they would be diffed. */
        async function snapshot(name: string, args: IdentityServiceArgs): Promise<Record<string, string>> {
            const { service, recorder } = deploy(name, args);
            await valueOf(service.url);
            const result: Record<string, string> = {};
            for (const step of [...STEPS.map(s => `iis-${s}`), "readiness"]) {
                const props = recorder.byName(`${name}-${step}`).props;
                result[step] = JSON.stringify(
                    await valueOf(pulumi.all([props.stdin, props.create, props.update, props.delete, props.triggers ?? null])),
                );
            }
            return result;
        }

        async function changedSteps(change: (args: IdentityServiceArgs) => void, label: string): Promise<string[]> {
            const base = iisArgs({ appPoolIdentity: { username: ".\\ids", password: SECRETS.poolPassword } });
            // The component name is part of the default names: pin them so both runs describe the same site.
            base.iis!.siteName = "IDS";
            base.iis!.appPoolName = "IDSPool";
            base.client = { id: "fixed-client-id-0001", secret: SECRETS.clientSecret };
            const before = await snapshot(`${label}-a`, base);
            const modified: IdentityServiceArgs = JSON.parse(JSON.stringify(base));
            change(modified);
            const after = await snapshot(`${label}-b`, modified);
            return Object.keys(before).filter(step => before[step] !== after[step]);
        }

        it("a configuration change re-runs the configuration step (which recycles the pool) and the readiness check", async () => {
            assert.deepEqual(await changedSteps(a => (a.logLevel = LogLevel.Debug), "u1"), ["iis-configuration"]);
            // The gate's trigger is the configuration step's output, new on every run of that step.
        });

        it("new credentials re-run the configuration step and the readiness check only", async () => {
            assert.deepEqual(await changedSteps(a => (a.client!.secret = "Another-Client-Secret-0123456789ab"), "u2"), [
                "iis-configuration",
                "readiness",
            ]);
        });

        it("another archive re-runs the install step (whose new output then re-runs the configuration step)", async () => {
            assert.deepEqual(await changedSteps(a => (a.iis!.archivePath = "C:\\Packages\\IdentityService-8.2.3.1.zip"), "u3"), ["iis-install"]);
        });

        it("a new pool password re-runs the pool step only; a new port the site step and the readiness check", async () => {
            assert.deepEqual(await changedSteps(a => (a.iis!.appPoolIdentity!.password = "Other-Pool-Password-1"), "u4"), ["iis-app-pool"]);
            assert.deepEqual(await changedSteps(a => (a.iis!.port = 8091), "u5"), ["iis-site", "readiness"]);
        });

        it("an environment variable or an additional setting re-runs the configuration step only", async () => {
            assert.deepEqual(await changedSteps(a => (a.environment = { TZ: "UTC" }), "u7"), ["iis-configuration"]);
            assert.deepEqual(await changedSteps(a => (a.additionalSettings = { AllowedHosts: "*" }), "u8"), ["iis-configuration"]);
        });

        it("stdout logging re-runs the configuration step only", async () => {
            assert.deepEqual(await changedSteps(a => (a.iis!.stdoutLog = { enabled: true }), "u6"), ["iis-configuration"]);
        });

        /** Each remote step's triggers and connection, as the engine would diff them. */
        async function connectionView(name: string, connection: NonNullable<IisDeployment["connection"]>) {
            const args = iisArgs({ connection, siteName: "IDS", appPoolName: "IDSPool" });
            args.client = { id: "fixed-client-id-0001", secret: SECRETS.clientSecret };
            const { service, recorder } = deploy(name, args);
            await valueOf(service.url);
            const result: Record<string, { triggers: string; rest: string; connection: Record<string, unknown> }> = {};
            for (const step of [...STEPS.map(s => `iis-${s}`), "readiness"]) {
                const props = recorder.byName(`${name}-${step}`).props;
                result[step] = {
                    triggers: JSON.stringify(await valueOf(props.triggers)),
                    rest: JSON.stringify(await valueOf(pulumi.all([props.stdin, props.create, props.update, props.delete]))),
                    connection: (await valueOf(props.connection)) as Record<string, unknown>,
                };
            }
            return result;
        }

        it("another server replaces every step: the old server's deletes run there, and everything runs on the new one", async () => {
            const before = await connectionView("h1", SSH);
            const after = await connectionView("h2", { ...SSH, host: "win-iis-02.example.com" });
            for (const step of Object.keys(before)) {
                // A changed trigger replaces the step; its delete then runs with the connection kept in the state.
                assert.notEqual(after[step].triggers, before[step].triggers, `${step} is replaced`);
                assert.equal(JSON.parse(after[step].triggers)[0], "win-iis-02.example.com:22");
                // The gate expects the new server's URL as the issuer Creatio sees.
                const expected = step === "readiness" ? before[step].rest.replace(/win-iis\.example\.com:8090/, "win-iis-02.example.com:8090") : before[step].rest;
                assert.equal(after[step].rest, expected, `${step}: nothing else differs`);
            }
            const port = await connectionView("h3", { ...SSH, port: 2222 });
            assert.ok(Object.keys(before).every(step => port[step].triggers !== before[step].triggers), "another SSH port is another server");
            const sameHost = await connectionView("h4", { ...SSH, host: "WIN-IIS.example.com" });
            assert.ok(Object.keys(before).every(step => sameHost[step].triggers === before[step].triggers), "host names compare without case");
        });

        it("new SSH credentials for the same server replace nothing and change no step's script, input or trigger", async () => {
            const before = await connectionView("c1", SSH);
            for (const [label, connection] of [
                ["password", { ...SSH, password: "Rotated-Ssh-Secret-9" }],
                ["key", { host: SSH.host, user: SSH.user, privateKey: "-----BEGIN OPENSSH PRIVATE KEY-----\nrotated\n" }],
            ] as const) {
                const after = await connectionView(`c-${label}`, connection);
                for (const step of Object.keys(before)) {
                    assert.equal(after[step].triggers, before[step].triggers, `${label}: ${step} is not replaced`);
                    assert.equal(after[step].rest, before[step].rest, `${label}: ${step} runs the same script with the same input`);
                    // Only the connection differs: the step is updated with it (and the state keeps the new credentials);
                    // re-running a step whose work is done changes nothing on the server (the PowerShell suite shows it).
                    assert.notDeepEqual(after[step].connection, before[step].connection);
                }
            }
        });
    });
});

describe("IIS arguments", () => {
    beforeEach(resetMocks);

    type Case = [string, (iis: any, args: any) => void, string, RegExp];
    const cases: Case[] = [
        ["missing iis block", (_iis, a) => delete a.iis, "iis", /target is "iis" but `iis` is missing/],
        ["missing creatioPath", iis => delete iis.creatioPath, "iis.creatioPath", /is missing; give Creatio's root folder/],
        ["relative creatioPath", iis => (iis.creatioPath = "Creatio"), "iis.creatioPath", /"Creatio" is not an absolute Windows path; write it like "C:\\Creatio/],
        ["POSIX creatioPath", iis => (iis.creatioPath = "/opt/creatio"), "iis.creatioPath", /is not an absolute Windows path/],
        ["drive root as creatioPath", iis => (iis.creatioPath = "C:\\"), "iis.creatioPath", /is the root of a drive/],
        ["installPath with a forbidden character", iis => (iis.installPath = "C:\\Creatio\\Ids|1"), "iis.installPath", /characters Windows does not allow/],
        ["installPath with a colon inside", iis => (iis.installPath = "C:\\Creatio\\a:b"), "iis.installPath", /characters Windows does not allow/],
        ["missing archivePath", iis => delete iis.archivePath, "iis.archivePath", /is missing; give the path of IdentityService\.zip/],
        ["archivePath not a zip", iis => (iis.archivePath = "C:\\Packages\\IdentityService.7z"), "iis.archivePath", /does not end in \.zip/],
        ["relative archivePath", iis => (iis.archivePath = "IdentityService.zip"), "iis.archivePath", /is not an absolute Windows path; write it like "C:\\Creatio\\IdentityService\.zip" or "\\\\server\\share\\IdentityService\.zip"$/],
        // "C:\Creatio\IdentityService.zip" with single backslashes in TypeScript: the escapes vanish.
        ["archivePath with its backslashes lost", iis => (iis.archivePath = "C:CreatioIdentityService.zip"), "iis.archivePath", /write it like "C:\\Creatio\\IdentityService\.zip" .*; in TypeScript and JavaScript strings write each backslash twice \("C:\\\\Creatio"\)$/],
        ["missing port", iis => delete iis.port, "iis.port", /is missing; give the site's HTTP port/],
        ["port 0", iis => (iis.port = 0), "iis.port", /0 is not a TCP port; use a whole number from 1 to 65535/],
        ["port 65536", iis => (iis.port = 65536), "iis.port", /65536 is not a TCP port/],
        ["https port equal to port", iis => (iis.https = { port: 8090, certificateThumbprint: "A".repeat(40) }), "iis.https.port", /8090 is also iis\.port/],
        ["https port out of range", iis => (iis.https = { port: 70000, certificateThumbprint: "A".repeat(40) }), "iis.https.port", /70000 is not a TCP port/],
        ["short thumbprint", iis => (iis.https = { port: 8443, certificateThumbprint: "ABCD" }), "iis.https.certificateThumbprint", /"ABCD" is not a certificate thumbprint; give its 40 hexadecimal digits/],
        ["thumbprint with non-hex", iis => (iis.https = { port: 8443, certificateThumbprint: "G".repeat(40) }), "iis.https.certificateThumbprint", /is not a certificate thumbprint/],
        ["site name with a slash", iis => (iis.siteName = "ids/site"), "iis.siteName", /"ids\/site" is not a valid site name: IIS does not accept/],
        ["site name with a quote", iis => (iis.siteName = "it's"), "iis.siteName", /is not a valid site name/],
        ["site name with a newline", iis => (iis.siteName = "a\nb"), "iis.siteName", /is not a valid site name/],
        ["empty site name", iis => (iis.siteName = " "), "iis.siteName", /must not be empty/],
        ["pool name with a semicolon", iis => (iis.appPoolName = "pool;1"), "iis.appPoolName", /is not a valid application pool name/],
        ["pool name with a percent sign", iis => (iis.appPoolName = "pool%1"), "iis.appPoolName", /is not a valid application pool name/],
        ["pool name too long", iis => (iis.appPoolName = "p".repeat(65)), "iis.appPoolName", /is 65 characters long; IIS accepts at most 64/],
        ["pool name with trailing space", iis => (iis.appPoolName = "pool "), "iis.appPoolName", /starts or ends with white space/],
        ["empty identity username", iis => (iis.appPoolIdentity = { username: "", password: "x" }), "iis.appPoolIdentity.username", /must not be empty; give the account/],
        ["empty identity password", iis => (iis.appPoolIdentity = { username: "u", password: "" }), "iis.appPoolIdentity.password", /must not be empty; give the value \(it is kept as a secret\)/],
        ["hostname with an underscore", iis => (iis.hostname = "ids_host"), "iis.hostname", /"ids_host" is not a valid host name/],
        ["stdout log path with a quote", iis => (iis.stdoutLog = { enabled: true, path: 'C:\\"logs' }), "iis.stdoutLog.path", /is not a usable log file path/],
        ["retainOnDelete as text", iis => ((iis as any).retainOnDelete = "yes"), "iis.retainOnDelete", /"yes" is not a boolean; give true or false/],
    ];

    function valid(): any {
        return iisArgs();
    }

    for (const [title, modify, field, fix] of cases) {
        it(`rejects ${title}, naming ${field}, before creating anything`, async () => {
            const args = valid();
            modify(args.iis, args);
            const before = registered.length;
            assert.throws(
                () => new IdentityService(`iis-bad-${cases.findIndex(c => c[0] === title)}`, args),
                (error: Error) => {
                    assert.ok(error.message.includes(`- ${field}: `), `message names ${field}:\n${error.message}`);
                    assert.match(error.message, fix);
                    for (const secret of Object.values(SECRETS)) {
                        assert.ok(!error.message.includes(secret), "no secret in the message");
                    }
                    return true;
                },
            );
            await settle();
            assert.deepEqual(registered.slice(before).filter(r => r.type !== "creatio-identity-service:index:IdentityService"), []);
        });
    }

    it("checks values that are not known yet when they resolve, with the same message", async () => {
        const plan = planDeployment("iis-late", iisArgs({ port: pulumi.output(0), archivePath: pulumi.output("C:\\x.tar") }));
        const settled = (value: unknown) => (pulumi.output(value) as any).promise() as Promise<unknown>;
        await assert.rejects(settled(plan.argumentsResolved), (error: Error) => {
            assert.match(error.message, /- iis\.port: 0 is not a TCP port/);
            assert.match(error.message, /- iis\.archivePath: "C:\\\\x\.tar" does not end in \.zip/);
            return true;
        });
    });

    it("derives site and pool names IIS accepts from any component name, unique per instance", () => {
        assert.equal(defaultIisName("ids"), "IdentityService-ids");
        assert.equal(defaultIisName("prod/ids: main"), "IdentityService-prod-ids--main");
        const long1 = defaultIisName("a".repeat(80) + "1");
        const long2 = defaultIisName("a".repeat(80) + "2");
        assert.ok(long1.length <= MAX_APP_POOL_NAME_LENGTH && long2.length <= MAX_APP_POOL_NAME_LENGTH);
        assert.notEqual(long1, long2);
        assert.doesNotMatch(defaultIisName("x'\"[]%;,+=<>|?*\\\u0001"), /['"[\]%;,+=<>|?*\\\u0001]/);
    });

    it("refuses network (UNC) paths for Creatio's and the install folder, naming the field", () => {
        for (const field of ["creatioPath", "installPath"] as const) {
            assert.throws(
                () => deploy(`iis-unc-${field}`, iisArgs({ [field]: "\\\\fileserver\\creatio\\ids" })),
                (error: Error) =>
                    error.message.includes(`- iis.${field}: "\\\\\\\\fileserver\\\\creatio\\\\ids" is a network (UNC) path; give a folder on a local drive`),
            );
        }
    });

    it("refuses Creatio's folder, or a folder above it, as the install folder", () => {
        for (const installPath of ["C:\\Apps\\Creatio", "c:/apps/creatio/", "C:\\Apps"]) {
            assert.throws(
                () => deploy("iis-above", iisArgs({ creatioPath: "C:\\Apps\\Creatio", installPath })),
                (error: Error) =>
                    error.message.includes("is Creatio's folder (iis.creatioPath) or a folder above it; give a folder of its own, such as") &&
                    error.message.includes("- iis.installPath: "),
            );
        }
    });

    it("accepts a UNC archive path, forward slashes and a thumbprint with spaces", async () => {
        const { service } = deploy(
            "iis-ok",
            iisArgs({
                archivePath: "\\\\fileserver\\packages\\IdentityService.zip",
                installPath: "C:/Creatio/IdentityService",
                https: { port: 443, certificateThumbprint: "0a 1b 2c 3d 4e 5f 60 71 82 93 a4 b5 c6 d7 e8 f9 0a 1b 2c 3d" },
            }),
        );
        assert.equal(await valueOf(service.url), "https://localhost:443");
    });
});

describe("IIS documentation and readiness port stay in step with the code", () => {
    it("lists what to install for every row of the version table", () => {
        const doc = fs.readFileSync(path.join(__dirname, "..", "..", "docs", "iis.md"), "utf8");
        for (const release of RELEASES) {
            assert.ok(doc.includes(release.iis.install), `docs/iis.md names "${release.iis.install}"`);
            assert.ok(doc.includes(`ASP.NET Core ${release.iis.hostingBundleVersion}.x runtime`));
        }
    });

    it("states the supported Windows Server versions and what differs on them: OpenSSH on 2016, execution policy, stdout", () => {
        const doc = fs.readFileSync(path.join(__dirname, "..", "..", "docs", "iis.md"), "utf8");
        assert.match(doc, /\*\*Windows Server 2016, 2019, 2022 or 2025\*\*/);
        assert.equal(MINIMUM_WINDOWS_BUILD, 14393, "Windows Server 2016 (1607)");
        assert.match(doc, /Windows Server 2016 has no such capability: install Win32-OpenSSH/);
        assert.match(doc, /Add-WindowsCapability -Online -Name OpenSSH\.Server~~~~0\.0\.1\.0/);
        assert.match(doc, /when it is `Restricted` Windows PowerShell still\s+refuses the modules' own `\.psm1` and `\.ps1xml` files/);
        assert.match(doc, /What a step prints on stdout is \*\*one line of JSON in ASCII\*\*/);
        assert.doesNotMatch(doc, /plain UTF-8 text \(localized Windows messages\s+arrive readable\)\. Every step can run again/, "UTF-8 is said of stderr only");
        // Each difference from PowerShell 7 that the scripts rely on is listed with the command that checks it.
        const table = doc.slice(doc.indexOf("### What only a Windows server shows"));
        for (const subject of ["OEM code page", "`ConvertTo-Json`", "`Remove-Item -Recurse`", "`Invoke-WebRequest`", "`New-Object`", "module logging", "`SetProfileEnvironment`", "`WorkerProcesses`", "HTTP.sys", "AES-encrypted"]) {
            const row = table.split("\n").find(line => line.startsWith("| ") && line.toLowerCase().includes(subject.toLowerCase()));
            assert.ok(row, `the table has a row on ${subject}`);
            assert.equal(row.split(" | ").length, 3, `${subject}: difference, what the package does, the check on a server`);
        }
    });

    it("gives the same advice and configuration messages as the Node readiness script", () => {
        const js = fs.readFileSync(path.join(__dirname, "..", "..", "src", "scripts", "readiness.js"), "utf8");
        const ps = stepScript("readiness");
        // Every plain double-quoted message of the Node script, except those about Node's own trust store (the IIS
        // gate trusts Windows' store).
        const messages = [...js.matchAll(/^\s*(?:return )?"((?:[^"\\\n]|\\.){40,})"[;,)]*\s*$/gm)]
            .map(m => JSON.parse(`"${m[1]}"`) as string)
            .filter(m => !/Node's roots/.test(m));
        assert.ok(messages.length >= 8, `found ${messages.length} messages`);
        for (const message of messages) {
            const single = message.replace(/'/g, "''");
            const double = message.replace(/"/g, '`"');
            assert.ok(ps.includes(single) || ps.includes(double), `readiness.ps1 says: ${message}`);
        }
        // The issuer advice, whose sentences the Node script writes across lines: each literal piece of it.
        const issuerAdvice = /^function issuerAdvice\(lastSeen\) \{\n([\s\S]*?)^\}\n/m.exec(js);
        assert.ok(issuerAdvice, "readiness.js has issuerAdvice");
        const pieces = [...issuerAdvice[1].matchAll(/"((?:[^"\\\n]|\\.){30,})"/g)].map(m => JSON.parse(`"${m[1]}"`) as string);
        assert.ok(pieces.length >= 8, `found ${pieces.length} pieces of the issuer advice`);
        for (const piece of pieces) {
            assert.ok(ps.includes(piece.replace(/'/g, "''")) || ps.includes(piece), `readiness.ps1's issuer advice says: ${piece}`);
        }
    });
});

describe("the IIS API the prerequisites step checks", () => {
    /** The real Microsoft.Web.Administration surface, with its sources (the stand-in's fixture). */
    const real = JSON.parse(fs.readFileSync(path.join(__dirname, "..", "fixtures", "iis-server", "mwa-members.json"), "utf8")) as {
        classes: Record<string, { base: string; properties?: string[]; methods?: string[] }>;
        enum_values: Record<string, Record<string, number>>;
    };
    /** A member as the class has it, declared on itself or inherited from a base class of the API. */
    function has(type: string, kind: "properties" | "methods", member: string): boolean {
        for (let current: string | undefined = type; current && real.classes[current]; current = real.classes[current].base.replace(/<.*>$/, "")) {
            if ((real.classes[current][kind] ?? []).includes(member)) return true;
        }
        return false;
    }

    it("names only members and enum values the real API has, on the class the scripts use them on", () => {
        for (const [type, members] of Object.entries(IIS_API)) {
            if (members.enumValues) {
                assert.ok(real.enum_values[type], `${type} is an enum of the API`);
                for (const value of members.enumValues) assert.ok(value in real.enum_values[type], `${type}.${value}`);
                continue;
            }
            assert.ok(real.classes[type], `${type} is a class of the API`);
            for (const property of members.properties ?? []) assert.ok(has(type, "properties", property), `${type}.${property} is a property`);
            for (const method of members.methods ?? []) assert.ok(has(type, "methods", method), `${type}.${method}() is a method`);
        }
        assert.equal(has("ApplicationPoolProcessModel", "properties", "SetProfileEnvironment"), false, "the check is not vacuous: no real version has it");
    });
});

describe("rules every IIS script keeps (beyond parsing)", () => {
    const runner = scriptFileRunner("C:\\Creatio [1]\\It's.deploy\\install-0123456789ab.ps1", "C:\\Creatio [1]\\It's.deploy\\step-library-0123456789ab.ps1", "hint");

    it("never uses $input: the host would then drain stdin before the script reads its JSON", () => {
        for (const script of STEP_SCRIPTS) {
            assert.doesNotMatch(stepScript(script), /\$input\b/i, script);
        }
        assert.doesNotMatch(runner, /\$input\b/i);
    });

    it("sets UTF-8 before anything is written, so localized messages on stderr arrive readable: the uploader itself, the runner for every other step", () => {
        for (const script of UPLOADER_SCRIPTS) {
            assert.match(stepScript(script), /^\[Console\]::OutputEncoding = New-Object (System\.)?Text\.UTF8Encoding \$false$/m, script);
        }
        assert.match(runner, /^\$file=[^;]*;\$library=[^;]*;\$ErrorActionPreference='Stop';if\(\$ExecutionContext\.SessionState\.LanguageMode -ne 'FullLanguage'\)\{throw [^}]*\};\[Console\]::OutputEncoding=New-Object Text\.UTF8Encoding \$false;/);
    });

    it("writes standard output only through the step library, as ASCII JSON (Windows PowerShell 5.1 writes it in the OEM code page)", () => {
        for (const script of STEP_SCRIPTS) {
            const source = stepScript(script);
            assert.doesNotMatch(source, /\b(?:Write-Output|Write-Host|ConvertFrom-Json)(?![\w-])/, script);
            if (UPLOADER_SCRIPTS.includes(script)) {
                assert.match(source, /\[regex\]::Replace\(\$json, '\[\^\\x00-\\x7f\]'/, `${script} escapes what is beyond ASCII`);
            } else {
                assert.doesNotMatch(source, /\bConvertTo-Json(?![\w-])/, script);
                // readiness.ps1 writes its one line itself, after ConvertTo-AsciiJson.
                assert.deepEqual(source.match(/\[Console\]::Out\.\w+\(.*/g) ?? [], script === "readiness" ? ["[Console]::Out.WriteLine((Protect-Text $text))"] : [], script);
            }
        }
    });

    it("runs an uploaded script as a script block read from the file and checked against its name, not by path (no execution policy, no wildcards)", () => {
        assert.ok(runner.includes("$file='C:\\Creatio [1]\\It''s.deploy\\install-0123456789ab.ps1';"));
        assert.match(runner, /\$run=\[ScriptBlock\]::Create\(\(Read-UploadedText \$file\)\);\$stepLibrary=\[ScriptBlock\]::Create\(\(Read-UploadedText \$library\)\)/);
        assert.match(runner, /function Read-UploadedText\(\$path\)\{\$text=\[IO\.File\]::ReadAllText\(.*SHA256.*\$hash\.StartsWith\(\$name\.Substring\(\$name\.Length-12\)/);
        assert.doesNotMatch(runner, /& '/, "the file is never invoked by path");
        assert.match(runner, /exit 1/);
        assert.match(runner, /;exit 0$/, "a step that returns has succeeded, whatever its last native program returned");
        assert.doesNotMatch(runner, /LASTEXITCODE/);
    });
});

describe("the scripts step's input (plain lines, so a changed script reads line by line in a preview)", () => {
    const files = [
        { name: "install-0123456789ab.ps1", content: "$a = 1\n\n# comment\n" },
        { name: "empty-line-0123456789ab.ps1", content: "\n" },
        { name: "ConfigPatch-0123456789ab.cs", content: "class A {}\r\nclass B {}\n" },
    ];

    it("is a folder line, then per file its name and line count and exactly its lines", () => {
        assert.equal(
            scriptsInput("C:\\Creatio\\IdentityService.deploy", files),
            "folder C:\\Creatio\\IdentityService.deploy\n" +
                "file install-0123456789ab.ps1 3\n$a = 1\n\n# comment\n" +
                "file empty-line-0123456789ab.ps1 1\n\n" +
                "file ConfigPatch-0123456789ab.cs 2\nclass A {}\r\nclass B {}\n",
        );
        assert.deepEqual(parseUpload(scriptsInput("C:\\x", files)), { folder: "C:\\x", files });
    });

    it("refuses what it could not write back exactly: a line break in the folder, a content without its final line break, an odd name", () => {
        assert.throws(() => scriptsInput("C:\\a\nb", files), /line break/);
        assert.throws(() => scriptsInput("C:\\a", [{ name: "a-0123456789ab.ps1", content: "x" }]), /does not end in a line break/);
        assert.throws(() => scriptsInput("C:\\a", [{ name: "a b.ps1", content: "x\n" }]), /letters, digits, dots and dashes/);
    });

    it("round-trips any folder and contents (fast-check)", () => {
        const line = fc.string({ unit: fc.constantFrom(..."ab \t\r$'\"%!^&()#{}:-\u00fc\u540d"), maxLength: 12 });
        fc.assert(
            fc.property(
                line.filter(folder => !/[\r\n]/.test(folder)),
                fc.array(fc.array(line, { maxLength: 6 }), { maxLength: 4 }),
                (folder, contents) => {
                    const generated = contents.map((lines, i) => ({ name: `f${i}-0123456789ab.ps1`, content: `${lines.join("\n")}\n` }));
                    assert.deepEqual(parseUpload(scriptsInput(`C:\\${folder}`, generated)), { folder: `C:\\${folder}`, files: generated });
                },
            ),
            { numRuns: 200 },
        );
    });
});
