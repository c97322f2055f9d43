/**
 * The soak's result (bench/soak.ts) as a BENCHMARKS.md section and a chart. Its own module so that both the soak
 * and the harness (bench/run.ts, which writes BENCHMARKS.md) render it without importing each other.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fmtMs, md, RESULTS_DIR } from "./lib/report.ts";
import type { environment } from "./lib/report.ts";
import type { SettledMemory } from "./lib/procs.ts";

export type SoakMode = "full" | "quick" | "tiny";

/** Latency figures of a window or a table row, ms. */
export interface Percentiles {
  n: number;
  p50: number;
  p99: number;
  max: number;
}

/** One sampling window (every `windowS` seconds). */
export interface SoakWindow {
  /** End of the window, seconds since the measurement started. */
  t: number;
  /** VmRSS of each server process at the end of the window, MiB. */
  rssMb: { a: number; b: number };
  /** Server CPU over the window, % of one core. */
  cpuPct: { a: number; b: number };
  /** The load generators' CPU over the window, % of one core (all of them). */
  generatorCpuPct: number;
  /** Established TCP connections to each server at the end of the window (subscribers, probes, triggers, the worker). */
  connections: { a: number; b: number };
  /** Row subscribers that had at least one change during the window (of `config.subscribers`). */
  delivered: { a: number; b: number };
  /** Every row subscriber's first change of the window, from just before its UPDATE was sent. */
  held: Percentiles;
  /** The probes (one per node, pooled), from just before the probe UPDATE was sent. */
  probe: Percentiles;
  /** Trigger calls that ended in the window (both nodes): latency of the HTTP call. */
  trigger: Percentiles & { errors: number };
  /** Runs of the no-op task COMPLETED so far, and triggered so far. */
  runsCompleted: number;
  triggered: number;
  /** Subscriber errors the generators reported in the window (refused or failed requests; should be 0). */
  errors: number;
}

/** A row of the report's table: one window, or a minute of them. */
export interface SoakRow {
  label: string;
  rssMb: { a: number; b: number };
  cpuPct: { a: number; b: number };
  delivered: { a: number; b: number };
  probe: Percentiles;
  held: Percentiles;
  trigger: Percentiles & { errors: number };
  runsCompleted: number;
  triggered: number;
}

export interface SoakVerdict {
  /** Windows in a quarter of the run. */
  quarterWindows: number;
  memory: {
    /**
     * Growth allowed from the end of the first quarter to the end, of VmRSS as read and of the heap after
     * forced full GCs (what the server retains): the larger of boundMb and boundPct.
     */
    boundMb: number;
    boundPct: number;
    nodes: { a: NodeMemory; b: NodeMemory };
    flat: boolean;
  };
  latency: {
    /** The last quarter's probe p99 may be at most `factor` × the first quarter's. */
    factor: number;
    probeP99: { first: number; last: number };
    probeP50: { first: number; last: number };
    heldP99: { first: number; last: number };
    flat: boolean;
  };
}

export interface NodeMemory {
  /** VmRSS at the end of the first quarter and at the end, MiB. */
  startMb: number;
  endMb: number;
  growthMb: number;
  growthPct: number;
  /** Least-squares slope of VmRSS from the end of the first quarter on, MiB per minute. */
  slopeMbPerMin: number;
  /** Heap in use + external after two forced full GCs, at the end of the first quarter and at the end, MiB. */
  heapAfterGcMb: { start: number; end: number };
  /** VmRSS after those GCs (what the process retains), MiB; absent from soaks before it was recorded. */
  rssAfterGcMb?: { start: number; end: number };
}

/** How a node's memory grew from the end of the first quarter to the end: VmRSS as read, and the heap after full GCs. */
type Growth = { what: string; startMb: number; growthMb: number };
export function memoryGrowth(n: NodeMemory): [rss: Growth, heap: Growth] {
  return [
    { what: "VmRSS", startMb: n.startMb, growthMb: n.growthMb },
    { what: "heap after full GCs", startMb: n.heapAfterGcMb.start, growthMb: n.heapAfterGcMb.end - n.heapAfterGcMb.start },
  ];
}

export interface SoakResult {
  kind: "runcast-bench-soak";
  date: string;
  durationS: number;
  mode: SoakMode;
  command: string;
  environment: ReturnType<typeof environment>;
  config: {
    seconds: number;
    windowS: number;
    subscribers: number;
    perNode: number;
    generators: number;
    rows: number;
    writesPerS: number;
    probesPerS: number;
    triggersPerS: number;
    workerConcurrency: number;
    longPollMs: number;
    maxSubscriptions: number;
    reissue: "immediate";
  };
  setup: { openMs: { a: number; b: number }; openErrors: number };
  windows: SoakWindow[];
  table: SoakRow[];
  gcReadings: { firstQuarter: { a: SettledMemory; b: SettledMemory }; end: { a: SettledMemory; b: SettledMemory } };
  writes: { rows: number; probes: number };
  /** Probe updates a probe never saw (counted after a drain at the end; should be 0). */
  probeMissed: { a: number; b: number };
  runs: { triggered: number; triggerErrors: number; completed: number; byStatus: Record<string, number>; unfinished: number; drainS: number };
  /** Warnings of the generators (the first few are printed). */
  generatorWarnings: number;
  verdict: SoakVerdict;
}

/** The newest `bench/results/soak-*.json`, a full run if there is one (else a quick one), or undefined. */
export function newestSoakResult(dir = RESULTS_DIR): { file: string; result: SoakResult } | undefined {
  let files: string[];
  try {
    files = readdirSync(dir).filter((f) => /^soak-.*\.json$/.test(f)).sort().reverse();
  } catch {
    return undefined;
  }
  const read = files.map((f) => ({ file: join(dir, f), result: JSON.parse(readFileSync(join(dir, f), "utf8")) as SoakResult }));
  return read.find((r) => r.result.mode === "full") ?? read.find((r) => r.result.mode === "quick");
}

const mb = (v: number) => (Number.isFinite(v) ? v.toFixed(0) : "–");
const pct = (v: number) => (Number.isFinite(v) ? v.toFixed(0) : "–");

/** The "## 5. Soak" section of BENCHMARKS.md. */
export function soakSection(r: SoakResult, chartPath: string | undefined): string {
  const e = r.environment;
  const c = r.config;
  const v = r.verdict;
  const q = v.quarterWindows * c.windowS;
  const rows = [
    ["time", "RSS A MiB", "RSS B MiB", "CPU A %", "CPU B %", "subscribers with a change A / B", "probe p50 ms", "probe p99 ms", "all subscribers p99 ms", "trigger p50 ms", "trigger p99 ms", "runs completed / triggered"],
    ...r.table.map((row) => [
      row.label,
      mb(row.rssMb.a),
      mb(row.rssMb.b),
      pct(row.cpuPct.a),
      pct(row.cpuPct.b),
      `${row.delivered.a} / ${row.delivered.b}`,
      fmtMs(row.probe.p50),
      fmtMs(row.probe.p99),
      fmtMs(row.held.p99),
      fmtMs(row.trigger.p50),
      fmtMs(row.trigger.p99),
      `${row.runsCompleted} / ${row.triggered}${row.trigger.errors ? ` (${row.trigger.errors} errors)` : ""}`,
    ]),
  ];
  const node = (name: string, n: NodeMemory) =>
    `node ${name} VmRSS ${mb(n.startMb)} → ${mb(n.endMb)} MiB (${signed(n.growthMb)} MiB, ${signed(n.growthPct)} %, slope ${n.slopeMbPerMin.toFixed(2)} MiB/min), heap after full GCs ${mb(n.heapAfterGcMb.start)} → ${mb(n.heapAfterGcMb.end)} MiB (${signed(n.heapAfterGcMb.end - n.heapAfterGcMb.start)} MiB)${n.rssAfterGcMb ? `, VmRSS after them ${mb(n.rssAfterGcMb.start)} → ${mb(n.rssAfterGcMb.end)} MiB` : ""}`;
  const runsLine =
    r.runs.unfinished === 0 && r.runs.triggerErrors === 0
      ? `all ${r.runs.triggered} triggered runs COMPLETED`
      : `${r.runs.completed} of ${r.runs.triggered} triggered runs COMPLETED, **${r.runs.unfinished} unfinished** ${JSON.stringify(r.runs.byStatus)}${r.runs.triggerErrors ? `, **${r.runs.triggerErrors} trigger calls failed**` : ""}`;
  const errors = r.windows.reduce((s, w) => s + w.errors, 0);
  return [
    "## 5. Soak",
    "",
    `Measured by \`${r.command}\` on ${r.date} (${r.mode}, ${r.durationS} s in all), commit ${e.commit ?? "unknown"}${e.uncommittedInPackages ? ` with ${e.uncommittedInPackages} uncommitted files in packages/` : ""}.`,
    `Machine: ${e.cpus} × ${e.cpuModel ?? "?"}, ${e.totalMemMb} MiB, ${e.platform}, Node ${e.node}; load at start ${e.loadavgAtStart.join(" ")}.`,
    ...(e.postgres || e.runcast ? [`Versions: Runcast ${e.runcast ?? "?"}, PostgreSQL ${e.postgres ?? "?"} (embedded, wal_level=logical), Node ${e.node}.`] : []),
    "",
    `Two \`runcast start\` nodes (A and B) on one PostgreSQL, for ${c.seconds >= 60 ? `${Math.round((c.seconds / 60) * 10) / 10} minutes` : `${c.seconds} s`}: ${c.subscribers.toLocaleString("en")} held \`/v1/shape\` long-poll subscribers (${c.perNode.toLocaleString("en")} per node, each re-issuing its next request as soon as a response ends, as the Electric client does), each on one of ${c.rows} rows of a user table that a writer updates in turn, ${c.writesPerS} rows a second (every row every ${c.rows / c.writesPerS} s); ${c.triggersPerS} trigger calls a second of a no-op task, alternating between the nodes, executed by one \`runcast worker\` (${c.workerConcurrency} slots) on node A; and one probe subscriber per node on its own row, updated ${c.probesPerS === 1 ? "once" : `${c.probesPerS} times`} a second. Latency runs from just before an \`UPDATE\` is sent until the subscriber has the change. Every ${c.windowS} s: each server's RSS and CPU (% of one core), the subscribers that had a change (every one should: a row changes every ${c.rows / c.writesPerS} s; a row of the table shows the fewest of its windows), the probes' and all subscribers' latency, the trigger calls' latency, the runs completed.`,
    "",
    md(rows),
    "",
    chartPath ? `![RSS and probe latency over the soak](${chartPath})\n` : "",
    `Memory (flat when both VmRSS and the heap after two forced full GCs, what the server retains, grow by at most ${v.memory.boundMb} MiB or ${v.memory.boundPct} %, whichever is larger, from the end of the first quarter, ${q} s in, to the end): ${node("A", v.memory.nodes.a)}; ${node("B", v.memory.nodes.b)}: **${v.memory.flat ? "flat" : "not flat"}**.`,
    "",
    `Latency (flat when the last quarter's probe p99 is at most ${v.latency.factor} × the first quarter's): probe p99 ${fmtMs(v.latency.probeP99.first)} → ${fmtMs(v.latency.probeP99.last)} ms (p50 ${fmtMs(v.latency.probeP50.first)} → ${fmtMs(v.latency.probeP50.last)} ms); all ${c.subscribers.toLocaleString("en")} subscribers' p99 ${fmtMs(v.latency.heldP99.first)} → ${fmtMs(v.latency.heldP99.last)} ms: **${v.latency.flat ? "flat" : "not flat"}**.`,
    "",
    `Runs: ${runsLine}${r.runs.drainS ? ` (${r.runs.drainS} s after the last trigger)` : ""}. Probe updates never seen: A ${r.probeMissed.a}, B ${r.probeMissed.b}; subscriber errors: ${errors}.`,
    "",
    `Reading: ${soakReading(r)}`,
  ].join("\n");
}

const signed = (x: number) => `${x >= 0 ? "+" : ""}${x.toFixed(1)}`;

/** What the figures say, generated from them (so a re-render stays true to the result). */
function soakReading(r: SoakResult): string {
  const v = r.verdict;
  const parts: string[] = [];
  const { a, b } = v.memory.nodes;
  const bound = (g: { startMb: number }) => Math.max(v.memory.boundMb, (g.startMb * v.memory.boundPct) / 100);
  const grew = (n: NodeMemory) => memoryGrowth(n).map((g) => `${g.what} ${signed(g.growthMb)} MiB`).join(", ");
  if (v.memory.flat) {
    parts.push(`both nodes' memory levels off after the first quarter (A ${grew(a)}; B ${grew(b)}; within the bound).`);
  } else {
    for (const [name, n] of [["A", a], ["B", b]] as const) {
      const [rss, heap] = memoryGrowth(n);
      if (heap.growthMb > bound(heap)) parts.push(`node ${name} retains more as time goes on (${grew(n)}): a leak to find.`);
      else if (rss.growthMb > bound(rss))
        parts.push(`node ${name}'s VmRSS grew ${rss.growthMb.toFixed(1)} MiB while its heap after full GCs grew ${heap.growthMb.toFixed(1)} MiB: memory V8 and the allocator keep committed between full collections rather than objects the server retains, at a slope of ${n.slopeMbPerMin.toFixed(2)} MiB/min over the last three quarters; a longer or quieter run tells where it levels off.`);
    }
  }
  const fq = r.gcReadings.firstQuarter;
  parts.push(
    `(The forced full GCs at the end of the first quarter gave memory back: VmRSS A ${(fq.a.rawRssKb / 1024).toFixed(0)} → ${(fq.a.rssKb / 1024).toFixed(0)} MiB, B ${(fq.b.rawRssKb / 1024).toFixed(0)} → ${(fq.b.rssKb / 1024).toFixed(0)} MiB.)`,
  );
  const l = v.latency;
  parts.push(
    l.flat
      ? `Latency does not drift: the probe's p99 in the last quarter is ${(l.probeP99.last / l.probeP99.first).toFixed(2)} × the first quarter's.`
      : `Latency drifts: the probe's p99 in the last quarter is ${(l.probeP99.last / l.probeP99.first).toFixed(2)} × the first quarter's (all subscribers: ${(l.heldP99.last / l.heldP99.first).toFixed(2)} ×); with ${r.environment.cpus} cores shared by both nodes, PostgreSQL, the worker and the generators, check the CPU columns for a busier stretch before reading it as the server slowing down.`,
  );
  if (r.runs.unfinished > 0) parts.push(`${r.runs.unfinished} runs were not COMPLETED ${r.runs.drainS} s after the last trigger.`);
  return parts.map((p, i) => (i ? p.charAt(0).toUpperCase() + p.slice(1) : p)).join(" ");
}

/** RSS of both nodes and the probe's p50/p99 over the run (Vega-Lite, drawn to SVG). */
export async function soakChart(r: SoakResult): Promise<string> {
  const vega = await import("vega");
  const { compile } = await import("vega-lite");
  const minute = (t: number) => Math.round((t / 60) * 100) / 100;
  const rss = r.windows.flatMap((w) => [
    { minute: minute(w.t), series: "node A", value: w.rssMb.a },
    { minute: minute(w.t), series: "node B", value: w.rssMb.b },
  ]);
  const latency = r.windows.flatMap((w) => [
    { minute: minute(w.t), series: "probe p50", value: Math.round(w.probe.p50 * 100) / 100 },
    { minute: minute(w.t), series: "probe p99", value: Math.round(w.probe.p99 * 100) / 100 },
  ]);
  const panel = (title: string, values: { minute: number; series: string; value: number }[], unit: string) => ({
    title,
    width: 560,
    height: 160,
    data: { values },
    mark: { type: "line", point: true },
    encoding: {
      x: { field: "minute", type: "quantitative", title: "minutes" },
      y: { field: "value", type: "quantitative", title: unit, scale: { zero: unit === "MiB" } },
      color: { field: "series", type: "nominal", title: null },
    },
  });
  const spec = compile({
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    vconcat: [panel("Server RSS (MiB)", rss, "MiB"), panel(`Probe delivery latency per ${r.config.windowS} s window (ms, from the UPDATE's send)`, latency, "ms")],
    config: { background: "white", font: "sans-serif" },
  } as Parameters<typeof compile>[0]).spec;
  const view = new vega.View(vega.parse(spec), { renderer: "none" });
  return view.toSVG();
}
