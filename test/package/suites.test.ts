// The test suites: `npm test` needs only Node and npm, every other suite is listed in tools/test-all.sh with an npm
// script of its own, and `npx mocha <file>` runs that file alone.
import { strict as assert } from "assert";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";

const root = path.join(__dirname, "..", "..");
const packageJson = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8"));

/** Every test file, relative to the root. */
function testFiles(dir = "test"): string[] {
    return fs.readdirSync(path.join(root, dir), { withFileTypes: true }).flatMap(entry => {
        const relative = `${dir}/${entry.name}`;
        return entry.isDirectory() ? testFiles(relative) : entry.name.endsWith(".test.ts") ? [relative] : [];
    });
}

/** The suites tools/test-all.sh runs, as it lists them. */
function suites(): Array<{ name: string; script: string; needs: string }> {
    const listed = execFileSync(path.join(root, "tools", "test-all.sh"), ["--list"], { encoding: "utf8" });
    return listed
        .trim()
        .split("\n")
        .map(line => {
            const match = /^(\S+)\s+npm run (\S+)\s+needs: (.*)$/.exec(line);
            assert.ok(match, line);
            return { name: match[1], script: match[2], needs: match[3] };
        });
}

describe("test suites", () => {
    it("tools/test-all.sh runs npm test and a suite for every tagged test file, each through its own npm script", () => {
        const listed = suites();
        // npm test needs only Node; what test-all.sh adds for it (openssl) only lets tests run that skip without it.
        assert.deepEqual(listed[0], { name: "unit", script: "test", needs: "openssl" });
        for (const { script } of listed) {
            assert.ok(packageJson.scripts[script], `package.json has the script ${script}`);
        }
        // A file named <name>.<suite>.test.ts belongs to that suite; npm test leaves it out.
        const tags = new Set(testFiles().map(file => /\.([\w-]+)\.test\.ts$/.exec(file)?.[1]).filter(Boolean));
        for (const tag of tags) {
            const suite = listed.find(s => s.name === tag);
            assert.ok(suite, `tools/test-all.sh lists a suite for *.${tag}.test.ts`);
            assert.match(packageJson.scripts[suite.script], new RegExp(`\\*\\.${tag}\\.test\\.ts`), `npm run ${suite.script} runs *.${tag}.test.ts`);
        }
        assert.match(packageJson.scripts["test:unit"], /--ignore 'test\/\*\*\/\*\.\*\.test\.ts'/);
        assert.match(packageJson.scripts.test, /npm run test:unit$/);
    });

    it("the README's table of suites lists every suite with its command", () => {
        const readme = fs.readFileSync(path.join(root, "README.md"), "utf8");
        const rows = [...readme.matchAll(/^\| (\w[\w-]*) \| `(npm test|npm run [\w:-]+)` \|/gm)].map(([, name, command]) => `${name} ${command}`);
        assert.deepEqual(rows, suites().map(({ name, script }) => `${name} ${script === "test" ? "npm test" : `npm run ${script}`}`));
    });

    it("npm test runs no test that needs Mono, a native build, Docker or PostgreSQL", () => {
        const unit = testFiles().filter(file => !/\.[\w-]+\.test\.ts$/.test(file) && file !== "test/package/suites.test.ts");
        assert.ok(unit.length > 10, unit.join(", "));
        const needsMore = /from "tree-sitter|import\("tree-sitter|"mcs"|"mono"|\bdocker (run|build)\b|execFileSync\("docker"|pg_ctlcluster/;
        assert.deepEqual(unit.filter(file => needsMore.test(fs.readFileSync(path.join(root, file), "utf8"))), []);
    });

    it("npx mocha <file> runs that file alone (the mocha configuration names no spec of its own)", function () {
        this.timeout(60000);
        for (const config of [".mocharc.json", ".mocharc.e2e.json"]) {
            assert.equal(JSON.parse(fs.readFileSync(path.join(root, config), "utf8")).spec, undefined, config);
        }
        const output = execFileSync("npx", ["mocha", "--dry-run", "--reporter", "json", "test/versions.test.ts"], { cwd: root, encoding: "utf8" });
        const report = JSON.parse(output.slice(output.indexOf("{")));
        assert.ok(report.tests.length > 0);
        assert.deepEqual([...new Set(report.tests.map((test: { file: string }) => path.relative(root, test.file)))], ["test/versions.test.ts"]);
    });
});
