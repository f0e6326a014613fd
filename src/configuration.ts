/**
 * Renders the Identity Service's configuration (the keys of its appsettings.json) from plain values.
 * Pure functions only: both targets consume the same rendering, Docker as environment variables and
 * IIS as a patch of appsettings.json.
 */
import { DatabaseProvider, LogLevel } from "./args";
import { SystemClientProfile, VersionProfile } from "./versions";

/**
 * The system client's grant types. Creatio's server uses the client for `client_credentials` tokens only: every
 * request it makes with it asks a `client_credentials` token for "<operation scope> IdentityServerApi" (the string
 * table of `Terrasoft.OAuthIntegration.dll` 8.1.0.6704), and its OpenID sign-in uses the identity providers configured
 * for single sign-on, not this client. `implicit` is a browser grant: the vendor's example grants it with redirect
 * URIs, and IdentityServer4 drops an `implicit` client without redirect URIs from its store ("No redirect URI
 * configured.", IdentityServer/IdentityServer4 src/IdentityServer4/src/Validation/Default/
 * DefaultClientConfigurationValidator.cs:119-135 @ 4.1.2), after which every token request gets `invalid_client`.
 * So `implicit` is granted, with the vendor's redirect URIs, only when there is a Creatio URL to redirect to.
 */
export const CLIENT_CREDENTIALS_GRANT = "client_credentials";
export const IMPLICIT_GRANT = "implicit";
export const IDENTITY_TOKEN_LIFETIME_SECONDS = 300;
export const DEFAULT_ACCESS_TOKEN_LIFETIME_SECONDS = 3600;
export const DEFAULT_CLIENT_NAME = "Creatio";
export const DEFAULT_LOG_LEVEL = LogLevel.Warning;

/** The system client, with every value known. */
export interface ClientSettings {
    readonly id: string;
    readonly name: string;
    readonly secret: string;
    /** Creatio's base URL as browsers reach it: the base of the redirect URIs. Without it the client has no browser grant. */
    readonly creatioUrl?: string;
    readonly accessTokenLifetimeSeconds: number;
    /** The scopes and properties of the Creatio version (versions.ts). */
    readonly systemClient: SystemClientProfile;
}

/** One entry of the `Clients` array, as the service reads it. */
export interface ClientDefinition {
    ClientId: string;
    ClientName: string;
    Secrets: string[];
    AllowedGrantTypes: string[];
    RedirectUris: string[];
    PostLogoutRedirectUris: string[];
    IdentityTokenLifetime: number;
    AccessTokenLifetime: number;
    /** Always rendered; optional for entries written by other tools, which may leave it out. */
    Properties?: Record<string, string>;
    AllowedScopes: string[];
}

/** The client's `Clients` entry, with the fields in the order of the vendor's example. */
export function clientDefinition(client: ClientSettings): ClientDefinition {
    const creatioUrl = client.creatioUrl?.replace(/\/+$/, "");
    return {
        ClientId: client.id,
        ClientName: client.name,
        Secrets: [client.secret],
        AllowedGrantTypes: creatioUrl ? [IMPLICIT_GRANT, CLIENT_CREDENTIALS_GRANT] : [CLIENT_CREDENTIALS_GRANT],
        RedirectUris: creatioUrl ? [creatioUrl, `${creatioUrl}/lib`, `${creatioUrl}/lib/`] : [],
        PostLogoutRedirectUris: creatioUrl ? [creatioUrl] : [],
        IdentityTokenLifetime: IDENTITY_TOKEN_LIFETIME_SECONDS,
        AccessTokenLifetime: client.accessTokenLifetimeSeconds,
        Properties: { ...client.systemClient.properties },
        AllowedScopes: [...client.systemClient.allowedScopes],
    };
}

/** The `Clients` setting: a JSON array serialized into a string, as the service expects. */
export function renderClients(client: ClientSettings): string {
    return JSON.stringify([clientDefinition(client)]);
}

/** Everything the configuration is rendered from, all values known. */
export interface ServiceSettings {
    readonly provider: DatabaseProvider;
    readonly connectionString: string;
    readonly client: ClientSettings;
    /** Where the signing PFX is on the target (container or server); absent to use the archive's sample. */
    readonly signingCertificatePath?: string;
    readonly logLevel: LogLevel;
    readonly redisConnection?: string;
    readonly forceHttpsSchemeInRequests?: boolean;
    /** Whether the service itself terminates HTTPS; decides the default of `ForceHttpsSchemeInRequests`. */
    readonly servedOverHttps: boolean;
}

/** A configuration value: strings, except the booleans appsettings.json holds as booleans. */
export type SettingValue = string | boolean;

/** A configuration key in appsettings.json notation (`Section:Key`), in a stable order. */
export interface Setting {
    readonly key: string;
    readonly value: SettingValue;
}

const PROVIDER_CONNECTION_KEYS: Record<DatabaseProvider, string> = {
    [DatabaseProvider.Postgres]: "PostgresConnection",
    [DatabaseProvider.MsSqlServer]: "MsSqlConnection",
};

/**
 * The service's configuration for one Creatio version. Keys the version does not know are left out.
 * The connection string goes under both the generic and the provider-specific key, because the vendor's
 * IIS and Docker instructions name different keys for the same value.
 */
export function renderSettings(profile: VersionProfile, settings: ServiceSettings): Setting[] {
    const result: Setting[] = [
        { key: "DbProvider", value: settings.provider },
        { key: "DatabaseConnectionString", value: settings.connectionString },
        { key: PROVIDER_CONNECTION_KEYS[settings.provider], value: settings.connectionString },
        { key: "Clients", value: renderClients(settings.client) },
        { key: "Logging:LogLevel:Default", value: settings.logLevel },
    ];
    if (settings.signingCertificatePath !== undefined) {
        result.push({ key: "X509CertificatePath", value: settings.signingCertificatePath });
    }
    if (profile.supports.redisConnection && settings.redisConnection) {
        result.push({ key: "RedisConnection", value: settings.redisConnection });
    }
    if (profile.supports.forceHttpsSchemeInRequests) {
        const force = settings.forceHttpsSchemeInRequests ?? (settings.servedOverHttps ? undefined : false);
        if (force !== undefined) {
            result.push({ key: "ForceHttpsSchemeInRequests", value: force });
        }
    }
    return result;
}

/** ASP.NET Core reads `Section:Key` from the environment as `Section__Key`. */
export function environmentName(key: string): string {
    return key.replace(/:/g, "__");
}

/** Settings as `NAME=value` entries for a container's environment. */
export function toEnvironment(settings: readonly Setting[]): string[] {
    return settings.map(s => `${environmentName(s.key)}=${String(s.value)}`);
}

/** A nested JSON object for appsettings.json: `Logging:LogLevel:Default` becomes `{Logging:{LogLevel:{Default}}}`. */
export type AppSettingsPatch = { [key: string]: SettingValue | AppSettingsPatch };

export function toAppSettingsPatch(settings: readonly Setting[]): AppSettingsPatch {
    const root: AppSettingsPatch = {};
    for (const { key, value } of settings) {
        const path = key.split(":");
        let node = root;
        for (const section of path.slice(0, -1)) {
            const next = node[section];
            node = typeof next === "object" ? next : (node[section] = {});
        }
        node[path[path.length - 1]] = value;
    }
    return root;
}
