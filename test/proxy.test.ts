// Behind a TLS-terminating proxy: the pure functions of src/proxy.ts and what an IdentityService's arguments render
// through them, without mocks or an engine.
import { strict as assert } from "assert";
import { DatabaseProvider, DeploymentTarget, IdentityServiceArgs } from "../src";
import { renderSettings, renderSettingsFile, Setting } from "../src/configuration";
import { planDeployment } from "../src/plan";
import {
    canonicalServiceUrl,
    creatioUsesHttps,
    FORWARDED_HEADERS_VARIABLE,
    forwardedHeadersEnabled,
    forwardedHeadersEnvironment,
    sameOrigin,
} from "../src/proxy";
import { containerEnvironment, containerSettings } from "../src/targets/docker";
import { resolveVersion, VersionProfile } from "../src/versions";

function profile(version: string): VersionProfile {
    const resolved = resolveVersion(version);
    assert.ok(typeof resolved === "object", String(resolved));
    return resolved;
}

describe("behind a proxy (pure functions)", () => {
    describe("an IdentityService with publicUrl https://… on Creatio 8.3.1, its service on plain HTTP", () => {
        // A pulled image: nothing on this machine is read, so planning is a pure function of the arguments.
        const args: IdentityServiceArgs = {
            target: DeploymentTarget.Docker,
            creatioVersion: "8.3.1",
            database: { provider: DatabaseProvider.Postgres, connectionString: "Server=db;Database=creatio;User ID=u;Password=p;" },
            docker: { image: "registry.example.com/creatio-identity-service:8.3.1", hostname: "docker1.internal" },
            publicUrl: "https://ids.example.com/",
        };
        const plan = planDeployment("ids", args);
        const serviceUrl = "http://docker1.internal:8090";
        const settings = renderSettings(plan.profile, {
            provider: plan.provider,
            connectionString: "Server=db;Database=creatio;User ID=u;Password=p;",
            client: { id: "c".repeat(16), name: "Creatio", secret: "s".repeat(32), accessTokenLifetimeSeconds: 3600, systemClient: plan.profile.systemClient },
            logLevel: "Warning",
            servedOverHttps: plan.deployment.facts.servedOverHttps,
            publicUrl: plan.publicUrl as string,
        });
        const forwarded = forwardedHeadersEnabled({
            profile: plan.profile,
            explicit: plan.forwardedHeaders as boolean | undefined,
            publicUrl: plan.publicUrl as string,
            serviceUrl,
        });
        const environment = containerEnvironment(undefined, forwardedHeadersEnvironment(forwarded));
        const settingsFile = JSON.parse(renderSettingsFile(containerSettings(settings)));

        it("renders ForceHttpsSchemeInRequests true", () => {
            assert.deepEqual(settings.find((s: Setting) => s.key === "ForceHttpsSchemeInRequests"), { key: "ForceHttpsSchemeInRequests", value: true });
            assert.equal(settingsFile.ForceHttpsSchemeInRequests, true, "in the container's settings file");
        });

        it("enables forwarded headers", () => {
            assert.equal(forwarded, true);
            assert.equal(environment.ASPNETCORE_FORWARDEDHEADERS_ENABLED, "true", JSON.stringify(environment));
        });

        it("hands Creatio the public URL as the service writes its issuer", () => {
            assert.equal(plan.publicUrl, "https://ids.example.com");
        });
    });

    it("writes a service URL as a client addresses it and IdentityServer4 writes its issuer", () => {
        assert.equal(canonicalServiceUrl("https://IDS.Example.com:443/"), "https://ids.example.com");
        assert.equal(canonicalServiceUrl("http://identity-service:80"), "http://identity-service");
        assert.equal(canonicalServiceUrl("http://identity-service:8090//"), "http://identity-service:8090");
        assert.equal(canonicalServiceUrl("https://login.example.com/Ids/"), "https://login.example.com/Ids");
        assert.equal(canonicalServiceUrl("http://[::1]:8090"), "http://[::1]:8090");
    });

    it("compares scheme, host and port", () => {
        assert.equal(sameOrigin("http://localhost:8090", "http://LOCALHOST:8090/"), true);
        assert.equal(sameOrigin("http://ids:80", "http://ids"), true);
        assert.equal(sameOrigin("http://ids.example.com:8090", "https://ids.example.com:8090"), false);
        assert.equal(sameOrigin("http://localhost:8090", "http://identity-service:8090"), false);
        assert.equal(sameOrigin("http://localhost:8090", "http://localhost:8091"), false);
    });

    it("takes the scheme Creatio uses from publicUrl, else from the service itself", () => {
        assert.equal(creatioUsesHttps(undefined, false), false);
        assert.equal(creatioUsesHttps(undefined, true), true);
        assert.equal(creatioUsesHttps("https://ids.example.com", false), true);
        assert.equal(creatioUsesHttps("http://ids", true), false);
    });

    describe("forwarded headers", () => {
        const on = (inputs: Partial<Parameters<typeof forwardedHeadersEnabled>[0]>) =>
            forwardedHeadersEnabled({ profile: profile("8.2.3"), serviceUrl: "http://localhost:8090", ...inputs });

        it("are on when Creatio reaches the service at another scheme, host or port", () => {
            assert.equal(on({ publicUrl: "https://ids.example.com" }), true, "a TLS-terminating proxy");
            assert.equal(on({ publicUrl: "https://localhost:8090" }), true, "another scheme only");
            assert.equal(on({ publicUrl: "http://identity-service" }), true, "another host (a Docker network, a balancer)");
            assert.equal(on({ publicUrl: "http://localhost:80" }), true, "another port");
        });

        it("are off without publicUrl or when it is the service's own URL", () => {
            assert.equal(on({}), false);
            assert.equal(on({ publicUrl: "http://LOCALHOST:8090" }), false);
            assert.equal(on({ serviceUrl: "https://ids.example.com:443", publicUrl: "https://ids.example.com" }), false, "a default port written out");
        });

        it("follow proxy.forwardedHeaders when it is given", () => {
            assert.equal(on({ explicit: false, publicUrl: "https://ids.example.com" }), false);
            assert.equal(on({ explicit: true }), true);
        });

        it("are never on for a runtime that does not read the switch (.NET Core 2.2, before 8.0.8)", () => {
            assert.equal(forwardedHeadersEnabled({ profile: profile("8.0.7"), serviceUrl: "http://localhost:8090", publicUrl: "https://ids.example.com" }), false);
            assert.equal(forwardedHeadersEnabled({ profile: profile("8.0.8"), serviceUrl: "http://localhost:8090", publicUrl: "https://ids.example.com" }), true);
        });

        it("are one variable of the host's environment, and only when on", () => {
            assert.equal(FORWARDED_HEADERS_VARIABLE, "ASPNETCORE_FORWARDEDHEADERS_ENABLED");
            assert.deepEqual(forwardedHeadersEnvironment(true), { ASPNETCORE_FORWARDEDHEADERS_ENABLED: "true" });
            assert.deepEqual(forwardedHeadersEnvironment(false), {});
        });
    });
});
