import "../support/mocks";
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { IdentityService, IdentityServiceArgs } from "../../src";
import { Recorder, resetMocks, valueOf } from "../support/mocks";
import { ALL_VARIANTS, scenarios } from "./scenarios";

/**
 * Pins the child resources' names and types of default deployments. Renaming a child without `aliases` makes
 * Pulumi delete and recreate it (a new client secret, a replaced container) on the users' next `pulumi up`:
 * when this test fails, either restore the name or add an alias and then update the snapshot.
 */
const SNAPSHOT = path.join(__dirname, "..", "snapshots", "children.json");

async function children(args: IdentityServiceArgs): Promise<string[]> {
    resetMocks();
    const recorder = new Recorder();
    const service = new IdentityService("identity-service", args, { transformations: [recorder.transformation] });
    await valueOf(service.url);
    return recorder.constructed.map(r => `${r.type}::${r.name}`);
}

const matrix = scenarios(ALL_VARIANTS);
const scenario = (title: string) => matrix.find(s => s.title === title)!.args;

export const defaultDeployments: Record<string, IdentityServiceArgs> = {
    docker: scenario("Docker 8.2.1 Postgres http generated credentials"),
    "iis-local": scenario("IIS local 8.2.1 MsSqlServer http generated credentials"),
    "iis-ssh": scenario("IIS over SSH 8.2.1 MsSqlServer https generated credentials"),
    swarm: scenario("Swarm 8.2.1 Postgres http generated credentials redis"),
};

describe("upgrade safety", () => {
    it("keeps the names and types of every child of the default deployments", async () => {
        const actual: Record<string, string[]> = {};
        for (const [deployment, args] of Object.entries(defaultDeployments)) {
            actual[deployment] = await children(args);
        }
        if (process.env.UPDATE_SNAPSHOTS === "1") {
            fs.writeFileSync(SNAPSHOT, JSON.stringify(actual, null, 2) + "\n");
        }
        const pinned = JSON.parse(fs.readFileSync(SNAPSHOT, "utf8"));
        assert.deepEqual(actual, pinned, "a child was renamed, added or removed: add `aliases` for renames, then run with UPDATE_SNAPSHOTS=1");
    });
});
