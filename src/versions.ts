/**
 * Everything that depends on the Creatio version lives here: one table of release ranges and one of features.
 * When a decision turns out wrong for some version, fix it in these tables, not with `if`s elsewhere.
 */

/** A Creatio version as numbers: major, minor, patch (a fourth build number is ignored). */
export type Version = readonly [number, number, number];

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
        to: [8, 3, 999],
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
} as const satisfies Record<string, Version>;

export type Feature = keyof typeof FEATURES;

/** Everything the rest of the package needs to know about one Creatio version. */
export interface VersionProfile {
    readonly version: Version;
    readonly text: string;
    readonly release: ReleaseRange;
    readonly supports: Readonly<Record<Feature, boolean>>;
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

export function formatVersion(v: Version): string {
    return v.join(".");
}

export const SUPPORTED_RANGE = `${formatVersion(RELEASES[0].from)} to ${RELEASES[RELEASES.length - 1].to[0]}.${RELEASES[RELEASES.length - 1].to[1]}.x`;

/**
 * Looks a version up in the release table. Returns an error message instead of throwing so the caller
 * can name the field it came from.
 */
export function resolveVersion(text: string): VersionProfile | string {
    const version = parseVersion(text);
    if (!version) {
        return `"${text}" is not a Creatio version; write it as major.minor.patch, for example "8.2.1"`;
    }
    const release = RELEASES.find(r => compareVersions(version, r.from) >= 0 && compareVersions(version, r.to) <= 0);
    if (!release) {
        return `Creatio ${formatVersion(version)} is not supported by this package (supported: ${SUPPORTED_RANGE})`;
    }
    const supports = Object.fromEntries(
        Object.entries(FEATURES).map(([feature, since]) => [feature, compareVersions(version, since) >= 0]),
    ) as Record<Feature, boolean>;
    return { version, text: formatVersion(version), release, supports };
}

/** The first version of the first release range that supports Docker. */
export const FIRST_DOCKER_VERSION = formatVersion(RELEASES.find(r => r.docker)!.from);
