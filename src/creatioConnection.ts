/**
 * The CreatioOAuthConnection component: connects a Creatio instance to an Identity Service through Creatio's REST
 * API (system settings, feature, default resource) and proves it with Creatio's own health check. One local
 * command runs `src/scripts/creatio-connect.js`; the Creatio password and the client secret reach it on stdin only.
 */
import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import { CreatioHealthCheckResult, CreatioOAuthConnectionArgs } from "./creatioArgs";
import { ConnectionPlan, connectionEnvironment, connectionStdin, planConnection } from "./creatioPlan";
import { nodeScriptCommand } from "./packagedScripts";
import { afterArgumentChecks } from "./validation";

export const CONNECTION_TYPE_TOKEN = "creatio-identity-service:index:CreatioOAuthConnection";
export const CONNECT_SCRIPT = "creatio-connect.js";

/**
 * A Creatio instance connected to an Identity Service: the three `OAuth20IdentityServer*` system settings written,
 * the `OAuth20Integration` feature on, the default resource created where the version needs it, and Creatio's
 * OAuth health check passing. A run with unchanged inputs sends no request; a new URL, client id or secret applies
 * again. Deleting it leaves Creatio's settings as they are unless `clearSettingsOnDelete` is set.
 */
export class CreatioOAuthConnection extends pulumi.ComponentResource {
    /**
     * The Identity Service URL written to `OAuth20IdentityServerUrl`. Resolves once the connection is applied.
     */
    public readonly identityServiceUrl: pulumi.Output<string>;
    /**
     * The client id written to `OAuth20IdentityServerClientId`. Resolves once the connection is applied.
     */
    public readonly clientId: pulumi.Output<string>;
    /**
     * What Creatio's OAuth health check answered (`checked` is false when the version has none or it is off).
     */
    public readonly healthCheck: pulumi.Output<CreatioHealthCheckResult>;

    constructor(name: string, args: CreatioOAuthConnectionArgs, opts?: pulumi.ComponentResourceOptions) {
        const plan = planConnection(name, args);
        super(CONNECTION_TYPE_TOKEN, name, {}, afterArgumentChecks(opts, [plan.argumentsResolved]));
        const applied = createConnectionCommand(name, plan, { parent: this });
        this.identityServiceUrl = applied.identityServiceUrl;
        this.clientId = applied.clientId;
        this.healthCheck = applied.healthCheck;
        this.registerOutputs({ identityServiceUrl: this.identityServiceUrl, clientId: this.clientId, healthCheck: this.healthCheck });
    }
}

/** What a connection command yields. */
export interface AppliedConnection {
    readonly command: command.local.Command;
    readonly identityServiceUrl: pulumi.Output<string>;
    readonly clientId: pulumi.Output<string>;
    readonly healthCheck: pulumi.Output<CreatioHealthCheckResult>;
}

/**
 * The local command that applies a checked plan. Its inputs are the whole of what it does, so an unchanged plan is
 * no change (no request), and a changed URL, client id or secret (stdin) is an update that applies again.
 */
export function createConnectionCommand(name: string, plan: ConnectionPlan, opts: pulumi.CustomResourceOptions): AppliedConnection {
    const script = nodeScriptCommand(CONNECT_SCRIPT);
    const connection = new command.local.Command(
        `${name}-connection`,
        {
            create: `${script} apply`,
            update: `${script} apply`,
            delete: plan.clearSettingsOnDelete ? `${script} clear` : undefined,
            environment: connectionEnvironment(plan),
            stdin: connectionStdin(plan),
            logging: "none",
        },
        { ...opts, additionalSecretOutputs: ["stdout", "stderr"] },
    );
    // Resolve once the command has run, keeping each value's own secrecy (the id is not a secret; stdout is).
    const after = <T>(value: pulumi.Input<T>): pulumi.Output<T> => pulumi.all([connection.id, value]).apply(([, resolved]) => resolved as T);
    return {
        command: connection,
        identityServiceUrl: after(plan.identityServiceUrl),
        clientId: after(plan.clientId),
        // The script's report holds no secret (it is scrubbed); only its health check booleans are taken from it.
        healthCheck: pulumi.unsecret(connection.stdout.apply(parseHealthCheck)),
    };
}

/** The health check part of the script's report (its last JSON line). */
export function parseHealthCheck(stdout: string): CreatioHealthCheckResult {
    const lines = stdout.trim().split("\n");
    let report: { healthCheck?: Record<string, unknown> } = {};
    try {
        report = JSON.parse(lines[lines.length - 1]);
    } catch {
        return { checked: false };
    }
    const found = report.healthCheck ?? {};
    if (found.checked !== true) {
        return { checked: false };
    }
    const flag = (key: string) => (typeof found[key] === "boolean" ? (found[key] as boolean) : undefined);
    return {
        checked: true,
        hasProblem: flag("hasProblem"),
        isSystemSettingsFilledIn: flag("isSystemSettingsFilledIn"),
        isIdentityServiceAvailable: flag("isIdentityServiceAvailable"),
        isAccessTokenRetrievableForSystemActions: flag("isAccessTokenRetrievableForSystemActions"),
        // Reported from 8.2 only.
        ...(flag("isDefaultResourceRegistered") === undefined ? {} : { isDefaultResourceRegistered: flag("isDefaultResourceRegistered") }),
    };
}
