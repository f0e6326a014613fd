/**
 * The `local` re-seed runner: `src/scripts/reseed.js` on the machine that runs Pulumi, which then needs a network path
 * to the database (the default; see docs/reseed.md).
 */
import { DatabaseProvider } from "../args";
import { nodeScriptCommand } from "../packagedScripts";
import { ReseedRunner } from "../reseed";

export function localRunner(provider: DatabaseProvider): ReseedRunner {
    const command = nodeScriptCommand("reseed.js");
    return {
        step: () => ({ command, environment: { RESEED_DB_PROVIDER: provider } }),
        dependsOn: [],
    };
}
