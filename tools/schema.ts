/**
 * Pulumi's own schema inference for source-based TypeScript components, run in-process: what
 * `pulumi package add` infers from this package, which makes the component usable from every language.
 * `npm run generate` writes it to schema.json; a test fails when the committed file is stale.
 */
import * as fs from "fs";
import * as path from "path";
import { Analyzer } from "@pulumi/pulumi/provider/experimental/analyzer";
import { generateSchema, PackageSpec } from "@pulumi/pulumi/provider/experimental/schema";

export const ROOT = path.join(__dirname, "..");
export const SCHEMA_FILE = path.join(ROOT, "schema.json");
export const COMPONENTS = ["IdentityService", "CreatioOAuthConnection"];

export function inferSchema(root: string = ROOT): PackageSpec {
    const packageJson = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8"));
    const analyzer = new Analyzer(root, packageJson.name, packageJson, new Set(COMPONENTS));
    const { components, typeDefinitions, dependencies } = analyzer.analyze();
    return generateSchema(packageJson.name, packageJson.version, packageJson.description, components, typeDefinitions, dependencies);
}

export function renderSchema(schema: PackageSpec): string {
    return JSON.stringify(schema, null, 2) + "\n";
}

if (require.main === module) {
    fs.writeFileSync(SCHEMA_FILE, renderSchema(inferSchema()));
    console.log(`wrote ${path.relative(process.cwd(), SCHEMA_FILE)}`);
}
