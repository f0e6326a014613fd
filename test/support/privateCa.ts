// A private certificate authority for tests: a CA certificate and server certificates it issues, made in memory with
// node-forge (keys from Node's crypto, which is fast), as an organisation's own CA would issue them.
import * as crypto from "crypto";
import forge from "node-forge";

export interface IssuedCertificate {
    /** The certificate as PEM. */
    readonly certificatePem: string;
    /** Its private key as PEM (PKCS#8). */
    readonly keyPem: string;
    /** The certificate, its key and the CA certificate as a PFX (PKCS#12) with `password`. */
    pfx(password: string): Buffer;
}

export interface PrivateCa {
    /** The CA certificate as PEM: what `readiness.caCertificate` takes. */
    readonly certificatePem: string;
    /** A server certificate for `hosts` (DNS names or IP addresses) issued by this CA. */
    issue(hosts: readonly string[]): IssuedCertificate;
}

let serial = 1;

function keyPair(): { privateKey: forge.pki.rsa.PrivateKey; publicKey: forge.pki.rsa.PublicKey; keyPem: string } {
    const { privateKey } = crypto.generateKeyPairSync("rsa", { modulusLength: 2048 });
    const keyPem = privateKey.export({ type: "pkcs8", format: "pem" }).toString();
    const forgeKey = forge.pki.privateKeyFromPem(keyPem) as forge.pki.rsa.PrivateKey;
    return { privateKey: forgeKey, publicKey: forge.pki.setRsaPublicKey(forgeKey.n, forgeKey.e), keyPem };
}

function validity(certificate: forge.pki.Certificate): void {
    certificate.serialNumber = (serial++).toString(16).padStart(2, "0");
    certificate.validity.notBefore = new Date(Date.now() - 60 * 60 * 1000);
    certificate.validity.notAfter = new Date(Date.now() + 24 * 60 * 60 * 1000);
}

/** A new CA with its own key, named `commonName`. */
export function createPrivateCa(commonName: string): PrivateCa {
    const ca = keyPair();
    const caCertificate = forge.pki.createCertificate();
    caCertificate.publicKey = ca.publicKey;
    validity(caCertificate);
    const caName = [{ name: "commonName", value: commonName }];
    caCertificate.setSubject(caName);
    caCertificate.setIssuer(caName);
    caCertificate.setExtensions([
        { name: "basicConstraints", cA: true, critical: true },
        { name: "keyUsage", keyCertSign: true, cRLSign: true, critical: true },
        { name: "subjectKeyIdentifier" },
    ]);
    caCertificate.sign(ca.privateKey, forge.md.sha256.create());
    const certificatePem = forge.pki.certificateToPem(caCertificate);
    return {
        certificatePem,
        issue(hosts) {
            const server = keyPair();
            const certificate = forge.pki.createCertificate();
            certificate.publicKey = server.publicKey;
            validity(certificate);
            certificate.setSubject([{ name: "commonName", value: hosts[0] }]);
            certificate.setIssuer(caName);
            certificate.setExtensions([
                { name: "basicConstraints", cA: false },
                { name: "keyUsage", digitalSignature: true, keyEncipherment: true, critical: true },
                { name: "extKeyUsage", serverAuth: true },
                // subjectAltName types: 2 a DNS name, 7 an IP address (RFC 5280 section 4.2.1.6).
                { name: "subjectAltName", altNames: hosts.map(host => (/^[\d.]+$/.test(host) ? { type: 7, ip: host } : { type: 2, value: host })) },
                { name: "authorityKeyIdentifier", keyIdentifier: caCertificate.generateSubjectKeyIdentifier().getBytes() },
            ]);
            certificate.sign(ca.privateKey, forge.md.sha256.create());
            return {
                certificatePem: forge.pki.certificateToPem(certificate),
                keyPem: server.keyPem,
                pfx(password) {
                    const asn1 = forge.pkcs12.toPkcs12Asn1(server.privateKey, [certificate, caCertificate], password, { algorithm: "aes256" });
                    return Buffer.from(forge.asn1.toDer(asn1).getBytes(), "binary");
                },
            };
        },
    };
}
