import "../support/mocks";
import { strict as assert } from "assert";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import * as docker from "@pulumi/docker";
import { DatabaseProvider, DeploymentTarget, IdentityService, IdentityServiceArgs, ReseedRunner } from "../../src";
import { DEFAULT_RESEED_IMAGE, dockerCliEnvironment, imageReferenceCheck } from "../../src/reseedRunners/container";
import { Recorder, resetMocks, settle, valueOf } from "../support/mocks";

const CONNECTION = "Server=db;Database=c;User ID=u;Password=Conn-Secret-1;";
const SIGNING_PFX = path.join(__dirname, "..", "fixtures", "certificates", "signing.pfx");
const BUILD_CONTEXT = path.join(__dirname, "..", "fixtures", "identity-service");

function dockerArgs(client: IdentityServiceArgs["client"], networks?: string[]): IdentityServiceArgs {
    return {
        target: DeploymentTarget.Docker,
        creatioVersion: "8.2.3",
        database: { provider: DatabaseProvider.Postgres, connectionString: CONNECTION },
        signingCertificate: { path: SIGNING_PFX },
        client,
        docker: { build: { context: BUILD_CONTEXT }, networks },
    };
}

function swarmArgs(client: IdentityServiceArgs["client"]): IdentityServiceArgs {
    return {
        target: DeploymentTarget.Swarm,
        creatioVersion: "8.2.3",
        database: { provider: DatabaseProvider.Postgres, connectionString: CONNECTION },
        signingCertificate: { path: SIGNING_PFX },
        client,
        swarm: { image: "ids:8.2.3", replicas: 1, networks: ["db-overlay-id"] },
    };
}

describe("the container re-seed runner: what the component asks of it (mocks)", () => {
    beforeEach(resetMocks);

    it("runs reseed-container.js in both steps, with the image, the service's networks and the step's role, nothing secret", async () => {
        const recorder = new Recorder();
        new IdentityService("ctr", dockerArgs({ reseedRunner: ReseedRunner.Container }, ["db-net", "creatio-net"]), { transformations: [recorder.transformation] });
        for (const role of ["client-reseed", "client-retire"]) {
            const step = recorder.byName(`ctr-${role}`);
            assert.equal(step.type, "command:local:Command");
            assert.match(await valueOf(step.props.create), /^node "[^"]*src\/scripts\/reseed-container\.js"$/);
            assert.equal(await valueOf(step.props.update), await valueOf(step.props.create));
            const environment = await valueOf(step.props.environment);
            assert.deepEqual(Object.keys(environment).sort(), ["RESEED_BUNDLE", "RESEED_COMPONENT", "RESEED_DB_PROVIDER", "RESEED_IMAGE", "RESEED_NETWORKS", "RESEED_ROLE"]);
            assert.equal(environment.RESEED_IMAGE, DEFAULT_RESEED_IMAGE);
            assert.equal(environment.RESEED_NETWORKS, JSON.stringify(["db-net", "creatio-net"]));
            assert.equal(environment.RESEED_ROLE, role);
            assert.equal(environment.RESEED_COMPONENT, "ctr");
            assert.match(environment.RESEED_BUNDLE, /(^|\/)bin\/scripts\/reseed\.bundle\.js$/);
            assert.ok(!JSON.stringify(environment).includes("Conn-Secret-1"));
            assert.ok(await pulumi.isSecret(step.props.stdin), "the connection string travels on stdin, as a secret");
        }
    });

    it("joins the default bridge without docker.networks, and takes the image given", async () => {
        const recorder = new Recorder();
        new IdentityService("bridge", dockerArgs({ reseedRunner: ReseedRunner.Container, reseedImage: "registry.example.com/node:24@sha256:" + "a".repeat(64) }), {
            transformations: [recorder.transformation],
        });
        const environment = await valueOf(recorder.byName("bridge-client-reseed").props.environment);
        assert.equal(environment.RESEED_NETWORKS, "[]");
        assert.equal(environment.RESEED_IMAGE, "registry.example.com/node:24@sha256:" + "a".repeat(64));
    });

    it("reaches the daemon of the Docker provider the component is given: its host, certificates and context", async () => {
        const recorder = new Recorder();
        const provider = new docker.Provider("remote", { host: "ssh://deploy@docker1.example.com", certPath: "/etc/docker-certs", context: "prod" });
        new IdentityService("remote", dockerArgs({ reseedRunner: ReseedRunner.Container }), { providers: [provider], transformations: [recorder.transformation] });
        const environment = await valueOf(recorder.byName("remote-client-reseed").props.environment);
        assert.equal(environment.DOCKER_HOST, "ssh://deploy@docker1.example.com");
        assert.equal(environment.DOCKER_CERT_PATH, "/etc/docker-certs");
        assert.equal(environment.DOCKER_TLS_VERIFY, "1");
        assert.equal(environment.DOCKER_CONTEXT, "prod");
        assert.deepEqual(dockerCliEnvironment({}), {}, "unset: the CLI's own defaults, which are the provider's");
    });

    it("warns, naming the fix, when the provider's TLS certificates are text the docker CLI cannot read; not with certPath", async () => {
        const warnings: string[] = [];
        const original = pulumi.log.warn;
        (pulumi.log as { warn: typeof pulumi.log.warn }).warn = async (message: string) => void warnings.push(message);
        try {
            const inline = new docker.Provider("inline", { host: "tcp://docker1:2376", caMaterial: "CA-PEM", certMaterial: "CERT-PEM", keyMaterial: "Key-Secret-PEM" });
            new IdentityService("inline", dockerArgs({ reseedRunner: ReseedRunner.Container }), { providers: [inline] });
            const files = new docker.Provider("files", { host: "tcp://docker1:2376", certPath: "/etc/docker-certs", caMaterial: "CA-PEM" });
            new IdentityService("files", dockerArgs({ reseedRunner: ReseedRunner.Container }), { providers: [files] });
            await settle();
            assert.equal(warnings.length, 1, warnings.join("\n"));
            assert.match(warnings[0], /TLS certificates as text .* give the provider `certPath`, a folder with ca\.pem, cert\.pem and key\.pem, or set `client\.reseedRunner: "local"`/);
            assert.ok(!warnings[0].includes("Key-Secret-PEM"));
        } finally {
            (pulumi.log as { warn: typeof pulumi.log.warn }).warn = original;
        }
    });

    it("on Swarm joins the service's own network (created first) and swarm.networks", async () => {
        const recorder = new Recorder();
        new IdentityService("sw", swarmArgs({ reseedRunner: ReseedRunner.Container }), { transformations: [recorder.transformation] });
        const step = recorder.byName("sw-client-reseed");
        assert.equal(JSON.parse((await valueOf(step.props.environment)).RESEED_NETWORKS)[1], "db-overlay-id");
        assert.equal(JSON.parse((await valueOf(step.props.environment)).RESEED_NETWORKS)[0], "sw-network-id");
        const network = recorder.byName("sw-network");
        assert.ok((step.opts.dependsOn as pulumi.Resource[]).some(resource => (resource as unknown as { __name?: string }).__name === "sw-network"));
        assert.equal(recorder.constructed.filter(r => r.name === "sw-network").length, 1, "one network, used by the service too");
        assert.ok(recorder.constructed.indexOf(network) < recorder.constructed.indexOf(step), "the network before the step");
        const service = recorder.byName("sw-service");
        const serviceNetworks = await valueOf(service.props.taskSpec.networksAdvanceds);
        assert.deepEqual(serviceNetworks.map((n: { id: string }) => n.id), ["sw-network-id", "db-overlay-id"]);
    });

    it("switching runners keeps the steps' names, type and stdin: an update of the same two commands", async () => {
        const local = new Recorder();
        new IdentityService("sw", dockerArgs({ id: "Fixed-Client-Id-01", secret: "Fixed-Client-Secret-000000000000001" }), { transformations: [local.transformation] });
        await settle();
        resetMocks();
        const container = new Recorder();
        new IdentityService("sw", dockerArgs({ id: "Fixed-Client-Id-01", secret: "Fixed-Client-Secret-000000000000001", reseedRunner: ReseedRunner.Container }), {
            transformations: [container.transformation],
        });
        for (const role of ["client-reseed", "client-retire"]) {
            const before = local.byName(`sw-${role}`);
            const after = container.byName(`sw-${role}`);
            assert.equal(after.type, before.type);
            assert.equal(await valueOf(after.props.stdin), await valueOf(before.props.stdin));
        }
        assert.match(await valueOf(local.byName("sw-client-reseed").props.create), /src\/scripts\/reseed\.js"$/);
        assert.deepEqual(await valueOf(local.byName("sw-client-reseed").props.environment), { RESEED_DB_PROVIDER: "Postgres" }, "the local runner as before");
    });
});

describe("image references (client.reseedImage)", () => {
    const accepted = [
        "node:24-alpine",
        "node",
        "library/node:24",
        "registry.example.com/tools/node:24.1.0",
        "registry.example.com:5000/tools/node",
        "localhost:5000/node:24",
        "[::1]:5000/node:24",
        `node:24-alpine@sha256:${"0".repeat(64)}`,
        `registry.example.com/node@sha256:${"f".repeat(64)}`,
        "a__b/c-d.e:tag_1",
    ];
    const refused = ["", "Node:24", "node:", "node:24 alpine", "node@sha256:abc", ":24", "-node", "node:-24", `node:${"t".repeat(129)}`, "https://registry/node", `${"a".repeat(256)}:1`];

    for (const reference of accepted) {
        it(`accepts ${JSON.stringify(reference)}`, () => assert.equal(imageReferenceCheck(reference), undefined));
    }
    for (const reference of refused) {
        it(`refuses ${JSON.stringify(reference.length > 40 ? reference.slice(0, 20) + "..." : reference)}`, () => assert.ok(imageReferenceCheck(reference)));
    }
});
