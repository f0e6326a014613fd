import "./support/mocks";
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { looksLikePfx, pfxFile, readPfxBase64 } from "../src/certificates";
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
