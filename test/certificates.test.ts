import "./support/mocks";
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { checkCertificate, encodePkcs12, looksLikePfx, openPfx, pfxFile, readPfxBase64, reencodedPfxBase64 } from "../src/certificates";
import { ArgumentCheck } from "../src/validation";
import { DatabaseProvider, DeploymentTarget, IdentityService, IdentityServiceArgs } from "../src";
import { registered, resetMocks, settle, valueOf } from "./support/mocks";

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

/** A `before` hook: the tests that read a PFX back with the openssl CLI skip, with a note, where it is missing. */
function skipWithoutOpenssl(this: Mocha.Context): void {
    if (!OPENSSL_AVAILABLE) {
        console.log("      openssl CLI not found: skipping (Debian: apt-get install openssl; CI installs it)");
        this.skip();
    }
}

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
        before(skipWithoutOpenssl);

        it("opens with an empty password and holds the same key and certificate", async () => {
            const result = pkcs12(["-nodes", "-passin", "pass:"], await encodePkcs12(keyPem, certificatePem));
            assert.equal(result.status, 0, result.stderr);
            const key = crypto.createPrivateKey(pemBlock(result.stdout, "PRIVATE KEY"));
            const certificate = new crypto.X509Certificate(pemBlock(result.stdout, "CERTIFICATE"));
            assert.ok(key.equals(crypto.createPrivateKey(keyPem)), "the same private key");
            assert.equal(certificate.fingerprint256, new crypto.X509Certificate(certificatePem).fingerprint256);
            assert.equal(certificate.checkPrivateKey(key), true);
        });

        it("encrypts key and certificate with PBE-SHA1-3DES and uses a SHA-1 MAC (what Windows Server 2016 imports), pairing them by localKeyID", async () => {
            const result = pkcs12(["-info", "-nodes", "-passin", "pass:"], await encodePkcs12(keyPem, certificatePem));
            assert.equal(result.status, 0, result.stderr);
            const report = result.stdout + result.stderr;
            assert.match(report, /^MAC: sha1, Iteration 2048$/m);
            assert.match(report, /^PKCS7 Encrypted data: pbeWithSHA1And3-KeyTripleDES-CBC, Iteration 2048\nCertificate bag$/m);
            assert.match(report, /^Shrouded Keybag: pbeWithSHA1And3-KeyTripleDES-CBC, Iteration 2048$/m);
            assert.doesNotMatch(report, /AES|PBES2|RC2/, "no cipher Server 2016 cannot import, none OpenSSL 3 needs its legacy provider for");
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

describe("a supplied signing PFX, opened with its password and encoded again", () => {
    const fixture = (name: string) => fs.readFileSync(path.join(certificates, name));
    const TLS_PASSWORD = "tls-test-password";
    const LEGACY_PASSWORD = "legacy-test-password";

    function opened(name: string, password: string | undefined): { privateKeyPem: string; certificatePem: string } {
        const result = openPfx(fixture(name), password);
        assert.ok(result.ok, `${name} opens: ${result.ok ? "" : result.message}`);
        return result;
    }

    it("opens an AES-256 PFX with its password, a PFX without one, and a legacy RC2/3DES one with a chain, keeping the key's own certificate", () => {
        for (const [name, password] of [["tls.pfx", TLS_PASSWORD], ["signing.pfx", undefined], ["signing.pfx", ""], ["signing-legacy-chain.pfx", LEGACY_PASSWORD]] as const) {
            const { privateKeyPem, certificatePem } = opened(name, password);
            const certificate = new crypto.X509Certificate(certificatePem);
            assert.equal(certificate.checkPrivateKey(crypto.createPrivateKey(privateKeyPem)), true, `${name}: the certificate of its key`);
        }
        // The legacy file holds its issuing CA first: the certificate kept is the one the key belongs to.
        assert.match(new crypto.X509Certificate(opened("signing-legacy-chain.pfx", LEGACY_PASSWORD).certificatePem).subject, /CN=Test token signing \(chain\)/);
    });

    it("refuses, saying what to do: a wrong, missing or needless password, no key, a key that is not RSA, not a PFX", () => {
        const cases: [string, string | undefined, "password" | "content", RegExp][] = [
            ["tls.pfx", "wrong-password", "password", /^does not open the PFX at signingCertificate\.path \(its integrity check fails with this password\); give the password the file was exported with$/],
            ["tls.pfx", undefined, "password", /^is missing: the PFX at signingCertificate\.path is protected by a password; give it, or export the certificate without one$/],
            ["signing.pfx", "Sign-Pw-Secret-55", "password", /^is set, but the PFX at signingCertificate\.path has no password; remove signingCertificate\.password$/],
            ["certificate-only.pfx", undefined, "content", /^holds no private key; export the certificate with its private key/],
            ["signing-ec.pfx", undefined, "content", /^holds a private key that is not RSA; the Identity Service signs its tokens with RS256/],
            ["not-a-pfx.pfx", undefined, "content", /^(is not|cannot be read as) a PFX \(PKCS#12\) file/],
        ];
        for (const [name, password, problem, message] of cases) {
            const result = openPfx(fixture(name), password);
            assert.equal(result.ok, false, name);
            if (!result.ok) {
                assert.equal(result.problem, problem, name);
                assert.match(result.message, message, name);
                assert.ok(!password || !result.message.includes(password), "the password is never in the message");
            }
        }
    });

    it("encodes it again without a password, byte-identical on every run: the same key and certificate", async () => {
        const original = opened("tls.pfx", TLS_PASSWORD);
        const file = path.join(certificates, "tls.pfx");
        const first = Buffer.from(await valueOf(reencodedPfxBase64(file, TLS_PASSWORD)), "base64");
        const second = Buffer.from(await valueOf(reencodedPfxBase64(pulumi.output(file), pulumi.secret(TLS_PASSWORD))), "base64");
        assert.ok(first.equals(second));
        assert.ok(first.equals(await encodePkcs12(original.privateKeyPem, original.certificatePem)), "exactly what a generated certificate gets");
        const again = opened("tls.pfx", TLS_PASSWORD);
        const reopened = openPfx(first, undefined);
        assert.ok(reopened.ok);
        if (reopened.ok) {
            assert.ok(crypto.createPrivateKey(reopened.privateKeyPem).equals(crypto.createPrivateKey(again.privateKeyPem)));
            assert.equal(new crypto.X509Certificate(reopened.certificatePem).fingerprint256, new crypto.X509Certificate(again.certificatePem).fingerprint256);
        }
        assert.equal(await pulumi.isSecret(reencodedPfxBase64(file, TLS_PASSWORD)), true);
    });

    it("names the field before anything is created: the password (never shown) or the file", async () => {
        const check = (pfx: string, password: pulumi.Input<string> | undefined) => {
            const arguments_ = new ArgumentCheck("ids");
            checkCertificate("signingCertificate", "signing", { form: "path", path: path.join(certificates, pfx), password }, arguments_);
            return arguments_;
        };
        const wrong = check("tls.pfx", "wrong-password");
        assert.throws(() => wrong.throwIfAny(), (error: Error) => {
            assert.match(error.message, /^IdentityService "ids" has invalid arguments:\n- signingCertificate\.password: does not open the PFX at signingCertificate\.path/);
            assert.ok(!error.message.includes("wrong-password"));
            return true;
        });
        assert.throws(() => check("signing-ec.pfx", undefined).throwIfAny(), /- signingCertificate\.path: ".*signing-ec\.pfx" holds a private key that is not RSA/);
        const fine = check("tls.pfx", TLS_PASSWORD);
        assert.equal(fine.ok, true);
        assert.equal(fine.resolved(), undefined, "nothing left to check later");
        // A secret password known only later is checked when it resolves, with the same message.
        const late = check("tls.pfx", pulumi.secret("late-wrong-password"));
        assert.equal(late.ok, true);
        await assert.rejects(valueOf(late.resolved()!), (error: Error) => {
            assert.match(error.message, /- signingCertificate\.password: does not open the PFX at signingCertificate\.path/);
            assert.ok(!error.message.includes("late-wrong-password"));
            return true;
        });
        assert.deepEqual(await valueOf(check("tls.pfx", pulumi.secret(TLS_PASSWORD)).resolved()!), []);
    });

    it("a wrong password fails the component before any child is created, and never shows the password", async () => {
        resetMocks();
        await settle();
        const before = registered.length;
        const args: IdentityServiceArgs = {
            target: DeploymentTarget.Docker,
            creatioVersion: "8.2.3",
            database: { provider: DatabaseProvider.Postgres, connectionString: "Server=db;Database=creatio;User ID=u;Password=Pfx-Test-Db-Pw-1;" },
            signingCertificate: { path: path.join(certificates, "tls.pfx"), password: "Wrong-Pfx-Pw-2231" },
            docker: { image: "ids:1" },
        };
        assert.throws(
            () => new IdentityService("wrong-pfx", args),
            (error: Error) => {
                assert.match(error.message, /^IdentityService "wrong-pfx" has invalid arguments:\n- signingCertificate\.password: does not open the PFX at signingCertificate\.path/);
                assert.ok(!error.message.includes("Wrong-Pfx-Pw-2231"));
                return true;
            },
        );
        await settle();
        assert.deepEqual(registered.slice(before).filter(r => r.type !== "creatio-identity-service:index:IdentityService"), [], "no child resource was registered");
    });

    describe("read back with the openssl CLI", () => {
        before(skipWithoutOpenssl);

        it("an AES-256, password-protected PFX becomes PBE-SHA1-3DES with a SHA-1 MAC and no password", async () => {
            const aes = pkcs12(["-info", "-noout", "-passin", `pass:${TLS_PASSWORD}`], fixture("tls.pfx"));
            assert.match(aes.stdout + aes.stderr, /AES-256-CBC/, "the fixture is what OpenSSL 3 writes by default");
            const encoded = Buffer.from(await valueOf(reencodedPfxBase64(path.join(certificates, "tls.pfx"), TLS_PASSWORD)), "base64");
            const result = pkcs12(["-info", "-nodes", "-passin", "pass:"], encoded);
            assert.equal(result.status, 0, result.stderr);
            const report = result.stdout + result.stderr;
            assert.match(report, /^MAC: sha1, Iteration 2048$/m);
            assert.match(report, /^PKCS7 Encrypted data: pbeWithSHA1And3-KeyTripleDES-CBC, Iteration 2048$/m);
            assert.match(report, /^Shrouded Keybag: pbeWithSHA1And3-KeyTripleDES-CBC, Iteration 2048$/m);
        });
    });
});
