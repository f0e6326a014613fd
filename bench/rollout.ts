/**
 * Rollouts under load, side by side: the single-container Docker target and the Swarm target (three replicas), each
 * deployed by the test executor (test/e2e/support/executor.ts) to the real Docker Engine and PostgreSQL of the e2e
 * infra scripts, then a client rotation and a version upgrade while a steady load of discovery requests and of token
 * requests with the credentials in use runs (each request on its own connection, never retried).
 *
 * Per step: discovery requests and how many failed, the longest time without a discovery answer, the longest time
 * the credentials in use got no token before the retire step started (the credential gap), and how long after the
 * run returned the new credentials got their first token.
 *
 * The Swarm target runs on a single-node swarm (initialised here when the engine is in none, and left again) in
 * `dnsrr` mode behind the test balancer (test/e2e/swarm/front.js), because this machine's kernel has no IPVS.
 */
import { execFileSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { performance } from "perf_hooks";
import * as pulumi from "@pulumi/pulumi";
import { DatabaseProvider, DeploymentTarget, IdentityService, IdentityServiceArgs } from "../src";
import { CONTAINER_LABEL } from "../src/targets/docker";
import { createScratchDatabase, readPostgresEnv, ScratchDatabase } from "../test/e2e/infra/postgres";
import { docker, Executor, RunResult } from "../test/e2e/support/executor";
import { DB_RELAY_PORT, Front, startFront } from "../test/e2e/support/front";
import { failures, freePort, Load, longestGap, Sample, tokenStatus } from "../test/e2e/support/load";
import { engine } from "../test/e2e/support/swarm";
import { e2eUnavailable } from "./e2e";

const REPO_ROOT = path.join(__dirname, "..");
const FIXTURE_DIR = path.join(REPO_ROOT, "test", "fixtures", "identity-service");
const SIGNING_PFX = path.join(REPO_ROOT, "test", "fixtures", "certificates", "signing.pfx");
const INFRA_DIR = path.join(REPO_ROOT, "test", "e2e", "infra");

const NODE_HEALTH_CHECK = [
    "CMD",
    "/usr/bin/node",
    "-e",
    'require("http").get("http://127.0.0.1/.well-known/openid-configuration", r => process.exit(r.statusCode === 200 ? 0 : 1)).on("error", () => process.exit(1))',
];

export interface StepMeasure {
    readonly target: "docker" | "swarm";
    readonly step: "rotation" | "upgrade";
    readonly discoveryRequests: number;
    readonly discoveryFailed: number;
    readonly longestDiscoveryGapMs: number;
    readonly tokenRequests: number;
    readonly tokenFailed: number;
    readonly credentialGapMs: number;
    readonly newCredentialsAfterMs: number;
    readonly runMs: number;
}

export type RolloutReport = { status: "skipped"; reason: string } | { status: "ran"; rows: StepMeasure[]; swarmReplicas: number };

const SWARM_REPLICAS = 3;

interface Deployment {
    readonly target: "docker" | "swarm";
    readonly url: string;
    args(rotation: string, release: "current" | "next"): IdentityServiceArgs;
}

async function measureStep(
    executor: Executor,
    name: string,
    deployment: Deployment,
    step: "rotation" | "upgrade",
    credentials: { clientId: string; clientSecret: string },
    serviceArgs: IdentityServiceArgs,
): Promise<{ measure: StepMeasure; credentials: { clientId: string; clientSecret: string } }> {
    const discovery = Load.discovery(deployment.url);
    const tokens = Load.token(deployment.url, credentials.clientId, credentials.clientSecret);
    const started = performance.now();
    const result: RunResult = await executor.run(program(name, serviceArgs));
    const returned = performance.now();
    const next = { clientId: String(result.outputs.clientId), clientSecret: String(result.outputs.clientSecret) };
    while ((await tokenStatus(deployment.url, next.clientId, next.clientSecret).catch(() => 0)) !== 200) {
        if (performance.now() - returned > 60_000) throw new Error(`${deployment.target} ${step}: the new credentials got no token within 60 s`);
        await new Promise(resolve => setTimeout(resolve, 20));
    }
    const newCredentialsAfterMs = performance.now() - returned;
    const discoverySamples = await discovery.stop();
    const tokenSamples = await tokens.stop();
    const retire = result.operations.find(o => o.name === `${name}-client-retire`);
    const beforeRetire: Sample[] = tokenSamples.filter(s => retire === undefined || s.endedAt < retire.startedAt);
    return {
        credentials: next,
        measure: {
            target: deployment.target,
            step,
            discoveryRequests: discoverySamples.length,
            discoveryFailed: failures(discoverySamples).length,
            longestDiscoveryGapMs: longestGap(discoverySamples),
            tokenRequests: beforeRetire.length,
            tokenFailed: failures(beforeRetire).length,
            credentialGapMs: longestGap(beforeRetire),
            newCredentialsAfterMs,
            runMs: returned - started,
        },
    };
}

function program(name: string, serviceArgs: IdentityServiceArgs) {
    return () => {
        const service = new IdentityService(name, serviceArgs);
        return { url: service.url, clientId: service.clientId, clientSecret: service.clientSecret };
    };
}

async function measureTarget(deployment: Deployment, name: string, log: (line: string) => void): Promise<StepMeasure[]> {
    const executor = new Executor();
    try {
        log(`rollout: ${deployment.target}: deploy`);
        const first = await executor.run(program(name, deployment.args("1", "current")));
        let credentials = { clientId: String(first.outputs.clientId), clientSecret: String(first.outputs.clientSecret) };
        const rows: StepMeasure[] = [];
        log(`rollout: ${deployment.target}: rotation under load`);
        const rotation = await measureStep(executor, name, deployment, "rotation", credentials, deployment.args("2", "current"));
        rows.push(rotation.measure);
        credentials = rotation.credentials;
        log(`rollout: ${deployment.target}: upgrade under load`);
        const upgrade = await measureStep(executor, name, deployment, "upgrade", credentials, deployment.args("2", "next"));
        rows.push(upgrade.measure);
        await executor.destroy();
        return rows;
    } finally {
        await executor.cleanup();
    }
}

export async function runRollout(log: (line: string) => void = () => undefined): Promise<RolloutReport> {
    const unavailable = await e2eUnavailable();
    if (unavailable) return { status: "skipped", reason: unavailable };
    const env = readPostgresEnv();
    if (!env.hostFromContainers) return { status: "skipped", reason: "PGHOST_FROM_CONTAINERS is missing (start-postgres.sh after start-docker.sh)" };
    const swarmState = (await docker(["info", "--format", "{{.Swarm.LocalNodeState}}"])).stdout.trim();
    if (swarmState !== "inactive" && swarmState !== "active") return { status: "skipped", reason: `the engine's swarm state is "${swarmState}"` };

    execFileSync("bash", [path.join(INFRA_DIR, "build-base-image.sh")], { stdio: ["ignore", "ignore", "inherit"] });
    const runId = crypto.randomBytes(3).toString("hex");
    const nextRelease = fs.mkdtempSync(path.join(os.tmpdir(), `cis-bench-release-`));
    fs.cpSync(FIXTURE_DIR, nextRelease, { recursive: true });
    // The program file is what the Dockerfile copies, so its change gives a new image.
    fs.appendFileSync(path.join(nextRelease, "IdentityService.js"), `// next release ${runId}\n`);
    const databases: ScratchDatabase[] = [];
    let front: Front | undefined;
    const initialisedSwarm = swarmState === "inactive";
    try {
        const connection = (db: ScratchDatabase, host: string, port: number) =>
            `Server=${host};Port=${port};Database=${db.name};User ID=${env.user};Password=${env.password};Timeout=5;Maximum Pool Size=20;`;
        const base = (db: ScratchDatabase, serviceHost: string, servicePort: number, rotation: string, release: "current" | "next") => ({
            creatioVersion: release === "current" ? "8.2.3" : "8.3.1",
            database: {
                provider: DatabaseProvider.Postgres,
                connectionString: pulumi.secret(connection(db, serviceHost, servicePort)),
                reseedConnectionString: pulumi.secret(connection(db, env.host, env.port)),
            },
            client: { rotation },
            signingCertificate: { path: SIGNING_PFX },
            readiness: { timeoutSeconds: 180 },
        });
        const context = (release: "current" | "next") => (release === "current" ? FIXTURE_DIR : nextRelease);

        const dockerDb = await createScratchDatabase(env, "cis_bench_docker");
        databases.push(dockerDb);
        const dockerPort = await freePort();
        const dockerDeployment: Deployment = {
            target: "docker",
            url: `http://127.0.0.1:${dockerPort}`,
            args: (rotation, release) => ({
                target: DeploymentTarget.Docker,
                ...base(dockerDb, env.hostFromContainers!, env.port, rotation, release),
                docker: { build: { context: context(release) }, httpPort: dockerPort, bindAddress: "127.0.0.1", hostname: "127.0.0.1" },
            }),
        };
        const rows = await measureTarget(dockerDeployment, `cis-bench-docker-${runId}`, log);

        if (initialisedSwarm) await docker(["swarm", "init", "--advertise-addr", "127.0.0.1"]);
        const swarmDb = await createScratchDatabase(env, "cis_bench_swarm");
        databases.push(swarmDb);
        const alias = `ids-bench-${runId}`;
        front = await startFront(`cis-bench-front-${runId}`, {
            serviceAlias: alias,
            port: await freePort(),
            dbHost: env.hostFromContainers,
            dbPort: env.port,
            label: `${CONTAINER_LABEL}=cis-bench-front-${runId}`,
        });
        const swarmFront = front;
        const swarmDeployment: Deployment = {
            target: "swarm",
            url: swarmFront.url,
            args: (rotation, release) => ({
                target: DeploymentTarget.Swarm,
                ...base(swarmDb, swarmFront.name, DB_RELAY_PORT, rotation, release),
                redisConnection: pulumi.secret(`redis-${runId}:6379`),
                swarm: {
                    build: { context: context(release) },
                    replicas: SWARM_REPLICAS,
                    endpointMode: "dnsrr",
                    serviceAlias: alias,
                    networks: [swarmFront.networkId],
                    httpPort: Number(new URL(swarmFront.url).port),
                    hostname: "127.0.0.1",
                    healthCheck: NODE_HEALTH_CHECK,
                    update: { monitor: "5s" },
                },
            }),
        };
        rows.push(...(await measureTarget(swarmDeployment, `cis-bench-swarm-${runId}`, log)));
        return { status: "ran", rows, swarmReplicas: SWARM_REPLICAS };
    } finally {
        await front?.remove();
        for (const db of databases) await db.drop().catch(() => undefined);
        fs.rmSync(nextRelease, { recursive: true, force: true });
        if (initialisedSwarm && (await engine("GET", "/swarm").then(() => true, () => false))) {
            await docker(["swarm", "leave", "--force"], { allowFailure: true });
            await docker(["network", "rm", "docker_gwbridge"], { allowFailure: true });
        }
    }
}

const ms = (value: number) => `${Math.round(value)} ms`;

export function rolloutSection(report: RolloutReport): string {
    const lines = ["## Rollouts under load: Docker and Swarm", ""];
    if (report.status === "skipped") {
        lines.push(`skipped: ${report.reason}.`);
        return lines.join("\n");
    }
    lines.push(
        "`bench/rollout.ts`: each target deployed by the test executor to the real Docker Engine and PostgreSQL, then a",
        "client rotation and a version upgrade (a new release archive: a new image, Creatio 8.2.3 → 8.3.1) while discovery",
        "requests and token requests with the credentials in use run one after another, each on its own connection and",
        `never retried. Docker: one container. Swarm: ${report.swarmReplicas} replicas, start-first, one task at a time, on a`,
        "single-node swarm in `dnsrr` mode behind the test balancer (`test/e2e/swarm/front.js`: the next task when one",
        "refuses the connection), because this machine's kernel has no IPVS for the routing mesh.",
        "",
        "| target | step | discovery requests | **failed** | longest gap without discovery | token requests before retire | failed | **credential gap** | new credentials work after | run |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
        ...report.rows.map(
            row =>
                `| ${row.target} | ${row.step} | ${row.discoveryRequests} | **${row.discoveryFailed}** | ${ms(row.longestDiscoveryGapMs)} | ${
                    row.tokenRequests
                } | ${row.tokenFailed} | **${ms(row.credentialGapMs)}** | ${ms(row.newCredentialsAfterMs)} | ${ms(row.runMs)} |`,
        ),
        "",
        "Longest gap: the longest time between two answered requests (with every request answered, the slowest request",
        "plus the 20 ms pause). Credential gap: the same for the token requests with the credentials in use, up to the",
        "retire step, which removes them on purpose. \"New credentials work after\": from the end of the run to the first",
        "token for the credentials it output. The Swarm suite (`npm run test:swarm`) asserts zero failures for Swarm.",
    );
    return lines.join("\n");
}

if (require.main === module) {
    runRollout(line => process.stderr.write(`[bench] ${line}\n`)).then(
        report => console.log(rolloutSection(report)),
        error => {
            console.error(error);
            process.exit(1);
        },
    );
}
