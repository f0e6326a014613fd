import "../support/mocks";
import { strict as assert } from "assert";
import { IdentityService } from "../../src";
import { captureRegistrations, Captured } from "../support/leaks";
import { resetMocks, valueOf } from "../support/mocks";
import { ALL_VARIANTS, Scenario, scenarios } from "./scenarios";

/** Runs a scenario's program once and returns its serialized registrations, in registration order. */
async function serialized(scenario: Scenario): Promise<string> {
    resetMocks();
    const captured: Captured[] = captureRegistrations();
    const service = new IdentityService("same", scenario.args);
    await valueOf(service.creatioSystemSettings);
    await new Promise(resolve => setTimeout(resolve, 20));
    // Registration order may interleave across independent branches; the stored state is per resource.
    return JSON.stringify([...captured].sort((a, b) => `${a.kind}${a.type}${a.name}`.localeCompare(`${b.kind}${b.type}${b.name}`)));
}

const matrix = scenarios(ALL_VARIANTS);

describe("determinism", () => {
    let differences = 0;

    for (const scenario of matrix) {
        it(`constructs byte-identical inputs twice: ${scenario.title}`, async () => {
            const first = await serialized(scenario);
            const second = await serialized(scenario);
            if (first !== second) {
                differences++;
            }
            assert.equal(second, first);
        });
    }

    after(() => console.log(`      determinism: ${matrix.length} scenarios built twice, ${differences} differences`));
});
