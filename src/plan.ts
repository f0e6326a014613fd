/**
 * Turns the user's arguments into a checked deployment plan with every default applied. Nothing here creates
 * a resource: when any argument is wrong, `planDeployment` throws one error listing every problem, before the
 * component registers a single child.
 */
import * as pulumi from "@pulumi/pulumi";
import { DatabaseProvider, DeploymentTarget, IdentityServiceArgs, LogLevel, ReseedRunner } from "./args";
import { CheckedCertificate, certificateSource, checkCertificate } from "./certificates";
import { connectionStringCheck, firstProblem, reseedConnectionStringCheck } from "./connectionStrings";
import { DEFAULT_ACCESS_TOKEN_LIFETIME_SECONDS, DEFAULT_CLIENT_NAME, DEFAULT_LOG_LEVEL, MANAGED_SETTINGS } from "./configuration";
import { CLIENT_ID_LENGTH, CLIENT_ID_MAX_LENGTH, CLIENT_SECRET_LENGTH, CLIENT_SECRET_MAX_LENGTH } from "./credentials";
import { ReadinessSettings, readinessSettings } from "./readiness";
import { DEFAULT_RESEED_IMAGE, imageReferenceCheck } from "./reseedRunners/container";
import { EscapeHatchPlan, planEscapeHatches } from "./escapeHatchPlan";
import { TargetManaged } from "./escapeHatches";
import { DOCKER_MANAGED, DockerSettings, dockerSettings, planDocker } from "./targets/docker";
import { IIS_MANAGED, IisSettings, iisSettings, planIis } from "./targets/iis";
import { planSwarm, SWARM_MANAGED, swarmRedisConnection, SwarmSettings, swarmSettings } from "./targets/swarm";
import { canonicalServiceUrl } from "./proxy";
import { PlannedTarget } from "./targets/target";
import { ArgumentCheck, Check, checks, describe, isKnown } from "./validation";
import { FEATURES, FIRST_DOCKER_VERSION, formatVersion, IDENTITY_SERVER_API_SCOPE, pinnedProfileProblem, resolveVersion, VersionProfile } from "./versions";

/** Longest access token lifetime accepted: 30 days. */
export const MAX_ACCESS_TOKEN_LIFETIME_SECONDS = 30 * 24 * 3600;

export interface ClientPlan {
    readonly id?: pulumi.Input<string>;
    readonly secret?: pulumi.Input<string>;
    readonly rotation?: pulumi.Input<string>;
    readonly name: pulumi.Input<string>;
    readonly creatioUrl?: pulumi.Input<string>;
    readonly accessTokenLifetimeSeconds: pulumi.Input<number>;
    readonly reseed: boolean;
    /** Where re-seeding runs, and the image of the `container` runner. */
    readonly reseedRunner: ReseedRunner;
    readonly reseedImage: pulumi.Input<string>;
}

/** The user's own certificate (a file, a PFX value or PEM), or one generated for the instance. */
export type SigningCertificatePlan =
    | { readonly kind: "supplied"; readonly certificate: CheckedCertificate }
    | { readonly kind: "generated"; readonly rotation?: pulumi.Input<string> };

export interface DeploymentPlan {
    readonly target: DeploymentTarget;
    readonly profile: VersionProfile;
    readonly provider: DatabaseProvider;
    readonly connectionString: pulumi.Input<string>;
    /** The connection string re-seeding signs in with. */
    readonly reseedConnectionString: pulumi.Input<string>;
    readonly client: ClientPlan;
    readonly signingCertificate: SigningCertificatePlan;
    readonly logLevel: pulumi.Input<LogLevel>;
    readonly redisConnection?: pulumi.Input<string>;
    readonly forceHttpsSchemeInRequests?: pulumi.Input<boolean>;
    /** The URL handed to Creatio (canonical: see `canonicalServiceUrl`); undefined: the target's `url`. */
    readonly publicUrl?: pulumi.Input<string>;
    /** `proxy.forwardedHeaders` as given; undefined: decided by the target from `publicUrl` and its `url`. */
    readonly forwardedHeaders?: pulumi.Input<boolean>;
    readonly docker?: DockerSettings;
    readonly iis?: IisSettings;
    /** The user's own configuration keys and environment variables, checked against the package's. */
    readonly escapeHatches: EscapeHatchPlan;
    /** Warnings for the component to show (for example, the profile assumed for a release newer than the tables). */
    readonly warnings: readonly string[];
    /** The chosen target, planned: what the component deploys through. */
    readonly deployment: PlannedTarget;
    readonly readiness: ReadinessSettings;
    /**
     * Resolves once every value that was not known at construction has passed its check, and fails with the
     * argument error otherwise; undefined when every value was checked already. The component depends on it.
     */
    readonly argumentsResolved?: pulumi.Output<pulumi.Resource[]>;
}

/** What each target sets itself besides the package's keys: the user's keys and variables may not collide with it. */
const TARGET_MANAGED = {
    [DeploymentTarget.Docker]: DOCKER_MANAGED,
    [DeploymentTarget.Iis]: IIS_MANAGED,
    [DeploymentTarget.Swarm]: SWARM_MANAGED,
};

/** Blocks that belong to one target only, by the name of their field. */
const TARGET_BLOCKS: Record<DeploymentTarget, string> = {
    [DeploymentTarget.Docker]: "docker",
    [DeploymentTarget.Iis]: "iis",
    [DeploymentTarget.Swarm]: "swarm",
};

export function planDeployment(name: string, args: IdentityServiceArgs): DeploymentPlan {
    const check = new ArgumentCheck(name);
    if (!args || typeof args !== "object") {
        check.fail("args", "no arguments were given; pass at least `target`, `creatioVersion` and `database`");
        check.throwIfAny();
    }

    const target = args.target;
    if (!Object.values(DeploymentTarget).includes(target)) {
        check.fail("target", `${describe(target)} is not a deployment target; use DeploymentTarget.Docker ("docker"), DeploymentTarget.Iis ("iis") or DeploymentTarget.Swarm ("swarm")`);
    }
    checkTargetBlocks(args, check);
    if (args.iis?.detectDrift !== undefined && args.target !== DeploymentTarget.Iis && Object.values(DeploymentTarget).includes(args.target)) {
        check.fail("iis.detectDrift", `reads back an IIS server, but target is "${args.target}"; remove it (the ${args.target} target has no drift read-back)`);
    }

    const profile = planVersion(args, check);
    const provider = planDatabaseProvider(args, check);
    const reseed = args.client?.reseed ?? true;
    const reseedRunner = planReseedRunner(args, check);
    const reseedSeparately = args.database?.reseedConnectionString !== undefined;
    const connectionString = check.input(
        "database.connectionString",
        args.database?.connectionString ?? "",
        firstProblem(
            checks.secretNonEmpty,
            connectionStringCheck,
            ...(reseed && !reseedSeparately ? [reseedConnectionStringCheck(false, reseedRunner, args.target === DeploymentTarget.Iis)] : []),
        ),
        { secret: true },
    );

    const client = args.client;
    const clientPlan: ClientPlan = {
        id: check.optional(
            "client.id",
            client?.id,
            firstProblem(checks.minLength(CLIENT_ID_LENGTH, false), checks.maxLength(CLIENT_ID_MAX_LENGTH, false, "client ids")),
        ),
        secret: check.optional(
            "client.secret",
            client?.secret,
            firstProblem(checks.minLength(CLIENT_SECRET_LENGTH, true), checks.maxLength(CLIENT_SECRET_MAX_LENGTH, true, "client secrets")),
            { secret: true },
        ),
        rotation: client?.rotation,
        name: check.input("client.name", client?.name ?? DEFAULT_CLIENT_NAME, checks.nonEmpty),
        // The redirect base: given, or Creatio's own URL when the component connects Creatio (checked with that block).
        creatioUrl: check.optional("client.creatioUrl", client?.creatioUrl, checks.httpUrl) ?? args.creatio?.url,
        accessTokenLifetimeSeconds: check.input(
            "client.accessTokenLifetimeSeconds",
            client?.accessTokenLifetimeSeconds ?? DEFAULT_ACCESS_TOKEN_LIFETIME_SECONDS,
            checks.positiveInteger(MAX_ACCESS_TOKEN_LIFETIME_SECONDS),
        ),
        reseed,
        reseedRunner,
        reseedImage: check.input("client.reseedImage", args.client?.reseedImage ?? DEFAULT_RESEED_IMAGE, imageReferenceCheck),
    };

    const signingCertificate = planSigningCertificate(args, check);

    if (args.redisConnection !== undefined && typeof profile === "object" && !profile.supports.redisConnection) {
        check.fail("redisConnection", `is supported from Creatio ${formatVersion(FEATURES.redisConnection)}; remove it for ${profile.text}`);
    }
    if (args.forceHttpsSchemeInRequests !== undefined && typeof profile === "object" && !profile.supports.forceHttpsSchemeInRequests) {
        check.fail(
            "forceHttpsSchemeInRequests",
            `is supported from Creatio ${formatVersion(FEATURES.forceHttpsSchemeInRequests)}; remove it for ${profile.text}`,
        );
    }

    const forwardedHeaders = planProxy(args, profile, check);

    const swarm: SwarmSettings | undefined =
        target === DeploymentTarget.Swarm && args.swarm
            ? swarmSettings(name, args.swarm, { redisConnection: args.redisConnection, connectionString }, check)
            : undefined;
    const plan: Omit<DeploymentPlan, "deployment" | "argumentsResolved"> = {
        target,
        profile: profile as VersionProfile,
        provider,
        connectionString,
        reseedConnectionString:
            check.optional(
                "database.reseedConnectionString",
                args.database?.reseedConnectionString,
                firstProblem(checks.secretNonEmpty, connectionStringCheck, ...(reseed ? [reseedConnectionStringCheck(true, reseedRunner, args.target === DeploymentTarget.Iis)] : [])),
                { secret: true },
            ) ??
            connectionString,
        client: clientPlan,
        signingCertificate,
        logLevel: check.input("logLevel", args.logLevel ?? DEFAULT_LOG_LEVEL, checks.oneOf(LogLevel, "log level")),
        redisConnection: args.redisConnection ?? (swarm && swarmRedisConnection(swarm)),
        forceHttpsSchemeInRequests: args.forceHttpsSchemeInRequests,
        publicUrl: mapInput(check.optional("publicUrl", args.publicUrl, publicUrlCheck), canonicalPublicUrl),
        forwardedHeaders,
        docker: target === DeploymentTarget.Docker && args.docker ? dockerSettings(name, args.docker, check) : undefined,
        iis: target === DeploymentTarget.Iis && args.iis ? iisSettings(name, args.iis, check) : undefined,
        readiness: readinessSettings(
            args.readiness,
            check,
            typeof profile === "object" ? [...profile.systemClient.requestedScopes, IDENTITY_SERVER_API_SCOPE] : [],
        ),
        escapeHatches: planEscapeHatches(args, (TARGET_MANAGED as Record<string, TargetManaged>)[target] ?? { settings: [], environment: [] }, MANAGED_SETTINGS, check),
        warnings: profile?.assumption ? [profile.assumption] : [],
    };
    check.throwIfAny();
    const deployment = plan.docker ? planDocker(plan.docker) : plan.iis ? planIis(plan.iis) : swarm && planSwarm(swarm);
    if (!deployment) {
        // The block checks above report a missing block, so this is never reached.
        throw new Error(`IdentityService "${name}": no settings for target ${describe(target)}`);
    }
    return { ...plan, deployment, argumentsResolved: check.resolved() };
}

const publicUrlCheck: Check<string> = value => {
    const problem = checks.httpUrl(value);
    if (problem) {
        return `${problem.replace(/"https:\/\/creatio\.example\.com"/, '"http://ids.example.com:8090"')}, the address at which Creatio reaches the service`;
    }
    const url = new URL(value);
    return url.search || url.hash
        ? `${describe(value)} has a query or fragment; give the service's base URL, like "http://ids.example.com:8090"`
        : undefined;
};

/** The URL Creatio gets, written as the service writes its issuer (a value that fails its check is left as it is). */
function canonicalPublicUrl(value: string): string {
    return typeof value === "string" && URL.canParse(value) ? canonicalServiceUrl(value) : value;
}

const booleanCheck: Check<boolean> = value =>
    typeof value === "boolean" ? undefined : `${describe(value)} is not a boolean; give true or false`;

/** Fields a proxy block cannot have, with why: the vendor's service offers no way to set them. */
const UNSUPPORTED_PROXY_FIELDS: Record<string, string> = {
    knownNetworks:
        "the Identity Service cannot be given known networks: ASP.NET Core reads them from no configuration key, only from code, and the vendor documents none. " +
        "With forwarded headers on, the service trusts X-Forwarded-For and X-Forwarded-Proto from every sender; remove this field and make the service reachable only through the proxy",
    knownProxies:
        "the Identity Service cannot be given known proxies: ASP.NET Core reads them from no configuration key, only from code, and the vendor documents none. " +
        "With forwarded headers on, the service trusts X-Forwarded-For and X-Forwarded-Proto from every sender; remove this field and make the service reachable only through the proxy",
};

/** Checks the `proxy` block (and a stray `issuerUri`); answers `proxy.forwardedHeaders` as given. */
function planProxy(
    args: IdentityServiceArgs,
    profile: VersionProfile | undefined,
    check: ArgumentCheck,
): pulumi.Input<boolean> | undefined {
    const given = args as unknown as Record<string, unknown>;
    if (given.issuerUri !== undefined) {
        check.fail(
            "issuerUri",
            "the Identity Service cannot be given a fixed issuer: the vendor documents no key for IdentityServer4's IssuerUri, so it builds the issuer from each request (scheme and Host). " +
                "Remove it and set `publicUrl` to the proxy's address; the proxy must pass the original Host header, and the service takes the scheme from X-Forwarded-Proto (`proxy.forwardedHeaders`)",
        );
    }
    const proxy = args.proxy as unknown as Record<string, unknown> | undefined;
    for (const [field, problem] of Object.entries(UNSUPPORTED_PROXY_FIELDS)) {
        if (proxy?.[field] !== undefined) {
            check.fail(`proxy.${field}`, problem);
        }
    }
    const forwardedHeaders = args.proxy?.forwardedHeaders;
    if (forwardedHeaders === undefined) {
        return undefined;
    }
    return check.input("proxy.forwardedHeaders", forwardedHeaders, value =>
        booleanCheck(value) ??
        (value && profile && !profile.supports.forwardedHeaders
            ? `ASP.NET Core reads ASPNETCORE_FORWARDEDHEADERS_ENABLED from 3.0 on, and Creatio ${profile.text} runs the service on ${profile.release.dotnet}; ` +
              `remove it, and behind a proxy that terminates TLS let the proxy forward to the site's own HTTPS binding (\`iis.https\`), so that the service sees https itself`
            : undefined),
    );
}

/** Applies a function to an Input, now when known, else when it resolves. */
function mapInput<T, U>(value: pulumi.Input<T> | undefined, f: (value: T) => U): pulumi.Input<U> | undefined {
    if (value === undefined) {
        return undefined;
    }
    return isKnown(value) ? f(value) : (pulumi.output(value).apply(v => f(v as T)) as pulumi.Input<U>);
}

/** The runners each target offers. */
const TARGET_RUNNERS: Record<DeploymentTarget, ReseedRunner[]> = {
    [DeploymentTarget.Docker]: [ReseedRunner.Local, ReseedRunner.Container],
    [DeploymentTarget.Swarm]: [ReseedRunner.Local, ReseedRunner.Container],
    [DeploymentTarget.Iis]: [ReseedRunner.Local, ReseedRunner.Server],
};

/** Where each runner re-seeds, for the message that refuses it on another target. */
const RUNNER_PLACES: Record<ReseedRunner, string> = {
    [ReseedRunner.Local]: "on the machine that runs Pulumi",
    [ReseedRunner.Container]: "in a container next to a Docker or Swarm service",
    [ReseedRunner.Server]: "on the IIS server through the IIS target's SSH connection",
};

function planReseedRunner(args: IdentityServiceArgs, check: ArgumentCheck): ReseedRunner {
    const client = args.client;
    const runner = client?.reseedRunner ?? ReseedRunner.Local;
    const problem = checks.oneOf(ReseedRunner, "re-seed runner")(runner);
    if (problem) {
        check.fail("client.reseedRunner", problem);
        return ReseedRunner.Local;
    }
    if (client?.reseed === false) {
        for (const field of ["reseedRunner", "reseedImage"] as const) {
            if (client[field] !== undefined) {
                check.fail(`client.${field}`, "has no effect with `client.reseed: false`; remove it, or turn re-seeding on");
            }
        }
    }
    const offered = TARGET_RUNNERS[args.target];
    if (offered && !offered.includes(runner)) {
        const others = offered.filter(other => other !== ReseedRunner.Local).map(other => `"${other}" (${RUNNER_PLACES[other]})`);
        check.fail(
            "client.reseedRunner",
            `"${runner}" runs re-seeding ${RUNNER_PLACES[runner]}, but target is "${args.target}"; ` +
                `use "local" (the machine that runs Pulumi, which must reach the database)${others.length > 0 ? ` or ${others.join(", ")}` : ""}`,
        );
    }
    if (runner === ReseedRunner.Server && client?.reseed !== false && args.iis?.connection?.proxy !== undefined) {
        check.fail(
            "client.reseedRunner",
            '"server" opens its own SSH session to the IIS server and cannot go through `iis.connection.proxy`; ' +
                'use "local" (the machine that runs Pulumi, which must reach the database), or connect to the IIS server directly',
        );
    }
    if (runner === ReseedRunner.Server && client?.reseed !== false && args.database?.provider === DatabaseProvider.Postgres) {
        check.fail(
            "client.reseedRunner",
            '"server" re-seeds through the .NET Framework\'s SqlClient on the IIS server, which has no PostgreSQL driver; ' +
                'use "local" (the machine that runs Pulumi, which must reach the database) for a PostgreSQL database',
        );
    }
    if (client?.reseedImage !== undefined && runner !== ReseedRunner.Container) {
        check.fail("client.reseedImage", `is the image of the "container" runner; set \`client.reseedRunner: "container"\` or remove it`);
    }
    return runner;
}

function planSigningCertificate(args: IdentityServiceArgs, check: ArgumentCheck): SigningCertificatePlan {
    const given = args.signingCertificate ?? {};
    const source = certificateSource("signingCertificate", given, check);
    const supplied = given.path !== undefined || given.pfxBase64 !== undefined || given.certificatePem !== undefined || given.privateKeyPem !== undefined;
    if (!supplied) {
        if (given.password !== undefined) {
            check.fail(
                "signingCertificate.password",
                "is set but no PFX is: give the `path` or `pfxBase64` of the .pfx it opens, or remove it to have a certificate generated",
                { secret: true },
            );
        }
        return { kind: "generated", rotation: given.rotation };
    }
    if (given.rotation !== undefined) {
        check.fail(
            "signingCertificate.rotation",
            "rotates a generated certificate only; remove it (give a new certificate to rotate your own), or remove your certificate to have one generated",
        );
    }
    // An invalid combination of sources is already reported; the plan is not used then.
    return source === undefined ? { kind: "generated" } : { kind: "supplied", certificate: checkCertificate("signingCertificate", "signing", source, check) };
}

function checkTargetBlocks(args: IdentityServiceArgs, check: ArgumentCheck): void {
    const blocks = args as unknown as Record<string, unknown>;
    for (const [target, block] of Object.entries(TARGET_BLOCKS)) {
        if (target === args.target && blocks[block] === undefined) {
            check.fail(block, `target is "${target}" but \`${block}\` is missing; add the \`${block}\` block with its settings`);
        }
        if (target !== args.target && blocks[block] !== undefined && Object.values(DeploymentTarget).includes(args.target)) {
            check.fail(block, `is set but target is "${args.target}"; remove \`${block}\` or set target to "${target}"`);
        }
    }
}

function planVersion(args: IdentityServiceArgs, check: ArgumentCheck): VersionProfile | undefined {
    if (typeof args.creatioVersion !== "string") {
        check.fail("creatioVersion", `${describe(args.creatioVersion)} is not a version; give the Creatio version as a string such as "8.2.1"`);
        return undefined;
    }
    const pinned = args.profileVersion;
    const pinProblem = pinned === undefined ? undefined : pinnedProfileProblem(pinned, args.creatioVersion);
    if (pinProblem) {
        check.fail("profileVersion", pinProblem);
    }
    const profile = resolveVersion(args.creatioVersion, pinProblem ? undefined : pinned);
    if (typeof profile === "string") {
        check.fail("creatioVersion", profile);
        return undefined;
    }
    if ((args.target === DeploymentTarget.Docker || args.target === DeploymentTarget.Swarm) && !profile.release.docker) {
        check.fail(
            "creatioVersion",
            `Creatio ${profile.text} does not support the Docker deployment (Docker${args.target === DeploymentTarget.Swarm ? " and Swarm" : ""} need${args.target === DeploymentTarget.Swarm ? "" : "s"} ${FIRST_DOCKER_VERSION} or later); use target "iis"`,
        );
    }
    return profile;
}

function planDatabaseProvider(args: IdentityServiceArgs, check: ArgumentCheck): DatabaseProvider {
    const provider = args.database?.provider;
    if (args.database === undefined) {
        check.fail("database", "is missing; give `database.provider` and `database.connectionString`");
    } else if (typeof provider === "string" && provider.toLowerCase() === "oracle") {
        check.fail(
            "database.provider",
            'Oracle is not supported by the Identity Service; deploy a separate PostgreSQL or SQL Server database for it and use "Postgres" or "MsSqlServer"',
        );
    } else {
        const problem = checks.oneOf(DatabaseProvider, "database provider")(provider);
        if (problem) {
            check.fail("database.provider", problem);
        }
    }
    return provider;
}
