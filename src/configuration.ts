/**
 * Renders the Identity Service's configuration (the keys of its appsettings.json) from plain values.
 * Pure functions only: every target consumes the same rendering, Docker and Swarm as a settings file
 * (`appsettings.Production.json`) and IIS as a patch of appsettings.json.
 */
import { DatabaseProvider, LogLevel } from "./args";
import { creatioUsesHttps } from "./proxy";
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
    /** Whether the service itself terminates HTTPS: the scheme Creatio uses when there is no `publicUrl`. */
    readonly servedOverHttps: boolean;
    /** The URL handed to Creatio, when it was given: its scheme decides the default of `ForceHttpsSchemeInRequests`. */
    readonly publicUrl?: string;
    /**
     * The user's own keys (`additionalSettings`, flattened), after the package's: each replaces a package key of the
     * same name (the plan refused every such key the user did not list in `overrides`), or adds one.
     */
    readonly additionalSettings?: readonly Setting[];
}

/** A JSON value, as `additionalSettings` takes them. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/**
 * A configuration value: the package's are strings and the booleans appsettings.json holds as booleans; the user's
 * may be any JSON value but an object (objects are flattened into `Section:Key` settings).
 */
export type SettingValue = string | boolean | number | null | JsonValue[];

/** A configuration key in appsettings.json notation (`Section:Key`), in a stable order. */
export interface Setting {
    readonly key: string;
    readonly value: SettingValue;
}

const PROVIDER_CONNECTION_KEYS: Record<DatabaseProvider, string> = {
    [DatabaseProvider.Postgres]: "PostgresConnection",
    [DatabaseProvider.MsSqlServer]: "MsSqlConnection",
};

/** A key the package sets, the argument that sets it, and whether its value is secret. */
export interface ManagedKey {
    readonly key: string;
    /** The argument (or, for a target's own keys, what) decides its value, as the error for a collision names it. */
    readonly by: string;
    readonly secret: boolean;
}

/**
 * Every key `renderSettings` can set, whatever the version, target or arguments: a user's key that equals one of them
 * is refused unless it is listed in `overrides`, also when this deployment happens to leave the key out.
 */
export const MANAGED_SETTINGS: readonly ManagedKey[] = [
    { key: "DbProvider", by: "database.provider", secret: false },
    { key: "DatabaseConnectionString", by: "database.connectionString", secret: true },
    { key: PROVIDER_CONNECTION_KEYS[DatabaseProvider.Postgres], by: "database.connectionString", secret: true },
    { key: PROVIDER_CONNECTION_KEYS[DatabaseProvider.MsSqlServer], by: "database.connectionString", secret: true },
    { key: "Clients", by: "client", secret: true },
    { key: "Logging:LogLevel:Default", by: "logLevel", secret: false },
    { key: "X509CertificatePath", by: "signingCertificate", secret: false },
    { key: "RedisConnection", by: "redisConnection", secret: true },
    { key: "ForceHttpsSchemeInRequests", by: "forceHttpsSchemeInRequests", secret: false },
];

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
        // The scheme Creatio uses, so that the service advertises it also behind a proxy that terminates TLS.
        const force = settings.forceHttpsSchemeInRequests ?? creatioUsesHttps(settings.publicUrl, settings.servedOverHttps);
        result.push({ key: "ForceHttpsSchemeInRequests", value: force });
    }
    return withSettings(result, settings.additionalSettings ?? []);
}

/**
 * `base` with `added` after it: an added key replaces a base key of the same name (configuration keys are
 * case-insensitive) in place, any other is appended.
 */
export function withSettings(base: readonly Setting[], added: readonly Setting[]): Setting[] {
    const replacing = new Map(added.map(setting => [setting.key.toLowerCase(), setting]));
    const kept = base.map(setting => replacing.get(setting.key.toLowerCase()) ?? setting);
    const present = new Set(base.map(setting => setting.key.toLowerCase()));
    return [...kept, ...added.filter(setting => !present.has(setting.key.toLowerCase()))];
}

/** A nested JSON object for appsettings.json: `Logging:LogLevel:Default` becomes `{Logging:{LogLevel:{Default}}}`. */
export type AppSettingsPatch = { [key: string]: SettingValue | AppSettingsPatch };

function isSection(value: SettingValue | AppSettingsPatch | undefined): value is AppSettingsPatch {
    return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * Sections and keys match ignoring case, as .NET configuration reads them, and keep the spelling that came first
 * (`Logging:LogLevel:Default` and `logging:loglevel:Microsoft` share one `Logging` section).
 */
export function toAppSettingsPatch(settings: readonly Setting[]): AppSettingsPatch {
    const root: AppSettingsPatch = {};
    const spelled = (node: AppSettingsPatch, name: string) => Object.keys(node).find(key => key.toLowerCase() === name.toLowerCase()) ?? name;
    // Defined, not assigned: a key such as "__proto__" is a key like any other in appsettings.json.
    const set = <T extends SettingValue | AppSettingsPatch>(node: AppSettingsPatch, name: string, value: T): T => {
        Object.defineProperty(node, name, { value, enumerable: true, writable: true, configurable: true });
        return value;
    };
    for (const { key, value } of settings) {
        const path = key.split(":");
        let node = root;
        for (const section of path.slice(0, -1)) {
            const name = spelled(node, section);
            const next = Object.prototype.hasOwnProperty.call(node, name) ? node[name] : undefined;
            node = isSection(next) ? next : set(node, name, {});
        }
        set(node, spelled(node, path[path.length - 1]), value);
    }
    return root;
}

/**
 * The settings file of the container targets (`appsettings.Production.json`, read after `appsettings.json`): the
 * settings as nested JSON. One rendering for Docker and Swarm.
 */
export function renderSettingsFile(settings: readonly Setting[]): string {
    return JSON.stringify(toAppSettingsPatch(settings), null, 2) + "\n";
}

/**
 * The service's environment: the package's variables, then the user's (`environment`), each of which replaces a
 * package variable of the same name (compared ignoring case, as .NET reads them; the plan refused every such name the
 * user did not list in `overrides`).
 */
export function mergeEnvironment(own: Readonly<Record<string, string>>, user: Readonly<Record<string, string>>): Record<string, string> {
    const replaced = new Set(Object.keys(user).map(name => name.toLowerCase()));
    const kept = Object.entries(own).filter(([name]) => !replaced.has(name.toLowerCase()));
    return Object.fromEntries([...kept, ...Object.entries(user)]);
}
