/**
 * Client re-seeding. The service inserts its system client only when the client is missing, so a changed
 * id, secret or any other client field would be ignored. Before the service restarts with a new client
 * configuration, `src/scripts/reseed.js` deletes the old client's rows in one transaction.
 */
import * as crypto from "crypto";
import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import { DatabaseProvider } from "./args";
import { nodeScriptCommand } from "./packagedScripts";

/** A fingerprint of the rendered `Clients` value: the script deletes rows only when it changes. */
export function clientHash(clientsJson: string): string {
    return crypto.createHash("sha256").update(clientsJson).digest("hex");
}

export interface ReseedInputs {
    readonly provider: DatabaseProvider;
    readonly connectionString: pulumi.Input<string>;
    readonly clientId: pulumi.Input<string>;
    readonly clientsJson: pulumi.Input<string>;
}

/** What the script reads on stdin: all of it secret. */
export function reseedStdin(inputs: ReseedInputs): pulumi.Output<string> {
    return pulumi.secret(
        pulumi
            .all([inputs.connectionString, inputs.clientId, inputs.clientsJson])
            .apply(([connectionString, clientId, clientsJson]) =>
                JSON.stringify({ connectionString, clientId, clientHash: clientHash(clientsJson) }),
            ),
    );
}

/**
 * The re-seed command. It runs on every change of its stdin, but deletes rows only when the client hash
 * differs from the one it printed last time (the provider hands the previous stdout back), so a new
 * connection string alone never removes the client.
 */
export function createReseed(name: string, inputs: ReseedInputs, opts: pulumi.CustomResourceOptions): command.local.Command {
    const script = nodeScriptCommand("reseed.js");
    return new command.local.Command(
        `${name}-client-reseed`,
        {
            create: script,
            update: script,
            environment: { RESEED_DB_PROVIDER: inputs.provider },
            stdin: reseedStdin(inputs),
            addPreviousOutputInEnv: true,
            logging: "none",
        },
        { ...opts, additionalSecretOutputs: ["stdout", "stderr"] },
    );
}
