/**
 * Token-signing and TLS certificates as PFX (PKCS#12): files on the deploying machine, checked before anything is
 * created and then read into secret base64, or a signing certificate generated for the instance.
 */
import * as crypto from "crypto";
import * as fs from "fs";
import * as asn1js from "asn1js";
import * as pkijs from "pkijs";
import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import { Check, describe } from "./validation";

/**
 * Whether bytes look like a PKCS#12 (PFX) file: a DER SEQUENCE whose first element is the version INTEGER 3.
 * A structural check only; the password is checked by the service when it loads the file.
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
// The generated signing certificate

/** RSA key size of a generated signing key (the service signs its tokens with RS256). */
export const GENERATED_KEY_BITS = 2048;
/** Validity of a generated signing certificate: ten years. The service does not check it; clients may. */
export const GENERATED_CERTIFICATE_VALIDITY_HOURS = 10 * 365 * 24;
/**
 * PBKDF2 and MAC iterations of the PFX, as `openssl pkcs12 -export` uses by default. The PFX has an empty
 * password (like the vendor's sample), so the iterations only have to satisfy readers, not protect the key:
 * the key is protected by being a Pulumi secret.
 */
export const PKCS12_ITERATIONS = 2048;

const OID = {
    data: "1.2.840.113549.1.7.1",
    certBag: "1.2.840.113549.1.12.10.1.3",
    pkcs8ShroudedKeyBag: "1.2.840.113549.1.12.10.1.2",
    x509Certificate: "1.2.840.113549.1.9.22.1",
    localKeyId: "1.2.840.113549.1.9.21",
};

/**
 * A byte source that is a pure function of a seed (HMAC-SHA256 in counter mode). PKCS#12 wants random salts and
 * IVs; drawing them from this source instead makes the encoding of one key and certificate the same on every run,
 * so a re-run changes nothing. The seed is itself derived from the private key with a one-way function.
 */
type EngineCrypto = ConstructorParameters<typeof pkijs.CryptoEngine>[0]["crypto"];

function derivedBytes(seed: Buffer): EngineCrypto {
    let counter = 0;
    const fill = <T extends ArrayBufferView | null>(array: T): T => {
        if (array) {
            const target = new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
            for (let offset = 0; offset < target.length; offset += 32) {
                const block = crypto.createHmac("sha256", seed).update(`pkcs12 salt ${counter++}`).digest();
                target.set(block.subarray(0, Math.min(32, target.length - offset)), offset);
            }
        }
        return array;
    };
    return { subtle: crypto.webcrypto.subtle, getRandomValues: fill, randomUUID: () => crypto.randomUUID() } as unknown as EngineCrypto;
}

/**
 * Encodes a private key and its certificate as a PKCS#12 (PFX) file with an empty password, as
 * `openssl pkcs12 -export -passout pass:` does with OpenSSL 3's defaults (AES-256-CBC with PBKDF2-HMAC-SHA256,
 * a SHA-256 MAC), except that salts and IVs are derived from the key: the same inputs always give the same bytes.
 */
export async function encodePkcs12(privateKeyPem: string, certificatePem: string): Promise<Buffer> {
    const keyDer = crypto.createPrivateKey(privateKeyPem).export({ type: "pkcs8", format: "der" });
    const certificateDer = new crypto.X509Certificate(certificatePem).raw;
    const engine = new pkijs.CryptoEngine({
        name: "derived-salts",
        crypto: derivedBytes(crypto.createHmac("sha256", keyDer).update(certificateDer).digest()),
    });
    const password = new ArrayBuffer(0);
    const encryption = {
        password,
        contentEncryptionAlgorithm: { name: "AES-CBC", length: 256 },
        hmacHashAlgorithm: "SHA-256",
        iterationCount: PKCS12_ITERATIONS,
    };
    // Both bags carry the certificate's SHA-1 as localKeyId, which is how readers pair the key with its certificate.
    const localKeyId = new pkijs.Attribute({
        type: OID.localKeyId,
        values: [new asn1js.OctetString({ valueHex: crypto.createHash("sha1").update(certificateDer).digest() })],
    });

    const keyBag = new pkijs.PKCS8ShroudedKeyBag({ parsedValue: pkijs.PrivateKeyInfo.fromBER(keyDer) });
    await keyBag.makeInternalValues(encryption, engine);
    const certificateBag = new pkijs.CertBag({ parsedValue: pkijs.Certificate.fromBER(certificateDer) });

    const pfx = new pkijs.PFX({
        parsedValue: {
            integrityMode: 0, // password-based MAC
            authenticatedSafe: new pkijs.AuthenticatedSafe({
                parsedValue: {
                    safeContents: [
                        {
                            privacyMode: 1, // password-encrypted, as OpenSSL stores certificates
                            value: new pkijs.SafeContents({
                                safeBags: [new pkijs.SafeBag({ bagId: OID.certBag, bagValue: certificateBag, bagAttributes: [localKeyId] })],
                            }),
                        },
                        {
                            privacyMode: 0, // the key bag is encrypted itself
                            value: new pkijs.SafeContents({
                                safeBags: [new pkijs.SafeBag({ bagId: OID.pkcs8ShroudedKeyBag, bagValue: keyBag, bagAttributes: [localKeyId] })],
                            }),
                        },
                    ],
                },
            }),
        },
    });
    await pfx.parsedValue!.authenticatedSafe!.makeInternalValues({ safeContents: [encryption, {}] }, engine);
    await pfx.makeInternalValues(
        { password, iterations: PKCS12_ITERATIONS, pbkdf2HashAlgorithm: "SHA-256", hmacHashAlgorithm: "SHA-256" },
        engine,
    );
    return Buffer.from(pfx.toSchema().toBER(false));
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
            .apply(async ([keyPem, certificatePem]) => (await encodePkcs12(keyPem, certificatePem)).toString("base64")),
    );
    return { key, certificate, pfxBase64 };
}
