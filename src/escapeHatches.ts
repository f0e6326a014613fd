/**
 * The escape hatches: the user's own configuration keys (`additionalSettings`) and environment variables
 * (`environment`), checked against each other and against what the package sets itself. Pure functions only.
 *
 * ASP.NET Core's default host reads one configuration from several sources, later ones winning: environment
 * variables prefixed `DOTNET_` and `ASPNETCORE_` (prefix removed), `appsettings.json`, `appsettings.{Environment}.json`,
 * then every environment variable under its own name; `__` in a variable's name stands for the `:` of a section, and
 * keys compare ignoring case. So `Logging__LogLevel__Default` in the environment replaces the `Logging:LogLevel:Default`
 * the package writes into a settings file: the collisions are found by configuration key, whichever way a key comes.
 */
import { JsonValue, ManagedKey, Setting } from "./configuration";
import { describe } from "./validation";

/** An environment variable the package (or its target) sets, and what decides its value. */
export interface ManagedVariable {
    readonly name: string;
    /** The argument that decides its value, when one does. */
    readonly argument?: string;
    /** Why the package sets it, when no argument decides it (for the collision error). */
    readonly purpose?: string;
    readonly secret: boolean;
}

/** What a target adds to the keys and variables the package manages. */
export interface TargetManaged {
    /** Keys the target writes into the service's configuration besides `MANAGED_SETTINGS`. */
    readonly settings: readonly ManagedKey[];
    /** Variables the target sets in the service's environment. */
    readonly environment: readonly ManagedVariable[];
}

/** One key of `additionalSettings` after flattening, with the argument path it came from. */
export interface UserSetting {
    readonly field: string;
    readonly key: string;
}

/** One variable of `environment`, with its argument path. */
export interface UserVariable {
    readonly field: string;
    readonly name: string;
}

/** A problem with one field. */
export interface EscapeHatchProblem {
    readonly field: string;
    readonly message: string;
}

const PREFIXES = /^(ASPNETCORE_|DOTNET_)/i;

/**
 * The configuration keys (lower case) an environment variable sets: its name with `__` read as `:`, and for a
 * `DOTNET_` or `ASPNETCORE_` name also the name without the prefix (the host's prefixed sources).
 */
export function configurationKeys(name: string): string[] {
    const keys = [name.replace(/__/g, ":").toLowerCase()];
    const prefix = PREFIXES.exec(name);
    if (prefix) {
        keys.push(name.slice(prefix[0].length).replace(/__/g, ":").toLowerCase());
    }
    return keys;
}

const ENVIRONMENT_NAME = /^[A-Za-z_][A-Za-z0-9_.-]*$/;

/** The problem with an environment variable's name, or undefined. */
export function environmentNameProblem(name: string): string | undefined {
    if (ENVIRONMENT_NAME.test(name)) {
        return undefined;
    }
    return name.includes(":")
        ? `${describe(name)} is not an environment variable name; write "__" for the ":" of a configuration section, as in "Logging__LogLevel__Default"`
        : `${describe(name)} is not an environment variable name; use letters, digits, "_", "." and "-", starting with a letter or "_"`;
}

/** The problem with a configuration key of `additionalSettings`, or undefined. */
export function settingKeyProblem(key: string): string | undefined {
    if (key.length === 0) {
        return `the empty key is not a configuration key; give a name such as "AllowedHosts" or "Serilog:MinimumLevel"`;
    }
    if (/[\u0000-\u001f\u007f]/.test(key)) {
        return `${describe(key)} holds a control character; configuration keys are names such as "Serilog:MinimumLevel"`;
    }
    if (key.split(":").some(section => section.trim().length === 0)) {
        return `${describe(key)} has an empty section; write sections joined by single ":", as in "Serilog:MinimumLevel:Default"`;
    }
    return undefined;
}

/** The problem with a value of `additionalSettings` (never shown: it may be secret), or undefined. */
export function jsonValueProblem(value: unknown): string | undefined {
    const problem = firstNonJson(value, "");
    return problem === undefined ? undefined : `is not a JSON value${problem}; give a string, number, boolean, null, array or object`;
}

function firstNonJson(value: unknown, at: string): string | undefined {
    const where = at ? ` (at ${at})` : "";
    if (value === null || typeof value === "string" || typeof value === "boolean") {
        return undefined;
    }
    if (typeof value === "number") {
        return Number.isFinite(value) ? undefined : `${where}: ${value} has no JSON form`;
    }
    if (Array.isArray(value)) {
        for (let i = 0; i < value.length; i++) {
            const problem = firstNonJson(value[i], `${at}[${i}]`);
            if (problem) {
                return problem;
            }
        }
        return undefined;
    }
    if (typeof value === "object" && Object.getPrototypeOf(value) === Object.prototype) {
        for (const [key, item] of Object.entries(value as Record<string, unknown>)) {
            const problem = firstNonJson(item, `${at}${at ? "." : ""}${key}`);
            if (problem) {
                return problem;
            }
        }
        return undefined;
    }
    return `${where}: ${value === undefined ? "undefined" : typeof value === "object" ? "an instance of a class" : `a ${typeof value}`}`;
}

/** Whether a value is a JSON object (a section), not an array or a scalar. */
export function isJsonObject(value: unknown): value is { [key: string]: JsonValue } {
    return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * A key and its value as settings: an object is a section, flattened into its keys (`{Serilog: {MinimumLevel: "x"}}`
 * is `Serilog:MinimumLevel`); arrays and scalars are values. An empty object sets nothing.
 */
export function flattenSetting(key: string, value: JsonValue): Setting[] {
    if (!isJsonObject(value)) {
        return [{ key, value }];
    }
    return Object.entries(value).flatMap(([name, item]) => flattenSetting(`${key}:${name}`, item));
}

/** The problems of a flattened value's keys (the keys inside an object value), each named by `field`. */
export function flattenedKeyProblems(field: string, key: string, value: JsonValue): EscapeHatchProblem[] {
    if (isJsonObject(value) && Object.keys(value).length === 0) {
        return [{ field, message: `${describe(key)} is an empty object, which sets nothing; give its keys, or remove it` }];
    }
    return flattenSetting(key, value).flatMap(setting => {
        const problem = settingKeyProblem(setting.key);
        return problem ? [{ field, message: problem }] : [];
    });
}

const lower = (text: string) => text.toLowerCase();
const quote = (text: string) => JSON.stringify(text);

/** A key or variable the package manages, with everything a message about it needs. */
interface Managed {
    readonly key: string;
    readonly secret: boolean;
    /** `from \`logLevel\`` or the purpose. */
    readonly source: string;
    readonly argument?: string;
}

function managedKeys(settings: readonly ManagedKey[], environment: readonly ManagedVariable[]): Managed[] {
    return [
        ...settings.map(m => ({ key: lower(m.key), secret: m.secret, argument: m.by, source: `from \`${m.by}\`` })),
        ...environment.flatMap(v =>
            configurationKeys(v.name).map(key => ({
                key,
                secret: v.secret,
                argument: v.argument,
                source: v.argument ? `from \`${v.argument}\` (as the variable ${v.name})` : `as the variable ${v.name}, ${v.purpose}`,
            })),
        ),
    ];
}

function replaceAdvice(managed: Managed, shown: string): string {
    return (
        `${managed.argument ? `use \`${managed.argument}\` instead` : "remove it"}, or, to replace the package's value on purpose, ` +
        `add ${quote(shown)} to \`overrides\``
    );
}

/**
 * Every collision of the escape hatches: a key or variable that replaces one the package sets (unless listed in
 * `overrides`, and never a secret through the environment), a key that would replace a whole section of the package's
 * or sit inside one of its values, a key given twice, a variable that sets a key `additionalSettings` sets too, and an
 * entry of `overrides` that replaces nothing. `checkOverrides` false leaves the last check to a later call (when some
 * keys are not known yet).
 */
export function collisionProblems(input: {
    readonly settings: readonly UserSetting[];
    readonly environment: readonly UserVariable[];
    readonly overrides: readonly string[];
    readonly managedSettings: readonly ManagedKey[];
    readonly managedEnvironment: readonly ManagedVariable[];
    readonly checkOverrides: boolean;
}): EscapeHatchProblem[] {
    const problems: EscapeHatchProblem[] = [];
    const managed = managedKeys(input.managedSettings, input.managedEnvironment);
    // Only the keys that go into the configuration file have sections that a user's key could break apart.
    const fileKeys = managedKeys(input.managedSettings, []);
    const overrides = new Set(input.overrides.map(lower));
    const usedOverrides = new Set<string>();

    const seenSettings: UserSetting[] = [];
    for (const setting of input.settings) {
        const key = lower(setting.key);
        const fail = (message: string) => problems.push({ field: setting.field, message });
        const same = managed.find(m => m.key === key);
        if (same) {
            if (overrides.has(key)) {
                usedOverrides.add(key);
            } else {
                fail(`${quote(setting.key)} is a key the package sets ${same.source}; ${replaceAdvice(same, setting.key)}`);
            }
        }
        const inside = fileKeys.find(m => m.key.startsWith(`${key}:`));
        if (inside) {
            fail(
                `${quote(setting.key)} would replace the section that holds ${quote(inside.key)}, which the package sets ${inside.source}; ` +
                    `give the keys inside ${quote(setting.key)} instead`,
            );
        }
        const around = fileKeys.find(m => key.startsWith(`${m.key}:`));
        if (around) {
            fail(
                `${quote(setting.key)} is inside ${quote(around.key)}, one value the package sets ${around.source}; ` +
                    `replace ${quote(around.key)} as a whole (listed in \`overrides\`), or remove it`,
            );
        }
        const earlier = seenSettings.find(other => lower(other.key) === key || lower(other.key).startsWith(`${key}:`) || key.startsWith(`${lower(other.key)}:`));
        if (earlier) {
            fail(
                lower(earlier.key) === key
                    ? `${quote(setting.key)} is also given as ${quote(earlier.key)} (${earlier.field}), and configuration keys ignore case; give it once`
                    : `${quote(setting.key)} and ${quote(earlier.key)} (${earlier.field}) are a section and a key inside it; give one of them`,
            );
        }
        seenSettings.push(setting);
    }

    const seenVariables: UserVariable[] = [];
    for (const variable of input.environment) {
        const keys = configurationKeys(variable.name);
        const fail = (message: string) => problems.push({ field: variable.field, message });
        const same = managed.find(m => keys.includes(m.key));
        if (same) {
            const listed = [lower(variable.name), ...keys].find(name => overrides.has(name));
            if (listed === undefined) {
                fail(`${variable.name} sets ${quote(same.key)}, which the package sets ${same.source}; ${replaceAdvice(same, variable.name)}`);
            } else if (same.secret) {
                usedOverrides.add(listed);
                fail(
                    `${variable.name} replaces ${quote(same.key)}, a secret the package sets ${same.source}; a secret does not belong in an ` +
                        `environment (\`docker inspect\` shows a container's); give ${quote(same.key)} in \`additionalSettings\` instead (listed in \`overrides\`)`,
                );
            } else {
                usedOverrides.add(listed);
            }
        }
        const setting = input.settings.find(s => keys.includes(lower(s.key)));
        if (setting) {
            fail(
                `${variable.name} sets ${quote(setting.key)}, which ${setting.field} sets too (the environment would win over the file); give it in one place`,
            );
        }
        const earlier = seenVariables.find(other => configurationKeys(other.name).some(key => keys.includes(key)));
        if (earlier) {
            const shared = configurationKeys(earlier.name).find(key => keys.includes(key))!;
            fail(`${variable.name} and ${earlier.name} (${earlier.field}) both set the configuration key ${quote(shared)} (names ignore case, and a DOTNET_ or ASPNETCORE_ prefix also sets the key without it); give one of them`);
        }
        seenVariables.push(variable);
    }

    if (input.checkOverrides) {
        for (const entry of input.overrides) {
            if (!usedOverrides.has(lower(entry))) {
                problems.push({
                    field: "overrides",
                    message:
                        `${quote(entry)} replaces nothing the package sets: no key of \`additionalSettings\` and no variable of \`environment\` ` +
                        `with that name collides with one of the package's; remove it`,
                });
            }
        }
    }
    return problems;
}

/**
 * The problems of values that replace one of the package's keys (listed in `overrides`): the package writes each as
 * one value (text, a number or a flag), so null or an array in its place leaves the service without that key (an
 * array is a section to ASP.NET Core's configuration). The values are never shown: they may be secret.
 */
export function replacedValueProblems(field: string, key: string, value: JsonValue, managedSettings: readonly ManagedKey[], overrides: readonly string[]): EscapeHatchProblem[] {
    const listed = new Set(overrides.map(lower));
    return flattenSetting(key, value).flatMap(setting => {
        const managed = managedSettings.find(m => lower(m.key) === lower(setting.key));
        if (!managed || !listed.has(lower(setting.key)) || (setting.value !== null && !Array.isArray(setting.value))) {
            return [];
        }
        const kind = setting.value === null ? "null" : "an array";
        return [
            {
                field,
                message:
                    `replaces ${quote(setting.key)}, which the package sets from \`${managed.by}\`, with ${kind}, which leaves the service ` +
                    `without that key; give one value (a string, number or boolean), or remove ${quote(setting.key)} from \`overrides\` ` +
                    `and \`additionalSettings\``,
            },
        ];
    });
}

/** Whether a setting's value replaces a secret key of the package (listed in `overrides`): it is then a secret too. */
export function replacesSecret(key: string, value: JsonValue, managedSettings: readonly ManagedKey[], overrides: readonly string[]): boolean {
    const listed = new Set(overrides.map(lower));
    return flattenSetting(key, value).some(setting => listed.has(lower(setting.key)) && managedSettings.some(m => m.secret && lower(m.key) === lower(setting.key)));
}

/**
 * The argument path of a key inside `additionalSettings`, as Pulumi writes property paths: `additionalSettings.Serilog`
 * for a plain name, `additionalSettings["Logging:LogLevel:Microsoft"]` otherwise.
 */
export function settingField(path: readonly string[], root = "additionalSettings"): string {
    return path.reduce((field, part) => (/^[A-Za-z_][A-Za-z0-9_]*$/.test(part) ? `${field}.${part}` : `${field}[${quote(part)}]`), root);
}
