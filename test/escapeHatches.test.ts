import { strict as assert } from "assert";
import { MANAGED_SETTINGS } from "../src/configuration";
import {
    collisionProblems,
    configurationKeys,
    environmentNameProblem,
    flattenedKeyProblems,
    flattenSetting,
    jsonValueProblem,
    replacedValueProblems,
    replacesSecret,
    settingField,
    settingKeyProblem,
    UserSetting,
    UserVariable,
} from "../src/escapeHatches";
import { DOCKER_MANAGED } from "../src/targets/docker";
import { SWARM_MANAGED } from "../src/targets/swarm";

const setting = (key: string, field = settingField([key])): UserSetting => ({ field, key });
const variable = (name: string): UserVariable => ({ field: settingField([name], "environment"), name });

function problems(input: { settings?: UserSetting[]; environment?: UserVariable[]; overrides?: string[]; target?: typeof DOCKER_MANAGED }) {
    const target = input.target ?? DOCKER_MANAGED;
    return collisionProblems({
        settings: input.settings ?? [],
        environment: input.environment ?? [],
        overrides: input.overrides ?? [],
        managedSettings: [...MANAGED_SETTINGS, ...target.settings],
        managedEnvironment: target.environment,
        checkOverrides: true,
    });
}

describe("escape hatches: keys, names and values", () => {
    it("reads an environment variable as the configuration keys ASP.NET Core's default host gives it", () => {
        assert.deepEqual(configurationKeys("Logging__LogLevel__Default"), ["logging:loglevel:default"]);
        assert.deepEqual(configurationKeys("ASPNETCORE_URLS"), ["aspnetcore_urls", "urls"]);
        assert.deepEqual(configurationKeys("DOTNET_ENVIRONMENT"), ["dotnet_environment", "environment"]);
        assert.deepEqual(configurationKeys("aspnetcore_Kestrel__Certificates__Default__Path"), ["aspnetcore_kestrel:certificates:default:path", "kestrel:certificates:default:path"]);
        assert.deepEqual(configurationKeys("TZ"), ["tz"]);
    });

    it("accepts environment names of letters, digits, _, . and -, and says how to write a section", () => {
        for (const name of ["TZ", "_X", "Logging__LogLevel__Microsoft.AspNetCore", "a-b", "DOTNET_gcServer"]) {
            assert.equal(environmentNameProblem(name), undefined, name);
        }
        assert.match(environmentNameProblem("Logging:LogLevel:Default")!, /write "__" for the ":" of a configuration section, as in "Logging__LogLevel__Default"/);
        for (const name of ["", "1X", "A B", "A=B", "Ä", "X\n"]) {
            assert.match(environmentNameProblem(name)!, /is not an environment variable name; use letters, digits, "_", "\." and "-", starting with a letter or "_"/, JSON.stringify(name));
        }
    });

    it("accepts configuration keys of non-empty sections and names what is wrong with others", () => {
        for (const key of ["AllowedHosts", "Serilog:MinimumLevel:Default", "Logging:LogLevel:Microsoft.AspNetCore", "a b"]) {
            assert.equal(settingKeyProblem(key), undefined, key);
        }
        assert.match(settingKeyProblem("")!, /the empty key is not a configuration key/);
        for (const key of [":A", "A:", "A::B", "A: :B"]) {
            assert.match(settingKeyProblem(key)!, /has an empty section; write sections joined by single ":"/, key);
        }
        assert.match(settingKeyProblem("A\tB")!, /holds a control character/);
    });

    it("takes any JSON value, and says where a value is not one without showing it", () => {
        for (const value of ["x", 0, -1.5, true, null, [], [1, "a", { b: [null] }], { a: { b: 1 } }]) {
            assert.equal(jsonValueProblem(value), undefined, JSON.stringify(value));
        }
        assert.match(jsonValueProblem(undefined)!, /^is not a JSON value: undefined; give a string, number, boolean, null, array or object$/);
        assert.match(jsonValueProblem(Number.NaN)!, /NaN has no JSON form/);
        assert.match(jsonValueProblem({ a: [1, Infinity] })!, /\(at a\[1\]\): Infinity has no JSON form/);
        assert.match(jsonValueProblem({ when: new Date(0) })!, /\(at when\): an instance of a class/);
        assert.match(jsonValueProblem(() => 1)!, /a function/);
        assert.match(jsonValueProblem(BigInt(1))!, /a bigint/);
    });

    it("flattens objects into section keys and keeps arrays and scalars as values", () => {
        assert.deepEqual(flattenSetting("Serilog", { MinimumLevel: { Default: "Warning", Override: { Microsoft: "Error" } }, Using: ["Console"] }), [
            { key: "Serilog:MinimumLevel:Default", value: "Warning" },
            { key: "Serilog:MinimumLevel:Override:Microsoft", value: "Error" },
            { key: "Serilog:Using", value: ["Console"] },
        ]);
        assert.deepEqual(flattenSetting("AllowedHosts", "*"), [{ key: "AllowedHosts", value: "*" }]);
        assert.deepEqual(flattenedKeyProblems("f", "Empty", {}), [{ field: "f", message: '"Empty" is an empty object, which sets nothing; give its keys, or remove it' }]);
        assert.deepEqual(flattenedKeyProblems("f", "S", { "": 1 }), [{ field: "f", message: '"S:" has an empty section; write sections joined by single ":", as in "Serilog:MinimumLevel:Default"' }]);
    });

    it("names a key inside additionalSettings as a Pulumi property path", () => {
        assert.equal(settingField(["AllowedHosts"]), "additionalSettings.AllowedHosts");
        assert.equal(settingField(["Logging:LogLevel:Microsoft"]), 'additionalSettings["Logging:LogLevel:Microsoft"]');
        assert.equal(settingField(["Serilog", "MinimumLevel"]), "additionalSettings.Serilog.MinimumLevel");
        assert.equal(settingField(["TZ"], "environment"), "environment.TZ");
        assert.equal(settingField(["Logging__LogLevel__Microsoft.AspNetCore"], "environment"), 'environment["Logging__LogLevel__Microsoft.AspNetCore"]');
    });
});

describe("escape hatches: collisions with what the package sets", () => {
    it("lets keys and variables through that the package does not set", () => {
        assert.deepEqual(
            problems({
                settings: [setting("AllowedHosts"), setting("Logging:LogLevel:Microsoft"), setting("Serilog:MinimumLevel")],
                environment: [variable("TZ"), variable("Logging__LogLevel__System")],
            }),
            [],
        );
    });

    it("refuses a key the package sets, naming the argument that sets it and the override", () => {
        assert.deepEqual(problems({ settings: [setting("logging:LogLevel:default")] }), [
            {
                field: 'additionalSettings["logging:LogLevel:default"]',
                message:
                    '"logging:LogLevel:default" is a key the package sets from `logLevel`; use `logLevel` instead, or, to replace the ' +
                    'package\'s value on purpose, add "logging:LogLevel:default" to `overrides`',
            },
        ]);
        for (const managed of MANAGED_SETTINGS) {
            const found = problems({ settings: [setting(managed.key)] });
            assert.equal(found.length, 1, managed.key);
            assert.match(found[0].message, new RegExp(`sets from \`${managed.by.replace(".", "\\.")}\``), managed.key);
        }
        assert.match(problems({ settings: [setting("Kestrel:Certificates:Default:Password")] })[0].message, /from `docker\.https\.certificate\.password`/);
    });

    it("refuses a key or variable that sets what the target sets in the environment", () => {
        assert.match(
            problems({ settings: [setting("urls")] })[0].message,
            /"urls" is a key the package sets as the variable ASPNETCORE_URLS, the ports 80 and 443 inside the container that `docker\.httpPort` and `docker\.https\.port` publish; remove it, or, to replace the package's value on purpose, add "urls" to `overrides`/,
        );
        assert.match(
            problems({ environment: [variable("ASPNETCORE_ENVIRONMENT")] })[0].message,
            /^ASPNETCORE_ENVIRONMENT sets "aspnetcore_environment", which the package sets as the variable ASPNETCORE_ENVIRONMENT, which makes the service read the settings file \/app\/appsettings\.Production\.json; remove it/,
        );
        assert.match(problems({ environment: [variable("DOTNET_ENVIRONMENT")] })[0].message, /sets "environment", which the package sets as the variable ASPNETCORE_ENVIRONMENT/);
        assert.match(problems({ environment: [variable("URLS")] })[0].message, /^URLS sets "urls"/);
        assert.match(problems({ environment: [variable("ASPNETCORE_HTTPS_PORT")] })[0].message, /from `docker\.https\.port` \(as the variable ASPNETCORE_HTTPS_PORT\); use `docker\.https\.port` instead/);
        assert.match(problems({ environment: [variable("Logging__LogLevel__Default")] })[0].message, /^Logging__LogLevel__Default sets "logging:loglevel:default", which the package sets from `logLevel`; use `logLevel` instead, or, to replace the package's value on purpose, add "Logging__LogLevel__Default" to `overrides`/);
        // Swarm sets the same HTTPS variables from its own arguments; Docker's list and Swarm's share the settings file's.
        assert.match(problems({ environment: [variable("ASPNETCORE_HTTPS_PORT")], target: SWARM_MANAGED })[0].message, /from `swarm\.https\.port` \(as the variable ASPNETCORE_HTTPS_PORT\); use `swarm\.https\.port` instead/);
        assert.match(problems({ settings: [setting("Kestrel:Certificates:Default:Password")], target: SWARM_MANAGED })[0].message, /swarm\.https\.certificate\.password/);
        assert.equal(problems({ environment: [variable("ASPNETCORE_ENVIRONMENT")], target: SWARM_MANAGED }).length, 1);
    });

    it("lets a collision through when overrides lists it, by key or by variable name, ignoring case", () => {
        assert.deepEqual(problems({ settings: [setting("Logging:LogLevel:Default")], overrides: ["logging:loglevel:default"] }), []);
        assert.deepEqual(problems({ settings: [setting("Clients")], overrides: ["Clients"] }), [], "a secret key through the file");
        assert.deepEqual(problems({ environment: [variable("Logging__LogLevel__Default")], overrides: ["Logging__LogLevel__Default"] }), []);
        assert.deepEqual(problems({ environment: [variable("Logging__LogLevel__Default")], overrides: ["Logging:LogLevel:Default"] }), []);
        assert.deepEqual(problems({ environment: [variable("ASPNETCORE_URLS")], overrides: ["ASPNETCORE_URLS"] }), []);
    });

    it("never lets a secret of the package be replaced through the environment", () => {
        assert.deepEqual(problems({ environment: [variable("DatabaseConnectionString")], overrides: ["DatabaseConnectionString"] }), [
            {
                field: "environment.DatabaseConnectionString",
                message:
                    'DatabaseConnectionString replaces "databaseconnectionstring", a secret the package sets from `database.connectionString`; ' +
                    "a secret does not belong in an environment (`docker inspect` shows a container's); give \"databaseconnectionstring\" in " +
                    "`additionalSettings` instead (listed in `overrides`)",
            },
        ]);
    });

    it("refuses a key that would replace a section of the package's or sit inside one of its values, whatever overrides says", () => {
        const section = problems({ settings: [setting("Logging:LogLevel")], overrides: ["Logging:LogLevel"] });
        assert.match(section[0].message, /"Logging:LogLevel" would replace the section that holds "logging:loglevel:default", which the package sets from `logLevel`; give the keys inside "Logging:LogLevel" instead/);
        const inside = problems({ settings: [setting("Clients:0:ClientId")] });
        assert.match(inside[0].message, /"Clients:0:ClientId" is inside "clients", one value the package sets from `client`; replace "clients" as a whole \(listed in `overrides`\), or remove it/);
        // A variable and a section of the file do not clash: .NET keeps both a key's value and its children.
        assert.deepEqual(problems({ environment: [variable("Logging__LogLevel")] }), []);
    });

    it("refuses a key given twice, a section next to a key inside it, and a variable that sets a key of additionalSettings", () => {
        assert.match(problems({ settings: [setting("AllowedHosts"), setting("allowedhosts", "additionalSettings.allowedhosts")] })[0].message, /"allowedhosts" is also given as "AllowedHosts" \(additionalSettings\.AllowedHosts\), and configuration keys ignore case; give it once/);
        assert.match(problems({ settings: [setting("Serilog"), setting("Serilog:Using")] })[0].message, /"Serilog:Using" and "Serilog" \(additionalSettings\.Serilog\) are a section and a key inside it; give one of them/);
        assert.deepEqual(problems({ settings: [setting("Serilog:MinimumLevel")], environment: [variable("Serilog__MinimumLevel")] }), [
            {
                field: "environment.Serilog__MinimumLevel",
                message: 'Serilog__MinimumLevel sets "Serilog:MinimumLevel", which additionalSettings["Serilog:MinimumLevel"] sets too (the environment would win over the file); give it in one place',
            },
        ]);
    });

    it("refuses two variables that set one configuration key", () => {
        assert.match(problems({ environment: [variable("Foo__Bar"), variable("FOO__BAR")] })[0].message, /^FOO__BAR and Foo__Bar \(environment\.Foo__Bar\) both set the configuration key "foo:bar"/);
        assert.match(problems({ environment: [variable("ASPNETCORE_Detail"), variable("Detail")] })[0].message, /^Detail and ASPNETCORE_Detail .* both set the configuration key "detail"/);
    });

    it("refuses an override that replaces nothing", () => {
        assert.deepEqual(problems({ settings: [setting("AllowedHosts")], overrides: ["AllowedHosts", "Clients"] }), [
            {
                field: "overrides",
                message:
                    '"AllowedHosts" replaces nothing the package sets: no key of `additionalSettings` and no variable of `environment` with that name collides with one of the package\'s; remove it',
            },
            {
                field: "overrides",
                message:
                    '"Clients" replaces nothing the package sets: no key of `additionalSettings` and no variable of `environment` with that name collides with one of the package\'s; remove it',
            },
        ]);
        const deferred = collisionProblems({ settings: [], environment: [], overrides: ["Clients"], managedSettings: MANAGED_SETTINGS, managedEnvironment: [], checkOverrides: false });
        assert.deepEqual(deferred, [], "left to the check that knows every key");
    });

    it("refuses null or an array in place of a package key it replaces, without showing the value", () => {
        const field = settingField(["Clients"]);
        assert.deepEqual(replacedValueProblems(field, "Clients", ["Secret-Client-Array-1"], MANAGED_SETTINGS, ["clients"]), [
            {
                field,
                message:
                    'replaces "Clients", which the package sets from `client`, with an array, which leaves the service without that key; ' +
                    'give one value (a string, number or boolean), or remove "Clients" from `overrides` and `additionalSettings`',
            },
        ]);
        assert.ok(!JSON.stringify(replacedValueProblems(field, "Clients", ["Secret-Client-Array-1"], MANAGED_SETTINGS, ["Clients"])).includes("Secret-Client-Array-1"));
        assert.match(replacedValueProblems(field, "Logging", { LogLevel: { Default: null } }, MANAGED_SETTINGS, ["Logging:LogLevel:Default"])[0].message, /replaces "Logging:LogLevel:Default", which the package sets from `logLevel`, with null/);
        assert.deepEqual(replacedValueProblems(field, "Clients", "[]", MANAGED_SETTINGS, ["Clients"]), [], "one value: the user's on purpose");
        assert.deepEqual(replacedValueProblems(field, "Serilog", ["Console"], MANAGED_SETTINGS, ["Clients"]), [], "not a package key");
        assert.deepEqual(replacedValueProblems(field, "Clients", null, MANAGED_SETTINGS, []), [], "not listed: the collision error says it");
    });

    it("counts a value in place of a package secret, listed in overrides, as a secret", () => {
        assert.equal(replacesSecret("DatabaseConnectionString", "Server=db", MANAGED_SETTINGS, ["databaseconnectionstring"]), true);
        assert.equal(replacesSecret("Kestrel", { Certificates: { Default: { Password: "x" } } }, [...MANAGED_SETTINGS, ...DOCKER_MANAGED.settings], ["Kestrel:Certificates:Default:Password"]), true);
        assert.equal(replacesSecret("Logging:LogLevel:Default", "Debug", MANAGED_SETTINGS, ["Logging:LogLevel:Default"]), false, "not a secret of the package");
        assert.equal(replacesSecret("DatabaseConnectionString", "Server=db", MANAGED_SETTINGS, []), false, "not listed: refused anyway");
    });
});
