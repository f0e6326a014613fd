import { strict as assert } from "assert";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

const root = path.join(__dirname, "..", "..");

/**
 * A fresh checkout: the files git tracks (and new ones it does not ignore), so no `bin/`, with this checkout's
 * node_modules linked in, as after `npm ci` (whose own `prepare` is what would build `bin/` there).
 */
function freshCheckout(): string {
    const folder = fs.mkdtempSync(path.join(os.tmpdir(), "fresh-checkout-"));
    const files = execFileSync("git", ["ls-files", "--cached", "--others", "--exclude-standard", "-z"], { cwd: root, encoding: "utf8" })
        .split("\0")
        .filter(file => file && fs.existsSync(path.join(root, file)));
    for (const file of files) {
        fs.mkdirSync(path.dirname(path.join(folder, file)), { recursive: true });
        fs.copyFileSync(path.join(root, file), path.join(folder, file));
    }
    fs.symlinkSync(path.join(root, "node_modules"), path.join(folder, "node_modules"), "dir");
    return folder;
}

/** What `npm pack` publishes from a fresh checkout, lifecycle scripts included (`prepare` builds `bin/`). */
function packedFiles(folder: string): string[] {
    assert.ok(!fs.existsSync(path.join(folder, "bin")), "a fresh checkout has no bin/");
    const output = execFileSync("npm", ["pack", "--dry-run", "--json"], { cwd: folder, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
    return (JSON.parse(output.slice(output.indexOf("["))) as Array<{ files: Array<{ path: string }> }>)[0].files.map(file => file.path).sort();
}

describe("npm package contents", () => {
    let files: string[];
    let checkout: string;
    before(function () {
        this.timeout(180000);
        checkout = freshCheckout();
        files = packedFiles(checkout);
    });
    after(() => fs.rmSync(checkout, { recursive: true, force: true }));

    it("builds bin/ from a fresh checkout through the prepare script, which git and tarball installs run too", () => {
        const packageJson = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8"));
        assert.equal(packageJson.scripts.prepare, "npm run build");
        assert.equal(packageJson.main, "bin/index.js");
        assert.equal(packageJson.types, "bin/index.d.ts");
        for (const built of ["bin/index.js", "bin/index.d.ts", "bin/component.js", "bin/args.d.ts"]) {
            assert.ok(files.includes(built), `${built} is packed`);
        }
    });

    it("publishes only built code, sources, scripts, schema, docs, README, CHANGELOG and LICENSE", () => {
        const allowed = [/^bin\/.+\.(js|d\.ts|js\.map)$/, /^src\/.+\.ts$/, /^src\/scripts\/.+\.(js|ps1|cs)$/, /^docs\/.+\.md$/];
        const exact = ["package.json", "README.md", "CHANGELOG.md", "LICENSE", "schema.json", "PulumiPlugin.yaml"];
        const unexpected = files.filter(file => !exact.includes(file) && !allowed.some(pattern => pattern.test(file)));
        assert.deepEqual(unexpected, []);
    });

    it("includes the entry point, its types, the plugin file and every packaged script", () => {
        for (const required of ["bin/index.js", "bin/index.d.ts", "PulumiPlugin.yaml", "schema.json", "src/scripts/readiness.js", "src/scripts/reseed.js", "src/scripts/reseed-container.js", "bin/scripts/reseed.bundle.js", "src/scripts/iis/readiness.ps1", "src/scripts/iis/ConfigPatch.cs", "LICENSE"]) {
            assert.ok(files.includes(required), `${required} is published`);
        }
    });

    it("leaves out tests, fixtures, examples and development configuration", () => {
        assert.deepEqual(files.filter(file => /^(test|examples|bench|quickstart|\.ci)\//.test(file) || file.startsWith("tsconfig")), []);
    });
});
