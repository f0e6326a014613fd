// The multi-language path through the emulator: examples/yaml previewed with the package started as a plugin the
// way the Node.js language host's RunPlugin starts it, its GetSchema compared with schema.json, and the component
// constructed with the program's inputs encoded as the engine forwards them (the connection string a secret output
// value inside the plain `database` object), its children registering with the emulator's monitor. The emulator's
// own rules for this path are tested in plugin.doubles.test.ts.
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { IDENTITY_SERVICE_FOLDER, REPOSITORY, SIGNING_CERTIFICATE } from "./programs";
import { Workspace } from "./stack";

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
        assert.match(failure.message, new RegExp(`${COMPONENT} resource 'identityService' has a problem: IdentityService "identityService" has invalid arguments:\n- database: must be a plain object known when the program runs`));
        // The block's value may be secret: the package names it in the message only, so the engine prints no value.
        assert.doesNotMatch(failure.message, /- property database/);
        assert.match(failure.message, /write the `database` block out in the program and make only the values inside it secret/);
        assert.ok(!failure.message.includes("Calling [toString]"), failure.message);
        assert.ok(!failure.message.includes(DATABASE_PASSWORD), "no secret in the error");
    });
    it("a connection string without a password, set as a secret: the engine reports the component's problem, no secret", async () => {
        const stack = configured(path.join(REPOSITORY, "examples", "yaml"));
        stack.configSet("connectionString", "Server=db;Port=5432;Database=creatio;User ID=yaml-user-never-shown;", { secret: true });
        const failure = await stack.preview().then(() => undefined, (error: Error) => error);
        assert.ok(failure, "the preview fails");
        // The value arrives as a secret Output, so the component checks it when it resolves; the Node.js provider
        // server answers that failure from its uncaught-error handler, without InputPropertiesError details, and the
        // engine prints the status message under the resource's name.
        assert.ok(failure.message.includes(`${COMPONENT} resource 'identityService' has a problem: IdentityService "identityService" has invalid arguments:\n` +
            '- database.connectionString: has no password; add "Password=...;" for its User ID'), failure.message);
        assert.doesNotMatch(failure.message, /output\{\}|\{&\{/, "no value printed for the secret");
        assert.ok(!failure.message.includes("yaml-user-never-shown"), "no secret in the error");
    });

    it("a secret block with a literal password (no configuration the engine could filter): its value is never printed", async () => {
        const program = yamlProgram(document => document.replace(
            "      database:\n        provider: Postgres\n        connectionString: ${connectionString}\n",
            `      database:\n        fn::secret:\n          provider: Postgres\n          connectionString: "${CONNECTION_STRING}"\n`,
        ));
        const failure = await configured(program).preview().then(() => undefined, (error: Error) => error);
        assert.ok(failure, "the preview fails");
        assert.match(failure.message, /- database: must be a plain object known when the program runs/);
        assert.ok(!failure.message.includes(DATABASE_PASSWORD), "no secret in the error");
    });

    it("plain values the component refuses: the engine prints each one beside its path, but not a client secret's", async () => {
        const program = yamlProgram(document => document
            .replace("        httpPort: 8090\n", "        httpPort: 70000\n")
            .replace("        accessTokenLifetimeSeconds: 3600\n", "        accessTokenLifetimeSeconds: 3600\n        secret: plain-short-secret\n"));
        const failure = await configured(program).preview().then(() => undefined, (error: Error) => error);
        assert.ok(failure, "the preview fails");
        assert.ok(failure.message.includes(`${COMPONENT} resource 'identityService' has a problem: IdentityService "identityService" has invalid arguments:\n`), failure.message);
        assert.ok(failure.message.includes("\n\t\t- property docker.httpPort with value '{70000}' has a problem: 70000 is not a TCP port; use a whole number from 1 to 65535"), failure.message);
        assert.match(failure.message, /- client\.secret: \(a secret value of 18 characters\) is too short/);
        assert.doesNotMatch(failure.message, /property client\.secret/);
        assert.ok(!failure.message.includes("plain-short-secret"), "the client secret is not printed");
    });
});

