import "./support/mocks";
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { encodePkcs12, looksLikePfx, pfxFile, readPfxBase64 } from "../src/certificates";
import { valueOf } from "./support/mocks";

const certificates = path.join(__dirname, "fixtures", "certificates");

describe("PFX certificates", () => {
    it("recognises real PKCS#12 files with and without a password", () => {
        assert.equal(looksLikePfx(fs.readFileSync(path.join(certificates, "signing.pfx"))), true);
        assert.equal(looksLikePfx(fs.readFileSync(path.join(certificates, "tls.pfx"))), true);
    });

    it("recognises short-form and BER indefinite lengths, and rejects other DER and text", () => {
        assert.equal(looksLikePfx(Uint8Array.from([0x30, 0x10, 0x02, 0x01, 0x03, 0, 0, 0])), true);
        assert.equal(looksLikePfx(Uint8Array.from([0x30, 0x80, 0x02, 0x01, 0x03, 0, 0, 0])), true);
        assert.equal(looksLikePfx(Uint8Array.from([0x30, 0x82, 0x01, 0x00, 0x02, 0x01, 0x01, 0])), false, "an X.509 certificate's version is not 3 here");
        assert.equal(looksLikePfx(Buffer.from("-----BEGIN CERTIFICATE-----")), false);
        assert.equal(looksLikePfx(Uint8Array.from([0x30])), false);
    });

    it("explains what is wrong with a path", () => {
        assert.equal(pfxFile(path.join(certificates, "signing.pfx")), undefined);
        assert.match(pfxFile(path.join(certificates, "missing.pfx"))!, /does not exist or cannot be read/);
        assert.match(pfxFile(certificates)!, /is not a file/);
        assert.match(pfxFile(path.join(certificates, "not-a-pfx.pfx"))!, /is not a PFX \(PKCS#12\) file/);
    });

    it("reads the bytes as a secret base64 string", async () => {
        const file = path.join(certificates, "signing.pfx");
        const output = readPfxBase64(file);
        assert.equal(await pulumi.isSecret(output), true);
        assert.equal(await valueOf(output), fs.readFileSync(file).toString("base64"));
    });
});

const OPENSSL_AVAILABLE = spawnSync("openssl", ["version"]).status === 0;

/** Runs `openssl pkcs12` on a PFX given on stdin. */
function pkcs12(args: string[], pfx: Buffer) {
    const result = spawnSync("openssl", ["pkcs12", ...args], { input: pfx });
    return { status: result.status, stdout: result.stdout.toString(), stderr: result.stderr.toString() };
}

function pemBlock(text: string, label: string): string {
    const begin = text.indexOf(`-----BEGIN ${label}-----`);
    const endMarker = `-----END ${label}-----`;
    assert.ok(begin >= 0, `openssl printed a ${label}`);
    return text.slice(begin, text.indexOf(endMarker) + endMarker.length);
}

describe("generated signing certificate encoding (PKCS#12)", function () {
    const keyPem = fs.readFileSync(path.join(certificates, "generated-key.pem"), "utf8");
    const certificatePem = fs.readFileSync(path.join(certificates, "generated-certificate.pem"), "utf8");

    it("is byte-identical for the same key and certificate (salts and IVs are derived, not random)", async () => {
        const first = await encodePkcs12(keyPem, certificatePem);
        const second = await encodePkcs12(keyPem, certificatePem);
        assert.ok(first.equals(second));
        assert.equal(looksLikePfx(first), true);
    });

    it("differs for another key, and holds the private key only encrypted", async () => {
        const other = crypto.generateKeyPairSync("rsa", { modulusLength: 1024 });
        const otherPem = other.privateKey.export({ type: "pkcs1", format: "pem" }).toString();
        const first = await encodePkcs12(keyPem, certificatePem);
        const second = await encodePkcs12(otherPem, certificatePem);
        assert.ok(!first.equals(second));
        const keyDer = crypto.createPrivateKey(keyPem).export({ type: "pkcs8", format: "der" });
        assert.equal(first.includes(keyDer.subarray(64, 96)), false, "no run of the key's bytes appears in the file");
    });

    describe("read back with the openssl CLI", () => {
        before(function () {
            if (!OPENSSL_AVAILABLE) {
                console.log("      openssl CLI not found: skipping (Debian: apt-get install openssl; CI installs it)");
                this.skip();
            }
        });

        it("opens with an empty password and holds the same key and certificate", async () => {
            const result = pkcs12(["-nodes", "-passin", "pass:"], await encodePkcs12(keyPem, certificatePem));
            assert.equal(result.status, 0, result.stderr);
            const key = crypto.createPrivateKey(pemBlock(result.stdout, "PRIVATE KEY"));
            const certificate = new crypto.X509Certificate(pemBlock(result.stdout, "CERTIFICATE"));
            assert.ok(key.equals(crypto.createPrivateKey(keyPem)), "the same private key");
            assert.equal(certificate.fingerprint256, new crypto.X509Certificate(certificatePem).fingerprint256);
            assert.equal(certificate.checkPrivateKey(key), true);
        });

        it("uses OpenSSL 3's default algorithms and pairs key and certificate by localKeyID", async () => {
            const result = pkcs12(["-info", "-nodes", "-passin", "pass:"], await encodePkcs12(keyPem, certificatePem));
            assert.equal(result.status, 0, result.stderr);
            const report = result.stdout + result.stderr;
            assert.match(report, /MAC: sha256, Iteration 2048/);
            assert.match(report, /Shrouded Keybag: PBES2, PBKDF2, AES-256-CBC, Iteration 2048, PRF hmacWithSHA256/);
            const ids = report.match(/localKeyID: ([0-9A-F ]+)/g) ?? [];
            assert.equal(ids.length, 2);
            assert.equal(ids[0], ids[1]);
        });

        it("the README's commands for your own certificate make a PFX the package accepts", () => {
            const readme = fs.readFileSync(path.join(__dirname, "..", "README.md"), "utf8");
            const block = [...readme.matchAll(/```sh\n([\s\S]*?)```/g)].map(m => m[1]).find(text => text.includes("openssl pkcs12 -export"));
            assert.ok(block, "README.md shows the openssl commands");
            const folder = fs.mkdtempSync(path.join(os.tmpdir(), "readme-pfx-"));
            try {
                const run = spawnSync("bash", ["-euo", "pipefail", "-c", block!], { cwd: folder, encoding: "utf8" });
                assert.equal(run.status, 0, run.stderr);
                const pfx = path.join(folder, "signing.pfx");
                assert.equal(pfxFile(pfx), undefined);
                assert.equal(pkcs12(["-noout", "-passin", "pass:"], fs.readFileSync(pfx)).status, 0, "no password");
                assert.equal(fs.existsSync(path.join(folder, "signing.key")), false, "the loose private key is removed");
            } finally {
                fs.rmSync(folder, { recursive: true, force: true });
            }
        });

        it("refuses a wrong password: the MAC is real", async () => {
            const result = pkcs12(["-noout", "-passin", "pass:wrong"], await encodePkcs12(keyPem, certificatePem));
            assert.notEqual(result.status, 0);
            assert.match(result.stderr, /mac verify/i);
        });
    });
});
