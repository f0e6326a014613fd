/**
 * The service behind a TLS-terminating proxy or load balancer: whether the service is told to take the scheme from
 * the proxy's `X-Forwarded-Proto` (ASP.NET Core's forwarded headers), and the issuer it must then advertise. Pure
 * functions of plain values; the targets apply them to the URLs they deploy.
 *
 * What the service can be told, and what not (checked against the sources):
 * - `ASPNETCORE_FORWARDEDHEADERS_ENABLED=true` makes ASP.NET Core's default host run the forwarded headers middleware
 *   first, for `X-Forwarded-For` and `X-Forwarded-Proto` only, with the known networks and proxies cleared: every
 *   sender is trusted (dotnet/aspnetcore src/DefaultBuilder/src/ForwardedHeadersOptionsSetup.cs @ 18a9268,
 *   ForwardedHeadersStartupFilter.cs @ 490989a, registered by WebHost.cs `ConfigureWebDefaultsCore`). Since ASP.NET
 *   Core 8.0.17 / 9.0.6 the middleware ignores every X-Forwarded-* header from a proxy outside the known lists; with
 *   the lists cleared this changes nothing (dotnet/docs docs/core/compatibility/aspnet-core/8.0/
 *   forwarded-headers-unknown-proxies.md @ 95a70ba).
 * - Known networks and proxies: ASP.NET Core binds `ForwardedHeadersOptions` from no configuration key, only code
 *   does, and the vendor documents none. So they cannot reach the vendor's service: the switch above trusts every
 *   sender, and the service must be reachable only through the proxy.
 * - `X-Forwarded-Host` is not processed by the switch: the proxy must pass the original `Host` header.
 * - A fixed issuer: IdentityServer4's `IssuerUri` would do it (IdentityServer/IdentityServer4 src/IdentityServer4/src/
 *   Extensions/HttpContextExtensions.cs:135-154 @ 4.1.2), but the vendor documents no key that sets it, so the issuer
 *   is always built from the request: scheme, `Host`, lower-cased.
 */
import { VersionProfile } from "./versions";

/** The environment variable ASP.NET Core's default host reads as `ForwardedHeaders_Enabled`. */
export const FORWARDED_HEADERS_VARIABLE = "ASPNETCORE_FORWARDEDHEADERS_ENABLED";

/**
 * A service URL as a client addresses it and as IdentityServer4 builds its issuer from the request: scheme and host
 * lower-cased, the port only when it is not the scheme's default (clients leave a default port out of `Host`), the
 * path without a trailing slash. Creatio's discovery client compares the issuer with the URL it was given as a string,
 * so the URL Creatio gets must be written this way.
 */
export function canonicalServiceUrl(url: string): string {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}${parsed.pathname.replace(/\/+$/, "")}`;
}

/** Whether two service URLs name the same scheme, host and port. */
export function sameOrigin(a: string, b: string): boolean {
    return new URL(a).origin === new URL(b).origin;
}

/** The scheme Creatio uses: that of `publicUrl`, else of the service's own URL. */
export function creatioUsesHttps(publicUrl: string | undefined, servedOverHttps: boolean): boolean {
    return publicUrl === undefined ? servedOverHttps : new URL(publicUrl).protocol === "https:";
}

/** What decides whether the service takes the scheme from `X-Forwarded-Proto`. */
export interface ForwardedHeadersInputs {
    readonly profile: VersionProfile;
    /** `proxy.forwardedHeaders` as given. */
    readonly explicit?: boolean;
    /** The URL handed to Creatio, when it was given. */
    readonly publicUrl?: string;
    /** The service's own URL (the target's `url`). */
    readonly serviceUrl: string;
}

/**
 * Forwarded headers are on when given so, else when Creatio reaches the service at another scheme, host or port than
 * the service's own URL (a proxy or a load balancer in between), on the versions whose runtime reads the switch.
 */
export function forwardedHeadersEnabled(inputs: ForwardedHeadersInputs): boolean {
    if (!inputs.profile.supports.forwardedHeaders) {
        return false;
    }
    return inputs.explicit ?? (inputs.publicUrl !== undefined && !sameOrigin(inputs.publicUrl, inputs.serviceUrl));
}

/** The host's environment for the switch: the variable only when it is on (ASP.NET Core's default is off). */
export function forwardedHeadersEnvironment(enabled: boolean): Record<string, string> {
    return enabled ? { [FORWARDED_HEADERS_VARIABLE]: "true" } : {};
}
