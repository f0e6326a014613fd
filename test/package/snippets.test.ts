// Every TypeScript snippet of the documentation compiles as it is written: each ```ts block of README.md, docs/ and
// the examples' READMEs is type-checked as a program file of its own, importing the package by its name.
import { strict as assert } from "assert";
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import ts from "typescript";
import { pfxFile } from "../../src/certificates";
import { CLIENT_ID_LENGTH, CLIENT_SECRET_LENGTH } from "../../src/credentials";

const root = path.join(__dirname, "..", "..");

interface Snippet {
    /** Where it is written, as `file:line`. */
    readonly where: string;
    readonly text: string;
}

/** The documentation files: README.md, docs/*.md and examples/<name>/README.md. */
function documents(): string[] {
    const docs = fs.readdirSync(path.join(root, "docs")).filter(file => file.endsWith(".md")).map(file => `docs/${file}`);
    const examples = fs
        .readdirSync(path.join(root, "examples"))
        .map(example => `examples/${example}/README.md`)
        .filter(file => fs.existsSync(path.join(root, file)));
    return ["README.md", ...docs, ...examples];
}

/** The ```ts / ```typescript blocks of a Markdown file. */
export function snippetsOf(file: string, markdown: string): Snippet[] {
    const snippets: Snippet[] = [];
    const fence = /^```(ts|typescript)\s*$([\s\S]*?)^```\s*$/gm;
    for (let match = fence.exec(markdown); match; match = fence.exec(markdown)) {
        const line = markdown.slice(0, match.index).split("\n").length;
        snippets.push({ where: `${file}:${line}`, text: match[2].replace(/^\n/, "") });
    }
    return snippets;
}

/** Type errors of the snippets, each compiled as its own module beside the package (as a consumer's program). */
function typeErrors(snippets: readonly Snippet[]): string[] {
    const folder = path.join(root, "snippets.virtual");
    const files = new Map(snippets.map((snippet, index) => [path.join(folder, `snippet${index}.ts`), snippet]));
    const options: ts.CompilerOptions = {
        strict: true,
        noEmit: true,
        target: ts.ScriptTarget.ES2022,
        lib: ["lib.es2022.d.ts"], // as the package itself compiles (tsconfig.json): its sources are checked too
        module: ts.ModuleKind.CommonJS,
        moduleResolution: ts.ModuleResolutionKind.Node10,
        esModuleInterop: true,
        skipLibCheck: true,
        types: ["node"],
        baseUrl: root,
        paths: { "creatio-identity-service": ["src/index.ts"] },
    };
    const host = ts.createCompilerHost(options);
    const { fileExists, readFile, getSourceFile } = host;
    host.fileExists = name => files.has(name) || fileExists(name);
    host.readFile = name => files.get(name)?.text ?? readFile(name);
    host.getSourceFile = (name, language, ...rest) =>
        files.has(name) ? ts.createSourceFile(name, files.get(name)!.text, language) : getSourceFile(name, language, ...rest);
    const program = ts.createProgram([...files.keys()], options, host);
    return ts.getPreEmitDiagnostics(program).map(diagnostic => {
        const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, "\n");
        const snippet = diagnostic.file && files.get(diagnostic.file.fileName);
        if (!snippet || diagnostic.start === undefined) {
            return `${diagnostic.file?.fileName ?? "(program)"}: ${message}`;
        }
        const { line, character } = diagnostic.file!.getLineAndCharacterOfPosition(diagnostic.start);
        return `${snippet.where} (snippet line ${line + 1}:${character + 1}): ${message}`;
    });
}

describe("documentation snippets", () => {
    const snippets = documents().flatMap(file => snippetsOf(file, fs.readFileSync(path.join(root, file), "utf8")));
    // One compilation for all: the documentation's snippets and one that must fail, so the check is not vacuous.
    const broken: Snippet = { where: "broken.md:1", text: 'import { IdentityService } from "creatio-identity-service";\nexport const x = config.get("a");\n' };
    let errors: string[];
    before(function () {
        this.timeout(180000);
        errors = typeErrors([...snippets, broken]);
    });

    it("README.md and docs/iis.md hold TypeScript programs (the extraction finds them)", () => {
        assert.ok(snippets.some(snippet => snippet.where.startsWith("README.md:")), snippets.map(s => s.where).join(", "));
        assert.ok(snippets.some(snippet => snippet.where.startsWith("docs/iis.md:")), snippets.map(s => s.where).join(", "));
    });

    it("every TypeScript snippet type-checks as a program of its own, importing creatio-identity-service", () => {
        assert.deepEqual(errors.filter(error => !error.startsWith(broken.where)), []);
    });

    it("the type check catches an undeclared name, so it is not vacuous", () => {
        assert.deepEqual(errors.filter(error => error.startsWith(broken.where)), ["broken.md:1 (snippet line 2:18): Cannot find name 'config'."]);
    });

    it("a snippet that gives a relative path says what it is relative to", () => {
        const relativePath = /\b(path|context):\s*"(?![A-Za-z]:|\/|\\\\)[^"]+"/;
        for (const snippet of snippets.filter(s => relativePath.test(s.text))) {
            assert.match(snippet.text, /relative to the program's working directory/, snippet.where);
        }
    });
});

describe("documented commands and facts", () => {
    it("the README tells generated credential lengths (exact) from the minimum of supplied ones (at least)", () => {
        const readme = fs.readFileSync(path.join(root, "README.md"), "utf8");
        const credentials = /^- \*\*Credentials\*\*:[\s\S]*?(?=^- \*\*)/m.exec(readme)?.[0].replace(/\s+/g, " ");
        assert.ok(credentials, "README.md has the Credentials point");
        assert.ok(credentials.includes(`a client id of ${CLIENT_ID_LENGTH} and a secret of ${CLIENT_SECRET_LENGTH} letters and digits, generated`), credentials);
        assert.ok(credentials.includes(`an id of at least ${CLIENT_ID_LENGTH} characters and a secret of at least ${CLIENT_SECRET_LENGTH}`), credentials);
        assert.doesNotMatch(readme, /exactly 16/);
    });

    it("the README's openssl command makes a PFX without a password that the package accepts as a signing certificate", function () {
        if (spawnSync("sh", ["-c", "command -v openssl"]).status !== 0) {
            this.skip(); // OpenSSL is not installed here; tools/test-all.sh machines have it
        }
        this.timeout(60000);
        const readme = fs.readFileSync(path.join(root, "README.md"), "utf8");
        const section = readme.slice(readme.indexOf("### Signing certificate"));
        const command = /```sh\n([\s\S]*?openssl pkcs12 -export[\s\S]*?)```/.exec(section)?.[1];
        assert.ok(command, "README.md's Signing certificate section has the openssl command");
        const folder = fs.mkdtempSync(path.join(os.tmpdir(), "signing-certificate-"));
        try {
            execFileSync("sh", ["-c", command], { cwd: folder, stdio: "pipe" });
            const pfx = path.join(folder, /-out (\S+\.pfx)/.exec(command)![1]);
            assert.equal(pfxFile(pfx), undefined);
            const info = execFileSync("openssl", ["pkcs12", "-in", pfx, "-passin", "pass:", "-nodes"], { encoding: "utf8", stdio: "pipe" });
            assert.match(info, /BEGIN PRIVATE KEY/);
            assert.match(info, /BEGIN CERTIFICATE/);
            assert.deepEqual(fs.readdirSync(folder).filter(file => file.endsWith(".key")), [], "the private key file is removed");
        } finally {
            fs.rmSync(folder, { recursive: true, force: true });
        }
    });
});
