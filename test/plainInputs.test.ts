import "./support/mocks";
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { DatabaseProvider, DeploymentTarget, IdentityService, IdentityServiceArgs } from "../src";
import { checkPlainInputs, outputValuedPlainFields, PLAIN_FIELDS, PlainFields } from "../src/plainInputs";
import { registered, resetMocks } from "./support/mocks";

const COMPONENT = "creatio-identity-service:index:IdentityService";
const CONNECTION = "Server=db;Database=creatio;User ID=u;Password=Plain-Inputs-Secret-77;";

interface SchemaProperty {
    readonly plain?: boolean;
    readonly $ref?: string;
    readonly type?: string;
}

/** The plain fields as the schema inferred from the source declares them. */
function plainFieldsOfSchema(schema: { resources: Record<string, { inputProperties: Record<string, SchemaProperty> }>; types: Record<string, { properties?: Record<string, SchemaProperty> }> }, properties: Record<string, SchemaProperty>): PlainFields {
    const fields: Record<string, true | PlainFields> = {};
    for (const [name, property] of Object.entries(properties)) {
        if (!property.plain) continue;
        const type = property.$ref ? schema.types[property.$ref.replace("#/types/", "")] : undefined;
        // A map (`additionalSettings`, `environment`) is a block of keys the program chooses, with no plain field inside.
        fields[name] = type?.properties ? plainFieldsOfSchema(schema, type.properties) : property.type === "object" ? {} : true;
    }
    return fields;
}

function args(): IdentityServiceArgs {
    return {
        target: DeploymentTarget.Docker,
        creatioVersion: "8.2.3",
        database: { provider: DatabaseProvider.Postgres, connectionString: pulumi.secret(CONNECTION) },
        docker: { build: { context: "/ids" } },
    };
}

describe("plain inputs", () => {
    it("lists exactly the fields schema.json marks plain", () => {
        const schema = JSON.parse(fs.readFileSync(path.join(__dirname, "..", "schema.json"), "utf8"));
        assert.deepEqual(PLAIN_FIELDS, plainFieldsOfSchema(schema, schema.resources[COMPONENT].inputProperties));
    });

    it("finds nothing when the blocks are plain and only values inside them are Outputs", () => {
        assert.deepEqual(outputValuedPlainFields({ ...args(), logLevel: pulumi.output("Debug"), client: { name: pulumi.output("n") } }), []);
    });

    it("finds blocks, nested blocks and mode switches given as Outputs or Promises", () => {
        const given = {
            ...args(),
            target: pulumi.output(DeploymentTarget.Docker),
            database: pulumi.secret({ provider: DatabaseProvider.Postgres, connectionString: CONNECTION }),
            docker: { build: Promise.resolve({ context: "/ids" }), https: { certificate: pulumi.output({ path: "/c.pfx" }) } },
            readiness: { enabled: pulumi.output(true) },
        } as unknown as IdentityServiceArgs;
        assert.deepEqual(outputValuedPlainFields(given), ["target", "database", "docker.build", "docker.https.certificate", "readiness.enabled"]);
    });

    it("refuses them with one error naming each field and the fix, without showing the secret", () => {
        const given = { ...args(), database: pulumi.secret({ provider: DatabaseProvider.Postgres, connectionString: CONNECTION }), creatioVersion: pulumi.output("8.2.3") };
        const error = (() => {
            try {
                checkPlainInputs("ids", given as unknown as IdentityServiceArgs);
            } catch (e) {
                return e as Error;
            }
            return undefined;
        })();
        assert.ok(error, "an error is thrown");
        assert.match(error.message, /^IdentityService "ids" has invalid arguments:\n/);
        assert.match(error.message, /- creatioVersion: must be a plain value known when the program runs .* arrived as an Output.*give `creatioVersion` as a literal or a plain configuration value/);
        assert.match(error.message, /- database: must be a plain object known when the program runs .*write the `database` block out in the program and make only the values inside it secret/);
        assert.ok(!error.message.includes(CONNECTION));
        assert.doesNotThrow(() => checkPlainInputs("ids", args()));
    });

    it("the component refuses a block given as an Output before it creates any child", () => {
        resetMocks();
        const before = registered.length;
        const given = { ...args(), creatio: pulumi.secret({ url: "https://creatio.example.com", username: "Supervisor", password: "x" }) };
        assert.throws(() => new IdentityService("output-block", given as unknown as IdentityServiceArgs), (error: Error) => {
            assert.match(error.message, /^IdentityService "output-block" has invalid arguments:\n- creatio: must be a plain object/);
            assert.ok(!error.message.includes("Calling [toString]"), error.message);
            return true;
        });
        const children = registered.slice(before).filter(r => r.type !== "creatio-identity-service:index:IdentityService");
        assert.deepEqual(children, [], "no child resource was registered");
    });
});
