// The emulated engine's planning: one Deployment per `pulumi preview`, `up`, `destroy` or `refresh`. It turns each
// RegisterResource into a step the way pulumi/pulumi pkg/resource/deploy/step_generator.go does, runs it against
// an emulated provider, and keeps the resulting state. Rules taken from the engine (pulumi/pulumi @ v3.248.0; the
// conformance table of README.md gives each rule's lines and the test that pins it):
// - URNs: `urn:pulumi:<stack>::<project>::<qualified type>::<name>`, the qualified type prefixed by the parent's
//   (`parent$type`) unless the parent is the stack (sdk/go/common/resource/urn.go NewURN).
// - Old state is found by URN or by any alias URN (step_generator.go generateAliases / olds lookup); entries marked
//   for deletion (`delete: true`, the old halves of replacements a failed run left) are never olds
//   (deployment.go:521-524) and are deleted at the end (GenerateDeletes, step_generator.go:2210-2241).
// - ignoreChanges: the old input value replaces the new one before Check (step_generator.go processIgnoreChanges).
// - Diff: the provider's diff; replaceOnChanges paths turn a change inside them into a replacement
//   (applyReplaceOnChanges, 2911-3002); a change of provider replaces only when the new provider's DiffConfig says
//   so (providerChanged, 2613-2690); a replacementTrigger that changed or is unknown on either side replaces without
//   asking the provider (shouldTriggerReplace, 3422-3437), and an unknown one fails an update (1679-1684).
// - Replacement: Check runs again on the program's values, without ignoreChanges (1882-1900); delete-before-replace
//   when the option says so or else the provider default; otherwise create-before-delete, the old resource deleted
//   after the program finishes.
// - Deletes at the end, of resources not registered again and of old halves of replacements, form one
//   dependency-ordered schedule: a resource goes once nothing condemned depends on it (ScheduleDeletes, 2560-2609).
// - Secrets: on every step with a new state but the replace itself (creates, updates, sames), an output is made
//   secret when named in additionalSecretOutputs, unknowns included, or when the same-named input is secret
//   (step_executor.go:518-564; a same keeps the old outputs, step.go:154-156).
// - Preview (dry run): nothing is created; a created or changed resource's outputs not known before the
//   provider runs are unknown, and unknown ids are sent as "" (the SDK reads an empty id as unknown).
// - Default providers: `pulumi:providers:<pkg>::default_<version>` registered in state like any resource
//   (pkg/resource/deploy/providers/registry.go), configured from the stack's `<pkg>:*` configuration.
// - protect: deleting a protected resource fails.
// - `--replace <urn>`: the resource is replaced, its diff blamed on the id, without asking the provider
//   (isTargetedReplace and diff, step_generator.go:195-202, 2700-2703).
// - retainOnDelete: a delete (of a resource gone from the program, or the old half of a replacement) drops the
//   resource from the state without calling the provider, as the deleted state says, not the program's new value
//   (step.go:630); every step with a new state, a same included, stores the program's value (step_generator.go:714-746; the
//   snapshot is written for that alone, pkg/backend/snapshot.go:263-265).
// - customTimeouts reach the provider as the operation's timeout.
import * as crypto from "crypto";
import { replaceOnChangesKeys } from "./propertyPaths";
import { EmulatedProvider, ProviderContext } from "./providers/provider";
import {
    PropertyMap, PropertyValue, UNKNOWN, containsUnknowns, deepEqual, isSecret, reveal, secret,
} from "./values";

/** `delete-replaced`: the old half of a replacement deleted at the end (not a logical step: not shown, not counted). */
export type Operation = "same" | "create" | "update" | "replace" | "delete" | "delete-replaced" | "refresh";

/** One resource in the checkpoint, as the engine's `ResourceV3` keeps it. */
export interface ResourceState {
    urn: string;
    type: string;
    custom: boolean;
    id?: string;
    inputs: PropertyMap;
    outputs: PropertyMap;
    parent?: string;
    dependencies: string[];
    propertyDependencies: Record<string, string[]>;
    provider?: string;
    protect?: boolean;
    additionalSecretOutputs?: string[];
    aliases?: string[];
    customTimeouts?: CustomTimeouts;
    deleteBeforeReplace?: boolean;
    retainOnDelete?: boolean;
    replacementTrigger?: PropertyValue;
    /** Pending deletion: the old half of a create-before-delete replacement whose run failed before deleting it. */
    delete?: boolean;
}

export interface CustomTimeouts {
    create?: string;
    update?: string;
    delete?: string;
}

/** One planned or executed step, what a preview shows. */
export interface Step {
    readonly op: Operation;
    readonly urn: string;
    readonly type: string;
    readonly old?: ResourceState;
    readonly new?: ResourceState;
    /** Changed top-level input keys (update and replace). */
    readonly changedKeys: string[];
    /** Keys that forced the replacement. */
    readonly replaceKeys: string[];
    /** For a replacement: whether the old resource goes first. */
    readonly deleteBeforeReplace?: boolean;
    /** The old values the provider's diff compared (a bridged resource's Read-back state), shown as the "before". */
    readonly oldValues?: PropertyMap;
}

export interface Diagnostic {
    readonly severity: string;
    readonly message: string;
    readonly urn?: string;
}

/** What the engine needs to know about the registration request (decoded from the RPC). */
export interface Registration {
    type: string;
    name: string;
    parent: string;
    custom: boolean;
    remote: boolean;
    object: PropertyMap;
    provider: string;
    version: string;
    dependencies: string[];
    propertyDependencies: Record<string, string[]>;
    protect?: boolean;
    deleteBeforeReplace?: boolean;
    retainOnDelete?: boolean;
    ignoreChanges: string[];
    replaceOnChanges: string[];
    additionalSecretOutputs: string[];
    aliasURNs: string[];
    customTimeouts?: CustomTimeouts;
    /** The replacementTrigger option: a change of this value replaces the resource. */
    replacementTrigger?: PropertyValue;
}

export interface RegistrationResult {
    urn: string;
    id: string;
    outputs: PropertyMap;
}

/** Makes a provider instance for a package; `pwd` is its working directory (plugins start in ctx.Pwd). */
export type ProviderFactory = (pkg: string, pwd: string) => EmulatedProvider;

export interface DeploymentOptions {
    readonly project: string;
    readonly stack: string;
    readonly dryRun: boolean;
    readonly olds: ResourceState[];
    readonly providers: ProviderFactory;
    /** The program directory: providers run there. */
    readonly pwd: string;
    /** Stack configuration, plain values by `namespace:key` (for default providers). */
    readonly config: Record<string, string>;
    /** `pulumi up --replace <urn>`: these resources are replaced whatever their diff. */
    readonly replaceTargets?: readonly string[];
}

/** Parses a Go duration as customTimeouts take it ("5m", "30s", "1h30m"). */
export function durationSeconds(text: string | undefined): number {
    if (!text) return 0;
    const units: Record<string, number> = { h: 3600, m: 60, s: 1, ms: 0.001 };
    let total = 0;
    const pattern = /(\d+(?:\.\d+)?)(ms|h|m|s)/g;
    let match: RegExpExecArray | null;
    let consumed = "";
    while ((match = pattern.exec(text)) !== null) {
        total += Number(match[1]) * units[match[2]];
        consumed += match[0];
    }
    if (consumed !== text) throw new Error(`customTimeouts: "${text}" is not a duration such as "5m" or "1h30m"`);
    return total;
}

function qualifiedType(urn: string): string {
    return urn.split("::")[2];
}

function isProviderType(type: string): boolean {
    return type.startsWith("pulumi:providers:");
}

/**
 * A provider's configuration as DiffConfig gets it: `FilterProviderConfig` (pkg/resource/deploy/providers/registry.go:
 * 453-462) drops the engine's internal key; the emulator records the plugin version as `version`, dropped the same.
 */
function filterProviderConfig(inputs: PropertyMap): PropertyMap {
    return Object.fromEntries(Object.entries(inputs).filter(([key]) => key !== "__internal" && key !== "version"));
}

function getPath(map: PropertyMap, path: string): PropertyValue | undefined {
    let value: PropertyValue | undefined = map;
    for (const part of path.split(".")) {
        if (value === null || typeof value !== "object" || Array.isArray(value)) return undefined;
        value = (value as PropertyMap)[part];
    }
    return value;
}

function setPath(map: PropertyMap, path: string, value: PropertyValue | undefined): PropertyMap {
    const parts = path.split(".");
    const copy: PropertyMap = { ...map };
    let cursor = copy;
    for (const part of parts.slice(0, -1)) {
        const next = cursor[part];
        if (next === null || typeof next !== "object" || Array.isArray(next)) return copy;
        cursor[part] = { ...(next as PropertyMap) };
        cursor = cursor[part] as PropertyMap;
    }
    const last = parts[parts.length - 1];
    const entries = Object.entries(cursor).filter(([k]) => k !== last);
    if (value !== undefined) entries.push([last, value]);
    for (const key of Object.keys(cursor)) Reflect.deleteProperty(cursor, key);
    Object.assign(cursor, Object.fromEntries(entries));
    return copy;
}

/**
 * Marks outputs secret as step_executor.go:518-564 does: listed in additionalSecretOutputs (an unknown output too:
 * `resource.MakeSecret` wraps a computed value), or the same-named input is secret.
 */
export function markSecrets(outputs: PropertyMap, inputs: PropertyMap, additionalSecretOutputs: string[]): PropertyMap {
    return Object.fromEntries(Object.entries(outputs).map(([key, value]) => {
        const shouldBeSecret = additionalSecretOutputs.includes(key) || isSecret(inputs[key]);
        return [key, shouldBeSecret ? secret(value) : value];
    }));
}

/** `shouldTriggerReplace` (step_generator.go:3422-3437): unknown on either side replaces; null on either side never; else a change. */
export function shouldTriggerReplace(next: PropertyValue | undefined, previous: PropertyValue | undefined): boolean {
    if (containsUnknowns(next) || containsUnknowns(previous)) return true;
    if (next === undefined || next === null || previous === undefined || previous === null) return false;
    return !deepEqual(reveal(next), reveal(previous));
}

/**
 * `ScheduleDeletes` (step_generator.go:2560-2609): rounds of resources nothing else condemned depends on (through
 * dependencies, property dependencies, parent or provider), computed from the bottom and then reversed, so that
 * dependents go first. Within a round the real engine deletes in parallel; here, newest state entry first.
 */
export function scheduleDeletes(condemned: ResourceState[]): ResourceState[][] {
    const dependenciesOf = (res: ResourceState) => new Set([
        ...res.dependencies, ...Object.values(res.propertyDependencies ?? {}).flat(),
        ...(res.parent ? [res.parent] : []), ...(res.provider ? [res.provider.slice(0, res.provider.lastIndexOf("::"))] : []),
    ]);
    const remaining = [...condemned];
    const rounds: ResourceState[][] = [];
    while (remaining.length > 0) {
        const round = remaining.filter(res => {
            const deps = dependenciesOf(res);
            return !remaining.some(other => other !== res && other.urn !== res.urn && deps.has(other.urn));
        });
        if (round.length === 0) throw new Error(`a dependency cycle among ${remaining.map(r => r.urn).join(", ")}`);
        for (const res of round) remaining.splice(remaining.indexOf(res), 1);
        rounds.push(round.reverse());
    }
    return rounds.reverse();
}

/** A step failure with the resource it belongs to. */
export class StepError extends Error {
    constructor(readonly urn: string, message: string) {
        super(`${urn}: ${message}`);
    }
}

export class Deployment {
    /** The logical steps, what a preview shows. */
    readonly steps: Step[] = [];
    /** Deletes of the old halves of replacements: steps the engine runs but does not show or count (not logical). */
    readonly replacedDeletes: Step[] = [];
    readonly diagnostics: Diagnostic[] = [];
    /** New state in registration order. */
    readonly news = new Map<string, ResourceState>();
    readonly failures: Error[] = [];
    rootUrn = "";
    /** Called on the first failed step: the CLI then cancels the program (see stack.ts). */
    onFailure?: () => void;
    private readonly oldByUrn = new Map<string, ResourceState>();
    private readonly consumedOlds = new Set<string>();
    /** Old resources of replacements, deleted at the end: those a failed run left marked, then this run's. */
    private readonly pendingDeletes: ResourceState[] = [];
    private readonly deletedOlds = new Set<string>();
    private readonly providerInstances = new Map<string, EmulatedProvider>();

    constructor(private readonly options: DeploymentOptions) {
        for (const old of options.olds) {
            // Entries pending deletion are not olds (deployment.go:521-524): nothing diffs against them.
            if (old.delete) this.pendingDeletes.push(old);
            else this.oldByUrn.set(old.urn, old);
        }
    }

    urnFor(type: string, name: string, parent: string): string {
        const parentType = parent && !this.isStack(parent) ? `${qualifiedType(parent)}$` : "";
        return `urn:pulumi:${this.options.stack}::${this.options.project}::${parentType}${type}::${name}`;
    }

    private isStack(urn: string): boolean {
        return qualifiedType(urn) === "pulumi:pulumi:Stack";
    }

    private findOld(urn: string, aliases: string[]): ResourceState | undefined {
        for (const candidate of [urn, ...aliases]) {
            const old = this.oldByUrn.get(candidate);
            if (old && !this.consumedOlds.has(old.urn)) return old;
        }
        return undefined;
    }

    log(severity: string, message: string, urn?: string): void {
        this.diagnostics.push({ severity, message, urn });
    }

    private context(urn: string, timeout: string | undefined): ProviderContext {
        return {
            pwd: this.options.pwd,
            urn,
            timeoutSeconds: durationSeconds(timeout),
            log: (severity, message) => this.log(severity, message, urn),
        };
    }

    /** The provider instance for a resource: explicit ("urn::id") or the package's default. */
    private async providerFor(reg: Registration, urn: string): Promise<{ ref: string; provider: EmulatedProvider }> {
        const pkg = reg.type.split(":")[0];
        let providerUrn: string;
        let ref = reg.provider;
        if (!ref) {
            const version = reg.version ? `_${reg.version.replace(/[.-]/g, "_")}` : "";
            providerUrn = this.urnFor(`pulumi:providers:${pkg}`, `default${version}`, "");
            if (!this.news.has(providerUrn)) {
                const config = Object.fromEntries(Object.entries(this.options.config)
                    .filter(([k]) => k.startsWith(`${pkg}:`)).map(([k, v]) => [k.slice(pkg.length + 1), v]));
                await this.register({
                    type: `pulumi:providers:${pkg}`, name: `default${version}`, parent: "", custom: true, remote: false,
                    object: { ...config, ...(reg.version ? { version: reg.version } : {}) }, provider: "", version: "",
                    dependencies: [], propertyDependencies: {}, ignoreChanges: [], replaceOnChanges: [],
                    additionalSecretOutputs: [], aliasURNs: [],
                });
            }
            const state = this.news.get(providerUrn)!;
            ref = `${providerUrn}::${state.id ?? UNKNOWN}`;
        } else {
            providerUrn = ref.slice(0, ref.lastIndexOf("::"));
        }
        const provider = this.providerInstances.get(providerUrn);
        if (!provider) throw new StepError(urn, `provider ${ref} was not registered before the resource that uses it`);
        if (provider.name !== pkg) throw new StepError(urn, `provider ${providerUrn} is a ${provider.name} provider, not a ${pkg} one`);
        return { ref, provider };
    }

    /**
     * Invoke: the function's provider (the one the request names, else the package's default, registered as for a
     * resource) runs it, in a preview as in an update (the request carries `Preview: DryRun`; no step, nothing kept in
     * the state, so every run calls it again), and a provider's error reads `invocation of <tok> returned an error:
     * <error>` (pulumi/pulumi pkg/resource/deploy/source_eval.go:902-1003 @ v3.248.0).
     */
    async invoke(token: string, args: PropertyMap, provider: string, version: string): Promise<PropertyMap> {
        const found = await this.providerFor({ type: token, provider, version } as Registration, token);
        if (!found.provider.invoke) {
            throw new Error(`the emulated ${found.provider.name} provider implements no function; ${token} was invoked`);
        }
        try {
            return await found.provider.invoke(token, args, this.context(token, undefined));
        } catch (error) {
            throw new Error(`invocation of ${token} returned an error: ${(error as Error).message}`);
        }
    }

    /** RegisterResource: plans the step, runs it (unless preview) and returns what the SDK gets back. */
    async register(reg: Registration): Promise<RegistrationResult> {
        const urn = this.urnFor(reg.type, reg.name, reg.parent);
        try {
            return await this.registerUnchecked(reg, urn);
        } catch (error) {
            const failure = error instanceof StepError ? error : new StepError(urn, (error as Error).message);
            this.failures.push(failure);
            if (this.failures.length === 1) this.onFailure?.();
            throw failure;
        }
    }

    private async registerUnchecked(reg: Registration, urn: string): Promise<RegistrationResult> {
        if (this.news.has(urn)) throw new StepError(urn, "Duplicate resource URN; try giving it a unique name");
        if (reg.remote) {
            throw new StepError(urn, "the emulator does not construct remote components through RegisterResource; " +
                "start the component's plugin and call Construct (test/emulator/plugin.ts)");
        }
        const old = this.findOld(urn, reg.aliasURNs);
        if (old) this.consumedOlds.add(old.urn);
        const base: ResourceState = {
            urn, type: reg.type, custom: reg.custom, inputs: reg.object, outputs: {},
            parent: reg.parent || undefined, dependencies: reg.dependencies, propertyDependencies: reg.propertyDependencies,
            protect: reg.protect, additionalSecretOutputs: reg.additionalSecretOutputs.length ? reg.additionalSecretOutputs : undefined,
            aliases: reg.aliasURNs.length ? reg.aliasURNs : undefined, customTimeouts: reg.customTimeouts,
            deleteBeforeReplace: reg.deleteBeforeReplace, retainOnDelete: reg.retainOnDelete, replacementTrigger: reg.replacementTrigger,
        };
        if (!reg.custom) return this.registerComponent(base, old);
        if (isProviderType(reg.type)) return this.registerProvider(base, old);

        const { ref, provider } = await this.providerFor(reg, urn);
        base.provider = ref;
        let news = reg.object;
        if (old) {
            for (const path of reg.ignoreChanges) news = setPath(news, path, getPath(old.inputs, path));
        }
        const checked = this.check(provider, reg.type, urn, old?.inputs, news);
        base.inputs = checked;
        const dryRun = this.options.dryRun;

        if (!old) {
            const created = await provider.create(reg.type, checked, this.context(urn, reg.customTimeouts?.create), dryRun);
            return this.record({ op: "create", urn, type: reg.type, new: base, changedKeys: [], replaceKeys: [] }, base, created.id, created.outputs);
        }

        // An unknown replacementTrigger is fine at preview and an error at update (step_generator.go:1679-1684).
        if (!dryRun && containsUnknowns(reg.replacementTrigger)) throw new StepError(urn, `replacement trigger contains unknowns for ${urn}`);
        const triggered = shouldTriggerReplace(reg.replacementTrigger, old.replacementTrigger);
        let changed: string[];
        let replaceKeys: Set<string>;
        let providerDeleteBeforeReplace = false;
        let oldValues: PropertyMap | undefined;
        if (this.options.replaceTargets?.includes(urn)) {
            // A targeted replace blames the id and asks no provider (step_generator.go:195-202, 2700-2703).
            changed = ["id"];
            replaceKeys = new Set(["id"]);
        } else if (triggered) {
            // The provider's Diff is not asked (step_generator.go:1691-1696).
            changed = ["replacementTrigger"];
            replaceKeys = new Set(["replacementTrigger"]);
        } else if (this.providerChanged(old, ref, provider)) {
            changed = ["provider"];
            replaceKeys = new Set(["provider"]);
        } else {
            const diff = provider.diff(reg.type, old.inputs, old.outputs, checked);
            changed = diff.changedKeys;
            replaceKeys = new Set([...diff.replaceKeys, ...replaceOnChangesKeys(diff.changedKeys, reveal(old.inputs) as PropertyMap, reveal(checked) as PropertyMap, reg.replaceOnChanges)]);
            providerDeleteBeforeReplace = diff.deleteBeforeReplace;
            oldValues = diff.oldValues;
        }

        if (changed.length === 0) {
            const step: Step = { op: "same", urn, type: reg.type, old, new: base, changedKeys: [], replaceKeys: [] };
            return this.record(step, base, old.id!, old.outputs);
        }
        if (replaceKeys.size === 0) {
            const outputs = await this.keepOldOnFailure(old, provider.update(reg.type, old.id!, old.outputs, checked, this.context(urn, reg.customTimeouts?.update), dryRun));
            return this.record({ op: "update", urn, type: reg.type, old, new: base, changedKeys: changed, replaceKeys: [], oldValues }, base, old.id!, outputs);
        }
        // A replacement computes the inputs afresh: Check on the program's values, without ignoreChanges or olds
        // (step_generator.go:1882-1900).
        const replacementInputs = this.check(provider, reg.type, urn, undefined, reg.object);
        base.inputs = replacementInputs;
        const deleteBeforeReplace = reg.deleteBeforeReplace ?? providerDeleteBeforeReplace;
        const step: Step = {
            op: "replace", urn, type: reg.type, old, new: base, changedKeys: changed, replaceKeys: [...replaceKeys].sort(), deleteBeforeReplace, oldValues,
        };
        if (deleteBeforeReplace && !dryRun) await this.deleteResource(old);
        const creating = provider.create(reg.type, replacementInputs, this.context(urn, reg.customTimeouts?.create), dryRun);
        const created = deleteBeforeReplace ? await creating : await this.keepOldOnFailure(old, creating);
        if (!deleteBeforeReplace) this.pendingDeletes.push(old);
        return this.record(step, base, created.id, created.outputs);
    }

    /**
     * A failed update, or a failed create of a create-before-delete replacement, leaves the old resource in the
     * snapshot as it was (the step that would change it never completed).
     */
    private async keepOldOnFailure<T>(old: ResourceState, operation: Promise<T>): Promise<T> {
        try {
            return await operation;
        } catch (error) {
            this.consumedOlds.delete(old.urn);
            throw error;
        }
    }

    private check(provider: EmulatedProvider, type: string, urn: string, olds: PropertyMap | undefined, news: PropertyMap): PropertyMap {
        const checked = provider.check(type, olds, news);
        if (checked.failures.length > 0) {
            throw new StepError(urn, checked.failures.map(f => `${type}: property ${f.property}: ${f.reason}`).join("; "));
        }
        return checked.inputs;
    }

    /**
     * `providerChanged` (step_generator.go:2613-2690): the same provider reference is no change; a resource moving
     * between providers is replaced only when the new provider's DiffConfig of the old provider's inputs against the
     * new one's says so.
     */
    private providerChanged(old: ResourceState, ref: string, provider: EmulatedProvider): boolean {
        if (old.provider === ref) return false;
        if (!old.provider) return true;
        const oldProviderUrn = old.provider.slice(0, old.provider.lastIndexOf("::"));
        const newProviderUrn = ref.slice(0, ref.lastIndexOf("::"));
        if (oldProviderUrn === newProviderUrn) return false;
        const oldProvider = this.oldByUrn.get(oldProviderUrn);
        const newProvider = this.news.get(newProviderUrn);
        if (!oldProvider || !newProvider) throw new StepError(old.urn, `the provider ${oldProvider ? newProviderUrn : oldProviderUrn} is in neither state`);
        return provider.diffConfig(filterProviderConfig(oldProvider.inputs), filterProviderConfig(newProvider.inputs));
    }

    private record(step: Step, state: ResourceState, id: string, outputs: PropertyMap): RegistrationResult {
        state.id = id;
        state.outputs = markSecrets(outputs, state.inputs, state.additionalSecretOutputs ?? []);
        this.news.set(state.urn, state);
        this.steps.push(step);
        return { urn: state.urn, id: id === UNKNOWN ? "" : id, outputs: state.outputs };
    }

    private registerComponent(state: ResourceState, old: ResourceState | undefined): RegistrationResult {
        if (!state.parent && qualifiedType(state.urn) === "pulumi:pulumi:Stack") this.rootUrn = state.urn;
        state.outputs = old?.outputs ?? {};
        const op: Operation = !old ? "create" : deepEqual(old.inputs, state.inputs) ? "same" : "update";
        const changed = old ? Object.keys({ ...old.inputs, ...state.inputs }).filter(k => !deepEqual(old.inputs[k], state.inputs[k])) : [];
        this.news.set(state.urn, state);
        this.steps.push({ op, urn: state.urn, type: state.type, old, new: state, changedKeys: changed, replaceKeys: [] });
        return { urn: state.urn, id: "", outputs: {} };
    }

    private async registerProvider(state: ResourceState, old: ResourceState | undefined): Promise<RegistrationResult> {
        const pkg = state.type.slice("pulumi:providers:".length);
        const provider = this.options.providers(pkg, this.options.pwd);
        provider.configure?.(state.inputs);
        this.providerInstances.set(state.urn, provider);
        const changed = old ? Object.keys({ ...old.inputs, ...state.inputs }).filter(k => !deepEqual(old.inputs[k], state.inputs[k])) : [];
        const op: Operation = !old ? "create" : changed.length ? "update" : "same";
        // Configure is real also at preview: the engine configures providers for both.
        const id = old?.id ?? crypto.randomUUID();
        return this.record({ op, urn: state.urn, type: state.type, old, new: state, changedKeys: changed, replaceKeys: [] }, state, id, state.inputs);
    }

    /** RegisterResourceOutputs: a component's (or the stack's) outputs. */
    registerOutputs(urn: string, outputs: PropertyMap): void {
        const state = this.news.get(urn);
        if (!state) throw new Error(`RegisterResourceOutputs for ${urn}, which was never registered`);
        const before = state.outputs;
        state.outputs = outputs;
        const step = this.steps.find(s => s.urn === urn);
        if (step && step.op === "same" && !deepEqual(before, outputs) && qualifiedType(urn) === "pulumi:pulumi:Stack") {
            // Stack outputs changing is shown, not hidden (the display diffs the stack's outputs).
            const index = this.steps.indexOf(step);
            this.steps[index] = { ...step, op: "update", changedKeys: ["outputs"] };
        }
    }

    private async deleteResource(old: ResourceState): Promise<void> {
        if (old.protect) {
            throw new StepError(old.urn, "unable to delete resource: it is protected; set protect: false first (pulumi state unprotect)");
        }
        if (this.deletedOlds.has(old.urn + (old.id ?? ""))) return;
        if (old.custom && !isProviderType(old.type) && old.provider && !old.retainOnDelete) {
            const providerUrn = old.provider.slice(0, old.provider.lastIndexOf("::"));
            const provider = this.providerInstances.get(providerUrn) ?? this.providerFromOldState(providerUrn);
            await provider.delete(old.type, old.id!, old.outputs, this.context(old.urn, old.customTimeouts?.delete));
        }
        this.deletedOlds.add(old.urn + (old.id ?? ""));
    }

    private providerFromOldState(providerUrn: string): EmulatedProvider {
        const state = this.oldByUrn.get(providerUrn);
        if (!state) throw new Error(`the provider ${providerUrn} of a resource to delete is not in the checkpoint`);
        const provider = this.options.providers(state.type.slice("pulumi:providers:".length), this.options.pwd);
        provider.configure?.(state.inputs);
        this.providerInstances.set(providerUrn, provider);
        return provider;
    }

    /**
     * After the program: deletes (or, in preview, plans the deletion of) every old resource not registered again and
     * every old half of a replacement (this run's, and those a failed run left marked), in one dependency-ordered
     * schedule (GenerateDeletes, then ScheduleDeletes).
     */
    async finish(): Promise<void> {
        const stale = this.options.olds.filter(old => !old.delete && !this.consumedOlds.has(old.urn) && !this.news.has(old.urn));
        for (const round of scheduleDeletes([...stale, ...this.pendingDeletes])) {
            for (const old of round) {
                const isStale = stale.includes(old);
                (isStale ? this.steps : this.replacedDeletes).push({ op: isStale ? "delete" : "delete-replaced", urn: old.urn, type: old.type, old, changedKeys: [], replaceKeys: [] });
                if (!this.options.dryRun) await this.deleteResource(old);
            }
        }
    }

    /**
     * The checkpoint's resources after this deployment: on failure, what still exists is kept, the old halves of
     * replacements marked `delete: true` (the snapshot's pending deletes).
     */
    resultingState(): ResourceState[] {
        const isDeleted = (old: ResourceState) => this.deletedOlds.has(old.urn + (old.id ?? ""));
        const kept = this.options.olds.filter(old => !old.delete && !this.news.has(old.urn) && !this.consumedOlds.has(old.urn) && !isDeleted(old));
        const pending = this.pendingDeletes.filter(old => !isDeleted(old)).map(old => ({ ...old, delete: true }));
        return [...this.news.values(), ...kept, ...pending];
    }
}

/** Destroy: deletes every resource of the state, dependents first. */
export async function destroy(options: DeploymentOptions): Promise<Deployment> {
    const deployment = new Deployment(options);
    await deployment.finish();
    return deployment;
}

/** Refresh: reads every custom resource back through its provider; gone resources leave the state. */
export async function refresh(options: DeploymentOptions): Promise<{ state: ResourceState[]; steps: Step[] }> {
    const providers = new Map<string, EmulatedProvider>();
    const state: ResourceState[] = [];
    const steps: Step[] = [];
    for (const old of options.olds) {
        if (isProviderType(old.type)) {
            const provider = options.providers(old.type.slice("pulumi:providers:".length), options.pwd);
            provider.configure?.(old.inputs);
            providers.set(old.urn, provider);
        }
        if (!old.custom || isProviderType(old.type) || !old.provider) {
            state.push(old);
            continue;
        }
        const provider = providers.get(old.provider.slice(0, old.provider.lastIndexOf("::")));
        if (!provider) throw new Error(`${old.urn}: its provider is missing from the checkpoint`);
        const ctx: ProviderContext = { pwd: options.pwd, urn: old.urn, timeoutSeconds: 0, log: () => undefined };
        const read = await provider.read(old.type, old.id!, old.outputs, ctx);
        if (read === undefined) {
            steps.push({ op: "delete", urn: old.urn, type: old.type, old, changedKeys: [], replaceKeys: [] });
            continue;
        }
        const outputs = markSecrets(read, old.inputs, old.additionalSecretOutputs ?? []);
        const changed = Object.keys({ ...old.outputs, ...outputs }).filter(k => !deepEqual(reveal(old.outputs[k] ?? null), reveal(outputs[k] ?? null)));
        if (changed.length) steps.push({ op: "refresh", urn: old.urn, type: old.type, old, new: { ...old, outputs }, changedKeys: changed, replaceKeys: [] });
        state.push(changed.length && !options.dryRun ? { ...old, outputs } : old);
    }
    return { state, steps };
}

/** True when any output is still unknown (a preview value). */
export function hasUnknowns(state: ResourceState): boolean {
    return containsUnknowns(state.outputs);
}
