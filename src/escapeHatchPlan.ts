/**
 * Plans the escape hatches: `additionalSettings`, `environment` and `overrides`, checked with the rest of the
 * arguments (every problem names the field and the fix, before anything is created). Keys are known when the program
 * runs (the blocks are plain); values may be Outputs, checked when they resolve, before the component registers.
 */
import * as pulumi from "@pulumi/pulumi";
import { IdentityServiceArgs } from "./args";
import { JsonValue, ManagedKey, Setting } from "./configuration";
import {
    collisionProblems,
    environmentNameProblem,
    EscapeHatchProblem,
    flattenedKeyProblems,
    flattenSetting,
    jsonValueProblem,
    replacedValueProblems,
    replacesSecret,
    settingField,
    settingKeyProblem,
    TargetManaged,
    UserSetting,
    UserVariable,
} from "./escapeHatches";
import { ArgumentCheck, describe, isKnown } from "./validation";

/** One value of `additionalSettings` at the place the program wrote it: a key path and a value that may resolve later. */
export interface AdditionalSettingPlan {
    /** The configuration key (`Section:Key`) of the value. */
    readonly key: string;
    readonly value: pulumi.Input<JsonValue>;
}

export interface EscapeHatchPlan {
    readonly additionalSettings: readonly AdditionalSettingPlan[];
    readonly environment: Readonly<Record<string, pulumi.Input<string>>>;
}

/** Whether a value holds no Output or Promise anywhere inside. */
function fullyKnown(value: unknown): boolean {
    if (!isKnown(value as pulumi.Input<unknown>)) {
        return false;
    }
    if (Array.isArray(value)) {
        return value.every(fullyKnown);
    }
    if (typeof value === "object" && value !== null) {
        return Object.values(value).every(fullyKnown);
    }
    return true;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
    return typeof value === "object" && value !== null && !Array.isArray(value) && isKnown(value as pulumi.Input<unknown>) && Object.getPrototypeOf(value) === Object.prototype;
}

/** The values of `additionalSettings` where the program wrote them: sections it wrote as objects are walked into. */
function leaves(block: Record<string, unknown>, path: string[] = []): { path: string[]; value: unknown }[] {
    return Object.entries(block).flatMap(([name, value]) =>
        isPlainObject(value) && Object.keys(value).length > 0 ? leaves(value, [...path, name]) : [{ path: [...path, name], value }],
    );
}

export function planEscapeHatches(args: IdentityServiceArgs, target: TargetManaged, packageKeys: readonly ManagedKey[], check: ArgumentCheck): EscapeHatchPlan {
    const managedSettings = [...packageKeys, ...target.settings];
    const overrides = planOverrides(args.overrides, check);
    // A value in place of one of the package's secrets is a secret, whether or not the program made it one.
    const keptSecret = (key: string, value: JsonValue): pulumi.Output<JsonValue> | JsonValue =>
        replacesSecret(key, value, managedSettings, overrides) ? (pulumi.secret(value) as pulumi.Output<JsonValue>) : value;

    const settings: AdditionalSettingPlan[] = [];
    const knownKeys: UserSetting[] = [];
    const pending: { field: string; key: string; value: pulumi.Output<JsonValue> }[] = [];
    const block = args.additionalSettings;
    if (block !== undefined && !isPlainObject(block)) {
        check.fail("additionalSettings", `must be an object of configuration keys and values, like { "AllowedHosts": "*", "Serilog:MinimumLevel:Default": "Warning" }`);
    } else if (block !== undefined) {
        for (const { path, value } of leaves(block)) {
            const key = path.join(":");
            const field = settingField(path);
            const keyProblem = settingKeyProblem(key);
            if (keyProblem) {
                check.fail(field, keyProblem);
                continue;
            }
            if (fullyKnown(value)) {
                const problem = jsonValueProblem(value);
                if (problem) {
                    check.fail(field, problem);
                    continue;
                }
                const flattened = flattenedKeyProblems(field, key, value as JsonValue);
                flattened.forEach(p => check.fail(p.field, p.message));
                replacedValueProblems(field, key, value as JsonValue, managedSettings, overrides).forEach(p => check.fail(p.field, p.message));
                knownKeys.push(...flattenSetting(key, value as JsonValue).map(setting => ({ field, key: setting.key })));
                settings.push({ key, value: keptSecret(key, value as JsonValue) });
            } else {
                const output = pulumi.output(value as pulumi.Input<JsonValue>) as pulumi.Output<JsonValue>;
                pending.push({ field, key, value: output });
                settings.push({ key, value: output.apply(resolved => keptSecret(key, resolved)) as pulumi.Output<JsonValue> });
            }
        }
    }

    const environment: Record<string, pulumi.Input<string>> = {};
    const variables: UserVariable[] = [];
    const env = args.environment;
    if (env !== undefined && !isPlainObject(env)) {
        check.fail("environment", `must be an object of variable names and values, like { "Logging__LogLevel__Microsoft": "Warning" }`);
    } else if (env !== undefined) {
        for (const [name, value] of Object.entries(env)) {
            const field = settingField([name], "environment");
            const nameProblem = environmentNameProblem(name);
            if (nameProblem) {
                check.fail(field, nameProblem);
                continue;
            }
            variables.push({ field, name });
            environment[name] = checkedVariable(field, value, check);
        }
    }

    const collisions = (found: UserSetting[], checkOverrides: boolean): EscapeHatchProblem[] =>
        collisionProblems({
            settings: found,
            environment: variables,
            overrides,
            managedSettings,
            managedEnvironment: target.environment,
            checkOverrides,
        });
    collisions(knownKeys, pending.length === 0).forEach(p => check.fail(p.field, p.message));

    if (pending.length > 0) {
        // Keys inside values known only later: the same checks once they resolve, reported for those values and for
        // `overrides` (an entry may be used by one of them); what the known keys alone showed was reported above.
        const reported = new Set(collisions(knownKeys, false).map(p => `${p.field}\n${p.message}`));
        const resolved = pulumi.all(pending.map(p => p.value));
        check.input("additionalSettings", resolved, values => {
            const problems: string[] = [];
            const found = [...knownKeys];
            values.forEach((value, i) => {
                const { field, key } = pending[i];
                const problem = jsonValueProblem(value);
                if (problem) {
                    problems.push(`${field} ${problem}`);
                    return;
                }
                problems.push(...flattenedKeyProblems(field, key, value).map(p => `${p.field}: ${p.message}`));
                problems.push(...replacedValueProblems(field, key, value, managedSettings, overrides).map(p => `${p.field} ${p.message}`));
                found.push(...flattenSetting(key, value).map(setting => ({ field, key: setting.key })));
            });
            problems.push(
                ...collisions(found, true)
                    .filter(p => !reported.has(`${p.field}\n${p.message}`))
                    .map(p => `${p.field}: ${p.message}`),
            );
            return problems.length > 0 ? problems.join("; ") : undefined;
        });
    }
    return { additionalSettings: settings, environment };
}

function planOverrides(given: unknown, check: ArgumentCheck): string[] {
    if (given === undefined) {
        return [];
    }
    if (!Array.isArray(given)) {
        check.fail("overrides", `must be a list of configuration keys and variable names, like ["Logging:LogLevel:Default"]`);
        return [];
    }
    const entries: string[] = [];
    given.forEach((entry, i) => {
        if (typeof entry === "string" && entry.trim().length > 0) {
            entries.push(entry);
        } else {
            check.fail(`overrides[${i}]`, `${describe(entry)} is not a configuration key or variable name; give one such as "Logging:LogLevel:Default"`);
        }
    });
    return entries;
}

/** An environment variable's value: a string, and never a secret (the environment is visible to the Docker API). */
function checkedVariable(field: string, value: unknown, check: ArgumentCheck): pulumi.Input<string> {
    const notString = (v: unknown) =>
        typeof v === "string" ? undefined : `${describe(v)} is not a string; environment variables hold text (write numbers and booleans as strings, like "true")`;
    if (isKnown(value as pulumi.Input<unknown>)) {
        const problem = notString(value);
        if (problem) {
            check.fail(field, problem);
        }
        return value as string;
    }
    const output = pulumi.output(value as pulumi.Input<string>);
    check.input(field, pulumi.all([output, pulumi.isSecret(output)]), ([resolved, secret]) =>
        secret
            ? "is a secret, and a secret does not belong in an environment (`docker inspect` shows a container's, IIS Manager a site's); " +
              "give it in `additionalSettings` instead, which reaches the service in a settings file"
            : notString(resolved),
    );
    return output;
}

/** The settings of `additionalSettings` with every value known: flattened, in the order the program wrote them. */
export function additionalSettingsOutput(plan: EscapeHatchPlan): pulumi.Output<Setting[]> {
    return pulumi
        .all(plan.additionalSettings.map(setting => pulumi.output(setting.value)))
        .apply(values => plan.additionalSettings.flatMap((setting, i) => flattenSetting(setting.key, values[i] as JsonValue)));
}

/**
 * The string values of `additionalSettings` the program made secret (all strings inside a secret value), for targets
 * that redact secrets from their own messages.
 */
export function secretSettingValues(plan: EscapeHatchPlan): pulumi.Output<string[]> {
    const strings = (value: unknown): string[] =>
        typeof value === "string" ? [value] : Array.isArray(value) ? value.flatMap(strings) : value !== null && typeof value === "object" ? Object.values(value).flatMap(strings) : [];
    return pulumi
        .all(
            plan.additionalSettings.map(setting => {
                const value = pulumi.output(setting.value);
                return pulumi.all([value, pulumi.isSecret(value)]).apply(([resolved, secret]) => (secret ? strings(resolved) : []));
            }),
        )
        .apply(lists => lists.flat());
}
