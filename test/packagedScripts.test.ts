import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { nodeScriptCommand, scriptPath } from "../src/packagedScripts";

describe("packaged scripts", () => {
    it("finds the scripts that ship with the package", () => {
        for (const file of ["readiness.js", "reseed.js"]) {
            assert.ok(fs.existsSync(scriptPath(file)), file);
        }
    });

    it("runs them by a path relative to the program's directory, with forward slashes", () => {
        const programDir = path.join(path.dirname(scriptPath("readiness.js")), "..", "..", "examples", "docker-postgres");
        assert.equal(nodeScriptCommand("readiness.js", programDir), 'node "../../src/scripts/readiness.js"');
        const command = nodeScriptCommand("reseed.js");
        assert.match(command, /^node "[^"]*src\/scripts\/reseed\.js"$/);
        assert.ok(!path.isAbsolute(command.slice(6, -1)), "no machine-specific absolute path");
    });
});
