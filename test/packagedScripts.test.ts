import "./support/mocks";
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { DatabaseProvider, DeploymentTarget, IdentityService } from "../src";
import { nodeScriptCommand, scriptPath } from "../src/packagedScripts";
import { Recorder, resetMocks, valueOf } from "./support/mocks";

const certificates = path.join(__dirname, "fixtures", "certificates");

/** The script path of a `node "<path>"` command line. */
function scriptOf(command: string): string {
    const match = /^node "([^"]+)"$/.exec(command);
    assert.ok(match, `not a node command line: ${command}`);
    return match[1];
}

describe("packaged scripts", () => {
    beforeEach(resetMocks);

    it("finds the scripts that ship with the package", () => {
        for (const file of ["readiness.js", "reseed.js"]) {
            assert.ok(fs.existsSync(scriptPath(file)), file);
        }
    });

    it("runs them by a path relative to the providers' directory, with forward slashes, when the CLI runs the program", () => {
        const programDir = path.join(path.dirname(scriptPath("readiness.js")), "..", "..", "examples", "docker-postgres");
        assert.equal(nodeScriptCommand("readiness.js", programDir), 'node "../../src/scripts/readiness.js"');
    });

    it("runs them by their absolute path when the providers' directory is unknown (Automation API inline programs)", () => {
        assert.equal(scriptOf(nodeScriptCommand("reseed.js", undefined)), path.resolve(scriptPath("reseed.js")));
    });

    it("finds them from the command provider's directory when the program runs in another working directory", async () => {
        // An inline program: the host process runs in one folder, the providers in the workspace's temporary folder.
        const hostDir = fs.mkdtempSync(path.join(os.tmpdir(), "cis-host-"));
        const workspaceDir = fs.mkdtempSync(path.join(os.tmpdir(), "automation-"));
        // The program's own copy of the extracted archive, as a user has it beside the program.
        fs.cpSync(path.join(__dirname, "fixtures", "identity-service"), path.join(hostDir, "IdentityService"), { recursive: true });
        const previous = process.cwd();
        process.chdir(hostDir);
        try {
            const recorder = new Recorder();
            const service = new IdentityService(
                "inline",
                {
                    target: DeploymentTarget.Docker,
                    creatioVersion: "8.2.3",
                    database: { provider: DatabaseProvider.Postgres, connectionString: "Server=db;Database=c;User ID=u;Password=p;" },
                    signingCertificate: { path: path.join(certificates, "signing.pfx") },
                    docker: { build: { context: "IdentityService" } },
                },
                { transformations: [recorder.transformation] },
            );
            await valueOf(service.url);
            for (const name of ["inline-client-reseed", "inline-readiness"]) {
                const script = scriptOf(await valueOf(recorder.byName(name).props.create));
                assert.ok(fs.existsSync(path.resolve(workspaceDir, script)), `${name}: ${script} from ${workspaceDir}`);
            }
            // The build context, given relative to the program, is found from the Docker provider's directory too.
            const build = recorder.byName("inline-image").props.build;
            assert.equal(path.resolve(workspaceDir, await valueOf(build.context)), path.join(hostDir, "IdentityService"));
            assert.equal(
                path.resolve(workspaceDir, await valueOf(build.dockerfile)),
                path.join(hostDir, "IdentityService", "Dockerfile-OAuth"),
            );
        } finally {
            process.chdir(previous);
            fs.rmSync(hostDir, { recursive: true, force: true });
            fs.rmSync(workspaceDir, { recursive: true, force: true });
        }
    });
});
