// The multi-language path through the emulator: examples/yaml previewed with the package started as a plugin the
// way the Node.js language host's RunPlugin starts it, its GetSchema compared with schema.json, and the component
// constructed with the program's inputs encoded as the engine forwards them (the connection string a secret output
// value inside the plain `database` object), its children registering with the emulator's monitor.
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { engineConstructInputs } from "./plugin";
import { IDENTITY_SERVICE_FOLDER, REPOSITORY, SIGNING_CERTIFICATE } from "./programs";
import { Workspace } from "./stack";
import { OUTPUT_VALUE_SIG, SECRET_SIG, SIG_KEY, UNKNOWN } from "./values";

const COMPONENT = "creatio-identity-service:index:IdentityService";
const DATABASE_PASSWORD = "Yaml-Db-Passw0rd-Never-Shown";
const CONNECTION_STRING = `Server=db;Port=5432;Database=creatio;User ID=creatio;Password=${DATABASE_PASSWORD};`;

/** A copy of examples/yaml, changed by `edit`, that finds the package where the example finds it. */
function yamlProgram(edit: (document: string) => string): string {
    const program = fs.mkdtempSync(path.join(os.tmpdir(), "emulator-yaml-program-"));
    const document = fs.readFileSync(path.join(REPOSITORY, "examples", "yaml", "Pulumi.yaml"), "utf8")
        .replace("packages:\n  creatio-identity-service: ../..", `packages:\n  creatio-identity-service: ${REPOSITORY}`);
    const edited = edit(document);
    assert.notEqual(edited, document, "the edit applies");
    fs.writeFileSync(path.join(program, "Pulumi.yaml"), edited);
    return program;
}

function configured(program: string) {
    const workspace = new Workspace(fs.mkdtempSync(path.join(os.tmpdir(), "emulator-yaml-")));
    const stack = workspace.stack(program, "dev");
    stack.configSet("identityServiceFolder", IDENTITY_SERVICE_FOLDER);
    stack.configSet("signingCertificatePath", SIGNING_CERTIFICATE);
    stack.configSet("connectionString", CONNECTION_STRING, { secret: true });
    return stack;
}

describe("engine emulator: Construct inputs as the engine forwards them", () => {
    const secretValue = { [SIG_KEY]: SECRET_SIG, value: "s3cret" };
    const inputs = { target: "docker", database: { provider: "Postgres", connectionString: secretValue }, whole: { [SIG_KEY]: SECRET_SIG, value: { a: secretValue } }, later: UNKNOWN, list: [secretValue] };

    it("to a plugin that accepts output values: every secret and unknown, at any depth, becomes an output value", () => {
        const secretOutput = { [SIG_KEY]: OUTPUT_VALUE_SIG, value: "s3cret", secret: true };
        assert.deepEqual(engineConstructInputs(inputs, { acceptSecrets: true, acceptResources: true, acceptOutputs: true }), {
            target: "docker",
            database: { provider: "Postgres", connectionString: secretOutput },
            whole: { [SIG_KEY]: OUTPUT_VALUE_SIG, value: { a: secretOutput }, secret: true },
            later: { [SIG_KEY]: OUTPUT_VALUE_SIG },
            list: [secretOutput],
        });
    });

    it("to a plugin that does not: secrets and unknowns as the program sent them", () => {
        assert.deepEqual(engineConstructInputs(inputs, { acceptSecrets: true, acceptResources: true, acceptOutputs: false }), inputs);
    });
});

describe("engine emulator: the package as a plugin (multi-language)", function () {
    this.timeout(240_000);

    it("examples/yaml previews with its secret connection string: children register under the constructed component", async () => {
        // The provider server answers Configure with acceptOutputs, so the engine forwards the secret connection string
        // as a secret output value inside the plain `database` object: the SDK hands the component a plain object with a
        // secret Output in it, and the component reads `database.provider` as a plain value.
        const stack = configured(path.join(REPOSITORY, "examples", "yaml"));
        const preview = await stack.preview();
        const component = preview.steps.find(s => s.type === COMPONENT)!;
        assert.ok(component, preview.text);
        assert.equal(component.urn, `urn:pulumi:dev::identity-service-yaml::${COMPONENT}::identityService`);
        assert.match(component.new!.parent!, /pulumi:pulumi:Stack::identity-service-yaml-dev$/);
        const children = preview.steps.filter(s => s.new?.parent === component.urn).map(s => s.type).sort();
        assert.deepEqual(children, [
            "command:local:Command", "command:local:Command", "command:local:Command", "docker:index/container:Container", "docker:index/image:Image",
            "random:index/randomPassword:RandomPassword", "random:index/randomString:RandomString",
        ]);
        assert.ok(preview.steps.every(s => s.op === "create"));
        // GetSchema, asked as Pulumi YAML asks it to check the program, returns exactly schema.json.
        const committed = JSON.parse(fs.readFileSync(path.join(REPOSITORY, "schema.json"), "utf8"));
        assert.deepEqual(JSON.parse(preview.schemas!.get("creatio-identity-service")!), committed);
        // `database.provider`, read as a plain value from the object that carried the secret, reaches the re-seeding step.
        const reseed = preview.steps.filter(s => s.type === "command:local:Command" && /reseed\.js/.test(String(s.new!.inputs.create)));
        assert.ok(reseed.length > 0, preview.text);
        for (const step of reseed) assert.deepEqual((step.new!.inputs.environment as Record<string, unknown>).RESEED_DB_PROVIDER, "Postgres");
        // The connection string stays a secret: nowhere in the preview text, nor in plain text in any registration.
        assert.ok(!preview.text.includes(DATABASE_PASSWORD), "no secret in the preview");
        assert.ok(preview.steps.every(s => !JSON.stringify(s.new?.inputs ?? {}).includes(DATABASE_PASSWORD)), "no child holds the secret in plain text");
    });

    it("a `database` block made secret as a whole arrives as an Output and is refused by name, with the fix", async () => {
        // `fn::secret` around the block makes the engine forward `database` itself as a secret output value; the SDK
        // then hands the component an Output, whose fields cannot be read while the program runs.
        const program = yamlProgram(document => document.replace(
            "      database:\n        provider: Postgres\n        connectionString: ${connectionString}\n",
            "      database:\n        fn::secret:\n          provider: Postgres\n          connectionString: ${connectionString}\n",
        ));
        const failure = await configured(program).preview().then(() => undefined, (error: Error) => error);
        assert.ok(failure, "the preview fails");
        assert.match(failure.message, /resources\.identityService: Construct failed: .*IdentityService "identityService" has invalid arguments:\n- database: must be a plain object known when the program runs/);
        assert.match(failure.message, /write the `database` block out in the program and make only the values inside it secret/);
        assert.ok(!failure.message.includes("Calling [toString]"), failure.message);
        assert.ok(!failure.message.includes(DATABASE_PASSWORD), "no secret in the error");
    });
});
