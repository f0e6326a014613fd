import "../support/mocks";
import { strict as assert } from "assert";
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { DatabaseProvider, DeploymentTarget, IdentityService, IdentityServiceArgs } from "../../src";
import { planDeployment } from "../../src/plan";
import {
    connectionPoolSize,
    databaseConnectionProblem,
    DEFAULT_CONNECTION_POOL_SIZE,
    defaultRedisVolume,
    defaultServiceAlias,
    providerDuration,
    publishedPorts,
    REDIS_DATA_PATH,
    replacesDeleteFirst,
    restartCounter,
    SETTINGS_FILE_PATH,
    swarmClaims,
    swarmSettings,
    taskRevision,
} from "../../src/targets/swarm";
import { secretProvider, serviceProvider, stateOfCreatedService } from "../e2e/support/swarm";
import { ArgumentCheck } from "../../src/validation";
import { CONTAINER_SIGNING_CERTIFICATE_PATH, CONTAINER_TLS_CERTIFICATE_PATH } from "../../src/targets/docker";
import { Recorder, RegisteredResource, registered, resetMocks, settle, valueOf } from "../support/mocks";

const certificates = path.join(__dirname, "..", "fixtures", "certificates");
const SECRET_CONNECTION = "Server=db;Database=creatio;User ID=u;Password=Very-Secret-Pw-8842;";
const CLIENT_SECRET = "Client-Secret-Value-0123456789-abcdef";
const TLS_PASSWORD = "tls-test-password"; // test/fixtures/certificates/README.md
const CA_PEM = fs.readFileSync(path.join(certificates, "generated-certificate.pem"), "utf8");
const TLS_CERTIFICATE = { path: path.join(certificates, "tls.pfx"), password: TLS_PASSWORD };

function valid(): IdentityServiceArgs & { swarm: any } {
    return {
        target: DeploymentTarget.Swarm,
        creatioVersion: "8.2.3",
        database: { provider: DatabaseProvider.Postgres, connectionString: SECRET_CONNECTION },
        client: { secret: CLIENT_SECRET },
        signingCertificate: { path: path.join(certificates, "signing.pfx") },
        redisConnection: "redis.internal:6379",
        swarm: { image: "registry.example.com/ids:8.2.3" },
    };
}

/** The JSON in a Docker secret's `data` (base64), as the mock monitor received it (a secret envelope). */
function decodeSecretData(data: any): any {
    const base64 = typeof data === "string" ? data : data.value;
    return JSON.parse(Buffer.from(base64, "base64").toString());
}

/** A modification of valid arguments, the field the message must name, and a fragment of the fix. */
type Case = [string, (args: any) => void, string, RegExp];

const cases: Case[] = [
    ["swarm target without swarm block", a => delete a.swarm, "swarm", /target is "swarm" but `swarm` is missing/],
    ["swarm block on the docker target", a => ((a.target = "docker"), (a.docker = { image: "ids:1" })), "swarm", /is set but target is "docker"; remove `swarm`/],
    ["docker block on the swarm target", a => (a.docker = { image: "ids:1" }), "docker", /is set but target is "swarm"; remove `docker`/],
    ["version without Docker support", a => (a.creatioVersion = "8.0.7"), "creatioVersion", /Docker and Swarm need 8\.0\.8 or later/],
    ["both image and build", a => (a.swarm.build = { context: "/ids" }), "swarm", /both `image` and `build` are set/],
    ["neither image nor build", a => delete a.swarm.image, "swarm", /neither `image` nor `build` is set/],
    ["empty image", a => (a.swarm.image = " "), "swarm.image", /must not be empty/],
    ["zero replicas", a => (a.swarm.replicas = 0), "swarm.replicas", /0 is out of range; use a whole number of tasks from 1 to 100/],
    ["fractional replicas", a => (a.swarm.replicas = 2.5), "swarm.replicas", /2\.5 is out of range/],
    ["replicas without a shared key", a => delete a.redisConnection, "swarm.replicas", /2 tasks must share the key.*`redisConnection`.*`swarm\.redis`/],
    ["Redis twice", a => (a.swarm.redis = { image: "redis:7" }), "swarm.redis", /is set and so is `redisConnection`; give only one/],
    ["empty Redis image", a => (delete a.redisConnection, (a.swarm.redis = { image: "" })), "swarm.redis.image", /must not be empty/],
    [
        "Redis volume with a slash",
        a => (delete a.redisConnection, (a.swarm.redis = { image: "redis:7", volume: "ids/redis" })),
        "swarm.redis.volume",
        /"ids\/redis" is not a Docker volume name; use letters, digits, "_", "." and "-"/,
    ],
    ["port 0", a => (a.swarm.httpPort = 0), "swarm.httpPort", /0 is not a TCP port/],
    ["bad host name", a => (a.swarm.hostname = "ids_host"), "swarm.hostname", /"ids_host" is not a valid host name/],
    ["unknown endpoint mode", a => (a.swarm.endpointMode = "mesh"), "swarm.endpointMode", /"mesh" is not a known endpoint mode; use one of "vip", "dnsrr"/],
    ["service alias with upper case", a => (a.swarm.serviceAlias = "Ids"), "swarm.serviceAlias", /"Ids" is not a DNS name for the service/],
    ["update parallelism 0", a => (a.swarm.update = { parallelism: 0 }), "swarm.update.parallelism", /0 is out of range/],
    ["update delay without unit", a => (a.swarm.update = { delay: "10" }), "swarm.update.delay", /"10" is not a duration; write it like "10s"/],
    ["update monitor in words", a => (a.swarm.update = { monitor: "ten seconds" }), "swarm.update.monitor", /is not a duration/],
    ["unknown update order", a => (a.swarm.update = { order: "random" }), "swarm.update.order", /"random" is not a known update order; use one of "start-first", "stop-first"/],
    ["unknown rollback order", a => (a.swarm.rollback = { order: "sideways" }), "swarm.rollback.order", /"sideways" is not a known update order/],
    ["negative CPU limit", a => (a.swarm.resources = { cpuLimit: -1 }), "swarm.resources.cpuLimit", /-1 is not a positive number of cores/],
    ["zero memory limit", a => (a.swarm.resources = { memoryLimitMb: 0 }), "swarm.resources.memoryLimitMb", /0 is not a positive number of MiB/],
    ["health check without CMD", a => (a.swarm.healthCheck = ["curl", "-f", "http://localhost/"]), "swarm.healthCheck", /is not a health check command; give Docker's `test` form/],
    ["pools beyond the database", a => ((a.swarm.replicas = 3), (a.swarm.maxDatabaseConnections = 300)), "swarm.maxDatabaseConnections", /4 tasks at once \(replicas 3 plus 1 started first during an update\) with a pool of 100 connections each can open 400 connections, more than the 300 allowed/],
    ["connection limit zero", a => (a.swarm.maxDatabaseConnections = 0), "swarm.maxDatabaseConnections", /0 is out of range/],
    ["HTTPS without a certificate", a => (a.swarm.https = { port: 8443 }), "swarm.https.certificate", /HTTPS needs a TLS certificate; give `certificate\.path` of a \.pfx file/],
    ["HTTPS on the HTTP port", a => (a.swarm.https = { port: 8090, certificate: TLS_CERTIFICATE }), "swarm.https.port", /8090 is also swarm\.httpPort; use two different published ports/],
    ["HTTPS port 0", a => (a.swarm.https = { port: 0, certificate: TLS_CERTIFICATE }), "swarm.https.port", /0 is not a TCP port/],
    [
        "HTTPS certificate that is no PFX",
        a => (a.swarm.https = { certificate: { path: path.join(certificates, "not-a-pfx.pfx") } }),
        "swarm.https.certificate.path",
        /is not a PFX \(PKCS#12\) file; export the certificate with its private key as \.pfx/,
    ],
];

describe("swarm target: argument checks", () => {
    beforeEach(resetMocks);

    for (const [title, modify, field, fix] of cases) {
        it(`rejects ${title}, naming ${field}, before creating anything`, async () => {
            const args = valid();
            modify(args);
            const before = registered.length;
            assert.throws(
                () => new IdentityService(`swarm-bad-${cases.findIndex(c => c[0] === title)}`, args),
                (error: Error) => {
                    assert.ok(error.message.includes(`- ${field}: `), `message names ${field}:\n${error.message}`);
                    assert.match(error.message, fix);
                    assert.ok(!error.message.includes("Very-Secret-Pw-8842"), "no secret in the message");
                    return true;
                },
            );
            await settle();
            const children = registered.slice(before).filter(r => r.type !== "creatio-identity-service:index:IdentityService");
            assert.deepEqual(children, [], "no child resource was registered");
        });
    }

    it("accepts one replica without Redis", () => {
        const args = valid();
        delete args.redisConnection;
        args.swarm.replicas = 1;
        assert.doesNotThrow(() => planDeployment("single", args));
    });

    it("accepts pools that fit, counting the task started first", () => {
        const args = valid();
        args.database.connectionString = `${SECRET_CONNECTION}Maximum Pool Size=20;`;
        args.swarm.replicas = 3;
        args.swarm.maxDatabaseConnections = 80;
        assert.doesNotThrow(() => planDeployment("fits", args));
    });

    it("checks the pools when the connection string resolves, without showing it", async () => {
        const args = valid();
        args.database.connectionString = pulumi.secret(SECRET_CONNECTION);
        args.swarm.maxDatabaseConnections = 150;
        const plan = planDeployment("late-pool", args);
        const check = new ArgumentCheck("late-pool");
        swarmSettings("late-pool", args.swarm, { connectionString: args.database.connectionString, redisConnection: "r" }, check);
        await assert.rejects(valueOf(check.resolved()!), (error: Error) => {
            assert.match(error.message, /swarm\.maxDatabaseConnections: 3 tasks at once .* 300 connections, more than the 150 allowed/);
            assert.ok(!error.message.includes("Very-Secret-Pw-8842"));
            return true;
        });
        await assert.rejects(valueOf(plan.argumentsResolved!), /swarm\.maxDatabaseConnections/);
        assert.ok(plan.deployment, "planned");
    });
});

describe("swarm target: pure parts", () => {
    it("reads the pool size from the connection string, else the drivers' default", () => {
        assert.equal(connectionPoolSize("Server=db;Maximum Pool Size=25;"), 25);
        assert.equal(connectionPoolSize("Server=db;Max Pool Size=30;Password=x"), 30);
        assert.equal(connectionPoolSize("Server=db;MaxPoolSize=7"), 7);
        assert.equal(connectionPoolSize("Server=db;Password=x"), DEFAULT_CONNECTION_POOL_SIZE);
        assert.equal(connectionPoolSize("Server=db;Maximum Pool Size=lots"), undefined);
    });

    it("counts the tasks a start-first update adds, and not a stop-first one", () => {
        assert.equal(databaseConnectionProblem(3, { parallelism: 1, order: "start-first" }, 100, 400), undefined);
        assert.match(databaseConnectionProblem(3, { parallelism: 2, order: "start-first" }, 100, 400)!, /5 tasks at once.*500 connections/);
        assert.equal(databaseConnectionProblem(4, { parallelism: 2, order: "stop-first" }, 100, 400), undefined);
    });

    it("derives a DNS alias from the component name", () => {
        assert.equal(defaultServiceAlias("Identity_Service"), "identity-service");
        assert.equal(defaultServiceAlias("ids"), "ids");
        assert.equal(defaultServiceAlias("---"), "identity-service");
        assert.ok(defaultServiceAlias("x".repeat(80)).length <= 57);
    });

    it("derives the force-update counter from the restart token alone: none without a token, the same for the same token", () => {
        assert.equal(restartCounter(undefined), undefined);
        assert.equal(restartCounter(""), undefined);
        const counter = restartCounter("6c1f0e2a9b3d4c5e");
        assert.ok(Number.isSafeInteger(counter) && counter! > 0 && counter! < 2 ** 48, `a positive integer the provider and JSON carry exactly: ${counter}`);
        assert.equal(restartCounter("6c1f0e2a9b3d4c5e"), counter);
        assert.notEqual(restartCounter("6c1f0e2a9b3d4c5f"), counter);
    });

    it("writes durations the way the Docker provider reads them back", () => {
        assert.equal(providerDuration("60s"), "1m");
        assert.equal(providerDuration("90s"), "1m30s");
        assert.equal(providerDuration("3600s"), "1h");
        assert.equal(providerDuration("1h30m"), "1h30m");
        assert.equal(providerDuration("15s"), "15s");
        assert.equal(providerDuration("0s"), "0s");
        assert.equal(providerDuration("1500ms"), "1.5s");
        assert.equal(providerDuration("500ms"), "500ms");
    });

    it("names the Redis volume after the project, the stack and the component", () => {
        assert.equal(defaultRedisVolume("crm", "prod", "ids"), "crm-prod-ids-redis-data");
        assert.equal(defaultRedisVolume("my proj", "dev/eu", "ids"), "my-proj-dev-eu-ids-redis-data");
        assert.equal(defaultRedisVolume("_p", "s", "n"), "v_p-s-n-redis-data");
    });

    it("changes the task revision with any part", () => {
        assert.equal(taskRevision(["a", 1]), taskRevision(["a", 1]));
        assert.notEqual(taskRevision(["a", 1]), taskRevision(["a", 2]));
    });

    it("claims the published port in vip mode only", () => {
        const check = new ArgumentCheck("c");
        const vip = swarmSettings("c", { image: "i", replicas: 1, httpPort: 9100 }, { connectionString: "x" }, check);
        const dnsrr = swarmSettings("c", { image: "i", replicas: 1, httpPort: 9100, endpointMode: "dnsrr" }, { connectionString: "x" }, check);
        assert.deepEqual(
            swarmClaims(vip, "default").map(claim => claim.what),
            ["host port 9100"],
        );
        assert.deepEqual(swarmClaims(dnsrr, "default"), []);
        const https = swarmSettings("c", { image: "i", replicas: 1, httpPort: 9100, https: { port: 9443, certificate: TLS_CERTIFICATE } }, { connectionString: "x" }, check);
        assert.deepEqual(
            swarmClaims(https, "default").map(claim => [claim.field, claim.what]),
            [
                ["swarm.httpPort", "host port 9100"],
                ["swarm.https.port", "host port 9443"],
            ],
        );
        assert.ok(check.ok, "no problem with the arguments");
    });

    it("publishes HTTP, and HTTPS when it is served, on the routing mesh", () => {
        assert.deepEqual(publishedPorts(8090, undefined), [{ targetPort: 80, publishedPort: 8090, publishMode: "ingress", protocol: "tcp" }]);
        assert.deepEqual(publishedPorts(8090, 8443), [
            { targetPort: 80, publishedPort: 8090, publishMode: "ingress", protocol: "tcp" },
            { targetPort: 443, publishedPort: 8443, publishMode: "ingress", protocol: "tcp" },
        ]);
    });
});

describe("swarm target: resources", () => {
    beforeEach(resetMocks);

    async function deploy(name: string, modify: (args: ReturnType<typeof valid>) => void = () => undefined) {
        const recorder = new Recorder();
        const args = valid();
        modify(args);
        const component = new IdentityService(name, args, { transformations: [recorder.transformation] });
        const url = await valueOf(component.url);
        await settle();
        const mine = registered.filter(r => r.name.startsWith(name));
        return { recorder, url, mine, byName: (n: string) => mine.find(r => r.name === n)! };
    }

    it("creates a network, two secrets, the service and the gate, all children of the component", async () => {
        const { recorder, mine } = await deploy("sw-children");
        const names = mine.filter(r => r.type.startsWith("docker:")).map(r => `${r.type} ${r.name}`).sort();
        assert.deepEqual(names, [
            "docker:index/network:Network sw-children-network",
            "docker:index/secret:Secret sw-children-settings",
            "docker:index/secret:Secret sw-children-signing-pfx",
            "docker:index/service:Service sw-children-service",
        ]);
        for (const name of ["sw-children-network", "sw-children-settings", "sw-children-service", "sw-children-readiness"]) {
            assert.ok(recorder.byName(name).opts.parent, `${name} has a parent`);
        }
        assert.equal(recorder.byName("sw-children-network").props.driver, "overlay");
    });

    it("keeps every secret out of the service spec and delivers it as Docker secrets", async () => {
        const { recorder, byName } = await deploy("sw-secrets");
        const service = byName("sw-secrets-service");
        const spec = JSON.stringify(service.inputs);
        for (const secret of ["Very-Secret-Pw-8842", CLIENT_SECRET, "redis.internal"]) {
            assert.ok(!spec.includes(secret), `the service spec does not contain ${secret}`);
        }
        assert.deepEqual(service.inputs.taskSpec.containerSpec.env, { ASPNETCORE_URLS: "http://+:80", ASPNETCORE_ENVIRONMENT: "Production" });
        const mounts = service.inputs.taskSpec.containerSpec.secrets.map((s: any) => [s.secretId, s.fileName]);
        assert.deepEqual(mounts, [
            ["sw-secrets-settings-id", SETTINGS_FILE_PATH],
            ["sw-secrets-signing-pfx-id", CONTAINER_SIGNING_CERTIFICATE_PATH],
        ]);
        const settings = decodeSecretData(byName("sw-secrets-settings").inputs.data);
        assert.equal(settings.DatabaseConnectionString, SECRET_CONNECTION);
        assert.equal(settings.RedisConnection, "redis.internal:6379");
        assert.equal(settings.X509CertificatePath, CONTAINER_SIGNING_CERTIFICATE_PATH);
        assert.equal(JSON.parse(settings.Clients)[0].Secrets[0], CLIENT_SECRET);
        const props = recorder.byName("sw-secrets-settings").props;
        assert.ok(pulumi.Output.isInstance(props.data) && (await pulumi.isSecret(props.data)), "the settings secret's data is a secret");
        assert.ok(await pulumi.isSecret(recorder.byName("sw-secrets-signing-pfx").props.data), "the certificate's data is a secret");
        assert.equal(byName("sw-secrets-settings").inputs.name, undefined, "auto-named: a change creates a new secret");
    });

    it("behind a TLS-terminating proxy (publicUrl https://…): forwarded headers in the service's environment, ForceHttpsSchemeInRequests in its settings, the issuer checked", async () => {
        const { byName, url } = await deploy("sw-proxy", a => {
            a.creatioVersion = "8.3.1";
            a.publicUrl = "https://ids.example.com";
        });
        const service = byName("sw-proxy-service");
        assert.deepEqual(service.inputs.taskSpec.containerSpec.env, {
            ASPNETCORE_URLS: "http://+:80",
            ASPNETCORE_ENVIRONMENT: "Production",
            ASPNETCORE_FORWARDEDHEADERS_ENABLED: "true",
        });
        assert.equal(decodeSecretData(byName("sw-proxy-settings").inputs.data).ForceHttpsSchemeInRequests, true);
        const gate = byName("sw-proxy-readiness").inputs.environment;
        assert.equal(gate.IDENTITY_SERVICE_URL, url);
        assert.equal(gate.IDENTITY_SERVICE_PUBLIC_URL, "https://ids.example.com");
        assert.equal(gate.READINESS_VERIFY_ISSUER, undefined, "the gate's default: checked");

        // The gate runs again when the switch changes (an update of the service in place), not for a service without it.
        const plain = await deploy("sw-noproxy", a => ((a.creatioVersion = "8.3.1"), (a.swarm.httpPort = 8091)));
        assert.equal(plain.byName("sw-noproxy-service").inputs.taskSpec.containerSpec.env.ASPNETCORE_FORWARDEDHEADERS_ENABLED, undefined);
        const parts = (name: string) => [`${name}-service-id`, "registry.example.com/ids:8.2.3", `${name}-settings-id`, `${name}-signing-pfx-id`, 2, ""];
        assert.equal(plain.byName("sw-noproxy-readiness").inputs.triggers[0], taskRevision(parts("sw-noproxy")), "the revision a service without a proxy had");
        assert.equal(byName("sw-proxy-readiness").inputs.triggers[0], taskRevision([...parts("sw-proxy"), "forwarded-headers"]));
    });

    it("serves HTTPS with the certificate as a Docker secret and its password in the settings secret, never in the service spec", async () => {
        const { recorder, byName, url } = await deploy("sw-https", a => {
            a.creatioVersion = "8.3.1";
            a.swarm.https = { port: 8443, certificate: { ...TLS_CERTIFICATE, password: pulumi.secret(TLS_PASSWORD) } };
            a.readiness = { caCertificate: CA_PEM };
        });
        assert.equal(url, "https://localhost:8443");
        const service = byName("sw-https-service").inputs;
        assert.ok(!JSON.stringify(service).includes(TLS_PASSWORD), "no password in the service spec");
        assert.deepEqual(service.taskSpec.containerSpec.env, {
            ASPNETCORE_URLS: "https://+:443;http://+:80",
            ASPNETCORE_HTTPS_PORT: "8443",
            ASPNETCORE_Kestrel__Certificates__Default__Path: CONTAINER_TLS_CERTIFICATE_PATH,
            ASPNETCORE_ENVIRONMENT: "Production",
        });
        assert.deepEqual(
            service.taskSpec.containerSpec.secrets.map((s: any) => [s.secretId, s.fileName]),
            [
                ["sw-https-settings-id", SETTINGS_FILE_PATH],
                ["sw-https-signing-pfx-id", CONTAINER_SIGNING_CERTIFICATE_PATH],
                ["sw-https-tls-pfx-id", CONTAINER_TLS_CERTIFICATE_PATH],
            ],
        );
        assert.deepEqual(service.endpointSpec, {
            mode: "vip",
            ports: [
                { targetPort: 80, publishedPort: 8090, publishMode: "ingress", protocol: "tcp" },
                { targetPort: 443, publishedPort: 8443, publishMode: "ingress", protocol: "tcp" },
            ],
        });
        // The health check keeps probing the HTTP port inside the task, which Kestrel still serves.
        assert.match(service.taskSpec.containerSpec.healthcheck.tests[3], /\/dev\/tcp\/127\.0\.0\.1\/80 /);

        const settings = decodeSecretData(byName("sw-https-settings").inputs.data);
        assert.deepEqual(settings.Kestrel, { Certificates: { Default: { Password: TLS_PASSWORD } } });
        assert.equal(settings.ForceHttpsSchemeInRequests, true, "the service itself is reached over https");
        const tlsSecret = recorder.byName("sw-https-tls-pfx");
        assert.ok(await pulumi.isSecret(tlsSecret.props.data), "the certificate's data is a secret");
        const pfx = byName("sw-https-tls-pfx").inputs.data;
        assert.equal(typeof pfx === "string" ? pfx : pfx.value, fs.readFileSync(TLS_CERTIFICATE.path).toString("base64"));
        assert.equal(byName("sw-https-tls-pfx").inputs.name, undefined, "auto-named: a new certificate creates a new secret");

        const gate = byName("sw-https-readiness").inputs.environment;
        assert.equal(gate.IDENTITY_SERVICE_URL, "https://localhost:8443");
        assert.equal(gate.READINESS_CA_CERTIFICATE, CA_PEM);
        const parts = [`sw-https-service-id`, "registry.example.com/ids:8.2.3", `sw-https-settings-id`, `sw-https-signing-pfx-id`, 2, ""];
        assert.equal(byName("sw-https-readiness").inputs.triggers[0], taskRevision([...parts, "tls:sw-https-tls-pfx-id"]), "a new certificate runs the gate again");
    });

    it("serves HTTPS in dnsrr mode without publishing anything, its URL on the balancer's HTTPS port", async () => {
        const { byName, url } = await deploy("sw-https-dnsrr", a => {
            a.swarm.endpointMode = "dnsrr";
            a.swarm.https = { port: 9443, certificate: TLS_CERTIFICATE };
        });
        assert.equal(url, "https://localhost:9443");
        assert.deepEqual(byName("sw-https-dnsrr-service").inputs.endpointSpec, { mode: "dnsrr" });
        assert.equal(byName("sw-https-dnsrr-service").inputs.taskSpec.containerSpec.env.ASPNETCORE_HTTPS_PORT, "9443");
    });

    it("adds the user's environment to the tasks' own and the user's settings to the settings secret", async () => {
        const { byName } = await deploy("sw-hatches", a => {
            a.environment = { TZ: "Europe/Berlin", Logging__LogLevel__Microsoft: "Error" };
            a.additionalSettings = { AllowedHosts: "*", Serilog: { MinimumLevel: pulumi.secret("Warning") } };
        });
        assert.deepEqual(byName("sw-hatches-service").inputs.taskSpec.containerSpec.env, {
            ASPNETCORE_URLS: "http://+:80",
            ASPNETCORE_ENVIRONMENT: "Production",
            TZ: "Europe/Berlin",
            Logging__LogLevel__Microsoft: "Error",
        });
        const settings = decodeSecretData(byName("sw-hatches-settings").inputs.data);
        assert.equal(settings.AllowedHosts, "*");
        assert.deepEqual(settings.Serilog, { MinimumLevel: "Warning" });
        assert.equal(settings.DbProvider, "Postgres", "next to the package's own keys");
    });

    it("refuses a variable that would make the tasks read another settings file", () => {
        assert.throws(
            () => new IdentityService("sw-env-bad", { ...valid(), environment: { ASPNETCORE_ENVIRONMENT: "Development" } }),
            /- environment\.ASPNETCORE_ENVIRONMENT: ASPNETCORE_ENVIRONMENT sets "aspnetcore_environment", which the package sets as the variable ASPNETCORE_ENVIRONMENT, which makes the service read the settings file \/app\/appsettings\.Production\.json; remove it/,
        );
    });

    it("rolls one task at a time, start-first, and rolls back a failed update", async () => {
        const { byName, url } = await deploy("sw-rolling");
        const service = byName("sw-rolling-service").inputs;
        assert.deepEqual(service.mode, { replicated: { replicas: 2 } });
        assert.deepEqual(service.updateConfig, { parallelism: 1, delay: "0s", monitor: "15s", order: "start-first", failureAction: "rollback", maxFailureRatio: "0" });
        assert.deepEqual(service.rollbackConfig, { parallelism: 1, delay: "0s", monitor: "15s", order: "start-first", failureAction: "pause", maxFailureRatio: "0" });
        assert.deepEqual(service.endpointSpec, { mode: "vip", ports: [{ targetPort: 80, publishedPort: 8090, publishMode: "ingress", protocol: "tcp" }] });
        assert.ok(service.convergeConfig.timeout, "create and update wait for the tasks");
        assert.equal(service.taskSpec.containerSpec.healthcheck.tests[1], "bash");
        assert.deepEqual(service.taskSpec.networksAdvanceds, [{ id: "sw-rolling-network-id", aliases: ["sw-rolling"] }]);
        assert.equal(url, "http://localhost:8090");
    });

    it("replaces the service delete-first when it publishes a port, create-first when it publishes none", async () => {
        const vip = await deploy("sw-replace-vip");
        assert.equal((vip.recorder.byName("sw-replace-vip-service").opts as pulumi.CustomResourceOptions).deleteBeforeReplace, true, "Swarm refuses the port to a second service");
        const dnsrr = await deploy("sw-replace-dnsrr", a => (a.swarm.endpointMode = "dnsrr"));
        assert.equal((dnsrr.recorder.byName("sw-replace-dnsrr-service").opts as pulumi.CustomResourceOptions).deleteBeforeReplace, false);
        assert.equal(replacesDeleteFirst(pulumi.output("dnsrr")), true, "a mode known only later: delete first");
    });

    it("publishes nothing in dnsrr mode and joins the given networks", async () => {
        const { byName } = await deploy("sw-dnsrr", a => {
            a.swarm.endpointMode = "dnsrr";
            a.swarm.networks = ["net-front"];
            a.swarm.serviceAlias = "ids";
            a.swarm.constraints = ["node.role==worker"];
            a.swarm.resources = { cpuLimit: 0.5, memoryLimitMb: 512 };
            a.swarm.replicas = 3;
        });
        const service = byName("sw-dnsrr-service").inputs;
        assert.deepEqual(service.endpointSpec, { mode: "dnsrr" });
        assert.deepEqual(service.taskSpec.networksAdvanceds, [
            { id: "sw-dnsrr-network-id", aliases: ["ids"] },
            { id: "net-front", aliases: ["ids"] },
        ]);
        assert.deepEqual(service.taskSpec.placement, { constraints: ["node.role==worker"] });
        assert.deepEqual(service.taskSpec.resources.limits, { nanoCpus: 500000000, memoryBytes: 536870912 });
        assert.deepEqual(service.mode, { replicated: { replicas: 3 } });
    });

    it("runs its own Redis on its network when asked, and points the service at it", async () => {
        const { byName } = await deploy("sw-redis", a => {
            delete a.redisConnection;
            a.swarm.redis = { image: "redis:7-alpine" };
        });
        const redis = byName("sw-redis-redis").inputs;
        assert.equal(redis.taskSpec.containerSpec.image, "redis:7-alpine");
        assert.deepEqual(redis.taskSpec.networksAdvanceds, [{ id: "sw-redis-network-id", aliases: ["sw-redis-redis"] }]);
        const settings = decodeSecretData(byName("sw-redis-settings").inputs.data);
        assert.equal(settings.RedisConnection, "sw-redis-redis:6379");
        assert.deepEqual(redis.taskSpec.containerSpec.args, ["--appendonly", "yes"]);
        assert.deepEqual(redis.taskSpec.containerSpec.mounts, [{ type: "volume", source: "project-stack-sw-redis-redis-data", target: REDIS_DATA_PATH }]);
        assert.equal(redis.taskSpec.placement, undefined);
    });

    it("keeps Redis in the volume and on the nodes it is given", async () => {
        const { byName } = await deploy("sw-redis-pinned", a => {
            delete a.redisConnection;
            a.swarm.redis = { image: "redis:7-alpine", volume: "ids-keys", constraints: ["node.hostname==swarm-1"] };
        });
        const redis = byName("sw-redis-pinned-redis").inputs;
        assert.equal(redis.taskSpec.containerSpec.mounts[0].source, "ids-keys");
        assert.deepEqual(redis.taskSpec.placement, { constraints: ["node.hostname==swarm-1"] });
    });

    it("builds the image locally and runs it by its image id", async () => {
        const { byName } = await deploy("sw-build", a => {
            delete a.swarm.image;
            a.swarm.build = { context: "/ids" };
        });
        assert.equal(byName("sw-build-service").inputs.taskSpec.containerSpec.image, "sha256:built-sw-build-image");
        assert.equal(byName("sw-build-image").inputs.skipPush, true);
    });

    it("collides with a Docker container of the same program on the published port", () => {
        new IdentityService("sw-port-a", valid());
        assert.throws(
            () =>
                new IdentityService("sw-port-b", {
                    ...valid(),
                    target: DeploymentTarget.Docker,
                    swarm: undefined,
                    docker: { image: "ids:1", containerName: "other" },
                } as IdentityServiceArgs),
            /host port 8090/,
        );
    });
});

/**
 * The component under mocks whose re-seed step printed `reseedStdout` (what `reseed.js` prints: a JSON line with the
 * restart token once it deleted rows), as the Docker provider would receive its resources.
 */
async function deployWithReseed(name: string, reseedStdout: string, modify: (args: ReturnType<typeof valid>) => void = () => undefined): Promise<RegisteredResource[]> {
    const seen: RegisteredResource[] = [];
    pulumi.runtime.setMocks(
        {
            newResource(args) {
                seen.push({ type: args.type, name: args.name, inputs: args.inputs });
                const state: Record<string, any> = { ...args.inputs };
                if (args.type.startsWith("random:")) state.result = "R".repeat(args.inputs.length);
                if (args.type === "docker:index/secret:Secret") {
                    // Every field of a secret is ForceNew: other data is another secret, with another id.
                    const data = crypto.createHash("sha256").update(JSON.stringify(args.inputs.data)).digest("hex").slice(0, 8);
                    return { id: `${args.name}-${data}`, state };
                }
                if (args.type === "command:local:Command") {
                    state.stdout = args.name.endsWith("-client-reseed") ? reseedStdout : "{}";
                    state.stderr = "";
                }
                return { id: `${args.name}-id`, state };
            },
            call: args => args.inputs,
        },
        "project",
        "stack",
        false,
    );
    try {
        const args = valid();
        modify(args);
        const component = new IdentityService(name, args);
        await valueOf(component.url);
        await settle();
        return seen;
    } finally {
        resetMocks();
    }
}

/** Inputs with Pulumi's secret envelopes replaced by their values, as a provider receives them. */
function revealed(inputs: Record<string, any>): Record<string, any> {
    const SECRET_SIG = "4dabf18193072939515e22adb298388d"; // @pulumi/pulumi runtime/rpc.ts specialSigKey
    return JSON.parse(JSON.stringify(inputs), (_key, value) => (value && typeof value === "object" && SECRET_SIG in value ? value.value : value));
}

/** The Docker provider's verdict on the service of a second run, against the state the first run's service left. */
function secondRun(first: RegisteredResource[], second: RegisteredResource[], serviceName: string) {
    const before = first.find(r => r.name === serviceName)!.inputs;
    const after = second.find(r => r.name === serviceName)!.inputs;
    const changed = serviceProvider.changedPaths(stateOfCreatedService(`${serviceName}-0000000`, before), after);
    return { changed, operation: changed.length === 0 ? "none" : serviceProvider.diff(changed), after };
}

const RESEED_DELETED = (token: string) => JSON.stringify({ clientId: "c", deletedClients: 1, addedSecrets: 0, restartToken: token, supersededClientIds: [] });

describe("swarm target: the service under the Docker provider's rules (kreuzwerker v4.5.0, as the Swarm double applies them)", () => {
    it("restarts the tasks in place when a re-seed deletes the client rows: only taskSpec.forceUpdate changes", async () => {
        const first = await deployWithReseed("sw-reseed", RESEED_DELETED(""));
        const second = await deployWithReseed("sw-reseed", RESEED_DELETED("6c1f0e2a9b3d4c5e"));
        const { changed, operation, after } = secondRun(first, second, "sw-reseed-service");
        assert.deepEqual(changed, ["taskSpec.forceUpdate"], "nothing the provider replaces the service for");
        assert.equal(operation, "update");
        assert.equal(after.taskSpec.forceUpdate, restartCounter("6c1f0e2a9b3d4c5e"));
        assert.deepEqual(after.taskSpec.containerSpec.labels, [{ label: "creatio-identity-service.component", value: "sw-reseed" }]);
    });

    it("restarts again on the next re-seed, and not on a run that deletes nothing", async () => {
        const reseeded = await deployWithReseed("sw-reseed-2", RESEED_DELETED("6c1f0e2a9b3d4c5e"));
        const again = await deployWithReseed("sw-reseed-2", RESEED_DELETED("6c1f0e2a9b3d4c5e"));
        assert.equal(secondRun(reseeded, again, "sw-reseed-2-service").operation, "none", "the token printed again (no rows deleted): no change");
        const next = await deployWithReseed("sw-reseed-2", RESEED_DELETED("0f0e0d0c0b0a0908"));
        assert.deepEqual(secondRun(reseeded, next, "sw-reseed-2-service").changed, ["taskSpec.forceUpdate"]);
    });

    it("restarts nothing when re-seeding is turned on for a running deployment, or off again", async () => {
        const off = await deployWithReseed("sw-reseed-on", "{}", a => (a.client = { ...a.client, reseed: false }));
        const on = await deployWithReseed("sw-reseed-on", RESEED_DELETED(""));
        assert.equal(secondRun(off, on, "sw-reseed-on-service").operation, "none");
        const reseeded = await deployWithReseed("sw-reseed-on", RESEED_DELETED("6c1f0e2a9b3d4c5e"));
        const offAgain = await deployWithReseed("sw-reseed-on", "{}", a => (a.client = { ...a.client, reseed: false }));
        const { changed } = secondRun(reseeded, offAgain, "sw-reseed-on-service");
        assert.deepEqual(changed, [], "forceUpdate left unset keeps the service's counter (Optional and Computed)");
    });

    it("updates the service in place for a new environment variable, and runs the readiness gate again", async () => {
        const before = await deployWithReseed("sw-env", "{}");
        const after = await deployWithReseed("sw-env", "{}", a => (a.environment = { TZ: "UTC" }));
        const { changed, operation } = secondRun(before, after, "sw-env-service");
        assert.ok(changed.length > 0 && changed.every(path => path.startsWith("taskSpec.containerSpec.env.")), changed.join(", "));
        assert.equal(operation, "update");
        const trigger = (run: RegisteredResource[]) => run.find(r => r.name === "sw-env-readiness")!.inputs.triggers;
        assert.notDeepEqual(trigger(after), trigger(before));
        const unchanged = await deployWithReseed("sw-env", "{}");
        assert.deepEqual(trigger(unchanged), trigger(before), "no environment: the revision of a deployment without one");
    });

    it("rolls the tasks onto a new HTTPS certificate: the secret is replaced, the service updated in place, the gate run again", async () => {
        const https = (certificate: { path: string; password?: string }) => (a: ReturnType<typeof valid>) => (a.swarm.https = { certificate });
        const first = await deployWithReseed("sw-tls", "{}", https(TLS_CERTIFICATE));
        const again = await deployWithReseed("sw-tls", "{}", https(TLS_CERTIFICATE));
        assert.equal(secondRun(first, again, "sw-tls-service").operation, "none", "the same certificate: no change");
        const renewed = await deployWithReseed("sw-tls", "{}", https({ path: path.join(certificates, "signing.pfx") }));

        // The secret's inputs as the provider receives them: secret values unwrapped.
        const secret = (run: RegisteredResource[]) => revealed(run.find(r => r.name === "sw-tls-tls-pfx")!.inputs);
        const old = secret(first);
        const changedSecret = secretProvider.changedKeys({ id: "old", inputs: old, outputs: { ...old, name: "sw-tls-tls-pfx-0000000" } }, secret(renewed));
        assert.deepEqual(changedSecret, ["data"]);
        assert.equal(secretProvider.diff(changedSecret), "replace", "a secret's data cannot change: a new secret");

        const { changed, operation, after } = secondRun(first, renewed, "sw-tls-service");
        assert.ok(changed.length > 0 && changed.every(p => p.startsWith("taskSpec.containerSpec.secrets")), changed.join(", "));
        assert.equal(operation, "update", "the service is kept: its tasks roll start-first onto the new secret");
        assert.ok(after.taskSpec.containerSpec.secrets.some((s: any) => s.fileName === CONTAINER_TLS_CERTIFICATE_PATH && s.secretId !== secret(first).id));
        const trigger = (run: RegisteredResource[]) => run.find(r => r.name === "sw-tls-readiness")!.inputs.triggers;
        assert.notDeepEqual(trigger(renewed), trigger(first));
    });

    it("turns HTTPS on for a running service in place", async () => {
        const plain = await deployWithReseed("sw-tls-on", "{}");
        const https = await deployWithReseed("sw-tls-on", "{}", a => (a.swarm.https = { certificate: TLS_CERTIFICATE }));
        const { changed, operation } = secondRun(plain, https, "sw-tls-on-service");
        assert.ok(changed.some(p => p.startsWith("endpointSpec.ports")), changed.join(", "));
        assert.equal(operation, "update", changed.join(", "));
    });

    it("changes nothing on a second run of the same arguments, whatever they set (durations as the provider reads them)", async () => {
        const full = (a: ReturnType<typeof valid>) => {
            delete a.redisConnection;
            a.swarm = {
                ...a.swarm,
                replicas: 3,
                redis: { image: "redis:7-alpine", constraints: ["node.role==manager"] },
                constraints: ["node.role==worker"],
                resources: { cpuLimit: 0.5, memoryLimitMb: 512, memoryReservationMb: 128 },
                update: { parallelism: 2, delay: "90s", monitor: "60s", order: "stop-first" },
                rollback: { monitor: "2m" },
                networks: ["net-front"],
            };
        };
        const first = await deployWithReseed("sw-stable", "{}", full);
        const second = await deployWithReseed("sw-stable", "{}", full);
        for (const name of ["sw-stable-service", "sw-stable-redis"]) {
            assert.deepEqual(secondRun(first, second, name).changed, [], `${name}: no change`);
        }
        const dnsrr = (a: ReturnType<typeof valid>) => ((a.swarm.endpointMode = "dnsrr"), (a.swarm.healthCheck = ["CMD", "/probe"]));
        assert.deepEqual(secondRun(await deployWithReseed("sw-stable-2", "{}", dnsrr), await deployWithReseed("sw-stable-2", "{}", dnsrr), "sw-stable-2-service").changed, []);
    });
});
