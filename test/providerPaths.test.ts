import { strict as assert } from "assert";
import * as path from "path";
import { pathForProviders, providerWorkingDirectory } from "../src/providerPaths";

describe("paths for providers", () => {
    it("knows the providers' directory only when the CLI passed the project root", () => {
        assert.equal(providerWorkingDirectory(path.resolve("/srv/stack"), "/srv/stack/infra"), "/srv/stack/infra");
        // What the SDK reports when no root was passed (an Automation API inline program).
        assert.equal(providerWorkingDirectory("rootDirectory", "/srv/host"), undefined);
        assert.equal(providerWorkingDirectory("", "/srv/host"), undefined);
    });

    it("gives the same relative path for the same checkout in two folders", () => {
        const inA = pathForProviders("/home/ann/work/infra/IdentityService", "/home/ann/work/infra");
        const inB = pathForProviders("/builds/7/infra/IdentityService", "/builds/7/infra");
        assert.equal(inA, "IdentityService");
        assert.equal(inB, inA);
        assert.equal(pathForProviders("/repo/node_modules/pkg/src/scripts/x.js", "/repo/examples/docker"), "../../node_modules/pkg/src/scripts/x.js");
        assert.equal(pathForProviders("/repo/infra", "/repo/infra"), ".");
    });

    it("gives an absolute path when the providers' directory is unknown", () => {
        assert.equal(pathForProviders("/opt/IdentityService", undefined), path.resolve("/opt/IdentityService"));
        assert.equal(pathForProviders("IdentityService", undefined), path.resolve(process.cwd(), "IdentityService"));
    });
});
