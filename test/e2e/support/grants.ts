// The grants docs/reseed.md documents, read from that page, for the tests that run them on the real PostgreSQL.
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";

const DOCS = path.join(__dirname, "..", "..", "..", "docs", "reseed.md");
export const SCHEMA = "app";
/** The role name the page's statements grant to. */
export const DOCUMENTED_ROLE = "identity_reseed";

/** The statements of the page's SQL block whose first line is `-- grants: <title>`. */
export function documentedStatements(title: string): string[] {
  const blocks = [...fs.readFileSync(DOCS, "utf8").matchAll(/```sql\n([\s\S]*?)```/g)].map((m) => m[1]);
  const block = blocks.find((b) => b.startsWith(`-- grants: ${title}\n`));
  assert.ok(block, `docs/reseed.md has no SQL block "-- grants: ${title}"`);
  return block
    .split(";")
    .map((statement) => statement.replace(/^\s*--.*$/gm, "").replace(/\s+/g, " ").trim())
    .filter(Boolean);
}

/** A documented statement for this database, schema and role. */
export function adapted(statement: string, database: string, role: string, schema = SCHEMA): string {
  return statement
    .replace(/\bDATABASE identity\b/, `DATABASE ${database}`)
    .replace(/\bpublic\b/g, schema)
    .replace(new RegExp(`\\b${DOCUMENTED_ROLE}\\b`, "g"), `"${role}"`);
}

