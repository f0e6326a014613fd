/**
 * `npm run bench`: runs the construction, readiness and end-to-end benchmarks one after the other (so that they
 * do not disturb each other) and writes BENCHMARKS.md at the repository root. Not part of the tests.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { performance } from "perf_hooks";
import { ConstructionReport, runConstruction } from "./construction";
import { E2eReport, runE2e } from "./e2e";
import { DEFAULT_READINESS_OPTIONS, ReadinessReport, runReadiness, Summary } from "./readiness";

const REPO_ROOT = path.join(__dirname, "..");
const OUTPUT = path.join(REPO_ROOT, "BENCHMARKS.md");

/** The whole of `npm run bench` must stay under 5 minutes; the build before this script takes some of it. */
const BUDGET_MS = 5 * 60_000;
const RESERVED_FOR_BUILD_AND_WRITE_MS = 40_000;

const CONSTRUCTION_RATIO_GOAL = 1.2;
const READINESS_P50_GOAL_MS = 250;

function log(line: string): void {
    process.stderr.write(`[bench] ${line}\n`);
}

/** How this run was started, as typed. */
function invocation(): string {
    if (process.env.npm_lifecycle_event === "bench") {
        const script = process.env.npm_lifecycle_script;
        return "`npm run bench`" + (script ? `, which runs \`${script}\`` : "");
    }
    return "`" + process.argv.map(arg => (path.isAbsolute(arg) ? path.relative(REPO_ROOT, arg) || "." : arg)).join(" ") + "`";
}

const ms = (value: number) => (Number.isFinite(value) ? `${Math.round(value)} ms` : "n/a");
const mib = (value: number) => `${value.toFixed(1)} MiB`;
const ratio = (value: number) => `${value.toFixed(2)}×`;
const met = (ok: boolean) => (ok ? "**met**" : "**not met**");

function constructionSection(report: ConstructionReport): { text: string; goal: boolean } {
    const goal = report.rows.every(row => row.timeRatio <= CONSTRUCTION_RATIO_GOAL);
    const lines = [
        "## Construction cost under mocks",
        "",
        "Program A constructs N `IdentityService` instances (Docker target, `docker.build` with a fake context, the",
        "fixture signing certificate, Creatio 8.2.3, generated credentials, one host port per instance). Program B",
        "registers the same seven resources per instance by hand (RandomString, RandomPassword, the re-seed Command,",
        "Image, Container, the readiness Command, the retire Command) without a parent. Both run under",
        "`test/support/mocks.ts`.",
        `Check that B is equivalent: the inputs the mocks received from A's children and from B (N = 1, secret markers included) are ${
            report.equivalence.equal ? "identical" : "**different**: " + report.equivalence.differences.join("; ")
        } (${report.equivalence.resources} resources).`,
        "",
        "Each measurement is a fresh `node` process. Time runs from the first constructor call until every output",
        "has resolved (A: every output of every component; B: `urn`, `id` and the used outputs of every resource) and",
        "no Pulumi RPC is in flight. Stack traces are formatted by V8 as for compiled JavaScript (ts-node's",
        "source-map-support is switched off after loading, see `bench/construction.ts`). Medians of the repeats;",
        "A and B alternate.",
        "",
        "| N | repeats | A wall | B wall | **ratio A/B** | goal ≤ 1.2× | A CPU | B CPU | CPU ratio | A constructors | B constructors |",
        "|---:|---:|---:|---:|---:|:---:|---:|---:|---:|---:|---:|",
        ...report.rows.map(
            row =>
                `| ${row.instances} | ${row.repeats} | ${ms(row.median.a.constructionMs)} | ${ms(row.median.b.constructionMs)} | **${ratio(row.timeRatio)}** | ${
                    row.timeRatio <= CONSTRUCTION_RATIO_GOAL ? "yes" : "no"
                } | ${ms(row.median.a.cpuMs)} | ${ms(row.median.b.cpuMs)} | ${ratio(row.median.a.cpuMs / row.median.b.cpuMs)} | ${ms(
                    row.median.a.synchronousMs,
                )} | ${ms(row.median.b.synchronousMs)} |`,
        ),
        "",
        "\"constructors\": the part of the wall time spent in the synchronous constructor calls, before the first await.",
        "",
        "| N | A peak RSS | B peak RSS | RSS ratio | A RSS before | B RSS before | A heap used | B heap used | A module load | B module load |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        ...report.rows.map(
            row =>
                `| ${row.instances} | ${mib(row.median.a.peakRssMiB)} | ${mib(row.median.b.peakRssMiB)} | ${ratio(row.peakRssRatio)} | ${mib(
                    row.median.a.rssBeforeMiB,
                )} | ${mib(row.median.b.rssBeforeMiB)} | ${mib(row.median.a.heapUsedMiB)} | ${mib(row.median.b.heapUsedMiB)} | ${ms(
                    row.median.a.moduleLoadMs,
                )} | ${ms(row.median.b.moduleLoadMs)} |`,
        ),
        "",
        "Peak RSS is `process.resourceUsage().maxRSS` of the whole process (modules included; \"RSS before\" is the RSS",
        "when construction started). Heap used is `process.memoryUsage().heapUsed` after construction, without a forced",
        "GC. Module load is the time to require the mocks, the Pulumi SDK and providers, and for A the package (`bin/`),",
        "excluded from the wall time above.",
        "",
        `Goal (ratio ≤ ${CONSTRUCTION_RATIO_GOAL}× for every N): ${met(goal)}.`,
        "",
        "<details><summary>Every run (wall ms)</summary>",
        "",
        ...report.rows.map(
            row =>
                `- N = ${row.instances}: A ${row.a.map(r => Math.round(r.constructionMs)).join(", ")}; B ${row.b
                    .map(r => Math.round(r.constructionMs))
                    .join(", ")}`,
        ),
        "",
        "</details>",
    ];
    return { text: lines.join("\n"), goal };
}

function summaryRow(name: string, summary: Summary, trials: number): string {
    return `| ${name} | ${summary.passed}/${trials} | ${ms(summary.p50)} | ${ms(summary.p95)} | ${ms(summary.max)} | ${ms(summary.min)} | ${ms(
        summary.detectionP50,
    )} |`;
}

function readinessSection(report: ReadinessReport): { text: string; goal: boolean } {
    const { options } = report;
    const p50 = report.package.summary.p50;
    const goal = report.package.summary.failed === 0 && p50 <= READINESS_P50_GOAL_MS;
    const lines = [
        "## Readiness detection latency",
        "",
        `${options.trials} trials. Each starts a local HTTP server on 127.0.0.1:0 that answers 503 until a random delay`,
        `(uniform ${options.minDelayMs / 1000}–${options.maxDelayMs / 1000} s, mulberry32 seed ${options.seed}) has elapsed, then serves a`,
        "discovery document with an `issuer` and issues a token for the right client. Latency: from the instant the",
        "server switches to ready until the gate passes.",
        "",
        "- **package**: the real `src/scripts/readiness.js` as a child process (environment as the component sets it,",
        "  secret on stdin, default poll interval of 200 ms), until it exits with code 0;",
        `  ${options.packageConcurrency} trial(s) at a time (${os.cpus().length} cores), wall time ${ms(report.package.wallMs)}.`,
        "- **fixed 5 s**: a poller in the bench, as common deploy scripts wait (`until check; do sleep 5; done`), with",
        `  the same check (discovery with an issuer, then a token); all ${options.trials} trials at once (they sleep),`,
        `  wall time ${ms(report.fixed.wallMs)}. Same delays as the package's trials.`,
        "",
        "| poller | passed | p50 | p95 | max | min | detection p50 |",
        "|---|---:|---:|---:|---:|---:|---:|",
        summaryRow("package (readiness.js)", report.package.summary, options.trials),
        summaryRow("fixed 5 s", report.fixed.summary, options.trials),
        "",
        "Percentiles are nearest-rank. \"detection\": ready until the token was issued (the rest is the gate finishing;",
        "for the package, the child process exiting).",
        "",
        `Goal (package p50 ≤ ${READINESS_P50_GOAL_MS} ms, no failed trial): ${met(goal)} (p50 ${ms(p50)}, ${
            report.package.summary.failed
        } failed).`,
    ];
    const failures = [...report.package.trials, ...report.fixed.trials].filter(t => t.error);
    if (failures.length > 0) {
        lines.push("", "Failed trials:", "", ...failures.map(t => `- trial ${t.index}: ${t.error}`));
    }
    return { text: lines.join("\n"), goal };
}

function e2eSection(report: E2eReport): string {
    const lines = ["## End-to-end (real Docker)", ""];
    if (report.status === "skipped") {
        lines.push(`skipped: ${report.reason}.`);
        return lines.join("\n");
    }
    lines.push(
        "From the timing table `test/e2e/deploy.e2e.test.ts` prints: the component's program deployed to the real Docker",
        "Engine and PostgreSQL of the e2e infra scripts by the test's executor (`test/e2e/support/executor.ts`, which",
        "performs the resource operations for real in place of the Pulumi engine and providers).",
        "",
        `Command: \`${report.command}\`; ${report.passing} passing, ${report.failing} failing, exit code ${report.exitCode}${
            report.timedOut ? ", **stopped at the time budget**" : ""
        }, wall time ${ms(report.wallMs)}.`,
        "",
        "| step | time |",
        "|---|---:|",
        ...report.rows.map(row => `| ${row.step} | ${ms(row.ms)} |`),
        "",
        "Rows ending in \"longest time without an answer\": during that run, token requests with the old credentials",
        "went on one after another; this is the longest stretch in which the service did not answer at all (the",
        "container being replaced: its name and port are fixed, so the old one goes first). The test asserts that none",
        "of those requests was refused before the retire step started, and that the new credentials get a token as soon",
        "as the run returns.",
    );
    if (report.failures.length > 0) {
        lines.push(
            "",
            "Failing tests (their timings may be partial):",
            "",
            ...report.failures.map(f => `- ${f}`),
            "",
            "<details><summary>mocha's failure report</summary>",
            "",
            "```",
            report.failureDetails,
            "```",
            "",
            "</details>",
        );
    }
    return lines.join("\n");
}

async function main(): Promise<void> {
    const started = performance.now();
    const startedAt = new Date();
    const loadBefore = os.loadavg();

    log("construction (fresh process per measurement)");
    const construction = await runConstruction(undefined, log);

    log("readiness");
    const readiness = await runReadiness(DEFAULT_READINESS_OPTIONS, log);

    const left = BUDGET_MS - RESERVED_FOR_BUILD_AND_WRITE_MS - (performance.now() - started);
    log(`e2e (${Math.round(left / 1000)} s left in the budget)`);
    const e2e: E2eReport =
        left > 30_000 ? await runE2e(left, log) : { status: "skipped", reason: "no time left in the 5-minute budget" };

    const totalMs = performance.now() - started;
    const loadAfter = os.loadavg();
    const constructionPart = constructionSection(construction);
    const readinessPart = readinessSection(readiness);
    const cpus = os.cpus();
    const text = [
        "# Benchmarks",
        "",
        "Written by `npm run bench` (bench/run.ts); not part of the tests.",
        "",
        `- Date: ${startedAt.toISOString()}`,
        `- Command: ${invocation()}`,
        `- Cores (\`os.cpus().length\`): ${cpus.length}${cpus[0] ? ` (${cpus[0].model.trim()})` : ""}`,
        `- Node: ${process.version}, ${os.platform()} ${os.arch()}`,
        `- Load average (1 min) at start / end: ${loadBefore[0].toFixed(2)} / ${loadAfter[0].toFixed(2)}`,
        `- Time of bench/run.ts: ${(totalMs / 1000).toFixed(1)} s (the build before it not included)`,
        "",
        "| goal | result |",
        "|---|---|",
        `| construction ratio A/B ≤ ${CONSTRUCTION_RATIO_GOAL}× (N = ${construction.rows.map(r => r.instances).join(", ")}) | ${met(
            constructionPart.goal,
        )}: ${construction.rows.map(r => ratio(r.timeRatio)).join(", ")} |`,
        `| readiness p50 ≤ ${READINESS_P50_GOAL_MS} ms | ${met(readinessPart.goal)}: p50 ${ms(readiness.package.summary.p50)}, p95 ${ms(
            readiness.package.summary.p95,
        )} (fixed 5 s poller: p50 ${ms(readiness.fixed.summary.p50)}) |`,
        `| end-to-end timings | ${e2e.status === "ran" ? `${e2e.rows.length} steps timed` : "skipped"} |`,
        "",
        constructionPart.text,
        "",
        readinessPart.text,
        "",
        e2eSection(e2e),
        "",
    ].join("\n");
    fs.writeFileSync(OUTPUT, text);
    log(`wrote ${path.relative(process.cwd(), OUTPUT) || OUTPUT} in ${(totalMs / 1000).toFixed(1)} s`);
}

main().catch(error => {
    console.error(error);
    process.exit(1);
});
