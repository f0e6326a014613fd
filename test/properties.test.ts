import { strict as assert } from "assert";
import fc from "fast-check";
import { DatabaseProvider, LogLevel } from "../src/args";
import { renderClients, renderSettings, toAppSettingsPatch } from "../src/configuration";
import { containerEnvironment } from "../src/targets/docker";
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

    it(`Docker env entries never split or merge (${RUNS} runs)`, () => {
        fc.assert(
            fc.property(settings, fc.option(fc.record({ port: fc.integer({ min: 1, max: 65535 }), certificatePassword: fc.option(hostile, { nil: undefined }) }), { nil: undefined }), (s, https) => {
                const rendered = renderSettings(profile, s);
                const env = containerEnvironment(rendered, https);
                const fromSettings = env.slice(env.length - rendered.length);
                assert.equal(fromSettings.length, rendered.length);
                rendered.forEach(({ key, value }, index) => {
                    const entry = fromSettings[index];
                    const separator = entry.indexOf("=");
                    assert.equal(entry.slice(0, separator), key.replace(/:/g, "__"));
                    assert.equal(entry.slice(separator + 1), String(value));
                });
                for (const entry of env) {
                    assert.match(entry.slice(0, entry.indexOf("=")), /^[A-Za-z_][A-Za-z0-9_]*$/, "names are valid environment names");
                }
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
