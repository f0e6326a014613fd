/**
 * End-to-end timings from the real-Docker test (test/e2e/deploy.e2e.test.ts): first deploy, no-op run, rotation
 * (and whatever else its timing table lists), when Docker and the e2e PostgreSQL are available.
 *
 * Nothing is started or stopped here: Docker and PostgreSQL are the ones test/e2e/infra/start-docker.sh and
 * start-postgres.sh started (this only checks that they answer). The test is run with mocha and the settings of
 * .mocharc.e2e.json, but with only the deploy test as spec (`--config .mocharc.e2e.json <file>` would add the
 * config's own spec, every e2e test, to it). Not with `--exit`: mocha's forced exit lets the Pulumi SDK's exit handler
 * turn the exit code into 1 (it reports the promises of the test's finished runs as leaked), which would read as a
 * failure; a handle left open cannot hold the bench anyway, since the time budget stops the run. Its printed
 * timing table is parsed.
 */
import { execFile, spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { performance } from "perf_hooks";
import { postgresEnvFile } from "../test/e2e/infra/postgres";

const REPO_ROOT = path.join(__dirname, "..");
export const E2E_TEST = "test/e2e/deploy.e2e.test.ts";
const MOCHA_CONFIG = ".mocharc.e2e.json";

export type E2eReport =
    | { status: "skipped"; reason: string }
    | {
          status: "ran";
          /** Rows of the test's timing table, in its order. */
          rows: { step: string; ms: number }[];
          passing: number;
          failing: number;
          exitCode: number | null;
          wallMs: number;
          command: string;
          /** The failing tests' first lines, when any failed. */
          failures: string[];
          /** Mocha's report of the failures (the lines after "N failing"), when any failed. */
          failureDetails: string;
          timedOut: boolean;
      };

function run(file: string, args: string[], timeoutMs: number): Promise<{ code: number | null; stdout: string; stderr: string }> {
    return new Promise(resolve => {
        execFile(file, args, { cwd: REPO_ROOT, timeout: timeoutMs }, (error, stdout, stderr) => {
            const code = error ? (typeof (error as { code?: unknown }).code === "number" ? ((error as { code: number }).code) : 1) : 0;
            resolve({ code, stdout, stderr });
        });
    });
}

/** Why the e2e timings cannot be taken here, or undefined when everything they need is available. */
export async function e2eUnavailable(): Promise<string | undefined> {
    const info = await run("docker", ["info", "--format", "{{.ServerVersion}}"], 15_000).catch(error => ({
        code: 1,
        stdout: "",
        stderr: String(error),
    }));
    if (info.code !== 0) {
        const detail = (info.stderr || info.stdout).trim().split("\n").filter(Boolean).pop() ?? `exit code ${info.code}`;
        return `Docker not available (\`docker info\` failed: ${detail})`;
    }
    const envFile = postgresEnvFile();
    if (!fs.existsSync(envFile)) {
        return `the e2e PostgreSQL is not set up (${path.basename(envFile)} of test/e2e/infra/start-postgres.sh not found)`;
    }
    if (!fs.existsSync(path.join(REPO_ROOT, E2E_TEST))) {
        return `${E2E_TEST} is not in this checkout`;
    }
    return undefined;
}

/** Parses mocha's output: the "timing (ms)" table the deploy test prints, and the passing/failing counts. */
export function parseOutput(output: string) {
    const rows: { step: string; ms: number }[] = [];
    const lines = output.split(/\r?\n/);
    const start = lines.findIndex(line => /^\s*timing \(ms\)\s*$/.test(line));
    if (start >= 0) {
        for (const line of lines.slice(start + 1)) {
            const match = /^\s+(\S.*?)\s{2,}(\d+(?:\.\d+)?)\s*$/.exec(line);
            if (!match) break;
            rows.push({ step: match[1], ms: Number(match[2]) });
        }
    }
    const count = (word: string) => Number(new RegExp(`(\\d+) ${word}`).exec(output)?.[1] ?? 0);
    // Failing tests as the spec reporter lists them during the run (before its "N passing" summary).
    const summaryAt = lines.findIndex(line => /^\s*\d+ passing/.test(line));
    const failures = lines
        .slice(0, summaryAt < 0 ? lines.length : summaryAt)
        .filter(line => /^\s+\d+\) /.test(line))
        .map(line => line.trim());
    const failingAt = lines.findIndex(line => /^\s*\d+ failing/.test(line));
    const failureDetails = failingAt < 0 ? "" : lines.slice(failingAt + 1, failingAt + 40).join("\n").trim();
    return { rows, passing: count("passing"), failing: count("failing"), failures: [...new Set(failures)], failureDetails };
}

export async function runE2e(timeoutMs: number, log: (line: string) => void = () => undefined): Promise<E2eReport> {
    const unavailable = await e2eUnavailable();
    if (unavailable) {
        return { status: "skipped", reason: unavailable };
    }
    const config = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, MOCHA_CONFIG), "utf8")) as {
        require?: string[];
        extension?: string[];
        timeout?: number;
    };
    const args = [
        "mocha",
        "--no-config",
        ...(config.require ?? []).flatMap(module => ["--require", module]),
        ...(config.extension ?? []).flatMap(extension => ["--extension", extension]),
        ...(config.timeout ? ["--timeout", String(config.timeout)] : []),
        E2E_TEST,
    ];
    const command = `npx ${args.join(" ")}`;
    log(`e2e: ${command} (stopped after ${Math.round(timeoutMs / 1000)} s)`);
    const started = performance.now();
    const result = await new Promise<{ code: number | null; output: string; timedOut: boolean }>(resolve => {
        // detached: its own process group, so that a timeout stops mocha and everything it started.
        const child = spawn("npx", args, { cwd: REPO_ROOT, stdio: ["ignore", "pipe", "pipe"], detached: true });
        let output = "";
        let timedOut = false;
        child.stdout.on("data", chunk => (output += chunk));
        child.stderr.on("data", chunk => (output += chunk));
        const stop = (signal: NodeJS.Signals) => {
            try {
                process.kill(-child.pid!, signal);
            } catch {
                // already gone
            }
        };
        let escalation: NodeJS.Timeout | undefined;
        // SIGINT first, so that mocha runs the test's `after` (which removes its containers); then SIGKILL.
        const timer = setTimeout(() => {
            timedOut = true;
            stop("SIGINT");
            escalation = setTimeout(() => stop("SIGKILL"), 30_000);
        }, timeoutMs);
        child.on("close", code => {
            clearTimeout(timer);
            clearTimeout(escalation);
            resolve({ code, output, timedOut });
        });
    });
    const wallMs = performance.now() - started;
    const parsed = parseOutput(result.output);
    if (parsed.rows.length === 0) {
        const tail = result.output.trim().split("\n").slice(-5).join(" / ");
        return {
            status: "skipped",
            reason: result.timedOut
                ? `${E2E_TEST} did not finish within the time left (${Math.round(timeoutMs / 1000)} s)`
                : `${E2E_TEST} printed no timing table (exit code ${result.code}): ${tail.slice(0, 400)}`,
        };
    }
    return { status: "ran", ...parsed, exitCode: result.code, wallMs, command, timedOut: result.timedOut };
}

if (require.main === module) {
    runE2e(10 * 60_000, line => console.log(line)).then(report => console.log(JSON.stringify(report, null, 1)));
}
