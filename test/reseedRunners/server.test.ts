import "../support/mocks";
import { strict as assert } from "assert";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { DatabaseProvider, DeploymentTarget, IdentityService, IdentityServiceArgs, ReseedRunner } from "../../src";
import { EXECUTOR_BOOTSTRAP, executorCommandLine } from "../../src/reseedRunners/server";
import { commandLine } from "../../src/powershell";
import { Recorder, resetMocks, settle, valueOf } from "../support/mocks";

const CONNECTION = "Server=sql.example.com;Database=creatio;User ID=u;Password=Conn-Secret-1;";
const SSH_KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nKey-Secret-2\n-----END OPENSSH PRIVATE KEY-----\n";
const SIGNING_PFX = path.join(__dirname, "..", "fixtures", "certificates", "signing.pfx");

function iisArgs(client: IdentityServiceArgs["client"], connected = true): IdentityServiceArgs {
    return {
        target: DeploymentTarget.Iis,
        creatioVersion: "8.2.3",
        database: { provider: DatabaseProvider.MsSqlServer, connectionString: CONNECTION },
        signingCertificate: { path: SIGNING_PFX },
        client: { id: "Fixed-Client-Id-01", secret: "Fixed-Client-Secret-000000000000001", ...client },
        iis: {
            creatioPath: "C:\\Creatio",
            archivePath: "C:\\IdentityService.zip",
            port: 8090,
            ...(connected ? { connection: { host: "iis.example.com", port: 2222, user: "CONTOSO\\deploy", privateKey: pulumi.secret(SSH_KEY) } } : {}),
        },
    };
}

describe("the server re-seed runner: what the component asks of it (mocks)", () => {
    beforeEach(resetMocks);

    it("runs reseed-server.js in both steps with the executor's line; the connection and its key only on the secret stdin", async () => {
        const recorder = new Recorder();
        new IdentityService("srv", iisArgs({ reseedRunner: ReseedRunner.Server }), { transformations: [recorder.transformation] });
        for (const role of ["client-reseed", "client-retire"]) {
            const step = recorder.byName(`srv-${role}`);
            assert.equal(step.type, "command:local:Command");
            assert.match(await valueOf(step.props.create), /^node "[^"]*src\/scripts\/reseed-server\.js"$/);
            assert.equal(await valueOf(step.props.update), await valueOf(step.props.create));
            const environment = await valueOf(step.props.environment);
            assert.deepEqual(environment, { RESEED_DB_PROVIDER: "MsSqlServer", RESEED_EXECUTOR_COMMAND: executorCommandLine() });
            assert.ok(await pulumi.isSecret(step.props.stdin), "the connection string and the SSH key travel on stdin, as a secret");
            const stdin = JSON.parse(await valueOf(step.props.stdin));
            assert.deepEqual(stdin.server, { host: "iis.example.com", port: 2222, user: "CONTOSO\\deploy", privateKey: SSH_KEY });
            assert.equal(stdin.connectionString, CONNECTION);
            for (const secret of ["Conn-Secret-1", "Key-Secret-2"]) {
                assert.ok(!JSON.stringify(environment).includes(secret) && !(await valueOf(step.props.create)).includes(secret), secret);
            }
        }
    });

    it("without iis.connection the executor starts on the machine that runs Pulumi: no server on stdin", async () => {
        const recorder = new Recorder();
        new IdentityService("here", iisArgs({ reseedRunner: ReseedRunner.Server }, false), { transformations: [recorder.transformation] });
        const stdin = JSON.parse(await valueOf(recorder.byName("here-client-reseed").props.stdin));
        assert.equal(stdin.server, undefined);
        assert.equal(stdin.action, "prepare");
    });

    it("switching runners keeps the steps' names and type and changes nothing the service reads: an update of the two commands", async () => {
        const local = new Recorder();
        new IdentityService("sw", iisArgs({}), { transformations: [local.transformation] });
        await settle();
        resetMocks();
        const server = new Recorder();
        new IdentityService("sw", iisArgs({ reseedRunner: ReseedRunner.Server }), { transformations: [server.transformation] });
        await settle();
        for (const role of ["client-reseed", "client-retire"]) {
            const before = local.byName(`sw-${role}`);
            const after = server.byName(`sw-${role}`);
            assert.equal(after.type, before.type);
            const { server: connection, ...rest } = JSON.parse(await valueOf(after.props.stdin));
            assert.ok(connection);
            assert.deepEqual(rest, JSON.parse(await valueOf(before.props.stdin)), "the same input but for the connection");
        }
        // Every other resource keeps its inputs: nothing restarts.
        for (const resource of local.constructed.filter(r => !/-client-(reseed|retire)$/.test(r.name))) {
            const twin = server.byName(resource.name);
            assert.equal(JSON.stringify(await valueOf(twin.props)), JSON.stringify(await valueOf(resource.props)), resource.name);
        }
    });

    it("the executor's line is the IIS steps' powershell.exe -Command form, safe through cmd.exe", () => {
        assert.equal(executorCommandLine(), commandLine(EXECUTOR_BOOTSTRAP));
        assert.match(executorCommandLine(), /^powershell\.exe -NoProfile -NonInteractive -ExecutionPolicy Bypass -Command "[^"%!]+"$/);
    });
});
