import * as pulumi from "@pulumi/pulumi";

/**
 * The runtime a Creatio instance runs on. It decides the URL layout: on .NET Framework every application route sits
 * under `/0/` (for example `/0/DataService/...`); on .NET the `/0` prefix is dropped. The login route is at the site
 * root on both.
 */
export const CreatioRuntime = {
    /**
     * Creatio on .NET Framework (IIS on Windows): application routes under `/0/`.
     */
    NetFramework: "netFramework",
    /**
     * Creatio on .NET (formerly .NET Core / .NET 6 / .NET 8): application routes without the `/0` prefix.
     */
    Net: "net",
} as const;
/**
 * The runtime a Creatio instance runs on. It decides the URL layout: on .NET Framework every application route sits
 * under `/0/` (for example `/0/DataService/...`); on .NET the `/0` prefix is dropped. The login route is at the site
 * root on both.
 * Accepts the members of `CreatioRuntime` or their string values.
 */
export type CreatioRuntime = (typeof CreatioRuntime)[keyof typeof CreatioRuntime];

/**
 * How the connection trusts Creatio's HTTPS certificate.
 */
export interface CreatioTls {
    /**
     * Verify Creatio's certificate. Turn off only for a test instance with a self-signed certificate; prefer
     * `caCertificate`. Default: true.
     */
    verify?: pulumi.Input<boolean>;
    /**
     * A PEM certificate authority (or the self-signed certificate itself) to trust for Creatio, in addition to
     * the system's. Default: only the system's authorities.
     */
    caCertificate?: pulumi.Input<string>;
}

/**
 * The Creatio instance to connect, and an administrator who may change system settings there.
 */
export interface CreatioInstance {
    /**
     * Creatio's base URL as the machine that runs Pulumi reaches it, without `/0`, for example
     * `https://creatio.example.com`.
     */
    url: pulumi.Input<string>;
    /**
     * A user with the right to change system settings and features (for example `Supervisor`).
     */
    username: pulumi.Input<string>;
    /**
     * That user's password. Treated as a secret; it travels to the connection script on standard input only.
     */
    password: pulumi.Input<string>;
    /**
     * The runtime Creatio runs on: `netFramework` (routes under `/0/`) or `net`.
     */
    runtime: CreatioRuntime;
    /**
     * The Creatio version, for example `8.1.3` (a fourth build number is allowed). It decides which steps exist:
     * the default resource (8.0 and 8.1), the feature switch (before 8.3.2), the health check (8.1.2+ on .NET
     * Framework, 8.3.2+ on .NET).
     */
    version: string;
}

/**
 * Options of the connection step, with defaults that suit an administrator connecting a production Creatio.
 */
export interface CreatioConnectionOptions {
    /**
     * Turn on the `OAuth20Integration` feature for all users and clear the feature cache, on versions where it is
     * off out of the box (before 8.3.2). Default: true.
     */
    enableFeature?: boolean;
    /**
     * Ask Creatio's own health check (`api/OAuthHealthCheck`) whether it reaches the Identity Service and gets a
     * token with the client; a problem fails the deployment with what to do. Default: true on versions that have
     * it (8.1.2+ on .NET Framework, 8.3.2+ on .NET); setting it to true on an older version is an error.
     */
    healthCheck?: boolean;
    /**
     * How Creatio's HTTPS certificate is trusted. Default: verified against the system's authorities.
     */
    tls?: CreatioTls;
    /**
     * On delete, empty the three `OAuth20IdentityServer*` settings in Creatio. Default: false: deleting the
     * connection leaves Creatio's settings as they are (Creatio keeps working with them while the service exists).
     */
    clearSettingsOnDelete?: boolean;
    /**
     * The overall time limit of one connection run, in seconds (each HTTP request is also bounded). Default: 120.
     */
    timeoutSeconds?: pulumi.Input<number>;
}

/**
 * The arguments of a connection between a Creatio instance and an Identity Service.
 */
export interface CreatioOAuthConnectionArgs extends CreatioConnectionOptions {
    /**
     * The Creatio instance to connect.
     */
    creatio: CreatioInstance;
    /**
     * The Identity Service URL as Creatio reaches it (written to `OAuth20IdentityServerUrl`), for example
     * `http://ids.internal:8090`.
     */
    identityServiceUrl: pulumi.Input<string>;
    /**
     * The system client id (written to `OAuth20IdentityServerClientId`, at most 50 characters).
     */
    clientId: pulumi.Input<string>;
    /**
     * The system client secret (written to the secure-text setting `OAuth20IdentityServerClientSecret`). Treated
     * as a secret.
     */
    clientSecret: pulumi.Input<string>;
    /**
     * Any value; changing it applies the connection again (the three settings, the feature and the default resource
     * are written and the health check runs), to undo a hand edit in Creatio: a refresh cannot see one. Default: none.
     */
    repair?: pulumi.Input<string>;
}

/**
 * The Creatio instance an `IdentityService` connects itself to, with its own URL and client. The version is the
 * component's `creatioVersion`.
 */
export interface IdentityServiceCreatio extends CreatioConnectionOptions {
    /**
     * Creatio's base URL as the machine that runs Pulumi reaches it, without `/0`.
     */
    url: pulumi.Input<string>;
    /**
     * A user with the right to change system settings and features (for example `Supervisor`).
     */
    username: pulumi.Input<string>;
    /**
     * That user's password. Treated as a secret.
     */
    password: pulumi.Input<string>;
    /**
     * The runtime Creatio runs on: `netFramework` (routes under `/0/`) or `net`.
     */
    runtime: CreatioRuntime;
}

/**
 * What Creatio's OAuth health check answered.
 */
export interface CreatioHealthCheckResult {
    /**
     * Whether the health check ran (false on versions without it, or when turned off).
     */
    checked: boolean;
    /**
     * `HasProblem`: false when the connection works.
     */
    hasProblem?: boolean;
    /**
     * `IsSystemSettingsFilledIn`.
     */
    isSystemSettingsFilledIn?: boolean;
    /**
     * `IsIdentityServiceAvailable`: Creatio reached the service URL.
     */
    isIdentityServiceAvailable?: boolean;
    /**
     * `IsAccessTokenRetrievableForSystemActions`: Creatio got a token with the client id and secret.
     */
    isAccessTokenRetrievableForSystemActions?: boolean;
    /**
     * `IsDefaultResourceRegistered`: Creatio's default OAuth resource is registered with the service. Reported from
     * Creatio 8.2; absent before.
     */
    isDefaultResourceRegistered?: boolean;
}
