/**
 * Turns the arguments of a Creatio connection into a checked plan: which steps the Creatio version has, the route
 * prefix of its runtime, and the environment of the connection script. Pure: nothing here sends a request or
 * creates a resource.
 */
import * as pulumi from "@pulumi/pulumi";
import { CreatioConnectionOptions, CreatioInstance, CreatioOAuthConnectionArgs, CreatioRuntime, IdentityServiceCreatio } from "./creatioArgs";
import { withRepair } from "./repair";
import { ArgumentCheck, checks, describe } from "./validation";
import { compareVersions, formatVersion, parseVersion, Version } from "./versions";

export const CONNECTION_TYPE_NAME = "CreatioOAuthConnection";

/** The steps of a connection run, in the order the script performs them. */
export enum ConnectionStep {
    /** `PostSysSettingsValues` with the three `OAuth20IdentityServer*` settings, then a read-back. */
    Settings = "settings",
    /** `OAuth20Integration` on for all users, then its feature cache cleared. */
    Feature = "feature",
    /**
     * `OAuthConfigService/AddDefaultResource`, on every version: Creatio registers the resource with the Identity
     * Service using the system client; an existing default resource counts as success. From 8.2 the guide drops the
     * manual "Create default resource" step, but only Creatio's OAuth maintenance process creates the resource by itself
     * (hourly in 8.2, by hand from 8.3), and the 8.2 health check reports a missing one (`IsDefaultResourceRegistered`).
     */
    DefaultResource = "defaultResource",
    /** `api/OAuthHealthCheck`; its problems fail the run. */
    HealthCheck = "healthCheck",
}

/** Creatio versions where each rule starts or ends (from Creatio's release notes and documentation). */
export const CREATIO_VERSIONS = {
    /** The `OAuth20IdentityServer*` settings and `OAuthConfigService` exist from 8.0. */
    firstWithOAuth: [8, 0, 0] as Version,
    /**
     * From 8.2 `ClearFeaturesCacheForAllUsers/{featureName}` reads the name as the base64 of the feature code, as clio
     * sends it (Advance-Technologies-Foundation/clio clio/Command/FeatureStateService.cs:111-117 @ 28d8fb26, "follow UI
     * behavior"); Creatio 8.1.0's own page sends the code as it is (CreatioDemoProject conf/content/AppFeature_FormPage.js:595).
     */
    firstWithBase64FeatureCacheName: [8, 2, 0] as Version,
    /** From 8.3.2 `OAuth20Integration` is registered and enabled out of the box, and .NET is supported. */
    firstWithFeatureOnByDefault: [8, 3, 2] as Version,
    /** The health check per runtime. */
    firstWithHealthCheck: {
        [CreatioRuntime.NetFramework]: [8, 1, 2] as Version,
        [CreatioRuntime.Net]: [8, 3, 2] as Version,
    },
    /** The Identity Service is supported for Creatio on .NET from 8.3.2. */
    firstOnNet: [8, 3, 2] as Version,
};

export const DEFAULT_CONNECTION_TIMEOUT_SECONDS = 120;
export const MAX_CONNECTION_TIMEOUT_SECONDS = 3600;
/** `OAuth20IdentityServerClientId` is a ShortText setting. */
export const MAX_CLIENT_ID_LENGTH = 50;
/** `OAuth20IdentityServerUrl` is a Text setting. */
export const MAX_URL_LENGTH = 250;

/** How `ClearFeaturesCacheForAllUsers` reads the feature name on a version. */
export function featureNameEncoding(version: Version): "base64" | "plain" {
    return compareVersions(version, CREATIO_VERSIONS.firstWithBase64FeatureCacheName) >= 0 ? "base64" : "plain";
}

/** The path prefix of application routes (not of the login route). */
export function routePrefix(runtime: CreatioRuntime): string {
    return runtime === CreatioRuntime.NetFramework ? "/0" : "";
}

export function hasHealthCheck(version: Version, runtime: CreatioRuntime): boolean {
    return compareVersions(version, CREATIO_VERSIONS.firstWithHealthCheck[runtime]) >= 0;
}

/** The steps a version and runtime call for, given the options (already checked). */
export function connectionSteps(version: Version, runtime: CreatioRuntime, options: { enableFeature: boolean; healthCheck: boolean }): ConnectionStep[] {
    const steps = [ConnectionStep.Settings];
    if (options.enableFeature && compareVersions(version, CREATIO_VERSIONS.firstWithFeatureOnByDefault) < 0) {
        steps.push(ConnectionStep.Feature);
    }
    steps.push(ConnectionStep.DefaultResource);
    if (options.healthCheck && hasHealthCheck(version, runtime)) {
        steps.push(ConnectionStep.HealthCheck);
    }
    return steps;
}

/** A connection with every default applied and every value checked. */
export interface ConnectionPlan {
    readonly creatioUrl: pulumi.Input<string>;
    readonly username: pulumi.Input<string>;
    readonly password: pulumi.Input<string>;
    readonly runtime: CreatioRuntime;
    readonly version: Version;
    readonly identityServiceUrl: pulumi.Input<string>;
    readonly clientId: pulumi.Input<string>;
    readonly clientSecret: pulumi.Input<string>;
    readonly steps: readonly ConnectionStep[];
    readonly tlsVerify: pulumi.Input<boolean>;
    readonly caCertificate?: pulumi.Input<string>;
    readonly clearSettingsOnDelete: boolean;
    readonly timeoutSeconds: pulumi.Input<number>;
    /** The `repair` argument: a change of it applies the connection again. */
    readonly repair?: pulumi.Input<string>;
    /** Resolves once the values known only later have passed their checks (see `ArgumentCheck.resolved`). */
    readonly argumentsResolved?: pulumi.Output<pulumi.Resource[]>;
}

const withoutTrailingSlash = (url: string) => url.replace(/\/+$/, "");

const creatioBaseUrl = (value: string) => {
    const problem = checks.httpUrl(value);
    if (problem) {
        return problem;
    }
    return /\/0\/?$/.test(value) ? `${describe(value)} ends in /0; give the site's base URL without it (the runtime decides the prefix)` : undefined;
};

const maxLength =
    (max: number) =>
    (value: string): string | undefined =>
        typeof value === "string" && value.length <= max ? undefined : `${describe(value)} is longer than Creatio's setting allows (${max} characters)`;

const pem = (value: string) =>
    typeof value === "string" && value.includes("-----BEGIN CERTIFICATE-----")
        ? undefined
        : `is not a PEM certificate; give the text that starts with "-----BEGIN CERTIFICATE-----"`;

/** The Creatio side of a connection, checked: everything but the service's URL and client. */
export type CreatioPlan = Omit<ConnectionPlan, "identityServiceUrl" | "clientId" | "clientSecret">;

/**
 * Checks the Creatio instance and the options, reporting into `check`, and decides the steps. `prefix` and
 * `optionPrefix` name the fields as the user wrote them (inside an IdentityService both are `creatio.`). The caller
 * throws the collected problems.
 */
export function planCreatio(
    creatio: CreatioInstance | undefined,
    options: CreatioConnectionOptions,
    check: ArgumentCheck,
    prefix = "creatio.",
    optionPrefix = "",
): CreatioPlan | undefined {
    const field = (key: string) => `${prefix}${key}`;
    const option = (key: string) => `${optionPrefix}${key}`;
    if (!creatio || typeof creatio !== "object") {
        check.fail(prefix.replace(/\.$/, "") || "creatio", "is required; give the Creatio instance's url, username, password, runtime and version");
        return undefined;
    }

    const runtime = creatio.runtime;
    const knownRuntime = Object.values(CreatioRuntime).includes(runtime);
    if (!knownRuntime) {
        check.fail(
            field("runtime"),
            `${describe(runtime)} is not a Creatio runtime; use CreatioRuntime.NetFramework ("netFramework", routes under /0/) or CreatioRuntime.Net ("net")`,
        );
    }

    const version = typeof creatio.version === "string" ? parseVersion(creatio.version) : undefined;
    if (!version) {
        check.fail(field("version"), `${describe(creatio.version)} is not a Creatio version; write it as major.minor.patch, for example "8.1.3"`);
    } else if (compareVersions(version, CREATIO_VERSIONS.firstWithOAuth) < 0) {
        check.fail(
            field("version"),
            `Creatio ${formatVersion(version)} has no OAuth 2.0 integration settings (they exist from ${formatVersion(CREATIO_VERSIONS.firstWithOAuth)}); ` +
                `upgrade Creatio or leave the connection out and set the settings by hand`,
        );
    } else if (runtime === CreatioRuntime.Net && compareVersions(version, CREATIO_VERSIONS.firstOnNet) < 0) {
        check.fail(
            field("runtime"),
            `Creatio on .NET supports the Identity Service from ${formatVersion(CREATIO_VERSIONS.firstOnNet)} (this is ${formatVersion(version)}); ` +
                `upgrade Creatio, or use CreatioRuntime.NetFramework if the instance runs on .NET Framework`,
        );
    }

    if (options.healthCheck === true && version && knownRuntime && !hasHealthCheck(version, runtime)) {
        check.fail(
            option("healthCheck"),
            `Creatio ${formatVersion(version)} on ${runtime} has no OAuth health check (it exists from ` +
                `${formatVersion(CREATIO_VERSIONS.firstWithHealthCheck[runtime])}); leave healthCheck unset or set it to false`,
        );
    }

    const creatioUrl = check.input(field("url"), creatio.url ?? "", creatioBaseUrl);
    const username = check.input(field("username"), creatio.username ?? "", checks.nonEmpty);
    const password = check.input(field("password"), creatio.password ?? "", checks.secretNonEmpty);
    const caCertificate = check.optional(option("tls.caCertificate"), options.tls?.caCertificate, pem);
    const timeoutSeconds = check.input(option("timeoutSeconds"), options.timeoutSeconds ?? DEFAULT_CONNECTION_TIMEOUT_SECONDS, checks.positiveInteger(MAX_CONNECTION_TIMEOUT_SECONDS));
    if (!version || !knownRuntime) {
        return undefined;
    }
    return {
        creatioUrl: pulumi.output(creatioUrl).apply(withoutTrailingSlash),
        username,
        password,
        runtime,
        version,
        steps: connectionSteps(version, runtime, { enableFeature: options.enableFeature ?? true, healthCheck: options.healthCheck ?? true }),
        tlsVerify: options.tls?.verify ?? true,
        caCertificate,
        clearSettingsOnDelete: options.clearSettingsOnDelete ?? false,
        timeoutSeconds,
    };
}

/** Checks every argument of a connection, reporting all problems at once before anything is created. */
export function planConnection(name: string, args: CreatioOAuthConnectionArgs): ConnectionPlan {
    const check = new ArgumentCheck(name, CONNECTION_TYPE_NAME);
    if (!args || typeof args !== "object") {
        check.fail("args", "no arguments were given; pass creatio, identityServiceUrl, clientId and clientSecret");
        check.throwIfAny();
    }
    const creatio = planCreatio(args.creatio, args, check);
    const identityServiceUrl = check.input("identityServiceUrl", args.identityServiceUrl ?? "", value => checks.httpUrl(value) ?? maxLength(MAX_URL_LENGTH)(value));
    const clientId = check.input("clientId", args.clientId ?? "", value => checks.nonEmpty(value) ?? maxLength(MAX_CLIENT_ID_LENGTH)(value));
    const clientSecret = check.input("clientSecret", args.clientSecret ?? "", checks.secretNonEmpty);
    check.throwIfAny();
    return {
        ...creatio!,
        identityServiceUrl: pulumi.output(identityServiceUrl).apply(withoutTrailingSlash),
        clientId,
        clientSecret,
        repair: args.repair,
        argumentsResolved: check.resolved(),
    };
}

/** The connection script's environment: everything but the two secrets, which travel on stdin. */
export function connectionEnvironment(plan: ConnectionPlan): pulumi.Input<Record<string, pulumi.Input<string>>> {
    const environment: Record<string, pulumi.Input<string>> = {
        CREATIO_URL: plan.creatioUrl,
        CREATIO_USERNAME: plan.username,
        CREATIO_RUNTIME: plan.runtime,
        CREATIO_VERSION: formatVersion(plan.version),
        CREATIO_ROUTE_PREFIX: routePrefix(plan.runtime),
        CREATIO_STEPS: plan.steps.join(","),
        CREATIO_FEATURE_NAME_ENCODING: featureNameEncoding(plan.version),
        CREATIO_TLS_VERIFY: pulumi.output(plan.tlsVerify).apply(String),
        CREATIO_TIMEOUT_SECONDS: pulumi.output(plan.timeoutSeconds).apply(String),
        IDENTITY_SERVICE_URL: plan.identityServiceUrl,
        IDENTITY_SERVICE_CLIENT_ID: plan.clientId,
    };
    if (plan.caCertificate !== undefined) {
        environment.CREATIO_CA_CERTIFICATE = plan.caCertificate;
    }
    return withRepair(environment, plan.repair);
}

/** The secrets, as the script reads them from standard input. */
export function connectionStdin(plan: ConnectionPlan): pulumi.Output<string> {
    return pulumi.secret(
        pulumi.all([plan.password, plan.clientSecret]).apply(([password, clientSecret]) => JSON.stringify({ password, clientSecret })),
    );
}

/**
 * The `creatio` block of an IdentityService, checked before the component creates anything. Its version is the
 * component's `creatioVersion`; the service's URL and client come from the component itself.
 */
export function planServiceConnection(name: string, creatio: IdentityServiceCreatio | undefined, creatioVersion: string): CreatioPlan | undefined {
    if (creatio === undefined) {
        return undefined;
    }
    const check = new ArgumentCheck(name);
    const plan = planCreatio(serviceCreatioInstance(creatio, creatioVersion), creatio, check, "creatio.", "creatio.");
    check.throwIfAny();
    return plan && { ...plan, argumentsResolved: check.resolved() };
}

/** The Creatio instance of an IdentityService's `creatio` block. */
export function serviceCreatioInstance(creatio: IdentityServiceCreatio, creatioVersion: string): CreatioInstance {
    return { url: creatio.url, username: creatio.username, password: creatio.password, runtime: creatio.runtime, version: creatioVersion };
}

/** The options of an IdentityService's `creatio` block. */
export function serviceConnectionOptions(creatio: IdentityServiceCreatio): CreatioConnectionOptions {
    const { enableFeature, healthCheck, tls, clearSettingsOnDelete, timeoutSeconds } = creatio;
    return { enableFeature, healthCheck, tls, clearSettingsOnDelete, timeoutSeconds };
}

/**
 * Runs the deployment's own checks and the `creatio` block's, and reports the problems of both in one error, so a
 * user fixes everything in one round. Returns the deployment's plan and the `creatio` block's late checks
 * (`ArgumentCheck.resolved`), which the component waits for with its own.
 */
export function withServiceConnectionChecks<T>(
    name: string,
    creatio: IdentityServiceCreatio | undefined,
    creatioVersion: string,
    planDeployment: () => T,
): { plan: T; creatioArgumentsResolved?: pulumi.Output<pulumi.Resource[]> } {
    let creatioError: Error | undefined;
    let creatioPlan: CreatioPlan | undefined;
    try {
        creatioPlan = planServiceConnection(name, creatio, creatioVersion);
    } catch (err) {
        creatioError = err as Error;
    }
    let plan: T;
    try {
        plan = planDeployment();
    } catch (err) {
        if (creatioError && err instanceof Error) {
            err.message += "\n" + creatioError.message.split("\n").slice(1).join("\n");
            if (pulumi.InputPropertiesError.isInstance(err) && pulumi.InputPropertiesError.isInstance(creatioError)) {
                err.errors.push(...creatioError.errors);
            }
        }
        throw err;
    }
    if (creatioError) {
        throw creatioError;
    }
    return { plan, creatioArgumentsResolved: creatioPlan?.argumentsResolved };
}
