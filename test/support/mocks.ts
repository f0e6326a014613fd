/**
 * Pulumi mocks for unit tests: every resource the component registers is recorded twice, once as the
 * engine sees it (type, name, plain inputs) and once as constructed (the raw Inputs and options, captured by a
 * transformation, so tests can check secrecy and parents).
 */
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { runTransformsOnMocks } from "../emulator/transforms";

export interface RegisteredResource {
    readonly type: string;
    readonly name: string;
    /** Inputs as the engine receives them: secrets already unwrapped. */
    readonly inputs: Record<string, any>;
}

export interface ConstructedResource {
    readonly type: string;
    readonly name: string;
    /** The Inputs exactly as passed to the constructor (Outputs, secrets and all). */
    readonly props: Record<string, any>;
    readonly opts: pulumi.ResourceOptions;
}

export const registered: RegisteredResource[] = [];

const certificates = path.join(__dirname, "..", "fixtures", "certificates");

/**
 * What the TLS provider returns for an RSA `PrivateKey` (its documented outputs: PKCS#1 `privateKeyPem`, PKCS#8,
 * public key) and a `SelfSignedCert` (`certPem` and the validity window), from one fixed key and certificate.
 */
function tlsState(type: "key" | "certificate"): Record<string, any> {
    if (type === "key") {
        const privateKeyPem = fs.readFileSync(path.join(certificates, "generated-key.pem"), "utf8");
        const key = crypto.createPrivateKey(privateKeyPem);
        return {
            privateKeyPem,
            privateKeyPemPkcs8: key.export({ type: "pkcs8", format: "pem" }),
            publicKeyPem: crypto.createPublicKey(key).export({ type: "spki", format: "pem" }),
        };
    }
    const certPem = fs.readFileSync(path.join(certificates, "generated-certificate.pem"), "utf8");
    const certificate = new crypto.X509Certificate(certPem);
    return {
        certPem,
        keyAlgorithm: "RSA",
        validityStartTime: new Date(certificate.validFrom).toISOString(),
        validityEndTime: new Date(certificate.validTo).toISOString(),
        readyForRenewal: false,
    };
}

/** Deterministic stand-ins for the values providers compute. */
function computedState(type: string, name: string, inputs: Record<string, any>): Record<string, any> {
    switch (type) {
        case "random:index/randomString:RandomString":
        case "random:index/randomPassword:RandomPassword": {
            const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
            let value = "";
            for (let i = 0; i < inputs.length; i++) {
                value += alphabet[(i * 7 + name.length * 13) % alphabet.length];
            }
            return { result: value };
        }
        case "docker:index/image:Image":
            return { repoDigest: `sha256:built-${name}`, imageName: inputs.imageName };
        case "docker:index/remoteImage:RemoteImage":
            return { imageId: `sha256:pulled-${name}`, repoDigest: `${inputs.name}@sha256:pulled` };
        case "tls:index/privateKey:PrivateKey":
            return tlsState("key");
        case "tls:index/selfSignedCert:SelfSignedCert":
            return tlsState("certificate");
        case "command:local:Command":
        case "command:remote:Command":
            return { stdout: "{}", stderr: "" };
        default:
            return {};
    }
}

/**
 * Starts a new mocked program run: instances from earlier tests no longer count for collision checks,
 * as in a real `pulumi up`, where one program is one run.
 */
export function resetMocks(): void {
    pulumi.runtime.setMocks(mocks, "project", "stack", false);
    // The engine runs `transforms`; the SDK's mock monitor would drop them (test/emulator/transforms.js).
    runTransformsOnMocks(pulumi);
}

type InvokeHandler = (args: pulumi.runtime.MockCallArgs) => Record<string, unknown> | Promise<Record<string, unknown>>;
const echoInputs: InvokeHandler = args => args.inputs;
let invokeHandler: InvokeHandler = echoInputs;

/**
 * How the mocks answer an invoke from now on (by default with its inputs): for a test whose program reads a
 * provider's answer, such as the IIS drift read-back. Without a handler, the default again.
 */
export function onInvoke(handler?: InvokeHandler): void {
    invokeHandler = handler ?? echoInputs;
}

const mocks: pulumi.runtime.Mocks = {
    newResource(args: pulumi.runtime.MockResourceArgs) {
        registered.push({ type: args.type, name: args.name, inputs: args.inputs });
        return { id: `${args.name}-id`, state: { ...args.inputs, ...computedState(args.type, args.name, args.inputs) } };
    },
    call(args: pulumi.runtime.MockCallArgs) {
        return invokeHandler(args);
    },
};
resetMocks();

/** Records every resource a component creates, with its raw Inputs and options. */
export class Recorder {
    readonly constructed: ConstructedResource[] = [];

    readonly transformation: pulumi.ResourceTransformation = args => {
        this.constructed.push({ type: args.type, name: args.name, props: args.props, opts: args.opts });
        return undefined;
    };

    byName(name: string): ConstructedResource {
        const found = this.constructed.find(r => r.name === name);
        if (!found) {
            throw new Error(`no resource named ${name}; have: ${this.constructed.map(r => r.name).join(", ")}`);
        }
        return found;
    }
}

/** The value of an Output (or any Input), once known; rejects when the Output fails. */
export function valueOf<T>(input: pulumi.Input<T>): Promise<pulumi.Unwrap<T>> {
    // `promise()` is the SDK's own accessor; unlike `apply`, it also carries a failure through.
    return (pulumi.output(input) as unknown as { promise(): Promise<pulumi.Unwrap<T>> }).promise();
}

/** Whether an Input is a secret (plain values are not). */
export async function isSecretInput(input: unknown): Promise<boolean> {
    return pulumi.Output.isInstance(input) ? pulumi.isSecret(input as pulumi.Output<unknown>) : false;
}

/** Waits until the mocks have seen every registration started so far. */
export function settle(): Promise<void> {
    return new Promise(resolve => setTimeout(resolve, 50));
}
