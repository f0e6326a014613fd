/**
 * The scripts in `src/scripts/` ship with the package and run as real files, not strings built in code.
 */
import * as fs from "fs";
import * as path from "path";
import { pathForProviders, providerWorkingDirectory } from "./providerPaths";

/** `src/scripts/` of this package, from the compiled `bin/` or from `src/` alike. */
export const SCRIPTS_DIR = path.join(__dirname, "..", "src", "scripts");

/**
 * Scripts bundled with their dependencies into one file by `npm run build` (esbuild), for runners that copy a script
 * where no `node_modules` is: `bin/scripts/` of this package, from the compiled `bin/` or from `src/` alike.
 */
export const BUNDLED_SCRIPTS_DIR = path.join(__dirname, "..", "bin", "scripts");

export function bundledScriptPath(file: string): string {
    return path.join(BUNDLED_SCRIPTS_DIR, file);
}

export function scriptPath(file: string): string {
    return path.join(SCRIPTS_DIR, file);
}

export function readScript(file: string): string {
    return fs.readFileSync(scriptPath(file), "utf8");
}

/**
 * The command line that runs a packaged Node script, with the script's path as `pathForProviders` gives it: found
 * from the command provider's working directory, and the same text on every machine that runs the program through
 * the Pulumi CLI (an absolute path would show as a change whenever a colleague runs `pulumi up`).
 */
export function nodeScriptCommand(file: string, workingDirectory: string | undefined = providerWorkingDirectory()): string {
    return `node "${pathForProviders(scriptPath(file), workingDirectory)}"`;
}
