/**
 * Token-signing and TLS certificates as PFX (PKCS#12): files on the deploying machine, checked before anything is
 * created and then read into secret base64, or a signing certificate generated for the instance. Every signing PFX
 * reaches the service in one form: no password, 3DES and a SHA-1 MAC (see `encodePkcs12`).
 */
import * as crypto from "crypto";
import * as fs from "fs";
import forge from "node-forge";
import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import { TlsCertificate } from "./args";
import { ArgumentCheck, Check, describe, isKnown } from "./validation";

/**
 * Whether bytes look like a PKCS#12 (PFX) file: a DER SEQUENCE whose first element is the version INTEGER 3.
 * A structural check only (the TLS certificate's password is checked by the service when it loads the file; the
 * signing certificate is opened here, see `checkSuppliedPfx`).
 */
export function looksLikePfx(bytes: Uint8Array): boolean {
    if (bytes.length < 8 || bytes[0] !== 0x30) {
        return false;
    }
    // Short form length: the content starts at 2; long form (0x81..0x84): after the length bytes; 0x80: BER indefinite.
    const lengthByte = bytes[1];
    const offset = lengthByte > 0x80 ? 2 + (lengthByte & 0x7f) : 2;
    return bytes[offset] === 0x02 && bytes[offset + 1] === 0x01 && bytes[offset + 2] === 0x03;
}

/** Checks that a path names a readable PFX file. */
export const pfxFile: Check<string> = path => {
    let bytes: Buffer;
    try {
        if (!fs.statSync(path).isFile()) {
            return `${describe(path)} is not a file; give the path of a .pfx file on the machine that runs Pulumi`;
        }
        bytes = fs.readFileSync(path);
    } catch {
        return `${describe(path)} does not exist or cannot be read; give the path of a .pfx file on the machine that runs Pulumi`;
    }
    return looksLikePfx(bytes)
        ? undefined
        : `${describe(path)} is not a PFX (PKCS#12) file; export the certificate with its private key as .pfx`;
};

/** The file's bytes as base64, as a secret: the private key never appears in plain text in state. */
export function readPfxBase64(path: pulumi.Input<string>): pulumi.Output<string> {
    return pulumi.secret(pulumi.output(path).apply(p => fs.readFileSync(p).toString("base64")));
}

/** Checks that a value is one or more PEM certificates (a CA, or a chain) that parse as X.509. */
export const pemCertificate: Check<string> = value => {
    const blocks = value.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g);
    if (!blocks) {
        return "the value is not a PEM certificate; give the CA certificate's text, starting with -----BEGIN CERTIFICATE----- (for example fs.readFileSync(\"ca.pem\", \"utf8\"))";
    }
    for (const block of blocks) {
        try {
            new crypto.X509Certificate(block);
        } catch (error) {
            return `the value holds a certificate that cannot be read (${(error as Error).message}); give the CA certificate as PEM`;
        }
    }
    return undefined;
};

/** A TLS certificate of a container target, checked before anything is created. */
export interface TlsCertificateSettings {
    /** The PFX as base64, a secret. */
    readonly pfxBase64: pulumi.Output<string>;
    /** Its password, if it has one (a secret: it travels only in the service's settings file). */
    readonly password?: pulumi.Input<string>;
}

/** Checks a TLS certificate argument (`field` is its name, for example `docker.https.certificate`) and reads it. */
export function tlsCertificateSettings(field: string, certificate: TlsCertificate, check: ArgumentCheck): TlsCertificateSettings {
    const path = check.input(`${field}.path`, certificate.path, pfxFile);
    return { pfxBase64: readPfxBase64(path), password: certificate.password };
}

// ---------------------------------------------------------------------------------------------------------------
// The signing PFX as every target reads it

/** RSA key size of a generated signing key (the service signs its tokens with RS256). */
export const GENERATED_KEY_BITS = 2048;
/** Validity of a generated signing certificate: ten years. The service does not check it; clients may. */
export const GENERATED_CERTIFICATE_VALIDITY_HOURS = 10 * 365 * 24;
/**
 * Key derivation and MAC iterations of the PFX, as `openssl pkcs12 -export` uses by default. The PFX has an empty
 * password (like the vendor's sample), so the iterations only have to satisfy readers, not protect the key: the key
 * is protected by being a Pulumi secret.
 */
export const PKCS12_ITERATIONS = 2048;
/** Salt length of each key derivation: the output size of SHA-1, as RFC 7292 appendix B.1 recommends. */
const PKCS12_SALT_BYTES = 20;

const OID = {
    data: "1.2.840.113549.1.7.1",
    encryptedData: "1.2.840.113549.1.7.6",
    certBag: "1.2.840.113549.1.12.10.1.3",
    pkcs8ShroudedKeyBag: "1.2.840.113549.1.12.10.1.2",
    x509Certificate: "1.2.840.113549.1.9.22.1",
    localKeyId: "1.2.840.113549.1.9.21",
    /** pbeWithSHAAnd3-KeyTripleDES-CBC (RFC 7292 appendix C). */
    pbeWithSha1And3DesCbc: "1.2.840.113549.1.12.1.3",
    sha1: "1.3.14.3.2.26",
};

/** node-forge's password-based encryption functions (lib/pbe.js), which its type declarations leave out. */
const pbe = (
    forge.pki as unknown as {
        pbe: {
            generatePkcs12Key(password: string, salt: forge.util.ByteStringBuffer, id: number, iterations: number, length: number): forge.util.ByteStringBuffer;
        };
    }
).pbe;

/** RFC 7292 appendix B.3: the purpose byte of a PKCS#12 key derivation. */
const KDF_PURPOSE = { key: 1, iv: 2, mac: 3 } as const;

/**
 * The PKCS#12 key derivation of RFC 7292 appendix B.2 with SHA-1, the password taken as a BMPString with its
 * terminating zero (an empty password is the two zero bytes, as Windows and OpenSSL write it).
 */
function pkcs12Kdf(password: string, salt: Buffer, purpose: number, length: number): Buffer {
    const derived = pbe.generatePkcs12Key(password, forge.util.createBuffer(salt.toString("binary")), purpose, PKCS12_ITERATIONS, length);
    return Buffer.from(derived.getBytes(), "binary");
}

/** pbeWithSHAAnd3-KeyTripleDES-CBC: 3DES-CBC with a 24-byte key and an 8-byte IV, both derived from password and salt. */
function encrypt3Des(password: string, salt: Buffer, plaintext: Buffer): Buffer {
    const key = pkcs12Kdf(password, salt, KDF_PURPOSE.key, 24);
    const iv = pkcs12Kdf(password, salt, KDF_PURPOSE.iv, 8);
    const cipher = crypto.createCipheriv("des-ede3-cbc", key, iv);
    return Buffer.concat([cipher.update(plaintext), cipher.final()]);
}

// DER building blocks (ITU-T X.690), over forge's ASN.1 nodes.
const { asn1 } = forge;
type Node = forge.asn1.Asn1;
const der = (node: Node): Buffer => Buffer.from(asn1.toDer(node).getBytes(), "binary");
const universal = (type: number, constructed: boolean, value: string | Node[]): Node => asn1.create(asn1.Class.UNIVERSAL, type, constructed, value);
const sequence = (...items: Node[]): Node => universal(asn1.Type.SEQUENCE, true, items);
const set = (...items: Node[]): Node => universal(asn1.Type.SET, true, items);
const oid = (id: string): Node => universal(asn1.Type.OID, false, asn1.oidToDer(id).getBytes());
const octets = (bytes: Buffer): Node => universal(asn1.Type.OCTETSTRING, false, bytes.toString("binary"));
const integer = (value: number): Node => universal(asn1.Type.INTEGER, false, asn1.integerToDer(value).getBytes());
const explicit0 = (node: Node): Node => asn1.create(asn1.Class.CONTEXT_SPECIFIC, 0, true, [node]);
const implicit0Octets = (bytes: Buffer): Node => asn1.create(asn1.Class.CONTEXT_SPECIFIC, 0, false, bytes.toString("binary"));

/** pbeWithSHAAnd3-KeyTripleDES-CBC with its pkcs-12PbeParams (salt, iterations). */
const pbeAlgorithm = (salt: Buffer): Node => sequence(oid(OID.pbeWithSha1And3DesCbc), sequence(octets(salt), integer(PKCS12_ITERATIONS)));

/**
 * Encodes a private key and its certificate as a PKCS#12 (PFX) file with an empty password, in the form every
 * supported Windows Server imports: both bags encrypted with pbeWithSHAAnd3-KeyTripleDES-CBC and an HMAC-SHA1 MAC,
 * as `openssl pkcs12 -export -legacy` writes it (Windows Server 2016 cannot import the AES-256 PFX that OpenSSL 3
 * writes by default; .NET and OpenSSL read this form everywhere). Salts are derived from the key and certificate
 * with a one-way function instead of drawn at random, so the same key and certificate always give the same bytes
 * and a re-run changes nothing.
 */
export function encodePkcs12(privateKeyPem: string, certificatePem: string): Buffer {
    const keyDer = crypto.createPrivateKey(privateKeyPem).export({ type: "pkcs8", format: "der" });
    const certificateDer = new crypto.X509Certificate(certificatePem).raw;
    const seed = crypto.createHmac("sha256", keyDer).update(certificateDer).digest();
    const salt = (purpose: string) => crypto.createHmac("sha256", seed).update(`pkcs12 salt ${purpose}`).digest().subarray(0, PKCS12_SALT_BYTES);
    const password = "";

    // Both bags carry the certificate's SHA-1 as localKeyId, which is how readers pair the key with its certificate.
    const attributes = set(sequence(oid(OID.localKeyId), set(octets(crypto.createHash("sha1").update(certificateDer).digest()))));
    const certificateBag = sequence(oid(OID.certBag), explicit0(sequence(oid(OID.x509Certificate), explicit0(octets(certificateDer)))), attributes);
    const keyBag = sequence(
        oid(OID.pkcs8ShroudedKeyBag),
        explicit0(sequence(pbeAlgorithm(salt("key")), octets(encrypt3Des(password, salt("key"), keyDer)))),
        attributes,
    );
    const authenticatedSafe = der(
        sequence(
            // The certificate in an encrypted SafeContents, as Windows and OpenSSL store certificates.
            sequence(
                oid(OID.encryptedData),
                explicit0(
                    sequence(
                        integer(0),
                        sequence(oid(OID.data), pbeAlgorithm(salt("certificate")), implicit0Octets(encrypt3Des(password, salt("certificate"), der(sequence(certificateBag))))),
                    ),
                ),
            ),
            // The key bag is encrypted itself.
            sequence(oid(OID.data), explicit0(octets(der(sequence(keyBag))))),
        ),
    );
    const macSalt = salt("mac");
    const mac = crypto.createHmac("sha1", pkcs12Kdf(password, macSalt, KDF_PURPOSE.mac, 20)).update(authenticatedSafe).digest();
    const pfx = sequence(
        integer(3),
        sequence(oid(OID.data), explicit0(octets(authenticatedSafe))),
        sequence(sequence(sequence(oid(OID.sha1), universal(asn1.Type.NULL, false, "")), octets(mac)), octets(macSalt), integer(PKCS12_ITERATIONS)),
    );
    return der(pfx);
}

// ---------------------------------------------------------------------------------------------------------------
// A supplied PFX, opened with its password and encoded again

/** The private key and certificate of a supplied PFX, or why it cannot be used. */
export type OpenedPfx =
    | { readonly ok: true; readonly privateKeyPem: string; readonly certificatePem: string }
    | { readonly ok: false; readonly problem: "password" | "content"; readonly message: string };

/**
 * Opens a PFX with its password, as the service would (an absent or empty password tries both encodings of "no
 * password", as Windows and .NET do), and returns the RSA private key and the certificate that belongs to it (other
 * certificates in the file, such as a chain, are not needed for signing). Any encryption PKCS#12 files use is read:
 * AES (PBES2), 3DES and RC2 (node-forge implements them all, so no OpenSSL legacy provider is needed).
 */
export function openPfx(bytes: Buffer, password: string | undefined): OpenedPfx {
    let parsed: forge.asn1.Asn1;
    try {
        parsed = asn1.fromDer(forge.util.createBuffer(bytes.toString("binary")), false);
    } catch {
        return { ok: false, problem: "content", message: "is not a PFX (PKCS#12) file; export the certificate with its private key as .pfx" };
    }
    const open = (passwords: (string | null)[]): { pfx?: forge.pkcs12.Pkcs12Pfx; failure: string } => {
        let failure = "";
        for (const candidate of passwords) {
            try {
                // node-forge's type declares a string, but null is its documented "no password".
                return { pfx: forge.pkcs12.pkcs12FromAsn1(parsed, false, candidate as string), failure };
            } catch (error) {
                failure = error instanceof Error ? error.message : String(error);
            }
        }
        return { failure };
    };
    const noPassword = ["", null];
    const { pfx, failure } = open(password ? [password] : noPassword);
    if (!pfx) {
        if (!/password|MAC|decrypt/i.test(failure)) {
            return { ok: false, problem: "content", message: `cannot be read as a PFX (PKCS#12) file (${failure}); export the certificate with its private key as .pfx` };
        }
        const message = !password
            ? "is missing: the PFX at signingCertificate.path is protected by a password; give it, or export the certificate without one"
            : open(noPassword).pfx
              ? "is set, but the PFX at signingCertificate.path has no password; remove signingCertificate.password"
              : "does not open the PFX at signingCertificate.path (its integrity check fails with this password); give the password the file was exported with";
        return { ok: false, problem: "password", message };
    }
    const keyBags = [
        ...(pfx.getBags({ bagType: forge.pki.oids.pkcs8ShroudedKeyBag })[forge.pki.oids.pkcs8ShroudedKeyBag] ?? []),
        ...(pfx.getBags({ bagType: forge.pki.oids.keyBag })[forge.pki.oids.keyBag] ?? []),
    ];
    if (keyBags.length === 0) {
        return { ok: false, problem: "content", message: "holds no private key; export the certificate with its private key (the service signs tokens with it)" };
    }
    const key = keyBags[0].key as forge.pki.rsa.PrivateKey | undefined;
    if (!key) {
        return { ok: false, problem: "content", message: "holds a private key that is not RSA; the Identity Service signs its tokens with RS256: give a certificate with an RSA key" };
    }
    const certificates = (pfx.getBags({ bagType: forge.pki.oids.certBag })[forge.pki.oids.certBag] ?? [])
        .map(bag => bag.cert as forge.pki.Certificate | undefined)
        .filter((certificate): certificate is forge.pki.Certificate => certificate !== undefined && certificate !== null);
    const own = certificates.find(certificate => {
        const publicKey = certificate.publicKey as forge.pki.rsa.PublicKey;
        return publicKey.n !== undefined && publicKey.n.equals(key.n) && publicKey.e.equals(key.e);
    });
    if (!own) {
        return { ok: false, problem: "content", message: "holds no certificate for its private key; export the certificate together with its private key" };
    }
    return { ok: true, privateKeyPem: forge.pki.privateKeyToPem(key), certificatePem: forge.pki.certificateToPem(own) };
}

/** What is wrong with the PFX at `path` opened with `password`, and which field to fix; undefined when it opens. */
export function suppliedPfxProblem(path: string, password: string | undefined): { field: "path" | "password"; message: string } | undefined {
    if (pfxFile(path) !== undefined) {
        return undefined; // the path's own check reports it
    }
    const opened = openPfx(fs.readFileSync(path), password);
    if (opened.ok) {
        return undefined;
    }
    return opened.problem === "password" ? { field: "password", message: opened.message } : { field: "path", message: `${describe(path)} ${opened.message}` };
}

/**
 * Checks the supplied signing PFX before anything is created: the path names a readable PFX, and the password (or
 * its absence) opens it and finds an RSA key with its certificate. Values known only later are checked when they
 * resolve, with the same messages.
 */
export function checkSuppliedPfx(
    check: ArgumentCheck,
    path: pulumi.Input<string>,
    password: pulumi.Input<string> | undefined,
): pulumi.Input<string> {
    const checkedPath = check.input("signingCertificate.path", path, pfxFile);
    const pair: pulumi.Input<[string, string | undefined]> =
        isKnown(path) && (password === undefined || isKnown(password))
            ? [path, password as string | undefined]
            : pulumi.all([path, password]);
    check.input("signingCertificate.path", pair, ([p, pw]) => {
        const problem = suppliedPfxProblem(p, pw);
        return problem?.field === "path" ? problem.message : undefined;
    });
    check.input("signingCertificate.password", pair, ([p, pw]) => {
        const problem = suppliedPfxProblem(p, pw);
        return problem?.field === "password" ? problem.message : undefined;
    }, { secret: true });
    return checkedPath;
}

/**
 * The supplied PFX decrypted with its password and encoded again as `encodePkcs12` encodes a generated one: no
 * password (so the service needs no password key, which the vendor does not document) and a cipher every supported
 * Windows Server imports (an AES-encrypted or password-protected file works on Server 2016 too). Base64, a secret.
 */
export function reencodedPfxBase64(path: pulumi.Input<string>, password: pulumi.Input<string> | undefined): pulumi.Output<string> {
    return pulumi.secret(
        pulumi.all([path, password]).apply(([file, secret]) => {
            const opened = openPfx(fs.readFileSync(file), secret);
            if (!opened.ok) {
                // Checked before the component registered: only a file changed since can get here.
                throw new Error(`signingCertificate: ${describe(file)} can no longer be opened: ${opened.message}`);
            }
            return encodePkcs12(opened.privateKeyPem, opened.certificatePem).toString("base64");
        }),
    );
}

/** A signing certificate generated for one instance. */
export interface GeneratedSigningCertificate {
    readonly key: tls.PrivateKey;
    readonly certificate: tls.SelfSignedCert;
    /** The PFX as base64, a secret. */
    readonly pfxBase64: pulumi.Output<string>;
}

/**
 * Generates the instance's signing key and self-signed certificate with the TLS provider (the private key lives
 * only in state, as a secret) and encodes them as a PFX. Changing `rotation` replaces the key, and with it the
 * certificate; the provider also replaces the certificate by itself when it comes within a year of expiring.
 */
export function createSigningCertificate(
    name: string,
    rotation: pulumi.Input<string> | undefined,
    parent: pulumi.Resource,
): GeneratedSigningCertificate {
    const key = new tls.PrivateKey(
        `${name}-signing-key`,
        { algorithm: "RSA", rsaBits: GENERATED_KEY_BITS },
        { parent, replacementTrigger: rotation, additionalSecretOutputs: ["privateKeyPem", "privateKeyPemPkcs8", "privateKeyOpenssh"] },
    );
    const certificate = new tls.SelfSignedCert(
        `${name}-signing-certificate`,
        {
            privateKeyPem: key.privateKeyPem,
            subject: { commonName: `Creatio Identity Service token signing (${name})` },
            validityPeriodHours: GENERATED_CERTIFICATE_VALIDITY_HOURS,
            earlyRenewalHours: 365 * 24,
            allowedUses: ["digital_signature"],
        },
        { parent },
    );
    const pfxBase64 = pulumi.secret(
        pulumi
            .all([key.privateKeyPem, certificate.certPem])
            .apply(([keyPem, certificatePem]) => encodePkcs12(keyPem, certificatePem).toString("base64")),
    );
    return { key, certificate, pfxBase64 };
}
