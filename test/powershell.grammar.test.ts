// Every PowerShell text the IIS target generates is parsed with a real PowerShell grammar (tree-sitter-powershell):
// the packaged scripts as shipped, the uploader's minified inline form, the one-line runner of every other step,
// and the commands of every variant (local and SSH, http and https, custom pool identity or not, each release row of
// the version table) built from hostile values. Values never enter script text (they travel on stdin), except the
// uploaded scripts' folder, which the runner carries as one cmd.exe-safe string expression.
import "./support/mocks";
import { strict as assert } from "assert";
import fc from "fast-check";
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { DatabaseProvider, DeploymentTarget, IdentityService, IdentityServiceArgs, IisDeployment } from "../src";
import { readScript } from "../src/packagedScripts";
import { commandScript, IIS_API, LIBRARY_FILE, libraryFile, scriptFile, STEP_SCRIPTS, stepScript, UPLOADER_SCRIPTS, windowsJoin } from "../src/targets/iis";
import { cmdSafeString, commandLine, decodeCommand, encodeCommand, encodedCommandLine, minify, quote } from "../src/powershell";
import { ANY_PATCH, RELEASES, formatVersion } from "../src/versions";
import { EXECUTOR_BOOTSTRAP, executorCommandLine } from "../src/reseedRunners/server";
import { Recorder, resetMocks, valueOf } from "./support/mocks";

interface SyntaxNode {
    type: string;
    text: string;
    hasError: boolean;
    isMissing: boolean;
    children: SyntaxNode[];
    startPosition: { row: number; column: number };
}
interface PowerShellParser {
    parse(text: string): { rootNode: SyntaxNode };
}

// tree-sitter-powershell is an ES module: load it with a real dynamic import (not compiled to require).
const dynamicImport = new Function("m", "return import(m)") as (module: string) => Promise<any>;

async function loadParser(): Promise<PowerShellParser> {
    const Parser = (await dynamicImport("tree-sitter")).default;
    const language = (await dynamicImport("tree-sitter-powershell")).default;
    const parser = new Parser();
    parser.setLanguage(language);
    return parser;
}

/** The syntax errors of a script, with line and column, or [] when it parses. */
function syntaxErrors(parser: PowerShellParser, text: string): string[] {
    const errors: string[] = [];
    const visit = (node: SyntaxNode): void => {
        if (node.type === "ERROR" || node.isMissing) {
            errors.push(`${node.startPosition.row + 1}:${node.startPosition.column + 1} ${node.type} ${JSON.stringify(node.text.slice(0, 60))}`);
        }
        node.children.forEach(visit);
    };
    const tree = parser.parse(text);
    visit(tree.rootNode);
    if (tree.rootNode.hasError && errors.length === 0) {
        errors.push("the tree has an error");
    }
    return errors;
}

const certificates = path.join(__dirname, "fixtures", "certificates");
const HOSTILE = {
    // IIS refuses quotes, ; and % in names, but not $, backticks, &, braces, # or non-ASCII text.
    siteName: "Ids ${COMPUTERNAME} `n $(calc) & {x} @y #z \u00fc\u540d",
    appPoolName: "Pool $x `t (y) \u00e9",
    // Windows paths may hold single quotes, $, backticks, ; and non-ASCII text.
    creatioPath: "C:\\Creatio 'prod' $x $(y) `y ;z \u00e4\u00f6 50% !x! ^(&)",
    archivePath: "D:\\Pak'ete\\$(evil) `n;\u00df\\IdentityService.zip",
    username: "CONTOSO\\o'brien $x `y ;\u00e7",
    // Secrets may hold anything, newlines included.
    password: "pa'ss\"wo$rd`\n;\r\n\u2019\u00fc${x}@'\n'@",
    // A quoted value (inner quotes doubled), as a connection string must be to hold ";" and quotes.
    connectionString: "Server=db;Password='\"'';$x`\n\u00fc';",
};

function variantArgs(version: string, https: boolean, identity: boolean, ssh: boolean): IdentityServiceArgs {
    const iis: IisDeployment = {
        creatioPath: HOSTILE.creatioPath,
        archivePath: HOSTILE.archivePath,
        siteName: HOSTILE.siteName,
        appPoolName: HOSTILE.appPoolName,
        port: 8090,
        connection: ssh ? { host: "win.example.com", user: "admin", password: HOSTILE.password } : undefined,
        appPoolIdentity: identity ? { username: HOSTILE.username, password: HOSTILE.password } : undefined,
        https: https ? { port: 8443, certificateThumbprint: "ab".repeat(20) } : undefined,
        stdoutLog: { enabled: true, path: ".\\logs $x `y;\u00fc\\stdout" },
    };
    return {
        target: DeploymentTarget.Iis,
        creatioVersion: version,
        database: { provider: DatabaseProvider.MsSqlServer, connectionString: HOSTILE.connectionString },
        client: { secret: `${HOSTILE.password}-padding-to-32-characters`, name: HOSTILE.siteName },
        // A supplied PFX is opened in the program and reaches the server without a password: none travels.
        signingCertificate: { path: path.join(certificates, "signing.pfx") },
        iis,
    };
}

/** The PowerShell text of a step command: decoded from `-EncodedCommand`, or the `-Command` text, local or over SSH. */
async function scriptText(props: Record<string, unknown>, text: string): Promise<string> {
    const line = /^powershell\.exe .*?-(EncodedCommand|Command) (.*)$/.exec(text);
    if (line) {
        return line[1] === "EncodedCommand" ? decodeCommand(line[2]) : line[2].slice(1, -1);
    }
    const interpreter = (await valueOf(props.interpreter as pulumi.Input<string[]>)) ?? [];
    return interpreter[interpreter.length - 1] === "-EncodedCommand" ? decodeCommand(text) : text;
}

describe("PowerShell scripts of the IIS target parse (tree-sitter-powershell)", function () {
    this.timeout(60000);
    let parser: PowerShellParser;
    before(async () => {
        parser = await loadParser();
    });

    it("detects a broken script, so the check is not vacuous", () => {
        for (const broken of ["$x = 'unterminated", "if ($a) {", "try { 1 } catch {", "& 'a'b'", "$x = \"a\" + ", "function f( { }"]) {
            assert.notDeepEqual(syntaxErrors(parser, broken), [], `${JSON.stringify(broken)} is reported as broken`);
        }
        assert.deepEqual(syntaxErrors(parser, "$x = 'a''b'\nWrite-Output $x"), []);
    });

    for (const script of STEP_SCRIPTS) {
        it(`${script}.ps1 parses as shipped${UPLOADER_SCRIPTS.includes(script) ? " and minified (it travels inline)" : ""}`, () => {
            const source = stepScript(script);
            assert.deepEqual(syntaxErrors(parser, source), [], `${script}.ps1`);
            if (UPLOADER_SCRIPTS.includes(script)) {
                assert.deepEqual(syntaxErrors(parser, minify(source)), [], `${script}.ps1 minified`);
            }
            assert.match(source, /^\$ErrorActionPreference = 'Stop'$/m, "stops on the first error");
            // Windows PowerShell 5.1 reads scripts in the ANSI code page unless they carry a BOM: keep them ASCII.
            assert.match(source, /^[\x09\x0a\x0d\x20-\x7e]*$/, "ASCII only");
        });
    }

    it("drift.ps1, the read-back of iis.detectDrift, parses as shipped and minified (it travels inline), ASCII only", () => {
        const source = readScript("iis/drift.ps1");
        assert.deepEqual(syntaxErrors(parser, source), [], "drift.ps1");
        assert.deepEqual(syntaxErrors(parser, minify(source)), [], "drift.ps1 minified");
        assert.match(source, /^\$ErrorActionPreference = 'Stop'$/m, "stops on the first error");
        assert.match(source, /^[\x09\x0a\x0d\x20-\x7e]*$/, "ASCII only");
    });

    it("reports a failure as '<step>: <message>' on stderr and exits 1, in every step script", () => {
        for (const script of STEP_SCRIPTS.filter(s => s !== "readiness")) {
            const source = stepScript(script);
            assert.match(source, /^\$step = '[a-z-]+( \(delete\))?'$/m, `${script} names its step`);
            if (UPLOADER_SCRIPTS.includes(script)) {
                // The uploader travels alone: it writes its messages and reads its lines itself.
                assert.match(source, /\[Console\]::Error\.WriteLine\("\$\{step\}: /, `${script} writes "<step>: <message>"`);
                assert.match(source, /exit 1/, `${script} exits non-zero`);
                assert.match(source, /\[Console\]::OpenStandardInput\(\)/, `${script} reads its input from stdin`);
            } else {
                assert.match(source, /^\$in = Read-StepInput \$step$/m, `${script} reads its one JSON document with the step library`);
                assert.match(source, /^ *Stop-Step \$step /m, `${script} writes "<step>: <message>" and exits 1`);
            }
        }
        const library = readScript(`iis/${LIBRARY_FILE}`);
        assert.match(library, /\[Console\]::Error\.WriteLine\("\$\{step\}: \$message"\)\n {4}exit 1/, "Stop-Step writes the message and exits 1");
        assert.match(library, /\[Console\]::OpenStandardInput\(\)/);
    });

    it(`${LIBRARY_FILE} parses, is ASCII, and defines only functions and the marker's name`, () => {
        const source = readScript(`iis/${LIBRARY_FILE}`);
        assert.deepEqual(syntaxErrors(parser, source), []);
        assert.match(source, /^[\x09\x0a\x0d\x20-\x7e]*$/, "ASCII only");
        const statements = parser.parse(source).rootNode.children.flatMap(node => (node.type === "statement_list" ? node.children : [node]));
        for (const statement of statements.filter(node => node.type !== "comment")) {
            assert.match(statement.text, /^(function [A-Z][A-Za-z]+-[A-Z][A-Za-z]+\(|\$InstallMarker = '\.identity-service-archive'$)/, statement.text.slice(0, 60));
        }
    });

    it("checks on the server exactly the IIS API members the scripts access (IIS_API cannot go stale)", () => {
        const real = JSON.parse(fs.readFileSync(path.join(__dirname, "fixtures", "iis-server", "mwa-members.json"), "utf8"));
        const apiNames = new Set<string>();
        for (const type of Object.values(real.classes) as { properties?: string[]; methods?: string[] }[]) {
            for (const member of [...(type.properties ?? []), ...(type.methods ?? [])]) apiNames.add(member.toLowerCase());
        }
        for (const values of Object.values(real.enum_values) as Record<string, number>[]) {
            for (const value of Object.keys(values)) apiNames.add(value.toLowerCase());
        }
        // Every member name the uploaded scripts access (PowerShell matches member names without case).
        const accessed = new Set<string>();
        for (const source of [...STEP_SCRIPTS.map(script => stepScript(script)), readScript(`iis/${LIBRARY_FILE}`), readScript("iis/drift.ps1")]) {
            const visit = (node: SyntaxNode): void => {
                if (node.type === "member_name") accessed.add(node.text.toLowerCase());
                node.children.forEach(visit);
            };
            visit(parser.parse(source).rootNode);
        }
        const listed = new Set(Object.values(IIS_API).flatMap(members => [...(members.properties ?? []), ...(members.methods ?? []), ...(members.enumValues ?? [])].map(name => name.toLowerCase())));
        for (const name of listed) {
            assert.ok(accessed.has(name), `IIS_API lists ${name}, which no script accesses any more: remove it`);
        }
        // Names the scripts access only on other objects, which the IIS API happens to have too.
        const elsewhere: Record<string, string> = {
            apppoolname: "the step input's appPoolName",
            delete: "[IO.File]::Delete and [IO.Directory]::Delete",
            directory: "[IO.FileAttributes]::Directory",
            dispose: "the readiness check's HttpClient",
            endpoint: "the readiness check's record of what it saw",
            getattribute: "XmlElement.GetAttribute, reading the JSON reader's XML",
            host: "the readiness check's HttpWebRequest.Host and Uri.Host",
            path: "the step input's paths and SessionState.Path",
            tostring: ".NET's ToString",
            value: "a regular expression match's Value",
        };
        const unlisted = [...accessed].filter(name => apiNames.has(name) && !listed.has(name)).sort();
        assert.deepEqual(unlisted, Object.keys(elsewhere).sort(), "a member of the IIS API the scripts access is checked by the prerequisites step: add it to IIS_API");
    });

    it("quotes any text as one single-quoted literal that PowerShell reads back verbatim", () => {
        for (const value of Object.values(HOSTILE)) {
            const statement = `$value = ${quote(value)}`;
            assert.deepEqual(syntaxErrors(parser, statement), [], JSON.stringify(value));
            const tree = parser.parse(statement);
            const literals: SyntaxNode[] = [];
            const visit = (node: SyntaxNode): void => {
                if (node.type === "verbatim_string_characters") {
                    literals.push(node);
                }
                node.children.forEach(visit);
            };
            visit(tree.rootNode);
            assert.equal(literals.length, 1, `one string literal for ${JSON.stringify(value)}`);
            // Inside a verbatim string only doubled quotes are special.
            assert.equal(literals[0].text.slice(1, -1).replace(/(['\u2018\u2019\u201a\u201b])\1/g, "$1"), value);
        }
    });

    describe("properties over generated hostile values (fast-check)", () => {
        const RUNS = 300;
        /** Quotes (ASCII and typographic), $, backticks, %, ;, &, |, newlines, NUL, long and non-ASCII text. */
        const hostile = fc.oneof(
            fc.string({ unit: "binary", maxLength: 60 }),
            fc.string({ unit: fc.constantFrom(..."'\"\u2018\u2019\u201a\u201b\u201c\u201d$`%;&|\n\r\u0000{}()@#<>\\ ü名🙂"), maxLength: 40 }),
            fc.string({ unit: "grapheme", minLength: 300, maxLength: 600 }),
        );
        const literalsOf = (text: string): string[] => {
            const found: string[] = [];
            const visit = (node: SyntaxNode): void => {
                if (node.type === "verbatim_string_characters") {
                    found.push(node.text.slice(1, -1).replace(/(['\u2018\u2019\u201a\u201b])\1/g, "$1"));
                }
                node.children.forEach(visit);
            };
            visit(parser.parse(text).rootNode);
            return found;
        };

        it(`quote() always parses as exactly one literal holding the exact value, and refuses NUL (${RUNS} runs)`, () => {
            fc.assert(
                fc.property(hostile, value => {
                    if (value.includes("\u0000")) {
                        assert.throws(() => quote(value), /cannot hold a NUL/);
                        return;
                    }
                    const statement = `$value = ${quote(value)}`;
                    assert.deepEqual(syntaxErrors(parser, statement), []);
                    assert.deepEqual(literalsOf(statement), [value]);
                }),
                { numRuns: RUNS },
            );
        });

        it(`every step's command parses with any upload folder, which it carries only as one quoted literal (${RUNS} runs)`, () => {
            fc.assert(
                fc.property(hostile.filter(folder => !folder.includes("\u0000")), folder => {
                    const directory = `C:\\${folder}`;
                    for (const script of STEP_SCRIPTS) {
                        const text = commandScript(script, directory);
                        assert.deepEqual(syntaxErrors(parser, text), [], script);
                        if (!UPLOADER_SCRIPTS.includes(script)) {
                            // The runner holds the file's path once, first, as the same file Windows resolves (a folder given
                            // with trailing separators, such as "C:\\", is joined without them).
                            const name = scriptFile(script).name;
                            const file = windowsJoin(directory, name);
                            assert.ok(text.startsWith(`$file=${cmdSafeString(file)};`), script);
                            assert.equal(path.win32.normalize(file), path.win32.join(directory, name), script);
                            assert.equal(text.split(cmdSafeString(file)).length, 2, `${script}: the path appears once`);
                            assert.doesNotThrow(() => commandLine(text), script);
                        }
                    }
                }),
                // Folders ending in separators first: the join drops them (a failure seen once in CI, seed 1727444887).
                { numRuns: RUNS / 10, examples: [["\\"], ["/"], ["a\\\\"], ["a\\/"]] },
            );
        });

        it(`-EncodedCommand round-trips any text (${RUNS} runs)`, () => {
            fc.assert(
                fc.property(hostile, text => {
                    assert.equal(decodeCommand(encodeCommand(text)), text);
                }),
                { numRuns: RUNS },
            );
        });
    });

    it("encodes as UTF-16LE base64, as -EncodedCommand expects, and refuses to minify here-strings", () => {
        const text = "Write-Output '\u00fc\u540d \u2019'";
        assert.equal(decodeCommand(encodeCommand(text)), text);
        assert.equal(Buffer.from(encodeCommand("A"), "base64").toString("hex"), "4100");
        assert.throws(() => minify("$x = @'\nline\n'@"), /here-strings/);
        assert.throws(() => minify("<# help #>"), /block comments/);
        assert.equal(minify("  # comment\n\n    $a = 1\n\t$b = 2  \n"), "$a = 1\n$b = 2");
    });

    describe("generated commands of every variant, from hostile names, paths and passwords", () => {
        const versions = RELEASES.map(release => formatVersion(release.to[2] === ANY_PATCH ? [release.to[0], release.to[1], 1] : release.to));
        const seen = new Map<string, string>();
        beforeEach(resetMocks);

        for (const version of versions) {
            for (const https of [false, true]) {
                for (const identity of [false, true]) {
                    for (const ssh of [false, true]) {
                        const label = `${version} ${https ? "https" : "http"} ${identity ? "custom identity" : "pool identity"} ${ssh ? "ssh" : "local"}`;
                        it(label, async () => {
                            const recorder = new Recorder();
                            const name = `ps-${label.replace(/[^a-z0-9]+/gi, "-")}`;
                            const service = new IdentityService(name, variantArgs(version, https, identity, ssh), {
                                transformations: [recorder.transformation],
                            });
                            await valueOf(service.url);
                            // The IIS steps and the readiness check (client re-seeding and retirement are Node scripts).
                            const commands = recorder.constructed.filter(
                                r => r.type.startsWith("command:") && r.name !== `${name}-client-reseed` && r.name !== `${name}-client-retire`,
                            );
                            assert.equal(commands.length, 7);
                            for (const command of commands) {
                                for (const which of ["create", "update", "delete"] as const) {
                                    if (command.props[which] === undefined) {
                                        continue;
                                    }
                                    const text = await valueOf(command.props[which] as pulumi.Input<string>);
                                    const script = await scriptText(command.props, text);
                                    if (!seen.has(script)) {
                                        seen.set(script, `${command.name} ${which}`);
                                        assert.deepEqual(syntaxErrors(parser, script), [], `${command.name} ${which}`);
                                    }
                                    for (const secret of [HOSTILE.password, HOSTILE.connectionString]) {
                                        assert.ok(!script.includes(secret), `${command.name} ${which}: no secret in the script`);
                                    }
                                }
                                // The values arrive intact on stdin, whatever they hold (the uploader's is plain lines).
                                const text = await valueOf(command.props.stdin as pulumi.Input<string>);
                                if (command.name.endsWith("-iis-scripts")) {
                                    assert.ok(text.startsWith(`folder ${HOSTILE.creatioPath}\\IdentityService.deploy\n`));
                                    continue;
                                }
                                const stdin = JSON.parse(text);
                                const flat = JSON.stringify(stdin);
                                if (command.name.endsWith("-iis-site")) {
                                    assert.equal(stdin.siteName, HOSTILE.siteName);
                                    assert.equal(stdin.physicalPath, `${HOSTILE.creatioPath}\\IdentityService`);
                                }
                                if (command.name.endsWith("-iis-app-pool") && identity) {
                                    assert.deepEqual(stdin.identity, { username: HOSTILE.username, password: HOSTILE.password });
                                }
                                if (command.name.endsWith("-iis-install")) {
                                    assert.equal(stdin.archivePath, HOSTILE.archivePath);
                                }
                                assert.ok(flat.length > 2);
                            }
                        });
                    }
                }
            }
        }

        it("builds each step's script text from the package alone: hostile values change only the upload folder's expression", () => {
            const plain = "C:\\Creatio\\IdentityService.deploy";
            const hostile = `${HOSTILE.creatioPath}\\IdentityService.deploy`;
            for (const script of STEP_SCRIPTS) {
                const a = commandScript(script, plain);
                const b = commandScript(script, hostile);
                assert.deepEqual(syntaxErrors(parser, b), [], script);
                if (UPLOADER_SCRIPTS.includes(script)) {
                    assert.equal(b, a, `${script}: the same text whatever the values`);
                    assert.ok(encodedCommandLine(b).length < 8191, `${script} fits cmd.exe's line`);
                } else {
                    const file = scriptFile(script).name;
                    const library = libraryFile().name;
                    assert.equal(
                        b,
                        a.replace(cmdSafeString(`${plain}\\${file}`), cmdSafeString(`${hostile}\\${file}`)).replace(cmdSafeString(`${plain}\\${library}`), cmdSafeString(`${hostile}\\${library}`)),
                        script,
                    );
                    assert.ok(b.includes(cmdSafeString(`${hostile}\\${file}`)));
                    assert.ok(commandLine(b).length < 8191, `${script} fits cmd.exe's line`);
                }
            }
        });
    });

    it("ships the configuration patcher as C# 5 source next to the scripts", () => {
        const source = fs
            .readFileSync(path.join(__dirname, "..", "src", "scripts", "iis", "ConfigPatch.cs"), "utf8")
            .replace(/^\s*\/\/.*$/gm, "");
        assert.match(source, /namespace CreatioIdentityService/);
        assert.doesNotMatch(source, /\$"|\?\.|=>/, "no C# 6+ syntax (interpolation, ?. or =>): Add-Type in Windows PowerShell 5.1 compiles C# 5");
    });
});

describe("the server re-seed runner's PowerShell parses (tree-sitter-powershell)", () => {
    let parser: PowerShellParser;
    before(async () => {
        parser = await loadParser();
    });

    it("reseed-sqlclient.ps1 parses, stops on the first error and is ASCII; its starting line parses as the -Command text", () => {
        const source = readScript("iis/reseed-sqlclient.ps1");
        assert.deepEqual(syntaxErrors(parser, source), []);
        assert.match(source, /^\$ErrorActionPreference = 'Stop'$/m);
        assert.match(source, /^[\x09\x0a\x0d\x20-\x7e]*$/, "ASCII only: Windows PowerShell 5.1 reads it as text it was given, but keep it as the step scripts");
        // Windows PowerShell 5.1 has none of PowerShell 7's operators: ?? ?. && || and the ternary.
        assert.doesNotMatch(source.replace(/'[^'\n]*'/g, "''"), /\?\?|\?\.|&&|\|\||\s\?\s/, "no PowerShell 7 operators");
        assert.deepEqual(syntaxErrors(parser, EXECUTOR_BOOTSTRAP), []);
        assert.equal(/-Command "(.*)"$/.exec(executorCommandLine())![1], EXECUTOR_BOOTSTRAP);
    });
});
