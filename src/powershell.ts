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
 * One line of PowerShell that runs an uploaded step script with the step library (functions every step uses): both
 * files are read, checked and run as script blocks, so that neither the execution policy (which Group Policy can
 * enforce over `-ExecutionPolicy Bypass`) nor wildcard characters in the path can keep them from starting.
 *
 * - Each file's SHA-256 must begin with the 12 hex digits its name ends in (`<name>-<hash>.ps1`, as the `scripts` step
 *   writes them): a file changed on the server is refused, not run as an administrator. The check is
 *   `Read-UploadedText`, which the steps use for the files they load themselves (the configuration patcher).
 * - A session in any language mode but FullLanguage (a system lockdown policy) is refused first, with that reason:
 *   nothing the steps do works there.
 * - When a file cannot start (gone, unreadable, changed, does not parse) the line writes a plain-text message naming
 *   the file and `hint` and exits 1. A step that fails exits non-zero itself (`exit 1`, which ends the process); a
 *   step that returns has succeeded and the line exits 0, whatever the last native program it ran returned.
 * - Its own messages and PowerShell's are plain text: the console host writes errors as CLIXML only when the command
 *   was encoded and stderr is redirected (ConsoleHost's ErrorFormat in PowerShell/PowerShell), and this line travels
 *   as `-Command`. The script reads standard input itself. The line holds nothing cmd.exe acts on between quotes (see
 *   commandLine).
 */
export function scriptFileRunner(path: string, libraryPath: string, hint: string): string {
    return [
        // The file first: a preview cuts long values, and the name is what tells a reviewer what changed.
        `$file=${cmdSafeString(path)}`,
        `$library=${cmdSafeString(libraryPath)}`,
        "$ErrorActionPreference='Stop'",
        "if($ExecutionContext.SessionState.LanguageMode -ne 'FullLanguage'){throw ('runner: Windows PowerShell runs in '+$ExecutionContext.SessionState.LanguageMode+' mode on this server (a system lockdown policy: AppLocker, WDAC or __PSLockdownPolicy); the IIS steps need FullLanguage for the account they run as')}",
        "[Console]::OutputEncoding=New-Object Text.UTF8Encoding $false",
        "function Read-UploadedText($path){$text=[IO.File]::ReadAllText($ExecutionContext.SessionState.Path.GetUnresolvedProviderPathFromPSPath($path));$name=[IO.Path]::GetFileNameWithoutExtension($path);" +
            "$hash=[BitConverter]::ToString([Security.Cryptography.SHA256]::Create().ComputeHash([Text.Encoding]::UTF8.GetBytes($text))).Replace('-','');" +
            "if($name.Length -lt 13 -or -not $hash.StartsWith($name.Substring($name.Length-12),'OrdinalIgnoreCase')){throw ($path+' is not what its name says: its SHA-256 does not begin with the hash in its name (changed on this server)')};$text}",
        "try{$run=[ScriptBlock]::Create((Read-UploadedText $file));$stepLibrary=[ScriptBlock]::Create((Read-UploadedText $library))}" +
            `catch{[Console]::Error.WriteLine('runner: cannot start '+$file+': '+$_.Exception.Message+${cmdSafeString(` (${hint})`)});exit 1}`,
        "try{. $stepLibrary;& $run}catch{[Console]::Error.WriteLine('runner: '+$file+' failed: '+$_.Exception.Message);exit 1}",
        "exit 0",
    ].join(";");
}
