/**
 * Mocha root hook: every fast-check property runs from one seed, printed at the start, so that a failure can be
 * replayed with `FAST_CHECK_SEED=<seed> npm test`. The default seed is fixed, so CI and every `npm test` run the same
 * cases; `FAST_CHECK_SEED=random` (`npm run test:explore`) draws a new seed to explore further.
 */
import fc from "fast-check";

/** The seed `npm test` uses when FAST_CHECK_SEED is not set. */
export const DEFAULT_SEED = 20261129;

/** The seed for this run, from FAST_CHECK_SEED: an integer, `random`, or unset for the default. */
export function seedFromEnvironment(value: string | undefined): number {
    if (value === undefined || value.trim() === "") {
        return DEFAULT_SEED;
    }
    if (value.trim() === "random") {
        return (Date.now() ^ (Math.random() * 0x100000000)) | 0;
    }
    const seed = Number(value);
    if (!Number.isInteger(seed) || seed < -0x80000000 || seed > 0xffffffff) {
        throw new Error(`FAST_CHECK_SEED: ${JSON.stringify(value)} is not a seed; give a 32-bit integer, or "random"`);
    }
    return seed | 0;
}

export const mochaHooks = {
    beforeAll(): void {
        const seed = seedFromEnvironment(process.env.FAST_CHECK_SEED);
        fc.configureGlobal({ ...fc.readConfigureGlobal(), seed });
        process.env.FAST_CHECK_SEED = String(seed); // a drawn seed stays the one this run printed
        console.log(`fast-check seed ${seed} (replay with FAST_CHECK_SEED=${seed})`);
    },
};
