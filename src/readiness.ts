/**
 * The readiness gate: a real resource (a local command running `src/scripts/readiness.js`) that passes once the
 * service serves its discovery document and, unless disabled, issues a token to the system client.
 */
import * as pulumi from "@pulumi/pulumi";
import * as command from "@pulumi/command";
import { Readiness } from "./args";
import { nodeScriptCommand } from "./packagedScripts";
import { pemCertificate } from "./certificates";
import { ArgumentCheck, checks } from "./validation";

export const DEFAULT_READINESS_TIMEOUT_SECONDS = 300;
export const MAX_READINESS_TIMEOUT_SECONDS = 3600;

/** Readiness settings with defaults applied and values checked. */
export interface ReadinessSettings {
    readonly enabled: boolean;
    readonly timeoutSeconds: pulumi.Input<number>;
    readonly verifyToken: pulumi.Input<boolean>;
    /** Undefined: the script's default (on), so that a gate deployed before the check existed keeps its inputs. */
    readonly verifyIssuer?: pulumi.Input<boolean>;
    /** A CA certificate (PEM) trusted besides the system's roots. Undefined: the system's roots only. */
    readonly caCertificate?: pulumi.Input<string>;
    /**
     * The scopes the token request asks for: those Creatio asks for, with `IdentityServerApi` (versions.ts), so that the
     * service's scope rules are checked where it runs. Empty: the client's default scopes.
     */
    readonly tokenScopes: readonly string[];
}

export function readinessSettings(args: Readiness | undefined, check: ArgumentCheck, tokenScopes: readonly string[] = []): ReadinessSettings {
    return {
        tokenScopes,
        enabled: args?.enabled ?? true,
        timeoutSeconds: check.input(
            "readiness.timeoutSeconds",
            args?.timeoutSeconds ?? DEFAULT_READINESS_TIMEOUT_SECONDS,
            checks.positiveInteger(MAX_READINESS_TIMEOUT_SECONDS),
        ),
        verifyToken: args?.verifyToken ?? true,
        verifyIssuer: args?.verifyIssuer,
        caCertificate: check.optional("readiness.caCertificate", args?.caCertificate, pemCertificate),
    };
}

export interface ReadinessTarget {
    /** The service URL as the deploying machine reaches it. */
    readonly url: pulumi.Input<string>;
    /**
     * The URL Creatio uses, the issuer the service must advertise, when it is not `url` (`publicUrl`, or on IIS the
     * server's URL while the gate polls localhost). Undefined: `url` itself.
     */
    readonly publicUrl?: pulumi.Input<string>;
    readonly clientId: pulumi.Input<string>;
    readonly clientSecret: pulumi.Input<string>;
    /** Changes whenever the service is redeployed (a container id, a configuration hash), re-running the gate. */
    readonly revision: pulumi.Input<string>;
}

/** The environment of the readiness script: everything but the secret, which travels on stdin. */
export function readinessEnvironment(target: ReadinessTarget, settings: ReadinessSettings) {
    return {
        IDENTITY_SERVICE_URL: target.url,
        IDENTITY_SERVICE_CLIENT_ID: target.clientId,
        READINESS_TIMEOUT_SECONDS: pulumi.output(settings.timeoutSeconds).apply(String),
        READINESS_VERIFY_TOKEN: pulumi.output(settings.verifyToken).apply(String),
        READINESS_TOKEN_SCOPES: settings.tokenScopes.join(" "),
        // Only when they differ from the script's defaults (the issuer of `url`, checked): a gate deployed before the
        // issuer check existed keeps the inputs it had, and is not run again by an upgrade.
        ...(target.publicUrl === undefined ? {} : { IDENTITY_SERVICE_PUBLIC_URL: target.publicUrl }),
        ...(settings.verifyIssuer === undefined ? {} : { READINESS_VERIFY_ISSUER: pulumi.output(settings.verifyIssuer).apply(String) }),
        ...(settings.caCertificate === undefined ? {} : { READINESS_CA_CERTIFICATE: settings.caCertificate }),
    };
}

export function readinessStdin(clientSecret: pulumi.Input<string>): pulumi.Output<string> {
    return pulumi.secret(pulumi.output(clientSecret).apply(secret => JSON.stringify({ clientSecret: secret })));
}

/** Runs the readiness script on the machine that runs Pulumi. */
export function createLocalReadinessGate(
    name: string,
    target: ReadinessTarget,
    settings: ReadinessSettings,
    opts: pulumi.CustomResourceOptions,
): command.local.Command {
    const script = nodeScriptCommand("readiness.js");
    return new command.local.Command(
        `${name}-readiness`,
        {
            create: script,
            update: script,
            environment: readinessEnvironment(target, settings),
            stdin: readinessStdin(target.clientSecret),
            triggers: [target.revision],
            logging: "none",
        },
        { ...opts, additionalSecretOutputs: ["stdout", "stderr"] },
    );
}

/** A value that resolves only once the gate (if any) has passed. */
export function afterGate(value: pulumi.Input<string>, gate: pulumi.CustomResource | undefined): pulumi.Output<string> {
    if (!gate) {
        return pulumi.output(value);
    }
    return pulumi.all([gate.id, value]).apply(([, resolved]) => resolved);
}
