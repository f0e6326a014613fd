// The readiness gate's settings and environment, as plain data: no engine, no mocks.
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { readinessEnvironment, readinessSettings } from "../src/readiness";
import { ArgumentCheck } from "../src/validation";

const CA_PEM = fs.readFileSync(path.join(__dirname, "fixtures", "certificates", "generated-certificate.pem"), "utf8");
const TARGET = { url: "https://ids.example.com:8443", clientId: "ClientId00000001", clientSecret: "s", revision: "r" };

function problems(check: ArgumentCheck): string {
    try {
        check.throwIfAny();
        return "";
    } catch (error) {
        return (error as Error).message;
    }
}

describe("readiness settings", () => {
    it("passes a CA certificate to the gate as READINESS_CA_CERTIFICATE, and nothing when none is given", () => {
        const check = new ArgumentCheck("ids");
        const withCa = readinessSettings({ caCertificate: CA_PEM }, check);
        assert.equal(problems(check), "");
        assert.equal(readinessEnvironment(TARGET, withCa).READINESS_CA_CERTIFICATE, CA_PEM);
        const without = readinessSettings(undefined, check);
        assert.equal("READINESS_CA_CERTIFICATE" in readinessEnvironment(TARGET, without), false);
    });

    it("refuses a CA certificate that is not PEM, or whose PEM block is not a certificate, naming the field and the fix", () => {
        for (const [value, expected] of [
            ["/etc/ssl/ca.pem", /readiness\.caCertificate: the value is not a PEM certificate; give the CA certificate's text/],
            ["-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----", /readiness\.caCertificate: the value holds a certificate that cannot be read \(.+\); give the CA certificate as PEM/],
        ] as const) {
            const check = new ArgumentCheck("ids");
            readinessSettings({ caCertificate: value }, check);
            assert.match(problems(check), expected);
        }
    });
});
