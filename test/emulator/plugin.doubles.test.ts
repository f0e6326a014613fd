// Tests of the engine emulator's multi-language path against the engine's own rules (not of the package): the
// Construct inputs as the engine forwards them, a failed Construct as the engine reports it (Go's %v of a property
// value, the event emitter's secret filter), and a YAML program's component through preview, up, a second run and
// destroy with a Docker-free fixture package.
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as grpc from "@grpc/grpc-js";
import { constructFailure, engineConstructInputs, filterSecureValues, goPropertyValue } from "./plugin";
import { RunResult, Stack, Workspace } from "./stack";
import { isSecret, OUTPUT_VALUE_SIG, reveal, SECRET_SIG, SIG_KEY, UNKNOWN } from "./values";

const COMPONENT = "creatio-identity-service:index:IdentityService";

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

/** A failed call as the Node.js provider server answers an InputPropertiesError (provider/server.js buildInvalidPropertiesError). */
function invalidProperties(message: string, errors: { propertyPath: string; reason: string }[]): grpc.ServiceError {
    /* eslint-disable @typescript-eslint/no-require-imports */
    const statusPb = require("@pulumi/pulumi/proto/status_pb");
    const errorsPb = require("@pulumi/pulumi/proto/errors_pb");
    const anyPb = require("google-protobuf/google/protobuf/any_pb");
    /* eslint-enable @typescript-eslint/no-require-imports */
    const details = new errorsPb.InputPropertiesError();
    for (const entry of errors) {
        const error = new errorsPb.InputPropertiesError.PropertyError();
        error.setPropertyPath(entry.propertyPath);
        error.setReason(entry.reason);
        details.addErrors(error);
    }
    const any = new anyPb.Any();
    any.pack(details.serializeBinary(), "pulumirpc.InputPropertiesError");
    const status = new statusPb.Status();
    status.setCode(grpc.status.INVALID_ARGUMENT);
    status.setMessage(message);
    status.addDetails(any);
    const metadata = new grpc.Metadata();
    metadata.add("grpc-status-details-bin", Buffer.from(status.serializeBinary()));
    return Object.assign(new Error(`3 INVALID_ARGUMENT: ${message}`), { code: grpc.status.INVALID_ARGUMENT, details: message, metadata });
}

describe("engine emulator: a failed Construct as the engine reports it", () => {
    it("prints property values as Go's %v prints a resource.PropertyValue", () => {
        assert.equal(goPropertyValue("abc"), "{abc}");
        assert.equal(goPropertyValue(8090), "{8090}");
        assert.equal(goPropertyValue(1234567), "{1.234567e+06}");
        assert.equal(goPropertyValue(0.00001), "{1e-05}");
        assert.equal(goPropertyValue(true), "{true}");
        assert.equal(goPropertyValue(null), "{<nil>}");
        assert.equal(goPropertyValue(["a", 1]), "{[{a} {1}]}");
        assert.equal(goPropertyValue({ b: "x", a: 2 }), "{map[a:{2} b:{x}]}");
        assert.equal(goPropertyValue({ [SIG_KEY]: SECRET_SIG, value: "s3cret" }), "{&{{s3cret}}}");
        assert.equal(goPropertyValue(UNKNOWN), "output<string>{}");
    });

    it("GetResourceInvalidError with errorToMessage: the status message, then each entry, with the value at its path", () => {
        const inputs = { docker: { httpPort: 70000 }, database: { connectionString: { [SIG_KEY]: SECRET_SIG, value: "Server=db;" } } };
        const error = invalidProperties("IdentityService \"ids\" has invalid arguments", [
            { propertyPath: "docker.httpPort", reason: "70000 is not a TCP port" },
            { propertyPath: "docker.missing", reason: "is required" },
            { propertyPath: "database.connectionString.inner", reason: "unreachable through a secret" },
        ]);
        assert.equal(constructFailure(COMPONENT, "ids", error, inputs),
            `${COMPONENT} resource 'ids' has a problem: IdentityService "ids" has invalid arguments` +
            "\n\t\t- property docker.httpPort with value '{70000}' has a problem: 70000 is not a TCP port" +
            "\n\t\t- property docker.missing has a problem: is required" +
            "\n\t\t- property database.connectionString.inner has a problem: unreachable through a secret");
        // A path that ends at a secret prints it: the engine's %v does not redact (hence the package names none).
        assert.match(constructFailure(COMPONENT, "ids", invalidProperties("bad", [{ propertyPath: "database.connectionString", reason: "r" }]), inputs),
            /with value '\{&\{\{Server=db;\}\}\}'/);
        // Without InputPropertiesError details (a plain error), the status message alone.
        const plain = Object.assign(new Error("2 UNKNOWN: boom"), { code: grpc.status.UNKNOWN, details: "boom", metadata: new grpc.Metadata() });
        assert.equal(constructFailure(COMPONENT, "ids", plain, inputs), `${COMPONENT} resource 'ids' has a problem: boom`);
    });

    it("filters secret configuration values out of diagnostics as the engine's event emitter does", () => {
        assert.equal(filterSecureValues('value {&{{pa"ss}}} and "pa\\"ss" and true', ['pa"ss', "ab", "true"]), 'value {&{{[secret]}}} and "[secret]" and true');
    });
});

describe("engine emulator: a YAML program's component through preview, up, a second run and destroy (no Docker)", function () {
    // test/emulator/fixtures/component-package: a source-based component package whose only child is a random
    // string, so that `up` runs here; it logs its process id, which tells each operation's plugin apart.
    this.timeout(240_000);
    const FIXTURES = path.join(__dirname, "fixtures");
    const TOKEN = "fixture-token-never-shown";
    const GREETING = "emulator-greeting:index:Greeting";
    let program: string;
    let stack: Stack;
    let firstPid: number;

    const pluginPid = (result: RunResult) => {
        const pids = result.diagnostics.map(d => /^plugin process (\d+)$/.exec(d.message)?.[1]).filter(pid => pid !== undefined);
        assert.equal(pids.length, 1, "one Construct, in one plugin");
        return Number(pids[0]);
    };
    const exited = (pid: number) => {
        try {
            process.kill(pid, 0);
            return false;
        } catch (error) {
            return (error as NodeJS.ErrnoException).code === "ESRCH";
        }
    };

    before(() => {
        // A copy of the program that finds the package by an absolute path, which the destroy test takes away.
        program = fs.mkdtempSync(path.join(os.tmpdir(), "emulator-yaml-component-"));
        const document = fs.readFileSync(path.join(FIXTURES, "yaml-component", "Pulumi.yaml"), "utf8");
        fs.writeFileSync(path.join(program, "Pulumi.yaml"), document.replace("emulator-greeting: ../component-package", `emulator-greeting: ${path.join(FIXTURES, "component-package")}`));
        stack = new Workspace(fs.mkdtempSync(path.join(os.tmpdir(), "emulator-yaml-component-state-"))).stack(program, "dev");
        stack.configSet("token", TOKEN, { secret: true });
    });

    it("preview Constructs as a dry run: the child's result, and the outputs built from it, are unknown", async () => {
        const preview = await stack.preview();
        assert.deepEqual(preview.steps.map(s => [s.type, s.op]), [
            ["pulumi:pulumi:Stack", "create"], [GREETING, "create"], ["pulumi:providers:random", "create"], ["random:index/randomString:RandomString", "create"],
        ]);
        const root = preview.state.find(r => r.type === "pulumi:pulumi:Stack")!;
        assert.equal(root.outputs.message, UNKNOWN);
        assert.ok(exited(pluginPid(preview)), "the plugin ends with the preview");
        assert.deepEqual(stack.state(), [], "a preview writes no checkpoint");
    });

    it("up Constructs for real: the child is created, the component's outputs reach the checkpoint, YAML outputs read the Construct response", async () => {
        const result = await stack.up();
        const suffix = result.state.find(r => r.type === "random:index/randomString:RandomString")!;
        assert.match(String(suffix.outputs.result), /^[A-Za-z0-9]{6}$/);
        const component = stack.state().find(r => r.type === GREETING)!;
        assert.equal(component.outputs.suffix, suffix.outputs.result);
        assert.equal(component.outputs.message, `Hello, ${suffix.outputs.result}`);
        assert.ok(isSecret(component.outputs.sealed), "the component's secret output stays secret in the checkpoint");
        const outputs = stack.outputs();
        assert.equal(outputs.message, `Hello, ${suffix.outputs.result}`);
        assert.ok(isSecret(outputs.sealed));
        assert.equal(reveal(outputs.sealed), `${TOKEN}-${suffix.outputs.result}`);
        assert.ok(!fs.readFileSync(stack.checkpointFile, "utf8").includes(TOKEN), "no secret in plain text in the checkpoint");
        firstPid = pluginPid(result);
        assert.ok(exited(firstPid), "the plugin ends with the update");
    });

    it("a second run: no changes, in a plugin of its own", async () => {
        const preview = await stack.preview();
        assert.match(preview.text, /Resources:\n {4}\d+ unchanged$/);
        const result = await stack.up();
        assert.ok(result.steps.every(s => s.op === "same"), result.text);
        const pid = pluginPid(result);
        assert.notEqual(pid, firstPid);
        assert.ok(exited(pid));
    });

    it("destroy runs no program: no plugin starts (the package may be gone) and the checkpoint empties", async () => {
        fs.writeFileSync(path.join(program, "Pulumi.yaml"), fs.readFileSync(path.join(program, "Pulumi.yaml"), "utf8")
            .replace(/emulator-greeting: .*/, `emulator-greeting: ${path.join(program, "no-such-package")}`));
        const result = await stack.destroy();
        assert.deepEqual(result.steps.map(s => s.type).sort(), [GREETING, "pulumi:providers:random", "pulumi:pulumi:Stack", "random:index/randomString:RandomString"].sort());
        assert.ok(result.steps.every(s => s.op === "delete"));
        assert.deepEqual(stack.state(), []);
    });
});
