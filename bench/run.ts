/**
 * The benchmark harness (`npm run bench`): every measurement side by side with the floor measured in the same
 * run, on a throw-away PostgreSQL and server started here. Writes the result JSON, BENCHMARKS.md (tables, the
 * machine, the exact command, and an honest reading) and a latency chart (SVG, drawn with Vega-Lite).
 *
 *   npm run bench                 full
 *   npm run bench -- --quick      quick (under 2 minutes)
 *   npm run bench -- --tiny       tiny numbers (the test suite runs this so the harness cannot rot)
 *   --out DIR                     where results, chart and markdown go (default: bench/results, BENCHMARKS.md)
 *   --render FILE                 BENCHMARKS.md and the chart again from a result file, without measuring
 *
 * BENCHMARKS.md (the default one, not with --out) ends with the soak's section ("## 5. Soak", `npm run soak`),
 * rendered from the newest bench/results/soak-*.json: `npm run soak` re-renders BENCHMARKS.md the same way, from
 * the newest bench/results/bench-*.json (renderBenchmarks), so each keeps the other's part.
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { parseArgs } from "node:util";
import { fanoutSection } from "./fanout.ts";
import { LATENCY_TARGETS, type LatencyKindResult, type LatencyResult } from "./latency.ts";
import { runIfMain, stdoutLog } from "./lib/cli.ts";
import { REPO_ROOT } from "./lib/procs.ts";
import { RESULTS_DIR, defaultResultPath, fmtMs, fmtRatio, md, writeJson } from "./lib/report.ts";
import { runSyncBench, type SyncBenchResult } from "./sync.ts";
import { THROUGHPUT_MODES, runThroughput, type ThroughputResult } from "./throughput.ts";
import { CATCHUP_MODES, runCatchup, type CatchupResult } from "./catchup.ts";
import { FOLLOW_MODES, followSection, runFollow, type FollowResult } from "./follow.ts";
import { RATE_LATENCY_MODES, rateLatencySection, runRateLatency, type RateLatencyResult } from "./latency-rate.ts";
import { benchDatabase } from "./lib/cli.ts";
import { newestSoakResult, soakChart, soakSection } from "./soak-report.ts";

/** One harness run: the sync engine parts, then throughput. */
export type BenchResult = SyncBenchResult & { latencyRate?: RateLatencyResult; throughput?: ThroughputResult; follow?: FollowResult; catchup?: CatchupResult };

type Mode = "full" | "quick" | "tiny";

/** Sizes of each mode (tiny: seconds, only so that every part runs). */
const MODES: Record<Mode, { latency: { samples?: string }; fanout: { n?: string; rounds?: string; generators?: string } }> = {
  full: { latency: {}, fanout: {} },
  quick: { latency: {}, fanout: {} },
  tiny: { latency: { samples: "8" }, fanout: { n: "40", rounds: "2", generators: "1" } },
};

const LATENCY_NAMES: [keyof Pick<LatencyResult, "runcast" | "runcastSse" | "pgoutput" | "relay" | "notify">, string][] = [
  ["runcast", "Runcast, held /v1/shape long-poll"],
  ["runcastSse", "Runcast, /v1/shape SSE stream"],
  ["pgoutput", "floor: pgoutput client in the writer's process"],
  ["relay", "floor: pgoutput → bare HTTP relay process"],
  ["notify", "LISTEN/NOTIFY"],
];

/** The latency chart: p50, p90, p99 and max of each subscriber kind, from the UPDATE's send (ms). */
export async function latencyChart(r: LatencyResult): Promise<string> {
  const vega = await import("vega");
  const { compile } = await import("vega-lite");
  const values = LATENCY_NAMES.flatMap(([key, name]) => {
    const s = (r[key] as LatencyKindResult).fromSend;
    return (["p50", "p90", "p99", "max"] as const).map((p) => ({ subscriber: name, percentile: p, ms: Math.round(s[p] * 100) / 100 }));
  });
  const spec = compile({
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: "Commit → subscriber latency (ms, from the UPDATE's send)",
    width: 520,
    height: 220,
    data: { values },
    mark: "bar",
    encoding: {
      y: { field: "subscriber", type: "nominal", title: null, sort: null, axis: { labelLimit: 320 } },
      x: { field: "ms", type: "quantitative", title: "ms" },
      yOffset: { field: "percentile", sort: ["p50", "p90", "p99", "max"] },
      color: { field: "percentile", type: "nominal", sort: ["p50", "p90", "p99", "max"] },
    },
    config: { background: "white", font: "sans-serif" },
  } as Parameters<typeof compile>[0]).spec;
  const view = new vega.View(vega.parse(spec), { renderer: "none" });
  return view.toSVG();
}

function latencySection(r: LatencyResult, chartPath: string | undefined): string {
  const rows = [["subscriber", "p50", "p99", "max", "p50 ÷ pgoutput floor"]];
  for (const [key, name] of LATENCY_NAMES) {
    const k = r[key] as LatencyKindResult;
    rows.push([name, fmtMs(k.fromSend.p50), fmtMs(k.fromSend.p99), fmtMs(k.fromSend.max), fmtRatio(k.fromSend.p50 / r.pgoutput.fromSend.p50)]);
  }
  const met = r.ratioP50 <= LATENCY_TARGETS.p50Ratio;
  return [
    "## 1. Commit → subscriber latency",
    "",
    "### One update at a time",
    "",
    "One subscriber of each kind waits for a row change; the time runs from just before the `UPDATE` is sent until the subscriber has the change (ms).",
    "",
    md(rows),
    "",
    chartPath ? `![Latency by subscriber](${chartPath})\n` : "",
    `Runcast ÷ pgoutput floor: p50 ${fmtRatio(r.ratioP50)} (target ≤ ${LATENCY_TARGETS.p50Ratio}: ${met ? "met" : "**missed**"}), p99 ${fmtRatio(r.ratioP99)}; Runcast ÷ relay floor p50 ${fmtRatio(r.relayRatioP50)}.`,
    met
      ? ""
      : "Reading: the in-process pgoutput client sees the change inside the writer's process; any server must add a process hop and an HTTP response. The relay floor (pgoutput plus a bare HTTP long-poll in its own process) measures that hop, and Runcast's ratio to it is the cost of Runcast itself.",
  ].join("\n");
}

/** BENCHMARKS.md from one run. */
function throughputSection(t: ThroughputResult): string {
  return [
    "## 3. Throughput",
    "",
    "### Trigger calls and runs",
    "",
    `${t.config.triggers} trigger calls and ${t.config.runs} no-op runs, ${t.config.concurrency} requests in flight.`,
    "",
    md([
      ["measure", "per second", "floor", "÷ floor"],
      ["trigger calls (HTTP API → run row)", String(t.triggersPerS), `${t.rawInsertsPerS} raw INSERTs of a run-sized row`, fmtRatio(t.triggerRatio)],
      ["no-op runs end to end (trigger → worker → COMPLETED, one worker of 20 slots)", String(t.runsPerS), "–", "–"],
    ]),
    "",
    `Reading: the server spends ${t.serverCpuMsPerTrigger} ms of CPU per trigger. A CPU profile of this path shows most of it in the database client's socket writes: a trigger is about ten statements (transaction, the task's shared lock, the task, the run, its history row, commit), each a write on this machine's slow syscalls, against one for the floor. Fewer round trips per trigger (one statement) is the known next step.`,
  ].join("\n");
}

function catchupSection(c: CatchupResult): string {
  const row = (name: string, k: CatchupResult["withinBudget"]) => [name, k.outcome, String(k.read), String(k.msToCurrent)];
  return [
    "## 4. Catch-up",
    "",
    `A /v1/shape subscriber stops reading while ${c.config.changes} row changes commit (transactions of ${c.config.rows}), then resumes from its offset.`,
    "",
    md([
      ["case", "what the subscriber got", "changes read", "ms to up to date"],
      row(`within the log budget (${c.config.largeBudgetBytes / 2 ** 20} MiB)`, c.withinBudget),
      row(`past it (a ${c.config.smallBudgetBytes / 1024} KiB budget)`, c.pastBudget),
    ]),
    "",
    "The log's budget is set with RUNCAST_SHAPE_LOG_BYTES (16 MiB by default, about 90,000 changes of this table): the first case uses a budget that holds what the subscriber missed.",
    "",
    `Memory: while ${c.config.flow} changes flowed through a shape with a live reader, the server's RSS went from ${c.flowRssMb.before} MiB to at most ${c.flowRssMb.max} MiB, with the ${c.config.largeBudgetBytes / 2 ** 20} MiB log budget of the first case (the budget bounds what a shape keeps).`,
  ].join("\n");
}

export function benchmarksMarkdown(r: BenchResult, mode: Mode, command: string, chartPath: string | undefined): string {
  const e = r.environment;
  return [
    "# Benchmarks",
    "",
    `Measured by \`${command}\` on ${r.date} (${mode}, ${r.durationS} s), commit ${e.commit ?? "unknown"}${e.uncommittedInPackages ? ` with ${e.uncommittedInPackages} uncommitted files in packages/` : ""}.`,
    `Machine: ${e.cpus} × ${e.cpuModel ?? "?"}, ${e.totalMemMb} MiB, ${e.platform}, Node ${e.node}; load at start ${e.loadavgAtStart.join(" ")}.`,
    ...(e.postgres || e.runcast ? [`Versions: Runcast ${e.runcast ?? "?"}, PostgreSQL ${e.postgres ?? "?"} (embedded, wal_level=logical), Node ${e.node}.`] : []),
    "Every figure comes with a floor measured in the same run, on the same machine: compare the ratios, not the milliseconds. Rerun it on your own hardware with the command above (`bench/README.md` explains each part).",
    "",
    r.latency ? latencySection(r.latency, chartPath) : "## 1. Commit → subscriber latency\n\nNot measured in this run.",
    "",
    ...(r.latencyRate ? [rateLatencySection(r.latencyRate), ""] : []),
    r.fanout ? fanoutSection(r.fanout) : "## 2. Fan-out\n\nNot measured in this run.",
    "",
    r.throughput ? throughputSection(r.throughput) : "## 3. Throughput\n\nNot measured in this run.",
    "",
    ...(r.follow ? [followSection(r.follow), ""] : []),
    r.catchup ? catchupSection(r.catchup) : "## 4. Catch-up\n\nNot measured in this run.",
    "",
  ].join("\n");
}

export async function runBench(mode: Mode, outDir: string | undefined, log: (line: string) => void): Promise<{ result: BenchResult; json: string; markdown: string; chart?: string }> {
  const sizes = MODES[mode];
  const result: BenchResult = await runSyncBench({
    quick: mode !== "full",
    only: undefined,
    latency: { quick: mode !== "full", ...sizes.latency },
    fanout: { quick: mode !== "full", ...sizes.fanout },
    log,
  });
  const started = Date.now();
  const db = await benchDatabase(log);
  try {
    result.latencyRate = await runRateLatency({ databaseUrl: db.url, ...RATE_LATENCY_MODES[mode], rates: [...RATE_LATENCY_MODES[mode].rates], log });
    result.throughput = await runThroughput({ databaseUrl: db.url, ...THROUGHPUT_MODES[mode], log });
    result.follow = await runFollow({ databaseUrl: db.url, ...FOLLOW_MODES[mode], rates: [...FOLLOW_MODES[mode].rates], log });
    result.catchup = await runCatchup({ databaseUrl: db.url, ...CATCHUP_MODES[mode], log });
  } finally {
    await db.stop();
  }
  result.durationS += Math.round((Date.now() - started) / 1000);
  const date = new Date(result.date);
  const json = writeJson(outDir ? join(outDir, "bench.json") : defaultResultPath("bench", date), result);
  const markdown = outDir ? join(outDir, "BENCHMARKS.md") : join(REPO_ROOT, "BENCHMARKS.md");
  let chart: string | undefined;
  if (result.latency) {
    chart = outDir ? join(outDir, "latency.svg") : join(RESULTS_DIR, "latency.svg");
    mkdirSync(join(chart, ".."), { recursive: true });
    writeFileSync(chart, await latencyChart(result.latency));
  }
  const command = `npm run bench${mode === "full" ? "" : ` -- --${mode}`}`;
  const soak = outDir ? "" : await soakPart(markdown);
  writeFileSync(markdown, benchmarksMarkdown(result, mode, command, chart ? relative(join(markdown, ".."), chart) : undefined) + soak);
  return { result, json, markdown, ...(chart ? { chart } : {}) };
}

/** The soak's section from the newest soak result (and its chart, bench/results/soak.svg), or "" when there is none. */
async function soakPart(markdown: string): Promise<string> {
  const soak = newestSoakResult();
  if (!soak) return "";
  const chart = join(RESULTS_DIR, "soak.svg");
  writeFileSync(chart, await soakChart(soak.result));
  return `\n${soakSection(soak.result, relative(join(markdown, ".."), chart))}\n`;
}

/** The newest bench/results/bench-*.json, if any. */
export function newestBenchResultFile(): string | undefined {
  try {
    return readdirSync(RESULTS_DIR)
      .filter((f) => /^bench-.*\.json$/.test(f))
      .sort()
      .map((f) => join(RESULTS_DIR, f))
      .pop();
  } catch {
    return undefined;
  }
}

/**
 * BENCHMARKS.md and its charts again, without measuring: the harness's sections from a bench result file (the
 * newest bench/results/bench-*.json by default), then the soak's from the newest soak result. Returns the
 * bench result file used.
 */
export async function renderBenchmarks(file = newestBenchResultFile()): Promise<string> {
  if (!file) throw new Error(`no bench result in ${RESULTS_DIR} to render BENCHMARKS.md from (npm run bench makes one)`);
  const result = JSON.parse(readFileSync(file, "utf8")) as BenchResult & { mode?: Mode; command?: string };
  const markdown = join(REPO_ROOT, "BENCHMARKS.md");
  const chart = join(RESULTS_DIR, "latency.svg");
  if (result.latency) writeFileSync(chart, await latencyChart(result.latency));
  const mode: Mode = result.mode ?? "full";
  const soak = await soakPart(markdown);
  writeFileSync(markdown, benchmarksMarkdown(result, mode, `npm run bench${mode === "full" ? "" : ` -- --${mode}`}`, result.latency ? relative(join(markdown, ".."), chart) : undefined) + soak);
  return file;
}

/** BENCHMARKS.md and the chart again from a result file (after the report's text changed): no measuring. */
async function render(file: string): Promise<void> {
  await renderBenchmarks(file);
  stdoutLog(`${join(REPO_ROOT, "BENCHMARKS.md")} rendered from ${file}`);
}

runIfMain(import.meta.url, async () => {
  const { values } = parseArgs({ options: { quick: { type: "boolean" }, tiny: { type: "boolean" }, out: { type: "string" }, render: { type: "string" } }, strict: true });
  if (values.render) return render(values.render);
  const mode: Mode = values.tiny ? "tiny" : values.quick ? "quick" : "full";
  const { result, json, markdown, chart } = await runBench(mode, values.out, stdoutLog);
  stdoutLog(`\n${result.durationS} s; results: ${json}; ${markdown}${chart ? `; chart: ${chart}` : ""}`);
});
