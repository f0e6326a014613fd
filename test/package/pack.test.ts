import { strict as assert } from "assert";
import { execFileSync } from "child_process";
import * as path from "path";

const root = path.join(__dirname, "..", "..");

/** What `npm pack` would publish. */
function packedFiles(): string[] {
    const output = execFileSync("npm", ["pack", "--dry-run", "--json", "--ignore-scripts"], { cwd: root, encoding: "utf8" });
    return (JSON.parse(output)[0].files as Array<{ path: string }>).map(file => file.path).sort();
}

describe("npm package contents", () => {
    let files: string[];
    before(function () {
        this.timeout(60000);
        files = packedFiles();
    });

    it("publishes only built code, sources, scripts, schema, docs, README, CHANGELOG and LICENSE", () => {
        const allowed = [/^bin\/.+\.(js|d\.ts|js\.map)$/, /^src\/.+\.ts$/, /^src\/scripts\/.+\.(js|ps1|cs)$/, /^docs\/.+\.md$/];
        const exact = ["package.json", "README.md", "CHANGELOG.md", "LICENSE", "schema.json", "PulumiPlugin.yaml"];
        const unexpected = files.filter(file => !exact.includes(file) && !allowed.some(pattern => pattern.test(file)));
        assert.deepEqual(unexpected, []);
    });

    it("includes the entry point, its types, the plugin file and every packaged script", () => {
        for (const required of ["bin/index.js", "bin/index.d.ts", "PulumiPlugin.yaml", "schema.json", "src/scripts/readiness.js", "src/scripts/reseed.js", "src/scripts/iis/readiness.ps1", "src/scripts/iis/ConfigPatch.cs", "LICENSE"]) {
            assert.ok(files.includes(required), `${required} is published`);
        }
    });

    it("leaves out tests, fixtures, examples and development configuration", () => {
        assert.deepEqual(files.filter(file => /^(test|examples|bench|quickstart|\.ci)\//.test(file) || file.startsWith("tsconfig")), []);
    });
});
