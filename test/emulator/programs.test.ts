// Every TypeScript example and the quickstart, previewed as `pulumi preview --diff` would after the `pulumi config
// set` lines of its README: started by the SDK's own cmd/run from Pulumi.yaml, talking gRPC to the engine
// emulator, with secrets set as secrets. No Docker is needed: a preview only checks and diffs.
// The quickstart is type-checked as the CLI does by default; the examples run with PULUMI_NODEJS_TRANSPILE_ONLY
// (their types are checked by `npm run typecheck`, tsconfig.check.json) to keep CPU use down.
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { IDENTITY_SERVICE_FOLDER, REPOSITORY, SIGNING_CERTIFICATE, installedExample } from "./programs";
import { RunResult, Workspace } from "./stack";
import { UNKNOWN } from "./values";

const TRANSPILE_ONLY = { env: { PULUMI_NODEJS_TRANSPILE_ONLY: "true" } };
const COMPONENT = "creatio-identity-service:index:IdentityService";
const DATABASE_PASSWORD = "Db-Passw0rd-Never-Shown";

function workspace(): Workspace {
    return new Workspace(fs.mkdtempSync(path.join(os.tmpdir(), "emulator-examples-")));
}

/** The component's children in a preview, by type and name. */
function children(preview: RunResult): string[] {
    const component = preview.steps.find(s => s.type === COMPONENT)!;
    return preview.steps.filter(s => s.new?.parent === component.urn).map(s => `${s.type}::${s.urn.split("::").pop()}`).sort();
}

function assertCleanPreview(preview: RunResult, secrets: string[]): void {
    assert.ok(preview.steps.every(s => s.op === "create"), preview.text);
    assert.ok(preview.steps.some(s => s.type === COMPONENT), preview.text);
    assert.deepEqual(preview.diagnostics.filter(d => d.severity === "error" || d.severity === "warning"), []);
    for (const secret of secrets) assert.ok(!preview.text.includes(secret), `the preview shows ${secret}`);
}

describe("engine emulator: every example previews with its documented config", function () {
    this.timeout(240_000);

    it("quickstart (type-checked, run from Pulumi.yaml main: quickstart/)", async () => {
        const stack = workspace().stack(REPOSITORY, "dev");
        stack.configSet("creatioVersion", "8.2.3");
        stack.configSet("identityServiceFolder", IDENTITY_SERVICE_FOLDER);
        stack.configSet("signingCertificatePath", SIGNING_CERTIFICATE);
        stack.configSet("connectionString", `Server=db;Port=5432;Database=creatio;User ID=creatio;Password=${DATABASE_PASSWORD};`, { secret: true });
        const preview = await stack.preview();
        assertCleanPreview(preview, [DATABASE_PASSWORD]);
        assert.deepEqual(children(preview), [
            "command:local:Command::identity-service-client-reseed",
            "command:local:Command::identity-service-client-retire",
            "command:local:Command::identity-service-readiness",
            "docker:index/container:Container::identity-service-container",
            "docker:index/image:Image::identity-service-image",
            "random:index/randomPassword:RandomPassword::identity-service-client-secret",
            "random:index/randomString:RandomString::identity-service-client-id",
        ]);
        // Nothing exists yet: the image is not built at preview, so the container's image is unknown.
        const container = preview.steps.find(s => s.type === "docker:index/container:Container")!;
        assert.equal(container.new!.inputs.image, UNKNOWN);
        // The uploads hold the settings file, which waits for the generated credentials. An unknown prints as [unknown]
        // (object_diff.go:972-973 @ v3.248.0), a secret one too: the SDK sends an unknown Output as the bare unknown
        // value, secret or not.
        assert.match(preview.text, /uploads *: \[unknown\]/);
        // The environment holds nothing secret and nothing that waits: it shows in the preview as it is.
        assert.match(preview.text, /envs *: \[\n *\[0\]: "ASPNETCORE_URLS=http:\/\/\+:80"\n *\[1\]: "ASPNETCORE_ENVIRONMENT=Production"\n *\]/);
        // One kind of change: no "N changes" total (diff.go:303-309).
        assert.match(preview.text, /Resources:\n {4}\+ 9 to create$/);
    });

    it("examples/docker-postgres", async () => {
        const stack = workspace().stack(installedExample("docker-postgres"), "dev");
        stack.configSet("identityServiceFolder", IDENTITY_SERVICE_FOLDER);
        stack.configSet("signingCertificatePath", SIGNING_CERTIFICATE);
        stack.configSet("creatioUrl", "https://creatio.example.com");
        const preview = await stack.preview(TRANSPILE_ONLY);
        assertCleanPreview(preview, []);
        assert.ok(children(preview).includes("command:local:Command::identity-service-client-reseed"), "re-seeding through the published port");
        assert.deepEqual(preview.steps.filter(s => !s.new?.parent?.includes(COMPONENT) && s.type.startsWith("docker:")).map(s => s.urn.split("::").pop()),
            ["creatio", "postgres", "postgres"]);
    });

    it("examples/composed (an explicit Docker provider for a remote host)", async () => {
        const stack = workspace().stack(installedExample("composed"), "dev");
        stack.configSet("dockerHost", "ssh://deploy@creatio-apps.example.com");
        stack.configSet("publicHostname", "creatio-apps.example.com");
        stack.configSet("creatioUrl", "https://creatio.example.com");
        stack.configSet("identityServiceFolder", IDENTITY_SERVICE_FOLDER);
        stack.configSet("signingCertificatePath", SIGNING_CERTIFICATE);
        const preview = await stack.preview(TRANSPILE_ONLY);
        assertCleanPreview(preview, []);
        const provider = preview.steps.find(s => s.type === "pulumi:providers:docker")!;
        assert.equal(provider.new!.inputs.host, "ssh://deploy@creatio-apps.example.com");
        // Every Docker resource, the component's included, goes to the explicit provider, none to a default one.
        const dockerResources = preview.steps.filter(s => s.type.startsWith("docker:"));
        assert.ok(dockerResources.length >= 4);
        for (const step of dockerResources) assert.match(step.new!.provider!, /::pulumi:providers:docker::apps-host::/, step.urn);
    });

    it("examples/iis-ssh (remote commands; the SSH key, connection string and PFX password stay secret)", async () => {
        const program = installedExample("iis-ssh");
        const key = path.join(path.dirname(program), "id_ed25519");
        const keyMaterial = "-----BEGIN OPENSSH PRIVATE KEY-----\nemulator-test-key-material\n-----END OPENSSH PRIVATE KEY-----\n";
        fs.writeFileSync(key, keyMaterial, { mode: 0o600 });
        const stack = workspace().stack(program, "dev");
        stack.configSet("host", "creatio-app01.example.com");
        stack.configSet("privateKeyPath", key);
        stack.configSet("hostKey", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEmulatorTestHostKey");
        stack.configSet("connectionString", `Data Source=sql01;Initial Catalog=creatio;User Id=creatio;Password=${DATABASE_PASSWORD}`, { secret: true });
        // A PFX with a password (the program opens it with the password and sends it on without one).
        stack.configSet("signingCertificatePath", path.join(path.dirname(SIGNING_CERTIFICATE), "tls.pfx"));
        stack.configSet("signingCertificatePassword", "tls-test-password", { secret: true });
        stack.configSet("creatioUrl", "https://creatio.example.com");
        stack.configSet("creatioVersion", "8.2.3");
        stack.configSet("httpsCertificateThumbprint", "0123456789ABCDEF0123456789ABCDEF01234567");
        const preview = await stack.preview(TRANSPILE_ONLY);
        assertCleanPreview(preview, [DATABASE_PASSWORD, "tls-test-password", "emulator-test-key-material"]);
        const steps = preview.steps.filter(s => s.type === "command:remote:Command");
        assert.ok(steps.length >= 5, `${steps.length} remote commands`);
        assert.match(preview.text, /connection *: \[secret\]/);
    });
});
