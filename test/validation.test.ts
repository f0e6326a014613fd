import { strict as assert } from "assert";
import * as pulumi from "@pulumi/pulumi";
import { ArgumentCheck, maskSecret, propertyPath } from "../src/validation";
import { valueOf } from "./support/mocks";

describe("argument check helpers", () => {
    it("turns a field as messages name it into a property path", () => {
        assert.equal(propertyPath("docker.httpPort"), "docker.httpPort");
        assert.equal(propertyPath("docker.containerName (default: the component name)"), "docker.containerName");
        assert.equal(propertyPath("iis.siteName (default: from the component name)"), "iis.siteName");
    });

    it("masks every rendering of a value that turned out to be secret", () => {
        const message = '"abcdefghij" is too short; abcdefghij again';
        assert.equal(maskSecret(message, "abcdefghij"), "(a secret value of 10 characters) is too short; (a secret value of 10 characters) again");
        assert.equal(maskSecret("70000 is not a TCP port", 70000), "(a secret value) is not a TCP port");
        assert.equal(maskSecret("must not be empty", ""), "must not be empty");
    });
});

describe("argument errors", () => {
    const port = (value: number) => (value > 0 && value < 65536 ? undefined : `${value} is not a TCP port`);
    const long = (value: string) => (value.length >= 8 ? undefined : "is too short");

    /** The error a late check fails with, once every value has resolved. */
    async function lateError(check: ArgumentCheck): Promise<pulumi.InputPropertiesError> {
        const failure = await valueOf(check.resolved()!).then(() => undefined, (error: unknown) => error);
        assert.ok(pulumi.InputPropertiesError.isInstance(failure), String(failure));
        return failure as pulumi.InputPropertiesError;
    }

    it("name every problem in the message, and give an entry of its own only to fields whose value may be printed", async () => {
        const check = new ArgumentCheck("ids");
        check.input("docker.httpPort", pulumi.output(70000), port);
        check.input("client.id", pulumi.secret("abc"), long);
        check.input("client.secret", pulumi.output("xyz"), long, { secret: true });
        const error = await lateError(check);
        assert.equal(error.message, 'IdentityService "ids" has invalid arguments:\n- docker.httpPort: 70000 is not a TCP port\n' +
            "- client.id: is too short\n- client.secret: is too short");
        // The engine prints the program's value beside each entry's path: a secret's stays out of them.
        assert.deepEqual(error.errors, [{ propertyPath: "docker.httpPort", reason: "70000 is not a TCP port" }]);
    });

    it("carry their message alone: no stack frames of the SDK's apply for colored util.inspect to choke on", async () => {
        const check = new ArgumentCheck("ids");
        check.input("docker.httpPort", pulumi.output(0), port);
        const error = await lateError(check);
        assert.equal(error.stack, `Error: ${error.message}`);
        const known = new ArgumentCheck("ids");
        known.fail("target", "is missing", { secret: true });
        assert.throws(() => known.throwIfAny(), (thrown: pulumi.InputPropertiesError) => {
            assert.equal(thrown.stack, `Error: ${thrown.message}`);
            assert.deepEqual(thrown.errors, []);
            return true;
        });
    });
});
