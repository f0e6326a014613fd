/**
 * The scripts in `src/scripts/` ship with the package and run as real files, not strings built in code.
 */
import * as fs from "fs";
import * as path from "path";

/** `src/scripts/` of this package, from the compiled `bin/` or from `src/` alike. */
export const SCRIPTS_DIR = path.join(__dirname, "..", "src", "scripts");

export function scriptPath(file: string): string {
    return path.join(SCRIPTS_DIR, file);
}

export function readScript(file: string): string {
    return fs.readFileSync(scriptPath(file), "utf8");
}

/**
 * The command line that runs a packaged Node script. The path is relative to the Pulumi program's directory
 * (where local commands run), so the command text, and with it the preview, is the same on every machine
 * that checks out the program; an absolute path would show as a change whenever a colleague runs `pulumi up`.
 */
export function nodeScriptCommand(file: string, programDir: string = process.cwd()): string {
    const relative = path.relative(programDir, scriptPath(file)).split(path.sep).join("/");
    return `node "${relative}"`;
}
