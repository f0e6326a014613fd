/**
 * Pure helpers for running PowerShell on a Windows host, directly or through cmd.exe (which OpenSSH for Windows runs
 * every command through): the readable `-Command` line that runs a script file, the `-EncodedCommand` form with a
 * conservative minifier that keeps it under cmd.exe's line limit, and single-quoted literals.
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

/** The full command line that runs a script through cmd.exe as `-EncodedCommand` (nothing in it means anything to cmd.exe). */
export function encodedCommandLine(script: string): string {
    return [...POWERSHELL, "-EncodedCommand", encodeCommand(script)].join(" ");
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
 * What cmd.exe still acts on inside a double-quoted argument: `%` (percent expansion of `%NAME%` runs over the whole
 * line, quotes or not), `!` (expanded as `!NAME!` when delayed expansion is on, as the `DelayedExpansion` registry
 * value can make it for every `cmd /c`, and then `^` is consumed too), the quote itself, and line breaks, which end
 * the command. See "cmd" and "set" in Microsoft's Windows Commands reference (learn.microsoft.com/windows-server/
 * administration/windows-commands/cmd): `&`, `<`, `>`, `(`, `)`, `@`, `^` and `|` are special only outside quotes.
 */
const CMD_ACTIVE_IN_QUOTES = /[%!"\u0000-\u001f\u007f]/;

/**
 * A PowerShell expression for the text that survives cmd.exe inside one double-quoted argument: single-quoted
 * literals, with each character cmd.exe would still act on there (see CMD_ACTIVE_IN_QUOTES) concatenated as
 * `[char]<code>` instead, e.g. `'C:\50'+[char]37+' off'`.
 */
export function cmdSafeString(value: string): string {
    const parts = [quote("")];
    let literal = "";
    for (const character of value) {
        if (CMD_ACTIVE_IN_QUOTES.test(character)) {
            if (literal !== "") parts.push(quote(literal));
            parts.push(`[char]${character.codePointAt(0)}`);
            literal = "";
        } else {
            literal += character;
        }
    }
    if (literal !== "") parts.push(quote(literal));
    // The first term is a string, so that `+` concatenates (a leading [char] would make it an addition).
    return parts.length > 1 && parts[1].startsWith("'") ? parts.slice(1).join("+") : parts.join("+");
}

/**
 * The command line that runs PowerShell text through cmd.exe as `powershell.exe … -Command "<text>"`, readable as
 * it is. cmd.exe leaves the quoted text alone when it holds none of CMD_ACTIVE_IN_QUOTES (OpenSSH for Windows runs
 * `cmd.exe /c "<line>"`, and cmd.exe then drops the first and the last quote of the line, as `cmd /?` describes for
 * a line that starts with a quote and holds more than two). powershell.exe splits its command line as
 * CommandLineToArgvW does (learn.microsoft.com/windows/win32/api/shellapi/nf-shellapi-commandlinetoargvw): the
 * quotes group the text into one argument, and backslashes are literal unless a quote follows them, so the text
 * may not end in one. Everything after `-Command` is the command (about_PowerShell_exe, "-Command").
 */
export function commandLine(text: string): string {
    if (CMD_ACTIVE_IN_QUOTES.test(text) || text.endsWith("\\")) {
        throw new Error(`this PowerShell text cannot travel through cmd.exe as it is (it holds % ! " or a line break, or ends in \\): ${text}`);
    }
    return [...POWERSHELL, "-Command", `"${text}"`].join(" ");
}

/**
 * One line of PowerShell that runs a script file: read, then run as a script block, so that neither the execution
 * policy (which Group Policy can enforce over `-ExecutionPolicy Bypass`) nor wildcard characters in the path can keep
 * it from starting. When it cannot start (the file is gone, unreadable or does not parse) it writes a plain-text
 * message naming the file and `hint` and exits 1; else it exits with the script's exit code. Its own messages and
 * PowerShell's are plain text: the console host writes errors as CLIXML only when the command was encoded and stderr
 * is redirected (ConsoleHost's ErrorFormat in PowerShell/PowerShell), and this line travels as `-Command`. The
 * script reads standard input itself. The line holds nothing cmd.exe acts on between quotes (see commandLine).
 */
export function scriptFileRunner(path: string, hint: string): string {
    return [
        // The file first: a preview cuts long values, and the name is what tells a reviewer what changed.
        `$file=${cmdSafeString(path)}`,
        "$ErrorActionPreference='Stop'",
        "[Console]::OutputEncoding=New-Object Text.UTF8Encoding $false",
        "try{$run=[ScriptBlock]::Create([IO.File]::ReadAllText($ExecutionContext.SessionState.Path.GetUnresolvedProviderPathFromPSPath($file)))}" +
            `catch{[Console]::Error.WriteLine('runner: cannot start '+$file+': '+$_.Exception.Message+${cmdSafeString(` (${hint})`)});exit 1}`,
        "$global:LASTEXITCODE=0",
        "try{& $run}catch{[Console]::Error.WriteLine('runner: '+$file+' failed: '+$_.Exception.Message);exit 1}",
        "exit $LASTEXITCODE",
    ].join(";");
}
