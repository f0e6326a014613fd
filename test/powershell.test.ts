// The readable command line that runs an uploaded step script: the path literal that survives cmd.exe (which
// OpenSSH for Windows runs every command through), the `-Command` line, and the runner itself, checked against the
// stand-in cmd.exe (test/fixtures/iis-server/cmd.js, written from Microsoft's documentation of cmd.exe and
// CommandLineToArgvW) with delayed expansion off and on, over hostile paths (fast-check, fixed seed).
import { strict as assert } from "assert";
import fc from "fast-check";
import { cmdSafeString, commandLine, POWERSHELL, quote, scriptFileRunner } from "../src/powershell";
// eslint-disable-next-line @typescript-eslint/no-require-imports
const cmd = require("./fixtures/iis-server/cmd.js") as {
    cmdSlashC(rest: string, options: { env: Record<string, string>; delayed?: boolean; isProgram?: (text: string) => boolean }): string[];
    commandLineToArgv(line: string): string[];
    CmdRefusal: new (message: string) => Error;
};

/** The session's environment: variables a hostile path could name. */
const ENV = { windir: "C:\\Windows", PATH: "C:\\Windows\\system32", USERNAME: "Administrator", x: "EXPANDED" };

/** What powershell.exe gets for -Command after `"cmd.exe" /c "<line>"` (OpenSSH for Windows): the arguments joined. */
function commandThroughCmd(line: string, delayed: boolean): string {
    const argv = cmd.cmdSlashC(`"${line}"`, { env: ENV, delayed });
    assert.deepEqual(argv.slice(0, POWERSHELL.length + 1), [...POWERSHELL, "-Command"]);
    return argv.slice(POWERSHELL.length + 1).join(" ");
}

/** Evaluates what cmdSafeString builds: single-quoted literals and [char]<code> joined by +. */
function evaluate(expression: string): string {
    let value = "";
    const term = /^(?:'((?:[^'\u2018\u2019\u201a\u201b]|(['\u2018\u2019\u201a\u201b])\2)*)'|\[char\](\d+))(\+|$)/;
    let rest = expression;
    while (rest !== "") {
        const match = term.exec(rest);
        assert.ok(match, `not a literal or [char]: ${rest}`);
        value += match[1] !== undefined ? match[1].replace(/(['\u2018\u2019\u201a\u201b])\1/g, "$1") : String.fromCodePoint(Number(match[3]));
        rest = rest.slice(match[0].length);
        if (match[4] === "+") {
            assert.notEqual(rest, "", "no trailing +");
        }
    }
    return value;
}

const HOSTILE_PATHS = [
    "C:\\Creatio 50%\\%windir%\\IdentityService.deploy",
    "C:\\Creatio !x! !USERNAME!\\Identity^Service & more (1)\\It's.deploy",
    "C:\\Cr\u00e9atio \u0436\u0443\u0440\u043d\u0430\u043b \u540d\\a^^b^!c%%d\\\u2018q\u2019.deploy",
    "\\\\server\\share 100%\\(x) & [y]\\IdentityService.deploy",
];

describe("PowerShell through cmd.exe", () => {
    describe("cmdSafeString", () => {
        it("keeps plain text one single-quoted literal, and writes what cmd.exe acts on as [char]", () => {
            assert.equal(cmdSafeString("C:\\Creatio\\It's (1) & ^x"), "'C:\\Creatio\\It''s (1) & ^x'");
            assert.equal(cmdSafeString("50%"), "'50'+[char]37");
            assert.equal(cmdSafeString("%windir%"), "''+[char]37+'windir'+[char]37");
            assert.equal(cmdSafeString("a!b"), "'a'+[char]33+'b'");
            assert.equal(cmdSafeString(""), "''");
            for (const path of HOSTILE_PATHS) {
                assert.equal(evaluate(cmdSafeString(path)), path);
                assert.doesNotMatch(cmdSafeString(path), /[%!"]/);
            }
        });

        it(`holds the exact text and nothing cmd.exe acts on, for any text (fast-check)`, () => {
            const text = fc.string({ unit: fc.constantFrom(..."%!^&'()\" \t\r\nab\\\u00e9\u540d\u2018\u2019\u201c;=,`~@<>|"), maxLength: 40 });
            fc.assert(
                fc.property(text, value => {
                    const expression = cmdSafeString(value);
                    assert.equal(evaluate(expression), value);
                    assert.doesNotMatch(expression, /[%!"\r\n]/);
                }),
                { numRuns: 500 },
            );
        });
    });

    describe("commandLine", () => {
        it("wraps the text in the one pair of quotes cmd.exe and CommandLineToArgvW take off, and refuses text that would not survive", () => {
            assert.equal(commandLine("exit 3"), 'powershell.exe -NoProfile -NonInteractive -ExecutionPolicy Bypass -Command "exit 3"');
            for (const bad of ["a%b", "a!b", 'a"b', "a\nb", "a\\"]) {
                assert.throws(() => commandLine(bad), /cannot travel through cmd\.exe/, JSON.stringify(bad));
            }
        });
    });

    describe("the runner of an uploaded script", () => {
        for (const delayed of [false, true]) {
            it(`reaches powershell.exe unchanged through cmd.exe for hostile paths (delayed expansion ${delayed ? "on" : "off"})`, () => {
                for (const folder of HOSTILE_PATHS) {
                    const runner = scriptFileRunner(`${folder}\\install-0123456789ab.ps1`, `${folder}\\step-library-0123456789ab.ps1`, "a hint (with <brackets>) & more");
                    assert.equal(commandThroughCmd(commandLine(runner), delayed), runner);
                    assert.ok(runner.startsWith(`$file=${cmdSafeString(`${folder}\\install-0123456789ab.ps1`)};$library=${cmdSafeString(`${folder}\\step-library-0123456789ab.ps1`)};`));
                }
            });
        }

        it("reaches powershell.exe unchanged for any folder (fast-check)", () => {
            const folder = fc.string({ unit: fc.constantFrom(..."%!^&'() ab\\\u00e9\u540d\u2018;=,`~@<>|[]{}$#"), minLength: 1, maxLength: 30 });
            fc.assert(
                fc.property(folder, fc.boolean(), (name, delayed) => {
                    const runner = scriptFileRunner(`C:\\${name}\\x-0123456789ab.ps1`, `C:\\${name}\\l-0123456789ab.ps1`, "hint");
                    assert.equal(commandThroughCmd(commandLine(runner), delayed), runner);
                    assert.equal(evaluate(/^\$file=(.*?);\$library=/.exec(runner)![1]), `C:\\${name}\\x-0123456789ab.ps1`);
                    assert.equal(evaluate(/;\$library=(.*?);\$ErrorActionPreference=/.exec(runner)![1]), `C:\\${name}\\l-0123456789ab.ps1`);
                }),
                { numRuns: 300 },
            );
        });

        it("would be broken by cmd.exe if a % or ! reached it as it is (the check is not vacuous)", () => {
            const raw = `powershell.exe -Command "$file=${quote("C:\\%x%\\!x!")}"`;
            assert.notEqual(commandThroughCmd(raw.replace("powershell.exe", POWERSHELL.join(" ")), false), `$file=${quote("C:\\%x%\\!x!")}`);
            assert.notEqual(commandThroughCmd(raw.replace("powershell.exe", POWERSHELL.join(" ")).replace("%x%", "y"), true), `$file=${quote("C:\\y\\!x!")}`);
        });
    });

    describe("the cmd.exe stand-in follows the documented rules", () => {
        const run = (rest: string, delayed = false) => cmd.cmdSlashC(rest, { env: ENV, delayed, isProgram: text => text === "C:\\Program Files\\x.exe" });

        it("/C: drops the first and last quote unless exactly two enclose an executable's name with white space", () => {
            assert.deepEqual(run('"a "b c" d"'), ["a", "b c", "d"]);
            assert.deepEqual(run('"C:\\Program Files\\x.exe"'), ["C:\\Program Files\\x.exe"]);
            assert.deepEqual(run('"prog -x"'), ["prog", "-x"]);
        });

        it("expands defined %NAME% anywhere, quoted or not, and leaves other percents", () => {
            assert.deepEqual(run('p "%windir% %nope% 50%" %X%'), ["p", "C:\\Windows %nope% 50%", "EXPANDED"]);
        });

        it("removes carets outside quotes only, and refuses operators outside quotes", () => {
            assert.deepEqual(run('p a^&b "c^d & (e)"'), ["p", "a&b", "c^d & (e)"]);
            assert.throws(() => run("p a & b"), /outside quotes/);
            assert.throws(() => run("p a > b"), /outside quotes/);
        });

        it("with delayed expansion, expands !NAME! and consumes ! and ^ even inside quotes", () => {
            assert.deepEqual(run('p "!x! a^b !"', true), ["p", "EXPANDED ab "]);
            assert.deepEqual(run('p "!x! a^b"', false), ["p", "!x! a^b"]);
        });

        it("splits arguments as CommandLineToArgvW: quotes group, backslashes literal unless before a quote", () => {
            assert.deepEqual(cmd.commandLineToArgv('p "a b" c\\d e\\\\"f g" h\\"i'), ["p", "a b", "c\\d", "e\\f g", 'h"i']);
        });
    });
});
