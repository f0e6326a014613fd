// Emulated @pulumi/random 4.21 (a bridge of hashicorp/terraform-provider-random, pinned f8d869dc98d9):
// RandomString and RandomPassword.
// - Generation: internal/random/string.go `CreateString`: the minimum counts of each class first, the rest from
//   the enabled classes, then shuffled; crypto/rand; special characters `!@#$%&*()-_=+[]{}<>:?` unless
//   `overrideSpecial`; `length` must cover the minimums.
// - Diff: resource_string.go:368-512 and resource_password.go: every argument is RequiresReplace; `keepers` is
//   RequiresReplaceIfValuesNotNull (rules.ts `keepersRequireReplace`, shared with the e2e executor): removing keepers
//   replaces, a change that only adds null values updates the state.
// - DiffConfig: the provider has no configuration, so a move between random providers never replaces.
// - Outputs: `result`; the id is the result for a string and "none" for a password. RandomPassword.result is
//   secret through the SDK's additionalSecretOutputs ["bcryptHash", "result"] (the engine applies it).
//   bcryptHash is not produced here (no bcrypt implementation in the test dependencies); programs here do not read it.
import { randomInt } from "crypto";
import { PropertyMap, UNKNOWN, plainEqual, reveal } from "../values";
import { CheckFailure, CheckResult, CreateResult, DiffResult, EmulatedProvider, changedKeys, unsupportedType } from "./provider";
import { randomReplaceKeys } from "./rules";

const STRING = "random:index/randomString:RandomString";
const PASSWORD = "random:index/randomPassword:RandomPassword";
const NUMERIC = "0123456789";
const LOWER = "abcdefghijklmnopqrstuvwxyz";
const UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
const SPECIAL = "!@#$%&*()-_=+[]{}<>:?";

/** The schema defaults of both resources. */
const DEFAULTS: PropertyMap = {
    special: true, upper: true, lower: true, numeric: true, number: true,
    minNumeric: 0, minLower: 0, minUpper: 0, minSpecial: 0,
};

function pick(chars: string, count: number): string[] {
    return Array.from({ length: count }, () => chars[randomInt(chars.length)]);
}

/** `CreateString` of terraform-provider-random, with Node's crypto random source. */
export function generate(args: PropertyMap): string {
    const a = { ...DEFAULTS, ...reveal(args) as PropertyMap };
    const length = a.length as number;
    const numeric = a.numeric !== false && a.number !== false;
    const special = a.overrideSpecial ? String(a.overrideSpecial) : SPECIAL;
    let chars = "";
    if (a.upper) chars += UPPER;
    if (a.lower) chars += LOWER;
    if (numeric) chars += NUMERIC;
    if (a.special) chars += special;
    const result = [
        ...pick(NUMERIC, a.minNumeric as number),
        ...pick(LOWER, a.minLower as number),
        ...pick(UPPER, a.minUpper as number),
        ...pick(special, a.minSpecial as number),
    ];
    result.push(...pick(chars, length - result.length));
    // Fisher-Yates with a cryptographic source, as the provider sorts by random bytes.
    for (let i = result.length - 1; i > 0; i--) {
        const j = randomInt(i + 1);
        [result[i], result[j]] = [result[j], result[i]];
    }
    return result.join("");
}

export class RandomProvider implements EmulatedProvider {
    readonly name = "random";

    diffConfig(): boolean {
        return false;
    }

    check(type: string, _olds: PropertyMap | undefined, news: PropertyMap): CheckResult {
        if (type !== STRING && type !== PASSWORD) unsupportedType(this.name, type);
        const a = { ...DEFAULTS, ...reveal(news) as PropertyMap };
        const failures: CheckFailure[] = [];
        if (typeof a.length !== "number" || a.length < 1) {
            failures.push({ property: "length", reason: "length is required and must be at least 1" });
        } else {
            const minimum = (a.minNumeric as number) + (a.minLower as number) + (a.minUpper as number) + (a.minSpecial as number);
            if (a.length < minimum) {
                failures.push({
                    property: "length",
                    reason: `length (${a.length}) must be >= min_upper + min_lower + min_numeric + min_special (${minimum})`,
                });
            }
        }
        if (!a.upper && !a.lower && !(a.numeric && a.number) && !a.special) {
            failures.push({ property: "special", reason: "at least one of upper, lower, numeric and special must be true" });
        }
        return { inputs: news, failures };
    }

    diff(_type: string, oldInputs: PropertyMap, _oldOutputs: PropertyMap, news: PropertyMap): DiffResult {
        const changed = changedKeys(oldInputs, news, (a, b) => plainEqual(a as never, b as never));
        const replaceKeys = randomReplaceKeys(changed, reveal(oldInputs) as PropertyMap, reveal(news) as PropertyMap);
        return { changedKeys: changed, replaceKeys, deleteBeforeReplace: false };
    }

    async create(type: string, inputs: PropertyMap, _ctx: unknown, preview: boolean): Promise<CreateResult> {
        const state = { ...DEFAULTS, ...inputs };
        if (preview) return { id: UNKNOWN, outputs: { ...state, result: UNKNOWN } };
        const result = generate(inputs);
        return { id: type === PASSWORD ? "none" : result, outputs: { ...state, result } };
    }

    async update(_type: string, _id: string, oldOutputs: PropertyMap, news: PropertyMap): Promise<PropertyMap> {
        // Only a keepers change that does not replace reaches update: the value stays.
        return { ...DEFAULTS, ...news, result: oldOutputs.result };
    }

    async delete(): Promise<void> {
        // Deleting a random value removes it from state only.
    }

    async read(_type: string, _id: string, outputs: PropertyMap): Promise<PropertyMap> {
        return outputs;
    }
}
