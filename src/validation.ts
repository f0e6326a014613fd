/**
 * Argument checking. Every problem names the field, the bad value (never a secret's) and the fix, and all
 * problems are reported together, before any resource is registered. Values that are not known yet
 * (Outputs) are checked when they resolve, with the same messages, before the component registers.
 */
import * as pulumi from "@pulumi/pulumi";

/** Returns what is wrong with a value and how to fix it, or undefined when it is fine. */
export type Check<T> = (value: T) => string | undefined;

/** Whether an Input is a plain value available now (not an Output or a Promise). */
export function isKnown<T>(value: pulumi.Input<T>): value is T {
    return !pulumi.Output.isInstance(value) && !(value instanceof Promise);
}

/** Shows a user's value in an error message; secrets are never shown. */
export function describe(value: unknown, secret = false): string {
    if (secret) {
        return typeof value === "string" ? `(a secret value of ${value.length} characters)` : "(a secret value)";
    }
    return typeof value === "string" ? JSON.stringify(value) : String(value);
}

/** A problem with one field: what is wrong with it and how to fix it. */
export interface Problem {
    readonly field: string;
    readonly message: string;
    /** The field's value is a secret (or an Output, which may hold one): see `ArgumentCheck.error`. */
    readonly secret?: boolean;
}

/** How a field's value is to be treated in a problem report. */
export interface FieldOptions {
    /** The field holds a secret even when the program did not mark its value as one (a password, a client secret). */
    readonly secret?: boolean;
}

/**
 * The field a problem names, as a property path: `docker.containerName (default: the component name)` is the
 * path `docker.containerName`.
 */
export function propertyPath(field: string): string {
    return field.replace(/ \(.*\)$/, "");
}

/**
 * Hides a secret value inside a message a check wrote without knowing the value was secret (it came from a secret
 * Output): every rendering of the value becomes its length.
 */
export function maskSecret(message: string, value: unknown): string {
    const masked = describe(value, true);
    let result = message.split(describe(value)).join(masked);
    if (typeof value === "string" && value.length > 0) {
        result = result.split(value).join(masked);
    }
    return result;
}

/** Collects the problems of one component's arguments. */
export class ArgumentCheck {
    private readonly problems: Problem[] = [];
    private readonly pending: pulumi.Output<Problem | undefined>[] = [];
    private resolvedOutput?: { readonly count: number; readonly output: pulumi.Output<pulumi.Resource[]> };

    /** `kind` is the component type named in the error header. */
    constructor(
        private readonly component: string,
        private readonly kind: string = "IdentityService",
    ) {}

    /** Records a problem with a field. */
    fail(field: string, message: string, options: FieldOptions = {}): void {
        this.problems.push({ field, message, secret: options.secret });
    }

    /**
     * Checks a field now when its value is known; otherwise checks it when it resolves, as part of `resolved()`.
     * Returns the value to use in place of the original.
     */
    input<T>(field: string, value: pulumi.Input<T>, check: Check<T>, options: FieldOptions = {}): pulumi.Input<T> {
        if (isKnown(value)) {
            const problem = check(value);
            if (problem) {
                this.fail(field, problem, options);
            }
            return value;
        }
        const output = pulumi.output(value);
        this.pending.push(
            output.apply(async resolved => {
                const problem = check(resolved as T);
                if (problem === undefined) {
                    return undefined;
                }
                const secret = options.secret === true || (await pulumi.isSecret(output));
                return { field, message: secret ? maskSecret(problem, resolved) : problem, secret };
            }),
        );
        return value;
    }

    /** Like `input`, for an optional field. */
    optional<T>(field: string, value: pulumi.Input<T> | undefined, check: Check<T>, options: FieldOptions = {}): pulumi.Input<T> | undefined {
        return value === undefined ? undefined : this.input(field, value, check, options);
    }

    get ok(): boolean {
        return this.problems.length === 0;
    }

    /** Throws one error listing every problem, if there are any. */
    throwIfAny(): void {
        if (this.problems.length > 0) {
            throw this.error(this.problems);
        }
    }

    /**
     * The checks of values that were not known yet, in one place: an Output that resolves (to no resources) once
     * every such value has passed, and otherwise fails with the same error, worded as the early checks word it.
     * The component waits for it before registering (its `dependsOn`), so no child is created with a bad value and
     * the error arrives plain, not inside the serialization of some child's property. Undefined when there is
     * nothing left to check.
     */
    resolved(): pulumi.Output<pulumi.Resource[]> | undefined {
        if (this.pending.length === 0) {
            return undefined;
        }
        // One Output for the same checks, so that everything waiting on them fails with the one error, reported once.
        if (this.resolvedOutput?.count === this.pending.length) {
            return this.resolvedOutput.output;
        }
        const output = pulumi.all(this.pending).apply(found => {
            const problems = found.filter((problem): problem is Problem => problem !== undefined);
            if (problems.length > 0) {
                throw this.error(problems);
            }
            return [] as pulumi.Resource[];
        });
        this.resolvedOutput = { count: this.pending.length, output };
        return output;
    }

    /**
     * The message lists every problem (what a TypeScript program shows). Each problem also gets an entry of its own,
     * so that the engine shows it per field to programs in other languages, except the problems of secret values:
     * for each entry the engine prints the value the program gave at that path in plain text beside it (Pulumi's
     * `errorToMessage`, pkg/resource/deploy/source_eval.go), so those are named in the message only.
     */
    private error(problems: readonly Problem[]): pulumi.InputPropertiesError {
        const error = new pulumi.InputPropertiesError({
            message: `${this.kind} "${this.component}" has invalid arguments:\n${problems.map(p => `- ${p.field}: ${p.message}`).join("\n")}`,
            errors: problems.filter(p => !p.secret).map(p => ({ propertyPath: propertyPath(p.field), reason: p.message })),
        });
        // The message is the whole report: the stack frames (inside the SDK's apply when a late check fails) tell the
        // user nothing, and they cost dearly. The SDK's uncaught-error handler formats the error with colored
        // util.inspect (@pulumi/pulumi cmd/run/error.js `defaultErrorMessage`), which on Node.js 20 spends tens of
        // seconds and gigabytes on a frame such as `node_modules/@pulumi/output.ts:516:31` (where the SDK's source maps
        // place its apply) before it gives up: the user would wait that long for the error, in a program or a plugin.
        error.stack = `Error: ${error.message}`;
        return error;
    }
}

/**
 * A component's options with the late checks of its arguments (`ArgumentCheck.resolved`) added to `dependsOn`:
 * the component, and so each of its children, registers only once they have passed.
 */
export function afterArgumentChecks(
    opts: pulumi.ComponentResourceOptions | undefined,
    resolved: readonly (pulumi.Output<pulumi.Resource[]> | undefined)[],
): pulumi.ComponentResourceOptions | undefined {
    const pending = resolved.filter((output): output is pulumi.Output<pulumi.Resource[]> => output !== undefined);
    return pending.length === 0 ? opts : pulumi.mergeOptions(opts, { dependsOn: pulumi.all(pending).apply(lists => lists.flat()) });
}

export const checks = {
    port: ((value: number) =>
        Number.isInteger(value) && value >= 1 && value <= 65535
            ? undefined
            : `${describe(value)} is not a TCP port; use a whole number from 1 to 65535`) as Check<number>,

    nonEmpty: ((value: string) =>
        typeof value === "string" && value.trim().length > 0 ? undefined : `must not be empty; give a value`) as Check<string>,

    secretNonEmpty: ((value: string) =>
        typeof value === "string" && value.trim().length > 0
            ? undefined
            : `must not be empty; give the value (it is kept as a secret)`) as Check<string>,

    minLength:
        (min: number, secret: boolean): Check<string> =>
        value =>
            typeof value === "string" && value.length >= min
                ? undefined
                : `${describe(value, secret)} is too short: the Identity Service requires at least ${min} characters; ` +
                  `supply a longer value or leave it out to have one generated`,

    maxLength:
        (max: number, secret: boolean, what: string): Check<string> =>
        value =>
            typeof value !== "string" || value.length <= max
                ? undefined
                : `${describe(value, secret)} is too long: the Identity Service accepts ${what} of at most ${max} characters ` +
                  `(IdentityServer4's input length limit); supply a shorter value or leave it out to have one generated`,

    positiveInteger:
        (max: number): Check<number> =>
        value =>
            Number.isInteger(value) && value >= 1 && value <= max
                ? undefined
                : `${describe(value)} is out of range; use a whole number of seconds from 1 to ${max}`,

    httpUrl: ((value: string) => {
        try {
            const url = new URL(value);
            if (url.protocol === "http:" || url.protocol === "https:") {
                return undefined;
            }
        } catch {
            // reported below
        }
        return `${describe(value)} is not an http(s) URL; write it like "https://creatio.example.com"`;
    }) as Check<string>,

    hostname: ((value: string) =>
        isHostname(value)
            ? undefined
            : `${describe(value)} is not a valid host name or IP address; use letters, digits, dots and hyphens (for example "localhost" or "ids.example.com")`) as Check<string>,

    oneOf:
        <T extends string>(allowed: Record<string, T>, what: string): Check<T> =>
        value =>
            Object.values(allowed).includes(value)
                ? undefined
                : `${describe(value)} is not a known ${what}; use one of ${Object.values(allowed).map(v => `"${v}"`).join(", ")}`,
};

const HOSTNAME_LABEL = /^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$/;

export function isHostname(value: string): boolean {
    if (typeof value !== "string" || value.length === 0 || value.length > 253) {
        return false;
    }
    if (/^\[?[0-9a-fA-F:]+\]?$/.test(value) && value.includes(":")) {
        return true; // an IPv6 literal
    }
    return value.replace(/\.$/, "").split(".").every(label => HOSTNAME_LABEL.test(label));
}
