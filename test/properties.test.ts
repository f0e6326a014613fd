import { strict as assert } from "assert";
import fc from "fast-check";
import { DatabaseProvider, LogLevel } from "../src/args";
import { JsonValue, renderClients, renderSettings, renderSettingsFile, toAppSettingsPatch } from "../src/configuration";
import { flattenSetting } from "../src/escapeHatches";
import { containerEnvironment, containerSettings, environmentEntries } from "../src/targets/docker";
import { resolveVersion, VersionProfile } from "../src/versions";
import { DEFAULT_SEED, seedFromEnvironment } from "./support/fastCheckSeed";

const RUNS = 300;

/** Strings with the characters that break naive quoting: quotes, $, backticks, %, ;, &, |, newlines, NUL, non-ASCII. */
const hostile = fc.oneof(
    fc.string({ unit: "binary", maxLength: 80 }),
    fc.string({ unit: fc.constantFrom(..."'\"$`%;&|\n\r\t\u0000\\=:{}[]<>ü漢🙂 "), maxLength: 40 }),
    fc.string({ unit: "grapheme", minLength: 200, maxLength: 400 }),
);

const profile = resolveVersion("8.3.1") as VersionProfile;

const client = fc.record({
    id: hostile,
    name: hostile,
    secret: hostile,
    creatioUrl: fc.option(fc.webUrl(), { nil: undefined }),
    accessTokenLifetimeSeconds: fc.integer({ min: 1, max: 2592000 }),
    systemClient: fc.constant(profile.systemClient),
});

const settings = fc.record({
    provider: fc.constantFrom(DatabaseProvider.Postgres, DatabaseProvider.MsSqlServer),
    connectionString: hostile,
    client,
    signingCertificatePath: fc.option(hostile, { nil: undefined }),
    logLevel: fc.constantFrom(...Object.values(LogLevel)),
    redisConnection: fc.option(hostile, { nil: undefined }),
    forceHttpsSchemeInRequests: fc.option(fc.boolean(), { nil: undefined }),
    servedOverHttps: fc.boolean(),
});

describe("rendering properties (fast-check)", () => {
    it(`Clients round-trips through JSON.parse to the exact input (${RUNS} runs)`, () => {
        fc.assert(
            fc.property(client, c => {
                const [parsed] = JSON.parse(renderClients(c));
                assert.equal(parsed.ClientId, c.id);
                assert.equal(parsed.ClientName, c.name);
                assert.deepEqual(parsed.Secrets, [c.secret]);
                assert.equal(parsed.AccessTokenLifetime, c.accessTokenLifetimeSeconds);
            }),
            { numRuns: RUNS },
        );
    });

    it(`appsettings.json round-trips every setting to the exact input (${RUNS} runs)`, () => {
        fc.assert(
            fc.property(settings, s => {
                const rendered = renderSettings(profile, s);
                const file = JSON.parse(JSON.stringify(toAppSettingsPatch(rendered), null, 2));
                for (const { key, value } of rendered) {
                    const found = key.split(":").reduce((node: any, section) => node[section], file);
                    assert.deepEqual(found, value);
                }
                assert.equal(file.DatabaseConnectionString, s.connectionString);
                assert.equal(JSON.parse(file.Clients)[0].Secrets[0], s.client.secret);
            }),
            { numRuns: RUNS },
        );
    });

    it(`Docker: every setting round-trips through the settings file, and no value of it reaches the environment (${RUNS} runs)`, () => {
        const https = fc.option(fc.record({ port: fc.integer({ min: 1, max: 65535 }), certificatePassword: fc.option(hostile, { nil: undefined }) }), { nil: undefined });
        fc.assert(
            fc.property(settings, https, (s, tls) => {
                const rendered = containerSettings(renderSettings(profile, s), tls?.certificatePassword);
                const file = JSON.parse(renderSettingsFile(rendered));
                for (const { key, value } of rendered) {
                    assert.deepEqual(key.split(":").reduce((node: any, section) => node[section], file), value);
                }
                const environment = environmentEntries(containerEnvironment(tls && { port: tls.port }));
                for (const secret of [s.connectionString, s.client.secret, s.redisConnection, tls?.certificatePassword]) {
                    if (secret && secret.length >= 8) {
                        assert.ok(!environment.some(entry => entry.includes(secret)), "no secret in the environment");
                    }
                }
                for (const entry of environment) {
                    assert.match(entry.slice(0, entry.indexOf("=")), /^[A-Za-z_][A-Za-z0-9_]*$/, "names are valid environment names");
                }
            }),
            { numRuns: RUNS },
        );
    });

    it(`additionalSettings of any JSON reach the settings file with the exact value, next to the package's keys (${RUNS} runs)`, () => {
        const name = fc.stringMatching(/^[a-z_][a-z0-9_]{0,6}$/);
        const scalar = fc.oneof(hostile, fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.boolean(), fc.constant(null));
        const { value } = fc.letrec<{ value: JsonValue }>(tie => ({
            value: fc.oneof(
                { depthSize: "small" },
                scalar,
                fc.array(tie("value"), { maxLength: 3 }),
                fc.dictionary(name, tie("value"), { minKeys: 1, maxKeys: 3 }),
            ),
        }));
        const additional = fc.dictionary(name.map(n => `Extra${n}`), value, { minKeys: 1, maxKeys: 4 });
        fc.assert(
            fc.property(settings, additional, (s, extra) => {
                const flattened = Object.entries(extra).flatMap(([key, item]) => flattenSetting(key, item));
                const rendered = renderSettings(profile, { ...s, additionalSettings: flattened });
                const file = JSON.parse(renderSettingsFile(rendered));
                for (const { key, value: expected } of flattened) {
                    const found = key.split(":").reduce((node: any, section) => node?.[section], file);
                    assert.equal(JSON.stringify(found), JSON.stringify(expected), key);
                }
                assert.equal(file.DatabaseConnectionString, s.connectionString, "the package's keys stay");
            }),
            { numRuns: RUNS },
        );
    });
});

describe("fast-check seed", () => {
    it("every property of this run uses the seed the root hook printed: FAST_CHECK_SEED, else a fixed default", () => {
        assert.equal(fc.readConfigureGlobal().seed, seedFromEnvironment(process.env.FAST_CHECK_SEED));
    });

    it("reads FAST_CHECK_SEED: unset or empty is the fixed default, an integer is itself, random draws one, else an error", () => {
        assert.equal(seedFromEnvironment(undefined), DEFAULT_SEED);
        assert.equal(seedFromEnvironment(""), DEFAULT_SEED);
        assert.equal(seedFromEnvironment("1727444887"), 1727444887);
        assert.equal(seedFromEnvironment("-5"), -5);
        assert.ok(Number.isInteger(seedFromEnvironment("random")));
        assert.throws(() => seedFromEnvironment("abc"), /FAST_CHECK_SEED: "abc" is not a seed/);
        assert.throws(() => seedFromEnvironment("1.5"), /is not a seed/);
    });
});
