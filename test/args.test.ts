// The enums of the arguments accept their members and their string values, as Pulumi's own SDKs' enums do (a
// `const` object plus the union of its values), so that string literals and config values need no cast; the type
// check of the tests (`npm run typecheck`) is what proves the literal assignments below.
import "./support/mocks";
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { CreatioRuntime, DatabaseProvider, DeploymentTarget, IdentityService, IdentityServiceArgs, LogLevel, RestartPolicy } from "../src";
import { Recorder, resetMocks, valueOf } from "./support/mocks";

const schema = JSON.parse(fs.readFileSync(path.join(__dirname, "..", "schema.json"), "utf8"));
const certificate = path.join(__dirname, "fixtures", "certificates", "signing.pfx");
const context = path.join(__dirname, "fixtures", "identity-service");

describe("argument enums", () => {
    beforeEach(resetMocks);

    it("accept string literals where a member is expected, and the component treats both alike", async () => {
        const literals: IdentityServiceArgs = {
            target: "docker",
            creatioVersion: "8.2.3",
            database: { provider: "MsSqlServer", connectionString: "Server=sql;Database=creatio;User ID=ids;Password=secret;" },
            signingCertificate: { path: certificate },
            logLevel: "Information",
            docker: { build: { context }, restart: "on-failure" },
        };
        const members: IdentityServiceArgs = {
            ...literals,
            target: DeploymentTarget.Docker,
            database: { ...literals.database, provider: DatabaseProvider.MsSqlServer },
            logLevel: LogLevel.Information,
            docker: { build: { context }, restart: RestartPolicy.OnFailure },
        };
        const files: Record<string, any>[] = [];
        for (const [name, args] of [["from-literals", literals], ["from-members", members]] as const) {
            resetMocks(); // one program per run: the two instances would otherwise collide on the port
            const recorder = new Recorder();
            const service = new IdentityService(name, args, { transformations: [recorder.transformation] });
            await valueOf(service.url);
            const container = recorder.byName(`${name}-container`);
            assert.equal(await valueOf(container.props.restart), "on-failure");
            const uploads = (await valueOf(container.props.uploads)) as { file: string; content?: string }[];
            files.push(JSON.parse(uploads.find(upload => upload.file === "/app/appsettings.Production.json")!.content!));
        }
        const settings = (file: Record<string, any>) => [file.DbProvider, file.Logging.LogLevel.Default];
        assert.deepEqual(settings(files[0]), ["MsSqlServer", "Information"]);
        assert.deepEqual(settings(files[1]), settings(files[0]));
    });

    it("still refuse a string that is not a member's value (a type error)", () => {
        // @ts-expect-error "kubernetes" is not a DeploymentTarget
        const target: DeploymentTarget = "kubernetes";
        // @ts-expect-error "postgres" (lower case) is not a DatabaseProvider
        const provider: DatabaseProvider = "postgres";
        const runtime: CreatioRuntime = "net"; // a member's value is fine
        assert.deepEqual([target, provider, runtime], ["kubernetes", "postgres", CreatioRuntime.Net]);
    });

    it("are the enums of the inferred schema, member for member", () => {
        for (const [name, members] of Object.entries({ DeploymentTarget, DatabaseProvider, LogLevel, RestartPolicy, CreatioRuntime })) {
            const type = schema.types[`creatio-identity-service:index:${name}`];
            assert.equal(type.type, "string", name);
            assert.deepEqual(
                type.enum.map((member: { name: string; value: string }) => [member.name, member.value]),
                Object.entries(members),
                name,
            );
        }
    });
});
