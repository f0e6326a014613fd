import { strict as assert } from "assert";
import {
    compareVersions,
    FEATURES,
    formatVersion,
    NEWEST_KNOWN_VERSION,
    parseVersion,
    pinnedProfileProblem,
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

    it("rejects versions older than the table with the supported range, and what is not a version", () => {
        assert.equal(resolveVersion("7.16.3"), "Creatio 7.16.3 is not supported by this package (supported: 7.16.4 to 8.3.x, and newer releases with the profile of 8.3.x)");
        assert.match(resolveVersion("eight") as string, /not a Creatio version.*major\.minor\.patch/);
    });

    it("deploys a release newer than the table with the newest known profile, and says what it assumed", () => {
        const newest = profile("8.3.2");
        for (const text of ["8.4.0", "9.0.0", "10.0.0.1234"]) {
            const newer = profile(text);
            assert.deepEqual(newer.version, parseVersion(text));
            assert.equal(newer.text, text.split(".").slice(0, 3).join("."), "the real version, for image tags and install triggers");
            assert.deepEqual(newer.profileVersion, NEWEST_KNOWN_VERSION);
            assert.equal(newer.release, RELEASES[RELEASES.length - 1]);
            assert.deepEqual(newer.supports, newest.supports);
            assert.deepEqual(newer.systemClient, newest.systemClient);
        }
        assert.equal(
            profile("8.4.0").assumption,
            "Creatio 8.4.0 is newer than the releases this package knows (up to 8.3.x): it is deployed as Creatio 8.3.x would be: " +
                ".NET 8 (on IIS the .NET 8 runtime and the ASP.NET Core 8.0 hosting bundle), Docker supported, the configuration keys " +
                "RedisConnection and ForceHttpsSchemeInRequests, and the system client's scopes and properties of 8.3.x. Check the " +
                "release's Identity Service guide for anything new; set `profileVersion` to a known release to choose the profile " +
                "yourself (this warning then goes away), or use a release of this package that knows 8.4.0",
        );
        assert.equal(profile("8.3.9").assumption, undefined, "every 8.3 patch is in the table");
        assert.equal(profile("8.3.9").profileVersion.join("."), "8.3.9");
    });

    it("takes a pinned profile from a known release, without a warning, and keeps the version deployed", () => {
        const pinned = resolveVersion("10.0.0", "8.2.3") as VersionProfile;
        assert.equal(pinned.text, "10.0.0");
        assert.deepEqual(pinned.profileVersion, [8, 2, 3]);
        assert.equal(pinned.release.dotnet, ".NET 8");
        assert.deepEqual(pinned.supports, profile("8.2.3").supports);
        assert.deepEqual(pinned.systemClient, profile("8.2.3").systemClient);
        assert.equal(pinned.assumption, undefined);
        assert.deepEqual((resolveVersion("8.3.1", "8.1.0") as VersionProfile).supports, profile("8.1.0").supports, "also for a known version");
        assert.equal(resolveVersion("7.10.0", "8.0.8"), resolveVersion("7.10.0"), "a version older than the table is refused whatever the pin");
    });

    it("checks a pinned profile: a version the tables know, not newer than the version deployed", () => {
        assert.equal(pinnedProfileProblem("8.3.1", "10.0.0"), undefined);
        assert.equal(pinnedProfileProblem("7.16.4", "8.0.0"), undefined);
        assert.equal(pinnedProfileProblem("8.3.1", "8.3.1"), undefined);
        assert.match(pinnedProfileProblem("8.3", "10.0.0")!, /is not a Creatio version/);
        assert.match(pinnedProfileProblem("7.16.3", "10.0.0")!, /not a release this package knows/);
        assert.match(pinnedProfileProblem("8.4.0", "10.0.0")!, /not a release this package knows/);
        assert.match(pinnedProfileProblem("8.2.1", "8.2.0")!, /newer than creatioVersion 8\.2\.0/);
        assert.match(pinnedProfileProblem(8 as unknown as string, "8.2.0")!, /8 is not a version/);
        assert.equal(formatVersion(NEWEST_KNOWN_VERSION), "8.3.x");
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
