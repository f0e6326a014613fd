/**
 * Renders the API reference (docs/reference.md) and the README's inputs/outputs tables from schema.json, so the
 * documentation comes from the same JSDoc as the schema and cannot drift. `npm run generate` rewrites both;
 * a test fails when either is stale.
 */
import * as fs from "fs";
import * as path from "path";
import type { PackageSpec, Property } from "@pulumi/pulumi/provider/experimental/schema";
import { ROOT, SCHEMA_FILE } from "./schema";

export const README_FILE = path.join(ROOT, "README.md");
export const REFERENCE_FILE = path.join(ROOT, "docs", "reference.md");

const TOKEN_PREFIX = "#/types/";
/** Types taken over from other packages: linked, not expanded in the README. */
const NOT_EXPANDED = /ConnectionArgs$/;

type Schema = PackageSpec & { resources: Record<string, { inputProperties?: Record<string, Property>; properties?: Record<string, Property>; requiredInputs?: string[]; required?: string[]; description?: string }> };

function typeName(ref: string): string {
    return ref.slice(TOKEN_PREFIX.length).split(":").pop()!;
}

function anchor(name: string): string {
    return name.toLowerCase();
}

function oneLine(text: string | undefined): string {
    return (text ?? "").replace(/\s*\n\s*/g, " ").replace(/\|/g, "\\|").trim();
}

function typeLabel(property: Property, linkPrefix: string): string {
    return property.plain ? `${elementLabel(property, linkPrefix)} (plain)` : elementLabel(property, linkPrefix);
}

/** A type without its plainness: an array's or a map's elements are plain when the array or map is. */
function elementLabel(property: Property, linkPrefix: string): string {
    const spec = property as Property & { $ref?: string; type?: string; items?: Property; additionalProperties?: Property };
    if (spec.$ref === "pulumi.json#/Any") {
        return "any";
    }
    if (spec.$ref) {
        const name = typeName(spec.$ref);
        return `[${name}](${linkPrefix}#${anchor(name)})`;
    }
    if (spec.type === "array" && spec.items) {
        return `${elementLabel(spec.items, linkPrefix)}[]`;
    }
    if (spec.type === "object" && spec.additionalProperties) {
        return `map of ${elementLabel(spec.additionalProperties, linkPrefix)}`;
    }
    return spec.type ?? "any";
}

interface Row {
    readonly name: string;
    readonly type: string;
    readonly required: boolean;
    readonly description: string;
}

/** Input rows, with nested object types expanded into `parent.child` rows. */
function inputRows(schema: Schema, properties: Record<string, Property>, required: string[], prefix: string, linkPrefix: string): Row[] {
    const rows: Row[] = [];
    for (const [name, property] of Object.entries(properties)) {
        const spec = property as Property & { $ref?: string };
        const fullName = prefix + name;
        rows.push({ name: fullName, type: typeLabel(property, linkPrefix), required: required.includes(name), description: oneLine(property.description) });
        const nested = spec.$ref ? schema.types[spec.$ref.slice(TOKEN_PREFIX.length)] : undefined;
        if (nested?.properties && !NOT_EXPANDED.test(typeName(spec.$ref!))) {
            rows.push(...inputRows(schema, nested.properties, nested.required ?? [], `${fullName}.`, linkPrefix));
        }
    }
    return rows;
}

function table(rows: readonly Row[], withRequired: boolean): string {
    const header = withRequired ? "| name | type | required | description |\n|---|---|---|---|" : "| name | type | description |\n|---|---|---|";
    const lines = rows.map(row =>
        withRequired
            ? `| \`${row.name}\` | ${row.type} | ${row.required ? "yes" : "no"} | ${row.description} |`
            : `| \`${row.name}\` | ${row.type} | ${row.description} |`,
    );
    return [header, ...lines].join("\n");
}

function component(schema: Schema) {
    const [token, resource] = Object.entries(schema.resources)[0];
    return { token, resource };
}

export function readmeInputs(schema: Schema): string {
    const { resource } = component(schema);
    return table(inputRows(schema, resource.inputProperties ?? {}, resource.requiredInputs ?? [], "", "docs/reference.md"), true);
}

export function readmeOutputs(schema: Schema): string {
    const { resource } = component(schema);
    return table(inputRows(schema, resource.properties ?? {}, [], "", "docs/reference.md").filter(row => !row.name.includes(".")), false);
}

export function reference(schema: Schema): string {
    const parts = [
        "# API reference",
        "",
        "Generated from `schema.json` (Pulumi's schema inference over `src/`) by `npm run generate`; do not edit by hand.",
        "",
    ];
    for (const [token, resource] of Object.entries(schema.resources)) {
        parts.push(
            `## ${typeName(TOKEN_PREFIX + token)}`,
            "",
            `Type token: \`${token}\``,
            "",
            oneLine(resource.description),
            "",
            "### Inputs",
            "",
            table(inputRows(schema, resource.inputProperties ?? {}, resource.requiredInputs ?? [], "", "").filter(row => !row.name.includes(".")), true),
            "",
            "### Outputs",
            "",
            table(inputRows(schema, resource.properties ?? {}, [], "", "").filter(row => !row.name.includes(".")), false),
            "",
        );
    }
    for (const [typeToken, type] of Object.entries(schema.types).sort(([a], [b]) => typeName(TOKEN_PREFIX + a).localeCompare(typeName(TOKEN_PREFIX + b)))) {
        const name = typeName(TOKEN_PREFIX + typeToken);
        parts.push(`## ${name}`, "", oneLine(type.description), "");
        if (type.enum) {
            parts.push("| value | name | description |", "|---|---|---|");
            for (const value of type.enum) {
                parts.push(`| \`${JSON.stringify(value.value)}\` | ${value.name} | ${oneLine(value.description)} |`);
            }
        } else {
            const rows = inputRows(schema, type.properties ?? {}, type.required ?? [], "", "").filter(row => !row.name.includes("."));
            parts.push(table(rows, true));
        }
        parts.push("");
    }
    return parts.join("\n");
}

/** Replaces the text between `<!-- generated:NAME -->` and `<!-- /generated:NAME -->`. */
export function replaceGenerated(document: string, name: string, content: string): string {
    const start = `<!-- generated:${name} -->`;
    const end = `<!-- /generated:${name} -->`;
    const from = document.indexOf(start);
    const to = document.indexOf(end);
    if (from < 0 || to < from) {
        throw new Error(`README.md has no ${start} … ${end} section`);
    }
    return `${document.slice(0, from + start.length)}\n${content}\n${document.slice(to)}`;
}

export function renderReadme(schema: Schema, readme: string): string {
    return replaceGenerated(replaceGenerated(readme, "inputs", readmeInputs(schema)), "outputs", readmeOutputs(schema));
}

export function loadSchema(): Schema {
    return JSON.parse(fs.readFileSync(SCHEMA_FILE, "utf8"));
}

if (require.main === module) {
    const schema = loadSchema();
    fs.mkdirSync(path.dirname(REFERENCE_FILE), { recursive: true });
    fs.writeFileSync(REFERENCE_FILE, reference(schema));
    fs.writeFileSync(README_FILE, renderReadme(schema, fs.readFileSync(README_FILE, "utf8")));
    console.log(`wrote ${path.relative(process.cwd(), REFERENCE_FILE)} and the tables of ${path.relative(process.cwd(), README_FILE)}`);
}
