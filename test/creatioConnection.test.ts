import "./support/mocks";
import * as path from "path";
import { strict as assert } from "assert";
import * as pulumi from "@pulumi/pulumi";
import { CreatioOAuthConnection, CreatioRuntime, DatabaseProvider, DeploymentTarget, IdentityService, IdentityServiceArgs } from "../src";
import { parseHealthCheck } from "../src/creatioConnection";
import { isSecretInput, Recorder, registered, resetMocks, settle, valueOf } from "./support/mocks";

/** The extracted IdentityService.zip of the test fixture service (it holds Dockerfile-OAuth). */
const BUILD_CONTEXT = path.join(__dirname, "fixtures", "identity-service");

const PASSWORD = "Creatio-Pass-5521";
const SECRET = "client-secret-0123456789abcdef01";

function connect(name: string, overrides: Record<string, unknown> = {}) {
    const recorder = new Recorder();
    const connection = new CreatioOAuthConnection(
        name,
        {
            creatio: { url: "https://creatio.example.com/", username: "Supervisor", password: PASSWORD, runtime: CreatioRuntime.NetFramework, version: "8.1.3" },
            identityServiceUrl: "http://ids.internal:8090/",
            clientId: "AbCdEfGh12345678",
            clientSecret: pulumi.secret(SECRET),
            ...overrides,
        },
        { transformations: [recorder.transformation] },
    );
    return { connection, recorder };
}

describe("CreatioOAuthConnection (mocks)", () => {
    beforeEach(resetMocks);

    it("is one local command running the packaged script, secrets on stdin only, output kept secret", async () => {
        const { connection, recorder } = connect("crm");
        await valueOf(connection.clientId);
        assert.deepEqual(
            recorder.constructed.map(r => `${r.type} ${r.name}`),
            ["creatio-identity-service:index:CreatioOAuthConnection crm", "command:local:Command crm-connection"],
        );
        const command = recorder.byName("crm-connection");
        assert.equal(command.opts.parent, connection);
        assert.deepEqual((command.opts as pulumi.CustomResourceOptions).additionalSecretOutputs, ["stdout", "stderr"]);
        assert.equal(command.props.logging, "none");
        assert.match(command.props.create, /^node "[^"]*src\/scripts\/creatio-connect\.js" apply$/);
        assert.equal(command.props.update, command.props.create);
        assert.equal(command.props.delete, undefined, "destroy leaves Creatio's settings by default");
        assert.ok(await isSecretInput(command.props.stdin));
        assert.deepEqual(JSON.parse(await valueOf(command.props.stdin)), { password: PASSWORD, clientSecret: SECRET });

        const engine = registered.find(r => r.name === "crm-connection")!.inputs;
        assert.deepEqual(engine.environment, {
            CREATIO_URL: "https://creatio.example.com",
            CREATIO_USERNAME: "Supervisor",
            CREATIO_RUNTIME: "netFramework",
            CREATIO_VERSION: "8.1.3",
            CREATIO_ROUTE_PREFIX: "/0",
            CREATIO_STEPS: "settings,feature,defaultResource,healthCheck",
            CREATIO_FEATURE_NAME_ENCODING: "plain",
            CREATIO_TLS_VERIFY: "true",
            CREATIO_TIMEOUT_SECONDS: "120",
            IDENTITY_SERVICE_URL: "http://ids.internal:8090",
            IDENTITY_SERVICE_CLIENT_ID: "AbCdEfGh12345678",
        });
        const text = JSON.stringify({ create: engine.create, environment: engine.environment });
        assert.ok(!text.includes(PASSWORD) && !text.includes(SECRET), "no secret outside stdin");
        assert.equal(await valueOf(connection.identityServiceUrl), "http://ids.internal:8090");
        assert.equal(await valueOf(connection.clientId), "AbCdEfGh12345678");
        assert.equal(await pulumi.isSecret(connection.clientId), false, "a plain client id stays plain");
        assert.equal(await pulumi.isSecret(connection.healthCheck), false);
    });

    it("carries repair in its environment, so a new value applies again; an Output that resolves to nothing adds nothing", async () => {
        connect("rep", { repair: "2026-12-06" });
        connect("unset", { repair: pulumi.output(undefined as unknown as string) });
        await settle();
        const environmentOf = (name: string) => registered.find(r => r.name === name)!.inputs.environment;
        assert.equal(environmentOf("rep-connection").CREATIO_IDENTITY_SERVICE_REPAIR, "2026-12-06");
        assert.equal(environmentOf("unset-connection").CREATIO_IDENTITY_SERVICE_REPAIR, undefined);
        assert.equal(environmentOf("unset-connection").CREATIO_URL, "https://creatio.example.com");
    });

    it("keeps a secret client id secret in its output", async () => {
        const { connection } = connect("sec", { clientId: pulumi.secret("SecretClientId01") });
        assert.equal(await pulumi.isSecret(connection.clientId), true);
    });

    it("clears the settings on delete only when asked, and passes the TLS options", async () => {
        const pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
        const { recorder } = connect("clr", { clearSettingsOnDelete: true, tls: { verify: false, caCertificate: pem }, timeoutSeconds: 30 });
        const command = recorder.byName("clr-connection");
        assert.match(command.props.delete, /creatio-connect\.js" clear$/);
        assert.equal(await valueOf(command.props.environment.CREATIO_TLS_VERIFY), "false");
        assert.equal(await valueOf(command.props.environment.CREATIO_CA_CERTIFICATE), pem);
        assert.equal(await valueOf(command.props.environment.CREATIO_TIMEOUT_SECONDS), "30");
    });

    it("fails before creating anything when an argument is wrong", () => {
        const recorder = new Recorder();
        assert.throws(
            () =>
                new CreatioOAuthConnection(
                    "bad",
                    { creatio: { url: "x", username: "u", password: "p", runtime: CreatioRuntime.Net, version: "8.3.2" }, identityServiceUrl: "http://i", clientId: "", clientSecret: "s" },
                    { transformations: [recorder.transformation] },
                ),
            /CreatioOAuthConnection "bad" has invalid arguments:\n- creatio\.url: "x" is not an http\(s\) URL.*\n- clientId: must not be empty/s,
        );
    });

    it("checks values known only later in one place: a plain error, and nothing registered", async () => {
        const before = registered.length;
        const seen = new Set<unknown>();
        const listener = (reason: unknown) => void seen.add(reason);
        process.on("unhandledRejection", listener);
        try {
            connect("late-crm", { identityServiceUrl: pulumi.output("ids.internal:8090") });
            while (seen.size === 0) {
                await new Promise(resolve => setTimeout(resolve, 50));
            }
        } finally {
            process.off("unhandledRejection", listener);
        }
        const [error] = [...seen] as Error[];
        assert.equal(seen.size, 1);
        assert.equal(pulumi.InputPropertiesError.isInstance(error), true);
        assert.match(error.message, /^CreatioOAuthConnection "late-crm" has invalid arguments:\n- identityServiceUrl: "ids\.internal:8090" is not an http\(s\) URL/);
        assert.deepEqual(registered.slice(before).map(r => r.name), []);
    });

    it("reads the health check result from the script's report", () => {
        assert.deepEqual(
            parseHealthCheck('{"steps":["settings","healthCheck"],"healthCheck":{"checked":true,"hasProblem":false,"isSystemSettingsFilledIn":true,"isIdentityServiceAvailable":true,"isAccessTokenRetrievableForSystemActions":true}}'),
            { checked: true, hasProblem: false, isSystemSettingsFilledIn: true, isIdentityServiceAvailable: true, isAccessTokenRetrievableForSystemActions: true },
        );
        assert.deepEqual(parseHealthCheck('{"steps":["settings"],"healthCheck":{"checked":false}}'), { checked: false });
        assert.deepEqual(parseHealthCheck(""), { checked: false });
    });
});

describe("IdentityService with creatio (mocks)", () => {
    beforeEach(resetMocks);

    const serviceArgs = (creatio: IdentityServiceArgs["creatio"]): IdentityServiceArgs => ({
        target: DeploymentTarget.Docker,
        creatioVersion: "8.1.3",
        database: { provider: DatabaseProvider.Postgres, connectionString: "Server=db;Database=c;User ID=u;Password=p;" },
        docker: { build: { context: BUILD_CONTEXT }, httpPort: 9100 },
        creatio,
    });

    it("connects Creatio after the readiness gate with the component's own URL and credentials", async () => {
        const recorder = new Recorder();
        const service = new IdentityService(
            "ids",
            serviceArgs({ url: "https://creatio.example.com", username: "Supervisor", password: PASSWORD, runtime: CreatioRuntime.NetFramework, clearSettingsOnDelete: true }),
            { transformations: [recorder.transformation] },
        );
        const health = await valueOf(service.creatioHealthCheck!);
        assert.deepEqual(health, { checked: false }, "the mock command reports nothing");
        const names = recorder.constructed.map(r => r.name);
        assert.deepEqual(names.slice(-3), ["ids-creatio", "ids-creatio-connection", "ids-client-retire"]);
        assert.ok(service.creatioConnection instanceof CreatioOAuthConnection);
        assert.equal(recorder.byName("ids-creatio").opts.parent, service);

        const engine = registered.find(r => r.name === "ids-creatio-connection")!.inputs;
        assert.equal(engine.environment.IDENTITY_SERVICE_URL, "http://localhost:9100");
        assert.equal(engine.environment.IDENTITY_SERVICE_CLIENT_ID, await valueOf(service.clientId));
        assert.equal(engine.environment.CREATIO_VERSION, "8.1.3");
        assert.match(engine.delete, /clear$/);
        const stdin = JSON.parse(await valueOf(recorder.byName("ids-creatio-connection").props.stdin));
        assert.deepEqual(stdin, { password: PASSWORD, clientSecret: await valueOf(service.clientSecret) });

        // The connection waits for the gate: its URL input resolves through the gate's id.
        const connectionUrl = recorder.byName("ids-creatio-connection").props.environment.IDENTITY_SERVICE_URL;
        const resources = await (connectionUrl as any).allResources();
        assert.ok([...resources].some((r: pulumi.Resource) => (r as any).__name === "ids-readiness"), "depends on the readiness gate");
    });

    it("checks the creatio block before creating anything, with the service's version", () => {
        const recorder = new Recorder();
        assert.throws(
            () =>
                new IdentityService("ids", serviceArgs({ url: "https://c.example.com", username: "S", password: PASSWORD, runtime: CreatioRuntime.Net }), {
                    transformations: [recorder.transformation],
                }),
            /IdentityService "ids" has invalid arguments:\n- creatio\.runtime: Creatio on \.NET supports the Identity Service from 8\.3\.2 \(this is 8\.1\.3\)/,
        );
        assert.deepEqual(recorder.constructed.map(r => r.name), [], "nothing, not even the component itself");
    });

    it("reports the creatio block's problems together with the deployment's", () => {
        assert.throws(
            () =>
                new IdentityService("both", {
                    ...serviceArgs({ url: "creatio", username: "S", password: PASSWORD, runtime: CreatioRuntime.NetFramework }),
                    docker: { build: { context: BUILD_CONTEXT }, httpPort: 70000 },
                }),
            (err: Error) => {
                const lines = err.message.split("\n");
                assert.equal(lines[0], 'IdentityService "both" has invalid arguments:');
                assert.ok(lines.some(line => line.startsWith("- docker.httpPort: ")), err.message);
                assert.ok(lines.some(line => line.startsWith("- creatio.url: ")), err.message);
                assert.equal(lines.filter(line => line.includes("has invalid arguments")).length, 1);
                assert.ok(pulumi.InputPropertiesError.isInstance(err));
                const paths = (err as pulumi.InputPropertiesError).errors.map(e => e.propertyPath);
                assert.ok(paths.includes("docker.httpPort") && paths.includes("creatio.url"), paths.join(", "));
                return true;
            },
        );
    });

    it("creates no connection without creatio", async () => {
        const service = new IdentityService("plain", serviceArgs(undefined));
        assert.equal(service.creatioConnection, undefined);
        assert.equal(service.creatioHealthCheck, undefined);
    });
});
