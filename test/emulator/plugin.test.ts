// The multi-language path through the emulator: examples/yaml previewed with the package started as a plugin the
// way the Node.js language host's RunPlugin starts it, its GetSchema compared with schema.json, and the component
// constructed with the program's inputs (the connection string as a secret), its children registering with the
// emulator's monitor.
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { IDENTITY_SERVICE_FOLDER, REPOSITORY, SIGNING_CERTIFICATE } from "./programs";
import { Workspace } from "./stack";

const COMPONENT = "creatio-identity-service:index:IdentityService";
const DATABASE_PASSWORD = "Yaml-Db-Passw0rd-Never-Shown";

describe("engine emulator: the package as a plugin (multi-language)", function () {
    this.timeout(240_000);

    it("examples/yaml: Construct receives `database` as an Output (it holds a secret), so the component refuses database.provider", async () => {
        // What Pulumi YAML sends for examples/yaml: `database` is an object holding the secret connection string.
        // The SDK's provider server (provider/server.js deserializeInputs) turns every top-level input that contains a
        // secret into an Output, so `database.provider`, a plain mode switch for the component, arrives as an
        // Output and the component's argument check refuses it. Until the component reads nested plain fields of
        // Output inputs, YAML and other languages cannot deploy it with a secret connection string.
        const workspace = new Workspace(fs.mkdtempSync(path.join(os.tmpdir(), "emulator-yaml-")));
        const stack = workspace.stack(path.join(REPOSITORY, "examples", "yaml"), "dev");
        stack.configSet("identityServiceFolder", IDENTITY_SERVICE_FOLDER);
        stack.configSet("signingCertificatePath", SIGNING_CERTIFICATE);
        stack.configSet("connectionString", `Server=db;Port=5432;Database=creatio;User ID=creatio;Password=${DATABASE_PASSWORD};`, { secret: true });
        const failure = await stack.preview().then(() => undefined, (error: Error) => error);
        assert.ok(failure, "the preview fails");
        assert.match(failure.message, /resources\.identityService: Construct failed: .*IdentityService "identityService" has invalid arguments:/);
        assert.match(failure.message, /- database\.provider: Calling \[toString\] on an \[Output<T>\]/);
        assert.ok(!failure.message.includes(DATABASE_PASSWORD), "no secret in the error");
    });

    it("examples/yaml previews with a plain connection string: children register under the constructed component", async () => {
        // The same program with the connection string given without --secret (the inputs then hold no secret and
        // reach the component as plain values): everything but the secret marking goes the multi-language way.
        const workspace = new Workspace(fs.mkdtempSync(path.join(os.tmpdir(), "emulator-yaml-")));
        const program = fs.mkdtempSync(path.join(os.tmpdir(), "emulator-yaml-program-"));
        const document = fs.readFileSync(path.join(REPOSITORY, "examples", "yaml", "Pulumi.yaml"), "utf8")
            .replace("packages:\n  creatio-identity-service: ../..", `packages:\n  creatio-identity-service: ${REPOSITORY}`)
            .replace(/(connectionString:\n\s+type: string)\n\s+secret: true/, "$1");
        assert.ok(!/secret: true/.test(document), "the copy declares no secret");
        fs.writeFileSync(path.join(program, "Pulumi.yaml"), document);
        const stack = workspace.stack(program, "dev");
        stack.configSet("identityServiceFolder", IDENTITY_SERVICE_FOLDER);
        stack.configSet("signingCertificatePath", SIGNING_CERTIFICATE);
        stack.configSet("connectionString", "Server=db;Port=5432;Database=creatio;User ID=creatio;Password=plain;");
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
        // The component wraps the connection string as a secret itself: the preview shows no part of it.
        assert.ok(!preview.text.includes("Password=plain"), "the component keeps the connection string secret");
    });
});
