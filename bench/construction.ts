/**
 * Construction cost under mocks: N IdentityService instances (program A) against a hand-written program that
 * registers the same six child resources per instance directly (program B), both under the unit tests' mocks
 * (test/support/mocks.ts).
 *
 * Every measurement runs in a fresh child process (`node -r ts-node/register/transpile-only
 * bench/construction.ts --child <A|B> <N>`), so neither memory nor module caches leak between runs. The child
 * loads its modules first (timed separately), then times construction: from the first constructor call until
 * every output has resolved (A: every output of every component; B: urn, id and the outputs used of every
 * resource) and the Pulumi runtime has no RPC left in flight. It prints one JSON line with the result.
 *
 * `--child <A|B> 1 --dump` prints the inputs the mocks received instead; the orchestrator compares A's with B's
 * to show that B registers exactly the same child resources with the same inputs (secrecy included).
 */
import { spawn } from "child_process";
import * as os from "os";
import * as path from "path";
import { performance } from "perf_hooks";

export const REPO_ROOT = path.join(__dirname, "..");
/** The test fixture service's folder: the build context must exist and hold Dockerfile-OAuth. */
const FAKE_BUILD_CONTEXT = path.join(REPO_ROOT, "test", "fixtures", "identity-service");
const SIGNING_PFX = path.join(REPO_ROOT, "test", "fixtures", "certificates", "signing.pfx");
const CONNECTION_STRING = "Server=db;Port=5432;Database=creatio;User ID=creatio;Password=Bench-Conn-Secret-1;";
const CREATIO_VERSION = "8.2.3";

export type Program = "A" | "B";

/** Each instance publishes its own host port (the component refuses two instances on one port). */
const httpPort = (instance: number) => 8090 + instance;

export interface ChildResult {
    program: Program;
    instances: number;
    /** Time to require the modules (mocks, Pulumi SDK and providers, and for A the package). */
    moduleLoadMs: number;
    /** First constructor call until every output resolved and no RPC is in flight. */
    constructionMs: number;
    /** The part of it spent in the constructor calls themselves (before the first await). */
    synchronousMs: number;
    /** CPU time (user + system, all threads of the process) over the same section. */
    cpuMs: number;
    /** Resources the mocks saw registered (A includes one component per instance). */
    registered: number;
    /** `process.resourceUsage().maxRSS`, in MiB: the peak of the whole child process. */
    peakRssMiB: number;
    /** RSS just before construction started, in MiB (modules loaded). */
    rssBeforeMiB: number;
    /** `process.memoryUsage().heapUsed` after construction, in MiB (no forced GC). */
    heapUsedMiB: number;
    /** Heap used after construction minus heap used before it, in MiB. */
    heapGrowthMiB: number;
}

const MiB = 1024 * 1024;

/** The value of an Output, through the SDK's own accessor (which also carries a failure through). */
function settled(value: unknown): Promise<unknown> {
    return (value as { promise(): Promise<unknown> }).promise();
}

// ---------------------------------------------------------------------------------------------------------
// Program A: the component

interface Subject {
    run(): Promise<{ constructed: number; registered: number }>;
}

/** The package as users get it: the compiled `bin/` (`main` in package.json). */
const PACKAGE_MAIN = path.join(REPO_ROOT, "bin", "index.js");

async function programA(instances: number): Promise<Subject> {
    // Loaded here, not imported at the top, so that module loading is timed on its own.
    const mocks = await import("../test/support/mocks");
    const pkg: typeof import("../src") = await import(PACKAGE_MAIN);
    return {
        async run() {
            const services = [];
            for (let i = 0; i < instances; i++) {
                services.push(
                    new pkg.IdentityService(`ids-${i}`, {
                        target: pkg.DeploymentTarget.Docker,
                        creatioVersion: CREATIO_VERSION,
                        database: { provider: pkg.DatabaseProvider.Postgres, connectionString: CONNECTION_STRING },
                        signingCertificate: { path: SIGNING_PFX },
                        docker: { build: { context: FAKE_BUILD_CONTEXT }, httpPort: httpPort(i) },
                    }),
                );
            }
            const constructed = performance.now();
            await Promise.all(
                services.flatMap(s =>
                    [s.urn, s.url, s.discoveryUrl, s.tokenUrl, s.clientId, s.clientName, s.clientSecret, s.creatioSystemSettings].map(
                        settled,
                    ),
                ),
            );
            return { constructed, registered: mocks.registered.length };
        },
    };
}

// ---------------------------------------------------------------------------------------------------------
// Program B: the same child resources, written by hand, without a component

async function programB(instances: number): Promise<Subject> {
    const mocks = await import("../test/support/mocks");
    const pulumi = await import("@pulumi/pulumi");
    const random = await import("@pulumi/random");
    const command = await import("@pulumi/command");
    const docker = await import("@pulumi/docker");
    const crypto = await import("crypto");
    const fs = await import("fs");

    // Absolute, as the component gives it here: under mocks the SDK reports no absolute project root, so the
    // providers' working directory is unknown (src/providerPaths.ts).
    const scriptCommand = (file: string) => `node "${path.join(REPO_ROOT, "src", "scripts", file)}"`;
    const RESEED = scriptCommand("reseed.js");
    const READINESS = scriptCommand("readiness.js");
    const alphanumeric = (length: number) => ({ length, special: false, upper: true, lower: true, numeric: true });
    const secretOutputs = { additionalSecretOutputs: ["stdout", "stderr"] };

    // Creatio 8.2.3's system client (src/versions.ts): the documented operation scopes, which the readiness gate asks
    // for, then the *_user scopes allowed from 8.1.0, and the vendor's Properties.
    const REQUESTED_SCOPES = [
        "register_own_resource",
        "get_resource_list",
        "get_client_info",
        "find_clients",
        "remove_client",
        "update_client",
        "add_registrar_client",
    ];
    const SCOPES = [...REQUESTED_SCOPES, "activate_user", "deactivate_user", "upsert_client_user", "remove_client_user", "IdentityServerApi"];
    const PROPERTIES = { AllowedQueryParameters: '["invitationHash","targetSubject"]' };

    function deploy(name: string, port: number) {
        const clientId = new random.RandomString(`${name}-client-id`, alphanumeric(16));
        const clientSecret = new random.RandomPassword(`${name}-client-secret`, alphanumeric(32));
        const clientsJson = pulumi.secret(
            pulumi.all([clientId.result, clientSecret.result]).apply(([id, secret]) =>
                JSON.stringify([
                    {
                        ClientId: id,
                        ClientName: "Creatio",
                        Secrets: [secret],
                        // No Creatio URL: client_credentials only.
                        AllowedGrantTypes: ["client_credentials"],
                        RedirectUris: [],
                        PostLogoutRedirectUris: [],
                        IdentityTokenLifetime: 300,
                        AccessTokenLifetime: 3600,
                        Properties: PROPERTIES,
                        AllowedScopes: SCOPES,
                    },
                ]),
            ),
        );
        const reseedStdin = (action: string) =>
            pulumi.secret(
                pulumi.all([clientId.result, clientSecret.result]).apply(([id, secret]) =>
                    JSON.stringify({
                        action,
                        connectionString: CONNECTION_STRING,
                        client: {
                            ClientId: id,
                            ClientName: "Creatio",
                            AllowedGrantTypes: ["client_credentials"],
                            RedirectUris: [],
                            PostLogoutRedirectUris: [],
                            IdentityTokenLifetime: 300,
                            AccessTokenLifetime: 3600,
                            Properties: PROPERTIES,
                            AllowedScopes: SCOPES,
                            SecretHashes: [crypto.createHash("sha256").update(secret).digest("base64")],
                        },
                    }),
                ),
            );
        const reseedCommand = (resourceName: string, action: string, opts: object) =>
            new command.local.Command(
                resourceName,
                {
                    create: RESEED,
                    update: RESEED,
                    environment: { RESEED_DB_PROVIDER: "Postgres" },
                    stdin: reseedStdin(action),
                    addPreviousOutputInEnv: true,
                    logging: "none",
                },
                { ...secretOutputs, ...opts },
            );
        const reseed = reseedCommand(`${name}-client-reseed`, "prepare", {});
        const restartToken = pulumi.unsecret(
            reseed.stdout.apply(stdout => {
                try {
                    return String(JSON.parse(stdout ?? "").restartToken ?? "");
                } catch {
                    return "";
                }
            }),
        );
        const image = new docker.Image(`${name}-image`, {
            imageName: `creatio-identity-service:${CREATIO_VERSION}-${name}`,
            build: { context: FAKE_BUILD_CONTEXT, dockerfile: path.join(FAKE_BUILD_CONTEXT, "Dockerfile-OAuth") },
            skipPush: true,
        });
        const container = new docker.Container(
            `${name}-container`,
            {
                name,
                image: image.repoDigest,
                // Nothing secret in the environment: the configuration is the settings file uploaded below.
                envs: ["ASPNETCORE_URLS=http://+:80", "ASPNETCORE_ENVIRONMENT=Production"],
                ports: [{ internal: 80, external: port, ip: "0.0.0.0" }],
                uploads: pulumi.secret(
                    clientsJson.apply(json => [
                        {
                            file: "/app/appsettings.Production.json",
                            content:
                                JSON.stringify(
                                    {
                                        DbProvider: "Postgres",
                                        DatabaseConnectionString: CONNECTION_STRING,
                                        PostgresConnection: CONNECTION_STRING,
                                        Clients: json,
                                        Logging: { LogLevel: { Default: "Warning" } },
                                        X509CertificatePath: "/app/signing-certificate.pfx",
                                    },
                                    null,
                                    2,
                                ) + "\n",
                        },
                        { file: "/app/signing-certificate.pfx", contentBase64: fs.readFileSync(SIGNING_PFX).toString("base64") },
                    ]),
                ),
                restart: "unless-stopped",
                labels: restartToken.apply(token => [
                    { label: "creatio-identity-service.component", value: name },
                    ...(token ? [{ label: "creatio-identity-service.client-reseed", value: token }] : []),
                ]),
                mustRun: true,
                healthcheck: {
                    tests: [
                        "CMD",
                        "bash",
                        "-c",
                        "exec 3<>/dev/tcp/127.0.0.1/80 && printf 'GET /.well-known/openid-configuration HTTP/1.0\\r\\nHost: localhost\\r\\n\\r\\n' >&3 && head -n 1 <&3 | grep -q ' 200 '",
                    ],
                    interval: "3s",
                    timeout: "3s",
                    startPeriod: "1m0s",
                    retries: 3,
                },
            },
            { dependsOn: [reseed], deleteBeforeReplace: true, replaceOnChanges: ["healthcheck"] },
        );
        const readiness = new command.local.Command(
            `${name}-readiness`,
            {
                create: READINESS,
                update: READINESS,
                environment: {
                    IDENTITY_SERVICE_URL: `http://localhost:${port}`,
                    IDENTITY_SERVICE_CLIENT_ID: clientId.result,
                    READINESS_TIMEOUT_SECONDS: "300",
                    READINESS_VERIFY_TOKEN: "true",
                    READINESS_TOKEN_SCOPES: [...REQUESTED_SCOPES, "IdentityServerApi"].join(" "),
                },
                stdin: pulumi.secret(clientSecret.result.apply(secret => JSON.stringify({ clientSecret: secret }))),
                triggers: [container.id],
                logging: "none",
            },
            secretOutputs,
        );
        const retire = reseedCommand(`${name}-client-retire`, "retire", { dependsOn: [readiness] });
        return [
            clientId.urn, clientId.id, clientId.result,
            clientSecret.urn, clientSecret.id, clientSecret.result,
            reseed.urn, reseed.id, reseed.stdout,
            image.urn, image.id, image.repoDigest,
            container.urn, container.id,
            readiness.urn, readiness.id, readiness.stdout,
            retire.urn, retire.id, retire.stdout,
        ];
    }

    return {
        async run() {
            const outputs: unknown[] = [];
            for (let i = 0; i < instances; i++) {
                outputs.push(...deploy(`ids-${i}`, httpPort(i)));
            }
            const constructed = performance.now();
            await Promise.all(outputs.map(settled));
            return { constructed, registered: mocks.registered.length };
        },
    };
}

// ---------------------------------------------------------------------------------------------------------
// The child process

export async function child(program: Program, instances: number, dump: boolean, sourceMappedStacks: boolean): Promise<void> {
    const loadStart = performance.now();
    const subject = program === "A" ? await programA(instances) : await programB(instances);
    const pulumi = await import("@pulumi/pulumi");
    const moduleLoadMs = performance.now() - loadStart;
    if (!sourceMappedStacks) {
        // ts-node (which runs this file) installs source-map-support, which then maps every `new Error().stack`;
        // the Pulumi SDK takes a stack for each promise it tracks, so that alone would dominate both programs.
        // Construction is timed as plain `node` runs compiled JavaScript: V8's own stack formatting.
        (Error as { prepareStackTrace?: unknown }).prepareStackTrace = undefined;
    }

    const rssBefore = process.memoryUsage().rss;
    const heapBefore = process.memoryUsage().heapUsed;
    const cpuBefore = process.cpuUsage();
    const start = performance.now();
    const { constructed, registered } = await subject.run();
    // Then until no registration RPC is left in flight (an internal SDK function; skipped if it ever goes away).
    await (pulumi.runtime as unknown as { waitForRPCs?: () => Promise<void> }).waitForRPCs?.();
    const constructionMs = performance.now() - start;
    const cpu = process.cpuUsage(cpuBefore);
    const heapAfter = process.memoryUsage().heapUsed;

    if (dump) {
        const mocks = await import("../test/support/mocks");
        process.stdout.write(JSON.stringify(mocks.registered) + "\n");
        return;
    }
    const result: ChildResult = {
        program,
        instances,
        moduleLoadMs,
        constructionMs,
        synchronousMs: constructed - start,
        cpuMs: (cpu.user + cpu.system) / 1000,
        registered,
        peakRssMiB: (process.resourceUsage().maxRSS * 1024) / MiB,
        rssBeforeMiB: rssBefore / MiB,
        heapUsedMiB: heapAfter / MiB,
        heapGrowthMiB: (heapAfter - heapBefore) / MiB,
    };
    process.stdout.write(JSON.stringify(result) + "\n");
}

// ---------------------------------------------------------------------------------------------------------
// The orchestrating side

/** Runs one measurement in a fresh Node process and returns its last stdout line. */
function runChild(program: Program, instances: number, extra: string[] = [], nodeArgs: string[] = []): Promise<string> {
    return new Promise((resolve, reject) => {
        const proc = spawn(
            process.execPath,
            [...nodeArgs, "-r", "ts-node/register/transpile-only", path.join(__dirname, "construction.ts"), "--child", program, String(instances), ...extra],
            { cwd: REPO_ROOT, stdio: ["ignore", "pipe", "pipe"] },
        );
        let stdout = "";
        let stderr = "";
        proc.stdout.on("data", chunk => (stdout += chunk));
        proc.stderr.on("data", chunk => (stderr += chunk));
        proc.on("error", reject);
        proc.on("close", code => {
            if (code !== 0) {
                reject(new Error(`construction child ${program} N=${instances} exited with ${code}: ${stderr.trim().slice(-2000)}`));
                return;
            }
            const lines = stdout.trim().split("\n");
            resolve(lines[lines.length - 1]);
        });
    });
}

export function median(values: number[]): number {
    const sorted = [...values].sort((a, b) => a - b);
    const mid = Math.floor(sorted.length / 2);
    return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

export interface ConstructionRow {
    instances: number;
    repeats: number;
    a: ChildResult[];
    b: ChildResult[];
    median: { a: Omit<ChildResult, "program" | "instances">; b: Omit<ChildResult, "program" | "instances"> };
    /** median(A construction time) / median(B construction time). */
    timeRatio: number;
    peakRssRatio: number;
}

export interface ConstructionReport {
    rows: ConstructionRow[];
    /** Whether B registered exactly A's child resources (types, names, inputs including secret markers). */
    equivalence: { equal: boolean; resources: number; differences: string[] };
}

function medianOf(results: ChildResult[]): ConstructionRow["median"]["a"] {
    const m = (key: keyof ChildResult) => median(results.map(r => r[key] as number));
    return {
        moduleLoadMs: m("moduleLoadMs"),
        constructionMs: m("constructionMs"),
        synchronousMs: m("synchronousMs"),
        cpuMs: m("cpuMs"),
        registered: m("registered"),
        peakRssMiB: m("peakRssMiB"),
        rssBeforeMiB: m("rssBeforeMiB"),
        heapUsedMiB: m("heapUsedMiB"),
        heapGrowthMiB: m("heapGrowthMiB"),
    };
}

/** Compares what the mocks received from A (minus the components) with what they received from B. */
export async function checkEquivalence(): Promise<ConstructionReport["equivalence"]> {
    type Registered = { type: string; name: string; inputs: unknown };
    const [a, b] = (await Promise.all([runChild("A", 1, ["--dump"]), runChild("B", 1, ["--dump"])])).map(
        line => JSON.parse(line) as Registered[],
    );
    const children = a.filter(r => !r.type.startsWith("creatio-identity-service:"));
    // Canonical JSON (keys sorted), so that only values count, not the order keys were written in.
    const canonical = (value: unknown): string =>
        JSON.stringify(value, (_key, v: unknown) =>
            v !== null && typeof v === "object" && !Array.isArray(v)
                ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
                : v,
        );
    const byName = (list: Registered[]) => new Map(list.map(r => [`${r.type} ${r.name}`, canonical(r.inputs)]));
    const left = byName(children);
    const right = byName(b);
    const differences: string[] = [];
    for (const key of new Set([...left.keys(), ...right.keys()])) {
        if (!left.has(key)) differences.push(`only in B: ${key}`);
        else if (!right.has(key)) differences.push(`only in A: ${key}`);
        else if (left.get(key) !== right.get(key)) differences.push(`inputs differ: ${key}`);
    }
    return { equal: differences.length === 0, resources: right.size, differences };
}

/** Runs every (program, N) measurement, A and B alternating, one fresh process each. */
export async function runConstruction(
    plan: { instances: number; repeats: number }[] = [
        // More repeats than the minimum: on a shared 2-core machine single runs of the same program differ by ±30 %.
        { instances: 1, repeats: 7 },
        { instances: 10, repeats: 7 },
        { instances: 100, repeats: 5 },
    ],
    log: (line: string) => void = () => undefined,
): Promise<ConstructionReport> {
    const equivalence = await checkEquivalence();
    log(`construction: B registers the same resources as A: ${equivalence.equal ? "yes" : "NO " + equivalence.differences.join("; ")}`);
    const rows: ConstructionRow[] = [];
    for (const { instances, repeats } of plan) {
        const a: ChildResult[] = [];
        const b: ChildResult[] = [];
        for (let r = 0; r < repeats; r++) {
            // Alternate the order so that neither program always runs on a warmer machine.
            const order: Program[] = r % 2 === 0 ? ["A", "B"] : ["B", "A"];
            for (const program of order) {
                const result = JSON.parse(await runChild(program, instances)) as ChildResult;
                (program === "A" ? a : b).push(result);
                log(`construction: ${program} N=${instances} run ${r + 1}/${repeats}: ${result.constructionMs.toFixed(1)} ms, peak RSS ${result.peakRssMiB.toFixed(1)} MiB`);
            }
        }
        const ma = medianOf(a);
        const mb = medianOf(b);
        rows.push({
            instances,
            repeats,
            a,
            b,
            median: { a: ma, b: mb },
            timeRatio: ma.constructionMs / mb.constructionMs,
            peakRssRatio: ma.peakRssMiB / mb.peakRssMiB,
        });
    }
    return { rows, equivalence };
}

/** For profiling by hand: `--profile A 100` writes a .cpuprofile of one child into the given folder. */
export function profileChild(program: Program, instances: number, dir: string): Promise<string> {
    return runChild(program, instances, [], ["--cpu-prof", `--cpu-prof-dir=${dir}`]);
}

if (require.main === module) {
    const argv = process.argv.slice(2);
    if (argv[0] === "--child") {
        child(argv[1] as Program, Number(argv[2]), argv.includes("--dump"), argv.includes("--source-mapped-stacks")).catch(error => {
            console.error(error);
            process.exit(1);
        });
    } else if (argv[0] === "--profile") {
        profileChild(argv[1] as Program, Number(argv[2]), argv[3] ?? os.tmpdir()).then(line =>
            console.log(line),
        );
    } else {
        runConstruction(undefined, line => console.log(line)).then(report => console.log(JSON.stringify(report.rows.map(r => ({ N: r.instances, ratio: r.timeRatio, a: r.median.a, b: r.median.b })), null, 1)));
    }
}
