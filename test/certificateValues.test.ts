// Certificates from values: the signing and TLS certificates given as a PFX in base64 or as PEM certificate and key,
// refused with the field and the fix before anything is created, and delivered to every target as a secret.
import "./support/mocks";
import { strict as assert } from "assert";
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { DatabaseProvider, DeploymentTarget, IdentityService, IdentityServiceArgs } from "../src";
import forge from "node-forge";
import { CertificateSource, CertificateUse, checkCertificate, encodePkcs12, openCertificate, openPfx, signingPfxBase64, tlsCertificateSettings } from "../src/certificates";
import { ArgumentCheck } from "../src/validation";
import { captureRegistrations, findLeaks } from "./support/leaks";
import { isSecretInput, Recorder, registered, resetMocks, settle, valueOf } from "./support/mocks";

const certificates = path.join(__dirname, "fixtures", "certificates");
const read = (name: string) => fs.readFileSync(path.join(certificates, name), "utf8");
const base64Of = (name: string) => fs.readFileSync(path.join(certificates, name)).toString("base64");
const BUILD_CONTEXT = path.join(__dirname, "fixtures", "identity-service");
const TLS_PASSWORD = "tls-test-password"; // fixtures/certificates/README.md

const SIGNING_KEY = read("generated-key.pem");
const SIGNING_CERTIFICATE = read("generated-certificate.pem");
const LEAF = read("tls-leaf.pem");
const LEAF_KEY = read("tls-leaf-key.pem");
const CA = read("tls-ca.pem");
/** One line of a PEM key's body: enough to recognise the key wherever it shows. */
const keyLine = (pem: string) => pem.split("\n")[3];

describe("certificates from values: what is refused, naming the field", () => {
    type Case = [string, CertificateUse, CertificateSource<string>, string, RegExp];
    const pem = (certificatePem: string, privateKeyPem: string): CertificateSource<string> => ({ form: "pem", certificatePem, privateKeyPem });
    const pfx = (name: string, password?: string): CertificateSource<string> => ({ form: "pfxBase64", pfxBase64: base64Of(name), password });
    const cases: Case[] = [
        ["text that is not base64", "signing", { form: "pfxBase64", pfxBase64: "not base64 at all!" }, "pfxBase64", /^is not base64; give the \.pfx file's bytes as base64 \(`base64 -w0 certificate\.pfx`/],
        ["PEM given as pfxBase64", "signing", { form: "pfxBase64", pfxBase64: SIGNING_CERTIFICATE }, "pfxBase64", /^holds PEM text, not a PFX; give PEM as `certificatePem` and `privateKeyPem` instead/],
        ["base64 of something else", "signing", { form: "pfxBase64", pfxBase64: Buffer.from("a text file, not a PFX").toString("base64") }, "pfxBase64", /^is base64, but not of a PFX \(PKCS#12\) file/],
        ["a wrong password for pfxBase64", "signing", pfx("tls.pfx", "Wrong-Pw-7781"), "password", /^does not open the PFX in signingCertificate\.pfxBase64 \(its integrity check fails with this password\); give the password the file was exported with$/],
        ["a missing password for pfxBase64", "tls", pfx("tls.pfx"), "password", /^is missing: the PFX in docker\.https\.certificate\.pfxBase64 is protected by a password; give it/],
        ["a needless password for pfxBase64", "signing", pfx("signing.pfx", "Needless-Pw-1"), "password", /^is set, but the PFX in signingCertificate\.pfxBase64 has no password; remove signingCertificate\.password$/],
        ["a PFX without a key", "tls", pfx("certificate-only.pfx"), "pfxBase64", /^holds no private key; export the certificate with its private key \(Kestrel serves HTTPS with it\)$/],
        ["an EC PFX for signing", "signing", pfx("signing-ec.pfx"), "pfxBase64", /^holds a private key that is not RSA; the Identity Service signs its tokens with RS256: give a certificate with an RSA key \(this one is EC \(ECDSA\)\)$/],
        ["a TLS PFX by path with a wrong password", "tls", { form: "path", path: path.join(certificates, "tls.pfx"), password: "Wrong-Pw-7782" }, "password", /^does not open the PFX at docker\.https\.certificate\.path \(its integrity check/],
        ["a TLS PFX by path without its password", "tls", { form: "path", path: path.join(certificates, "tls.pfx") }, "password", /^is missing: the PFX at docker\.https\.certificate\.path is protected by a password/],
        ["a TLS path that is no PFX", "tls", { form: "path", path: path.join(certificates, "not-a-pfx.pfx") }, "path", /not-a-pfx\.pfx" is not a PFX \(PKCS#12\) file/],
        ["text that is no PEM certificate", "tls", pem("MIIB not pem", LEAF_KEY), "certificatePem", /^is not a PEM certificate: no -----BEGIN CERTIFICATE----- block; give the certificate \(and its chain, leaf first\) as PEM text/],
        ["a PEM certificate that cannot be read", "signing", pem("-----BEGIN CERTIFICATE-----\nMIIBbroken\n-----END CERTIFICATE-----\n", SIGNING_KEY), "certificatePem", /^holds a certificate that cannot be read \(/],
        ["text that is no PEM key", "signing", pem(SIGNING_CERTIFICATE, "not a key"), "privateKeyPem", /^is not a PEM private key; give the key as PEM text starting with -----BEGIN PRIVATE KEY-----/],
        ["a certificate given as the key", "tls", pem(LEAF, LEAF), "privateKeyPem", /^is not a PEM private key/],
        ["an encrypted PEM key", "tls", pem(LEAF, read("tls-leaf-key-encrypted.pem")), "privateKeyPem", /^is an encrypted private key; give it unencrypted \(`openssl pkey -in key\.pem -out plain-key\.pem`\)/],
        ["a key of another certificate", "signing", pem(SIGNING_CERTIFICATE, LEAF_KEY), "privateKeyPem", /^does not belong to the certificate in signingCertificate\.certificatePem \(no certificate there holds its public key\); give the key the certificate was issued for$/],
        ["an EC key for signing", "signing", pem(read("tls-ec.pem"), read("tls-ec-key.pem")), "privateKeyPem", /^is a private key that is not RSA; the Identity Service signs its tokens with RS256.*\(this one is EC \(ECDSA\)\)$/],
        ["an Ed25519 key for TLS", "tls", pem(read("ed25519.pem"), read("ed25519-key.pem")), "privateKeyPem", /^is a private key of type Ed25519; Kestrel serves HTTPS with RSA or EC \(ECDSA\) keys/],
        ["a certificate for client authentication only", "tls", pem(read("tls-client-auth.pem"), LEAF_KEY), "certificatePem", /^holds a certificate whose extended key usage does not include serverAuth \(1\.3\.6\.1\.5\.5\.7\.3\.1\), which Kestrel refuses for HTTPS/],
    ];
    for (const [title, use, source, field, message] of cases) {
        it(`refuses ${title} (${use}), naming ${field}`, () => {
            const argument = use === "signing" ? "signingCertificate" : "docker.https.certificate";
            const result = openCertificate(argument, use, source);
            assert.equal(result.ok, false, "refused");
            if (!result.ok) {
                assert.equal(result.field, field);
                assert.match(result.message, message);
                const values = source as unknown as Record<string, string | undefined>;
                for (const secret of [values.password, values.pfxBase64, values.privateKeyPem && keyLine(values.privateKeyPem)]) {
                    assert.ok(!secret || !result.message.includes(secret), "no secret value in the message");
                }
            }
        });
    }

    it("refuses a PFX whose certificates are not its key's, naming pfxBase64", () => {
        // A PFX with the signing key and the TLS certificate, as a mistaken export would hold them.
        const pfx = forge.pkcs12.toPkcs12Asn1(forge.pki.privateKeyFromPem(SIGNING_KEY), [forge.pki.certificateFromPem(LEAF)], null, { algorithm: "3des" });
        const pfxBase64 = Buffer.from(forge.asn1.toDer(pfx).getBytes(), "binary").toString("base64");
        const result = openCertificate("signingCertificate", "signing", { form: "pfxBase64", pfxBase64 });
        assert.deepEqual(result, { ok: false, field: "pfxBase64", message: "holds no certificate for its private key; export the certificate together with its private key" });
    });

    it("a certificate that no longer opens when it is read (a file changed after the checks) fails naming the field", async () => {
        const missing = path.join(certificates, "removed-after-the-checks.pfx");
        const delivered = signingPfxBase64({ field: "signingCertificate", use: "signing", source: { form: "path", path: missing } });
        await assert.rejects(valueOf(delivered), /^Error: signingCertificate\.path: can no longer be opened: ".*removed-after-the-checks\.pfx" does not exist or cannot be read/);
    });

    it("takes every form a use allows: RSA and EC for TLS, with the chain after the certificate; RSA for signing", () => {
        const accepted: [CertificateUse, CertificateSource<string>, string][] = [
            ["tls", pem(LEAF + CA, LEAF_KEY), LEAF],
            ["tls", pem(read("tls-ec.pem"), read("tls-ec-key.pem")), read("tls-ec.pem")],
            ["tls", pfx("signing-ec.pfx"), ""],
            ["tls", pfx("tls.pfx", TLS_PASSWORD), ""],
            ["signing", pem(SIGNING_CERTIFICATE, SIGNING_KEY), SIGNING_CERTIFICATE],
            ["signing", pfx("signing-legacy-chain.pfx", "legacy-test-password"), ""],
        ];
        for (const [use, source, certificate] of accepted) {
            const result = openCertificate("c", use, source);
            assert.ok(result.ok, `${use} ${source.form}: ${result.ok ? "" : result.message}`);
            if (result.ok && certificate) {
                assert.equal(new crypto.X509Certificate(result.certificatePem).fingerprint256, new crypto.X509Certificate(certificate).fingerprint256);
            }
        }
        const chained = openCertificate("c", "tls", pem(LEAF + CA, LEAF_KEY));
        assert.ok(chained.ok);
        assert.deepEqual(chained.chainPems.map(p => new crypto.X509Certificate(p).subject), ["CN=Test TLS CA"]);
    });
});

describe("certificates from values: the combination of fields, and values known later", () => {
    const checked = (field: string, given: Record<string, pulumi.Input<string>>) => {
        const check = new ArgumentCheck("ids");
        tlsCertificateSettings(field, given, check);
        return check;
    };
    const messageOf = (check: ArgumentCheck) => {
        try {
            check.throwIfAny();
        } catch (error) {
            return (error as Error).message;
        }
        return "";
    };

    it("asks for exactly one source, both halves of PEM, and no password with PEM", () => {
        const cases: [Record<string, string>, RegExp][] = [
            [{ path: "x.pfx", pfxBase64: "AAAA" }, /- c: gives `path` and `pfxBase64`; give exactly one source: a \.pfx file's `path`, its bytes as `pfxBase64`, or `certificatePem` with `privateKeyPem`/],
            [{ pfxBase64: "AAAA", certificatePem: LEAF, privateKeyPem: LEAF_KEY }, /- c: gives `pfxBase64` and `certificatePem` and `privateKeyPem`; give exactly one source/],
            [{ certificatePem: LEAF }, /- c\.privateKeyPem: is missing: `certificatePem` needs its private key; give the key as PEM \(it is kept as a secret\)/],
            [{ privateKeyPem: LEAF_KEY }, /- c\.certificatePem: is missing: `privateKeyPem` needs the certificate it belongs to/],
            [{ certificatePem: LEAF, privateKeyPem: LEAF_KEY, password: "Pem-Pw-5512" }, /- c\.password: opens a PFX \(`path` or `pfxBase64`\), not a PEM key; remove it and give `privateKeyPem` unencrypted/],
            [{}, /- c: has no certificate; give a \.pfx file's `path`, its bytes as `pfxBase64`, or `certificatePem` with `privateKeyPem`/],
        ];
        for (const [given, message] of cases) {
            const text = messageOf(checked("c", given));
            assert.match(text, message);
            assert.ok(!text.includes("Pem-Pw-5512") && !text.includes(keyLine(LEAF_KEY)), "no secret in the message");
        }
    });

    it("names a block that holds secrets in the message only, never as an entry the engine prints the value beside", () => {
        const check = checked("docker.https.certificate", { pfxBase64: "AAAA", privateKeyPem: LEAF_KEY, certificatePem: LEAF });
        assert.throws(
            () => check.throwIfAny(),
            (error: pulumi.InputPropertiesError) => {
                assert.match(error.message, /- docker\.https\.certificate: gives `pfxBase64` and `certificatePem` and `privateKeyPem`/);
                assert.deepEqual(error.errors, []);
                return true;
            },
        );
    });

    it("checks Output values when they resolve, with the same messages, never showing them", async () => {
        const late = (given: Record<string, pulumi.Input<string>>) => checked("docker.https.certificate", given).resolved();
        await assert.rejects(valueOf(late({ certificatePem: pulumi.output(SIGNING_CERTIFICATE), privateKeyPem: pulumi.secret(LEAF_KEY) })!), (error: Error) => {
            assert.match(error.message, /- docker\.https\.certificate\.privateKeyPem: does not belong to the certificate in docker\.https\.certificate\.certificatePem/);
            assert.ok(!error.message.includes(keyLine(LEAF_KEY)));
            return true;
        });
        await assert.rejects(valueOf(late({ pfxBase64: pulumi.secret(base64Of("tls.pfx")), password: pulumi.secret("Late-Wrong-Pw-3") })!), (error: Error) => {
            assert.match(error.message, /- docker\.https\.certificate\.password: does not open the PFX in docker\.https\.certificate\.pfxBase64/);
            assert.ok(!error.message.includes("Late-Wrong-Pw-3"));
            return true;
        });
        assert.deepEqual(await valueOf(late({ certificatePem: pulumi.output(LEAF), privateKeyPem: pulumi.secret(LEAF_KEY) })!), []);
        const known = new ArgumentCheck("ids");
        checkCertificate("signingCertificate", "signing", { form: "pem", certificatePem: SIGNING_CERTIFICATE, privateKeyPem: SIGNING_KEY }, known);
        assert.equal(known.ok, true);
        assert.equal(known.resolved(), undefined, "plain values are checked at once");
    });

    it("turns PEM into a PFX Kestrel opens without a password, holding the chain, and passes a PFX value on as it is", async () => {
        const check = new ArgumentCheck("ids");
        const fromPem = tlsCertificateSettings("c", { certificatePem: LEAF + CA, privateKeyPem: LEAF_KEY }, check);
        assert.equal(fromPem.password, undefined, "no password to deliver");
        assert.equal(await pulumi.isSecret(fromPem.pfxBase64), true);
        const pfxBytes = Buffer.from(await valueOf(fromPem.pfxBase64), "base64");
        assert.ok(pfxBytes.equals(encodePkcs12(LEAF_KEY, LEAF, [CA])), "encodePkcs12, the chain after the certificate");
        const reopened = openPfx(pfxBytes, undefined, { use: "tls", source: "the PFX", passwordField: "password" });
        assert.ok(reopened.ok);
        assert.equal(new crypto.X509Certificate(reopened.certificatePem).subject, "CN=localhost");
        assert.deepEqual(reopened.chainPems.map(p => new crypto.X509Certificate(p).subject), ["CN=Test TLS CA"]);

        const wrapped = base64Of("tls.pfx").replace(/.{76}/g, "$&\n");
        const fromValue = tlsCertificateSettings("c", { pfxBase64: wrapped, password: TLS_PASSWORD }, check);
        assert.equal(await valueOf(fromValue.pfxBase64), base64Of("tls.pfx"), "the bytes as given, line breaks dropped");
        assert.equal(await pulumi.isSecret(fromValue.pfxBase64), true);
        assert.equal(await pulumi.isSecret(pulumi.output(fromValue.password)), true, "a plain password becomes a secret");
        assert.equal(check.ok, true);
    });
});

describe("certificates from values reach every target as secrets", () => {
    beforeEach(resetMocks);
    const SIGNING_PFX = encodePkcs12(SIGNING_KEY, SIGNING_CERTIFICATE).toString("base64");
    const CONNECTION = "Server=db;Database=creatio;User ID=u;Password=Cert-Values-Db-Pw-1;";
    const base = (target: DeploymentTarget): IdentityServiceArgs => ({
        target,
        creatioVersion: "8.2.3",
        database: { provider: DatabaseProvider.Postgres, connectionString: CONNECTION },
        client: { secret: "Cert-Values-Client-Secret-0123456789" },
        signingCertificate: { certificatePem: SIGNING_CERTIFICATE, privateKeyPem: SIGNING_KEY },
    });
    const deploy = (name: string, args: IdentityServiceArgs) => {
        const captured = captureRegistrations();
        const recorder = new Recorder();
        const service = new IdentityService(name, args, { transformations: [recorder.transformation] });
        return { captured, recorder, service };
    };
    /** The values that must never show outside a Pulumi secret. */
    const SECRETS = { signingKey: keyLine(SIGNING_KEY), tlsKey: keyLine(LEAF_KEY), tlsPfx: base64Of("tls.pfx").slice(300, 360), tlsPassword: TLS_PASSWORD };

    it("Docker: the signing certificate from PEM and the TLS certificate from PEM or a PFX value, uploaded as secrets", async () => {
        const { captured, recorder, service } = deploy("cv-docker", {
            ...base(DeploymentTarget.Docker),
            docker: { build: { context: BUILD_CONTEXT }, https: { port: 9443, certificate: { certificatePem: pulumi.output(LEAF + CA), privateKeyPem: pulumi.secret(LEAF_KEY) } } },
        });
        await valueOf(service.url);
        const container = recorder.byName("cv-docker-container").props;
        assert.equal(await isSecretInput(container.uploads), true);
        const uploads: { file: string; content?: string; contentBase64?: string }[] = await valueOf(container.uploads);
        const byFile = (file: string) => uploads.find(upload => upload.file === file)!;
        assert.equal(byFile("/app/signing-certificate.pfx").contentBase64, SIGNING_PFX, "the PEM pair as the PFX every signing certificate becomes");
        assert.equal(byFile("/app/tls-certificate.pfx").contentBase64, encodePkcs12(LEAF_KEY, LEAF, [CA]).toString("base64"));
        assert.equal(JSON.parse(byFile("/app/appsettings.Production.json").content!).Kestrel, undefined, "a PFX made from PEM needs no password");
        await settle();
        assert.deepEqual(findLeaks(captured, SECRETS), []);

        resetMocks();
        const second = deploy("cv-docker-pfx", {
            ...base(DeploymentTarget.Docker),
            signingCertificate: { pfxBase64: base64Of("tls.pfx"), password: TLS_PASSWORD },
            docker: { build: { context: BUILD_CONTEXT }, https: { port: 9443, certificate: { pfxBase64: base64Of("tls.pfx"), password: TLS_PASSWORD } } },
        });
        await valueOf(second.service.url);
        const again: { file: string; content?: string; contentBase64?: string }[] = await valueOf(second.recorder.byName("cv-docker-pfx-container").props.uploads);
        assert.equal(again.find(u => u.file === "/app/tls-certificate.pfx")!.contentBase64, base64Of("tls.pfx"), "a PFX value reaches Kestrel as it is");
        assert.deepEqual(JSON.parse(again.find(u => u.file === "/app/appsettings.Production.json")!.content!).Kestrel, { Certificates: { Default: { Password: TLS_PASSWORD } } });
        const opened = openPfx(fs.readFileSync(path.join(certificates, "tls.pfx")), TLS_PASSWORD);
        assert.ok(opened.ok);
        assert.equal(again.find(u => u.file === "/app/signing-certificate.pfx")!.contentBase64, encodePkcs12(opened.privateKeyPem, opened.certificatePem).toString("base64"));
        await settle();
        assert.deepEqual(findLeaks(second.captured, SECRETS), []);
    });

    it("Swarm: the signing certificate from a PFX value, as the Docker secret every form becomes", async () => {
        const { captured, recorder, service } = deploy("cv-swarm", {
            ...base(DeploymentTarget.Swarm),
            signingCertificate: { pfxBase64: pulumi.secret(base64Of("tls.pfx")), password: pulumi.secret(TLS_PASSWORD) },
            swarm: { image: "registry.example.com/ids:8.2.3", replicas: 1 },
        });
        await valueOf(service.url);
        const data = recorder.byName("cv-swarm-signing-pfx").props.data;
        assert.equal(await pulumi.isSecret(data), true);
        const opened = openPfx(fs.readFileSync(path.join(certificates, "tls.pfx")), TLS_PASSWORD);
        assert.ok(opened.ok);
        assert.equal(await valueOf(data), encodePkcs12(opened.privateKeyPem, opened.certificatePem).toString("base64"));
        await settle();
        assert.deepEqual(findLeaks(captured, SECRETS), []);
    });

    it("IIS: the signing certificate from PEM, in the steps' input (uploaded over SSH) as a secret", async () => {
        const { captured, recorder, service } = deploy("cv-iis", {
            ...base(DeploymentTarget.Iis),
            iis: { creatioPath: "C:\\Creatio", port: 8090, archivePath: "C:\\Packages\\IdentityService.zip", connection: { host: "win.example.com", user: "deploy", password: "Ssh-Cert-Values-1" } },
        });
        await valueOf(service.url);
        for (const step of ["cv-iis-iis-prerequisites", "cv-iis-iis-configuration"]) {
            const stdin = recorder.byName(step).props.stdin;
            assert.equal(await isSecretInput(stdin), true, `${step}: its input is a secret`);
            assert.equal(JSON.parse(await valueOf(stdin)).signingCertificate.base64, SIGNING_PFX);
        }
        await settle();
        assert.deepEqual(findLeaks(captured, SECRETS), []);
    });

    it("refuses a bad value before any child is created", async () => {
        await settle();
        const before = registered.length;
        assert.throws(
            () => new IdentityService("cv-bad", { ...base(DeploymentTarget.Docker), signingCertificate: { certificatePem: LEAF, privateKeyPem: SIGNING_KEY }, docker: { image: "ids:1" } }),
            /- signingCertificate\.privateKeyPem: does not belong to the certificate in signingCertificate\.certificatePem/,
        );
        await settle();
        assert.deepEqual(registered.slice(before).filter(r => r.type !== "creatio-identity-service:index:IdentityService"), []);
    });

    it("refuses a late bad value before any child is created, never showing it", async () => {
        await settle();
        const before = registered.length;
        const seen = new Set<unknown>();
        const listener = (reason: unknown) => void seen.add(reason);
        process.on("unhandledRejection", listener);
        try {
            new IdentityService("cv-late", {
                ...base(DeploymentTarget.Docker),
                signingCertificate: { pfxBase64: pulumi.secret(base64Of("tls.pfx")), password: pulumi.secret("Late-Bad-Pw-99") },
                docker: { image: "ids:1" },
            });
            while (seen.size === 0) {
                await settle();
            }
            await settle();
        } finally {
            process.off("unhandledRejection", listener);
        }
        const [error] = [...seen] as Error[];
        assert.match(error.message, /^IdentityService "cv-late" has invalid arguments:\n- signingCertificate\.password: does not open the PFX in signingCertificate\.pfxBase64/);
        assert.ok(!error.message.includes("Late-Bad-Pw-99"));
        assert.deepEqual(registered.slice(before).map(r => r.name), [], "neither the component nor a child was registered");
    });
});
