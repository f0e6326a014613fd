import "../support/mocks";
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { CreatioRuntime, DatabaseProvider, IdentityService, ReseedRunner } from "../../src";
import { encodePkcs12 } from "../../src/certificates";
import { captureRegistrations, countStrings, findLeaks } from "../support/leaks";
import { resetMocks, valueOf } from "../support/mocks";
import { ALL_VARIANTS, Scenario, scenarios } from "./scenarios";

/** Builds a scenario's program and returns what the engine would have stored. */
async function build(scenario: Scenario, name = "leak") {
    resetMocks();
    const captured = captureRegistrations();
    const service = new IdentityService(name, scenario.args);
    const secrets: Record<string, string> = { ...scenario.secrets, generatedClientSecret: await valueOf(service.clientSecret) };
    if (scenario.secrets.generatedSigningKey) {
        secrets.generatedSigningPfx = (await generatedPfx()).toString("base64").slice(200, 260);
    }
    await valueOf(service.creatioSystemSettings);
    if (service.creatioHealthCheck) {
        await valueOf(service.creatioHealthCheck);
    }
    await new Promise(resolve => setTimeout(resolve, 20));
    return { captured, secrets };
}

const certificates = path.join(__dirname, "..", "fixtures", "certificates");
let generatedPfxBytes: Promise<Buffer> | undefined;
/** The PFX the component encodes from the TLS double's key and certificate. */
function generatedPfx(): Promise<Buffer> {
    generatedPfxBytes ??= Promise.resolve(
        encodePkcs12(fs.readFileSync(path.join(certificates, "generated-key.pem"), "utf8"), fs.readFileSync(path.join(certificates, "generated-certificate.pem"), "utf8")),
    );
    return generatedPfxBytes;
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

    for (const variant of ALL_VARIANTS) {
        it(`finds no plain value given in place of a package secret outside a Pulumi secret: ${variant.title}`, async () => {
            const scenario = matrix.find(s => s.title.startsWith(variant.title) && s.secrets.additionalSetting)!;
            const replaced = `Server=db;Password=PlainOverride${variant.target}Secret`;
            const planted: Scenario = {
                ...scenario,
                args: { ...scenario.args, additionalSettings: { DatabaseConnectionString: replaced }, overrides: ["DatabaseConnectionString"] },
                secrets: { ...scenario.secrets, replaced },
            };
            const { captured, secrets } = await build(planted, "override");
            assert.deepEqual(findLeaks(captured, secrets), []);
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

    it("detects a planted generated key, so the scan covers the generated certificate", async () => {
        const scenario = matrix.find(s => s.secrets.generatedSigningKey)!;
        const planted: Scenario = { ...scenario, args: { ...scenario.args, client: { ...scenario.args.client, name: `k ${scenario.secrets.generatedSigningKey}` } } };
        const { captured, secrets } = await build(planted, "planted-key");
        assert.ok(findLeaks(captured, secrets).some(l => l.secretLabel === "generatedSigningKey"));
        const pfxPlanted: Scenario = { ...scenario, args: { ...scenario.args, client: { ...scenario.args.client, name: `p ${secrets.generatedSigningPfx}` } } };
        const second = await build(pfxPlanted, "planted-pfx");
        assert.ok(findLeaks(second.captured, second.secrets).some(l => l.secretLabel === "generatedSigningPfx"));
    });

    // The Creatio connection on every variant and version that has it: the Creatio password and the client secret
    // must stay inside Pulumi secrets (the connection command's stdin) there too.
    const withCreatio = matrix
        .filter(s => !s.args.creatioVersion.startsWith("7.") && s.args.database.provider === DatabaseProvider.Postgres && !/ https |redis/.test(s.title))
        .map(
            (scenario): Scenario => ({
                title: `${scenario.title} with Creatio connected`,
                secrets: { ...scenario.secrets, creatioPassword: `Creatio${scenario.title.length}Password-${scenario.args.creatioVersion}` },
                args: {
                    ...scenario.args,
                    creatio: {
                        url: "https://creatio.example.com",
                        username: "Supervisor",
                        password: `Creatio${scenario.title.length}Password-${scenario.args.creatioVersion}`,
                        runtime: CreatioRuntime.NetFramework,
                        tls: { caCertificate: "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n" },
                    },
                },
            }),
        );
    for (const scenario of withCreatio) {
        it(`finds no secret outside a Pulumi secret: ${scenario.title}`, async () => {
            const { captured, secrets } = await build(scenario, "leak-creatio");
            assert.ok(captured.some(c => c.kind === "outputs"), "the component's outputs were captured");
            assert.deepEqual(findLeaks(captured, secrets), []);
            valuesChecked += Object.keys(secrets).length;
            stringsScanned += countStrings(captured);
        });
    }

    it("detects a planted Creatio password, so the scan covers the connection", async () => {
        const scenario = withCreatio[0];
        const planted: Scenario = { ...scenario, args: { ...scenario.args, creatio: { ...scenario.args.creatio!, username: `u ${scenario.secrets.creatioPassword}` } } };
        const { captured, secrets } = await build(planted, "planted-creatio");
        assert.ok(findLeaks(captured, secrets).some(l => l.secretLabel === "creatioPassword"));
    });

    // The container re-seed runner (Docker and Swarm): its steps' environment and command line must hold no secret.
    const withContainerRunner = matrix
        .filter(s => /^(Docker|Swarm) 8\.3\.1 /.test(s.title) && !/ https |redis/.test(s.title))
        .map(
            (scenario): Scenario => ({
                title: `${scenario.title} re-seeding in a container`,
                secrets: scenario.secrets,
                args: {
                    ...scenario.args,
                    client: { ...scenario.args.client, reseedRunner: ReseedRunner.Container, reseedImage: "registry.example.com/node:24" },
                    ...(scenario.args.docker ? { docker: { ...scenario.args.docker, networks: ["db-net"] } } : {}),
                    ...(scenario.args.swarm ? { swarm: { ...scenario.args.swarm, networks: ["db-overlay"] } } : {}),
                },
            }),
        );
    for (const scenario of withContainerRunner) {
        it(`finds no secret outside a Pulumi secret: ${scenario.title}`, async () => {
            const { captured, secrets } = await build(scenario, "leak-runner");
            assert.deepEqual(findLeaks(captured, secrets), []);
            valuesChecked += Object.keys(secrets).length;
            stringsScanned += countStrings(captured);
        });
    }

    it("detects a planted secret in the re-seed container's networks, so the scan covers the runner's environment", async () => {
        const scenario = withContainerRunner.find(s => s.args.docker)!;
        const planted: Scenario = { ...scenario, args: { ...scenario.args, docker: { ...scenario.args.docker!, networks: [`n ${scenario.secrets.reseedConnectionString}`] } } };
        const { captured, secrets } = await build(planted, "planted-runner");
        assert.ok(findLeaks(captured, secrets).some(l => l.secretLabel === "reseedConnectionString"), JSON.stringify(findLeaks(captured, secrets)));
    });

    after(() => {
        console.log(`      secret-leak scan: ${matrix.length + withCreatio.length + withContainerRunner.length} scenarios, ${valuesChecked} secret values checked in ${stringsScanned} stored strings, 0 leaks`);
    });
});
