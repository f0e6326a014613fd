// Upgrading the package itself: a stack deployed by the first release, 0.1.0 (commit 3ece7cf, the commit whose
// CHANGELOG first lists [0.1.0]), is upgraded to this checkout, through the engine emulator (test/emulator) against
// the real Docker Engine and PostgreSQL. The release is taken from git itself (`git archive` of the commit into a
// temporary folder) and built with its own tsconfig and this checkout's node_modules, so the test needs the
// repository's history (a full clone, as CI has). The user's program is the release's quickstart importing the
// installed package ("creatio-identity-service" in its node_modules, as after `npm install`); the upgrade changes
// only which package that is, as `npm install creatio-identity-service@<new>` does. The program, its configuration,
// the user's files (the IdentityService folder, the signing certificate) and the stack stay as they were.
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

/**
 * The user's program: the release's quickstart as a program of its own, importing the package by name, with
 * node_modules linked as an install leaves them (the SDK and the package sharing one @pulumi/pulumi).
 */
function userProgram(release: string): string {
    const folder = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "cis-upgrade-program-")), "program");
    fs.mkdirSync(path.join(folder, "node_modules", "@pulumi"), { recursive: true });
    fs.writeFileSync(path.join(folder, "Pulumi.yaml"), "name: creatio-identity-service-upgrade\nruntime: nodejs\n");
    fs.writeFileSync(path.join(folder, "package.json"), JSON.stringify({ name: "upgrade", private: true, main: "index.ts" }));
    const quickstart = fs.readFileSync(path.join(release, "quickstart", "index.ts"), "utf8");
    assert.match(quickstart, /from "\.\.\/src"/, "the release's quickstart imports the package's sources");
    fs.writeFileSync(path.join(folder, "index.ts"), quickstart.replace('from "../src"', 'from "creatio-identity-service"'));
    fs.symlinkSync(path.join(REPOSITORY, "node_modules", "@pulumi", "pulumi"), path.join(folder, "node_modules", "@pulumi", "pulumi"), "dir");
    return folder;
}

/**
 * Installs the package of `packageFolder` into the program as npm does: its files (bin/, src/, package.json) copied to
 * node_modules/creatio-identity-service, its dependencies next to it (linked to this checkout's installed copies), so
 * both releases run from the same path and their script command lines are what a user's would be.
 */
function installPackage(program: string, packageFolder: string): void {
    const modules = path.join(program, "node_modules");
    const target = path.join(modules, "creatio-identity-service");
    fs.rmSync(target, { recursive: true, force: true });
    for (const entry of ["bin", "src", "package.json"]) fs.cpSync(path.join(packageFolder, entry), path.join(target, entry), { recursive: true });
    const manifest = JSON.parse(fs.readFileSync(path.join(packageFolder, "package.json"), "utf8")) as { dependencies: Record<string, string> };
    for (const dependency of Object.keys(manifest.dependencies)) {
        const link = path.join(modules, dependency);
        if (fs.existsSync(link)) continue;
        fs.mkdirSync(path.dirname(link), { recursive: true });
        fs.symlinkSync(path.join(REPOSITORY, "node_modules", dependency), link, "dir");
    }
}

function byRole(result: RunResult): Record<string, string> {
    return Object.fromEntries(result.steps.filter(s => s.urn.includes(`::${SERVICE}-`)).map(s => [s.urn.split(`::${SERVICE}-`).pop()!, s.op]));
}

describe(`engine emulator e2e: a stack of release 0.1.0 (${FIRST_RELEASE}) upgraded to this checkout (real Docker and PostgreSQL)`, function () {
    this.timeout(900_000);
    let env: PostgresEnv;
    let db: ScratchDatabase;
    let release: string;
    let program: string;
    let stack: Stack | undefined;
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
        program = userProgram(release);
        db = await createScratchDatabase(env, "cis_upgrade");
    });

    after(async function () {
        await removeLeftovers(stack, [SERVICE], []);
        if (!imageExisted) spawnSync("docker", ["rmi", SERVICE_IMAGE], { stdio: "ignore" });
        await db?.drop().catch(() => undefined);
        for (const folder of [release, program && path.dirname(program)]) if (folder) fs.rmSync(folder, { recursive: true, force: true });
    });

    it("1. release 0.1.0 deploys the program and serves a token", async () => {
        installPackage(program, release);
        // The stack's configuration as the release's README had the user set it.
        const old = new Workspace(fs.mkdtempSync(path.join(os.tmpdir(), "cis-upgrade-state-"))).stack(program, "e2e");
        old.configSet("creatioVersion", "8.2.3");
        old.configSet("identityServiceFolder", IDENTITY_SERVICE_FOLDER);
        old.configSet("signingCertificatePath", SIGNING_CERTIFICATE);
        old.configSet("connectionString",
            `Server=${env.hostFromContainers};Port=${env.port};Database=${db.name};User ID=${env.user};Password=${env.password};Timeout=5;`,
            { secret: true });
        old.configSet("httpPort", String(await freePort()));
        stack = old;
        await old.up(TRANSPILE_ONLY);
        deployed = old.outputs({ showSecrets: true }) as unknown as Credentials;
        assert.equal(await token(deployed.url, deployed.clientId, deployed.clientSecret), 200);
    });

    it("2. this checkout previews the upgrade: the credentials stay, and the preview says so", async () => {
        installPackage(program, REPOSITORY);
        const preview = await stack!.preview(TRANSPILE_ONLY);
        const ops = byRole(preview);
        assert.equal(ops["client-id"], "same", preview.text);
        assert.equal(ops["client-secret"], "same");
        // The image is rebuilt from the same folder, not replaced: later releases store the build paths relative to the
        // program (the context's contents are hashed apart), and docker.Image turns any change into an update.
        assert.equal(ops.image, "update", preview.text);
        assert.match(preview.text, /~ context *: "\/[^"]*" => "[^/"][^"]*"/);
        assert.doesNotMatch(preview.text, /\+-random:/, "no credential is replaced");
        // The preview cannot know yet that the container stays: the image update leaves its id (repoDigest) unknown
        // and the re-seed update leaves the restart token in the labels unknown, and a ForceNew argument that is
        // unknown is shown as a replacement (so is the readiness gate, which follows the container's id). The retire
        // step is new (0.1.0 did not have it).
        const replaced = Object.entries(ops).filter(([, op]) => op === "replace").map(([role]) => role).sort();
        const created = Object.entries(ops).filter(([, op]) => op === "create").map(([role]) => role).sort();
        assert.deepEqual({ replaced, created }, { replaced: ["container", "readiness"], created: ["client-retire"] }, preview.text);
    });

    it("3. up upgrades it: the same client keeps working, no credential was regenerated", async () => {
        const result = await stack!.up(TRANSPILE_ONLY);
        assert.equal(byRole(result)["client-id"], "same");
        // Nothing is replaced: the rebuilt image has the same id and the restart token did not change, so the
        // container and the readiness gate stay; the re-seed step updates (its input gained fields) and the retire
        // step is new.
        assert.deepEqual(byRole(result), {
            "client-id": "same", "client-secret": "same", image: "update", "client-reseed": "update", container: "same",
            readiness: "same", "client-retire": "create",
        }, result.text);
        const upgraded = stack!.outputs({ showSecrets: true }) as unknown as Credentials;
        assert.equal(upgraded.clientId, deployed.clientId);
        assert.equal(upgraded.clientSecret, deployed.clientSecret);
        assert.equal(await token(upgraded.url, upgraded.clientId, upgraded.clientSecret), 200);
        const second = await stack!.preview(TRANSPILE_ONLY);
        assert.match(second.text, /Resources:\n {4}\d+ unchanged$/, "a second run changes nothing");
        assert.ok(containerId(SERVICE));
        await stack!.destroy();
        assert.ok(!exists("container", SERVICE));
    });
});
