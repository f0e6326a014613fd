import "./support/mocks";
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import * as docker from "@pulumi/docker";
import { encodePkcs12 } from "../src/certificates";
import { CreatioRuntime, DatabaseProvider, DeploymentTarget, IdentityService, IdentityServiceArgs, LogLevel, RestartPolicy } from "../src";
import { clientDefinition } from "../src/configuration";
import { systemClientProfile } from "../src/versions";
import { CONTAINER_LABEL } from "../src/targets/docker";
import { DEFAULT_HEALTH_CHECK } from "../src/targets/healthCheck";
import { identityServerSecretHash, storedClient } from "../src/reseed";
import { isSecretInput, Recorder, registered, resetMocks, settle, valueOf } from "./support/mocks";

/** The extracted IdentityService.zip of the test fixture service (it holds Dockerfile-OAuth). */
const BUILD_CONTEXT = path.join(__dirname, "fixtures", "identity-service");

const certificates = path.join(__dirname, "fixtures", "certificates");
const CONNECTION_STRING = "Server=db;Port=5432;Database=creatio;User ID=creatio;Password=Conn-Secret-7731;";

function dockerArgs(overrides: Partial<IdentityServiceArgs> = {}): IdentityServiceArgs {
    return {
        target: DeploymentTarget.Docker,
        creatioVersion: "8.2.3",
        database: { provider: DatabaseProvider.Postgres, connectionString: CONNECTION_STRING },
        signingCertificate: { path: path.join(certificates, "signing.pfx") },
        docker: { build: { context: BUILD_CONTEXT } },
        ...overrides,
    };
}

/** The settings file uploaded into a component's container (`/app/appsettings.Production.json`), parsed. */
async function settingsFileOf(recorder: Recorder, name: string): Promise<Record<string, any>> {
    const uploads: { file: string; content?: string }[] = await valueOf(recorder.byName(`${name}-container`).props.uploads);
    const file = uploads.find(upload => upload.file === "/app/appsettings.Production.json");
    assert.ok(file?.content, `${name}: the settings file is uploaded`);
    return JSON.parse(file.content);
}

function deploy(name: string, args: IdentityServiceArgs) {
    const recorder = new Recorder();
    const service = new IdentityService(name, args, { transformations: [recorder.transformation] });
    return { service, recorder };
}

describe("IdentityService on Docker (mocks)", () => {
    beforeEach(resetMocks);

    it("registers the expected children, named after the component", async () => {
        const { service, recorder } = deploy("ids", dockerArgs());
        await valueOf(service.url);
        assert.deepEqual(
            recorder.constructed.map(r => `${r.type} ${r.name}`),
            [
                "creatio-identity-service:index:IdentityService ids",
                "random:index/randomString:RandomString ids-client-id",
                "random:index/randomPassword:RandomPassword ids-client-secret",
                "command:local:Command ids-client-reseed",
                "docker:index/image:Image ids-image",
                "docker:index/container:Container ids-container",
                "command:local:Command ids-readiness",
                "command:local:Command ids-client-retire",
            ],
        );
        for (const child of recorder.constructed.slice(1)) {
            assert.equal(child.opts.parent, service, `${child.name} is parented to the component`);
        }
    });

    it("generates a 16-character id and a 32-character secret of letters and digits, with rotation as keeper", async () => {
        const { service, recorder } = deploy("gen", dockerArgs({ client: { rotation: "2026-11" } }));
        const id = recorder.byName("gen-client-id").props;
        const secret = recorder.byName("gen-client-secret").props;
        for (const [props, length] of [[id, 16], [secret, 32]] as const) {
            assert.equal(props.length, length);
            assert.equal(props.special, false);
            assert.deepEqual([props.upper, props.lower, props.numeric], [true, true, true]);
            assert.deepEqual(props.keepers, { rotation: "2026-11" });
        }
        assert.match(await valueOf(service.clientId), /^[A-Za-z0-9]{16}$/);
        assert.match(await valueOf(service.clientSecret), /^[A-Za-z0-9]{32}$/);
    });

    it("sends no keepers without client.rotation, so that setting it the first time is a change that regenerates", async () => {
        // terraform-provider-random replaces on keepers that go from null to a value (RequiresReplaceIfValuesNotNull):
        // the first `rotation` rotates, by design, like any later change of it.
        const before = deploy("first", dockerArgs()).recorder;
        for (const child of ["first-client-id", "first-client-secret"]) {
            assert.equal(before.byName(child).props.keepers, undefined);
        }
        resetMocks();
        const after = deploy("first", dockerArgs({ client: { rotation: "1" } })).recorder;
        for (const child of ["first-client-id", "first-client-secret"]) {
            assert.deepEqual(after.byName(child).props.keepers, { rotation: "1" });
        }
    });

    it("uses supplied credentials as given and generates nothing", async () => {
        const { service, recorder } = deploy(
            "own",
            dockerArgs({ client: { id: "my-client-id-0001", secret: "my-client-secret-0123456789abcdef", name: "My app" } }),
        );
        assert.equal(await valueOf(service.clientId), "my-client-id-0001");
        assert.equal(await valueOf(service.clientSecret), "my-client-secret-0123456789abcdef");
        assert.equal(await valueOf(service.clientName), "My app");
        assert.ok(!recorder.constructed.some(r => r.type.startsWith("random:")));
    });

    it("exposes the URLs and the Creatio system settings, and keeps the secrets secret", async () => {
        const { service } = deploy("out", dockerArgs({ docker: { build: { context: BUILD_CONTEXT }, httpPort: 9100, hostname: "ids.example.com" } }));
        assert.equal(await valueOf(service.url), "http://ids.example.com:9100");
        assert.equal(await valueOf(service.discoveryUrl), "http://ids.example.com:9100/.well-known/openid-configuration");
        assert.equal(await valueOf(service.tokenUrl), "http://ids.example.com:9100/connect/token");
        assert.equal(await pulumi.isSecret(service.clientSecret), true);
        assert.equal(await pulumi.isSecret(service.creatioSystemSettings), true);
        assert.equal(await pulumi.isSecret(service.url), false);
        assert.equal(await pulumi.isSecret(service.clientId), false);
        const settings = await valueOf(service.creatioSystemSettings);
        assert.deepEqual(settings, {
            OAuth20IdentityServerUrl: "http://ids.example.com:9100",
            OAuth20IdentityServerClientId: await valueOf(service.clientId),
            OAuth20IdentityServerClientSecret: await valueOf(service.clientSecret),
        });
    });

    it("configures the service through a settings file uploaded as a secret, with every key, and no secret in the environment", async () => {
        const { recorder } = deploy(
            "env",
            dockerArgs({
                creatioVersion: "8.3.1",
                logLevel: LogLevel.Debug,
                redisConnection: "redis:6379,password=Redis-Secret-55",
                client: { id: "client-id-000000001", secret: "S".repeat(32), creatioUrl: "https://creatio.example.com" },
            }),
        );
        const container = recorder.byName("env-container").props;
        assert.equal(await isSecretInput(container.uploads), true);
        const file = await settingsFileOf(recorder, "env");
        assert.equal(file.DbProvider, "Postgres");
        assert.equal(file.DatabaseConnectionString, CONNECTION_STRING);
        assert.equal(file.PostgresConnection, CONNECTION_STRING);
        assert.equal(file.X509CertificatePath, "/app/signing-certificate.pfx");
        assert.deepEqual(file.Logging, { LogLevel: { Default: "Debug" } });
        assert.equal(file.RedisConnection, "redis:6379,password=Redis-Secret-55");
        assert.equal(file.ForceHttpsSchemeInRequests, false);
        const clients = JSON.parse(file.Clients);
        assert.equal(clients[0].ClientId, "client-id-000000001");
        assert.deepEqual(clients[0].RedirectUris, [
            "https://creatio.example.com",
            "https://creatio.example.com/lib",
            "https://creatio.example.com/lib/",
        ]);
        // The environment holds only where Kestrel listens and which settings file to read: nothing secret, so not a secret.
        assert.equal(await isSecretInput(container.envs), false);
        assert.deepEqual(await valueOf(container.envs), ["ASPNETCORE_URLS=http://+:80", "ASPNETCORE_ENVIRONMENT=Production"]);
    });

    it("publishes port 8090 by default, restarts unless stopped, and uploads the signing PFX as a secret", async () => {
        const { recorder } = deploy("ctr", dockerArgs());
        const container = recorder.byName("ctr-container");
        assert.equal(container.props.name, "ctr");
        assert.equal(container.props.restart, RestartPolicy.UnlessStopped);
        assert.deepEqual(await valueOf(container.props.ports), [{ internal: 80, external: 8090, ip: "0.0.0.0" }]);
        assert.equal(container.props.mustRun, true);
        assert.equal((container.opts as pulumi.CustomResourceOptions).deleteBeforeReplace, true);
        assert.equal(await isSecretInput(container.props.uploads), true);
        const uploads = await valueOf(container.props.uploads);
        assert.deepEqual(uploads.map((u: { file: string }) => u.file), ["/app/appsettings.Production.json", "/app/signing-certificate.pfx"]);
        assert.equal(Buffer.from(uploads[1].contentBase64, "base64")[0], 0x30);
        assert.equal(container.props.volumes, undefined, "no host volume");
    });

    it("builds from the extracted archive with Dockerfile-OAuth, never pushes, and runs the built image", async () => {
        const { recorder } = deploy("bld", dockerArgs({ docker: { build: { context: BUILD_CONTEXT } } }));
        const image = recorder.byName("bld-image").props;
        assert.equal(image.skipPush, true);
        assert.equal(image.imageName, "creatio-identity-service:8.2.3-bld");
        assert.equal(await valueOf(image.build.context), BUILD_CONTEXT);
        assert.equal(await valueOf(image.build.dockerfile), path.join(BUILD_CONTEXT, "Dockerfile-OAuth"));
        assert.equal(await valueOf(recorder.byName("bld-container").props.image), "sha256:built-bld-image");
    });

    it("pulls a prebuilt image, keeps it locally, and runs it by id", async () => {
        const { recorder } = deploy("pull", dockerArgs({ docker: { image: "registry.example.com/ids:8.2.3" } }));
        const image = recorder.byName("pull-image");
        assert.equal(image.type, "docker:index/remoteImage:RemoteImage");
        assert.equal(await valueOf(image.props.name), "registry.example.com/ids:8.2.3");
        assert.equal(image.props.keepLocally, true);
        assert.equal(await valueOf(recorder.byName("pull-container").props.image), "sha256:pulled-pull-image");
    });

    it("pulls by digest when imageDigest is given, so a new digest pulls a tag that was pushed again", async () => {
        const digest = `sha256:${"ab12".repeat(16)}`;
        const { recorder } = deploy("dig", dockerArgs({ docker: { image: "registry.example.com/ids:8.2.3", imageDigest: digest } }));
        assert.equal(await valueOf(recorder.byName("dig-image").props.name), `registry.example.com/ids:8.2.3@${digest}`);
    });

    it("refuses an imageDigest that is no digest, one given with build, and a digest given twice", () => {
        assert.throws(
            () => deploy("bad1", dockerArgs({ docker: { image: "ids:8.2.3", imageDigest: "latest" } })),
            /docker\.imageDigest: "latest" is not an image digest; give "sha256:" and 64 lowercase hex digits/,
        );
        assert.throws(
            () => deploy("bad2", dockerArgs({ docker: { build: { context: BUILD_CONTEXT }, imageDigest: `sha256:${"0".repeat(64)}` } })),
            /docker\.imageDigest: applies to a pulled `image`, not to `build`; remove it/,
        );
        assert.throws(
            () => deploy("bad3", dockerArgs({ docker: { image: `ids@sha256:${"1".repeat(64)}`, imageDigest: `sha256:${"2".repeat(64)}` } })),
            /docker\.imageDigest: `image` already names a digest; give the digest in one place only/,
        );
    });

    it("serves HTTPS with its own certificate, apart from the signing certificate", async () => {
        const { service, recorder } = deploy(
            "tls",
            dockerArgs({
                docker: {
                    build: { context: BUILD_CONTEXT },
                    https: { port: 9443, certificate: { path: path.join(certificates, "tls.pfx"), password: "tls-test-password" } },
                },
            }),
        );
        const container = recorder.byName("tls-container").props;
        const env: string[] = await valueOf(container.envs);
        assert.deepEqual(env, [
            "ASPNETCORE_URLS=https://+:443;http://+:80",
            "ASPNETCORE_HTTPS_PORT=9443",
            "ASPNETCORE_Kestrel__Certificates__Default__Path=/app/tls-certificate.pfx",
            "ASPNETCORE_ENVIRONMENT=Production",
        ]);
        assert.ok(!JSON.stringify(env).includes("tls-test-password"), "the certificate's password is not in the environment");
        const file = await settingsFileOf(recorder, "tls");
        assert.deepEqual(file.Kestrel, { Certificates: { Default: { Password: "tls-test-password" } } });
        assert.equal(file.X509CertificatePath, "/app/signing-certificate.pfx");
        assert.equal(file.ForceHttpsSchemeInRequests, undefined, "8.2.3 does not know the key");
        const uploads = await valueOf(container.uploads);
        assert.deepEqual(uploads.map((u: { file: string }) => u.file), ["/app/appsettings.Production.json", "/app/signing-certificate.pfx", "/app/tls-certificate.pfx"]);
        assert.deepEqual(await valueOf(container.ports), [
            { internal: 80, external: 8090, ip: "0.0.0.0" },
            { internal: 443, external: 9443, ip: "0.0.0.0" },
        ]);
        assert.equal(await valueOf(service.url), "https://localhost:9443");
    });

    it("attaches the container to the given networks", async () => {
        const { recorder } = deploy("net", dockerArgs({ docker: { build: { context: BUILD_CONTEXT }, networks: ["creatio", "db"] } }));
        assert.deepEqual(await valueOf(recorder.byName("net-container").props.networksAdvanced), [{ name: "creatio" }, { name: "db" }]);
    });

    it("runs re-seeding before the container and the readiness gate after it, with secrets only on stdin", async () => {
        const { recorder } = deploy("ord", dockerArgs({ client: { secret: "Client-Secret-0000000000000000000042" } }));
        const reseed = recorder.byName("ord-client-reseed");
        const container = recorder.byName("ord-container");
        const readiness = recorder.byName("ord-readiness");
        const retire = recorder.byName("ord-client-retire");
        assert.deepEqual(await urnsOf(container.opts.dependsOn), [await urnOfChild("ord-client-reseed")]);
        assert.deepEqual(await urnsOf(retire.opts.dependsOn), [await urnOfChild("ord-readiness")], "retired once the new client answers");
        for (const cmd of [reseed, readiness, retire]) {
            assert.equal(cmd.props.logging, "none");
            assert.deepEqual((cmd.opts as pulumi.CustomResourceOptions).additionalSecretOutputs, ["stdout", "stderr"]);
            assert.equal(await isSecretInput(cmd.props.stdin), true);
            assert.ok(cmd.props.update, "an update script is given");
            assert.match(cmd.props.create, /^node ".*src\/scripts\/(reseed|readiness)\.js"$/);
            const visible = JSON.stringify(await valueOf(pulumi.all([cmd.props.create, cmd.props.environment ?? {}, cmd.props.triggers ?? []])));
            assert.ok(!visible.includes("Client-Secret-0000000000000000000042"));
            assert.ok(!visible.includes("Conn-Secret-7731"));
        }
        for (const [cmd, action] of [[reseed, "prepare"], [retire, "retire"]] as const) {
            assert.equal(cmd.props.addPreviousOutputInEnv, true);
            assert.equal(cmd.props.environment.RESEED_DB_PROVIDER, "Postgres");
            const stdinText: string = await valueOf(cmd.props.stdin);
            const stdin = JSON.parse(stdinText);
            assert.equal(stdin.action, action);
            assert.equal(stdin.connectionString, CONNECTION_STRING);
            // The secret as IdentityServer4 stores it, never in clear.
            assert.deepEqual(stdin.client.SecretHashes, [identityServerSecretHash("Client-Secret-0000000000000000000042")]);
            assert.ok(!stdinText.includes("Client-Secret-0000000000000000000042"));
            const configured = clientDefinition({
                id: stdin.client.ClientId,
                name: "Creatio",
                secret: "Client-Secret-0000000000000000000042",
                accessTokenLifetimeSeconds: 3600,
                systemClient: systemClientProfile([8, 2, 3]),
            });
            assert.deepEqual(stdin.client, storedClient(configured), "the client the service is given");
        }
        // Re-seeding has deleted nothing yet: no restart token on the container.
        assert.deepEqual(await valueOf(container.props.labels), [{ label: CONTAINER_LABEL, value: "ord" }]);
        assert.deepEqual(JSON.parse(await valueOf(readiness.props.stdin)), { clientSecret: "Client-Secret-0000000000000000000042" });
        const env = await valueOf(readiness.props.environment);
        assert.equal(env.IDENTITY_SERVICE_URL, "http://localhost:8090");
        assert.equal(env.READINESS_TIMEOUT_SECONDS, "300");
        assert.equal(env.READINESS_VERIFY_TOKEN, "true");
        assert.match(env.READINESS_TOKEN_SCOPES, /^register_own_resource get_resource_list .* add_registrar_client IdentityServerApi$/);
        assert.deepEqual(await valueOf(readiness.props.triggers), ["ord-container-id"]);
    });

    it("retires replaced credentials only after the readiness gate and the connection to Creatio", async () => {
        const { service, recorder } = deploy(
            "conn",
            dockerArgs({
                creatioVersion: "8.1.3",
                creatio: { url: "https://creatio.example.com", username: "Supervisor", password: "Creatio-Secret-1", runtime: CreatioRuntime.NetFramework },
            }),
        );
        await valueOf(service.url);
        const retire = recorder.byName("conn-client-retire");
        const names = (await urnsOf(retire.opts.dependsOn)).map(urn => urn.split("::").pop());
        assert.deepEqual(names, ["conn-readiness", "conn-creatio"]);
        assert.equal(recorder.constructed[recorder.constructed.length - 1].name, "conn-client-retire", "created after every other child");
    });

    it("retires after the container itself when the readiness gate is off", async () => {
        const { recorder } = deploy("nogate", dockerArgs({ readiness: { enabled: false } }));
        const names = (await urnsOf(recorder.byName("nogate-client-retire").opts.dependsOn)).map(urn => urn.split("::").pop());
        assert.deepEqual(names, ["nogate-container"]);
    });

    it("re-seeds through a separate connection string when the deploying machine reaches the database elsewhere", async () => {
        const { recorder } = deploy(
            "rcs",
            dockerArgs({
                database: {
                    provider: DatabaseProvider.MsSqlServer,
                    connectionString: CONNECTION_STRING,
                    reseedConnectionString: "Server=127.0.0.1,14330;Database=creatio;User ID=sa;Password=Reseed-Secret-1;",
                },
            }),
        );
        const reseed = recorder.byName("rcs-client-reseed").props;
        assert.equal(reseed.environment.RESEED_DB_PROVIDER, "MsSqlServer");
        assert.equal(JSON.parse(await valueOf(reseed.stdin)).connectionString, "Server=127.0.0.1,14330;Database=creatio;User ID=sa;Password=Reseed-Secret-1;");
        assert.equal((await settingsFileOf(recorder, "rcs")).MsSqlConnection, CONNECTION_STRING, "the service keeps its own connection string");
    });

    it("skips re-seeding and the readiness gate when disabled", async () => {
        const { service, recorder } = deploy(
            "off",
            dockerArgs({ client: { reseed: false }, readiness: { enabled: false } }),
        );
        assert.ok(!recorder.constructed.some(r => r.type.startsWith("command:")));
        assert.deepEqual(await urnsOf(recorder.byName("off-container").opts.dependsOn), []);
        assert.equal(await valueOf(service.url), "http://localhost:8090");
    });

    it("passes readiness settings through", async () => {
        const { recorder } = deploy("rdy", dockerArgs({ readiness: { timeoutSeconds: 42, verifyToken: false } }));
        const env = await valueOf(recorder.byName("rdy-readiness").props.environment);
        assert.equal(env.READINESS_TIMEOUT_SECONDS, "42");
        assert.equal(env.READINESS_VERIFY_TOKEN, "false");
    });

    it("lets two instances live in one stack without name collisions", async () => {
        const first = deploy("ids-a", dockerArgs());
        const second = deploy("ids-b", dockerArgs({ docker: { build: { context: BUILD_CONTEXT }, httpPort: 8091 } }));
        await settle();
        const names = [...first.recorder.constructed, ...second.recorder.constructed].map(r => r.name);
        assert.equal(new Set(names).size, names.length);
        assert.notEqual(first.recorder.byName("ids-a-container").props.name, second.recorder.byName("ids-b-container").props.name);
    });

    it("accepts Outputs for Input fields and checks them when they resolve", async () => {
        const { service } = deploy(
            "outs",
            dockerArgs({
                database: { provider: DatabaseProvider.Postgres, connectionString: pulumi.secret(CONNECTION_STRING) },
                docker: { build: { context: pulumi.output(BUILD_CONTEXT) }, httpPort: pulumi.output(8099) },
            }),
        );
        assert.equal(await valueOf(service.url), "http://localhost:8099");
    });
});

describe("checks of values known only later (mocks)", () => {
    beforeEach(resetMocks);

    /**
     * The errors a program run reports: Pulumi's Node.js host prints each distinct unhandled rejection once (by
     * identity) and fails the run. Collects them until the first arrives and everything started has settled.
     */
    async function reportedErrors(run: () => void): Promise<Set<unknown>> {
        const seen = new Set<unknown>();
        const listener = (reason: unknown) => void seen.add(reason);
        process.on("unhandledRejection", listener);
        try {
            run();
            while (seen.size === 0) {
                await settle();
            }
            await settle();
        } finally {
            process.off("unhandledRejection", listener);
        }
        return seen;
    }

    it("fail the deployment with the plain argument error, never echo a secret, and register no child", async () => {
        const before = registered.length;
        const errors = await reportedErrors(() =>
            deploy(
                "late",
                dockerArgs({
                    client: { id: pulumi.secret("abcdefghij") },
                    docker: { build: { context: BUILD_CONTEXT }, httpPort: pulumi.output(70000) },
                }),
            ),
        );
        assert.equal(errors.size, 1, `one error, reported once: ${[...errors].map(e => (e as Error).message).join("\n---\n")}`);
        const [error] = [...errors] as pulumi.InputPropertiesError[];
        assert.equal(
            error.message,
            'IdentityService "late" has invalid arguments:\n' +
                "- client.id: (a secret value of 10 characters) is too short: the Identity Service requires at least 16 characters; supply a longer value or leave it out to have one generated\n" +
                "- docker.httpPort: 70000 is not a TCP port; use a whole number from 1 to 65535",
        );
        assert.equal(pulumi.InputPropertiesError.isInstance(error), true);
        // client.id was a secret: named in the message only, since the engine prints the value beside each entry's path.
        assert.deepEqual(error.errors.map(e => e.propertyPath), ["docker.httpPort"]);
        assert.deepEqual(registered.slice(before).map(r => r.name), [], "neither the component nor a child was registered");
    });

    it("let the deployment go ahead when the values are fine", async () => {
        const { service } = deploy("late-ok", dockerArgs({ client: { id: pulumi.secret("abcdefghij-klmnop") } }));
        assert.equal(await valueOf(service.url), "http://localhost:8090");
    });
});

describe("the URL handed to Creatio (mocks)", () => {
    beforeEach(resetMocks);
    let warnings: string[] = [];
    const warn = pulumi.log.warn;
    beforeEach(() => {
        warnings = [];
        (pulumi.log as { warn: typeof pulumi.log.warn }).warn = async (message: string) => void warnings.push(message);
    });
    afterEach(() => ((pulumi.log as { warn: typeof pulumi.log.warn }).warn = warn));

    const readinessUrl = (recorder: Recorder, name: string) =>
        valueOf(recorder.byName(`${name}-readiness`).props.environment.IDENTITY_SERVICE_URL);

    it("hands Creatio publicUrl as the service writes its issuer (no default port, no trailing slash) while the gate checks the deploying machine's address", async () => {
        const { service, recorder } = deploy("pub", dockerArgs({ publicUrl: "http://Identity-Service:80/" }));
        assert.equal(await valueOf(service.url), "http://localhost:8090");
        assert.equal(await readinessUrl(recorder, "pub"), "http://localhost:8090");
        // A client leaves the default port out of Host, so the service's issuer has none, and Creatio's discovery
        // client compares the issuer with this URL as a string.
        assert.equal(await valueOf(service.publicUrl), "http://identity-service");
        assert.equal((await valueOf(service.creatioSystemSettings)).OAuth20IdentityServerUrl, "http://identity-service");
        assert.equal(await valueOf(recorder.byName("pub-readiness").props.environment.IDENTITY_SERVICE_PUBLIC_URL), "http://identity-service");
        assert.equal(await pulumi.isSecret(service.publicUrl), false);
    });

    it("defaults publicUrl to url", async () => {
        const { service } = deploy("same", dockerArgs({ docker: { build: { context: BUILD_CONTEXT }, hostname: "ids.example.com" } }));
        assert.equal(await valueOf(service.publicUrl), "http://ids.example.com:8090");
        assert.equal((await valueOf(service.creatioSystemSettings)).OAuth20IdentityServerUrl, "http://ids.example.com:8090");
    });

    it("on a remote Docker host, polls that host (not this machine) and hands it to Creatio, without a warning", async () => {
        const provider = new docker.Provider("remote", { host: "ssh://deploy@docker1.example.com" });
        const recorder = new Recorder();
        const service = new IdentityService("far", dockerArgs(), { providers: [provider], transformations: [recorder.transformation] });
        assert.equal(await valueOf(service.url), "http://docker1.example.com:8090");
        assert.equal(await readinessUrl(recorder, "far"), "http://docker1.example.com:8090");
        assert.equal((await valueOf(service.creatioSystemSettings)).OAuth20IdentityServerUrl, "http://docker1.example.com:8090");
        await settle();
        assert.deepEqual(warnings, []);
    });

    it("warns when Creatio would receive localhost from a remote Docker host", async () => {
        const provider = new docker.Provider("tunnel", { host: "tcp://10.20.30.40:2376" });
        const service = new IdentityService("tun", dockerArgs({ docker: { build: { context: BUILD_CONTEXT }, hostname: "localhost" } }), { provider });
        await valueOf(service.creatioSystemSettings);
        await settle();
        assert.equal(warnings.length, 1);
        assert.match(warnings[0], /remote Docker host 10\.20\.30\.40, but Creatio would receive http:\/\/localhost:8090/);

        warnings = [];
        resetMocks();
        const fixed = new IdentityService("tun2", dockerArgs({ docker: { build: { context: BUILD_CONTEXT }, hostname: "localhost" }, publicUrl: "http://10.20.30.40:8090" }), { provider });
        await valueOf(fixed.creatioSystemSettings);
        await settle();
        assert.deepEqual(warnings, [], "no warning once publicUrl is given");
    });

    it("does not warn for a local Docker host", async () => {
        const { service } = deploy("local", dockerArgs());
        await valueOf(service.creatioSystemSettings);
        await settle();
        assert.deepEqual(warnings, []);
    });
});

describe("behind a TLS-terminating proxy on Docker (mocks)", () => {
    beforeEach(resetMocks);

    async function containerEnvironmentOf(recorder: Recorder, name: string): Promise<Map<string, string>> {
        const env: string[] = await valueOf(recorder.byName(`${name}-container`).props.envs);
        return new Map(env.map(entry => [entry.slice(0, entry.indexOf("=")), entry.slice(entry.indexOf("=") + 1)]));
    }
    const gateEnvironment = (recorder: Recorder, name: string) => recorder.byName(`${name}-readiness`).props.environment;

    it("with publicUrl https://… on 8.3.1, the service forces https and takes forwarded headers, and the gate checks that issuer", async () => {
        const { service, recorder } = deploy("tls", dockerArgs({ creatioVersion: "8.3.1", publicUrl: "https://ids.example.com" }));
        const env = await containerEnvironmentOf(recorder, "tls");
        assert.equal((await settingsFileOf(recorder, "tls")).ForceHttpsSchemeInRequests, true);
        assert.equal(env.get("ASPNETCORE_FORWARDEDHEADERS_ENABLED"), "true");
        assert.equal(env.get("ASPNETCORE_URLS"), "http://+:80", "the service itself still serves plain HTTP");
        const gate = gateEnvironment(recorder, "tls");
        assert.equal(await valueOf(gate.IDENTITY_SERVICE_URL), "http://localhost:8090");
        assert.equal(await valueOf(gate.IDENTITY_SERVICE_PUBLIC_URL), "https://ids.example.com");
        assert.equal(gate.READINESS_VERIFY_ISSUER, undefined, "the gate's default: checked");
        assert.equal((await valueOf(service.creatioSystemSettings)).OAuth20IdentityServerUrl, "https://ids.example.com");
    });

    it("before 8.3.1 (no ForceHttpsSchemeInRequests), forwarded headers alone carry the scheme", async () => {
        const { recorder } = deploy("old", dockerArgs({ creatioVersion: "8.2.3", publicUrl: "https://ids.example.com" }));
        const env = await containerEnvironmentOf(recorder, "old");
        assert.equal(env.get("ASPNETCORE_FORWARDEDHEADERS_ENABLED"), "true");
        assert.equal("ForceHttpsSchemeInRequests" in (await settingsFileOf(recorder, "old")), false);
    });

    it("without publicUrl nothing changes: no forwarded headers, the scheme the service serves, the gate's inputs as before (it checks url's issuer)", async () => {
        const { recorder } = deploy("plain", dockerArgs({ creatioVersion: "8.3.1" }));
        const env = await containerEnvironmentOf(recorder, "plain");
        assert.equal(env.has("ASPNETCORE_FORWARDEDHEADERS_ENABLED"), false);
        assert.equal((await settingsFileOf(recorder, "plain")).ForceHttpsSchemeInRequests, false);
        const gate = gateEnvironment(recorder, "plain");
        assert.deepEqual(Object.keys(gate).sort(), [
            "IDENTITY_SERVICE_CLIENT_ID",
            "IDENTITY_SERVICE_URL",
            "READINESS_TIMEOUT_SECONDS",
            "READINESS_TOKEN_SCOPES",
            "READINESS_VERIFY_TOKEN",
        ]);
    });

    it("explicit arguments override the defaults", async () => {
        const { recorder } = deploy(
            "explicit",
            dockerArgs({
                creatioVersion: "8.3.1",
                publicUrl: "https://ids.example.com",
                proxy: { forwardedHeaders: false },
                forceHttpsSchemeInRequests: false,
                readiness: { verifyIssuer: false },
            }),
        );
        const env = await containerEnvironmentOf(recorder, "explicit");
        assert.equal(env.has("ASPNETCORE_FORWARDEDHEADERS_ENABLED"), false);
        assert.equal((await settingsFileOf(recorder, "explicit")).ForceHttpsSchemeInRequests, false);
        assert.equal(await valueOf(gateEnvironment(recorder, "explicit").READINESS_VERIFY_ISSUER), "false");

        resetMocks();
        const on = deploy("on", dockerArgs({ creatioVersion: "8.3.1", proxy: { forwardedHeaders: pulumi.output(true) } })).recorder;
        assert.equal((await containerEnvironmentOf(on, "on")).get("ASPNETCORE_FORWARDEDHEADERS_ENABLED"), "true", "an Output, without publicUrl");
    });

    it("decides from publicUrl and url once they resolve: a remote Docker host is the service's own host", async () => {
        const provider = new docker.Provider("remote-proxy", { host: "ssh://deploy@docker1.example.com" });
        const recorder = new Recorder();
        new IdentityService("same", dockerArgs({ publicUrl: pulumi.output("http://DOCKER1.example.com:8090/") }), { providers: [provider], transformations: [recorder.transformation] });
        assert.equal((await containerEnvironmentOf(recorder, "same")).has("ASPNETCORE_FORWARDEDHEADERS_ENABLED"), false, "publicUrl is the service's own URL");
    });
});

describe("generated signing certificate (mocks)", () => {
    beforeEach(resetMocks);
    const generatedPfx = () =>
        encodePkcs12(
            fs.readFileSync(path.join(certificates, "generated-key.pem"), "utf8"),
            fs.readFileSync(path.join(certificates, "generated-certificate.pem"), "utf8"),
        );
    const withoutCertificate = (overrides: Partial<IdentityServiceArgs> = {}) => {
        const args = dockerArgs();
        delete args.signingCertificate;
        return { ...args, ...overrides };
    };

    it("generates an RSA key and a self-signed signing certificate per instance when none is given (also on 8.2.3)", async () => {
        const { service, recorder } = deploy("gen", withoutCertificate());
        await valueOf(service.url);
        const key = recorder.byName("gen-signing-key");
        const certificate = recorder.byName("gen-signing-certificate");
        assert.equal(key.type, "tls:index/privateKey:PrivateKey");
        assert.deepEqual([key.props.algorithm, key.props.rsaBits], ["RSA", 2048]);
        assert.ok(((key.opts as pulumi.CustomResourceOptions).additionalSecretOutputs ?? []).includes("privateKeyPem"), "the private key is a secret in state");
        assert.equal(certificate.type, "tls:index/selfSignedCert:SelfSignedCert");
        assert.equal(await valueOf(certificate.props.privateKeyPem), fs.readFileSync(path.join(certificates, "generated-key.pem"), "utf8"));
        assert.equal(await isSecretInput(certificate.props.privateKeyPem), true);
        assert.deepEqual(certificate.props.allowedUses, ["digital_signature"]);
        assert.match(certificate.props.subject.commonName, /\(gen\)$/);
        for (const child of [key, certificate]) {
            assert.equal(child.opts.parent, service);
        }
    });

    it("delivers the generated PFX exactly as a supplied one: a secret upload at the same path, byte-stable", async () => {
        const { recorder } = deploy("deliver", withoutCertificate());
        const container = recorder.byName("deliver-container");
        assert.equal(await isSecretInput(container.props.uploads), true);
        const upload = (await valueOf(container.props.uploads)).find((u: { file: string }) => u.file === "/app/signing-certificate.pfx");
        assert.equal(upload.contentBase64, (await generatedPfx()).toString("base64"));
        const file = await settingsFileOf(recorder, "deliver");
        assert.equal(file.X509CertificatePath, "/app/signing-certificate.pfx");
        assert.equal(file.X509CertificatePassword, undefined, "the generated PFX has no password");

        resetMocks();
        const again = deploy("deliver", withoutCertificate()).recorder.byName("deliver-container");
        const uploadedAgain = (await valueOf(again.props.uploads)).find((u: { file: string }) => u.file === "/app/signing-certificate.pfx");
        assert.equal(uploadedAgain.contentBase64, upload.contentBase64, "a re-run changes nothing");
    });

    it("rotates the key (and with it the certificate) when signingCertificate.rotation changes", async () => {
        const { recorder } = deploy("rot", withoutCertificate({ signingCertificate: { rotation: "2026-11" } }));
        const key = recorder.byName("rot-signing-key");
        assert.equal(await valueOf((key.opts as pulumi.CustomResourceOptions).replacementTrigger), "2026-11");
        resetMocks();
        const unrotated = deploy("rot", withoutCertificate()).recorder.byName("rot-signing-key");
        assert.equal((unrotated.opts as pulumi.CustomResourceOptions).replacementTrigger, undefined);
    });

    it("generates nothing when a PFX is supplied", async () => {
        const { service, recorder } = deploy("own-pfx", dockerArgs());
        await valueOf(service.url);
        assert.ok(!recorder.constructed.some(r => r.type.startsWith("tls:")));
    });
});

/** The URNs of the resources in a `dependsOn` option. */
async function urnsOf(dependsOn: pulumi.ResourceOptions["dependsOn"]): Promise<string[]> {
    const resources = (await valueOf(dependsOn as pulumi.Input<pulumi.Resource[]>)) as unknown as pulumi.Resource[];
    return Promise.all((resources ?? []).map(resource => valueOf(resource.urn)));
}

/** The URN mocks give a local command child of the component. */
async function urnOfChild(name: string): Promise<string> {
    return `urn:pulumi:stack::project::creatio-identity-service:index:IdentityService$command:local:Command::${name}`;
}

describe("a Creatio release newer than the version table (mocks)", () => {
    beforeEach(resetMocks);
    let warnings: { message: string; resource?: pulumi.Resource }[] = [];
    const warn = pulumi.log.warn;
    beforeEach(() => {
        warnings = [];
        (pulumi.log as { warn: typeof pulumi.log.warn }).warn = async (message: string, resource?: pulumi.Resource) => void warnings.push({ message, resource });
    });
    afterEach(() => ((pulumi.log as { warn: typeof pulumi.log.warn }).warn = warn));

    it("deploys Creatio 8.4.0 with a warning on the component, built from the 8.3 profile", async () => {
        const { service, recorder } = deploy("next", dockerArgs({ creatioVersion: "8.4.0" }));
        await valueOf(service.url);
        await settle();
        assert.equal(warnings.length, 1);
        assert.equal(warnings[0].resource, service, "on the component");
        assert.equal(
            warnings[0].message,
            "Creatio 8.4.0 is newer than the releases this package knows (up to 8.3.x): it is deployed as Creatio 8.3.x would be: " +
                ".NET 8 (on IIS the .NET 8 runtime and the ASP.NET Core 8.0 hosting bundle), Docker supported, the configuration keys " +
                "RedisConnection and ForceHttpsSchemeInRequests, and the system client's scopes and properties of 8.3.x. Check the " +
                "release's Identity Service guide for anything new; set `profileVersion` to a known release to choose the profile " +
                "yourself (this warning then goes away), or use a release of this package that knows 8.4.0",
        );
        // Built from the 8.3 profile: its keys and system client, under the release's own version.
        const file = await settingsFileOf(recorder, "next");
        assert.equal(file.ForceHttpsSchemeInRequests, false, "a key from 8.3.1 on");
        const profile83 = systemClientProfile([8, 3, 1]);
        const [client] = JSON.parse(file.Clients);
        assert.deepEqual(client.AllowedScopes, [...profile83.allowedScopes]);
        assert.deepEqual(client.Properties, profile83.properties);
        assert.equal(recorder.byName("next-image").props.imageName, "creatio-identity-service:8.4.0-next");
        const readiness = await valueOf(recorder.byName("next-readiness").props.environment);
        assert.equal(readiness.READINESS_TOKEN_SCOPES, [...profile83.requestedScopes, "IdentityServerApi"].join(" "));
    });

    it("takes the profile profileVersion pins, without a warning", async () => {
        const { service, recorder } = deploy("pin", dockerArgs({ creatioVersion: "10.0.0", profileVersion: "8.2.3" }));
        await valueOf(service.url);
        await settle();
        assert.deepEqual(warnings, []);
        const file = await settingsFileOf(recorder, "pin");
        assert.equal(file.ForceHttpsSchemeInRequests, undefined, "8.2.3 has no such key");
        assert.deepEqual(JSON.parse(file.Clients)[0].AllowedScopes, [...systemClientProfile([8, 2, 3]).allowedScopes]);
        assert.equal(recorder.byName("pin-image").props.imageName, "creatio-identity-service:10.0.0-pin");
    });

    it("warns about nothing for a release the table knows", async () => {
        const { service } = deploy("known", dockerArgs({ creatioVersion: "8.3.5" }));
        await valueOf(service.url);
        await settle();
        assert.deepEqual(warnings, []);
    });
});

describe("escape hatches on Docker (mocks)", () => {
    beforeEach(resetMocks);

    it("delivers additionalSettings in the settings file with the package's keys, secrets kept secret", async () => {
        const { recorder } = deploy(
            "extra",
            dockerArgs({
                additionalSettings: {
                    AllowedHosts: "*",
                    "Logging:LogLevel:Microsoft": "Error",
                    Serilog: { MinimumLevel: { Default: "Warning" }, Using: ["Console"] },
                    Smtp: { Password: pulumi.secret("Smtp-Secret-4471"), Port: 587 },
                    Limits: pulumi.output({ MaxClients: 10 }),
                },
            }),
        );
        const file = await settingsFileOf(recorder, "extra");
        assert.equal(file.AllowedHosts, "*");
        assert.deepEqual(file.Logging, { LogLevel: { Default: "Warning", Microsoft: "Error" } });
        assert.deepEqual(file.Serilog, { MinimumLevel: { Default: "Warning" }, Using: ["Console"] });
        assert.deepEqual(file.Smtp, { Password: "Smtp-Secret-4471", Port: 587 });
        assert.deepEqual(file.Limits, { MaxClients: 10 });
        assert.equal(file.DatabaseConnectionString, CONNECTION_STRING);
        const container = recorder.byName("extra-container").props;
        assert.equal(await isSecretInput(container.uploads), true);
        assert.ok(!JSON.stringify(await valueOf(container.envs)).includes("Smtp-Secret-4471"));
    });

    it("adds the environment to the container's own variables, and replaces one only when overrides lists it", async () => {
        const { recorder } = deploy(
            "vars",
            dockerArgs({
                environment: { TZ: "Europe/Berlin", Logging__LogLevel__Default: pulumi.output("Debug"), ASPNETCORE_URLS: "http://+:80;http://+:8080" },
                overrides: ["Logging__LogLevel__Default", "ASPNETCORE_URLS"],
            }),
        );
        assert.deepEqual(await valueOf(recorder.byName("vars-container").props.envs), [
            "ASPNETCORE_ENVIRONMENT=Production",
            "TZ=Europe/Berlin",
            "Logging__LogLevel__Default=Debug",
            "ASPNETCORE_URLS=http://+:80;http://+:8080",
        ]);
    });

    it("replaces a package key with an additional setting when overrides lists it", async () => {
        const { recorder } = deploy("own-log", dockerArgs({ additionalSettings: { "Logging:LogLevel:Default": "Information" }, overrides: ["Logging:LogLevel:Default"] }));
        assert.deepEqual((await settingsFileOf(recorder, "own-log")).Logging, { LogLevel: { Default: "Information" } });
    });

    const refusals: Array<[string, Partial<IdentityServiceArgs>, RegExp]> = [
        ["a key the package sets", { additionalSettings: { "Logging:LogLevel:Default": "Debug" } }, /- additionalSettings\["Logging:LogLevel:Default"\]: "Logging:LogLevel:Default" is a key the package sets from `logLevel`; use `logLevel` instead, or, to replace the package's value on purpose, add "Logging:LogLevel:Default" to `overrides`/],
        ["a nested key the package sets", { additionalSettings: { Logging: { LogLevel: { Default: "Debug" } } } }, /- additionalSettings\.Logging\.LogLevel\.Default: "Logging:LogLevel:Default" is a key the package sets from `logLevel`/],
        ["the Kestrel password", { additionalSettings: { "Kestrel:Certificates:Default:Password": "x" } }, /is a key the package sets from `docker\.https\.certificate\.password`/],
        ["a variable for a package key", { environment: { DatabaseConnectionString: "x" } }, /- environment\.DatabaseConnectionString: DatabaseConnectionString sets "databaseconnectionstring", which the package sets from `database\.connectionString`/],
        ["a variable of the container", { environment: { ASPNETCORE_ENVIRONMENT: "Development" } }, /- environment\.ASPNETCORE_ENVIRONMENT: .*which makes the service read the settings file \/app\/appsettings\.Production\.json; remove it/],
        ["a secret replaced through the environment", { environment: { Clients: "[]" }, overrides: ["Clients"] }, /- environment\.Clients: Clients replaces "clients", a secret the package sets from `client`; a secret does not belong in an environment/],
        ["a stale override", { overrides: ["AllowedHosts"] }, /- overrides: "AllowedHosts" replaces nothing the package sets/],
        ["an override that is not a string", { overrides: [""] }, /- overrides\[0\]: "" is not a configuration key or variable name/],
        ["overrides that are not a list", { overrides: "Clients" as unknown as string[] }, /- overrides: must be a list of configuration keys and variable names/],
        ["a variable name with a colon", { environment: { "Logging:LogLevel:Microsoft": "Error" } }, /- environment\["Logging:LogLevel:Microsoft"\]: "Logging:LogLevel:Microsoft" is not an environment variable name; write "__" for the ":"/],
        ["a variable that is not a string", { environment: { PORT: 8080 as unknown as string } }, /- environment\.PORT: 8080 is not a string; environment variables hold text/],
        ["an empty section in a key", { additionalSettings: { "Serilog::MinimumLevel": "Debug" } }, /- additionalSettings\["Serilog::MinimumLevel"\]: "Serilog::MinimumLevel" has an empty section/],
        ["a value that is not JSON", { additionalSettings: { Started: new Date(0) as unknown as string } }, /- additionalSettings\.Started: is not a JSON value: an instance of a class; give a string, number, boolean, null, array or object/],
        ["an empty object", { additionalSettings: { Serilog: {} } }, /- additionalSettings\.Serilog: "Serilog" is an empty object, which sets nothing/],
        ["additionalSettings that is not an object", { additionalSettings: ["AllowedHosts"] as unknown as Record<string, string> }, /- additionalSettings: must be an object of configuration keys and values/],
        ["environment that is not an object", { environment: "TZ=UTC" as unknown as Record<string, string> }, /- environment: must be an object of variable names and values/],
        ["null in place of a package key", { additionalSettings: { "Logging:LogLevel:Default": null }, overrides: ["Logging:LogLevel:Default"] }, /- additionalSettings\["Logging:LogLevel:Default"\]: replaces "Logging:LogLevel:Default", which the package sets from `logLevel`, with null, which leaves the service without that key; give one value \(a string, number or boolean\), or remove "Logging:LogLevel:Default" from `overrides` and `additionalSettings`/],
        ["an array in place of a package secret", { additionalSettings: { Clients: [{ ClientId: "c", ClientSecrets: ["Array-Secret-5521"] }] }, overrides: ["Clients"] }, /- additionalSettings\.Clients: replaces "Clients", which the package sets from `client`, with an array/],
        ["a key and a variable for the same key", { additionalSettings: { AllowedHosts: "*" }, environment: { AllowedHosts: "x" } }, /- environment\.AllowedHosts: AllowedHosts sets "AllowedHosts", which additionalSettings\.AllowedHosts sets too/],
    ];
    for (const [title, overrides, expected] of refusals) {
        it(`refuses ${title} before creating anything`, async () => {
            const before = registered.length;
            assert.throws(() => deploy(`refuse-${refusals.findIndex(r => r[0] === title)}`, dockerArgs(overrides)), expected);
            await settle();
            assert.deepEqual(registered.slice(before), [], "nothing registered");
        });
    }

    /** The first error a program run reports (an argument checked when it resolved), and what it registered. */
    async function reportedError(run: () => void): Promise<{ error: Error; registeredNames: string[] }> {
        const before = registered.length;
        const seen: unknown[] = [];
        const listener = (reason: unknown) => void seen.push(reason);
        process.on("unhandledRejection", listener);
        try {
            run();
            while (seen.length === 0) await settle();
            await settle();
        } finally {
            process.off("unhandledRejection", listener);
        }
        return { error: seen[0] as Error, registeredNames: registered.slice(before).map(r => r.name) };
    }

    it("refuses a secret environment value once it resolves, naming the field, without the value, before any child", async () => {
        const { error, registeredNames } = await reportedError(() => deploy("secret-env", dockerArgs({ environment: { SMTP_PASSWORD: pulumi.secret("Smtp-Secret-4471") } })));
        assert.match(error.message, /- environment\.SMTP_PASSWORD: is a secret, and a secret does not belong in an environment \(`docker inspect` shows a container's, IIS Manager a site's\); give it in `additionalSettings` instead/);
        assert.ok(!error.message.includes("Smtp-Secret-4471"));
        assert.deepEqual(registeredNames, []);
    });

    it("refuses a key inside a value known only later that collides, once it resolves", async () => {
        const { error, registeredNames } = await reportedError(() =>
            deploy("late-key", dockerArgs({ additionalSettings: { Logging: pulumi.output({ LogLevel: { Default: "Debug" } }) } })),
        );
        assert.match(error.message, /- additionalSettings: additionalSettings\.Logging: "Logging:LogLevel:Default" is a key the package sets from `logLevel`/);
        assert.deepEqual(registeredNames, []);
    });

    it("refuses null in place of a package key known only later, once it resolves, before any child", async () => {
        const { error, registeredNames } = await reportedError(() =>
            deploy("late-null", dockerArgs({ additionalSettings: { DbProvider: pulumi.output(null) }, overrides: ["DbProvider"] })),
        );
        assert.match(error.message, /- additionalSettings: additionalSettings\.DbProvider replaces "DbProvider", which the package sets from `database\.provider`, with null, which leaves the service without that key/);
        assert.deepEqual(registeredNames, []);
    });

    it("counts an override used by a key known only later", async () => {
        const { recorder, service } = deploy(
            "late-override",
            dockerArgs({ additionalSettings: { Logging: pulumi.output({ LogLevel: { Default: "Debug" } }) }, overrides: ["Logging:LogLevel:Default"] }),
        );
        await valueOf(service.url);
        assert.deepEqual((await settingsFileOf(recorder, "late-override")).Logging, { LogLevel: { Default: "Debug" } });
    });
});

describe("the Docker container's health check (mocks)", () => {
    beforeEach(resetMocks);

    it("probes the discovery document with the Swarm target's default probe, timed as the provider reads it back", async () => {
        const { recorder } = deploy("health", dockerArgs());
        const container = recorder.byName("health-container");
        assert.deepEqual(await valueOf(container.props.healthcheck), { tests: DEFAULT_HEALTH_CHECK, interval: "3s", timeout: "3s", startPeriod: "1m0s", retries: 3 });
        assert.deepEqual((container.opts as pulumi.CustomResourceOptions).replaceOnChanges, ["healthcheck"], "the provider's update would not apply a new one");
    });

    it("takes a probe of the user's, or NONE", async () => {
        const probe = deploy("probe", dockerArgs({ docker: { build: { context: BUILD_CONTEXT }, healthCheck: ["CMD", "/probe", pulumi.output("--fast")] } })).recorder;
        assert.deepEqual((await valueOf(probe.byName("probe-container").props.healthcheck)).tests, ["CMD", "/probe", "--fast"]);
        resetMocks();
        const none = deploy("none", dockerArgs({ docker: { build: { context: BUILD_CONTEXT }, healthCheck: ["NONE"] } })).recorder;
        assert.deepEqual((await valueOf(none.byName("none-container").props.healthcheck)).tests, ["NONE"]);
    });
});

describe("transforms on the component (mocks, with the engine's transforms: test/emulator/transforms.js)", () => {
    beforeEach(resetMocks);

    /** The README's example: a memory limit and log rotation for the container, nothing else touched. */
    const limitContainer: pulumi.ResourceTransform = ({ type, props, opts }) =>
        type === "docker:index/container:Container"
            ? { props: { ...props, memory: 512, logDriver: "json-file", logOpts: { "max-size": "10m", "max-file": "3" } }, opts }
            : undefined;

    it("changes the child it picks and leaves the others as they were", async () => {
        const service = new IdentityService("shaped", dockerArgs(), { transforms: [limitContainer] });
        await valueOf(service.url);
        await settle();
        const container = registered.find(r => r.name === "shaped-container")!;
        assert.equal(container.inputs.memory, 512);
        assert.equal(container.inputs.logDriver, "json-file");
        assert.deepEqual(container.inputs.logOpts, { "max-size": "10m", "max-file": "3" });
        assert.equal(container.inputs.name, "shaped", "the component's own inputs stay");
        for (const child of registered.filter(r => r.name.startsWith("shaped-") && r.name !== "shaped-container")) {
            assert.equal(child.inputs.memory, undefined, child.name);
        }
    });
});

describe("IdentityService repair", () => {
    beforeEach(resetMocks);

    const repairArgs = (repair?: string) =>
        dockerArgs({
            client: { id: "RepairClient0123456", secret: "Repair-Secret-0123456789abcdef0123" },
            creatio: { url: "https://creatio.example.com", username: "Supervisor", password: "Creatio-Secret-1", runtime: CreatioRuntime.NetFramework },
            repair,
        });

    /** Every child's inputs, resolved, by name. */
    async function inputsByName(recorder: Recorder): Promise<Map<string, string>> {
        const resolved = new Map<string, string>();
        for (const child of recorder.constructed.slice(1)) {
            resolved.set(child.name, JSON.stringify(await valueOf(child.props as pulumi.Inputs)));
        }
        return resolved;
    }

    it("a new value changes the re-seed step's and the Creatio connection's environment, and no other child's inputs", async () => {
        const first = await inputsByName(deploy("rep", repairArgs("1")).recorder);
        const second = await inputsByName(deploy("rep", repairArgs("2")).recorder);
        assert.deepEqual([...first.keys()], [...second.keys()]);
        const changed = [...first.keys()].filter(name => first.get(name) !== second.get(name));
        assert.deepEqual(changed.sort(), ["rep-client-reseed", "rep-creatio-connection"]);
        for (const name of changed) {
            assert.equal(JSON.parse(second.get(name)!).environment.CREATIO_IDENTITY_SERVICE_REPAIR, "2", name);
        }
    });

    it("without a value the steps carry no repair variable, so stacks that never set it see no change", async () => {
        const unset = await inputsByName(deploy("rep", repairArgs()).recorder);
        for (const name of ["rep-client-reseed", "rep-creatio-connection"]) {
            assert.ok(!("CREATIO_IDENTITY_SERVICE_REPAIR" in JSON.parse(unset.get(name)!).environment), name);
        }
    });
});
