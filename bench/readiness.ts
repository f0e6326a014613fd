/**
 * Readiness detection latency: how long after a service becomes ready does the gate pass?
 *
 * Each trial starts a local HTTP server on 127.0.0.1:0 that answers 503 to everything until a random delay
 * (uniform 0.5-3 s, from a seeded PRNG) has elapsed, and then serves a discovery document with an `issuer` and
 * issues a token for the right client_credentials. The latency is measured from the instant the server switches
 * to ready until the gate passes:
 *
 * - package: the real `src/scripts/readiness.js` as a child process (environment as the component sets it,
 *   the secret on stdin, the default poll interval), until the child exits with code 0;
 * - fixed 5 s: a poller written here the way common deploy scripts wait (`until check; do sleep 5; done`): the
 *   same two-step check (discovery with an issuer, then a token), 5 s of sleep after every failed attempt.
 *
 * The package's trials run a few at a time (default 2, on a 2-core machine); the 5 s poller's trials mostly
 * sleep, so they all run at once. Both use the same 50 delays.
 */
import { spawn } from "child_process";
import * as http from "http";
import { AddressInfo } from "net";
import * as path from "path";
import { performance } from "perf_hooks";

const READINESS_SCRIPT = path.join(__dirname, "..", "src", "scripts", "readiness.js");
const CLIENT_ID = "BenchClient00001";
const CLIENT_SECRET = "BenchSecret0123456789abcdefghijk";
const FIXED_INTERVAL_MS = 5000;

export interface ReadinessOptions {
    trials: number;
    seed: number;
    minDelayMs: number;
    maxDelayMs: number;
    /** Package trials running at the same time. */
    packageConcurrency: number;
}

export const DEFAULT_READINESS_OPTIONS: ReadinessOptions = {
    trials: 50,
    seed: 20261127,
    minDelayMs: 500,
    maxDelayMs: 3000,
    packageConcurrency: 2,
};

export interface Trial {
    index: number;
    /** Scheduled delay from the trial's start until the server becomes ready. */
    delayMs: number;
    /** Server ready -> gate passed; undefined when the gate failed. */
    latencyMs?: number;
    /** Server ready -> token issued: the detection part of the latency (the rest is the gate finishing). */
    detectionMs?: number;
    /** Requests the server answered in this trial (503s included). */
    requests: number;
    error?: string;
}

export interface Summary {
    /** Median of ready -> token issued (the rest of the latency is the gate finishing: for the package, its exit). */
    detectionP50: number;
    passed: number;
    failed: number;
    p50: number;
    p95: number;
    max: number;
    min: number;
}

export interface ReadinessReport {
    options: ReadinessOptions;
    package: { trials: Trial[]; summary: Summary; wallMs: number };
    fixed: { trials: Trial[]; summary: Summary; wallMs: number };
}

/** mulberry32: a small seeded PRNG, so that every run uses the same delays. */
export function mulberry32(seed: number): () => number {
    let a = seed >>> 0;
    return () => {
        a = (a + 0x6d2b79f5) >>> 0;
        let t = a;
        t = Math.imul(t ^ (t >>> 15), t | 1);
        t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
        return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
}

/** Nearest-rank percentile. */
export function percentile(values: number[], p: number): number {
    if (values.length === 0) return NaN;
    const sorted = [...values].sort((a, b) => a - b);
    return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)];
}

function summarize(trials: Trial[]): Summary {
    const latencies = trials.filter(t => t.latencyMs !== undefined).map(t => t.latencyMs!);
    return {
        detectionP50: percentile(trials.filter(t => t.detectionMs !== undefined).map(t => t.detectionMs!), 50),
        passed: latencies.length,
        failed: trials.length - latencies.length,
        p50: percentile(latencies, 50),
        p95: percentile(latencies, 95),
        max: latencies.length ? Math.max(...latencies) : NaN,
        min: latencies.length ? Math.min(...latencies) : NaN,
    };
}

/** A stand-in Identity Service that is "starting" (503) until `becomeReady()`. */
interface FakeService {
    url: string;
    readyAt?: number;
    /** When the first token was issued (the gate's last request). */
    tokenAt?: number;
    requests: number;
    becomeReady(): void;
    close(): Promise<void>;
}

async function startFakeService(): Promise<FakeService> {
    let ready = false;
    const service: Partial<FakeService> & { requests: number } = { requests: 0 };
    const server = http.createServer((req, res) => {
        service.requests++;
        const chunks: Buffer[] = [];
        req.on("data", chunk => chunks.push(chunk));
        req.on("end", () => {
            const send = (status: number, body: unknown) => {
                res.writeHead(status, { "content-type": "application/json" });
                res.end(JSON.stringify(body));
            };
            if (!ready) {
                res.writeHead(503, { "content-type": "text/plain" });
                res.end("starting");
                return;
            }
            if (req.method === "GET" && req.url === "/.well-known/openid-configuration") {
                send(200, { issuer: service.url, token_endpoint: `${service.url}/connect/token` });
                return;
            }
            if (req.method === "POST" && req.url === "/connect/token") {
                const form = new URLSearchParams(Buffer.concat(chunks).toString("utf8"));
                const valid =
                    form.get("grant_type") === "client_credentials" &&
                    form.get("client_id") === CLIENT_ID &&
                    form.get("client_secret") === CLIENT_SECRET;
                if (valid) {
                    service.tokenAt ??= performance.now();
                    send(200, { access_token: "bench-token", token_type: "Bearer", expires_in: 3600 });
                }
                else send(400, { error: "invalid_client" });
                return;
            }
            send(404, { error: "not_found" });
        });
    });
    await new Promise<void>(resolve => server.listen(0, "127.0.0.1", resolve));
    service.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    service.becomeReady = () => {
        ready = true;
        service.readyAt = performance.now();
    };
    service.close = () =>
        new Promise<void>(resolve => {
            server.closeAllConnections();
            server.close(() => resolve());
        });
    return service as FakeService;
}

/** One trial of the package's readiness.js. */
async function packageTrial(index: number, delayMs: number): Promise<Trial> {
    const service = await startFakeService();
    try {
        // As the component sets them (timeout lowered only so that a broken trial cannot stall the bench); no
        // READINESS_POLL_INTERVAL_MS, whatever this process has: the default interval is what is measured.
        const env: NodeJS.ProcessEnv = {
            ...Object.fromEntries(
                Object.entries(process.env).filter(([key]) => !key.startsWith("READINESS_") && !key.startsWith("IDENTITY_SERVICE_")),
            ),
            IDENTITY_SERVICE_URL: service.url,
            IDENTITY_SERVICE_CLIENT_ID: CLIENT_ID,
            READINESS_TIMEOUT_SECONDS: "30",
            READINESS_VERIFY_TOKEN: "true",
        };
        const child = spawn(process.execPath, [READINESS_SCRIPT], { env, stdio: ["pipe", "pipe", "pipe"] });
        child.stdin.end(JSON.stringify({ clientSecret: CLIENT_SECRET }));
        const timer = setTimeout(() => service.becomeReady(), delayMs);
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", chunk => (stdout += chunk));
        child.stderr.on("data", chunk => (stderr += chunk));
        const { code, exitedAt } = await new Promise<{ code: number | null; exitedAt: number }>(resolve =>
            child.on("exit", code => resolve({ code, exitedAt: performance.now() })),
        );
        clearTimeout(timer);
        if (code !== 0 || service.readyAt === undefined) {
            return { index, delayMs, requests: service.requests, error: `exit ${code}: ${(stderr || stdout).trim().slice(0, 300)}` };
        }
        return {
            index,
            delayMs,
            latencyMs: exitedAt - service.readyAt,
            detectionMs: service.tokenAt === undefined ? undefined : service.tokenAt - service.readyAt,
            requests: service.requests,
        };
    } finally {
        await service.close();
    }
}

const sleep = (ms: number) => new Promise(resolve => setTimeout(resolve, ms));

/** The same check as readiness.js, one attempt: discovery with an issuer, then a client_credentials token. */
async function checkOnce(url: string): Promise<boolean> {
    try {
        const discovery = await fetch(`${url}/.well-known/openid-configuration`, { signal: AbortSignal.timeout(5000) });
        const document = (await discovery.json().catch(() => undefined)) as { issuer?: unknown; token_endpoint?: unknown } | undefined;
        if (!discovery.ok || typeof document?.issuer !== "string" || document.issuer === "") return false;
        const endpoint = typeof document.token_endpoint === "string" ? document.token_endpoint : `${url}/connect/token`;
        const token = await fetch(endpoint, {
            method: "POST",
            headers: { "content-type": "application/x-www-form-urlencoded" },
            body: new URLSearchParams({ grant_type: "client_credentials", client_id: CLIENT_ID, client_secret: CLIENT_SECRET }),
            signal: AbortSignal.timeout(5000),
        });
        const body = (await token.json().catch(() => undefined)) as { access_token?: unknown } | undefined;
        return token.ok && typeof body?.access_token === "string";
    } catch {
        return false;
    }
}

/** One trial of the fixed 5-second poller. */
async function fixedTrial(index: number, delayMs: number): Promise<Trial> {
    const service = await startFakeService();
    const timer = setTimeout(() => service.becomeReady(), delayMs);
    try {
        const deadline = performance.now() + 60_000;
        while (performance.now() < deadline) {
            if (await checkOnce(service.url)) {
                const passedAt = performance.now();
                return {
                    index,
                    delayMs,
                    latencyMs: passedAt - service.readyAt!,
                    detectionMs: service.tokenAt! - service.readyAt!,
                    requests: service.requests,
                };
            }
            await sleep(FIXED_INTERVAL_MS);
        }
        return { index, delayMs, requests: service.requests, error: "not ready within 60 s" };
    } finally {
        clearTimeout(timer);
        await service.close();
    }
}

/** Runs `task` over `items` with at most `concurrency` at a time, keeping the results in order. */
async function pool<T, R>(items: T[], concurrency: number, task: (item: T, index: number) => Promise<R>): Promise<R[]> {
    const results: R[] = new Array(items.length);
    let next = 0;
    const worker = async () => {
        while (next < items.length) {
            const index = next++;
            results[index] = await task(items[index], index);
        }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
    return results;
}

export async function runReadiness(
    options: ReadinessOptions = DEFAULT_READINESS_OPTIONS,
    log: (line: string) => void = () => undefined,
): Promise<ReadinessReport> {
    const random = mulberry32(options.seed);
    const delays = Array.from({ length: options.trials }, () => options.minDelayMs + random() * (options.maxDelayMs - options.minDelayMs));

    let started = performance.now();
    let done = 0;
    const packageTrials = await pool(delays, options.packageConcurrency, async (delay, index) => {
        const trial = await packageTrial(index, delay);
        done++;
        if (done % 10 === 0) log(`readiness: package ${done}/${options.trials}`);
        return trial;
    });
    const packageWallMs = performance.now() - started;

    started = performance.now();
    const fixedTrials = await pool(delays, options.trials, (delay, index) => fixedTrial(index, delay));
    const fixedWallMs = performance.now() - started;
    log(`readiness: fixed 5 s poller ${options.trials}/${options.trials}`);

    return {
        options,
        package: { trials: packageTrials, summary: summarize(packageTrials), wallMs: packageWallMs },
        fixed: { trials: fixedTrials, summary: summarize(fixedTrials), wallMs: fixedWallMs },
    };
}

if (require.main === module) {
    const trials = Number(process.argv[2] || DEFAULT_READINESS_OPTIONS.trials);
    runReadiness({ ...DEFAULT_READINESS_OPTIONS, trials }, line => console.log(line)).then(report =>
        console.log(
            JSON.stringify({ package: report.package.summary, fixed: report.fixed.summary }, null, 1) +
                "\n" +
                report.package.trials.map(t => `${t.index} delay ${t.delayMs.toFixed(0)} latency ${t.latencyMs?.toFixed(0)} detection ${t.detectionMs?.toFixed(0)} requests ${t.requests}`).join("\n"),
        ),
    );
}
