/**
 * The soak (`npm run soak`, outside `npm test`): two Runcast nodes on one PostgreSQL hold thousands of subscribers
 * under a steady write and trigger rate for minutes, and every few seconds the bench records each server's memory
 * and CPU, who still gets changes, and how long a change takes to arrive: memory and latency should stay flat.
 *
 *   npm run soak                   10 minutes, 5,000 subscribers (about 11 minutes in all)
 *   npm run soak -- --quick        1 minute, 1,000 subscribers
 *   npm run soak -- --tiny         about 20 s, 50 subscribers (a smoke check; writes to a temporary folder)
 *   --minutes M --subscribers N --triggers-per-s R --out FILE
 *
 * Writes bench/results/soak-<date>.json and bench/results/soak.svg, and re-renders BENCHMARKS.md (the newest
 * bench/results/bench-*.json plus this soak as "## 5. Soak"); not with --tiny or --out.
 */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { now } from "./lib/clock.ts";
import { benchDatabase, runIfMain, stdoutLog, type Log } from "./lib/cli.ts";
import { GeneratorPool, type RoundTimes } from "./lib/generators.ts";
import { connectClient } from "./lib/postgres.ts";
import { isExiting, onCleanup, readCpuMs, readMemory, readMemoryAfterGc, sleep, type SettledMemory } from "./lib/procs.ts";
import { defaultResultPath, environment, fmtMs, writeJson } from "./lib/report.ts";
import { startRuncastServer, startRuncastWorker, type RuncastServer } from "./lib/runcast-server.ts";
import { followLongPoll, type Follower } from "./lib/shape-clients.ts";
import { percentile, summarize } from "./lib/stats.ts";
import { renderBenchmarks } from "./run.ts";
import { memoryGrowth, soakChart, type NodeMemory, type Percentiles, type SoakMode, type SoakResult, type SoakRow, type SoakVerdict, type SoakWindow } from "./soak-report.ts";

interface SoakOptions {
  mode: SoakMode;
  seconds: number;
  windowS: number;
  subscribers: number;
  rows: number;
  writesPerS: number;
  triggersPerS: number;
  command: string;
  log: Log;
}

const MODES: Record<SoakMode, Omit<SoakOptions, "mode" | "command" | "log">> = {
  full: { seconds: 600, windowS: 10, subscribers: 5_000, rows: 50, writesPerS: 10, triggersPerS: 10 },
  quick: { seconds: 60, windowS: 10, subscribers: 1_000, rows: 50, writesPerS: 10, triggersPerS: 10 },
  // Every row every second, so that a 4 s window sees every subscriber get a change.
  tiny: { seconds: 20, windowS: 4, subscribers: 50, rows: 10, writesPerS: 10, triggersPerS: 5 },
};

/** The verdict's bounds: RSS growth after the first quarter, and the last quarter's probe p99 against the first's. */
const MEMORY_BOUND_MB = 30;
const MEMORY_BOUND_PCT = 10;
const LATENCY_FACTOR = 2;

const TABLE = "soak_items";
const LONG_POLL_MS = 300_000;
const WORKER_CONCURRENCY = 20;
const MAX_PER_GENERATOR = 5_000;
/** Trigger calls in flight at most (the rate is open-loop: a slow answer does not delay the next call). */
const MAX_TRIGGERS_IN_FLIGHT = 200;
const TASKS_DIR = fileURLToPath(new URL("./tasks/", import.meta.url));

const shapePath = (id: number) => `/v1/shape?table=${TABLE}&where=${encodeURIComponent(`id = ${id}`)}`;

/** Nearest-rank figures of raw samples (ms). */
function percentiles(values: readonly number[]): Percentiles {
  const s = summarize(values);
  const r = (v: number) => Math.round(v * 1000) / 1000;
  return { n: s.n, p50: r(s.p50), p99: r(s.p99), max: r(s.max) };
}

/** Established TCP connections whose local port is one of `ports` (the server side of each connection), per port. */
function establishedTo(ports: readonly number[]): number[] {
  const counts = ports.map(() => 0);
  let text = "";
  try {
    text = readFileSync("/proc/net/tcp", "utf8");
  } catch {
    return ports.map(() => Number.NaN);
  }
  const hex = ports.map((p) => p.toString(16).toUpperCase().padStart(4, "0"));
  for (const line of text.split("\n")) {
    // "  sl  local_address rem_address   st ...": local is "0100007F:1F90", st "01" is ESTABLISHED.
    const f = line.trim().split(/\s+/);
    if (f[3] !== "01") continue;
    const port = f[1]?.split(":")[1];
    const i = port ? hex.indexOf(port) : -1;
    if (i >= 0) counts[i] = (counts[i] ?? 0) + 1;
  }
  return counts;
}

/** Least-squares slope of y over x. */
function slope(points: readonly { x: number; y: number }[]): number {
  const n = points.length;
  if (n < 2) return Number.NaN;
  const mx = points.reduce((s, p) => s + p.x, 0) / n;
  const my = points.reduce((s, p) => s + p.y, 0) / n;
  let num = 0;
  let den = 0;
  for (const p of points) {
    num += (p.x - mx) * (p.y - my);
    den += (p.x - mx) ** 2;
  }
  return den ? num / den : Number.NaN;
}

/**
 * The subscribers of one node, as the generators hold them: one group per node, split in contiguous slices
 * across the generators. Each slice starts with one idle subscriber on a row nobody updates: a generator ends a
 * round on its own once every subscriber of its slice had a change, and the idle one keeps every round open until
 * the bench closes it at the end of its window (so the reports never run ahead of the windows).
 */
function groupPaths(perNode: number, generators: number, rows: number, idleRow: number): { paths: string[]; rowOf: number[] } {
  const total = perNode + generators;
  const paths: string[] = [];
  const rowOf: number[] = [];
  let next = 0;
  for (let g = 0; g < generators; g++) {
    // The same split as GeneratorPool's.
    const size = Math.floor(total / generators) + (g < total % generators ? 1 : 0);
    paths.push(shapePath(idleRow));
    rowOf.push(0);
    for (let i = 1; i < size; i++) {
      const row = (next++ % rows) + 1;
      paths.push(shapePath(row));
      rowOf.push(row);
    }
  }
  return { paths, rowOf };
}

export async function runSoak(opts: SoakOptions): Promise<SoakResult> {
  const log = opts.log;
  const started = new Date();
  const perNode = Math.floor(opts.subscribers / 2);
  const probeRow = opts.rows + 1;
  const idleRow = opts.rows + 2;
  const db = await benchDatabase(log);
  const admin = await connectClient({ connectionString: db.url });
  await admin.query(`CREATE TABLE ${TABLE} (id integer PRIMARY KEY, v text NOT NULL)`);
  await admin.query(`INSERT INTO ${TABLE} (id, v) SELECT i, 'row-' || i FROM generate_series(1, $1) AS i`, [idleRow]);
  const env = environment();
  env.postgres = (await admin.query<{ server_version: string }>("SHOW server_version")).rows[0]?.server_version;

  // Each node counts its own live requests (no Redis): its share of subscribers, plus the probe, plus room.
  const maxSubscriptions = 2 * perNode + 1_000;
  log(`starting two Runcast nodes (A and B) on one PostgreSQL…`);
  const [a, b] = await Promise.all(
    [0, 1].map(() => startRuncastServer({ databaseUrl: db.url, maxSubscriptions, longPollMs: LONG_POLL_MS, nodeId: null, gcOnSignal: true })),
  ) as [RuncastServer, RuncastServer];
  const nodes = { a, b };
  log(`  A ${a.url} (pid ${a.pid}), B ${b.url} (pid ${b.pid})`);
  const worker = await startRuncastWorker({ url: a.url, secretKey: a.secretKey, tasksDir: TASKS_DIR, concurrency: WORKER_CONCURRENCY });
  log(`  worker on A (pid ${worker.pid}, ${WORKER_CONCURRENCY} slots)`);

  const generators = opts.subscribers <= 200 ? 1 : Math.max(2, Math.ceil((opts.subscribers + 4) / MAX_PER_GENERATOR));
  const pool = await GeneratorPool.start(generators, (line) => {
    // Between two windows (a few ms) a change is "between rounds" for the generator: expected here, not shown.
    if (!line.includes("got a change between rounds")) log(`  ${line}`);
  });
  await pool.calibrate();
  const groups = {
    a: groupPaths(perNode, generators, opts.rows, idleRow),
    b: groupPaths(perNode, generators, opts.rows, idleRow),
  };
  log(`opening ${(2 * perNode).toLocaleString("en")} subscribers (${perNode.toLocaleString("en")} per node, ${generators} generator processes, long-poll re-issued at once)…`);
  const openA = await pool.open("A", { url: a.url, paths: groups.a.paths, transport: "long-poll", authorization: `Bearer ${a.secretKey}`, total: groups.a.paths.length, concurrency: 32, reissue: "immediate", client: "raw" });
  const openB = await pool.open("B", { url: b.url, paths: groups.b.paths, transport: "long-poll", authorization: `Bearer ${b.secretKey}`, total: groups.b.paths.length, concurrency: 32, reissue: "immediate", client: "raw" });
  log(`  open in ${(openA.ms / 1000).toFixed(1)} s (A) and ${(openB.ms / 1000).toFixed(1)} s (B)`);

  const writer = await connectClient({ connectionString: db.url });
  const prober = await connectClient({ connectionString: db.url });
  const monitor = await connectClient({ connectionString: db.url });
  let running = true;

  // --- probes: one in-process long-poll subscriber per node on the probe row ---
  const probeSent = new Map<number, number>();
  const probeSeen = { a: new Set<number>(), b: new Set<number>() };
  let probeSamples: number[] = [];
  const followers: Follower[] = [];
  await Promise.all(
    (["a", "b"] as const).map(
      (name) =>
        new Promise<void>((ready) => {
          const seen = probeSeen[name];
          const follower = followLongPoll(nodes[name], shapePath(probeRow), (text, at) => {
              ready();
              for (const m of text.matchAll(/probe-(\d+)/g)) {
                const seq = Number(m[1]);
                if (seen.has(seq)) continue;
                seen.add(seq);
                const sent = probeSent.get(seq);
                if (sent !== undefined) probeSamples.push(at - sent);
              }
            });
          followers.push(follower);
          // Closed before the servers stop (cleanups run last first), so its request failing then is no error.
          onCleanup(() => follower.close());
        }),
    ),
  );

  // --- the row writer: one row after the other, writesPerS a second; each row's recent send times ---
  const rowSends = new Map<number, number[]>();
  let rowWrites = 0;
  const writing = (async () => {
    const t0 = now();
    for (let k = 0; running; k++) {
      const wait = t0 + (k * 1000) / opts.writesPerS - now();
      if (wait > 0) await sleep(wait);
      if (!running) break;
      const row = (k % opts.rows) + 1;
      const sends = rowSends.get(row) ?? [];
      sends.push(now());
      if (sends.length > 4) sends.shift();
      rowSends.set(row, sends);
      await writer.query(`UPDATE ${TABLE} SET v = $1 WHERE id = $2`, [`w-${k}`, row]);
      rowWrites++;
    }
  })();

  // --- the probe writer: once a second, on its own connection ---
  let probeWrites = 0;
  const probing = (async () => {
    const t0 = now();
    for (let seq = 1; running; seq++) {
      const wait = t0 + seq * 1000 - now();
      if (wait > 0) await sleep(wait);
      if (!running) break;
      probeSent.set(seq, now());
      await prober.query(`UPDATE ${TABLE} SET v = $1 WHERE id = $2`, [`probe-${seq}`, probeRow]);
      probeWrites++;
    }
  })();

  // --- triggers: open-loop at triggersPerS, alternating between the nodes ---
  let triggered = 0;
  let triggerErrors = 0;
  let triggerLatencies: number[] = [];
  let windowTriggerErrors = 0;
  let inFlight = 0;
  const trigger = async (k: number) => {
    const node = k % 2 === 0 ? a : b;
    inFlight++;
    const t = now();
    try {
      const res = await fetch(`${node.url}/api/v1/tasks/noop/trigger`, {
        method: "POST",
        headers: { authorization: `Bearer ${node.secretKey}`, "content-type": "application/json" },
        body: JSON.stringify({ payload: { i: k } }),
      });
      const body = await res.text();
      if (!res.ok) throw new Error(`trigger answered ${res.status}: ${body.slice(0, 200)}`);
      triggerLatencies.push(now() - t);
      triggered++;
    } catch (err) {
      triggerErrors++;
      windowTriggerErrors++;
      if (triggerErrors <= 5 && !isExiting()) log(`  trigger on ${node === a ? "A" : "B"}: ${err instanceof Error ? err.message : String(err)}`);
    } finally {
      inFlight--;
    }
  };
  const pending = new Set<Promise<void>>();
  const triggering = (async () => {
    const t0 = now();
    for (let k = 0; running; k++) {
      const wait = t0 + (k * 1000) / opts.triggersPerS - now();
      if (wait > 0) await sleep(wait);
      if (!running) break;
      if (inFlight >= MAX_TRIGGERS_IN_FLIGHT) {
        triggerErrors++;
        windowTriggerErrors++;
        continue;
      }
      const p = trigger(k);
      pending.add(p);
      void p.finally(() => pending.delete(p));
    }
  })();

  const runCounts = async (): Promise<Record<string, number>> => {
    const { rows } = await monitor.query<{ status: string; n: number }>(
      "SELECT status, count(*)::int AS n FROM runcast_internal.runs WHERE task_identifier = 'noop' GROUP BY status",
    );
    return Object.fromEntries(rows.map((r) => [r.status, r.n]));
  };

  // --- the windows ---
  const windowMs = opts.windowS * 1000;
  const count = Math.max(1, Math.round(opts.seconds / opts.windowS));
  const quarter = Math.max(1, Math.floor(count / 4));
  const windows: SoakWindow[] = [];
  const rawProbe: number[][] = [];
  const rawHeld: number[][] = [];
  const rawTrigger: number[][] = [];
  const settled = () => Promise.all([readMemoryAfterGc(a.pid), readMemoryAfterGc(b.pid)]);
  let firstQuarterReading: Promise<[SettledMemory, SettledMemory]> | undefined;
  const heldLatencies = (report: RoundTimes, rowOf: readonly number[]): { latencies: number[]; delivered: number } => {
    const latencies: number[] = [];
    let delivered = 0;
    report.ends.forEach((end, k) => {
      const row = rowOf[k] ?? 0;
      if (!row || !Number.isFinite(end)) return;
      delivered++;
      // The change it had is the row's last update sent before it arrived (a row changes every few seconds).
      const sends = rowSends.get(row) ?? [];
      let sent = Number.NaN;
      for (const s of sends) if (s <= end) sent = s;
      if (Number.isFinite(sent)) latencies.push(end - sent);
    });
    return { latencies, delivered };
  };

  log(`soak: ${opts.seconds} s, a reading every ${opts.windowS} s; ${opts.writesPerS} row updates/s over ${opts.rows} rows, 1 probe update/s, ${opts.triggersPerS} triggers/s`);
  const header = "   t  RSS A  RSS B  CPU A  CPU B   had a change A/B   probe p50/p99    all p99  trigger p50/p99   runs done/triggered";
  log(header);
  await Promise.all([pool.arm("A"), pool.arm("B")]);
  const t0 = now();
  let cpu = { a: readCpuMs(a.pid), b: readCpuMs(b.pid), gens: pool.cpuMs(), at: now() };
  for (let w = 0; w < count; w++) {
    const wait = t0 + (w + 1) * windowMs - now();
    if (wait > 0) await sleep(wait);
    // Close the round on every generator (the idle subscribers keep it open until now), then start the next.
    // One group after the other: a generator's round reports of two groups are not told apart while both are awaited.
    const ra = await pool.round("A", 1);
    const rb = await pool.round("B", 1);
    await Promise.all([pool.arm("A"), pool.arm("B")]);
    const at = now();
    const probe = probeSamples;
    probeSamples = [];
    const trig = triggerLatencies;
    triggerLatencies = [];
    const trigErrors = windowTriggerErrors;
    windowTriggerErrors = 0;
    const ha = heldLatencies(ra, groups.a.rowOf);
    const hb = heldLatencies(rb, groups.b.rowOf);
    const held = [...ha.latencies, ...hb.latencies];
    const memA = readMemory(a.pid);
    const memB = readMemory(b.pid);
    const cpuNow = { a: readCpuMs(a.pid), b: readCpuMs(b.pid), gens: pool.cpuMs(), at };
    const span = cpuNow.at - cpu.at;
    const [connA, connB] = establishedTo([a.port, b.port]);
    const runs = await runCounts();
    const win: SoakWindow = {
      t: Math.round((at - t0) / 100) / 10,
      rssMb: { a: Math.round(memA.rssKb / 102.4) / 10, b: Math.round(memB.rssKb / 102.4) / 10 },
      cpuPct: { a: Math.round(((cpuNow.a - cpu.a) / span) * 1000) / 10, b: Math.round(((cpuNow.b - cpu.b) / span) * 1000) / 10 },
      generatorCpuPct: Math.round(((cpuNow.gens - cpu.gens) / span) * 1000) / 10,
      connections: { a: connA ?? Number.NaN, b: connB ?? Number.NaN },
      delivered: { a: ha.delivered, b: hb.delivered },
      held: percentiles(held),
      probe: percentiles(probe),
      trigger: { ...percentiles(trig), errors: trigErrors },
      runsCompleted: runs.COMPLETED ?? 0,
      triggered,
      errors: ra.errors + rb.errors,
    };
    cpu = cpuNow;
    windows.push(win);
    rawProbe.push(probe);
    rawHeld.push(held);
    rawTrigger.push(trig);
    log(
      `${String(Math.round(win.t)).padStart(4)}  ${win.rssMb.a.toFixed(0).padStart(5)}  ${win.rssMb.b.toFixed(0).padStart(5)}  ${win.cpuPct.a.toFixed(0).padStart(4)}%  ${win.cpuPct.b.toFixed(0).padStart(4)}%  ${`${win.delivered.a}/${win.delivered.b}`.padStart(17)}  ${`${fmtMs(win.probe.p50)}/${fmtMs(win.probe.p99)}`.padStart(15)}  ${fmtMs(win.held.p99).padStart(9)}  ${`${fmtMs(win.trigger.p50)}/${fmtMs(win.trigger.p99)}`.padStart(15)}  ${`${win.runsCompleted}/${win.triggered}`.padStart(19)}${win.errors ? `  ${win.errors} errors` : ""}`,
    );
    // Retained memory (heap after two full GCs) at the end of the first quarter; read while the load goes on.
    if (w === quarter - 1) firstQuarterReading = settled();
  }
  const firstQuarterGc = await (firstQuarterReading ?? settled());
  const endGc = await settled();

  // --- stop the load, let the runs finish ---
  running = false;
  await Promise.all([writing, probing, triggering]);
  await Promise.all([...pending]);
  const drainStarted = now();
  let byStatus = await runCounts();
  while ((byStatus.COMPLETED ?? 0) < triggered && now() - drainStarted < 60_000) {
    await sleep(500);
    byStatus = await runCounts();
  }
  const drainS = Math.round((now() - drainStarted) / 100) / 10;
  // Probe updates sent until the end: each probe should have seen all of them.
  const lastProbe = probeWrites;
  const probeMissed = { a: 0, b: 0 };
  for (let seq = 1; seq <= lastProbe; seq++) {
    if (!probeSeen.a.has(seq)) probeMissed.a++;
    if (!probeSeen.b.has(seq)) probeMissed.b++;
  }
  const completed = byStatus.COMPLETED ?? 0;
  log(`runs: ${completed} of ${triggered} triggered COMPLETED ${JSON.stringify(byStatus)} (${drainS} s after the last trigger); ${triggerErrors} trigger errors`);

  for (const f of followers) await f.close();
  await pool.stop();
  await worker.stop();
  await Promise.all([a.stop(), b.stop()]);
  await Promise.all([writer.end(), prober.end(), monitor.end(), admin.end()]);
  await db.stop();

  const table = tableRows(windows, rawProbe, rawHeld, rawTrigger, opts.windowS);
  const verdict = soakVerdict(windows, rawProbe, rawHeld, quarter, firstQuarterGc, endGc);
  return {
    kind: "runcast-bench-soak",
    date: started.toISOString(),
    durationS: Math.round((Date.now() - started.getTime()) / 1000),
    mode: opts.mode,
    command: opts.command,
    environment: env,
    config: {
      seconds: opts.seconds,
      windowS: opts.windowS,
      subscribers: 2 * perNode,
      perNode,
      generators,
      rows: opts.rows,
      writesPerS: opts.writesPerS,
      probesPerS: 1,
      triggersPerS: opts.triggersPerS,
      workerConcurrency: WORKER_CONCURRENCY,
      longPollMs: LONG_POLL_MS,
      maxSubscriptions,
      reissue: "immediate",
    },
    setup: { openMs: { a: Math.round(openA.ms), b: Math.round(openB.ms) }, openErrors: openA.errors + openB.errors },
    windows,
    table,
    gcReadings: { firstQuarter: { a: firstQuarterGc[0], b: firstQuarterGc[1] }, end: { a: endGc[0], b: endGc[1] } },
    writes: { rows: rowWrites, probes: probeWrites },
    probeMissed,
    runs: { triggered, triggerErrors, completed, byStatus, unfinished: triggered - completed, drainS },
    generatorWarnings: pool.warnings,
    verdict,
  };
}

/** The report's rows: every window for a short run, one row per minute (of windows) past 12 windows. */
function tableRows(windows: SoakWindow[], probe: number[][], held: number[][], trigger: number[][], windowS: number): SoakRow[] {
  const per = windows.length > 12 ? Math.max(1, Math.round(60 / windowS)) : 1;
  const clock = (s: number) => `${Math.floor(s / 60)}:${String(Math.round(s % 60)).padStart(2, "0")}`;
  const rows: SoakRow[] = [];
  for (let i = 0; i < windows.length; i += per) {
    const ws = windows.slice(i, i + per);
    const last = ws[ws.length - 1] as SoakWindow;
    const from = i * windowS;
    rows.push({
      label: `${clock(from)}–${clock(last.t)}`,
      rssMb: last.rssMb,
      cpuPct: { a: Math.round((ws.reduce((s, w) => s + w.cpuPct.a, 0) / ws.length) * 10) / 10, b: Math.round((ws.reduce((s, w) => s + w.cpuPct.b, 0) / ws.length) * 10) / 10 },
      delivered: { a: Math.min(...ws.map((w) => w.delivered.a)), b: Math.min(...ws.map((w) => w.delivered.b)) },
      probe: percentiles(probe.slice(i, i + per).flat()),
      held: percentiles(held.slice(i, i + per).flat()),
      trigger: { ...percentiles(trigger.slice(i, i + per).flat()), errors: ws.reduce((s, w) => s + w.trigger.errors, 0) },
      runsCompleted: last.runsCompleted,
      triggered: last.triggered,
    });
  }
  return rows;
}

function soakVerdict(
  windows: SoakWindow[],
  probe: number[][],
  held: number[][],
  quarter: number,
  firstQuarterGc: [SettledMemory, SettledMemory],
  endGc: [SettledMemory, SettledMemory],
): SoakVerdict {
  const n = windows.length;
  const start = windows[quarter - 1] as SoakWindow;
  const end = windows[n - 1] as SoakWindow;
  const mib = (kb: number) => Math.round(kb / 102.4) / 10;
  const node = (key: "a" | "b", i: 0 | 1): NodeMemory => {
    const growthMb = end.rssMb[key] - start.rssMb[key];
    return {
      startMb: start.rssMb[key],
      endMb: end.rssMb[key],
      growthMb: Math.round(growthMb * 10) / 10,
      growthPct: Math.round((growthMb / start.rssMb[key]) * 1000) / 10,
      slopeMbPerMin: Math.round(slope(windows.slice(quarter - 1).map((w) => ({ x: w.t / 60, y: w.rssMb[key] }))) * 100) / 100,
      heapAfterGcMb: { start: mib(firstQuarterGc[i].heapKb), end: mib(endGc[i].heapKb) },
      rssAfterGcMb: { start: mib(firstQuarterGc[i].rssKb), end: mib(endGc[i].rssKb) },
    };
  };
  const nodes = { a: node("a", 0), b: node("b", 1) };
  const withinBound = (m: NodeMemory) => memoryGrowth(m).every((g) => g.growthMb <= Math.max(MEMORY_BOUND_MB, (g.startMb * MEMORY_BOUND_PCT) / 100));
  const pooled = (raw: number[][], from: number, to: number, p: number) => percentile(raw.slice(from, to).flat().sort((x, y) => x - y), p);
  const r = (v: number) => Math.round(v * 1000) / 1000;
  const probeP99 = { first: r(pooled(probe, 0, quarter, 99)), last: r(pooled(probe, n - quarter, n, 99)) };
  return {
    quarterWindows: quarter,
    memory: { boundMb: MEMORY_BOUND_MB, boundPct: MEMORY_BOUND_PCT, nodes, flat: withinBound(nodes.a) && withinBound(nodes.b) },
    latency: {
      factor: LATENCY_FACTOR,
      probeP99,
      probeP50: { first: r(pooled(probe, 0, quarter, 50)), last: r(pooled(probe, n - quarter, n, 50)) },
      heldP99: { first: r(pooled(held, 0, quarter, 99)), last: r(pooled(held, n - quarter, n, 99)) },
      flat: probeP99.last <= LATENCY_FACTOR * probeP99.first,
    },
  };
}

runIfMain(import.meta.url, async () => {
  const { values } = parseArgs({
    options: {
      quick: { type: "boolean" },
      tiny: { type: "boolean" },
      minutes: { type: "string" },
      subscribers: { type: "string" },
      "triggers-per-s": { type: "string" },
      out: { type: "string" },
    },
    strict: true,
  });
  const mode: SoakMode = values.tiny ? "tiny" : values.quick ? "quick" : "full";
  const sizes = { ...MODES[mode] };
  const num = (v: string | undefined, name: string) => {
    const n = Number(v);
    if (!(n > 0)) throw new Error(`--${name} must be a positive number, got "${v}"`);
    return n;
  };
  if (values.minutes !== undefined) sizes.seconds = Math.round(num(values.minutes, "minutes") * 60);
  if (values.subscribers !== undefined) sizes.subscribers = Math.round(num(values.subscribers, "subscribers"));
  if (values["triggers-per-s"] !== undefined) sizes.triggersPerS = num(values["triggers-per-s"], "triggers-per-s");
  const args = process.argv.slice(2);
  const command = `npm run soak${args.length ? ` -- ${args.join(" ")}` : ""}`;
  const result = await runSoak({ mode, ...sizes, command, log: stdoutLog });
  // --tiny is a smoke check: its result goes to a temporary folder, BENCHMARKS.md keeps the real soak.
  const out = values.out ?? (mode === "tiny" ? join(mkdtempSync(join(tmpdir(), "runcast-soak-")), "soak.json") : defaultResultPath("soak", new Date(result.date)));
  writeJson(out, result);
  const v = result.verdict;
  stdoutLog(`\nmemory: ${v.memory.flat ? "flat" : "NOT flat"} (A ${v.memory.nodes.a.startMb} → ${v.memory.nodes.a.endMb} MiB, B ${v.memory.nodes.b.startMb} → ${v.memory.nodes.b.endMb} MiB after the first quarter)`);
  stdoutLog(`latency: ${v.latency.flat ? "flat" : "NOT flat"} (probe p99 ${fmtMs(v.latency.probeP99.first)} ms first quarter → ${fmtMs(v.latency.probeP99.last)} ms last quarter)`);
  stdoutLog(`results: ${out}`);
  if (values.out || mode === "tiny") {
    // Still draw the chart, next to the result, so the smoke check covers it.
    writeFileSync(join(out, "..", "soak.svg"), await soakChart(result));
    return;
  }
  const bench = await renderBenchmarks();
  stdoutLog(`BENCHMARKS.md re-rendered from ${bench} and this soak; chart: bench/results/soak.svg`);
});
