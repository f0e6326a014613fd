import { strict as assert } from "assert";
import { execFile } from "child_process";
import * as fs from "fs";
import * as os from "os";
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
            'bad.target: "kubernetes" is not one of docker, iis, swarm',
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

    it("every example's README gives the steps from a fresh clone: installing, a stack, the signing certificate", () => {
        const readme = fs.readFileSync(path.join(root, "README.md"), "utf8");
        assert.match(readme, /^### Signing certificate$/m);
        for (const example of fs.readdirSync(path.join(root, "examples"))) {
            const dir = path.join(root, "examples", example);
            const text = fs.readFileSync(path.join(dir, "README.md"), "utf8");
            assert.match(text, /^pulumi stack init /m, `${example}/README.md creates a stack`);
            assert.match(text, /\(\.\.\/\.\.\/README\.md#signing-certificate\)/, `${example}/README.md says how to make the signing certificate`);
            if (parse(fs.readFileSync(path.join(dir, "Pulumi.yaml"), "utf8")).runtime === "nodejs") {
                assert.match(text, /^\(cd \.\.\/\.\. && npm ci\)/m, `${example}/README.md installs (and builds) the package in the repository root first`);
                assert.match(text, /^npm install /m, `${example}/README.md installs the program's dependencies`);
            }
        }
        const quickstart = readme.slice(readme.indexOf("## Quickstart"), readme.indexOf("### Signing certificate"));
        for (const step of [/^npm ci /m, /^pulumi stack init /m, /^pulumi up$/m]) {
            assert.match(quickstart, step);
        }
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

/** Where Pulumi runs a program: the `main` folder of its Pulumi.yaml (or the project folder), as the engine does. */
function programFolder(projectFolder: string): { folder: string; project: string } {
    const project = parse(fs.readFileSync(path.join(projectFolder, "Pulumi.yaml"), "utf8"));
    const main = project.main ? path.join(projectFolder, project.main) : projectFolder;
    return { folder: fs.statSync(main).isDirectory() ? main : path.dirname(main), project: project.name };
}

interface ProgramRun {
    cwd: string;
    exitCode: number;
    registered: Array<{ type: string; name: string; inputs: Record<string, any> }>;
    output: string;
}

/**
 * Runs a program as `pulumi up` does, through the SDK's own cmd/run under mocks (test/support/runProgram.js), with
 * its config in PULUMI_CONFIG as the CLI passes it: every key `<project>:<key>`, secret keys listed apart.
 */
function runProgram(projectFolder: string, config: Record<string, string>, secrets: string[] = []): Promise<ProgramRun> {
    const { folder, project } = programFolder(projectFolder);
    const resultFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "program-run-")), "result.json");
    const key = (name: string) => `${project}:${name}`;
    const env = {
        ...process.env,
        PULUMI_CONFIG: JSON.stringify(Object.fromEntries(Object.entries(config).map(([name, value]) => [key(name), value]))),
        PULUMI_CONFIG_SECRET_KEYS: JSON.stringify(secrets.map(key)),
        // Type checking is `npm run typecheck`'s (tsconfig.check.json covers every program); here only loading counts.
        PULUMI_NODEJS_TRANSPILE_ONLY: "true",
    };
    return new Promise(resolve => {
        execFile(process.execPath, [path.join(root, "test", "support", "runProgram.js"), folder, resultFile, project, "dev", projectFolder], { env }, (_error, stdout, stderr) => {
            const result = fs.existsSync(resultFile) ? JSON.parse(fs.readFileSync(resultFile, "utf8")) : { cwd: "", exitCode: -1, registered: [] };
            fs.rmSync(path.dirname(resultFile), { recursive: true, force: true });
            resolve({ ...result, output: `${stdout}${stderr}` });
        });
    });
}

function resourcesOf(run: ProgramRun): string[] {
    assert.equal(run.exitCode, 0, `the program failed:\n${run.output}`);
    return run.registered.map(r => `${r.type} ${r.name}`).sort();
}

const IDENTITY_SERVICE_DOCKER = [
    "creatio-identity-service:index:IdentityService identity-service",
    "random:index/randomString:RandomString identity-service-client-id",
    "random:index/randomPassword:RandomPassword identity-service-client-secret",
    "docker:index/image:Image identity-service-image",
    "command:local:Command identity-service-client-reseed",
    "command:local:Command identity-service-client-retire",
    "docker:index/container:Container identity-service-container",
    "command:local:Command identity-service-readiness",
];

describe("programs run where and as Pulumi runs them (SDK cmd/run under mocks)", function () {
    this.timeout(180000);
    const fixtures = path.join(root, "test", "fixtures");
    let privateKeyFile: string;
    before(() => {
        assert.ok(fs.existsSync(path.join(root, "bin", "index.js")), "the examples load the built package: run `npm run build` first");
        privateKeyFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "program-key-")), "id_ed25519");
        fs.writeFileSync(privateKeyFile, "-----BEGIN OPENSSH PRIVATE KEY-----\ntest key, never used to connect\n-----END OPENSSH PRIVATE KEY-----\n");
    });
    after(() => fs.rmSync(path.dirname(privateKeyFile), { recursive: true, force: true }));

    it("the quickstart (root Pulumi.yaml, main: quickstart/) runs in quickstart/ and deploys the service, with paths relative to that folder", async () => {
        const run = await runProgram(root, {
            creatioVersion: "8.2.3",
            // Relative to the program's working directory: quickstart/.
            identityServiceFolder: "../test/fixtures/identity-service",
            signingCertificatePath: "../test/fixtures/certificates/signing.pfx",
            connectionString: "Server=db;Port=5432;Database=creatio;User ID=creatio;Password=secret;",
        }, ["connectionString"]);
        assert.equal(run.cwd, path.join(root, "quickstart"));
        assert.deepEqual(resourcesOf(run), ["pulumi:pulumi:Stack creatio-identity-service-quickstart-dev", ...IDENTITY_SERVICE_DOCKER].sort());
        const image = run.registered.find(r => r.name === "identity-service-image")!;
        // As the Docker provider receives it: relative to the working directory it shares with the program.
        assert.equal(image.inputs.build.context, "../test/fixtures/identity-service");
        assert.ok(fs.existsSync(path.join(run.cwd, image.inputs.build.context, "Dockerfile-OAuth")));
    });

    it("examples/docker-postgres: the service next to its PostgreSQL container on a private network, with a generated signing certificate", async () => {
        const run = await runProgram(path.join(root, "examples", "docker-postgres"), {
            identityServiceFolder: "../../test/fixtures/identity-service",
        });
        assert.equal(run.cwd, path.join(root, "examples", "docker-postgres"));
        assert.deepEqual(resourcesOf(run), [
            "pulumi:pulumi:Stack identity-service-docker-postgres-dev",
            "docker:index/network:Network creatio",
            "docker:index/remoteImage:RemoteImage postgres",
            "random:index/randomPassword:RandomPassword postgres-password",
            "docker:index/container:Container postgres",
            ...IDENTITY_SERVICE_DOCKER,
            "tls:index/privateKey:PrivateKey identity-service-signing-key",
            "tls:index/selfSignedCert:SelfSignedCert identity-service-signing-certificate",
        ].sort());
    });

    it("examples/swarm: three replicas, the secrets as Docker secrets, and a Redis service of the component", async () => {
        const run = await runProgram(path.join(root, "examples", "swarm"), {
            image: "registry.example.com/creatio-identity-service:8.2.3",
            connectionString: "Server=db;Database=creatio;User ID=u;Password=p;Maximum Pool Size=30;",
            maxDatabaseConnections: "150",
        }, ["connectionString"]);
        const types = resourcesOf(run).filter(line => line.startsWith("docker:"));
        assert.deepEqual(types, [
            "docker:index/network:Network identity-service-network",
            "docker:index/secret:Secret identity-service-settings",
            "docker:index/secret:Secret identity-service-signing-pfx",
            "docker:index/service:Service identity-service-redis",
            "docker:index/service:Service identity-service-service",
        ].sort());
        const service = run.registered.find(r => r.name === "identity-service-service")!;
        assert.deepEqual(service.inputs.mode, { replicated: { replicas: 3 } });
        assert.ok(!JSON.stringify(service.inputs).includes("Password=p"), "no connection string in the service spec");
    });

    it("examples/swarm with an HTTPS certificate of a private CA: the certificate as a Docker secret, the HTTPS port published, the gate trusting the CA", async () => {
        const run = await runProgram(path.join(root, "examples", "swarm"), {
            image: "registry.example.com/creatio-identity-service:8.2.3",
            connectionString: "Server=db;Database=creatio;User ID=u;Password=p;Maximum Pool Size=30;",
            httpsCertificate: path.join(fixtures, "certificates", "tls.pfx"),
            httpsCertificatePassword: "tls-test-password",
            caCertificateFile: path.join(fixtures, "certificates", "generated-certificate.pem"),
        }, ["connectionString", "httpsCertificatePassword"]);
        assert.ok(resourcesOf(run).includes("docker:index/secret:Secret identity-service-tls-pfx"), resourcesOf(run).join("\n"));
        const service = run.registered.find(r => r.name === "identity-service-service")!;
        assert.deepEqual(service.inputs.endpointSpec.ports.map((port: { publishedPort: number }) => port.publishedPort), [8090, 8443]);
        assert.ok(!JSON.stringify(service.inputs).includes("tls-test-password"), "no certificate password in the service spec");
        const gate = run.registered.find(r => r.name === "identity-service-readiness")!;
        assert.equal(gate.inputs.environment.IDENTITY_SERVICE_URL, "https://localhost:8443");
        assert.match(gate.inputs.environment.READINESS_CA_CERTIFICATE, /^-----BEGIN CERTIFICATE-----/);
    });

    it("examples/composed: the component inside a larger program, on a remote Docker host's provider", async () => {
        const run = await runProgram(path.join(root, "examples", "composed"), {
            dockerHost: "ssh://deploy@creatio-apps.example.com",
            publicHostname: "creatio-apps.example.com",
            creatioUrl: "https://creatio.example.com",
            identityServiceFolder: path.join(fixtures, "identity-service"),
            signingCertificatePath: path.join(fixtures, "certificates", "signing.pfx"),
        });
        assert.deepEqual(resourcesOf(run), [
            "pulumi:pulumi:Stack creatio-platform-dev",
            "pulumi:providers:docker apps-host",
            "creatio-platform:index:IdentityDatabase identity-db",
            "docker:index/network:Network creatio-private",
            "docker:index/remoteImage:RemoteImage identity-db-image",
            "random:index/randomPassword:RandomPassword identity-db-password",
            "docker:index/container:Container identity-db-container",
            ...IDENTITY_SERVICE_DOCKER,
        ].sort());
        // The program's transform reached the container the component created, and only it.
        const container = run.registered.find(r => r.name === "identity-service-container")!;
        assert.equal(container.inputs.memory, 512);
        assert.deepEqual([container.inputs.logDriver, container.inputs.logOpts], ["json-file", { "max-size": "10m", "max-file": "3" }]);
        assert.equal(run.registered.find(r => r.name === "identity-db-container")!.inputs.memory, undefined);
        assert.ok(container.inputs.envs.includes("TZ=Europe/Berlin"));
    });

    it("examples/iis-ssh: the six IIS steps and the readiness gate over SSH, re-seeding from this machine", async () => {
        const run = await runProgram(path.join(root, "examples", "iis-ssh"), {
            host: "creatio-app01.example.com",
            connectionString: "Server=sql;Database=creatio;User ID=identity;Password=secret;",
            signingCertificatePath: "../../test/fixtures/certificates/signing.pfx",
            privateKeyPath: privateKeyFile,
        }, ["connectionString"]);
        assert.deepEqual(resourcesOf(run), [
            "pulumi:pulumi:Stack identity-service-iis-ssh-dev",
            "creatio-identity-service:index:IdentityService identity-service",
            "random:index/randomString:RandomString identity-service-client-id",
            "random:index/randomPassword:RandomPassword identity-service-client-secret",
            ...["prerequisites", "scripts", "install", "app-pool", "site", "configuration"].map(step => `command:remote:Command identity-service-iis-${step}`),
            "command:local:Command identity-service-client-reseed",
            "command:local:Command identity-service-client-retire",
            "command:remote:Command identity-service-readiness",
        ].sort());
    });

    it("examples/creatio-connection: the service, then Creatio connected after the readiness gate", async () => {
        const run = await runProgram(path.join(root, "examples", "creatio-connection"), {
            creatioVersion: "8.2.3",
            creatioRuntime: "netFramework",
            creatioUrl: "https://creatio.example.com",
            creatioPassword: "Supervisor-password",
            databaseConnectionString: "Server=db;Port=5432;Database=creatio;User ID=creatio;Password=secret;",
            identityServiceFolder: "../../test/fixtures/identity-service",
            signingCertificatePath: "../../test/fixtures/certificates/signing.pfx",
            identityServicePublicUrl: "http://ids.internal:8090",
        }, ["creatioPassword", "databaseConnectionString"]);
        assert.deepEqual(resourcesOf(run), [
            "pulumi:pulumi:Stack identity-service-creatio-connection-dev",
            ...IDENTITY_SERVICE_DOCKER,
            "creatio-identity-service:index:CreatioOAuthConnection identity-service-creatio",
            "command:local:Command identity-service-creatio-connection",
        ].sort());
        const connection = run.registered.find(r => r.name === "identity-service-creatio-connection")!;
        assert.equal(connection.inputs.environment.IDENTITY_SERVICE_URL, "http://ids.internal:8090");
        assert.equal(connection.inputs.environment.CREATIO_STEPS, "settings,feature,defaultResource,healthCheck");
    });

    it("examples/behind-proxy: nginx terminating TLS in front of the service, which is told so, and whose gate checks the issuer", async () => {
        const certificates = path.join(fixtures, "certificates");
        const run = await runProgram(path.join(root, "examples", "behind-proxy"), {
            identityServiceFolder: "../../test/fixtures/identity-service",
            connectionString: "Server=db;Port=5432;Database=creatio;User ID=creatio;Password=secret;",
            publicHostname: "ids.example.com",
            tlsCertificate: fs.readFileSync(path.join(certificates, "generated-certificate.pem"), "utf8"),
            tlsKey: fs.readFileSync(path.join(certificates, "generated-key.pem"), "utf8"),
        }, ["connectionString", "tlsKey"]);
        assert.deepEqual(resourcesOf(run), [
            "pulumi:pulumi:Stack identity-service-behind-proxy-dev",
            "docker:index/network:Network identity",
            ...IDENTITY_SERVICE_DOCKER,
            "tls:index/privateKey:PrivateKey identity-service-signing-key",
            "tls:index/selfSignedCert:SelfSignedCert identity-service-signing-certificate",
            "docker:index/remoteImage:RemoteImage proxy",
            "docker:index/container:Container proxy",
        ].sort());
        const unwrap = (value: any) => (value && value["4dabf18193072939515e22adb298388d"] ? value.value : value);
        const environment: string[] = unwrap(run.registered.find(r => r.name === "identity-service-container")!.inputs.envs);
        assert.ok(environment.includes("ASPNETCORE_FORWARDEDHEADERS_ENABLED=true"), environment.join("\n"));
        // The service's settings reach it in the uploaded settings file, not the environment.
        const containerUploads: Array<{ file: string; content: unknown }> = unwrap(run.registered.find(r => r.name === "identity-service-container")!.inputs.uploads);
        const settingsFile = JSON.parse(String(unwrap(containerUploads.find(upload => upload.file === "/app/appsettings.Production.json")!.content)));
        assert.equal(settingsFile.ForceHttpsSchemeInRequests, true);
        const gate = run.registered.find(r => r.name === "identity-service-readiness")!.inputs.environment;
        assert.deepEqual([gate.IDENTITY_SERVICE_URL, gate.IDENTITY_SERVICE_PUBLIC_URL], ["http://localhost:8090", "https://ids.example.com"]);
        const uploads: Array<{ file: string; content: unknown }> = unwrap(run.registered.find(r => r.name === "proxy" && r.type === "docker:index/container:Container")!.inputs.uploads);
        const configuration = String(uploads.find(upload => upload.file === "/etc/nginx/conf.d/default.conf")!.content);
        assert.match(configuration, /proxy_set_header Host \$http_host;/);
        assert.match(configuration, /proxy_set_header X-Forwarded-Proto \$scheme;/);
        assert.match(configuration, /set \$upstream http:\/\/identity-service:80;/);
    });

    it("every Node.js program is covered here", () => {
        const nodePrograms = fs.readdirSync(path.join(root, "examples")).filter(example => parse(fs.readFileSync(path.join(root, "examples", example, "Pulumi.yaml"), "utf8")).runtime === "nodejs");
        assert.deepEqual(nodePrograms.sort(), ["behind-proxy", "composed", "creatio-connection", "docker-postgres", "iis-ssh", "swarm"]);
        // Pulumi takes the entry point from the nearest package.json and compiles with the tsconfig.json of the folder
        // it runs the program in; without one, ts-node falls back to settings under which directory imports fail.
        for (const folder of [...nodePrograms.map(example => path.join(root, "examples", example)), programFolder(root).folder]) {
            const packageJson = JSON.parse(fs.readFileSync(path.join(folder, "package.json"), "utf8"));
            assert.ok(fs.existsSync(path.join(folder, packageJson.main)), `${path.relative(root, folder)}/package.json names its entry point`);
            assert.ok(fs.existsSync(path.join(folder, "tsconfig.json")), `${path.relative(root, folder)}/tsconfig.json`);
        }
    });
});
