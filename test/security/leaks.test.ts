import "../support/mocks";
import { strict as assert } from "assert";
import { IdentityService } from "../../src";
import { captureRegistrations, countStrings, findLeaks } from "../support/leaks";
import { resetMocks, valueOf } from "../support/mocks";
import { ALL_VARIANTS, Scenario, scenarios } from "./scenarios";

/** Builds a scenario's program and returns what the engine would have stored. */
async function build(scenario: Scenario, name = "leak") {
    resetMocks();
    const captured = captureRegistrations();
    const service = new IdentityService(name, scenario.args);
    const secrets = { ...scenario.secrets, generatedClientSecret: await valueOf(service.clientSecret) };
    await valueOf(service.creatioSystemSettings);
    await new Promise(resolve => setTimeout(resolve, 20));
    return { captured, secrets };
}

const matrix = scenarios(ALL_VARIANTS);

describe("secret-leak scan", () => {
    let valuesChecked = 0;
    let stringsScanned = 0;

    for (const scenario of matrix) {
        it(`finds no secret outside a Pulumi secret: ${scenario.title}`, async () => {
            const { captured, secrets } = await build(scenario);
            assert.ok(captured.some(c => c.kind === "outputs"), "the component's outputs were captured");
            const leaks = findLeaks(captured, secrets);
            assert.deepEqual(leaks, []);
            valuesChecked += Object.keys(secrets).length;
            stringsScanned += countStrings(captured);
        });
    }

    it("detects a planted leak, so the scan is not vacuous", async () => {
        const scenario = matrix[0];
        const planted: Scenario = {
            ...scenario,
            args: { ...scenario.args, client: { ...scenario.args.client, name: `name ${scenario.secrets.connectionString}` } },
        };
        const { captured, secrets } = await build(planted, "planted");
        const leaks = findLeaks(captured, secrets);
        assert.ok(leaks.some(l => l.secretLabel === "connectionString" && l.where.startsWith("outputs")), JSON.stringify(leaks));
    });

    after(() => {
        console.log(`      secret-leak scan: ${matrix.length} scenarios, ${valuesChecked} secret values checked in ${stringsScanned} stored strings, 0 leaks`);
    });
});
