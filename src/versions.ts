/**
 * Everything that depends on the Creatio version lives here: one table of release ranges and one of features.
 * When a decision turns out wrong for some version, fix it in these tables, not with `if`s elsewhere.
 */

/** A Creatio version as numbers: major, minor, patch (a fourth build number is ignored). */
export type Version = readonly [number, number, number];

/** The patch number of a range's end that takes every patch of its minor version ("8.3.x"). */
export const ANY_PATCH = Number.MAX_SAFE_INTEGER;

/** A .NET shared framework, as `dotnet --list-runtimes` names it, at a major.minor version. */
export interface SharedFramework {
    readonly name: "Microsoft.NETCore.App" | "Microsoft.AspNetCore.App";
    readonly version: string;
}

/** What an IIS host needs for one range of Creatio versions. */
export interface IisRuntime {
    /** What to install, as the vendor names it (shown in errors). */
    readonly install: string;
    /** The major.minor of the hosting bundle (the ASP.NET Core Module for IIS and its runtime). */
    readonly hostingBundleVersion: string;
    /** Every shared framework that must be installed. */
    readonly frameworks: readonly SharedFramework[];
}

/** One row of the release table. */
export interface ReleaseRange {
    readonly from: Version;
    readonly to: Version;
    /** The .NET runtime the service is built on. */
    readonly dotnet: string;
    readonly iis: IisRuntime;
    /** Whether the vendor supports the Docker deployment for this range. */
    readonly docker: boolean;
}

export const RELEASES: readonly ReleaseRange[] = [
    {
        from: [7, 16, 4],
        to: [8, 0, 7],
        dotnet: ".NET Core 2.2",
        iis: {
            install: ".NET Core 2.2 runtime and the ASP.NET Core 3.1 hosting bundle",
            hostingBundleVersion: "3.1",
            frameworks: [
                { name: "Microsoft.NETCore.App", version: "2.2" },
                { name: "Microsoft.AspNetCore.App", version: "3.1" },
            ],
        },
        docker: false,
    },
    {
        from: [8, 0, 8],
        to: [8, 2, 0],
        dotnet: ".NET 6",
        iis: {
            install: ".NET 6 runtime and the ASP.NET Core 6.0 hosting bundle",
            hostingBundleVersion: "6.0",
            frameworks: [{ name: "Microsoft.AspNetCore.App", version: "6.0" }],
        },
        docker: true,
    },
    {
        from: [8, 2, 1],
        to: [8, 3, ANY_PATCH],
        dotnet: ".NET 8",
        iis: {
            install: ".NET 8 runtime and the ASP.NET Core 8.0 hosting bundle",
            hostingBundleVersion: "8.0",
            frameworks: [{ name: "Microsoft.AspNetCore.App", version: "8.0" }],
        },
        docker: true,
    },
];

/** Versions from which a behaviour or configuration key exists. */
export const FEATURES = {
    /** `RedisConnection` is documented from 8.0. */
    redisConnection: [8, 0, 0],
    /**
     * The sample signing PFX was removed from the archive in 8.2.3: a certificate is mandatory from then on. The
     * package gives every version one (generated unless supplied), so this is a fact kept, not a switch.
     */
    signingCertificateRequired: [8, 2, 3],
    /** `ForceHttpsSchemeInRequests` (default true in the service) from 8.3.1. */
    forceHttpsSchemeInRequests: [8, 3, 1],
    /**
     * `ASPNETCORE_FORWARDEDHEADERS_ENABLED`: read by ASP.NET Core's default host from 3.0 on (its
     * `ForwardedHeadersStartupFilter`), so from the first release on .NET 6; the releases before run on .NET Core 2.2.
     */
    forwardedHeaders: [8, 0, 8],
} as const satisfies Record<string, Version>;

export type Feature = keyof typeof FEATURES;

/**
 * The operations Creatio performs on the Identity Service with the system client, each as the scope it asks a
 * `client_credentials` token for, always together with `IdentityServerApi` ("<scope> IdentityServerApi" in the string
 * table of `Terrasoft.OAuthIntegration.dll` 8.1.0.6704, shiva01chh/CreatioDemoProject @ 32efb577). The seven documented
 * ones are the system client's `AllowedScopes` in the vendor's `Clients` example (Academy, "Deploy the Identity
 * Service", the guide of every version from 8.0 to 8.3); Creatio's health check passes with that client, so it asks for
 * no other. Creatio 8.1.0 also asks for four `*_user` scopes, for its user operations.
 */
export const IDENTITY_SERVER_API_SCOPE = "IdentityServerApi";
const DOCUMENTED_OPERATION_SCOPES = [
    "register_own_resource",
    "get_resource_list",
    "get_client_info",
    "find_clients",
    "remove_client",
    "update_client",
    "add_registrar_client",
] as const;
const USER_OPERATION_SCOPES = ["activate_user", "deactivate_user", "upsert_client_user", "remove_client_user"] as const;

/** One row of the system client table: what changes from a version on. Rows add to the rows before them. */
export interface SystemClientRelease {
    readonly from: Version;
    /** Scopes Creatio's system actions and health check ask tokens for from this version on (each with `IdentityServerApi`); the gate asks for them too. */
    readonly requestedScopes: readonly string[];
    /** Scopes the client is allowed from this version on without Creatio asking for them in a token request we know of. */
    readonly allowedOnlyScopes: readonly string[];
    /** Client properties (`Properties`, stored in `ClientProperties`) from this version on. */
    readonly properties: Readonly<Record<string, string>>;
}

export const SYSTEM_CLIENT_RELEASES: readonly SystemClientRelease[] = [
    {
        // The documented scopes, asked for by every version that connects to the service.
        from: [7, 16, 4],
        requestedScopes: DOCUMENTED_OPERATION_SCOPES,
        allowedOnlyScopes: [],
        properties: {},
    },
    {
        // The vendor's `Clients` example carries `Properties` with these query parameters in the guide of every
        // version from 8.0 on; the value is a JSON array serialized into a string, as printed there.
        from: [8, 0, 0],
        requestedScopes: [],
        allowedOnlyScopes: [],
        properties: { AllowedQueryParameters: JSON.stringify(["invitationHash", "targetSubject"]) },
    },
    {
        // Allowed, so that Creatio's user operations work where the service has these API scopes; never asked for by
        // the readiness gate: the vendor's client does not allow them, and a service without them passes Creatio's
        // health check.
        from: [8, 1, 0],
        requestedScopes: [],
        allowedOnlyScopes: USER_OPERATION_SCOPES,
        properties: {},
    },
    {
        // Creatio 8.3 adds the authorization-code grant for integrations; a public deployment script for Creatio on
        // .NET 8 allows these three scopes to the system client. An assumption: allowed only, never asked for by the
        // readiness gate, so a service that does not know them is not affected (IdentityServer4 grants a
        // client_credentials request without `scope` only the allowed scopes that exist, TokenRequestValidator.cs).
        from: [8, 3, 0],
        requestedScopes: [],
        allowedOnlyScopes: ["generate_auth_code", "revoke_client_tokens", "get_service_info"],
        properties: {},
    },
];

/** The system client of one Creatio version: the rows up to it, added up. */
export interface SystemClientProfile {
    /** The client's `AllowedScopes`, `IdentityServerApi` last. */
    readonly allowedScopes: readonly string[];
    /** The scopes of Creatio's token requests, without `IdentityServerApi` (each request adds it). */
    readonly requestedScopes: readonly string[];
    readonly properties: Readonly<Record<string, string>>;
}

export function systemClientProfile(version: Version): SystemClientProfile {
    const rows = SYSTEM_CLIENT_RELEASES.filter(row => compareVersions(version, row.from) >= 0);
    const requestedScopes = rows.flatMap(row => row.requestedScopes);
    return {
        requestedScopes,
        allowedScopes: [...requestedScopes, ...rows.flatMap(row => row.allowedOnlyScopes), IDENTITY_SERVER_API_SCOPE],
        properties: Object.assign({}, ...rows.map(row => row.properties)),
    };
}


/** Everything the rest of the package needs to know about one Creatio version. */
export interface VersionProfile {
    /** The Creatio version deployed (`creatioVersion`). */
    readonly version: Version;
    readonly text: string;
    /**
     * The known release whose rows the profile was taken from: `version` itself when the tables cover it, else the
     * newest known release (a release newer than the tables) or the pinned `profileVersion`.
     */
    readonly profileVersion: Version;
    /** Why the profile is another release's, when it is: the warning the component shows (undefined when pinned). */
    readonly assumption?: string;
    readonly release: ReleaseRange;
    readonly supports: Readonly<Record<Feature, boolean>>;
    readonly systemClient: SystemClientProfile;
}

const VERSION_PATTERN = /^(\d+)\.(\d+)\.(\d+)(?:\.(\d+))?$/;

export function parseVersion(text: string): Version | undefined {
    const match = VERSION_PATTERN.exec(text.trim());
    return match ? [Number(match[1]), Number(match[2]), Number(match[3])] : undefined;
}

export function compareVersions(a: Version, b: Version): number {
    for (let i = 0; i < 3; i++) {
        if (a[i] !== b[i]) {
            return a[i] - b[i];
        }
    }
    return 0;
}

/** `8.2.1`; the end of a range that takes every patch prints as `8.3.x`. */
export function formatVersion(v: Version): string {
    return v[2] === ANY_PATCH ? `${v[0]}.${v[1]}.x` : v.join(".");
}

/** The first version the tables know. */
export const FIRST_KNOWN_VERSION: Version = RELEASES[0].from;
/** The newest version the tables know: the end of the last release range (every patch of its minor version). */
export const NEWEST_KNOWN_VERSION: Version = RELEASES[RELEASES.length - 1].to;

export const SUPPORTED_RANGE = `${formatVersion(FIRST_KNOWN_VERSION)} to ${formatVersion(NEWEST_KNOWN_VERSION)}`;

/** The problem with a version that is not a version, or undefined. */
function versionSyntaxProblem(text: string, example: string): string | undefined {
    return parseVersion(text) ? undefined : `"${text}" is not a Creatio version; write it as major.minor.patch, for example "${example}"`;
}

/** The profile of a version the tables know. */
function knownProfile(version: Version): Pick<VersionProfile, "profileVersion" | "release" | "supports" | "systemClient"> {
    const release = RELEASES.find(r => compareVersions(version, r.from) >= 0 && compareVersions(version, r.to) <= 0)!;
    const supports = Object.fromEntries(
        Object.entries(FEATURES).map(([feature, since]) => [feature, compareVersions(version, since) >= 0]),
    ) as Record<Feature, boolean>;
    return { profileVersion: version, release, supports, systemClient: systemClientProfile(version) };
}

/** The configuration keys that exist from a feature's version on. */
const FEATURE_KEYS: Partial<Record<Feature, string>> = {
    redisConnection: "RedisConnection",
    forceHttpsSchemeInRequests: "ForceHttpsSchemeInRequests",
};

/** What a profile decides, in words: for the warning about a release newer than the tables. */
function describeProfile(profile: Pick<VersionProfile, "profileVersion" | "release" | "supports">): string {
    const keys = Object.entries(FEATURE_KEYS)
        .filter(([feature]) => profile.supports[feature as Feature])
        .map(([, key]) => key);
    return (
        `${profile.release.dotnet} (on IIS the ${profile.release.iis.install}), ` +
        `Docker ${profile.release.docker ? "supported" : "not supported"}, ` +
        (keys.length > 0 ? `the configuration keys ${keys.join(" and ")}, ` : "") +
        `and the system client's scopes and properties of ${formatVersion(profile.profileVersion)}`
    );
}

/**
 * Looks a version up in the release table. Returns an error message instead of throwing so the caller can name the
 * field it came from. A version newer than the tables is deployed with the newest known profile, and the profile says
 * what was assumed (`assumption`, the warning to show); `pinned` (the `profileVersion` argument, already checked with
 * `pinnedProfileProblem`) chooses the known release whose profile to use instead. A version older than the tables is
 * refused: those releases are known not to fit.
 */
export function resolveVersion(text: string, pinned?: string): VersionProfile | string {
    const syntax = versionSyntaxProblem(text, "8.2.1");
    if (syntax) {
        return syntax;
    }
    const version = parseVersion(text)!;
    if (compareVersions(version, FIRST_KNOWN_VERSION) < 0) {
        return `Creatio ${formatVersion(version)} is not supported by this package (supported: ${SUPPORTED_RANGE}, and newer releases with the profile of ${formatVersion(NEWEST_KNOWN_VERSION)})`;
    }
    const identity = { version, text: formatVersion(version) };
    if (pinned !== undefined && pinnedProfileProblem(pinned, text) === undefined) {
        return { ...identity, ...knownProfile(parseVersion(pinned)!) };
    }
    if (compareVersions(version, NEWEST_KNOWN_VERSION) <= 0) {
        return { ...identity, ...knownProfile(version) };
    }
    const newest = knownProfile(NEWEST_KNOWN_VERSION);
    const assumption =
        `Creatio ${identity.text} is newer than the releases this package knows (up to ${formatVersion(NEWEST_KNOWN_VERSION)}): ` +
        `it is deployed as Creatio ${formatVersion(NEWEST_KNOWN_VERSION)} would be: ${describeProfile(newest)}. ` +
        `Check the release's Identity Service guide for anything new; set \`profileVersion\` to a known release to choose ` +
        `the profile yourself (this warning then goes away), or use a release of this package that knows ${identity.text}`;
    return { ...identity, ...newest, assumption };
}

/**
 * The problem with a pinned profile (`profileVersion`) for `creatioVersion`, or undefined: it must be a release the
 * tables know, and not newer than the version deployed (an archive does not have the keys of a later release).
 */
export function pinnedProfileProblem(pinned: string, creatioVersion: string): string | undefined {
    if (typeof pinned !== "string") {
        return `${String(pinned)} is not a version; give a known Creatio release as a string such as "${formatVersion([8, 3, 1])}"`;
    }
    const syntax = versionSyntaxProblem(pinned, "8.3.1");
    if (syntax) {
        return syntax;
    }
    const version = parseVersion(pinned)!;
    if (compareVersions(version, FIRST_KNOWN_VERSION) < 0 || compareVersions(version, NEWEST_KNOWN_VERSION) > 0) {
        return `Creatio ${formatVersion(version)} is not a release this package knows; give one from ${SUPPORTED_RANGE}, or leave it out to use the profile of \`creatioVersion\``;
    }
    const deployed = parseVersion(creatioVersion);
    if (deployed && compareVersions(version, deployed) > 0) {
        return `${formatVersion(version)} is newer than creatioVersion ${formatVersion(deployed)}: an archive has no keys of a later release; give a release no newer than ${formatVersion(deployed)}, or leave it out`;
    }
    return undefined;
}

/** The first version of the first release range that supports Docker. */
export const FIRST_DOCKER_VERSION = formatVersion(RELEASES.find(r => r.docker)!.from);
