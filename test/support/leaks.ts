/**
 * Finds secret values in what the engine would store: every resource registration and the component's
 * registered outputs, captured in their serialized form (where Pulumi secrets carry the secret signature),
 * searched for each secret in plain, base64, UTF-16LE base64, URL-encoded and JSON-escaped form, also inside
 * base64 strings (an encoded PowerShell command, an uploaded file).
 */
import * as pulumi from "@pulumi/pulumi";

/** Pulumi's wire marker for a secret value. */
const SIGNATURE_KEY = "4dabf18193072939515e22adb298388d";
const SECRET_SIGNATURE = "1b47061264138c4ac30d75fd1eb44270";

export interface Captured {
    readonly kind: "resource" | "outputs";
    readonly type: string;
    readonly name: string;
    /** The serialized properties, secrets still marked. */
    readonly properties: unknown;
}

interface ProtoStruct {
    toJavaScript(): unknown;
}

/**
 * Taps the current (mock) monitor: every registration and every `registerOutputs` from now on is captured.
 * Call after `resetMocks()` and before constructing the program.
 */
export function captureRegistrations(): Captured[] {
    const captured: Captured[] = [];
    const monitor = pulumi.runtime.getMonitor() as any;
    const registerResource = monitor.registerResource.bind(monitor);
    monitor.registerResource = (request: any, callback: any) => {
        captured.push({
            kind: "resource",
            type: request.getType(),
            name: request.getName(),
            properties: (request.getObject() as ProtoStruct | undefined)?.toJavaScript(),
        });
        return registerResource(request, callback);
    };
    const registerResourceOutputs = monitor.registerResourceOutputs.bind(monitor);
    monitor.registerResourceOutputs = (request: any, callback: any) => {
        captured.push({
            kind: "outputs",
            type: "outputs",
            name: request.getUrn(),
            properties: (request.getOutputs() as ProtoStruct | undefined)?.toJavaScript(),
        });
        return registerResourceOutputs(request, callback);
    };
    return captured;
}

/** The forms in which a secret could give itself away. */
export function secretForms(secret: string): string[] {
    const forms = new Set([
        secret,
        Buffer.from(secret, "utf8").toString("base64"),
        Buffer.from(secret, "utf16le").toString("base64"),
        encodeURIComponent(secret),
        new URLSearchParams({ v: secret }).toString().slice(2),
        JSON.stringify(secret).slice(1, -1),
        JSON.stringify(JSON.stringify(secret)).slice(1, -1),
    ]);
    return [...forms].filter(form => form.length >= 6);
}

const BASE64_RUN = /[A-Za-z0-9+/]{16,}={0,2}/g;

/** A string and what it decodes to, where parts of it are base64. */
function readings(text: string): string[] {
    const result = [text];
    for (const run of text.match(BASE64_RUN) ?? []) {
        for (const shift of [0, 1, 2, 3]) {
            const aligned = run.slice(shift, shift + Math.floor((run.length - shift) / 4) * 4);
            const bytes = Buffer.from(aligned, "base64");
            result.push(bytes.toString("utf8"), bytes.toString("utf16le"), bytes.subarray(1).toString("utf16le"));
        }
    }
    return result;
}

export interface Leak {
    readonly where: string;
    readonly secretLabel: string;
}

/** Every place outside a Pulumi secret where one of the secrets shows. */
export function findLeaks(captured: readonly Captured[], secrets: Record<string, string>): Leak[] {
    const leaks: Leak[] = [];
    const patterns = Object.entries(secrets).map(([label, value]) => ({ label, forms: secretForms(value) }));
    const visit = (value: unknown, where: string): void => {
        if (typeof value === "string") {
            for (const reading of readings(value)) {
                for (const { label, forms } of patterns) {
                    if (forms.some(form => reading.includes(form))) {
                        leaks.push({ where, secretLabel: label });
                        return;
                    }
                }
            }
        } else if (Array.isArray(value)) {
            value.forEach((item, index) => visit(item, `${where}[${index}]`));
        } else if (value && typeof value === "object") {
            const record = value as Record<string, unknown>;
            if (record[SIGNATURE_KEY] === SECRET_SIGNATURE) {
                return; // a Pulumi secret: encrypted in state, masked in previews
            }
            for (const [key, item] of Object.entries(record)) {
                visit(item, `${where}.${key}`);
            }
        }
    };
    for (const entry of captured) {
        visit(entry.properties, `${entry.kind} ${entry.type} ${entry.name}`);
    }
    return leaks;
}

/** How many strings the scan looked at (for the report). */
export function countStrings(captured: readonly Captured[]): number {
    let count = 0;
    const visit = (value: unknown): void => {
        if (typeof value === "string") {
            count++;
        } else if (Array.isArray(value)) {
            value.forEach(visit);
        } else if (value && typeof value === "object") {
            Object.values(value).forEach(visit);
        }
    };
    captured.forEach(entry => visit(entry.properties));
    return count;
}
