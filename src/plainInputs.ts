/**
 * The arguments that must be plain values. The component reads them while the program runs to decide what it
 * creates (the target, the version, the database provider, which blocks are present), so they cannot wait for an
 * Output. A Node.js program cannot pass an Output there (the types forbid it), but a program in another language
 * reaches the component through its component provider, and the engine hands a block over as an Output when the
 * program made the whole block secret or took it from another resource's output. Such a block is refused here with
 * the field and the fix, before anything is created, instead of failing somewhere inside the plan.
 */
import * as pulumi from "@pulumi/pulumi";
import { IdentityServiceArgs } from "./args";
import { ArgumentCheck } from "./validation";

/** A plain field: `true` for a value, or the plain fields of a block. */
export type PlainFields = { readonly [field: string]: true | PlainFields };

/** Every field of `IdentityServiceArgs` that is not a `pulumi.Input` (schema.json marks them `"plain": true`). */
export const PLAIN_FIELDS: PlainFields = {
    target: true,
    creatioVersion: true,
    profileVersion: true,
    database: { provider: true },
    client: { reseed: true, reseedRunner: true },
    signingCertificate: {},
    docker: { build: {}, https: { certificate: {} } },
    iis: { connection: {}, appPoolIdentity: {}, stdoutLog: {}, https: {}, detectDrift: true, retainOnDelete: true },
    swarm: { build: {}, https: { certificate: {} }, redis: {}, resources: {}, update: {}, rollback: {} },
    proxy: {},
    readiness: { enabled: true },
    creatio: { runtime: true, enableFeature: true, healthCheck: true, tls: {}, clearSettingsOnDelete: true },
    additionalSettings: {},
    environment: {},
    overrides: true,
};

/** The paths of plain fields whose value is an Output or a Promise. */
export function outputValuedPlainFields(value: unknown, fields: PlainFields = PLAIN_FIELDS, prefix = ""): string[] {
    if (value === null || typeof value !== "object") {
        return [];
    }
    const given = value as Record<string, unknown>;
    return Object.entries(fields).flatMap(([field, nested]) => {
        const path = prefix + field;
        const fieldValue = given[field];
        if (pulumi.Output.isInstance(fieldValue) || fieldValue instanceof Promise) {
            return [path];
        }
        return nested === true ? [] : outputValuedPlainFields(fieldValue, nested, `${path}.`);
    });
}

/** Throws one error naming every plain field that arrived as an Output. */
export function checkPlainInputs(name: string, args: IdentityServiceArgs): void {
    const check = new ArgumentCheck(name);
    for (const path of outputValuedPlainFields(args)) {
        // The Output may hold a secret (the program made the block secret): its value must not be reported.
        check.fail(path, plainFieldProblem(path), { secret: true });
    }
    check.throwIfAny();
}

function plainFieldProblem(path: string): string {
    const block = isBlock(path);
    return (
        `must be ${block ? "a plain object" : "a plain value"} known when the program runs (the component reads it to decide ` +
        `what to create), but it arrived as an Output, because the program made it secret as a whole or took it from another ` +
        `resource's output; ` +
        (block
            ? `write the \`${path}\` block out in the program and make only the values inside it secret or computed ` +
              `(for example \`database.connectionString\`), not the block itself`
            : `give \`${path}\` as a literal or a plain configuration value, not a secret or another resource's output`)
    );
}

function isBlock(path: string): boolean {
    let fields: PlainFields | true | undefined = PLAIN_FIELDS;
    for (const part of path.split(".")) {
        fields = fields === true || fields === undefined ? undefined : fields[part];
    }
    return typeof fields === "object";
}
