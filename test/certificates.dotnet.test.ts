// The signing PFX (generated, or supplied and encoded again), loaded by .NET as the Identity Service loads its signing
// certificate. Needs the .NET SDK (`dotnet fsi`): run with `npm run test:dotnet` (tools/test-all.sh runs it).
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { encodePkcs12, openPfx, reencodedPfxBase64 } from "../src/certificates";
import { valueOf } from "./support/mocks";

const certificates = path.join(__dirname, "fixtures", "certificates");
const LOADER = path.join(__dirname, "support", "LoadPfx.fsx");

/** Loads a PFX with LoadPfx.fsx: one result per password (none, empty). */
function load(file: string): unknown[] {
    const run = spawnSync("dotnet", ["fsi", "--nologo", LOADER, file], { encoding: "utf8" });
    assert.equal(run.status, 0, run.stderr);
    return run.stdout.split("\n").filter(line => line.startsWith("{")).map(line => JSON.parse(line));
}

describe("signing PFX under .NET", function () {
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

        const results = load(file);
        const thumbprint = new crypto.X509Certificate(certificatePem).fingerprint.replace(/:/g, "");
        assert.deepEqual(results, [
            { password: null, thumbprint, hasPrivateKey: true, keySize: 2048, rs256: true },
            { password: "", thumbprint, hasPrivateKey: true, keySize: 2048, rs256: true },
        ]);
    });

    it("a supplied AES-256 PFX with a password, encoded again, opens the same way without one", async () => {
        const supplied = path.join(certificates, "tls.pfx");
        const file = path.join(folder, "supplied-signing-certificate.pfx");
        fs.writeFileSync(file, Buffer.from(await valueOf(reencodedPfxBase64(supplied, "tls-test-password")), "base64"));
        const original = openPfx(fs.readFileSync(supplied), "tls-test-password");
        assert.ok(original.ok);
        const thumbprint = new crypto.X509Certificate(original.certificatePem).fingerprint.replace(/:/g, "");
        assert.deepEqual(load(file), [
            { password: null, thumbprint, hasPrivateKey: true, keySize: 2048, rs256: true },
            { password: "", thumbprint, hasPrivateKey: true, keySize: 2048, rs256: true },
        ]);
    });

    it("a TLS certificate from PEM with its chain becomes a PFX .NET opens without a password, the key's certificate first", async () => {
        const read = (name: string) => fs.readFileSync(path.join(certificates, name), "utf8");
        const file = path.join(folder, "tls-certificate.pfx");
        fs.writeFileSync(file, encodePkcs12(read("tls-leaf-key.pem"), read("tls-leaf.pem"), [read("tls-ca.pem")]));
        const thumbprint = new crypto.X509Certificate(read("tls-leaf.pem")).fingerprint.replace(/:/g, "");
        assert.deepEqual(load(file), [
            { password: null, thumbprint, hasPrivateKey: true, keySize: 2048, rs256: true },
            { password: "", thumbprint, hasPrivateKey: true, keySize: 2048, rs256: true },
        ]);
    });
});
