// The generated signing PFX, loaded by .NET as the Identity Service loads its signing certificate. Needs the .NET
// SDK (`dotnet fsi`): run with `npm run test:dotnet` (tools/test-all.sh runs it).
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { encodePkcs12 } from "../src/certificates";

const certificates = path.join(__dirname, "fixtures", "certificates");
const LOADER = path.join(__dirname, "support", "LoadPfx.fsx");

describe("generated signing PFX under .NET", function () {
    this.timeout(180_000);
    let folder: string;

    before(function () {
        if (spawnSync("dotnet", ["--version"]).status !== 0) {
            throw new Error("the .NET SDK (dotnet) is needed for this suite: install it, or run npm test for the Node-only tests");
        }
        folder = fs.mkdtempSync(path.join(os.tmpdir(), "signing-pfx-"));
    });
    after(() => folder && fs.rmSync(folder, { recursive: true, force: true }));

    it("opens without a password (and with an empty one), with its private key, and signs RS256", async () => {
        const keyPem = fs.readFileSync(path.join(certificates, "generated-key.pem"), "utf8");
        const certificatePem = fs.readFileSync(path.join(certificates, "generated-certificate.pem"), "utf8");
        const file = path.join(folder, "signing-certificate.pfx");
        fs.writeFileSync(file, await encodePkcs12(keyPem, certificatePem));

        const run = spawnSync("dotnet", ["fsi", "--nologo", LOADER, file], { encoding: "utf8" });
        assert.equal(run.status, 0, run.stderr);
        const results = run.stdout.split("\n").filter(line => line.startsWith("{")).map(line => JSON.parse(line));
        const thumbprint = new crypto.X509Certificate(certificatePem).fingerprint.replace(/:/g, "");
        assert.deepEqual(results, [
            { password: null, thumbprint, hasPrivateKey: true, keySize: 2048, rs256: true },
            { password: "", thumbprint, hasPrivateKey: true, keySize: 2048, rs256: true },
        ]);
    });
});
