/**
 * Collision checks between instances in one program. Two IdentityService instances that would take the same
 * container name or host port on one Docker host, or the same site, pool, port or folder on one server, would
 * fail halfway through a deployment (or, worse, overwrite each other). Each instance claims what it will take
 * before it creates anything, and a second claim of the same thing fails naming both instances.
 * Only values known at construction can be claimed; Outputs are left to the target to reject.
 */
import * as pulumi from "@pulumi/pulumi";
import { ArgumentCheck, isKnown } from "./validation";

/** Something an instance will take exclusively, on one host. */
export interface Claim {
    /** Identifies the host: a Docker host, a Windows server. */
    readonly host: string;
    /** What is taken, e.g. `container name "ids"` or `host port 8090`. */
    readonly what: string;
    /** The field it comes from, for the message. */
    readonly field: string;
    /** Where the host is, for the message. */
    readonly hostDescription: string;
}

/** One value a component would take: the field it comes from, the value (if known yet) and how to name it. */
export type ClaimedValue = readonly [field: string, value: pulumi.Input<unknown> | undefined, what: (value: unknown) => string];

/** The claims among some values that are known now; Outputs cannot be claimed before they resolve. */
export function knownClaims(host: string, hostDescription: string, values: readonly ClaimedValue[]): Claim[] {
    return values
        .filter(([, value]) => value !== undefined && isKnown(value))
        .map(([field, value, what]) => ({ host, what: what(value), field, hostDescription }));
}

interface Holder {
    readonly component: string;
    readonly field: string;
}

/** One registry per Pulumi program run: the engine connection (monitor) identifies the run. */
const registries = new WeakMap<object, Map<string, Holder>>();
const withoutMonitor = new Map<string, Holder>();

function registry(): Map<string, Holder> {
    const monitor = pulumi.runtime.getMonitor();
    if (!monitor) {
        return withoutMonitor;
    }
    let found = registries.get(monitor);
    if (!found) {
        found = new Map();
        registries.set(monitor, found);
    }
    return found;
}

/**
 * Takes the claims for a component, or throws (before the component creates anything) naming both instances
 * when another instance in this program already holds one of them.
 */
export function claimExclusively(component: string, claims: readonly Claim[]): void {
    const taken = registry();
    const check = new ArgumentCheck(component);
    const mine = new Map<string, Holder>();
    for (const claim of claims) {
        const key = `${claim.host}\u0000${claim.what}`;
        const other = taken.get(key);
        if (other && other.component !== component) {
            check.fail(
                claim.field,
                `${claim.what} ${claim.hostDescription} is already taken by IdentityService "${other.component}" (its ${other.field}); ` +
                    `give IdentityService "${component}" and IdentityService "${other.component}" different values`,
            );
        }
        mine.set(key, { component, field: claim.field });
    }
    check.throwIfAny();
    for (const [key, holder] of mine) {
        taken.set(key, holder);
    }
}

/** Identifies provider resources within a run, so claims on two Docker hosts never meet. */
const providerIds = new WeakMap<object, string>();
let nextProviderId = 1;

/**
 * A readable, unique key for a provider: its resource name (the SDK keeps it on the resource; it is not part of
 * the typed API, hence the fallback) and a counter, since two providers may share a name under different parents.
 */
export function providerKey(provider: pulumi.ProviderResource | undefined): string {
    if (!provider) {
        return "default";
    }
    let key = providerIds.get(provider);
    if (key === undefined) {
        const name = (provider as unknown as { __name?: string }).__name;
        key = `provider "${name ?? "unnamed"}" #${nextProviderId++}`;
        providerIds.set(provider, key);
    }
    return key;
}

/** The provider a component's options give for one package (recognised by its class), if any. */
export function providerFor(
    opts: pulumi.ComponentResourceOptions | undefined,
    isProvider: (value: unknown) => boolean,
): pulumi.ProviderResource | undefined {
    const candidates = [opts?.provider, ...(Array.isArray(opts?.providers) ? opts!.providers : Object.values(opts?.providers ?? {}))];
    return candidates.find(candidate => candidate !== undefined && isProvider(candidate)) as pulumi.ProviderResource | undefined;
}
