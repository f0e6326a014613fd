// Upgrading the package itself: a stack deployed by the first release, 0.1.0 (commit 3ece7cf, the commit whose
// CHANGELOG first lists [0.1.0]), is upgraded to this checkout, through the engine emulator (test/emulator) against
// the real Docker Engine and PostgreSQL. The release is taken from git itself (`git archive` of the commit into a
// temporary folder) and built with its own tsconfig and this checkout's node_modules, so the test needs the
// repository's history (a full clone, as CI has). The user's program is the release's quickstart importing the
// installed package ("creatio-identity-service" in its node_modules, as after `npm install`); the upgrade changes
// only which package that is, as `npm install creatio-identity-service@<new>` does. The program, its configuration,
// the user's files (the IdentityService folder, the signing certificate) and the stack stay as they were.
//
// How 0.1.0 is deployed, and why: as a user of that release could have deployed it successfully against the real
// service. 0.1.0 always grants its client `implicit` (with `client_credentials`), with redirect URIs only when
// `client.creatioUrl` is set; without them IdentityServer4 drops the client ("No redirect URI configured.",
// DefaultClientConfigurationValidator.cs @ 4.1.2) and every token request gets `invalid_client`, so 0.1.0's default
// deployment never worked (the stand-in Identity Service, as strict, refuses it the same way). The user therefore sets
// the quickstart's `creatioUrl`, as 0.1.0's README describes `client.creatioUrl`, and the service is the stand-in
// acting as the Creatio version the stack names (8.2.3: test/e2e/support/standInContext.ts), as the real
// IdentityService.zip of that version would.
//
// What the upgrade does, with this checkout's client for 8.2.3 (the same id, secret, name, lifetimes, grant types and
// redirect URIs, plus the 8.1 user-operation scopes and the 8.0 `Properties`): the first `up` updates the re-seed step,
// which replaces the client's rows in place (its "Clients" row kept) and hands out a new restart token, so the
// container is replaced (the service restarts, dropping any cached client) and the readiness gate runs again; the
// retire step is created. The credentials stay, and no token request with them is refused at any time: the only
// requests without a token are those that found no service while the container was being replaced.
import { strict as assert } from "assert";
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { createScratchDatabase, PostgresEnv, readPostgresEnv, ScratchDatabase, withClient } from "./infra/postgres";
import { Credentials, containerId, exists, removeLeftovers, requireDocker, token } from "./support/emulated";
import { failures, Load, Sample } from "./support/load";
import { StandInContext, standInContext } from "./support/standInContext";
import { REPOSITORY, SIGNING_CERTIFICATE } from "../emulator/programs";
import { RunResult, Stack, Workspace } from "../emulator/stack";
import { reveal } from "../emulator/values";
import { freePort } from "../support/freePort";
import { RESTART_TOKEN_LABEL } from "../../src/targets/docker";
import { systemClientProfile } from "../../src/versions";

/** The first release, 0.1.0. */
const FIRST_RELEASE = "3ece7cf";
const TRANSPILE_ONLY = { env: { PULUMI_NODEJS_TRANSPILE_ONLY: "true" } };
/** The quickstart's component name (fixed in both releases), hence its container's name. */
const SERVICE = "identity-service";
const SERVICE_IMAGE = "creatio-identity-service:8.2.3-identity-service";
/** The Creatio version of the stack, which the stand-in acts as. */
const CREATIO_VERSION = "8.2.3";
/** The user's Creatio, for the client's redirect URIs (0.1.0's `client.creatioUrl`, the quickstart's `creatioUrl`). */
const CREATIO_URL = "https://creatio.example.com";

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

/** The last JSON line a command printed (its stdout in the stack's state). */
function printed(stack: Stack, role: string): Record<string, unknown> {
    const command = stack.state().find(r => r.urn.endsWith(`::${SERVICE}-${role}`));
    assert.ok(command, `${SERVICE}-${role} is in the stack`);
    return JSON.parse(String(reveal(command.outputs.stdout)).trim().split("\n").pop()!) as Record<string, unknown>;
}

/** The client's "Clients" row id and what its child tables hold, as the service reads them. */
async function storedClient(db: ScratchDatabase, clientId: string): Promise<{ rowId: number; scopes: string[]; grantTypes: string[]; redirectUris: string[]; properties: string[] }> {
    return withClient(db.config, async c => {
        const row = (await c.query(`SELECT "Id" FROM "Clients" WHERE "ClientId" = $1`, [clientId])).rows[0];
        const list = async (table: string, column: string) =>
            (await c.query(`SELECT "${column}" AS v FROM "${table}" WHERE "ClientId" = $1 ORDER BY 1`, [row.Id])).rows.map(r => String(r.v));
        return {
            rowId: row.Id as number,
            scopes: await list("ClientScopes", "Scope"),
            grantTypes: await list("ClientGrantTypes", "GrantType"),
            redirectUris: await list("ClientRedirectUris", "RedirectUri"),
            properties: await list("ClientProperties", "Key"),
        };
    });
}

describe(`engine emulator e2e: a stack of release 0.1.0 (${FIRST_RELEASE}) upgraded to this checkout (real Docker and PostgreSQL)`, function () {
    this.timeout(900_000);
    let env: PostgresEnv;
    let db: ScratchDatabase;
    let release: string;
    let program: string;
    let stack: Stack | undefined;
    let deployed: Credentials;
    let deployedClient: Awaited<ReturnType<typeof storedClient>>;
    let deployedContainer: string;
    let service: StandInContext | undefined;
    let stateDirectory: string | undefined;
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
        // The user's extracted IdentityService.zip: the stand-in as the stack's Creatio version (the image's default seeding rule).
        service = standInContext({ seedingRule: "empty-table", creatioVersion: CREATIO_VERSION });
        release = checkOutRelease(FIRST_RELEASE);
        program = userProgram(release);
        db = await createScratchDatabase(env, "cis_upgrade");
    });

    after(async function () {
        await removeLeftovers(stack, [SERVICE], []);
        if (!imageExisted) spawnSync("docker", ["rmi", SERVICE_IMAGE], { stdio: "ignore" });
        await db?.drop().catch(() => undefined);
        service?.remove();
        for (const folder of [release, program && path.dirname(program), stateDirectory]) if (folder) fs.rmSync(folder, { recursive: true, force: true });
    });

    it("1. release 0.1.0 deploys the program, with a Creatio URL for its implicit grant, and serves a token", async () => {
        installPackage(program, release);
        // The stack's configuration as the release's README had the user set it, with the Creatio URL its client needs.
        stateDirectory = fs.mkdtempSync(path.join(os.tmpdir(), "cis-upgrade-state-"));
        const old = new Workspace(stateDirectory).stack(program, "e2e");
        old.configSet("creatioVersion", CREATIO_VERSION);
        old.configSet("creatioUrl", CREATIO_URL);
        old.configSet("identityServiceFolder", service!.path);
        old.configSet("signingCertificatePath", SIGNING_CERTIFICATE);
        old.configSet("connectionString",
            `Server=${env.hostFromContainers};Port=${env.port};Database=${db.name};User ID=${env.user};Password=${env.password};Timeout=5;`,
            { secret: true });
        old.configSet("httpPort", String(await freePort()));
        stack = old;
        await old.up(TRANSPILE_ONLY);
        deployed = old.outputs({ showSecrets: true }) as unknown as Credentials;
        assert.equal(await token(deployed.url, deployed.clientId, deployed.clientSecret), 200);
        // The service seeded 0.1.0's client: implicit with the Creatio URL's redirect URIs, the documented scopes only.
        deployedClient = await storedClient(db, deployed.clientId);
        assert.deepEqual(deployedClient.grantTypes, ["client_credentials", "implicit"]);
        assert.deepEqual(deployedClient.redirectUris, [CREATIO_URL, `${CREATIO_URL}/lib`, `${CREATIO_URL}/lib/`]);
        assert.deepEqual(deployedClient.properties, []);
        deployedContainer = containerId(SERVICE);
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

    it("3. up upgrades it: the client replaced in place once, the service restarted, the credentials never refused, no secret left in the container's environment", async () => {
        // The user's client keeps asking for tokens while `pulumi up` runs.
        const load = Load.token(deployed.url, deployed.clientId, deployed.clientSecret);
        let result: RunResult;
        let samples: Sample[];
        try {
            result = await stack!.up(TRANSPILE_ONLY);
        } finally {
            samples = await load.stop();
        }
        // The re-seed step updates (its input gained fields) and replaces the client's rows, which 0.1.0 wrote without
        // this version's scopes and properties, so its restart token is new: the container is replaced (the service
        // restarts) and the readiness gate runs again. The retire step is new (0.1.0 did not have it).
        assert.deepEqual(byRole(result), {
            "client-id": "same", "client-secret": "same", image: "update", "client-reseed": "update", container: "replace",
            readiness: "replace", "client-retire": "create",
        }, result.text);
        const reseeded = printed(stack!, "client-reseed");
        assert.deepEqual({ ...reseeded, restartToken: "(new)" }, {
            clientId: deployed.clientId, deletedClients: 0, insertedClients: 0, updatedClients: 1, addedSecrets: 0, restartToken: "(new)",
            supersededClientIds: [],
        });
        assert.match(String(reseeded.restartToken), /^[0-9a-f]{16}$/);
        assert.deepEqual(printed(stack!, "client-retire"), { clientId: deployed.clientId, retiredClients: 0, retiredSecrets: 0, pendingClientIds: [] });

        // In place: the same row, now with the scopes and properties of this version's client for 8.2.3.
        const upgradedClient = await storedClient(db, deployed.clientId);
        assert.equal(upgradedClient.rowId, deployedClient.rowId, "the client's row was kept");
        assert.deepEqual(upgradedClient.scopes, [...systemClientProfile([8, 2, 3]).allowedScopes].sort());
        assert.notDeepEqual(upgradedClient.scopes, deployedClient.scopes);
        assert.deepEqual(upgradedClient.properties, ["AllowedQueryParameters"]);
        assert.deepEqual(upgradedClient.grantTypes, deployedClient.grantTypes);
        assert.deepEqual(upgradedClient.redirectUris, deployedClient.redirectUris);

        // The service restarted: a new container, labelled with the restart token.
        const restarted = containerId(SERVICE);
        assert.notEqual(restarted, deployedContainer);
        const labels = JSON.parse(execFileSync("docker", ["inspect", "-f", "{{json .Config.Labels}}", restarted], { encoding: "utf8" })) as Record<string, string>;
        assert.equal(labels[RESTART_TOKEN_LABEL], reseeded.restartToken);
        // The new container takes its configuration from the settings file: no secret is left in its environment.
        const environment = JSON.stringify(JSON.parse(execFileSync("docker", ["inspect", "--format", "{{json .Config.Env}}", restarted], { encoding: "utf8" })));
        assert.ok(!environment.includes(env.password) && !environment.includes(deployed.clientSecret), "no secret in the container's environment");

        // The credentials stay and were never refused: every request the service answered got a token; those that got
        // no answer found no service while the container was being replaced (it keeps its name and port).
        const upgraded = stack!.outputs({ showSecrets: true }) as unknown as Credentials;
        assert.equal(upgraded.clientId, deployed.clientId);
        assert.equal(upgraded.clientSecret, deployed.clientSecret);
        const answered = samples.filter(sample => sample.detail.startsWith("HTTP"));
        const unanswered = failures(samples).filter(sample => !sample.detail.startsWith("HTTP"));
        console.log(`      token requests during up: ${samples.length}, ${answered.length} answered (${failures(answered).length} refused), ` +
            `${unanswered.length} without an answer (${[...new Set(unanswered.map(sample => sample.detail))].join(", ") || "none"})`);
        assert.ok(answered.length > 10, `the load ran (${samples.length} requests)`);
        assert.deepEqual(failures(answered).map(sample => sample.detail), [], "no token request the service answered was refused");
        assert.equal(await token(upgraded.url, upgraded.clientId, upgraded.clientSecret), 200);

        const second = await stack!.preview(TRANSPILE_ONLY);
        assert.match(second.text, /Resources:\n {4}\d+ unchanged$/, "a second run changes nothing");
        await stack!.destroy();
        assert.ok(!exists("container", SERVICE));
    });
});
