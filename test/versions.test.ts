import { strict as assert } from "assert";
import {
    compareVersions,
    FEATURES,
    parseVersion,
    RELEASES,
    resolveVersion,
    SYSTEM_CLIENT_RELEASES,
    systemClientProfile,
    VersionProfile,
} from "../src/versions";

function profile(text: string): VersionProfile {
    const resolved = resolveVersion(text);
    assert.equal(typeof resolved, "object", `expected ${text} to resolve, got ${resolved}`);
    return resolved as VersionProfile;
}

describe("versions", () => {
    it("parses three- and four-part versions and ignores the build number", () => {
        assert.deepEqual(parseVersion("8.2.1"), [8, 2, 1]);
        assert.deepEqual(parseVersion("8.1.3.6749"), [8, 1, 3]);
        assert.deepEqual(parseVersion(" 7.16.4 "), [7, 16, 4]);
        for (const bad of ["8.2", "8", "v8.2.1", "8.2.x", "", "8.2.1.1.1", "8..1"]) {
            assert.equal(parseVersion(bad), undefined, bad);
        }
    });

    it("orders versions numerically, not as text", () => {
        assert.ok(compareVersions([8, 0, 10], [8, 0, 8]) > 0);
        assert.ok(compareVersions([7, 16, 4], [8, 0, 0]) < 0);
        assert.equal(compareVersions([8, 2, 1], [8, 2, 1]), 0);
    });

    it("has release rows in order, without overlaps", () => {
        for (let i = 1; i < RELEASES.length; i++) {
            assert.ok(compareVersions(RELEASES[i - 1].to, RELEASES[i].from) < 0, `row ${i} overlaps the previous one`);
            assert.ok(compareVersions(RELEASES[i].from, RELEASES[i].to) < 0, `row ${i} is empty`);
        }
    });

    const rows: Array<[string, string, string, boolean]> = [
        ["7.16.4", ".NET Core 2.2", "3.1", false],
        ["8.0.7", ".NET Core 2.2", "3.1", false],
        ["8.0.8", ".NET 6", "6.0", true],
        ["8.1.3.6749", ".NET 6", "6.0", true],
        ["8.2.0", ".NET 6", "6.0", true],
        ["8.2.1", ".NET 8", "8.0", true],
        ["8.3.2", ".NET 8", "8.0", true],
    ];
    for (const [version, dotnet, bundle, dockerSupported] of rows) {
        it(`maps Creatio ${version} to ${dotnet}, hosting bundle ${bundle}, Docker ${dockerSupported ? "yes" : "no"}`, () => {
            const p = profile(version);
            assert.equal(p.release.dotnet, dotnet);
            assert.equal(p.release.iis.hostingBundleVersion, bundle);
            assert.equal(p.release.docker, dockerSupported);
        });
    }

    it("requires the .NET Core 2.2 runtime next to the 3.1 hosting bundle on IIS for 7.16.4 to 8.0.7", () => {
        assert.deepEqual(profile("7.18.5").release.iis.frameworks, [
            { name: "Microsoft.NETCore.App", version: "2.2" },
            { name: "Microsoft.AspNetCore.App", version: "3.1" },
        ]);
        for (const release of RELEASES) {
            assert.ok(release.iis.frameworks.some(f => f.name === "Microsoft.AspNetCore.App" && f.version === release.iis.hostingBundleVersion));
        }
    });

    it("switches features on at their documented versions", () => {
        assert.equal(profile("7.18.5").supports.redisConnection, false);
        assert.equal(profile("8.0.0").supports.redisConnection, true);
        assert.equal(profile("8.2.2").supports.signingCertificateRequired, false);
        assert.equal(profile("8.2.3").supports.signingCertificateRequired, true);
        assert.equal(profile("8.3.0").supports.forceHttpsSchemeInRequests, false);
        assert.equal(profile("8.3.1").supports.forceHttpsSchemeInRequests, true);
        assert.deepEqual(Object.keys(profile("8.3.1").supports).sort(), Object.keys(FEATURES).sort());
    });

    it("rejects versions outside the table with the supported range", () => {
        assert.match(resolveVersion("7.16.3") as string, /not supported.*7\.16\.4 to 8\.3\.x/);
        assert.match(resolveVersion("8.4.0") as string, /not supported/);
        assert.match(resolveVersion("eight") as string, /not a Creatio version.*major\.minor\.patch/);
    });

    describe("the system client per version", () => {
        const documented = [
            "register_own_resource",
            "get_resource_list",
            "get_client_info",
            "find_clients",
            "remove_client",
            "update_client",
            "add_registrar_client",
        ];
        const userScopes = ["activate_user", "deactivate_user", "upsert_client_user", "remove_client_user"];

        it("has rows in order, from the first supported version", () => {
            assert.deepEqual(SYSTEM_CLIENT_RELEASES[0].from, RELEASES[0].from);
            for (let i = 1; i < SYSTEM_CLIENT_RELEASES.length; i++) {
                assert.ok(compareVersions(SYSTEM_CLIENT_RELEASES[i - 1].from, SYSTEM_CLIENT_RELEASES[i].from) < 0, `row ${i}`);
            }
        });

        it("asks for the documented scopes everywhere, and allows the *_user scopes Creatio asks for from 8.1.0", () => {
            assert.deepEqual(profile("7.16.4").systemClient, {
                requestedScopes: documented,
                allowedScopes: [...documented, "IdentityServerApi"],
                properties: {},
            });
            assert.deepEqual(profile("8.0.15").systemClient.allowedScopes, [...documented, "IdentityServerApi"]);
            assert.deepEqual(profile("8.2.3").systemClient.requestedScopes, documented, "the vendor's client passes the health check");
            assert.deepEqual(profile("8.2.3").systemClient.allowedScopes, [...documented, ...userScopes, "IdentityServerApi"]);
        });

        it("carries the documented AllowedQueryParameters property from 8.0, as a JSON array in a string", () => {
            assert.deepEqual(profile("7.18.0").systemClient.properties, {});
            for (const version of ["8.0.0", "8.2.3", "8.3.2"]) {
                assert.deepEqual(profile(version).systemClient.properties, { AllowedQueryParameters: '["invitationHash","targetSubject"]' }, version);
            }
        });

        it("allows the authorization-code era scopes from 8.3 without asking for them", () => {
            const client = profile("8.3.2").systemClient;
            for (const scope of ["generate_auth_code", "revoke_client_tokens", "get_service_info"]) {
                assert.ok(client.allowedScopes.includes(scope), scope);
                assert.ok(!client.requestedScopes.includes(scope), scope);
                assert.ok(!profile("8.2.3").systemClient.allowedScopes.includes(scope), scope);
            }
        });

        it("keeps every scope string within IdentityServer4's 300 characters, asked for or defaulted to the allowed ones", () => {
            // InputLengthRestrictions.Scope = 300 (IdentityServer4 4.1.2): a longer scope string gets invalid_scope, also the
            // string IdentityServer4 builds from the allowed scopes when a request names none.
            for (const release of SYSTEM_CLIENT_RELEASES) {
                const client = systemClientProfile(release.from);
                assert.ok(client.allowedScopes.join(" ").length <= 300, client.allowedScopes.join(" "));
                assert.ok([...client.requestedScopes, "IdentityServerApi"].join(" ").length <= 300);
                assert.equal(client.allowedScopes.at(-1), "IdentityServerApi");
                assert.equal(new Set(client.allowedScopes).size, client.allowedScopes.length, "no scope twice");
            }
        });
    });
});
