// Renders a plan the way `pulumi preview --diff` lays it out (pulumi/pulumi pkg/backend/display: diff.go and
// the property printer in object_diff.go, v3.248.0): one block per resource with its operation symbol (`+` create,
// `~` update, `+-` replace, `-` delete), indented under its parent, the `[urn=…]` line, then the properties:
// all inputs for a create or delete, only the changed ones for an update or replacement (`~ key: old => new`,
// `+ key` added, `- key` removed, nested objects and lists item by item).
// Strings follow pkg/backend/display/object_diff.go at v3.248.0 (the version package-lock.json pins): a string that
// decodes as JSON, or a multi-line one that decodes as YAML, to an object or a list is shown decoded as `(json) {…}`
// (`decodeValue`, lines 1349-1398; `printPrimitivePropertyValue`, 961-972) and a change of it as an object diff
// (`printEncodedValueDiff`, 1314-1345); any other changed multi-line string as a line diff with two lines of context
// and `...` for what is left out, blank lines skipped (`printTextDiff`, 1194-1211, called for two strings at 914;
// `printLineDiff`, 1250-1312); a changed single-line string as `"old" => "new"` (`printCharacterDiff`, 1213-1243,
// without colours). A string printed whole (a create) is cut to three lines of 150 characters, as `pulumi preview`
// does without `--show-full-output` (`truncatePropertyString`, 1456-1486; pkg/cmd/pulumi/operations/preview.go 393).
// A secret prints as `[secret]` and an unknown value as `[unknown]` (`printPrimitivePropertyValue`, 972-980). The
// step header is `<type>: (<op>)` and nothing more (`printStepHeader`, 66-82): a replacement's order and cause are
// not in it. Only logical steps are shown (display.go:308-328 `shouldShow`: the old half of a replacement, deleted
// at the end, is not). In a preview, stack outputs that become unknown are left out (`massageStackPreviewOutputDiff`,
// 355-364). Default providers are not shown (the display hides them). The summary (diff.go:260-327
// `renderSummaryEvent`) counts each kind of change ("+ 3 to create", "+ 3 created" after an update), adds the total
// "N changes" only when two or more kinds of change occur, then "N unchanged".
import { diffLines } from "diff";
import { parseAllDocuments } from "yaml";
import { Diagnostic, Step } from "./engine";
import { PropertyMap, PropertyValue, UNKNOWN, isSecret } from "./values";

const SYMBOLS: Record<string, string> = { create: "+ ", update: "~ ", replace: "+-", delete: "- ", same: "  ", refresh: "~ " };

function isDefaultProvider(urn: string): boolean {
    return /::pulumi:providers:[^:]+::default(_|$)/.test(urn);
}

function scalar(value: PropertyValue | undefined): string {
    if (value === undefined || value === null) return "null";
    if (isSecret(value)) return "[secret]";
    if (value === UNKNOWN) return "[unknown]";
    if (typeof value === "string") return JSON.stringify(value);
    return String(value);
}

function isText(value: PropertyValue | undefined): value is string {
    return typeof value === "string" && value !== UNKNOWN;
}

function isComposite(value: PropertyValue | undefined): value is PropertyMap | PropertyValue[] {
    return value !== null && typeof value === "object" && !isSecret(value);
}

/**
 * `decodeValue` of object_diff.go: the text (trimmed) as JSON, or, when it spans lines, as one YAML document; only an
 * object or a list counts, so "8080" or "foo: bar" stay strings.
 */
export function decodeEncoded(text: string): { value: PropertyValue; kind: "json" | "yaml" } | undefined {
    const repr = text.trim();
    let decoded: unknown;
    let kind: "json" | "yaml";
    try {
        decoded = JSON.parse(repr);
        kind = "json";
    } catch {
        if (!/[\r\n]/.test(repr)) return undefined;
        const documents = parseAllDocuments(repr);
        if (documents.length !== 1 || documents[0].errors.length > 0) return undefined;
        decoded = documents[0].toJS();
        kind = "yaml";
    }
    return decoded !== null && typeof decoded === "object" ? { value: decoded as PropertyValue, kind } : undefined;
}

/** `truncatePropertyString`: at most three lines of at most 150 characters, with "..." where text was left out. */
function truncated(text: string): string {
    const lines = text.split("\n");
    let cut = lines.length > 3;
    const shown = lines.slice(0, 3).map(line => {
        if (line.length <= 150) return line;
        cut = true;
        return `${line.slice(0, 150)}...`;
    });
    if (!cut) return text;
    return lines.length <= 3 ? shown.join("\n") : `${shown.join("\n")}\n...`;
}

/** A value printed in full (creates and deletes), one property per line. */
function printValue(value: PropertyValue | undefined, indent: string): string[] {
    if (Array.isArray(value)) {
        return ["[", ...value.flatMap((item, i) => prefixFirst(printValue(item, indent + "    "), `${indent}    [${i}]: `)), `${indent}]`];
    }
    if (isComposite(value)) {
        const map = value as PropertyMap;
        const width = Math.max(0, ...Object.keys(map).map(k => k.length));
        return ["{", ...Object.keys(map).sort().flatMap(k =>
            prefixFirst(printValue(map[k], indent + "    "), `${indent}    ${k.padEnd(width)}: `)), `${indent}}`];
    }
    if (isText(value)) {
        const decoded = decodeEncoded(value);
        return decoded ? prefixFirst(printValue(decoded.value, indent), `(${decoded.kind}) `) : [JSON.stringify(truncated(value))];
    }
    return [scalar(value)];
}

function prefixFirst(lines: string[], prefix: string): string[] {
    return [prefix + lines[0], ...lines.slice(1)];
}

/** Equality as `PropertyValue.DeepEquals`: object keys in any order. */
function equal(a: PropertyValue | undefined, b: PropertyValue | undefined): boolean {
    const canonical = (value: unknown): unknown =>
        Array.isArray(value) ? value.map(canonical)
            : value !== null && typeof value === "object"
                ? Object.fromEntries(Object.keys(value).sort().map(k => [k, canonical((value as Record<string, unknown>)[k])]))
                : value;
    return JSON.stringify(canonical(a ?? null)) === JSON.stringify(canonical(b ?? null));
}

/**
 * `printTextDiff`: both decode (JSON/YAML) → the decoded values diffed, labelled `(json)`; else one line each →
 * `"old" => "new"`; else a line diff (`printLineDiff`): changed lines marked, two lines of context around them.
 */
function printTextDiff(key: string, before: string, after: string, indent: string): string[] {
    const title = `${indent}~ ${key}: `;
    const decodedBefore = decodeEncoded(before);
    const decodedAfter = decodeEncoded(after);
    if (decodedBefore && decodedAfter) {
        if (equal(decodedBefore.value, decodedAfter.value)) {
            return printTextDiff(key, JSON.stringify(before), JSON.stringify(after), indent);
        }
        const kind = decodedBefore.kind === decodedAfter.kind ? decodedBefore.kind : `${decodedBefore.kind} => ${decodedAfter.kind}`;
        const lines = printDiff(key, decodedBefore.value, decodedAfter.value, indent);
        return [lines[0].replace(title, `${title}(${kind}) `), ...lines.slice(1)];
    }
    if (!before.includes("\n") && !after.includes("\n")) {
        return [`${title}${JSON.stringify(before)} => ${JSON.stringify(after)}`];
    }
    const lines = [title];
    const write = (mark: string, line: string) => lines.push(`${indent}    ${mark}${line}`);
    const CONTEXT = 2;
    const parts = diffLines(before, after);
    parts.forEach((part, index) => {
        const text = part.value.split("\n").filter(line => line.trim() !== "");
        if (part.added || part.removed) {
            text.forEach(line => write(part.added ? "+ " : "- ", line));
        } else if (index === 0 && text.length > CONTEXT + 1) {
            write("  ", "...");
            text.slice(-CONTEXT).forEach(line => write("  ", line));
        } else if (index === parts.length - 1 && index !== 0 && text.length > CONTEXT + 1) {
            text.slice(0, CONTEXT).forEach(line => write("  ", line));
            write("  ", "...");
        } else if (index !== 0 && index !== parts.length - 1 && text.length > 2 * CONTEXT + 1) {
            text.slice(0, CONTEXT).forEach(line => write("  ", line));
            write("  ", "...");
            text.slice(-CONTEXT).forEach(line => write("  ", line));
        } else {
            text.forEach(line => write("  ", line));
        }
    });
    return lines;
}

/** The changed parts of a property, recursively. */
function printDiff(key: string, before: PropertyValue | undefined, after: PropertyValue | undefined, indent: string): string[] {
    if (before === undefined || before === null) return prefixFirst(printValue(after, indent + "  "), `${indent}+ ${key}: `);
    if (after === undefined || after === null) return prefixFirst(printValue(before, indent + "  "), `${indent}- ${key}: `);
    if (Array.isArray(before) && Array.isArray(after)) {
        const lines: string[] = [];
        for (let i = 0; i < Math.max(before.length, after.length); i++) {
            if (!equal(before[i], after[i])) lines.push(...printDiff(`[${i}]`, before[i], after[i], indent + "    "));
        }
        return [`${indent}~ ${key}: [`, ...lines, `${indent}  ]`];
    }
    if (isComposite(before) && isComposite(after) && !Array.isArray(before) && !Array.isArray(after)) {
        const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
        const lines = keys.filter(k => !equal(before[k], after[k])).flatMap(k => printDiff(k, before[k], after[k], indent + "    "));
        return [`${indent}~ ${key}: {`, ...lines, `${indent}  }`];
    }
    if (isText(before) && isText(after)) {
        return printTextDiff(key, before, after, indent);
    }
    const left = printValue(before, indent + "  ");
    const right = printValue(after, indent + "  ");
    return prefixFirst([...left.slice(0, -1), `${left[left.length - 1]} => ${right[0]}`, ...right.slice(1)], `${indent}~ ${key}: `);
}

function depth(step: Step, parents: Map<string, string | undefined>): number {
    let level = 0;
    let parent = parents.get(step.urn);
    while (parent) {
        level++;
        parent = parents.get(parent);
    }
    return level;
}

/** Steps in tree order: each resource followed by its children, in registration order (as the display groups them). */
function treeOrder(steps: Step[], parents: Map<string, string | undefined>): Step[] {
    const children = new Map<string | undefined, Step[]>();
    for (const step of steps) {
        const parent = parents.get(step.urn);
        const key = parent !== undefined && parents.has(parent) ? parent : undefined;
        children.set(key, [...(children.get(key) ?? []), step]);
    }
    const ordered: Step[] = [];
    const visit = (parent: string | undefined) => {
        for (const step of children.get(parent) ?? []) {
            ordered.push(step);
            if (step.urn !== parent) visit(step.urn);
        }
    };
    visit(undefined);
    return ordered;
}

/** The text of `pulumi preview --diff` (or of `pulumi up`, with `heading` "Updating") for a plan. */
export function renderPreview(stack: string, steps: Step[], diagnostics: Diagnostic[] = [], heading = "Previewing update"): string {
    const preview = heading.startsWith("Previewing");
    const parents = new Map<string, string | undefined>();
    for (const step of steps) parents.set(step.urn, (step.new ?? step.old)?.parent);
    const lines = [`${heading} (${stack}):`, ""];
    const counts: Record<string, number> = {};
    for (const step of treeOrder(steps, parents)) {
        if (isDefaultProvider(step.urn) || step.op === "delete-replaced") continue;
        counts[step.op] = (counts[step.op] ?? 0) + 1;
        const isStack = step.type === "pulumi:pulumi:Stack";
        if (step.op === "same" && !isStack) continue;
        const indent = "  " + "    ".repeat(depth(step, parents));
        const symbol = SYMBOLS[step.op];
        lines.push(`${indent}${symbol}${step.type}: (${step.op})`);
        const detail = indent + "    ";
        const state = step.new ?? step.old!;
        if (step.old?.id) lines.push(`${detail}[id=${step.old.id}]`);
        lines.push(`${detail}[urn=${step.urn}]`);
        if (step.op === "create" || step.op === "delete") {
            const inputs = (step.op === "create" ? step.new!.inputs : step.old!.inputs);
            const width = Math.max(0, ...Object.keys(inputs).map(k => k.length));
            for (const key of Object.keys(inputs).sort()) {
                lines.push(...prefixFirst(printValue(inputs[key], detail), `${detail}${key.padEnd(width)}: `));
            }
        } else if (step.op === "update" || step.op === "replace") {
            const source = isStack ? "outputs" : "inputs";
            for (const key of step.changedKeys.filter(k => !["provider", "outputs", "replacementTrigger"].includes(k))) {
                const before = isStack ? step.old!.outputs : step.oldValues ?? step.old!.inputs;
                lines.push(...printDiff(key, before[key], state[source][key], detail.slice(0, -2)));
            }
            if (isStack) {
                const before = step.old!.outputs;
                const after = state.outputs;
                lines.push(`${detail}outputs:`);
                for (const key of [...new Set([...Object.keys(before), ...Object.keys(after)])].sort()) {
                    // A preview leaves out an output that becomes unknown (object_diff.go:360).
                    if (preview && after[key] === UNKNOWN && before[key] !== undefined) continue;
                    if (!equal(before[key], after[key])) lines.push(...printDiff(key, before[key], after[key], detail));
                }
            }
        }
    }
    for (const diagnostic of diagnostics.filter(d => d.severity === "warning" || d.severity === "error")) {
        lines.push("", `Diagnostics:`, `  ${diagnostic.urn ?? "pulumi:pulumi:Stack"} (${diagnostic.severity}):`, `    ${diagnostic.message.trim()}`);
    }
    lines.push("", "Resources:");
    // deploy.StepOps order: same, create, update, delete, replace, ...
    const changes = ["create", "update", "delete", "replace"].filter(op => counts[op]);
    const words: Record<string, string> = preview
        ? { create: "to create", update: "to update", replace: "to replace", delete: "to delete" }
        : { create: "created", update: "updated", replace: "replaced", delete: "deleted" };
    for (const op of changes) lines.push(`    ${SYMBOLS[op]}${counts[op]} ${words[op]}`);
    const total = changes.reduce((sum, op) => sum + counts[op], 0);
    const pieces = [
        ...(changes.length >= 2 ? [`${total} change${total === 1 ? "" : "s"}`] : []),
        ...(counts.same ? [`${counts.same} unchanged`] : []),
    ];
    if (pieces.length) lines.push(`    ${pieces.join(". ")}`);
    return lines.join("\n");
}
