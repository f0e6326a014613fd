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

    it("configures the container through a secret environment with every key", async () => {
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
        assert.equal(await isSecretInput(container.envs), true);
        const env: string[] = await valueOf(container.envs);
        const map = new Map(env.map(entry => [entry.slice(0, entry.indexOf("=")), entry.slice(entry.indexOf("=") + 1)]));
        assert.equal(map.get("ASPNETCORE_URLS"), "http://+:80");
        assert.equal(map.get("DbProvider"), "Postgres");
        assert.equal(map.get("DatabaseConnectionString"), CONNECTION_STRING);
        assert.equal(map.get("PostgresConnection"), CONNECTION_STRING);
        assert.equal(map.get("X509CertificatePath"), "/app/signing-certificate.pfx");
        assert.equal(map.get("Logging__LogLevel__Default"), "Debug");
        assert.equal(map.get("RedisConnection"), "redis:6379,password=Redis-Secret-55");
        assert.equal(map.get("ForceHttpsSchemeInRequests"), "false");
        const clients = JSON.parse(map.get("Clients")!);
        assert.equal(clients[0].ClientId, "client-id-000000001");
        assert.deepEqual(clients[0].RedirectUris, [
            "https://creatio.example.com",
            "https://creatio.example.com/lib",
            "https://creatio.example.com/lib/",
        ]);
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
        assert.equal(uploads.length, 1);
        assert.equal(uploads[0].file, "/app/signing-certificate.pfx");
        assert.equal(Buffer.from(uploads[0].contentBase64, "base64")[0], 0x30);
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
                    https: { port: 9443, certificate: { path: path.join(certificates, "tls.pfx"), password: "Tls-Secret-9911" } },
                },
            }),
        );
        const container = recorder.byName("tls-container").props;
        const env: string[] = await valueOf(container.envs);
        assert.ok(env.includes("ASPNETCORE_URLS=https://+:443;http://+:80"));
        assert.ok(env.includes("ASPNETCORE_HTTPS_PORT=9443"));
        assert.ok(env.includes("ASPNETCORE_Kestrel__Certificates__Default__Path=/app/tls-certificate.pfx"));
        assert.ok(env.includes("ASPNETCORE_Kestrel__Certificates__Default__Password=Tls-Secret-9911"));
        assert.ok(env.includes("X509CertificatePath=/app/signing-certificate.pfx"));
        assert.ok(!env.some(e => e.startsWith("ForceHttpsSchemeInRequests=")), "8.2.3 does not know the key");
        const uploads = await valueOf(container.uploads);
        assert.deepEqual(uploads.map((u: { file: string }) => u.file), ["/app/signing-certificate.pfx", "/app/tls-certificate.pfx"]);
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
        const env: string[] = await valueOf(recorder.byName("rcs-container").props.envs);
        assert.ok(env.includes(`MsSqlConnection=${CONNECTION_STRING}`), "the service keeps its own connection string");
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

    it("hands Creatio publicUrl (without a trailing slash) while the gate checks the deploying machine's address", async () => {
        const { service, recorder } = deploy("pub", dockerArgs({ publicUrl: "http://identity-service:80/" }));
        assert.equal(await valueOf(service.url), "http://localhost:8090");
        assert.equal(await readinessUrl(recorder, "pub"), "http://localhost:8090");
        assert.equal(await valueOf(service.publicUrl), "http://identity-service:80");
        assert.equal((await valueOf(service.creatioSystemSettings)).OAuth20IdentityServerUrl, "http://identity-service:80");
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
        const [upload] = await valueOf(container.props.uploads);
        assert.equal(upload.file, "/app/signing-certificate.pfx");
        assert.equal(upload.contentBase64, (await generatedPfx()).toString("base64"));
        const environment: string[] = await valueOf(container.props.envs);
        assert.ok(environment.includes("X509CertificatePath=/app/signing-certificate.pfx"));
        assert.ok(!environment.some(line => line.startsWith("X509CertificatePassword=")), "the generated PFX has no password");

        resetMocks();
        const again = deploy("deliver", withoutCertificate()).recorder.byName("deliver-container");
        assert.equal((await valueOf(again.props.uploads))[0].contentBase64, upload.contentBase64, "a re-run changes nothing");
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
