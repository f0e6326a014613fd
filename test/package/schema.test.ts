import { strict as assert } from "assert";
import * as fs from "fs";
import type { PackageSpec } from "@pulumi/pulumi/provider/experimental/schema";
import { CreatioRuntime, DatabaseProvider, DeploymentTarget, LogLevel, RestartPolicy } from "../../src";
import { readmeInputs, readmeOutputs, reference, README_FILE, REFERENCE_FILE, renderReadme } from "../../tools/docs";
import { inferSchema, renderSchema, SCHEMA_FILE } from "../../tools/schema";

const TOKEN = "creatio-identity-service:index:IdentityService";
const CONNECTION_TOKEN = "creatio-identity-service:index:CreatioOAuthConnection";
const typeToken = (name: string) => `creatio-identity-service:index:${name}`;

describe("multi-language schema (Pulumi's own inference)", () => {
    let schema: PackageSpec & Record<string, any>;
    before(function () {
        this.timeout(120000);
        schema = inferSchema();
    });

    it("matches the committed schema.json (run `npm run generate` after changing the API)", () => {
        assert.equal(renderSchema(schema), fs.readFileSync(SCHEMA_FILE, "utf8"));
    });

    it("finds both components under their type tokens", () => {
        assert.deepEqual(Object.keys(schema.resources), [TOKEN, CONNECTION_TOKEN]);
        for (const token of [TOKEN, CONNECTION_TOKEN]) {
            assert.equal(schema.resources[token].isComponent, true);
            assert.ok(schema.resources[token].description!.length > 20);
        }
    });

    it("types the connection's inputs and outputs", () => {
        const resource = schema.resources[CONNECTION_TOKEN];
        assert.deepEqual(resource.requiredInputs!.slice().sort(), ["clientId", "clientSecret", "creatio", "identityServiceUrl"]);
        assert.equal((resource.inputProperties!.creatio as any).$ref.split(":").pop(), "CreatioInstance");
        assert.equal((resource.inputProperties!.creatio as any).plain, true);
        const instance = schema.types[typeToken("CreatioInstance")];
        assert.deepEqual(instance.required!.slice().sort(), ["password", "runtime", "url", "username", "version"]);
        assert.equal((instance.properties!.version as any).plain, true);
        assert.equal((instance.properties!.runtime as any).plain, true);
        assert.deepEqual(Object.keys(resource.properties!).sort(), ["clientId", "healthCheck", "identityServiceUrl"]);
        assert.equal(schema.types[typeToken("IdentityServiceCreatio")].properties!.version, undefined, "the service's own version is used");
    });

    it("types every input with the right optionality and plainness", () => {
        const resource = schema.resources[TOKEN];
        const inputs = resource.inputProperties!;
        const expectations: Array<[string, string, boolean, boolean]> = [
            // name, type or $ref type name, required, plain
            ["target", "DeploymentTarget", true, true],
            ["creatioVersion", "string", true, true],
            ["database", "Database", true, true],
            ["client", "Client", false, true],
            ["signingCertificate", "SigningCertificate", false, true],
            ["logLevel", "LogLevel", false, false],
            ["redisConnection", "string", false, false],
            ["forceHttpsSchemeInRequests", "boolean", false, false],
            ["docker", "DockerDeployment", false, true],
            ["iis", "IisDeployment", false, true],
            ["swarm", "SwarmDeployment", false, true],
            ["readiness", "Readiness", false, true],
            ["publicUrl", "string", false, false],
            ["proxy", "ReverseProxy", false, true],
            ["creatio", "IdentityServiceCreatio", false, true],
            ["profileVersion", "string", false, true],
            // Maps and a list: their keys and entries decide what is checked, their values may be computed.
            ["additionalSettings", "object", false, true],
            ["environment", "object", false, true],
            ["overrides", "array", false, true],
            ["repair", "string", false, false],
        ];
        assert.deepEqual(Object.keys(inputs).sort(), expectations.map(e => e[0]).sort());
        assert.deepEqual((inputs.additionalSettings as any).additionalProperties, { $ref: "pulumi.json#/Any" }, "any JSON value, computed or secret");
        assert.deepEqual((inputs.environment as any).additionalProperties, { type: "string" }, "a string, computed or secret (refused when secret)");
        assert.deepEqual((inputs.overrides as any).items, { type: "string", plain: true });
        for (const [name, type, required, plain] of expectations) {
            const property = inputs[name] as any;
            assert.equal(property.$ref ? property.$ref.split(":").pop() : property.type, type, name);
            assert.equal(resource.requiredInputs!.includes(name), required, `${name} required`);
            assert.equal(Boolean(property.plain), plain, `${name} plain`);
        }
    });

    it("types every output", () => {
        const outputs = schema.resources[TOKEN].properties!;
        const expected: Record<string, string> = {
            url: "string",
            publicUrl: "string",
            discoveryUrl: "string",
            tokenUrl: "string",
            clientId: "string",
            clientName: "string",
            clientSecret: "string",
            creatioSystemSettings: "CreatioSystemSettings",
            creatioHealthCheck: "CreatioHealthCheckResult",
        };
        assert.deepEqual(Object.keys(outputs).sort(), Object.keys(expected).sort());
        for (const [name, type] of Object.entries(expected)) {
            const property = outputs[name] as any;
            assert.equal(property.$ref ? property.$ref.split(":").pop() : property.type, type, name);
        }
        assert.deepEqual(Object.keys(schema.types[typeToken("CreatioSystemSettings")].properties!).sort(), [
            "OAuth20IdentityServerClientId",
            "OAuth20IdentityServerClientSecret",
            "OAuth20IdentityServerUrl",
        ]);
    });

    it("describes every input, output and type property", () => {
        const missing: string[] = [];
        const check = (where: string, properties: Record<string, { description?: string }> | undefined) => {
            for (const [name, property] of Object.entries(properties ?? {})) {
                if (!property.description || property.description.trim().length < 10) {
                    missing.push(`${where}.${name}`);
                }
            }
        };
        for (const token of [TOKEN, CONNECTION_TOKEN]) {
            check(`${token} inputs`, schema.resources[token].inputProperties);
            check(`${token} outputs`, schema.resources[token].properties);
        }
        for (const [token, type] of Object.entries(schema.types)) {
            check(token, type.properties);
            for (const value of type.enum ?? []) {
                if (!value.description) {
                    missing.push(`${token}.${value.name}`);
                }
            }
        }
        assert.deepEqual(missing, []);
    });

    it("turns the TypeScript enums into schema enums with the same values", () => {
        const enums: Record<string, Record<string, string>> = { DeploymentTarget, DatabaseProvider, LogLevel, RestartPolicy, CreatioRuntime };
        for (const [name, values] of Object.entries(enums)) {
            const type = schema.types[typeToken(name)];
            assert.equal(type.type, "string", name);
            assert.deepEqual(
                type.enum!.map(v => [v.name, v.value]),
                Object.entries(values).map(([key, value]) => [key, value]),
                name,
            );
        }
    });

    it("documents every secret as such", () => {
        const secretFields: Array<[string, string]> = [
            ["Database", "connectionString"],
            ["Database", "reseedConnectionString"],
            ["Client", "secret"],
            ["SigningCertificate", "password"],
            ["TlsCertificate", "password"],
            ["IisAppPoolIdentity", "password"],
            ["CreatioInstance", "password"],
            ["IdentityServiceCreatio", "password"],
        ];
        for (const [type, field] of secretFields) {
            assert.match(schema.types[typeToken(type)].properties![field].description!, /secret/i, `${type}.${field}`);
        }
        assert.match(schema.resources[TOKEN].inputProperties!.redisConnection.description!, /secret/i);
        assert.match(schema.resources[CONNECTION_TOKEN].inputProperties!.clientSecret.description!, /secret/i);
        for (const output of ["clientSecret", "creatioSystemSettings"]) {
            assert.match(schema.resources[TOKEN].properties![output].description!, /secret/i, output);
        }
    });
});

describe("generated documentation", () => {
    it("keeps the README's inputs and outputs tables in step with the schema", () => {
        const schema = JSON.parse(fs.readFileSync(SCHEMA_FILE, "utf8"));
        const readme = fs.readFileSync(README_FILE, "utf8");
        assert.equal(renderReadme(schema, readme), readme, "run `npm run generate`");
        assert.ok(readme.includes(readmeInputs(schema)) && readme.includes(readmeOutputs(schema)));
    });

    it("keeps docs/reference.md in step with the schema", () => {
        const schema = JSON.parse(fs.readFileSync(SCHEMA_FILE, "utf8"));
        assert.equal(reference(schema), fs.readFileSync(REFERENCE_FILE, "utf8"), "run `npm run generate`");
    });
});
