/**
 * A build context of the stand-in Identity Service (test/fixtures/identity-service) that behaves as one deployment
 * needs: its test-control variables (the seeding rule, the client store cache, the Creatio version it acts as) set
 * by `ENV` lines in a copy of its Dockerfile-OAuth, as its README describes. The stand-in's own files are copied, never
 * changed. Remove the copy with `remove()`.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

const FIXTURE_DIR = path.join(__dirname, "..", "..", "fixtures", "identity-service");

/** The two rules by which the stand-in may seed its configured clients (its STANDIN_SEEDING_RULE). */
export type SeedingRule = "missing-id" | "empty-table";
export const SEEDING_RULES: readonly SeedingRule[] = ["missing-id", "empty-table"];

export interface StandInControls {
    readonly seedingRule: SeedingRule;
    /** The Creatio version the service acts as; the deployment's `creatioVersion`. */
    readonly creatioVersion: string;
    /** Seconds the client store caches a client (IdentityServer4's optional cache); undefined: no cache. */
    readonly clientStoreCacheSeconds?: number;
}

export interface StandInContext {
    readonly path: string;
    remove(): void;
}

export function standInContext(controls: StandInControls): StandInContext {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `cis-e2e-stand-in-${controls.seedingRule}-`));
    fs.cpSync(FIXTURE_DIR, dir, { recursive: true, filter: source => !/\.(test|doubles\.test)\.ts$|standIn\.ts$/.test(source) });
    const env = [
        `STANDIN_SEEDING_RULE=${controls.seedingRule}`,
        `STANDIN_CREATIO_VERSION=${controls.creatioVersion}`,
        `STANDIN_CLIENT_STORE_CACHE=${controls.clientStoreCacheSeconds === undefined ? "off" : String(controls.clientStoreCacheSeconds)}`,
    ];
    setStandInEnvironment(dir, env);
    return { path: dir, remove: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

const sharedFolders = new Map<string, StandInContext>();

/**
 * The stand-in's folder as the IdentityService.zip of `creatioVersion` (the default seeding rule, no cache), for the
 * programs that take an `identityServiceFolder` and deploy that version: the real service's behaviour follows the
 * archive's version (ForceHttpsSchemeInRequests exists from 8.3.1 on), not the folder a test happens to point at.
 * One copy per version for the whole run, removed when the run ends.
 */
export function standInFolder(creatioVersion: string): string {
    let context = sharedFolders.get(creatioVersion);
    if (!context) {
        context = standInContext({ seedingRule: "empty-table", creatioVersion });
        sharedFolders.set(creatioVersion, context);
        if (sharedFolders.size === 1) process.on("exit", () => sharedFolders.forEach(folder => folder.remove()));
    }
    return context.path;
}

/** Makes a copy of the stand-in's folder the service of `creatioVersion` (its STANDIN_CREATIO_VERSION). */
export function pinStandInVersion(dir: string, creatioVersion: string): void {
    setStandInEnvironment(dir, [`STANDIN_CREATIO_VERSION=${creatioVersion}`]);
}

/** Puts `NAME=value` entries into the image of a copy of the stand-in's folder, before its ENTRYPOINT. */
function setStandInEnvironment(dir: string, env: readonly string[]): void {
    const dockerfile = path.join(dir, "Dockerfile-OAuth");
    const text = fs.readFileSync(dockerfile, "utf8");
    if (!/^ENTRYPOINT /m.test(text)) throw new Error("the stand-in's Dockerfile-OAuth has no ENTRYPOINT line to put the ENV lines before");
    fs.writeFileSync(dockerfile, text.replace(/^ENTRYPOINT /m, `ENV ${env.join(" ")}\nENTRYPOINT `));
}
