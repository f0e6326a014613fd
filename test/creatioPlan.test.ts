import { strict as assert } from "assert";
import { CreatioRuntime } from "../src/creatioArgs";
import { ConnectionStep, connectionSteps, featureNameEncoding, hasHealthCheck, planConnection, planServiceConnection, routePrefix } from "../src/creatioPlan";
import { parseVersion, Version } from "../src/versions";

const v = (text: string) => parseVersion(text) as Version;
const ALL = { enableFeature: true, healthCheck: true };
const { Settings, Feature, DefaultResource, HealthCheck } = ConnectionStep;

function args(overrides: Record<string, unknown> = {}, creatio: Record<string, unknown> = {}) {
    return {
        creatio: { url: "https://creatio.example.com", username: "Supervisor", password: "pw-secret-1", runtime: CreatioRuntime.NetFramework, version: "8.1.3", ...creatio },
        identityServiceUrl: "http://ids.internal:8090",
        clientId: "AbCdEfGh12345678",
        clientSecret: "client-secret-0123456789abcdef01",
        ...overrides,
    } as any;
}

describe("Creatio connection: version rules", () => {
    it("routes application calls under /0 on .NET Framework only", () => {
        assert.equal(routePrefix(CreatioRuntime.NetFramework), "/0");
        assert.equal(routePrefix(CreatioRuntime.Net), "");
    });

    it("has the health check from 8.1.2 on .NET Framework and from 8.3.2 on .NET", () => {
        assert.equal(hasHealthCheck(v("8.1.1"), CreatioRuntime.NetFramework), false);
        assert.equal(hasHealthCheck(v("8.1.2"), CreatioRuntime.NetFramework), true);
        assert.equal(hasHealthCheck(v("8.3.1"), CreatioRuntime.Net), false);
        assert.equal(hasHealthCheck(v("8.3.2"), CreatioRuntime.Net), true);
    });

    it("picks the steps per version", () => {
        const table: Array<[string, CreatioRuntime, ConnectionStep[]]> = [
            ["8.0.0", CreatioRuntime.NetFramework, [Settings, Feature, DefaultResource]],
            ["8.1.1", CreatioRuntime.NetFramework, [Settings, Feature, DefaultResource]],
            ["8.1.2", CreatioRuntime.NetFramework, [Settings, Feature, DefaultResource, HealthCheck]],
            ["8.1.9", CreatioRuntime.NetFramework, [Settings, Feature, DefaultResource, HealthCheck]],
            // From 8.2 the health check reports a missing default resource, which only the maintenance process creates.
            ["8.2.0", CreatioRuntime.NetFramework, [Settings, Feature, DefaultResource, HealthCheck]],
            ["8.3.1", CreatioRuntime.NetFramework, [Settings, Feature, DefaultResource, HealthCheck]],
            ["8.3.2", CreatioRuntime.NetFramework, [Settings, DefaultResource, HealthCheck]],
            ["8.3.2", CreatioRuntime.Net, [Settings, DefaultResource, HealthCheck]],
            ["9.0.0", CreatioRuntime.Net, [Settings, DefaultResource, HealthCheck]],
        ];
        for (const [version, runtime, steps] of table) {
            assert.deepEqual(connectionSteps(v(version), runtime, ALL), steps, `${version} ${runtime}`);
        }
    });

    it("names the feature to clear as Creatio reads it: as it is up to 8.1, base64 from 8.2 (as clio sends it)", () => {
        assert.equal(featureNameEncoding(v("8.1.9")), "plain");
        assert.equal(featureNameEncoding(v("8.2.0")), "base64");
        assert.equal(featureNameEncoding(v("8.3.2")), "base64");
    });

    it("leaves out the feature and the health check when turned off", () => {
        assert.deepEqual(connectionSteps(v("8.1.3"), CreatioRuntime.NetFramework, { enableFeature: false, healthCheck: false }), [Settings, DefaultResource]);
    });
});

describe("Creatio connection: argument checks", () => {
    it("applies the defaults", () => {
        const plan = planConnection("c", args());
        assert.deepEqual(plan.steps, [Settings, Feature, DefaultResource, HealthCheck]);
        assert.equal(plan.tlsVerify, true);
        assert.equal(plan.clearSettingsOnDelete, false);
        assert.equal(plan.timeoutSeconds, 120);
        assert.equal(plan.caCertificate, undefined);
    });

    it("reports every problem at once, naming the fields and never a secret", () => {
        assert.throws(
            () =>
                planConnection(
                    "c",
                    args(
                        { identityServiceUrl: "ids.internal", clientId: "x".repeat(51), clientSecret: "", timeoutSeconds: 0, tls: { caCertificate: "not a pem" } },
                        { url: "https://creatio.example.com/0/", runtime: "core", version: "8.1", password: "" },
                    ),
                ),
            (err: Error) => {
                const lines = err.message.split("\n");
                assert.equal(lines[0], 'CreatioOAuthConnection "c" has invalid arguments:');
                for (const field of ["creatio.runtime", "creatio.version", "creatio.url", "creatio.password", "identityServiceUrl", "clientId", "clientSecret", "timeoutSeconds", "tls.caCertificate"]) {
                    assert.ok(lines.some(line => line.startsWith(`- ${field}: `)), `${field} in\n${err.message}`);
                }
                assert.match(err.message, /ends in \/0; give the site's base URL without it/);
                assert.match(err.message, /longer than Creatio's setting allows \(50 characters\)/);
                return true;
            },
        );
    });

    it("refuses versions without OAuth settings, .NET before 8.3.2, and a forced health check where there is none", () => {
        assert.throws(() => planConnection("c", args({}, { version: "7.18.5" })), /creatio\.version: Creatio 7\.18\.5 has no OAuth 2\.0 integration settings/);
        assert.throws(() => planConnection("c", args({}, { runtime: CreatioRuntime.Net, version: "8.2.1" })), /creatio\.runtime: Creatio on \.NET supports the Identity Service from 8\.3\.2/);
        assert.throws(() => planConnection("c", args({ healthCheck: true }, { version: "8.1.1" })), /- healthCheck: Creatio 8\.1\.1 on netFramework has no OAuth health check \(it exists from 8\.1\.2\)/);
        assert.deepEqual(planConnection("c", args({ healthCheck: false }, { version: "8.1.1" })).steps, [Settings, Feature, DefaultResource]);
    });

    it("names the fields of an IdentityService's creatio block with the component's header", () => {
        assert.equal(planServiceConnection("ids", undefined, "8.2.3"), undefined);
        assert.throws(
            () => planServiceConnection("ids", { url: "creatio", username: "", password: "p", runtime: CreatioRuntime.Net, healthCheck: true }, "8.2.3"),
            (err: Error) => {
                assert.match(err.message, /^IdentityService "ids" has invalid arguments:/);
                assert.match(err.message, /- creatio\.url: "creatio" is not an http\(s\) URL/);
                assert.match(err.message, /- creatio\.username: must not be empty/);
                assert.match(err.message, /- creatio\.runtime: Creatio on \.NET supports the Identity Service from 8\.3\.2 \(this is 8\.2\.3\)/);
                return true;
            },
        );
        const plan = planServiceConnection("ids", { url: "https://c.example.com/", username: "Supervisor", password: "p", runtime: CreatioRuntime.NetFramework, enableFeature: false }, "8.2.3");
        assert.deepEqual(plan!.steps, [Settings, DefaultResource, HealthCheck]);
    });
});
