import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";

const root = path.join(__dirname, "..");
const schema = JSON.parse(fs.readFileSync(path.join(root, "schema.json"), "utf8"));
const TOKEN = "creatio-identity-service:index:IdentityService";

type Spec = { type?: string; $ref?: string; items?: Spec; plain?: boolean };
const INTERPOLATION = /^\$\{[^}]+\}$/;

/** Problems of a YAML value against a schema property, as paths and messages. */
function validate(value: unknown, spec: Spec, where: string): string[] {
    if (typeof value === "string" && INTERPOLATION.test(value)) {
        return []; // resolved by Pulumi YAML at run time
    }
    if (spec.$ref) {
        const type = schema.types[spec.$ref.replace("#/types/", "")];
        assert.ok(type, `schema type ${spec.$ref}`);
        if (type.enum) {
            const values = type.enum.map((e: { value: unknown }) => e.value);
            return values.includes(value) ? [] : [`${where}: ${JSON.stringify(value)} is not one of ${values.join(", ")}`];
        }
        return validateObject(value, type.properties ?? {}, type.required ?? [], where);
    }
    switch (spec.type) {
        case "string":
            return typeof value === "string" ? [] : [`${where}: expected a string`];
        case "number":
        case "integer":
            return typeof value === "number" ? [] : [`${where}: expected a number`];
        case "boolean":
            return typeof value === "boolean" ? [] : [`${where}: expected a boolean`];
        case "array":
            return Array.isArray(value) ? value.flatMap((item, i) => validate(item, spec.items!, `${where}[${i}]`)) : [`${where}: expected a list`];
        default:
            return [];
    }
}

function validateObject(value: unknown, properties: Record<string, Spec>, required: string[], where: string): string[] {
    if (!value || typeof value !== "object" || Array.isArray(value)) {
        return [`${where}: expected an object`];
    }
    const problems = required.filter(name => !(name in value)).map(name => `${where}.${name}: required`);
    for (const [name, item] of Object.entries(value)) {
        problems.push(...(properties[name] ? validate(item, properties[name], `${where}.${name}`) : [`${where}.${name}: not in the schema`]));
    }
    return problems;
}

describe("examples", () => {
    it("the YAML program matches the generated schema: property names, types, enum values, required inputs and outputs", () => {
        const program = parse(fs.readFileSync(path.join(root, "examples", "yaml", "Pulumi.yaml"), "utf8"));
        assert.equal(program.runtime, "yaml");
        assert.equal(program.packages["creatio-identity-service"], "../..");
        const resource = schema.resources[TOKEN];
        const components = Object.entries<any>(program.resources).filter(([, r]) => r.type === TOKEN);
        assert.equal(components.length, 1);
        const [name, component] = components[0];
        assert.deepEqual(validateObject(component.properties, resource.inputProperties, resource.requiredInputs, name), []);
        for (const [output, expression] of Object.entries<string>(program.outputs)) {
            const match = /^\$\{(\w+)\.(\w+)\}$/.exec(expression);
            assert.ok(match && match[1] === name && match[2] in resource.properties, `output ${output} reads a component output`);
        }
        for (const reference of JSON.stringify(component.properties).match(/\$\{(\w+)\}/g) ?? []) {
            assert.ok(reference.slice(2, -1) in program.config, `${reference} is declared in config`);
        }
    });

    it("the validation catches a wrong YAML program, so the check is not vacuous", () => {
        const resource = schema.resources[TOKEN];
        const problems = validateObject(
            { target: "kubernetes", creatioVersion: "8.2.1", database: { provider: "Postgres" }, docker: { httpPort: "8090", bogus: 1 } },
            resource.inputProperties,
            resource.requiredInputs,
            "bad",
        );
        assert.deepEqual(problems.sort(), [
            'bad.database.connectionString: required',
            'bad.docker.bogus: not in the schema',
            'bad.docker.httpPort: expected a number',
            'bad.target: "kubernetes" is not one of docker, iis',
        ]);
    });

    it("the Python program uses only names the SDK generated from the schema has", () => {
        const source = fs.readFileSync(path.join(root, "examples", "python", "__main__.py"), "utf8");
        const snake = (name: string) => name.replace(/([a-z0-9])([A-Z])/g, "$1_$2").toLowerCase();
        const propertiesOf = (call: string): Record<string, unknown> =>
            call === "IdentityService"
                ? schema.resources[TOKEN].inputProperties
                : schema.types[`creatio-identity-service:index:${call.replace(/Args$/, "")}`]?.properties;
        const problems: string[] = [];
        const calls: Array<string | null> = [];
        const token = /ids\.(\w+)\.([A-Z_]+)\b|ids\.(\w+)\(|(\w+)=(?!=)|\(|\)/g;
        let checked = 0;
        for (let match = token.exec(source); match; match = token.exec(source)) {
            const [text, enumType, member, call, keyword] = match;
            if (enumType) {
                const type = schema.types[`creatio-identity-service:index:${enumType}`];
                const names = (type?.enum ?? []).map((value: { name: string }) => snake(value.name).toUpperCase());
                if (!names.includes(member)) problems.push(`ids.${enumType}.${member}`);
                checked++;
            } else if (call) {
                if (!propertiesOf(call)) problems.push(`ids.${call}`);
                calls.push(call);
                checked++;
            } else if (keyword) {
                const scope = calls[calls.length - 1];
                if (scope) {
                    const properties = Object.keys(propertiesOf(scope) ?? {}).map(snake);
                    if (!properties.includes(keyword)) problems.push(`${scope}(${keyword}=)`);
                    checked++;
                }
            } else if (text === "(") {
                calls.push(null);
            } else {
                calls.pop();
            }
        }
        const outputs = Object.keys(schema.resources[TOKEN].properties).map(snake);
        for (const [, output] of source.matchAll(/identity_service\.(\w+)/g)) {
            if (!outputs.includes(output)) problems.push(`identity_service.${output}`);
            checked++;
        }
        assert.deepEqual(problems, []);
        assert.ok(checked > 25, `checked ${checked} names`);
    });

    it("every example is a complete program with its own Pulumi.yaml and README", () => {
        const examples = fs.readdirSync(path.join(root, "examples"));
        assert.ok(examples.length >= 5, examples.join(", "));
        for (const example of examples) {
            const dir = path.join(root, "examples", example);
            const project = parse(fs.readFileSync(path.join(dir, "Pulumi.yaml"), "utf8"));
            assert.ok(project.name && project.runtime, `${example}/Pulumi.yaml names the project and runtime`);
            assert.ok(fs.existsSync(path.join(dir, "README.md")), `${example}/README.md`);
            const runtime: string = project.runtime.name ?? project.runtime;
            const entry = ({ nodejs: "index.ts", yaml: "Pulumi.yaml", python: "__main__.py" } as Record<string, string>)[runtime];
            assert.ok(entry && fs.existsSync(path.join(dir, entry)), `${example} has its ${runtime} program`);
        }
    });
});
