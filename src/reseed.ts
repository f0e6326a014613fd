/**
 * Client re-seeding. The service inserts its system client from configuration only when that client id is missing,
 * so the database must match the configuration before the service starts. Two local commands run
 * `src/scripts/reseed.js`, where the runner says (`src/reseedRunners/`: on the machine that runs Pulumi, in a
 * one-shot container next to the service, or with its statements carried out on the IIS server), both deciding from the rows in the database (never from a previous run
 * alone): `<name>-client-reseed` before the service (re)starts deletes a client that differs from its configuration
 * (and then hands the service a new restart token) or adds a rotated secret next to the old one;
 * `<name>-client-retire`, once the new client is in service, removes the credentials it replaced. Old and new
 * credentials overlap in between. Every runner is the same kind of resource under the same names, so switching
 * runners is an update that keeps the steps' previous results (the restart token, the ids still to retire).
 */
import * as crypto from "crypto";
import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import { DatabaseProvider } from "./args";
import { ClientDefinition } from "./configuration";
import { withRepair } from "./repair";

/** IdentityServer4 stores a shared secret as `secret.Sha256()`: Base64 of the SHA-256 of its UTF-8 bytes. */
export function identityServerSecretHash(secret: string): string {
    return crypto.createHash("sha256").update(secret, "utf8").digest("base64");
}

/** The client as the service stores it: the secrets hashed, so the script never needs them in clear. */
export interface StoredClient extends Omit<ClientDefinition, "Secrets"> {
    SecretHashes: string[];
}

export function storedClient(definition: ClientDefinition): StoredClient {
    const { Secrets, ...rest } = definition;
    return { ...rest, SecretHashes: Secrets.map(identityServerSecretHash) };
}

export type ReseedAction = "prepare" | "retire";

export interface ReseedInputs {
    readonly provider: DatabaseProvider;
    readonly connectionString: pulumi.Input<string>;
    /** The client the service is given (its `Clients` entry). */
    readonly client: pulumi.Input<ClientDefinition>;
    /** The `repair` argument: a change of it runs the re-seed step again. */
    readonly repair?: pulumi.Input<string>;
}

/**
 * What the script reads on stdin: secret, as it holds the connection string. The retire step also gets the client
 * ids the re-seed step saw replaced (`supersededClientIds`) and whether it found no tables (`tablesMissingAtPrepare`).
 */
export function reseedStdin(
    inputs: ReseedInputs,
    action: ReseedAction,
    prepared?: pulumi.Input<PreparedResult>,
    runnerInput?: pulumi.Input<Record<string, unknown>>,
): pulumi.Output<string> {
    return pulumi.secret(
        pulumi
            .all([inputs.connectionString, inputs.client, prepared, runnerInput])
            .apply(([connectionString, client, result, extra]) =>
                JSON.stringify({
                    ...(extra ?? {}),
                    action,
                    connectionString,
                    client: storedClient(client),
                    ...(result && result.supersededClientIds.length > 0 ? { supersededClientIds: result.supersededClientIds } : {}),
                    ...(result?.tablesMissing ? { tablesMissingAtPrepare: true } : {}),
                }),
            ),
    );
}

/** What the retire step needs of the re-seed step's last result. */
export interface PreparedResult {
    /** The client ids it saw replaced. */
    readonly supersededClientIds: string[];
    /** It found no "Clients" table: the service created the tables afterwards and seeded only the configured client. */
    readonly tablesMissing: boolean;
}

export function parsePreparedResult(stdout: string | undefined): PreparedResult {
    return { supersededClientIds: parseSupersededClientIds(stdout), tablesMissing: reseedResult(stdout)?.tablesMissing === true };
}

/** Which of the two steps a command runs. */
export type ReseedStepRole = "client-reseed" | "client-retire";

/**
 * Where the steps run: the command line and environment (nothing secret) of each step, and what they wait for. The
 * script's stdin, stdout and exit code are the same whatever the runner.
 */
export interface ReseedRunner {
    step(role: ReseedStepRole): { command: string; environment: pulumi.Input<Record<string, pulumi.Input<string>>> };
    /** Resources the steps need first, such as the network the container joins. */
    readonly dependsOn: pulumi.Resource[];
    /** What the runner adds to the script's (secret) stdin, such as the SSH connection of the `server` runner. */
    readonly stdin?: pulumi.Input<Record<string, unknown>>;
}

function createStep(
    name: string,
    role: ReseedStepRole,
    stdin: pulumi.Output<string>,
    runner: ReseedRunner,
    after: pulumi.Resource[],
    opts: pulumi.CustomResourceOptions,
    repair?: pulumi.Input<string>,
) {
    const { command: script, environment: runnerEnvironment } = runner.step(role);
    const environment = withRepair(runnerEnvironment, repair);
    return new command.local.Command(
        `${name}-${role}`,
        {
            create: script,
            update: script,
            environment,
            stdin,
            addPreviousOutputInEnv: true,
            logging: "none",
        },
        { ...opts, dependsOn: [...after, ...runner.dependsOn], additionalSecretOutputs: ["stdout", "stderr"] },
    );
}

/** The step before the service (re)starts. Order the service after it and feed it `restartToken(step)`. */
export function createReseed(name: string, inputs: ReseedInputs, runner: ReseedRunner, opts: pulumi.CustomResourceOptions): command.local.Command {
    // Only this step takes `repair`: the retire step follows from what it finds, as on any other run.
    return createStep(name, "client-reseed", reseedStdin(inputs, "prepare", undefined, runner.stdin), runner, [], opts, inputs.repair);
}

/**
 * The step that retires the replaced credentials. `after` lists every resource that must have the new credentials
 * in use first: the readiness gate (or the service itself when there is none) and any consumer the program connects.
 */
export function createRetirement(
    name: string,
    inputs: ReseedInputs,
    runner: ReseedRunner,
    reseed: command.local.Command,
    after: pulumi.Resource[],
    opts: pulumi.CustomResourceOptions,
): command.local.Command {
    const stdin = reseedStdin(inputs, "retire", reseed.stdout.apply(parsePreparedResult), runner.stdin);
    return createStep(name, "client-retire", stdin, runner, after, opts);
}

/** The JSON line the re-seed step printed, or undefined (no output yet, as under mocks, or not the script's). */
function reseedResult(stdout: string | undefined): { restartToken?: unknown; supersededClientIds?: unknown; tablesMissing?: unknown } | undefined {
    for (const line of (stdout ?? "").split(/\r?\n/).reverse()) {
        try {
            const value = JSON.parse(line) as unknown;
            if (value && typeof value === "object" && !Array.isArray(value)) return value as Record<string, unknown>;
        } catch {
            // not the script's JSON line
        }
    }
    return undefined;
}

/** The re-seed step's restart token: empty until it deletes rows, then new on every deletion. Not secret. */
export function parseRestartToken(stdout: string | undefined): string {
    const token = reseedResult(stdout)?.restartToken;
    return typeof token === "string" ? token : "";
}

/** The client ids the re-seed step saw replaced in its last run. */
export function parseSupersededClientIds(stdout: string | undefined): string[] {
    const ids = reseedResult(stdout)?.supersededClientIds;
    return Array.isArray(ids) ? ids.filter((id): id is string => typeof id === "string" && id !== "") : [];
}

export function restartToken(reseed: command.local.Command): pulumi.Output<string> {
    // The token is random and tells nothing about the client, so it may leave the secret stdout in clear.
    return pulumi.unsecret(reseed.stdout.apply(parseRestartToken));
}
