/**
 * Pure helpers for running PowerShell on a Windows host: the `-EncodedCommand` form that survives cmd.exe (which
 * OpenSSH for Windows runs commands through), single-quoted literals, and a conservative minifier that keeps the
 * encoded command under cmd.exe's line limit.
 */

/** The executable and switches every IIS step runs with. `-ExecutionPolicy Bypass` lets uploaded scripts run. */
export const POWERSHELL = ["powershell.exe", "-NoProfile", "-NonInteractive", "-ExecutionPolicy", "Bypass"] as const;

/**
 * cmd.exe accepts command lines of at most 8191 characters; keep a margin for the SSH server's own wrapping.
 */
export const MAX_COMMAND_LINE = 8000;

/** The script as `-EncodedCommand` expects it: base64 of its UTF-16LE bytes. */
export function encodeCommand(script: string): string {
    return Buffer.from(script, "utf16le").toString("base64");
}

/** The inverse of `encodeCommand` (for tests and diagnostics). */
export function decodeCommand(encoded: string): string {
    return Buffer.from(encoded, "base64").toString("utf16le");
}

/** The full command line that runs a script through cmd.exe. */
export function encodedCommandLine(script: string): string {
    return [...POWERSHELL, "-EncodedCommand", encodeCommand(script)].join(" ");
}

/**
 * A PowerShell single-quoted string literal. Inside one, only the single quote is special and is doubled;
 * PowerShell also treats the typographic quotes U+2018..U+201B as single quotes, so they are doubled too.
 */
export function quote(value: string): string {
    if (value.includes("\u0000")) {
        // No PowerShell literal can hold NUL (nor can a Windows path); argument checks reject it earlier.
        throw new Error("a PowerShell literal cannot hold a NUL character");
    }
    return `'${value.replace(/['\u2018\u2019\u201a\u201b]/g, q => q + q)}'`;
}

/**
 * Drops blank and whole-line `#` comment lines and leading indentation. Safe only for scripts without
 * here-strings or block comments (whose lines would change meaning), so those are refused.
 */
export function minify(script: string): string {
    if (/@['"]\s*$/m.test(script) || /<#/.test(script)) {
        throw new Error("minify: here-strings and block comments are not supported in packaged PowerShell scripts");
    }
    return script
        .split(/\r?\n/)
        .map(line => line.trim())
        .filter(line => line !== "" && !line.startsWith("#"))
        .join("\n");
}
