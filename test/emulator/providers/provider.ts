// The interface between the emulated engine and its emulated providers. It follows the provider protocol
// (pulumi/pulumi proto/pulumi/provider.proto: Check, Diff, Create, Read, Update, Delete) with values in the
// wire form of ../values.ts. Providers return plain outputs; the engine marks secrets as it does for real
// (pulumi/pulumi pkg/resource/deploy/step_executor.go: an output is secret when listed in
// additionalSecretOutputs or when the same-named input is secret).
import { PropertyMap } from "../values";

/** One input the provider refuses in Check. */
export interface CheckFailure {
    readonly property: string;
    readonly reason: string;
}

export interface CheckResult {
    /** The inputs the engine stores and diffs (provider defaults applied). */
    readonly inputs: PropertyMap;
    readonly failures: CheckFailure[];
}

export interface DiffResult {
    /** Top-level properties whose change needs a new resource. */
    readonly replaceKeys: string[];
    /** Every changed top-level property (replaceKeys included). */
    readonly changedKeys: string[];
    /** The provider's own delete-before-replace default for this resource type. */
    readonly deleteBeforeReplace: boolean;
    /**
     * The old values the diff compared, when not the old inputs: a Terraform bridge diffs the state its Read left, and
     * its detailed diff (what the display prints) names those values.
     */
    readonly oldValues?: PropertyMap;
}

/** What a provider operation may use from the engine. */
export interface ProviderContext {
    /** The provider's working directory: the program directory (plugins start in ctx.Pwd). */
    readonly pwd: string;
    /** The resource's URN, for messages. */
    readonly urn: string;
    /** customTimeouts for this operation in seconds, 0 when not set. */
    readonly timeoutSeconds: number;
    /** Sends a diagnostic to the engine's event log. */
    log(severity: "info" | "warning" | "error", message: string): void;
}

export interface CreateResult {
    readonly id: string;
    readonly outputs: PropertyMap;
}

export interface EmulatedProvider {
    /** The package name (the token's first segment). */
    readonly name: string;
    /** Provider-level configuration (explicit provider inputs), set before any resource operation. */
    configure?(config: PropertyMap): void;
    /**
     * DiffConfig of the provider's configuration: whether resources moving to this provider from one configured with
     * `olds` must be replaced (the engine asks the new provider, step_generator.go:2653-2684).
     */
    diffConfig(olds: PropertyMap, news: PropertyMap): boolean;
    check(type: string, olds: PropertyMap | undefined, news: PropertyMap): CheckResult;
    diff(type: string, oldInputs: PropertyMap, oldOutputs: PropertyMap, news: PropertyMap): DiffResult;
    /** With preview, nothing is created: outputs not known before creation are UNKNOWN. */
    create(type: string, inputs: PropertyMap, ctx: ProviderContext, preview: boolean): Promise<CreateResult>;
    update(type: string, id: string, oldOutputs: PropertyMap, news: PropertyMap, ctx: ProviderContext, preview: boolean): Promise<PropertyMap>;
    delete(type: string, id: string, outputs: PropertyMap, ctx: ProviderContext): Promise<void>;
    /** Reads the live state back (refresh); undefined when the resource is gone. */
    read(type: string, id: string, outputs: PropertyMap, ctx: ProviderContext): Promise<PropertyMap | undefined>;
    /** Runs a function (an invoke), in a preview as in an update; providers without functions leave it out. */
    invoke?(token: string, inputs: PropertyMap, ctx: ProviderContext): Promise<PropertyMap>;
}

/** The top-level keys whose plain values differ between two input maps. */
export function changedKeys(olds: PropertyMap, news: PropertyMap, equal: (a: unknown, b: unknown) => boolean): string[] {
    const keys = new Set([...Object.keys(olds), ...Object.keys(news)]);
    return [...keys].filter(k => !equal(olds[k] ?? null, news[k] ?? null)).sort();
}

/** Refuses a resource type the emulated provider does not implement. */
export function unsupportedType(provider: string, type: string): never {
    throw new Error(`the emulated ${provider} provider does not implement ${type}; add it to test/emulator/providers ` +
        "from the provider's source before a program uses it");
}
