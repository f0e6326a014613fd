// Renders a plan the way `pulumi preview --diff` lays it out (pulumi/pulumi pkg/backend/display: diff.go and
// the property printer in pkg/engine/diff.go): one block per resource with its operation symbol (`+` create,
// `~` update, `+-` replace, `-` delete), indented under its parent, the `[urn=…]` line, then the properties:
// all inputs for a create or delete, only the changed ones for an update or replacement (`~ key: old => new`,
// `+ key` added, `- key` removed, nested objects and lists item by item, multi-line text line by line).
// A secret prints as `[secret]` and an unknown value as `output<string>`, as the display does. Default providers
// are not shown (the display hides them), and the summary counts each operation ("Resources: + 3 to create").
import { diffLines } from "diff";
import { Diagnostic, Step } from "./engine";
import { PropertyMap, PropertyValue, UNKNOWN, isSecret } from "./values";

const SYMBOLS: Record<string, string> = { create: "+ ", update: "~ ", replace: "+-", delete: "- ", same: "  ", refresh: "~ " };

function isDefaultProvider(urn: string): boolean {
    return /::pulumi:providers:[^:]+::default(_|$)/.test(urn);
}

function scalar(value: PropertyValue | undefined): string {
    if (value === undefined || value === null) return "null";
    if (isSecret(value)) return "[secret]";
    if (value === UNKNOWN) return "output<string>";
    if (typeof value === "string") return JSON.stringify(value);
    return String(value);
}

function isComposite(value: PropertyValue | undefined): value is PropertyMap | PropertyValue[] {
    return value !== null && typeof value === "object" && !isSecret(value);
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
    if (typeof value === "string" && value.includes("\n") && !isSecret(value)) {
        return ["(multi-line text)", ...value.split("\n").map(line => `${indent}    ${line}`)];
    }
    return [scalar(value)];
}

function prefixFirst(lines: string[], prefix: string): string[] {
    return [prefix + lines[0], ...lines.slice(1)];
}

function equal(a: PropertyValue | undefined, b: PropertyValue | undefined): boolean {
    return JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
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
    if (typeof before === "string" && typeof after === "string" && (before.includes("\n") || after.includes("\n"))) {
        const lines = diffLines(before, after).flatMap(part => {
            const mark = part.added ? "+ " : part.removed ? "- " : "  ";
            return part.value.replace(/\n$/, "").split("\n").map(line => `${indent}    ${mark}${line}`);
        });
        return [`${indent}~ ${key}: (multi-line text)`, ...lines];
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
    const parents = new Map<string, string | undefined>();
    for (const step of steps) parents.set(step.urn, (step.new ?? step.old)?.parent);
    const lines = [`${heading} (${stack}):`, ""];
    const counts: Record<string, number> = {};
    for (const step of treeOrder(steps, parents)) {
        if (isDefaultProvider(step.urn)) continue;
        counts[step.op] = (counts[step.op] ?? 0) + 1;
        const isStack = step.type === "pulumi:pulumi:Stack";
        if (step.op === "same" && !isStack) continue;
        const indent = "  " + "    ".repeat(depth(step, parents));
        const symbol = SYMBOLS[step.op];
        const extra = step.op === "replace" ? `; ${step.deleteBeforeReplace ? "delete before create" : "create before delete"}, because of ${step.replaceKeys.join(", ")}` : "";
        lines.push(`${indent}${symbol}${step.type}: (${step.op}${extra})`);
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
                lines.push(...printDiff(key, step.old![source][key], state[source][key], detail.slice(0, -2)));
            }
            if (isStack) {
                const before = step.old!.outputs;
                const after = state.outputs;
                lines.push(`${detail}outputs:`);
                for (const key of [...new Set([...Object.keys(before), ...Object.keys(after)])].sort()) {
                    if (!equal(before[key], after[key])) lines.push(...printDiff(key, before[key], after[key], detail));
                }
            }
        }
    }
    for (const diagnostic of diagnostics.filter(d => d.severity === "warning" || d.severity === "error")) {
        lines.push("", `Diagnostics:`, `  ${diagnostic.urn ?? "pulumi:pulumi:Stack"} (${diagnostic.severity}):`, `    ${diagnostic.message.trim()}`);
    }
    lines.push("", "Resources:");
    const changes = ["create", "update", "replace", "delete"].filter(op => counts[op]);
    if (changes.length === 0) {
        lines.push(`    ${counts.same ?? 0} unchanged`, "", "no changes");
    } else {
        const words: Record<string, string> = { create: "to create", update: "to update", replace: "to replace", delete: "to delete" };
        for (const op of changes) lines.push(`    ${SYMBOLS[op].trimEnd().padEnd(2)}${counts[op]} ${words[op]}`);
        const total = changes.reduce((sum, op) => sum + counts[op], 0);
        lines.push(`    ${total} change${total === 1 ? "" : "s"}${counts.same ? `. ${counts.same} unchanged` : ""}`);
    }
    return lines.join("\n");
}
