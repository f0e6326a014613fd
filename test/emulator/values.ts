// Property values as they travel over the resource monitor protocol: google.protobuf.Struct values in which
// secrets, unknowns, assets and resource references are objects tagged with a signature key
// (pulumi/pulumi sdk/go/common/resource/sig/sig.go; @pulumi/pulumi runtime/rpc.js `specialSigKey`).
// The emulator keeps values in this wire form everywhere (state, plans, checkpoints), so nothing is lost or
// re-interpreted between the program and the emulated engine.

/** The key that marks a special value. */
export const SIG_KEY = "4dabf18193072939515e22adb298388d";
/** Signature of a secret: `{ [SIG_KEY]: SECRET_SIG, value }`. */
export const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";
/** Signature of a resource reference. */
export const RESOURCE_REFERENCE_SIG = "5cf8f73096256a8f31e491e813e4eb8e";
/** Signature of an output value (only sent when the monitor supports "outputValues"). */
export const OUTPUT_VALUE_SIG = "d0e6a833031e9bbcd3f4e8bde6ca49a4";
/** Signatures of assets and archives. */
export const ASSET_SIG = "c44067f5952c0a294b673a41bacb8c34";
export const ARCHIVE_SIG = "0def7320c3a5731c473e5ecbe6d01bc7";
/** The string that stands for an unknown value during preview (`UnknownStringValue` in the SDKs). */
export const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

export type PropertyValue = null | boolean | number | string | PropertyValue[] | PropertyMap;
export interface PropertyMap {
    [key: string]: PropertyValue;
}

function isObject(value: unknown): value is PropertyMap {
    return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** True when the value is a secret wrapper. */
export function isSecret(value: unknown): value is PropertyMap {
    return isObject(value) && value[SIG_KEY] === SECRET_SIG;
}

/** True when the value is the unknown marker. */
export function isUnknown(value: unknown): boolean {
    return value === UNKNOWN;
}

/** Wraps a value as a secret (once). */
export function secret(value: PropertyValue): PropertyValue {
    return isSecret(value) ? value : { [SIG_KEY]: SECRET_SIG, value };
}

/** The value inside a secret wrapper, or the value itself. */
export function unwrapSecret(value: PropertyValue): PropertyValue {
    return isSecret(value) ? (value.value as PropertyValue) : value;
}

/** True when the value or anything inside it is secret. */
export function containsSecrets(value: unknown): boolean {
    if (isSecret(value)) return true;
    if (Array.isArray(value)) return value.some(containsSecrets);
    if (isObject(value)) return Object.values(value).some(containsSecrets);
    return false;
}

/** True when the value or anything inside it is unknown. */
export function containsUnknowns(value: unknown): boolean {
    if (isUnknown(value)) return true;
    if (Array.isArray(value)) return value.some(containsUnknowns);
    if (isObject(value)) return Object.values(value).some(containsUnknowns);
    return false;
}

/** The plain value with every secret wrapper removed (what a provider works with). */
export function reveal(value: PropertyValue): PropertyValue {
    if (isSecret(value)) return reveal(value.value as PropertyValue);
    if (Array.isArray(value)) return value.map(reveal);
    if (isObject(value)) {
        const special = value[SIG_KEY];
        if (special === RESOURCE_REFERENCE_SIG || special === OUTPUT_VALUE_SIG) {
            throw new Error(`the emulator does not take ${special === OUTPUT_VALUE_SIG ? "output values" : "resource references"} ` +
                "(it answers SupportsFeature with false for them, so the SDK must not send them)");
        }
        return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, reveal(v)]));
    }
    return value;
}

/** Deep equality of two property values, secret wrappers included (a value turning secret is a change). */
export function deepEqual(a: unknown, b: unknown): boolean {
    if (a === b) return true;
    if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((v, i) => deepEqual(v, b[i]));
    if (isObject(a) && isObject(b)) {
        const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
        return [...keys].every(k => deepEqual(a[k], b[k]));
    }
    return false;
}

/** Deep equality of the plain values (secret wrappers ignored), as providers compare. */
export function plainEqual(a: PropertyValue | undefined, b: PropertyValue | undefined): boolean {
    if (a === undefined || b === undefined) return a === b;
    return deepEqual(reveal(a), reveal(b));
}

/** Drops `null` entries of a map: the protocol treats a null property as absent. */
export function withoutNulls(map: PropertyMap): PropertyMap {
    return Object.fromEntries(Object.entries(map).filter(([, v]) => v !== null && v !== undefined));
}
