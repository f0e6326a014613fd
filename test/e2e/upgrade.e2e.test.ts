// Upgrading the package itself: a stack deployed by the first release, 0.1.0 (commit 3ece7cf, the commit whose
// CHANGELOG first lists [0.1.0]), is upgraded by this checkout, both through the engine emulator (test/emulator) with
// the quickstart program of each, against the real Docker Engine and PostgreSQL. The release is taken from git
// itself (`git archive` of the commit into a temporary folder) and compiled with this checkout's node_modules, so the
// test needs the repository's history (a full clone, as CI has). The user's own files (the IdentityService folder,
// the signing certificate) and the stack's configuration stay as they were; only the package changes.
import { strict as assert } from "assert";
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { createScratchDatabase, PostgresEnv, readPostgresEnv, ScratchDatabase } from "./infra/postgres";
import { Credentials, containerId, exists, removeLeftovers, requireDocker, token } from "./support/emulated";
import { IDENTITY_SERVICE_FOLDER, REPOSITORY, SIGNING_CERTIFICATE } from "../emulator/programs";
import { RunResult, Stack, Workspace } from "../emulator/stack";
import { freePort } from "../support/freePort";

/** The first release, 0.1.0. */
const FIRST_RELEASE = "3ece7cf";
const TRANSPILE_ONLY = { env: { PULUMI_NODEJS_TRANSPILE_ONLY: "true" } };
/** The quickstart's component name (fixed in both releases), hence its container's name. */
const SERVICE = "identity-service";
const SERVICE_IMAGE = "creatio-identity-service:8.2.3-identity-service";

/** The first release's tree, built: `git archive` of the commit, this checkout's node_modules, its own tsc build. */
function checkOutRelease(commit: string): string {
    const known = spawnSync("git", ["-C", REPOSITORY, "cat-file", "-e", `${commit}^{commit}`]);
    if (known.status !== 0) {
        throw new Error(`commit ${commit} (release 0.1.0) is not in this repository's history: the upgrade test needs a full clone ` +
            "(git fetch --unshallow)");
    }
    const folder = fs.mkdtempSync(path.join(os.tmpdir(), `cis-release-${commit}-`));
    const archive = execFileSync("git", ["-C", REPOSITORY, "archive", "--format=tar", commit], { maxBuffer: 256 * 1024 * 1024 });
    execFileSync("tar", ["-x", "-C", folder], { input: archive });
    fs.symlinkSync(path.join(REPOSITORY, "node_modules"), path.join(folder, "node_modules"), "dir");
    execFileSync(process.execPath, [path.join(REPOSITORY, "node_modules", "typescript", "bin", "tsc"), "-p", path.join(folder, "tsconfig.json")],
        { stdio: ["ignore", "pipe", "inherit"] });
    return folder;
}

function byRole(result: RunResult): Record<string, string> {
    return Object.fromEntries(result.steps.filter(s => s.urn.includes(`::${SERVICE}-`)).map(s => [s.urn.split(`::${SERVICE}-`).pop()!, s.op]));
}

describe(`engine emulator e2e: a stack of release 0.1.0 (${FIRST_RELEASE}) upgraded to this checkout (real Docker and PostgreSQL)`, function () {
    this.timeout(900_000);
    let env: PostgresEnv;
    let db: ScratchDatabase;
    let release: string;
    let workspace: Workspace;
    let current: Stack | undefined;
    let deployed: Credentials;
    let imageExisted = false;

    before(async function () {
        requireDocker();
        if (exists("container", SERVICE)) {
            throw new Error(`a container named ${SERVICE} exists: the quickstart creates one of that name; remove it (docker rm -f ${SERVICE}) ` +
                "if nothing needs it, then run the suite again");
        }
        env = readPostgresEnv();
        if (!env.hostFromContainers) throw new Error("PGHOST_FROM_CONTAINERS is missing: run test/e2e/infra/start-postgres.sh again");
        imageExisted = exists("image", SERVICE_IMAGE);
        release = checkOutRelease(FIRST_RELEASE);
        db = await createScratchDatabase(env, "cis_upgrade");
        workspace = new Workspace(fs.mkdtempSync(path.join(os.tmpdir(), "cis-upgrade-state-")));
    });

    after(async function () {
        await removeLeftovers(current, [SERVICE], []);
        if (!imageExisted) spawnSync("docker", ["rmi", SERVICE_IMAGE], { stdio: "ignore" });
        await db?.drop().catch(() => undefined);
        if (release) fs.rmSync(release, { recursive: true, force: true });
    });

    it("1. release 0.1.0 deploys its quickstart and serves a token", async () => {
        // The release's quickstart, from its own folder: the stack's configuration as its README had the user set it.
        const old = workspace.stack(release, "e2e");
        old.configSet("creatioVersion", "8.2.3");
        old.configSet("identityServiceFolder", IDENTITY_SERVICE_FOLDER);
        old.configSet("signingCertificatePath", SIGNING_CERTIFICATE);
        old.configSet("connectionString",
            `Server=${env.hostFromContainers};Port=${env.port};Database=${db.name};User ID=${env.user};Password=${env.password};Timeout=5;`,
            { secret: true });
        old.configSet("httpPort", String(await freePort()));
        current = old;
        await old.up(TRANSPILE_ONLY);
        deployed = old.outputs({ showSecrets: true }) as unknown as Credentials;
        assert.equal(await token(deployed.url, deployed.clientId, deployed.clientSecret), 200);
    });

    it("2. this checkout previews the upgrade: the credentials and the image stay, and the preview says so", async () => {
        // The same stack (project name, configuration, checkpoint), now run by this checkout's quickstart.
        current = workspace.stack(REPOSITORY, "e2e");
        const preview = await current.preview(TRANSPILE_ONLY);
        const ops = byRole(preview);
        assert.equal(ops["client-id"], "same", preview.text);
        assert.equal(ops["client-secret"], "same");
        assert.equal(ops.image, "same");
        assert.doesNotMatch(preview.text, /\+-random:/, "no credential is replaced");
        // What the upgrade needs: the container, whose labels and environment changed between the releases (labels and
        // envs are ForceNew), the readiness gate that follows the container, and the retire step 0.1.0 did not have.
        const replaced = Object.entries(ops).filter(([, op]) => op === "replace").map(([role]) => role).sort();
        const created = Object.entries(ops).filter(([, op]) => op === "create").map(([role]) => role).sort();
        assert.deepEqual({ replaced, created }, { replaced: ["container", "readiness"], created: ["client-retire"] }, preview.text);
    });

    it("3. up upgrades it: the same client keeps working, no credential was regenerated", async () => {
        const result = await current!.up(TRANSPILE_ONLY);
        assert.equal(byRole(result)["client-id"], "same");
        const upgraded = current!.outputs({ showSecrets: true }) as unknown as Credentials;
        assert.equal(upgraded.clientId, deployed.clientId);
        assert.equal(upgraded.clientSecret, deployed.clientSecret);
        assert.equal(await token(upgraded.url, upgraded.clientId, upgraded.clientSecret), 200);
        const second = await current!.preview(TRANSPILE_ONLY);
        assert.match(second.text, /Resources:\n {4}\d+ unchanged$/, "a second run changes nothing");
        assert.ok(containerId(SERVICE));
        await current!.destroy();
        assert.ok(!exists("container", SERVICE));
    });
});
