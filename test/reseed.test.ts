import "./support/mocks";
import { strict as assert } from "assert";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { DatabaseProvider, DeploymentTarget, IdentityService } from "../src";
import { clientDefinition } from "../src/configuration";
import { systemClientProfile } from "../src/versions";
import { CONTAINER_LABEL, RESTART_TOKEN_LABEL } from "../src/targets/docker";
import { identityServerSecretHash, parsePreparedResult, parseRestartToken, parseSupersededClientIds, reseedStdin, storedClient } from "../src/reseed";
import { Recorder, resetMocks, valueOf } from "./support/mocks";

describe("client re-seeding inputs", () => {
    it("hashes a secret as IdentityServer4 stores it (Base64 of SHA-256 of the UTF-8 bytes)", () => {
        // "secret".Sha256(), the value in IdentityServer4's own samples; the second from `printf | openssl dgst -sha256 -binary | base64`.
        assert.equal(identityServerSecretHash("secret"), "K7gNU3sdo+OL0wNhqoVWhr3g6s1xYv72ol/pe/Unols=");
        assert.equal(identityServerSecretHash("pässwörd"), "RpcL73Cs7YEj8NXQlHF+KlzUEgQeA7JjdgSf5lsoNKQ=");
    });

    it("hands the script the configured client with its secrets hashed, nothing else changed", () => {
        const definition = clientDefinition({
            id: "client-id-000001",
            name: "Creatio",
            secret: "Client-Secret-0000000000000000000001",
            creatioUrl: "https://creatio.example.com/",
            accessTokenLifetimeSeconds: 600,
            systemClient: systemClientProfile([8, 2, 3]),
        });
        const { Secrets, ...rest } = definition;
        assert.deepEqual(storedClient(definition), { ...rest, SecretHashes: Secrets.map(identityServerSecretHash) });
        assert.ok(!JSON.stringify(storedClient(definition)).includes("Client-Secret-0000000000000000000001"));
    });

    it("reads the client ids the re-seed step saw replaced, for the retire step", () => {
        assert.deepEqual(parseSupersededClientIds(undefined), []);
        assert.deepEqual(parseSupersededClientIds("{}"), []);
        assert.deepEqual(parseSupersededClientIds(JSON.stringify({ clientId: "new", supersededClientIds: ["old", "", 7] })), ["old"]);
    });

    it("tells the retire step that the re-seed step found no tables, only then", async () => {
        const inputs = { provider: DatabaseProvider.Postgres, connectionString: "Server=h;Password=Conn-Secret-1", client: clientDefinition({
            id: "client-id-000001", name: "Creatio", secret: "Client-Secret-0000000000000000000001", creatioUrl: undefined,
            accessTokenLifetimeSeconds: 600, systemClient: systemClientProfile([8, 2, 3]) }) };
        const first = JSON.parse(await valueOf(reseedStdin(inputs, "retire", parsePreparedResult(JSON.stringify({ clientId: "c", tablesMissing: true })))));
        assert.equal(first.tablesMissingAtPrepare, true);
        const later = JSON.parse(await valueOf(reseedStdin(inputs, "retire", parsePreparedResult(JSON.stringify({ clientId: "c", supersededClientIds: ["old"] })))));
        assert.equal(later.tablesMissingAtPrepare, undefined, "absent: an existing stack's retire step keeps the same stdin");
        assert.deepEqual(later.supersededClientIds, ["old"]);
    });

    it("reads the restart token from the re-seed step's output: empty until it deletes rows", () => {
        assert.equal(parseRestartToken(undefined), "");
        assert.equal(parseRestartToken(""), "");
        assert.equal(parseRestartToken("not json"), "");
        assert.equal(parseRestartToken(JSON.stringify({ clientId: "c", deletedClients: 0, addedSecrets: 0, restartToken: "" })), "");
        assert.equal(parseRestartToken(`note\n${JSON.stringify({ clientId: "c", restartToken: "0123456789abcdef" })}\n`), "0123456789abcdef");
    });
});

describe("client re-seeding's restart token reaches the service (mocks)", () => {
    const TOKEN = "0123456789abcdef";
    const SIGNING_PFX = path.join(__dirname, "fixtures", "certificates", "signing.pfx");
    const base = {
        creatioVersion: "8.2.3",
        database: { provider: DatabaseProvider.Postgres, connectionString: "Server=db;Database=c;User ID=u;Password=Conn-Secret-1;" },
        signingCertificate: { path: SIGNING_PFX },
    };

    /** Mocks whose re-seed step reports a deletion, as reseed.js prints it. */
    function withDeletion(): void {
        pulumi.runtime.setMocks(
            {
                newResource: args => ({
                    id: `${args.name}-id`,
                    state: {
                        ...args.inputs,
                        ...(args.name.endsWith("-client-reseed")
                            ? { stdout: JSON.stringify({ clientId: "c", deletedClients: 1, addedSecrets: 0, restartToken: TOKEN }), stderr: "" }
                            : args.type.startsWith("random:")
                              ? { result: "A".repeat(Number(args.inputs.length)) }
                              : {}),
                    },
                }),
                call: args => args.inputs,
            },
            "project",
            "stack",
            false,
        );
    }

    afterEach(resetMocks);

    it("labels the container with it (a new token replaces the container)", async () => {
        withDeletion();
        const recorder = new Recorder();
        new IdentityService(
            "tok",
            { ...base, target: DeploymentTarget.Docker, docker: { build: { context: path.join(__dirname, "fixtures", "identity-service") } } },
            { transformations: [recorder.transformation] },
        );
        assert.deepEqual(await valueOf(recorder.byName("tok-container").props.labels), [
            { label: CONTAINER_LABEL, value: "tok" },
            { label: RESTART_TOKEN_LABEL, value: TOKEN },
        ]);
    });

    it("triggers the IIS configuration step with it (a new token runs the step, which recycles the pool, again)", async () => {
        withDeletion();
        const recorder = new Recorder();
        new IdentityService(
            "tok",
            { ...base, target: DeploymentTarget.Iis, iis: { creatioPath: "C:\\Creatio", archivePath: "C:\\Packages\\IdentityService.zip", port: 8090 } },
            { transformations: [recorder.transformation] },
        );
        assert.deepEqual(await valueOf(recorder.byName("tok-iis-configuration").props.triggers), [TOKEN]);
    });

    it("adds it to the server among the triggers of the IIS configuration step over SSH, and only once there is one", async () => {
        const ssh = { host: "win-iis.example.com", user: "Administrator", password: "Ssh-Secret-1" };
        const iis = { creatioPath: "C:\\Creatio", archivePath: "C:\\Packages\\IdentityService.zip", port: 8090, connection: ssh };
        withDeletion();
        const deleted = new Recorder();
        new IdentityService("ssh", { ...base, target: DeploymentTarget.Iis, iis }, { transformations: [deleted.transformation] });
        const withToken: unknown[] = await valueOf(deleted.byName("ssh-iis-configuration").props.triggers);
        assert.equal(withToken[withToken.length - 1], TOKEN);

        resetMocks();
        const untouched = new Recorder();
        new IdentityService("ssh", { ...base, target: DeploymentTarget.Iis, iis }, { transformations: [untouched.transformation] });
        const withoutToken: unknown[] = await valueOf(untouched.byName("ssh-iis-configuration").props.triggers);
        assert.deepEqual(withoutToken, withToken.slice(0, -1), "the server alone");
    });

    it("leaves the IIS configuration step without triggers until re-seeding deleted rows", async () => {
        resetMocks();
        const recorder = new Recorder();
        new IdentityService(
            "none",
            { ...base, target: DeploymentTarget.Iis, iis: { creatioPath: "C:\\Creatio", archivePath: "C:\\Packages\\IdentityService.zip", port: 8090 } },
            { transformations: [recorder.transformation] },
        );
        assert.equal(await valueOf(recorder.byName("none-iis-configuration").props.triggers), undefined);
    });
});
