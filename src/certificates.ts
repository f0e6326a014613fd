/**
 * PFX files on the deploying machine: checked before anything is created, then read into secret base64.
 */
import * as fs from "fs";
import * as pulumi from "@pulumi/pulumi";
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
