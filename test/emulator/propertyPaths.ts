// Property paths as the engine reads `replaceOnChanges` (pulumi/pulumi sdk/go/common/resource/properties_path.go
// `ParsePropertyPath`, `PropertyPath.Contains` 314-342 @ v3.248.0) and `applyReplaceOnChanges`
// (pkg/resource/deploy/step_generator.go:2911-3002 @ v3.248.0): a path replaces when it contains one of the changed
// property paths of the provider's detailed diff (2929-2947) or one of its changed top-level keys (2956-2966).
// The engine emulator and the e2e executor both take the rule from here.

export type PropertyPath = (string | number)[];

/** `ParsePropertyPath`: `a.b`, `a[0]`, `a[*]`, `a["key.with.dots"]`, `*`. */
export function parsePropertyPath(text: string): PropertyPath {
    const path: PropertyPath = [];
    let i = 0;
    let name = "";
    const flush = () => {
        if (name !== "") path.push(name);
        name = "";
    };
    while (i < text.length) {
        const c = text[i];
        if (c === ".") {
            flush();
            i++;
        } else if (c === "[") {
            flush();
            const close = text[i + 1] === '"' ? text.indexOf('"]', i + 2) + 1 : text.indexOf("]", i);
            if (close <= 0) throw new Error(`invalid property path ${JSON.stringify(text)}: missing "]"`);
            const inner = text.slice(i + 1, close);
            if (inner.startsWith('"')) path.push(JSON.parse(inner) as string);
            else if (inner === "*") path.push("*");
            else if (/^\d+$/.test(inner)) path.push(Number(inner));
            else throw new Error(`invalid property path ${JSON.stringify(text)}: index ${inner}`);
            i = close + 1;
        } else {
            name += c;
            i++;
        }
    }
    flush();
    return path;
}

/** `PropertyPath.Contains`: `pattern` is a prefix of `other`, "*" matching any key or index. */
export function pathContains(pattern: PropertyPath, other: PropertyPath): boolean {
    if (other.length < pattern.length) return false;
    return pattern.every((part, i) => {
        if (typeof part === "number") return other[i] === part;
        return part === "*" || other[i] === part;
    });
}

type Plain = Record<string, unknown>;

function isObject(value: unknown): value is Plain {
    return value !== null && typeof value === "object" && !Array.isArray(value);
}

/**
 * The changed leaf paths between two plain values, as a provider's detailed diff names them (properties by key, list
 * items by index, an added or removed property by its own path).
 */
export function changedPaths(before: unknown, after: unknown, prefix: PropertyPath = []): PropertyPath[] {
    if (Array.isArray(before) && Array.isArray(after)) {
        const paths: PropertyPath[] = [];
        for (let i = 0; i < Math.max(before.length, after.length); i++) paths.push(...changedPaths(before[i], after[i], [...prefix, i]));
        return paths;
    }
    if (isObject(before) && isObject(after)) {
        const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
        return keys.flatMap(key => changedPaths(before[key], after[key], [...prefix, key]));
    }
    return JSON.stringify(before ?? null) === JSON.stringify(after ?? null) ? [] : [prefix];
}

/**
 * The top-level keys `replaceOnChanges` turns into replacements: those whose key path, or one of whose changed leaf
 * paths, a pattern contains.
 */
export function replaceOnChangesKeys(changedKeys: readonly string[], oldInputs: Plain, newInputs: Plain, patterns: readonly string[]): string[] {
    const parsed = patterns.map(parsePropertyPath);
    return changedKeys.filter(key => {
        const leaves = changedPaths(oldInputs[key], newInputs[key], [key]);
        return parsed.some(pattern => pathContains(pattern, [key]) || leaves.some(leaf => pathContains(pattern, leaf)));
    });
}
