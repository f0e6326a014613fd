import { strict as assert } from "assert";
import { maskSecret, propertyPath } from "../src/validation";

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
