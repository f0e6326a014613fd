import { strict as assert } from "assert";
import { DatabaseProvider, LogLevel } from "../src/args";
import {
    clientDefinition,
    MANAGED_SETTINGS,
    mergeEnvironment,
    renderClients,
    renderSettings,
    renderSettingsFile,
    ServiceSettings,
    Setting,
    toAppSettingsPatch,
    withSettings,
} from "../src/configuration";
import { resolveVersion, systemClientProfile, VersionProfile } from "../src/versions";

const profile = (text: string) => resolveVersion(text) as VersionProfile;

const base: ServiceSettings = {
    provider: DatabaseProvider.Postgres,
    connectionString: "Server=db;Port=5432;Database=creatio;User ID=u;Password=p;",
    client: { id: "A".repeat(16), name: "Creatio", secret: "S".repeat(32), accessTokenLifetimeSeconds: 3600, systemClient: systemClientProfile([8, 2, 3]) },
    logLevel: LogLevel.Warning,
    servedOverHttps: false,
};

const keys = (settings: Setting[]) => settings.map(s => s.key);
const valueOf = (settings: Setting[], key: string) => settings.find(s => s.key === key)?.value;

describe("configuration rendering", () => {
    it("renders the Clients JSON array as a string with the fields of the vendor's example, in its order", () => {
        const clients = JSON.parse(renderClients({ ...base.client, creatioUrl: "https://creatio.example.com/" }));
        assert.equal(clients.length, 1);
        assert.deepEqual(Object.keys(clients[0]), [
            "ClientId",
            "ClientName",
            "Secrets",
            "AllowedGrantTypes",
            "RedirectUris",
            "PostLogoutRedirectUris",
            "IdentityTokenLifetime",
            "AccessTokenLifetime",
            "Properties",
            "AllowedScopes",
        ]);
        assert.deepEqual(clients[0], {
            ClientId: "A".repeat(16),
            ClientName: "Creatio",
            Secrets: ["S".repeat(32)],
            AllowedGrantTypes: ["implicit", "client_credentials"],
            RedirectUris: ["https://creatio.example.com", "https://creatio.example.com/lib", "https://creatio.example.com/lib/"],
            PostLogoutRedirectUris: ["https://creatio.example.com"],
            IdentityTokenLifetime: 300,
            AccessTokenLifetime: 3600,
            Properties: { AllowedQueryParameters: '["invitationHash","targetSubject"]' },
            AllowedScopes: [
                "register_own_resource",
                "get_resource_list",
                "get_client_info",
                "find_clients",
                "remove_client",
                "update_client",
                "add_registrar_client",
                "activate_user",
                "deactivate_user",
                "upsert_client_user",
                "remove_client_user",
                "IdentityServerApi",
            ],
        });
    });

    it("grants only client_credentials without a Creatio URL: IdentityServer4 drops an implicit client without redirect URIs", () => {
        const client = clientDefinition(base.client);
        assert.deepEqual(client.AllowedGrantTypes, ["client_credentials"]);
        assert.deepEqual(client.RedirectUris, []);
        assert.deepEqual(client.PostLogoutRedirectUris, []);
        // DefaultClientConfigurationValidator.ValidateRedirectUriAsync: a grant of authorization_code, hybrid or implicit needs one.
        const browserGrants = ["authorization_code", "hybrid", "implicit"];
        for (const creatioUrl of [undefined, "https://creatio.example.com", "http://creatio:5000/"]) {
            const rendered = clientDefinition({ ...base.client, creatioUrl });
            const needsRedirect = rendered.AllowedGrantTypes.some(grant => browserGrants.includes(grant));
            assert.ok(!needsRedirect || rendered.RedirectUris.length > 0, `${creatioUrl}: ${JSON.stringify(rendered)}`);
            assert.ok(rendered.AllowedGrantTypes.includes("client_credentials"));
        }
    });

    it("round-trips hostile values through JSON inside JSON", () => {
        const hostile = `quote" back\\slash new\nline tab\t $dollar \`tick\` ;semi 'single' ünïcödé \u0000nul </script>`;
        const rendered = renderSettings(profile("8.3.1"), {
            ...base,
            connectionString: hostile,
            client: { ...base.client, name: hostile, secret: hostile + "x".repeat(32) },
        });
        const clients = JSON.parse(valueOf(rendered, "Clients") as string);
        assert.equal(clients[0].ClientName, hostile);
        assert.equal(clients[0].Secrets[0], hostile + "x".repeat(32));
        assert.equal(valueOf(rendered, "DatabaseConnectionString"), hostile);
        const appsettings = JSON.parse(JSON.stringify(toAppSettingsPatch(rendered)));
        assert.equal(appsettings.DatabaseConnectionString, hostile);
        assert.equal(JSON.parse(appsettings.Clients)[0].ClientName, hostile);
    });

    it("writes the connection string under the generic and the provider-specific key", () => {
        const postgres = renderSettings(profile("8.2.1"), base);
        assert.equal(valueOf(postgres, "DatabaseConnectionString"), base.connectionString);
        assert.equal(valueOf(postgres, "PostgresConnection"), base.connectionString);
        assert.equal(valueOf(postgres, "MsSqlConnection"), undefined);
        const mssql = renderSettings(profile("8.2.1"), { ...base, provider: DatabaseProvider.MsSqlServer });
        assert.equal(valueOf(mssql, "DbProvider"), "MsSqlServer");
        assert.equal(valueOf(mssql, "MsSqlConnection"), base.connectionString);
        assert.equal(valueOf(mssql, "PostgresConnection"), undefined);
    });

    it("renders every key of the reference table for the newest row, in a stable order", () => {
        const settings = renderSettings(profile("8.3.2"), {
            ...base,
            signingCertificatePath: "/app/signing-certificate.pfx",
            redisConnection: "redis:6379",
            forceHttpsSchemeInRequests: true,
        });
        assert.deepEqual(keys(settings), [
            "DbProvider",
            "DatabaseConnectionString",
            "PostgresConnection",
            "Clients",
            "Logging:LogLevel:Default",
            "X509CertificatePath",
            "RedisConnection",
            "ForceHttpsSchemeInRequests",
        ]);
        assert.equal(valueOf(settings, "ForceHttpsSchemeInRequests"), true);
        assert.equal(valueOf(settings, "Logging:LogLevel:Default"), "Warning");
    });

    it("leaves out keys a version does not know", () => {
        const old = renderSettings(profile("7.18.5"), { ...base, redisConnection: "redis:6379", forceHttpsSchemeInRequests: false });
        assert.ok(!keys(old).includes("RedisConnection"));
        assert.ok(!keys(old).includes("ForceHttpsSchemeInRequests"));
        const v830 = renderSettings(profile("8.3.0"), base);
        assert.ok(!keys(v830).includes("ForceHttpsSchemeInRequests"));
    });

    it("defaults ForceHttpsSchemeInRequests to the scheme Creatio uses: publicUrl's, else the service's own", () => {
        const force = (settings: Partial<typeof base>) => valueOf(renderSettings(profile("8.3.1"), { ...base, ...settings }), "ForceHttpsSchemeInRequests");
        assert.equal(force({}), false, "plain HTTP, no publicUrl");
        assert.equal(force({ servedOverHttps: true }), true, "HTTPS, no publicUrl");
        assert.equal(force({ publicUrl: "https://ids.example.com" }), true, "a TLS-terminating proxy in front of plain HTTP");
        assert.equal(force({ servedOverHttps: true, publicUrl: "http://ids:80" }), false, "Creatio on plain HTTP");
        assert.equal(force({ publicUrl: "https://ids.example.com", forceHttpsSchemeInRequests: false }), false, "given explicitly");
        assert.equal(valueOf(renderSettings(profile("8.3.0"), { ...base, publicUrl: "https://ids.example.com" }), "ForceHttpsSchemeInRequests"), undefined, "not before 8.3.1");
    });

    it("omits the certificate key without a certificate, and never writes a certificate password (the PFX reaches the service without one)", () => {
        assert.ok(!keys(renderSettings(profile("8.2.1"), base)).includes("X509CertificatePath"));
        const withPath = renderSettings(profile("8.2.1"), { ...base, signingCertificatePath: "C:\\ids\\openssl.pfx" });
        assert.equal(valueOf(withPath, "X509CertificatePath"), "C:\\ids\\openssl.pfx");
        assert.ok(!keys(withPath).includes("X509CertificatePassword"));
    });

    it("lists every key it can render as managed, with the argument that sets it", () => {
        const managed = new Set(MANAGED_SETTINGS.map(m => m.key));
        for (const version of ["7.16.4", "8.0.0", "8.2.3", "8.3.1", "8.4.0"]) {
            for (const provider of Object.values(DatabaseProvider)) {
                const rendered = renderSettings(profile(version), {
                    ...base,
                    provider,
                    signingCertificatePath: "/app/signing-certificate.pfx",
                    redisConnection: "redis:6379",
                    forceHttpsSchemeInRequests: true,
                });
                for (const key of keys(rendered)) {
                    assert.ok(managed.has(key), `${key} (${version}, ${provider}) is in MANAGED_SETTINGS`);
                }
            }
        }
        const secret = MANAGED_SETTINGS.filter(m => m.secret).map(m => m.key);
        assert.deepEqual(secret, ["DatabaseConnectionString", "PostgresConnection", "MsSqlConnection", "Clients", "RedisConnection"]);
    });

    it("renders the user's settings after the package's, replacing a key of the same name in place", () => {
        const rendered = renderSettings(profile("8.2.3"), {
            ...base,
            additionalSettings: [
                { key: "AllowedHosts", value: "*" },
                { key: "logging:loglevel:default", value: "Debug" },
                { key: "Limits", value: [1, 2] },
            ],
        });
        assert.deepEqual(keys(rendered), ["DbProvider", "DatabaseConnectionString", "PostgresConnection", "Clients", "logging:loglevel:default", "AllowedHosts", "Limits"]);
        assert.equal(valueOf(rendered, "logging:loglevel:default"), "Debug");
        assert.deepEqual(withSettings([{ key: "A", value: "1" }], []), [{ key: "A", value: "1" }]);
    });

    it("merges the user's environment over the package's, names compared ignoring case", () => {
        assert.deepEqual(mergeEnvironment({ ASPNETCORE_URLS: "http://+:80", ASPNETCORE_ENVIRONMENT: "Production" }, { aspnetcore_urls: "http://+:8080", TZ: "UTC" }), {
            ASPNETCORE_ENVIRONMENT: "Production",
            aspnetcore_urls: "http://+:8080",
            TZ: "UTC",
        });
        assert.deepEqual(mergeEnvironment({ A: "1" }, {}), { A: "1" });
    });

    it("renders the container targets' settings file as indented nested JSON, one section per name whatever its case", () => {
        const file = renderSettingsFile([
            { key: "Logging:LogLevel:Default", value: "Warning" },
            { key: "logging:LogLevel:Microsoft", value: "Error" },
            { key: "Clients", value: '[{"ClientId":"x"}]' },
            { key: "Limits", value: [1, { a: null }] },
            { key: "Flag", value: true },
        ]);
        assert.ok(file.endsWith("}\n"));
        assert.deepEqual(JSON.parse(file), {
            Logging: { LogLevel: { Default: "Warning", Microsoft: "Error" } },
            Clients: '[{"ClientId":"x"}]',
            Limits: [1, { a: null }],
            Flag: true,
        });
        assert.match(file, /^\{\n {2}"Logging": \{\n {4}"LogLevel"/);
    });

    it("nests section keys for appsettings.json and keeps booleans as booleans", () => {
        assert.deepEqual(
            toAppSettingsPatch([
                { key: "Logging:LogLevel:Default", value: "Debug" },
                { key: "Logging:LogLevel:Microsoft", value: "Warning" },
                { key: "ForceHttpsSchemeInRequests", value: false },
            ]),
            { Logging: { LogLevel: { Default: "Debug", Microsoft: "Warning" } }, ForceHttpsSchemeInRequests: false },
        );
    });
});
