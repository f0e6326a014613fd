/**
 * Token-signing and TLS certificates: a PFX (PKCS#12) file on the deploying machine, a PFX as a base64 value, or PEM
 * certificate and key, each opened and checked before anything is created and then turned into secret base64; or a
 * signing certificate generated for the instance. Every signing PFX reaches the service in one form: no password,
 * 3DES and a SHA-1 MAC (see `encodePkcs12`).
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
 * A structural check only: `openCertificate` opens the file with its password.
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
 * and a re-run changes nothing. `chainPems` (a TLS certificate's intermediates) are stored after the certificate,
 * without a localKeyId, as `openssl pkcs12 -export -certfile` stores them.
 */
export function encodePkcs12(privateKeyPem: string, certificatePem: string, chainPems: readonly string[] = []): Buffer {
    const keyDer = crypto.createPrivateKey(privateKeyPem).export({ type: "pkcs8", format: "der" });
    const certificateDer = new crypto.X509Certificate(certificatePem).raw;
    const seed = crypto.createHmac("sha256", keyDer).update(certificateDer).digest();
    const salt = (purpose: string) => crypto.createHmac("sha256", seed).update(`pkcs12 salt ${purpose}`).digest().subarray(0, PKCS12_SALT_BYTES);
    const password = "";

    // Both bags carry the certificate's SHA-1 as localKeyId, which is how readers pair the key with its certificate.
    const attributes = set(sequence(oid(OID.localKeyId), set(octets(crypto.createHash("sha1").update(certificateDer).digest()))));
    const certificateBag = (bytes: Buffer, bagAttributes?: Node) =>
        sequence(oid(OID.certBag), explicit0(sequence(oid(OID.x509Certificate), explicit0(octets(bytes)))), ...(bagAttributes ? [bagAttributes] : []));
    const certificateBags = [certificateBag(certificateDer, attributes), ...chainPems.map(chain => certificateBag(new crypto.X509Certificate(chain).raw))];
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
                        sequence(oid(OID.data), pbeAlgorithm(salt("certificate")), implicit0Octets(encrypt3Des(password, salt("certificate"), der(sequence(...certificateBags))))),
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
// A supplied certificate: a PFX file, PFX bytes as base64, or PEM certificate and key, opened and checked

/** What a certificate is for: the service signs tokens with RS256, and Kestrel serves TLS with RSA or ECDSA. */
export type CertificateUse = "signing" | "tls";

/** The key types each use takes (Node's `KeyObject.asymmetricKeyType`). */
const KEY_TYPES: Record<CertificateUse, readonly string[]> = { signing: ["rsa"], tls: ["rsa", "ec"] };

/** The serverAuth extended key usage (RFC 5280 section 4.2.1.12), which Kestrel requires of a certificate that has an EKU. */
const SERVER_AUTH_OID = "1.3.6.1.5.5.7.3.1";

/** A certificate with its private key, opened: what every form of a supplied certificate comes to. */
export interface OpenedCertificate {
    /** The private key, PKCS#8 PEM. */
    readonly privateKeyPem: string;
    /** The certificate of that key, PEM. */
    readonly certificatePem: string;
    /** The other certificates given with it (its chain), PEM, in the order given. */
    readonly chainPems: readonly string[];
}

/** The fields of a certificate argument a problem can name. */
export type CertificateField = "path" | "pfxBase64" | "password" | "certificatePem" | "privateKeyPem";

/** The certificate opened, or what is wrong with it and which field to fix. */
export type OpenedPfx = ({ readonly ok: true } & OpenedCertificate) | { readonly ok: false; readonly problem: "password" | "content"; readonly message: string };

/** How a PFX is named in messages: the argument it came from. */
export interface PfxLabels {
    readonly use: CertificateUse;
    /** For example `the PFX at signingCertificate.path`. */
    readonly source: string;
    /** For example `signingCertificate.password`. */
    readonly passwordField: string;
}

const SIGNING_PFX_AT_PATH: PfxLabels = { use: "signing", source: "the PFX at signingCertificate.path", passwordField: "signingCertificate.password" };

/** Key types as messages name them. */
const KEY_TYPE_NAMES: Readonly<Record<string, string>> = { rsa: "RSA", "rsa-pss": "RSA-PSS", ec: "EC (ECDSA)", dsa: "DSA", ed25519: "Ed25519", ed448: "Ed448" };

/**
 * What is wrong with a key and the certificates given with it for a use, or the opened certificate: the key is of a
 * type the use takes, one certificate holds its public key (the others are its chain), and a TLS certificate with an
 * extended key usage allows server authentication. `where` words the messages for the form the key came in.
 */
function pairKeyWithCertificate(
    key: crypto.KeyObject,
    certificates: readonly crypto.X509Certificate[],
    use: CertificateUse,
    where: { readonly key: string; readonly noCertificate: string },
): { ok: true; opened: OpenedCertificate } | { ok: false; on: "key" | "certificate"; message: string } {
    const keyType = key.asymmetricKeyType ?? "unknown";
    if (!KEY_TYPES[use].includes(keyType)) {
        const named = KEY_TYPE_NAMES[keyType] ?? keyType;
        const message =
            use === "signing"
                ? `${where.key} that is not RSA; the Identity Service signs its tokens with RS256: give a certificate with an RSA key (this one is ${named})`
                : // Kestrel loads RSA, ECDSA and DSA keys (dotnet/aspnetcore src/Servers/Kestrel/Core/src/Internal/Certificates/CertificateConfigLoader.cs:100 @ 0b1cf03); TLS 1.3 and browsers no longer take DSA.
                  `${where.key} of type ${named}; Kestrel serves HTTPS with RSA or EC (ECDSA) keys: give a certificate with one of those`;
        return { ok: false, on: "key", message };
    }
    const own = certificates.find(certificate => certificate.checkPrivateKey(key));
    if (!own) {
        return { ok: false, on: "key", message: where.noCertificate };
    }
    const usages = own.keyUsage; // Node names the extended key usages so; undefined when the extension is absent.
    if (use === "tls" && usages !== undefined && usages.length > 0 && !usages.includes(SERVER_AUTH_OID)) {
        return {
            ok: false,
            on: "certificate",
            message: `holds a certificate whose extended key usage does not include serverAuth (${SERVER_AUTH_OID}), which Kestrel refuses for HTTPS; issue the certificate for server authentication`,
        };
    }
    return {
        ok: true,
        opened: {
            privateKeyPem: key.export({ type: "pkcs8", format: "pem" }).toString(),
            certificatePem: own.toString(),
            chainPems: certificates.filter(certificate => certificate !== own).map(certificate => certificate.toString()),
        },
    };
}

/**
 * Opens a PFX with its password, as the service would (an absent or empty password tries both encodings of "no
 * password", as Windows and .NET do), and returns its private key, the certificate that belongs to it and the other
 * certificates in the file (a chain). Any encryption PKCS#12 files use is read: AES (PBES2), 3DES and RC2 (node-forge
 * implements them all, so no OpenSSL legacy provider is needed). `labels` name the argument in messages (by default
 * the signing certificate's `path`).
 */
export function openPfx(bytes: Buffer, password: string | undefined, labels: PfxLabels = SIGNING_PFX_AT_PATH): OpenedPfx {
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
            ? `is missing: ${labels.source} is protected by a password; give it, or export the certificate without one`
            : open(noPassword).pfx
              ? `is set, but ${labels.source} has no password; remove ${labels.passwordField}`
              : `does not open ${labels.source} (its integrity check fails with this password); give the password the file was exported with`;
        return { ok: false, problem: "password", message };
    }
    // node-forge parses RSA keys and certificates only; of others it keeps the ASN.1 (lib/pkcs12.js), which Node reads.
    const bags = (type: string) => pfx.getBags({ bagType: type })[type] ?? [];
    const keyBags = [...bags(forge.pki.oids.pkcs8ShroudedKeyBag), ...bags(forge.pki.oids.keyBag)];
    if (keyBags.length === 0) {
        const needs = labels.use === "signing" ? "the service signs tokens with it" : "Kestrel serves HTTPS with it";
        return { ok: false, problem: "content", message: `holds no private key; export the certificate with its private key (${needs})` };
    }
    const keyBag = keyBags[0];
    const keyDer = keyBag.key ? der(forge.pki.wrapRsaPrivateKey(forge.pki.privateKeyToAsn1(keyBag.key))) : keyBag.asn1 ? der(keyBag.asn1) : undefined;
    let key: crypto.KeyObject;
    try {
        key = crypto.createPrivateKey({ key: keyDer ?? Buffer.alloc(0), format: "der", type: "pkcs8" });
    } catch (error) {
        return { ok: false, problem: "content", message: `holds a private key that cannot be read (${(error as Error).message}); export the certificate with its private key again` };
    }
    const certificates: crypto.X509Certificate[] = [];
    for (const bag of bags(forge.pki.oids.certBag)) {
        const node = bag.cert ? forge.pki.certificateToAsn1(bag.cert) : bag.asn1;
        try {
            if (node) {
                certificates.push(new crypto.X509Certificate(der(node)));
            }
        } catch {
            // A certificate Node cannot read cannot be the key's own; the pairing below says so if none is.
        }
    }
    const paired = pairKeyWithCertificate(key, certificates, labels.use, {
        key: "holds a private key",
        noCertificate: "holds no certificate for its private key; export the certificate together with its private key",
    });
    if (!paired.ok) {
        return { ok: false, problem: "content", message: paired.message };
    }
    return { ok: true, ...paired.opened };
}

/** The certificates of a PEM text (a certificate and its chain), or what is wrong with it. */
export function readPemCertificates(value: string): { certificates: crypto.X509Certificate[] } | { problem: string } {
    const blocks = typeof value === "string" ? value.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) : null;
    if (!blocks) {
        return { problem: "is not a PEM certificate: no -----BEGIN CERTIFICATE----- block" };
    }
    const certificates: crypto.X509Certificate[] = [];
    for (const block of blocks) {
        try {
            certificates.push(new crypto.X509Certificate(block));
        } catch (error) {
            return { problem: `holds a certificate that cannot be read (${(error as Error).message})` };
        }
    }
    return { certificates };
}

/** Checks that a value is one or more PEM certificates (a CA, or a chain) that parse as X.509. */
export const pemCertificate: Check<string> = value => {
    const read = readPemCertificates(value);
    if (!("problem" in read)) {
        return undefined;
    }
    return read.problem.startsWith("is not")
        ? "the value is not a PEM certificate; give the CA certificate's text, starting with -----BEGIN CERTIFICATE----- (for example fs.readFileSync(\"ca.pem\", \"utf8\"))"
        : `the value ${read.problem}; give the CA certificate as PEM`;
};

/** A certificate argument as given: exactly one source (`path`, `pfxBase64`, or `certificatePem` with `privateKeyPem`). */
export interface CertificateArgument {
    readonly path?: pulumi.Input<string>;
    readonly pfxBase64?: pulumi.Input<string>;
    readonly password?: pulumi.Input<string>;
    readonly certificatePem?: pulumi.Input<string>;
    readonly privateKeyPem?: pulumi.Input<string>;
}

/** A certificate's source, with its values as given (`V` = `pulumi.Input<string>`) or resolved (`V` = `string`). */
export type CertificateSource<V = pulumi.Input<string>> =
    | { readonly form: "path"; readonly path: V; readonly password?: V }
    | { readonly form: "pfxBase64"; readonly pfxBase64: V; readonly password?: V }
    | { readonly form: "pem"; readonly certificatePem: V; readonly privateKeyPem: V };

/** The fields of each form, in the order they are checked. */
const FORM_FIELDS: Record<CertificateSource["form"], readonly CertificateField[]> = {
    path: ["path", "password"],
    pfxBase64: ["pfxBase64", "password"],
    pem: ["certificatePem", "privateKeyPem"],
};

/** A source of `form` from the resolved values of its fields, in `FORM_FIELDS` order. */
function sourceOf(form: CertificateSource["form"], values: readonly (string | undefined)[]): CertificateSource<string> {
    return Object.fromEntries([["form", form], ...FORM_FIELDS[form].map((name, index) => [name, values[index]])]) as CertificateSource<string>;
}

/** The fields that hold secrets: never shown, and kept out of the engine's per-field report. */
const SECRET_FIELDS: ReadonlySet<CertificateField> = new Set(["pfxBase64", "password", "privateKeyPem"]);

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/**
 * What is wrong with a resolved certificate source for a use, naming the field (`field` is the argument, for example
 * `docker.https.certificate`); or the certificate, opened. Pure: a path is read, nothing else.
 */
export function openCertificate(
    field: string,
    use: CertificateUse,
    source: CertificateSource<string>,
): ({ ok: true } & OpenedCertificate) | { ok: false; field: CertificateField; message: string } {
    if (source.form === "pem") {
        const read = readPemCertificates(source.certificatePem);
        if ("problem" in read) {
            return { ok: false, field: "certificatePem", message: `${read.problem}; give the certificate (and its chain, leaf first) as PEM text, as @pulumi/tls returns it in certPem` };
        }
        // PKCS#8 (ENCRYPTED PRIVATE KEY) and OpenSSL's traditional format (Proc-Type: 4,ENCRYPTED) encrypt a PEM key.
        if (/-----BEGIN ENCRYPTED PRIVATE KEY-----|Proc-Type:\s*4,ENCRYPTED/.test(source.privateKeyPem)) {
            return { ok: false, field: "privateKeyPem", message: "is an encrypted private key; give it unencrypted (`openssl pkey -in key.pem -out plain-key.pem`): it is kept as a secret" };
        }
        let key: crypto.KeyObject;
        try {
            key = crypto.createPrivateKey(source.privateKeyPem);
        } catch {
            return {
                ok: false,
                field: "privateKeyPem",
                message: "is not a PEM private key; give the key as PEM text starting with -----BEGIN PRIVATE KEY----- (or RSA/EC PRIVATE KEY), as @pulumi/tls returns it in privateKeyPem",
            };
        }
        const paired = pairKeyWithCertificate(key, read.certificates, use, {
            key: "is a private key",
            noCertificate: `does not belong to the certificate in ${field}.certificatePem (no certificate there holds its public key); give the key the certificate was issued for`,
        });
        return paired.ok ? { ok: true, ...paired.opened } : { ok: false, field: paired.on === "key" ? "privateKeyPem" : "certificatePem", message: paired.message };
    }

    let bytes: Buffer;
    let labels: PfxLabels;
    if (source.form === "path") {
        const problem = pfxFile(source.path);
        if (problem !== undefined) {
            return { ok: false, field: "path", message: problem };
        }
        bytes = fs.readFileSync(source.path);
        labels = { use, source: `the PFX at ${field}.path`, passwordField: `${field}.password` };
    } else {
        const text = typeof source.pfxBase64 === "string" ? source.pfxBase64.replace(/\s+/g, "") : "";
        if (/-----BEGIN /.test(source.pfxBase64)) {
            return { ok: false, field: "pfxBase64", message: "holds PEM text, not a PFX; give PEM as `certificatePem` and `privateKeyPem` instead, or the .pfx file's bytes as base64 (`base64 -w0 certificate.pfx`)" };
        }
        if (!BASE64.test(text) || text.length % 4 !== 0) {
            return { ok: false, field: "pfxBase64", message: "is not base64; give the .pfx file's bytes as base64 (`base64 -w0 certificate.pfx`, or [Convert]::ToBase64String on Windows)" };
        }
        bytes = Buffer.from(text, "base64");
        if (!looksLikePfx(bytes)) {
            return { ok: false, field: "pfxBase64", message: "is base64, but not of a PFX (PKCS#12) file; export the certificate with its private key as .pfx and give that file's bytes as base64" };
        }
        labels = { use, source: `the PFX in ${field}.pfxBase64`, passwordField: `${field}.password` };
    }
    const opened = openPfx(bytes, source.password, labels);
    if (opened.ok) {
        return opened;
    }
    if (opened.problem === "password") {
        return { ok: false, field: "password", message: opened.message };
    }
    return source.form === "path" ? { ok: false, field: "path", message: `${describe(source.path)} ${opened.message}` } : { ok: false, field: "pfxBase64", message: opened.message };
}

/** A certificate argument checked: its source, with the values to use. */
export interface CheckedCertificate {
    readonly field: string;
    readonly use: CertificateUse;
    readonly source: CertificateSource;
    /** The checks the source is part of: a certificate that cannot be opened fails with their error. */
    readonly check?: ArgumentCheck;
}

/**
 * The source a certificate argument names, checked: exactly one of `path`, `pfxBase64`, or `certificatePem` with
 * `privateKeyPem`, and `password` only with a PFX. Undefined when no source is given (the caller decides what that
 * means) or the combination is wrong (then a problem is recorded).
 */
export function certificateSource(field: string, given: CertificateArgument, check: ArgumentCheck): CertificateSource | undefined {
    const pemGiven = given.certificatePem !== undefined || given.privateKeyPem !== undefined;
    const sources = [given.path !== undefined && "`path`", given.pfxBase64 !== undefined && "`pfxBase64`", pemGiven && "`certificatePem` and `privateKeyPem`"].filter(
        (name): name is string => name !== false,
    );
    if (sources.length > 1) {
        // The block holds secrets: the engine would print it beside a per-field entry (see `ArgumentCheck.error`).
        check.fail(field, `gives ${sources.join(" and ")}; give exactly one source: a .pfx file's \`path\`, its bytes as \`pfxBase64\`, or \`certificatePem\` with \`privateKeyPem\``, {
            secret: true,
        });
        return undefined;
    }
    if (pemGiven) {
        if (given.certificatePem === undefined) {
            check.fail(`${field}.certificatePem`, `is missing: \`privateKeyPem\` needs the certificate it belongs to; give the certificate (and its chain) as PEM`);
        }
        if (given.privateKeyPem === undefined) {
            check.fail(`${field}.privateKeyPem`, `is missing: \`certificatePem\` needs its private key; give the key as PEM (it is kept as a secret)`);
        }
        if (given.password !== undefined) {
            check.fail(`${field}.password`, "opens a PFX (`path` or `pfxBase64`), not a PEM key; remove it and give `privateKeyPem` unencrypted (it is kept as a secret)", { secret: true });
        }
        return given.certificatePem !== undefined && given.privateKeyPem !== undefined && given.password === undefined
            ? { form: "pem", certificatePem: given.certificatePem, privateKeyPem: given.privateKeyPem }
            : undefined;
    }
    if (given.path !== undefined) {
        return { form: "path", path: given.path, password: given.password };
    }
    if (given.pfxBase64 !== undefined) {
        return { form: "pfxBase64", pfxBase64: given.pfxBase64, password: given.password };
    }
    return undefined;
}

/**
 * Checks a certificate source for a use before anything is created: the certificate is read and opened as the
 * service would, and each problem names its field (`field` is the argument, for example `signingCertificate`). Values
 * known only later are checked when they resolve, with the same messages; secrets are never shown.
 */
export function checkCertificate(field: string, use: CertificateUse, source: CertificateSource, check: ArgumentCheck): CheckedCertificate {
    const fields = FORM_FIELDS[source.form];
    const given = source as unknown as Record<CertificateField, pulumi.Input<string> | undefined>;
    const values = fields.map(name => given[name]);
    const known = values.every(value => value === undefined || isKnown(value));
    const all: pulumi.Input<(string | undefined)[]> = known ? (values as (string | undefined)[]) : pulumi.all(values);
    // Each field's check opens the certificate; the last result is kept, so that it is opened once per value.
    let last: { values: unknown; result: ReturnType<typeof openCertificate> } | undefined;
    const open = (resolved: (string | undefined)[]) => {
        if (last?.values !== resolved) {
            last = { values: resolved, result: openCertificate(field, use, sourceOf(source.form, resolved)) };
        }
        return last.result;
    };
    for (const name of fields) {
        if (given[name] === undefined && name !== "password") {
            continue; // a missing password is still the password's problem
        }
        check.input(`${field}.${name}`, all, resolved => {
            const result = open(resolved);
            return !result.ok && result.field === name ? result.message : undefined;
        }, { secret: SECRET_FIELDS.has(name) });
    }
    return { field, use, source: secretSource(source), check };
}

/** The source with its secret values wrapped as Pulumi secrets, whatever the program passed. */
function secretSource(source: CertificateSource): CertificateSource {
    const secret = (value: pulumi.Input<string> | undefined) => (value === undefined ? undefined : pulumi.secret(value));
    switch (source.form) {
        case "path":
            return { form: "path", path: source.path, password: secret(source.password) };
        case "pfxBase64":
            return { form: "pfxBase64", pfxBase64: pulumi.secret(source.pfxBase64), password: secret(source.password) };
        case "pem":
            return { form: "pem", certificatePem: source.certificatePem, privateKeyPem: pulumi.secret(source.privateKeyPem) };
    }
}

/** The checked certificate, opened once its values resolve. */
function openedCertificate(certificate: CheckedCertificate): pulumi.Output<OpenedCertificate> {
    const fields = FORM_FIELDS[certificate.source.form];
    const given = certificate.source as unknown as Record<CertificateField, pulumi.Input<string> | undefined>;
    return pulumi.all(fields.map(name => given[name])).apply((values): pulumi.Output<OpenedCertificate> => {
        const opened = openCertificate(certificate.field, certificate.use, sourceOf(certificate.source.form, values));
        if (opened.ok) {
            return pulumi.output(opened as OpenedCertificate);
        }
        // The argument checks found this too: fail with their error (the same object, so it is reported once). Only a
        // file changed since they ran gets past them.
        const failure = (): OpenedCertificate => {
            throw new Error(`${certificate.field}.${opened.field}: can no longer be opened: ${opened.message}`);
        };
        const checked = certificate.check?.resolved();
        return checked ? checked.apply(failure) : pulumi.output(failure());
    });
}

/**
 * The supplied signing certificate, whatever its form, encoded as `encodePkcs12` encodes a generated one: no
 * password (so the service needs no password key, which the vendor does not document) and a cipher every supported
 * Windows Server imports (an AES-encrypted or password-protected file works on Server 2016 too). Base64, a secret.
 */
export function signingPfxBase64(certificate: CheckedCertificate): pulumi.Output<string> {
    return pulumi.secret(openedCertificate(certificate).apply(opened => encodePkcs12(opened.privateKeyPem, opened.certificatePem).toString("base64")));
}

/** The signing PFX at `path`, opened with `password` and encoded again (see `signingPfxBase64`). */
export function reencodedPfxBase64(path: pulumi.Input<string>, password: pulumi.Input<string> | undefined): pulumi.Output<string> {
    return signingPfxBase64({ field: "signingCertificate", use: "signing", source: { form: "path", path, password } });
}

/** A TLS certificate of a container target, checked before anything is created. */
export interface TlsCertificateSettings {
    /** The PFX as base64, a secret. */
    readonly pfxBase64: pulumi.Output<string>;
    /** Its password, if it has one (a secret: it travels only in the service's settings file). */
    readonly password?: pulumi.Input<string>;
}

/**
 * Checks a TLS certificate argument (`field` is its name, for example `docker.https.certificate`) and reads it into
 * the PFX Kestrel loads. A PFX (`path` or `pfxBase64`) reaches Kestrel as it is, with its password; PEM becomes a PFX
 * without a password (`encodePkcs12`), with the chain given after the certificate. The single entry point of every
 * target that serves HTTPS.
 */
export function tlsCertificateSettings(field: string, certificate: TlsCertificate, check: ArgumentCheck): TlsCertificateSettings {
    const source = certificateSource(field, certificate, check);
    if (source === undefined) {
        if (certificate.path === undefined && certificate.pfxBase64 === undefined && certificate.certificatePem === undefined && certificate.privateKeyPem === undefined) {
            check.fail(field, "has no certificate; give a .pfx file's `path`, its bytes as `pfxBase64`, or `certificatePem` with `privateKeyPem`", { secret: true });
        }
        // The problem is recorded: the component fails before it registers, so this value is never delivered.
        return { pfxBase64: pulumi.secret(pulumi.output("")) };
    }
    const checked = checkCertificate(field, "tls", source, check);
    switch (checked.source.form) {
        case "path":
            return { pfxBase64: readPfxBase64(checked.source.path), password: checked.source.password };
        case "pfxBase64": {
            const text = checked.source.pfxBase64;
            return { pfxBase64: pulumi.secret(pulumi.output(text).apply(value => value.replace(/\s+/g, ""))), password: checked.source.password };
        }
        case "pem":
            return {
                pfxBase64: pulumi.secret(
                    openedCertificate(checked).apply(opened => encodePkcs12(opened.privateKeyPem, opened.certificatePem, opened.chainPems).toString("base64")),
                ),
            };
    }
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
