/**
 * Fan-out benchmark: N subscribers hold a live long-poll on one shape, one UPDATE commits, and every
 * subscriber's response is timed until its body is fully received. The same generators and client code
 * hold N requests on the floor server too (bare node:http answering them all with one pre-encoded body
 * of the same bytes), at the same time, and the rounds alternate between the two, so the ratio shows what
 * Runcast adds to what this machine can do at best. Also: each server's resident memory per held request.
 *
 * Only the public HTTP contract (/v1/shape) and SQL are used against Runcast, which runs as its own
 * process through its CLI (`runcast start`).
 *
 *   node --import tsx bench/fanout.ts [--quick] [--n 1000,5000] [--rounds 5] [--generators 4] [--cpu-prof]
 */
import { fileURLToPath } from "node:url";
import http from "node:http";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { Channel } from "./lib/children.ts";
import { now, type ClockOffset } from "./lib/clock.ts";
import { GeneratorPool, type RoundTimes } from "./lib/generators.ts";
import type { FromFloor, HttpSample, ToFloor } from "./lib/ipc.ts";
import { runIfMain, runPart } from "./lib/cli.ts";
import { BENCH_TABLE, benchValue, connectClient, UPDATE_SQL } from "./lib/postgres.ts";
import { forkTs, GC_ON_SIGNAL_FLAGS, onCleanup, readCpuMs, readMemory, readMemoryAfterGc, sleep, type SettledMemory, stopChild, waitQuiet } from "./lib/procs.ts";
import { fmtMs, fmtRatio, md, RESULTS_DIR, table } from "./lib/report.ts";
import { startRuncastServer } from "./lib/runcast-server.ts";
import { percentile, ratio, rounded, summarize, type Summary } from "./lib/stats.ts";

const FLOOR_SERVER = fileURLToPath(new URL("./floor-server.ts", import.meta.url));

export type FanoutTargetName = "runcast" | "floor";

export interface FanoutOptions {
  databaseUrl: string;
  /** Held requests per measurement, e.g. [1000, 5000]. */
  counts: number[];
  /** Measured updates per count (each one fans out to all N). */
  rounds: number;
  /** Subscribers and rounds of the warm-up before the idle memory reading. */
  warmupSubscribers: number;
  warmupRounds: number;
  /** Load-generator processes (each holds total/generators connections). */
  generators: number;
  /** Snapshot requests in flight per generator while opening. */
  setupConcurrency: number;
  /**
   * deferred (default): every subscriber sends its next live request after the round, so a round times the
   * delivery of one update alone. immediate: each re-issues as soon as its response ends, as real clients do,
   * so the server also takes in N new requests while it is still fanning out.
   */
  reissue: "immediate" | "deferred";
  /** The generators' HTTP client: raw (minimal HTTP/1.1, default) or node-http (node:http keep-alive agent). */
  client: "raw" | "node-http";
  targets: FanoutTargetName[];
  /** Write a V8 CPU profile of each server (Runcast and floor) here (node --cpu-prof). */
  cpuProfDir?: string;
  log: (line: string) => void;
}

export const FANOUT_TARGETS = { p99Ratio: 1.3, perHeldKb: 20 } as const;

export interface RoundResult {
  fromSend: Summary;
  fromCommit: Summary;
  /** Subscribers without a response this round (should be 0). */
  missing: number;
  newSockets: number;
  errors: number;
  /** Server CPU from the trigger until the last response was in, ms (the fan-out itself). */
  serverFanoutCpuMs: number;
  /** CPU used during the whole round (fan-out, re-issued live requests, until everything was quiet again), ms. */
  serverCpuMs: number;
  generatorCpuMs: number;
  /** CLOCK_MONOTONIC µs (the clock of V8 CPU profiles) from the trigger until the last response was in. */
  monotonicUs: [number, number];
  /** The same from then until the re-issued requests were taken in and everything was quiet. */
  reissueMonotonicUs: [number, number];
}

export interface FanoutTargetResult {
  target: FanoutTargetName;
  n: number;
  /** The server process (a --cpu-prof profile carries it in its file name). */
  serverPid: number;
  /** Time from just before the UPDATE (or the floor's release request) was sent to each body's last byte, all rounds. */
  fromSend: Summary;
  /** Same, from when the commit (the release request) returned. */
  fromCommit: Summary;
  rounds: RoundResult[];
  /** Median over rounds of each round's p99 (from send). */
  medianRoundP99: number;
  bodyBytes: number;
  setupMs: number;
  /** Server RSS, KiB; every reading but the last two is taken after two forced full GCs (SIGUSR2). */
  memory: {
    /** After the warm-up, nothing held. */
    idleRssKb: number;
    /** With N requests held. */
    heldRssKb: number;
    /** (held − idle) / N: the headline figure. */
    perHeldKb: number;
    /** The same from the plain readings taken just before the GCs (includes garbage not yet collected). */
    withoutGc: { idleRssKb: number; heldRssKb: number; perHeldKb: number };
    /**
     * V8 heap used + external memory after the GCs (process.memoryUsage(), read by the bench's preload):
     * what is retained, without the allocator's and V8's spare capacity that makes RSS jump by tens of MiB.
     */
    heap: { idleKb: number; heldKb: number; perHeldKb: number };
    /** Server RSS with N/2 held, KiB. */
    halfRssKb: number;
    /** (held − half) / (N − N/2), KiB: the marginal cost, without one-time growth. */
    marginalPerHeldKb: number;
    /** RSS with N held after the rounds (no GC forced), and the process's peak RSS. */
    afterRoundsRssKb: number;
    peakRssKb: number;
  };
  /** Mean per round: the server's CPU during the fan-out, and over the whole round (with the re-issued requests). */
  cpuMsPerRound: { serverFanout: number; server: number; generators: number };
  emptyResponses: number;
  errors: number;
  clock: { maxOffsetMs: number; maxRttMs: number };
}

export interface FanoutResult {
  n: number;
  runcast?: FanoutTargetResult;
  floor?: FanoutTargetResult;
  /** runcast / floor, latency from send (all rounds pooled). */
  ratioP50?: number;
  ratioP99?: number;
  /** runcast / floor of the median over rounds of each round's p99: one disturbed round does not move it. */
  ratioMedianRoundP99?: number;
}

/** One server under test, as the measurement loop sees it. */
interface Target {
  name: FanoutTargetName;
  url: string;
  pid: number;
  authorization: string | undefined;
  /** Commits one change (or releases the held requests); resolves when the commit (control request) returns. */
  trigger(): Promise<void>;
  /** Requests currently held, when the server can tell (the floor can). */
  held?(): Promise<number>;
  stop(): Promise<void>;
}

let updates = 0;

function monotonicUs(): number {
  return Number(process.hrtime.bigint() / 1000n);
}

async function runcastTarget(opts: FanoutOptions, n: number): Promise<Target> {
  const server = await startRuncastServer({
    databaseUrl: opts.databaseUrl,
    maxSubscriptions: n + opts.warmupSubscribers + 1_000,
    longPollMs: 240_000,
    gcOnSignal: true,
    ...(opts.cpuProfDir ? { cpuProfDir: opts.cpuProfDir } : {}),
  });
  const sql = await connectClient({ connectionString: opts.databaseUrl }, opts.log);
  return {
    name: "runcast",
    url: server.url,
    pid: server.pid,
    authorization: `Bearer ${server.secretKey}`,
    async trigger() {
      await sql.query(UPDATE_SQL, [benchValue(++updates)]);
    },
    async stop() {
      await sql.end();
      await server.stop();
    },
  };
}

/** A body like Runcast's for one update, when the floor runs without a Runcast run to copy from. */
export function syntheticSamples(): { live: HttpSample; snapshot: HttpSample } {
  const update = JSON.stringify({
    key: `"public"."${BENCH_TABLE}"/"1"`,
    value: { id: "1", v: benchValue(0) },
    headers: { operation: "update", relation: ["public", BENCH_TABLE], lsn: "26000000", op_position: 0, txids: [800], last: true },
  });
  const upToDate = JSON.stringify({ headers: { control: "up-to-date", global_last_seen_lsn: "26000000" } });
  const common = { "content-type": "application/json; charset=utf-8", "electric-handle": "1-1700000000000" };
  return {
    live: {
      status: 200,
      headers: { ...common, "electric-offset": "26000000_0", "electric-cursor": "1", "electric-up-to-date": "", "electric-has-data": "true", "cache-control": "public, max-age=5, stale-while-revalidate=5" },
      body: `[${update},${upToDate}]`,
    },
    snapshot: { status: 200, headers: { ...common, "electric-offset": "0_0", "electric-schema": "{}" }, body: `[${upToDate}]` },
  };
}

async function floorTarget(opts: FanoutOptions, samples: { live: HttpSample; snapshot: HttpSample }): Promise<Target> {
  const flags = [...GC_ON_SIGNAL_FLAGS, ...(opts.cpuProfDir ? ["--cpu-prof", `--cpu-prof-dir=${opts.cpuProfDir}`] : [])];
  const floor = new Channel<ToFloor, FromFloor>(forkTs(FLOOR_SERVER, [], flags), "floor server");
  floor.send({ t: "init", live: samples.live, snapshot: samples.snapshot });
  const { port } = await floor.next("listening", 30_000);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const control = (path: string, method: string) =>
    new Promise<void>((resolve, reject) => {
      const req = http.request({ host: "127.0.0.1", port, path, method, agent }, (res) => {
        res.resume();
        res.on("end", resolve);
      });
      req.on("error", reject);
      req.end();
    });
  // The control connection is open before the first release, as the UPDATE's database connection is.
  await control("/__ping", "GET");
  return {
    name: "floor",
    url: `http://127.0.0.1:${port}`,
    pid: floor.pid,
    authorization: undefined,
    trigger: () => control("/__release", "POST"),
    async held() {
      floor.send({ t: "held" });
      return (await floor.next("held", 10_000)).count;
    },
    async stop() {
      agent.destroy();
      floor.send({ t: "stop" });
      await stopChild(floor.child, 5_000);
    },
  };
}

function latencies(round: RoundTimes, from: number): number[] {
  const out: number[] = [];
  for (const e of round.ends) if (Number.isFinite(e)) out.push(e - from);
  return out;
}

type Memory = SettledMemory;

/** What is gathered about one target while its N subscribers are held. */
interface TargetRun {
  target: Target;
  tag: string;
  idle: Memory;
  half: Memory;
  held: Memory;
  setupMs: number;
  rounds: RoundResult[];
  fromSend: number[];
  fromCommit: number[];
  bodyBytes: number;
  empty: number;
  errors: number;
  sample: HttpSample | undefined;
  snapshot: HttpSample | undefined;
}

/**
 * CPU a quiet moment may still use, ms per 200 ms window. A profiled server never drops below the V8
 * sampler's own cost, so --cpu-prof raises it (a burst of work runs near 100 % anyway).
 */
let quietBusyMs = 10;
const quiet = (pids: number[]) => waitQuiet(pids, { maxMs: 30_000, busyMs: quietBusyMs });

/** A few subscribers and updates (JIT, shape, caches), closed again; then the idle RSS. */
async function warmUp(target: Target, n: number, gens: GeneratorPool, opts: FanoutOptions): Promise<TargetRun> {
  const tag = `[fanout n=${n} ${target.name}]`;
  const warm = Math.min(opts.warmupSubscribers, n);
  opts.log(`${tag} warm-up: ${warm} subscribers × ${opts.warmupRounds} updates`);
  const opened = await gens.open(target.name, { url: target.url, table: BENCH_TABLE, authorization: target.authorization, total: warm, concurrency: opts.setupConcurrency, reissue: opts.reissue, client: opts.client });
  let sample: HttpSample | undefined;
  for (let r = 0; r < opts.warmupRounds; r++) {
    await quiet([target.pid]);
    await target.trigger();
    const times = await gens.round(target.name, 60_000);
    sample ??= times.sample;
    if (opts.reissue === "deferred") await gens.rearm(target.name);
  }
  await gens.close(target.name);
  await quiet([target.pid]);
  await sleep(500);
  const idle = await readMemoryAfterGc(target.pid);
  return { target, tag, idle, half: idle, held: idle, setupMs: 0, rounds: [], fromSend: [], fromCommit: [], bodyBytes: 0, empty: 0, errors: 0, sample, snapshot: opened.snapshot };
}

/**
 * Opens the N subscribers (offset=-1, then live=true) in two halves, reading the RSS once everything is
 * quiet after each: (held − idle) / N is the figure asked for; the second half alone, (held − half) / (N/2),
 * leaves out one-time growth (V8's young generation growing to its working size, buffers, caches).
 */
async function hold(run: TargetRun, n: number, gens: GeneratorPool, opts: FanoutOptions, pids: number[]): Promise<void> {
  const { target, tag } = run;
  opts.log(`${tag} opening ${n} subscribers (offset=-1, then live=true), in two halves…`);
  const first = Math.floor(n / 2);
  const base = { url: target.url, table: BENCH_TABLE, authorization: target.authorization, concurrency: opts.setupConcurrency, reissue: opts.reissue, client: opts.client };
  const a = await gens.open(target.name, { ...base, total: first });
  await quiet(pids);
  run.half = await readMemoryAfterGc(target.pid);
  const b = await gens.open(target.name, { ...base, total: n - first, add: true });
  const errors = a.errors + b.errors;
  if (errors) opts.log(`${tag} ${errors} snapshot requests failed and were retried`);
  await quiet(pids);
  const heldCount = await target.held?.();
  if (heldCount !== undefined && heldCount !== n) opts.log(`${tag} warning: the floor holds ${heldCount} of ${n} requests`);
  run.held = await readMemoryAfterGc(target.pid);
  run.setupMs = a.ms + b.ms;
  opts.log(
    `${tag} ${n} held after ${fmtMs(run.setupMs)} ms; server RSS after GC ${Math.round(run.idle.rssKb / 1024)} → ${Math.round(run.half.rssKb / 1024)} → ${Math.round(run.held.rssKb / 1024)} MiB: ` +
      `${((run.held.rssKb - run.idle.rssKb) / n).toFixed(1)} KiB per held request (second half alone ${((run.held.rssKb - run.half.rssKb) / (n - first)).toFixed(1)}; ` +
      `without GC ${((run.held.rawRssKb - run.idle.rawRssKb) / n).toFixed(1)}); heap+external ${((run.held.heapKb - run.idle.heapKb) / n).toFixed(1)} KiB per held request`,
  );
}

/** One update (or release), every subscriber's response timed; then the re-issue and quiet. */
async function round(run: TargetRun, label: string, gens: GeneratorPool, opts: FanoutOptions, pids: number[]): Promise<void> {
  const { target, tag } = run;
  await quiet(pids);
  const serverCpu0 = readCpuMs(target.pid);
  const genCpu0 = gens.cpuMs();
  const mono0 = monotonicUs();
  const t0 = now();
  await target.trigger();
  const t1 = now();
  const times = await gens.round(target.name, 60_000);
  const mono1 = monotonicUs();
  const serverCpuFanout = readCpuMs(target.pid) - serverCpu0;
  if (opts.reissue === "deferred") await gens.rearm(target.name);
  await quiet(pids);
  const mono2 = monotonicUs();
  const fromSend = latencies(times, t0);
  const fromCommit = latencies(times, t1);
  const r: RoundResult = {
    fromSend: rounded(summarize(fromSend)),
    fromCommit: rounded(summarize(fromCommit)),
    missing: times.ends.filter((e) => !Number.isFinite(e)).length,
    newSockets: times.newSockets,
    errors: times.errors,
    serverFanoutCpuMs: serverCpuFanout,
    serverCpuMs: readCpuMs(target.pid) - serverCpu0,
    generatorCpuMs: gens.cpuMs() - genCpu0,
    monotonicUs: [mono0, mono1],
    reissueMonotonicUs: [mono1, mono2],
  };
  run.rounds.push(r);
  run.fromSend.push(...fromSend);
  run.fromCommit.push(...fromCommit);
  run.sample ??= times.sample;
  run.bodyBytes = Math.max(run.bodyBytes, times.bodyBytes);
  run.empty += times.empty;
  run.errors += times.errors;
  opts.log(
    `${tag} round ${label}: p50 ${fmtMs(r.fromSend.p50)} p99 ${fmtMs(r.fromSend.p99)} max ${fmtMs(r.fromSend.max)} ms` +
      ` (commit→ p50 ${fmtMs(r.fromCommit.p50)}); CPU ms: server ${Math.round(r.serverFanoutCpuMs)} fan-out / ${Math.round(r.serverCpuMs)} round, generators ${Math.round(r.generatorCpuMs)}` +
      (r.missing ? `; ${r.missing} MISSING` : "") +
      (r.newSockets ? `; ${r.newSockets} new sockets` : ""),
  );
}

function finish(run: TargetRun, n: number, after: { rssKb: number; hwmKb: number }, offsets: ClockOffset[]): FanoutTargetResult {
  const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : Number.NaN);
  const perHeldKb = (run.held.rssKb - run.idle.rssKb) / n;
  const marginal = (run.held.rssKb - run.half.rssKb) / (n - Math.floor(n / 2));
  return {
    target: run.target.name,
    n,
    serverPid: run.target.pid,
    fromSend: rounded(summarize(run.fromSend)),
    fromCommit: rounded(summarize(run.fromCommit)),
    rounds: run.rounds,
    medianRoundP99: percentile([...run.rounds.map((r) => r.fromSend.p99)].sort((a, b) => a - b), 50),
    bodyBytes: run.bodyBytes,
    setupMs: Math.round(run.setupMs),
    memory: {
      idleRssKb: run.idle.rssKb,
      heldRssKb: run.held.rssKb,
      perHeldKb: Math.round(perHeldKb * 100) / 100,
      heap: {
        idleKb: run.idle.heapKb,
        heldKb: run.held.heapKb,
        perHeldKb: Math.round(((run.held.heapKb - run.idle.heapKb) / n) * 100) / 100,
      },
      withoutGc: {
        idleRssKb: run.idle.rawRssKb,
        heldRssKb: run.held.rawRssKb,
        perHeldKb: Math.round(((run.held.rawRssKb - run.idle.rawRssKb) / n) * 100) / 100,
      },
      halfRssKb: run.half.rssKb,
      marginalPerHeldKb: Math.round(marginal * 100) / 100,
      afterRoundsRssKb: after.rssKb,
      peakRssKb: after.hwmKb,
    },
    cpuMsPerRound: {
      serverFanout: Math.round(mean(run.rounds.map((r) => r.serverFanoutCpuMs))),
      server: Math.round(mean(run.rounds.map((r) => r.serverCpuMs))),
      generators: Math.round(mean(run.rounds.map((r) => r.generatorCpuMs))),
    },
    emptyResponses: run.empty,
    errors: run.errors,
    clock: {
      maxOffsetMs: Math.round(Math.max(...offsets.map((o) => Math.abs(o.offsetMs))) * 1000) / 1000,
      maxRttMs: Math.round(Math.max(...offsets.map((o) => o.rttMs)) * 1000) / 1000,
    },
  };
}

/**
 * One N: each target is started and warmed up (Runcast first: the floor then answers with the bytes and
 * headers Runcast sent), both hold N requests at once, and the measured rounds alternate between them
 * (A B, B A, …) so that load from anything else on the machine falls on both alike.
 */
async function measureCount(n: number, gens: GeneratorPool, opts: FanoutOptions): Promise<FanoutResult> {
  const runs: TargetRun[] = [];
  const entry: FanoutResult = { n };
  try {
    const offsets = await gens.calibrate();
    let samples = syntheticSamples();
    for (const name of opts.targets) {
      const target = name === "runcast" ? await runcastTarget(opts, n) : await floorTarget(opts, samples);
      const run = await warmUp(target, n, gens, opts);
      runs.push(run);
      if (name === "runcast" && run.sample && run.snapshot) samples = { live: run.sample, snapshot: run.snapshot };
    }
    const pids = [...runs.map((r) => r.target.pid), ...gens.pids];
    for (const run of runs) await hold(run, n, gens, opts, pids);
    for (let r = 0; r < opts.rounds; r++) {
      const order = r % 2 === 0 ? runs : [...runs].reverse();
      for (const run of order) await round(run, `${r + 1}/${opts.rounds}`, gens, opts, pids);
    }
    for (const run of runs) {
      entry[run.target.name] = finish(run, n, readMemory(run.target.pid), offsets);
      await gens.close(run.target.name);
    }
  } finally {
    for (const run of runs) await run.target.stop();
  }
  if (entry.runcast && entry.floor) {
    entry.ratioP50 = ratio(entry.runcast.fromSend.p50, entry.floor.fromSend.p50);
    entry.ratioP99 = ratio(entry.runcast.fromSend.p99, entry.floor.fromSend.p99);
    entry.ratioMedianRoundP99 = ratio(entry.runcast.medianRoundP99, entry.floor.medianRoundP99);
  }
  return entry;
}

/** Runs every count: Runcast and the floor side by side, the floor answering with the body Runcast sent. */
export async function runFanout(opts: FanoutOptions): Promise<FanoutResult[]> {
  const gens = await GeneratorPool.start(opts.generators, (line) => opts.log(`  ${line}`));
  const unregister = onCleanup(() => gens.stop());
  const results: FanoutResult[] = [];
  if (opts.cpuProfDir) mkdirSync(opts.cpuProfDir, { recursive: true });
  quietBusyMs = opts.cpuProfDir ? 80 : 10;
  try {
    for (const n of opts.counts) results.push(await measureCount(n, gens, opts));
  } finally {
    unregister();
    await gens.stop();
  }
  return results;
}

export function fanoutTable(results: FanoutResult[]): string {
  const rows = [["fan-out (ms, until body received)", "N", "p50", "p99", "max", "p50 from commit", "p99 from commit", "RSS/held KiB", "2nd half", "no GC", "heap/held KiB", "server CPU ms fan-out", "server CPU ms round", "client CPU ms round"]];
  for (const r of results) {
    for (const t of [r.runcast, r.floor]) {
      if (!t) continue;
      rows.push([
        t.target === "runcast" ? "runcast /v1/shape" : "floor (bare node:http)",
        String(t.n),
        fmtMs(t.fromSend.p50),
        fmtMs(t.fromSend.p99),
        fmtMs(t.fromSend.max),
        fmtMs(t.fromCommit.p50),
        fmtMs(t.fromCommit.p99),
        t.memory.perHeldKb.toFixed(1),
        t.memory.marginalPerHeldKb.toFixed(1),
        t.memory.withoutGc.perHeldKb.toFixed(1),
        t.memory.heap.perHeldKb.toFixed(1),
        String(t.cpuMsPerRound.serverFanout),
        String(t.cpuMsPerRound.server),
        String(t.cpuMsPerRound.generators),
      ]);
    }
  }
  const lines = [table(rows), ""];
  for (const r of results) {
    if (r.ratioP99 === undefined) continue;
    const mem = r.runcast?.memory;
    const rss = mem?.perHeldKb ?? Number.NaN;
    // Below this many held requests, RSS moves more from V8's spare capacity than from the requests.
    const readable = r.n >= 2000;
    lines.push(
      `N=${r.n}: runcast/floor p99 ${fmtRatio(r.ratioP99, FANOUT_TARGETS.p99Ratio)} (target ≤ ${FANOUT_TARGETS.p99Ratio}; median of round p99s ${fmtRatio(r.ratioMedianRoundP99 ?? Number.NaN)}), p50 ${fmtRatio(r.ratioP50 ?? Number.NaN)}; ` +
        `RSS per held request ${rss.toFixed(1)} KiB ${readable ? (rss <= FANOUT_TARGETS.perHeldKb ? "✓" : "✗") : "(too few requests to judge RSS)"} (target ≤ ${FANOUT_TARGETS.perHeldKb}), ` +
        `retained heap ${mem?.heap.perHeldKb.toFixed(1)} KiB (floor ${r.floor?.memory.heap.perHeldKb.toFixed(1)})`,
    );
  }
  return lines.join("\n");
}

/** The fan-out section of BENCHMARKS.md. */
export function fanoutSection(results: FanoutResult[]): string {
  const rows = [["server", "held requests", "p50 (ms)", "p99 (ms)", "max (ms)", "RSS per held (KiB)", "server CPU per round (ms)"]];
  for (const r of results) {
    for (const t of [r.runcast, r.floor]) {
      if (!t) continue;
      rows.push([
        t.target === "runcast" ? "Runcast /v1/shape" : "floor: bare node:http",
        String(t.n),
        fmtMs(t.fromSend.p50),
        fmtMs(t.fromSend.p99),
        fmtMs(t.fromSend.max),
        t.memory.perHeldKb.toFixed(1),
        String(t.cpuMsPerRound.server),
      ]);
    }
  }
  const ratios = results
    .filter((r) => r.ratioMedianRoundP99 !== undefined)
    .map((r) => `N = ${r.n}: p99 ÷ floor ${fmtRatio(r.ratioMedianRoundP99 ?? Number.NaN)} (target ≤ ${FANOUT_TARGETS.p99Ratio})`);
  return [
    "## 2. Fan-out",
    "",
    "One commit reaches N held long-polls; the floor is a bare Node server answering as many held requests with one pre-encoded body.",
    "",
    md(rows),
    "",
    ratios.join("; ") + ".",
  ].join("\n");
}


export const FANOUT_MODES = {
  quick: { counts: [500], rounds: 5, warmupSubscribers: 100, warmupRounds: 2 },
  full: { counts: [1000, 5000], rounds: 8, warmupSubscribers: 200, warmupRounds: 3 },
} as const;

/** Options shared by the CLIs (sync.ts reuses these). */
export const FANOUT_ARGS = {
  quick: { type: "boolean" },
  n: { type: "string" },
  rounds: { type: "string" },
  generators: { type: "string" },
  "setup-concurrency": { type: "string" },
  reissue: { type: "string" },
  client: { type: "string" },
  target: { type: "string" },
  "cpu-prof": { type: "boolean" },
  out: { type: "string" },
} as const;

export function fanoutOptionsFrom(
  values: { quick?: boolean; n?: string; rounds?: string; generators?: string; "setup-concurrency"?: string; reissue?: string; client?: string; target?: string; "cpu-prof"?: boolean },
  databaseUrl: string,
  log: (line: string) => void,
): FanoutOptions {
  const mode = values.quick ? FANOUT_MODES.quick : FANOUT_MODES.full;
  const int = (v: string | undefined, fallback: number, name: string) => {
    if (v === undefined) return fallback;
    const x = Number(v);
    if (!Number.isInteger(x) || x <= 0) throw new Error(`--${name} must be a positive integer`);
    return x;
  };
  const counts = values.n ? values.n.split(",").map((s) => int(s.trim(), 0, "n")) : [...mode.counts];
  const targets = (values.target ?? "runcast,floor").split(",").map((s) => s.trim());
  const reissue = values.reissue ?? "deferred";
  if (reissue !== "immediate" && reissue !== "deferred") throw new Error("--reissue must be immediate or deferred");
  const client = values.client ?? "raw";
  if (client !== "raw" && client !== "node-http") throw new Error("--client must be raw or node-http");
  for (const t of targets) if (t !== "runcast" && t !== "floor") throw new Error(`--target: unknown target ${t} (runcast, floor)`);
  return {
    databaseUrl,
    counts,
    rounds: int(values.rounds, mode.rounds, "rounds"),
    warmupSubscribers: mode.warmupSubscribers,
    warmupRounds: mode.warmupRounds,
    generators: int(values.generators, 4, "generators"),
    setupConcurrency: int(values["setup-concurrency"], 32, "setup-concurrency"),
    reissue,
    client,
    targets: targets as FanoutTargetName[],
    ...(values["cpu-prof"] ? { cpuProfDir: join(RESULTS_DIR, "prof") } : {}),
    log,
  };
}

runIfMain(import.meta.url, async () => {
  const { values } = parseArgs({ options: FANOUT_ARGS, strict: true });
  await runPart({
    name: "fanout",
    quick: values.quick,
    out: values.out,
    options: (databaseUrl, log) => fanoutOptionsFrom(values, databaseUrl, log),
    run: runFanout,
    table: fanoutTable,
    targets: FANOUT_TARGETS,
  });
});
