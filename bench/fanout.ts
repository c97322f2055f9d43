/**
 * Fan-out benchmark: N subscribers hold a live request (a long-poll, or an SSE stream) on a feed, one
 * transaction commits, and every subscriber is timed until it has the change complete (the long-poll's body
 * fully received, or the stream's up-to-date event after the change). The feeds:
 *   - run:   all N on one run, `GET /realtime/v1/runs/:runId` (a round: one UPDATE of that run's metadata);
 *   - runs:  each on its own run (N runs; a round: one statement updating the metadata of all N runs);
 *   - shape: all N on `/v1/shape?table=bench_items` (a round: one UPDATE of one row), the sync engine's own door.
 * The same generators and client code hold N requests on the floor server too (bare node:http answering them
 * all with one pre-encoded body, or writing one pre-encoded event buffer to N streams, of the same bytes), at
 * the same time, and the rounds alternate between the two, so the ratio shows what Runcast adds to what this
 * machine can do at best. Also: each server's resident memory per held subscriber, and its CPU per round.
 *
 * Only the public HTTP API (batch trigger, the realtime run route, /v1/shape) and SQL are used against
 * Runcast, which runs as its own process through its CLI (`runcast start`).
 *
 *   node --import tsx bench/fanout.ts [--quick] [--n 1000,5000] [--feeds run,runs,shape] [--transports long-poll,sse]
 *                                     [--rounds 5] [--generators 4] [--cpu-prof]
 */
import { fileURLToPath } from "node:url";
import http from "node:http";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { RUNCAST_SCHEMA } from "../packages/server/src/db/schema.ts";
import { Channel } from "./lib/children.ts";
import { now, type ClockOffset } from "./lib/clock.ts";
import { GeneratorPool, readFdLimit, type RoundTimes } from "./lib/generators.ts";
import type { FromFloor, HttpSample, ToFloor } from "./lib/ipc.ts";
import { runIfMain, runPart } from "./lib/cli.ts";
import { BENCH_TABLE, benchValue, connectClient, UPDATE_SQL } from "./lib/postgres.ts";
import { forkTs, GC_ON_SIGNAL_FLAGS, onCleanup, readCpuMs, readMemory, readMemoryAfterGc, sleep, type SettledMemory, stopChild, waitQuiet } from "./lib/procs.ts";
import { fmtMs, fmtRatio, md, RESULTS_DIR, table } from "./lib/report.ts";
import { startRuncastServer, type RuncastServer } from "./lib/runcast-server.ts";
import { percentile, ratio, rounded, summarize, type Summary } from "./lib/stats.ts";

const FLOOR_SERVER = fileURLToPath(new URL("./floor-server.ts", import.meta.url));

export type FanoutTargetName = "runcast" | "floor";
/** run: all N on one run; runs: each on its own run; shape: all N on one /v1/shape (a user table). */
export type FanoutFeed = "run" | "runs" | "shape";
export type FanoutTransport = "long-poll" | "sse";
export const FANOUT_FEEDS: readonly FanoutFeed[] = ["run", "runs", "shape"];
export const FANOUT_TRANSPORTS: readonly FanoutTransport[] = ["long-poll", "sse"];

/** How the tables name a feed and a transport. */
export const FEED_LABEL: Record<FanoutFeed, string> = { run: "one run", runs: "own run", shape: "/v1/shape row" };
export const TRANSPORT_LABEL: Record<FanoutTransport, string> = { "long-poll": "long-poll", sse: "SSE" };

/** One measurement: N subscribers of one feed over one transport, `rounds` updates. */
export interface FanoutConfig {
  feed: FanoutFeed;
  transport: FanoutTransport;
  n: number;
  rounds: number;
}

export interface FanoutOptions {
  databaseUrl: string;
  /** The measurements, in order (each starts its own Runcast and floor servers). */
  configs: FanoutConfig[];
  /** Subscribers and rounds of the warm-up before the idle memory reading. */
  warmupSubscribers: number;
  warmupRounds: number;
  /** Load-generator processes, at least (raised so that none holds more than `maxPerGenerator` connections). */
  generators: number;
  /** Connections one generator holds at most (both servers' subscribers count). */
  maxPerGenerator: number;
  /** Snapshot requests in flight per generator while opening. */
  setupConcurrency: number;
  /**
   * deferred (default): every long-poll subscriber sends its next live request after the round, so a round
   * times the delivery of one update alone. immediate: each re-issues as soon as its response ends, as real
   * clients do, so the server also takes in N new requests while it is still fanning out.
   */
  reissue: "immediate" | "deferred";
  /** The generators' HTTP client: raw (minimal HTTP/1.1, default) or node-http (node:http keep-alive agent). */
  client: "raw" | "node-http";
  targets: FanoutTargetName[];
  /**
   * SSE: before each round, streams open for longer than this are re-opened. Runcast ends a stream 45–60 s
   * after it opened (the client then opens the next one); re-opened before a round, none ends during it.
   */
  sseRefreshMs: number;
  /** Write a V8 CPU profile of each server (Runcast and floor) here (node --cpu-prof). */
  cpuProfDir?: string;
  log: (line: string) => void;
}

export const FANOUT_TARGETS = { p99Ratio: 1.3, perHeldKb: 20 } as const;

export interface RoundResult {
  fromSend: Summary;
  fromCommit: Summary;
  /** Subscribers without the change this round (should be 0). */
  missing: number;
  newSockets: number;
  /** SSE streams the server ended since the previous round (re-opened by their subscribers at once). */
  reconnects: number;
  /** SSE streams re-opened before the round (older than sseRefreshMs). */
  refreshed: number;
  /** Changes subscribers got between the previous round and this one, with no update committed (should be 0). */
  outside: number;
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
  feed: FanoutFeed;
  transport: FanoutTransport;
  n: number;
  /** The server process (a --cpu-prof profile carries it in its file name). */
  serverPid: number;
  /** Its open-files limit. */
  fdLimit: { soft: number; hard: number } | undefined;
  /** Time from just before the UPDATE (or the floor's release request) was sent until each subscriber had the change, all rounds. */
  fromSend: Summary;
  /** Same, from when the commit (the release request) returned. */
  fromCommit: Summary;
  rounds: RoundResult[];
  /** Median over rounds of each round's p99 (from send). */
  medianRoundP99: number;
  /** Long-poll: the response body; SSE: the events of one update (the change and the up-to-date that follows). */
  bodyBytes: number;
  /** Time to open the N subscribers (snapshot, then live). */
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
    /** Server RSS with N/2 held, KiB (null below READABLE_RSS_N, where the N are opened in one go). */
    halfRssKb: number | null;
    /** (held − half) / (N − N/2), KiB: the marginal cost, without one-time growth. */
    marginalPerHeldKb: number | null;
    /** RSS with N requests held after the rounds (no GC forced), and the process's peak RSS. */
    afterRoundsRssKb: number;
    peakRssKb: number;
  };
  /** Mean per round: the server's CPU during the fan-out, and over the whole round (with the re-issued requests). */
  cpuMsPerRound: { serverFanout: number; server: number; generators: number };
  emptyResponses: number;
  /** SSE: streams ended by the server during rounds, and streams re-opened between rounds (all rounds). */
  reconnects: number;
  refreshed: number;
  errors: number;
  clock: { maxOffsetMs: number; maxRttMs: number };
}

/** One feed and transport at one N: both servers, and the ratios. */
export interface FanoutConfigResult {
  feed: FanoutFeed;
  transport: FanoutTransport;
  n: number;
  runcast?: FanoutTargetResult;
  floor?: FanoutTargetResult;
  /** runcast / floor, latency from send (all rounds pooled). */
  ratioP50?: number;
  ratioP99?: number;
  /** runcast / floor of the median over rounds of each round's p99: one disturbed round does not move it. */
  ratioMedianRoundP99?: number;
}

/** Every measurement at one N. */
export interface FanoutResult {
  n: number;
  configs: FanoutConfigResult[];
  /** How the load was spread: generator processes, connections each held at most, open-files limits. */
  load: {
    generators: number;
    maxConnectionsPerGenerator: number;
    fdLimits: { orchestrator: { soft: number; hard: number } | undefined; generators: ({ soft: number; hard: number } | undefined)[] };
    /** Runs created through the batch API for the run feeds (the same runs serve every N), and how long it took. */
    runs?: { count: number; ms: number; perSecond: number };
  };
}

/** One server under test, as the measurement loop sees it. */
interface Target {
  name: FanoutTargetName;
  url: string;
  pid: number;
  authorization: string | undefined;
  /**
   * Prepares the server for a measurement: Runcast, the feed its updates go to; the floor, the bytes it answers
   * with (copies of Runcast's for this feed and transport).
   */
  use(config: FanoutConfig, plan: FeedPlan, samples: Samples): Promise<void>;
  /** Commits one change (or releases the held requests) for the warm-up's or the measured subscribers; resolves when the commit (control request) returns. */
  trigger(phase: Phase): Promise<void>;
  /** Requests currently held, when the server can tell (the floor can). */
  held?(): Promise<number>;
  stop(): Promise<void>;
}

type Phase = "warm" | "measure";
type Samples = { live?: HttpSample; sse?: HttpSample; snapshot: HttpSample };

let updates = 0;

function monotonicUs(): number {
  return Number(process.hrtime.bigint() / 1000n);
}

/** Paths of the subscribers, and the statement one round commits, of a feed in each phase. */
interface FeedPlan {
  paths(phase: Phase, count: number): string | string[];
  update(phase: Phase, count: number): { text: string; values: unknown[] };
}

const RUN_FEED = "/realtime/v1/runs/";
const RUNS_TABLE = `${RUNCAST_SCHEMA}.runs`;

/**
 * The feed's subscribers and updates. Own-run warm-ups use the last runs of the list, which no measured
 * subscriber reads (the measured ones are the first N), so the idle reading has none of their shapes.
 */
function feedPlan(feed: FanoutFeed, runIds: readonly string[]): FeedPlan {
  const meta = () => JSON.stringify({ bench: benchValue(++updates) });
  switch (feed) {
    case "shape":
      return {
        paths: () => `/v1/shape?table=${BENCH_TABLE}`,
        update: () => ({ text: UPDATE_SQL, values: [benchValue(++updates)] }),
      };
    case "run": {
      const id = runIds[0] as string;
      return {
        paths: () => RUN_FEED + id,
        update: () => ({ text: `UPDATE ${RUNS_TABLE} SET metadata = $1::jsonb WHERE id = $2`, values: [meta(), id] }),
      };
    }
    case "runs": {
      const ids = (phase: Phase, count: number) => (phase === "measure" ? runIds.slice(0, count) : runIds.slice(runIds.length - count));
      return {
        paths: (phase, count) => ids(phase, count).map((id) => RUN_FEED + id),
        // One statement, one transaction: every run's row changes in the same commit.
        update: (phase, count) => ({ text: `UPDATE ${RUNS_TABLE} SET metadata = $1::jsonb WHERE id = ANY($2::text[])`, values: [meta(), ids(phase, count)] }),
      };
    }
  }
}

async function runcastTarget(opts: FanoutOptions, n: number): Promise<Target> {
  // Every live request of the environment counts (a re-opened SSE stream may arrive before the server saw its
  // predecessor close); the per-token share applies to public tokens only, raised alike.
  const limit = 2 * n + opts.warmupSubscribers + 1_000;
  const server = await startRuncastServer({
    databaseUrl: opts.databaseUrl,
    maxSubscriptions: limit,
    longPollMs: 240_000,
    gcOnSignal: true,
    env: { RUNCAST_MAX_SUBSCRIPTIONS_PER_TOKEN: String(limit) },
    ...(opts.cpuProfDir ? { cpuProfDir: opts.cpuProfDir } : {}),
  });
  const sql = await connectClient({ connectionString: opts.databaseUrl }, opts.log);
  let current: { config: FanoutConfig; plan: FeedPlan } | undefined;
  return {
    name: "runcast",
    url: server.url,
    pid: server.pid,
    authorization: `Bearer ${server.secretKey}`,
    async use(config, plan) {
      current = { config, plan };
    },
    async trigger(phase) {
      if (!current) throw new Error("runcast target: no feed to update");
      const { config, plan } = current;
      const q = plan.update(phase, phase === "warm" ? Math.min(opts.warmupSubscribers, config.n) : config.n);
      await sql.query(q.text, q.values);
    },
    async stop() {
      await sql.end();
      await server.stop();
    },
  };
}

/**
 * Runs for the run feeds, created through the public API: `POST /api/v1/batches` (1,000 items each, a few
 * requests in flight) on a task no worker serves, so they wait for a deployment and change only when the bench
 * updates them. Done once on a server of its own; every later server reads the same environment.
 */
async function createRuns(opts: FanoutOptions, count: number): Promise<{ ids: string[]; ms: number }> {
  const started = now();
  const server: RuncastServer = await startRuncastServer({ databaseUrl: opts.databaseUrl, maxSubscriptions: 100, longPollMs: 20_000 });
  try {
    const perBatch = 1_000;
    const batches = Math.ceil(count / perBatch);
    const ids: string[][] = [];
    let next = 0;
    const worker = async () => {
      while (next < batches) {
        const b = next++;
        const size = Math.min(perBatch, count - b * perBatch);
        const items = Array.from({ length: size }, (_, i) => ({ task: "bench-fanout", payload: { i: b * perBatch + i } }));
        const res = await fetch(`${server.url}/api/v1/batches`, {
          method: "POST",
          headers: { authorization: `Bearer ${server.secretKey}`, "content-type": "application/json" },
          body: JSON.stringify({ items }),
        });
        const body = (await res.json()) as { runs?: { id: string }[] };
        if (res.status !== 200 || !body.runs || body.runs.length !== size) throw new Error(`POST /api/v1/batches answered ${res.status}: ${JSON.stringify(body).slice(0, 300)}`);
        ids[b] = body.runs.map((r) => r.id);
      }
    };
    await Promise.all(Array.from({ length: Math.min(4, batches) }, worker));
    const ms = now() - started;
    return { ids: ids.flat(), ms };
  } finally {
    await server.stop();
  }
}

/** Bodies like Runcast's for one update, when the floor runs without a Runcast run to copy from. */
export function syntheticSamples(): { live: HttpSample; sse: HttpSample; snapshot: HttpSample } {
  const update = JSON.stringify({
    key: `"public"."${BENCH_TABLE}"/"1"`,
    value: { id: "1", v: benchValue(0) },
    headers: { operation: "update", relation: ["public", BENCH_TABLE], lsn: "26000000", op_position: 0, txids: [800], last: true },
  });
  const upToDate = JSON.stringify({ headers: { control: "up-to-date", global_last_seen_lsn: "26000000" } });
  const common = { "electric-handle": "1-1700000000000" };
  const json = { "content-type": "application/json; charset=utf-8", ...common };
  return {
    live: {
      status: 200,
      headers: { ...json, "electric-offset": "26000000_0", "electric-cursor": "1", "electric-up-to-date": "", "electric-has-data": "true", "cache-control": "public, max-age=5, stale-while-revalidate=5" },
      body: `[${update},${upToDate}]`,
    },
    sse: {
      status: 200,
      headers: { ...common, "content-type": "text/event-stream", "electric-offset": "26000000_0", "electric-cursor": "1", "cache-control": "public, max-age=59" },
      body: `data: ${update}\n\ndata: ${upToDate}\n\n`,
    },
    snapshot: { status: 200, headers: { ...json, "electric-offset": "0_0", "electric-schema": "{}" }, body: `[${upToDate}]` },
  };
}

async function floorTarget(opts: FanoutOptions, samples: Samples): Promise<Target> {
  const flags = [...GC_ON_SIGNAL_FLAGS, ...(opts.cpuProfDir ? ["--cpu-prof", `--cpu-prof-dir=${opts.cpuProfDir}`] : [])];
  const floor = new Channel<ToFloor, FromFloor>(forkTs(FLOOR_SERVER, [], flags), "floor server");
  const init = async (s: Samples) => {
    floor.send({ t: "init", snapshot: s.snapshot, ...(s.live ? { live: s.live } : {}), ...(s.sse ? { sse: s.sse } : {}) });
    return (await floor.next("listening", 30_000)).port;
  };
  const port = await init(samples);
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
    async use(_config, _plan, s) {
      await init(s);
    },
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
  config: FanoutConfig;
  tag: string;
  idle: Memory;
  /** With N/2 held (only where memory is judged, N ≥ READABLE_RSS_N). */
  half: Memory | undefined;
  held: Memory;
  setupMs: number;
  rounds: RoundResult[];
  fromSend: number[];
  fromCommit: number[];
  bodyBytes: number;
  empty: number;
  errors: number;
  reconnects: number;
  refreshed: number;
  sample: HttpSample | undefined;
  snapshot: HttpSample | undefined;
}

/**
 * CPU a quiet moment may still use, ms per 200 ms window. A profiled server never drops below the V8
 * sampler's own cost, so --cpu-prof raises it (a burst of work runs near 100 % anyway).
 */
let quietBusyMs = 10;
/**
 * Waits until the processes are idle: two windows of 200 ms with (almost) no CPU; 100 ms windows below
 * READABLE_RSS_N, where the servers and generators have little to settle (and the test suite's tiny run goes).
 */
const quiet = (pids: number[], n: number) => waitQuiet(pids, { maxMs: 30_000, busyMs: quietBusyMs, windowMs: n >= READABLE_RSS_N ? 200 : 100 });

function openOptions(target: Target, config: FanoutConfig, opts: FanoutOptions) {
  return { url: target.url, transport: config.transport, authorization: target.authorization, concurrency: opts.setupConcurrency, reissue: opts.reissue, client: opts.client };
}

/** After a round, deferred mode: the long-poll subscribers send their next live request. */
async function rearm(target: Target, config: FanoutConfig, gens: GeneratorPool, opts: FanoutOptions): Promise<void> {
  if (config.transport === "long-poll" && opts.reissue === "deferred") await gens.rearm(target.name);
}

/**
 * Before a round, SSE: streams open for longer than sseRefreshMs are re-opened (Runcast ends each 45–60 s after
 * it opened), so that none ends during the round. Returns how many were.
 */
async function refresh(target: Target, config: FanoutConfig, gens: GeneratorPool, opts: FanoutOptions): Promise<number> {
  return config.transport === "sse" ? (await gens.rearm(target.name, opts.sseRefreshMs)).refreshed : 0;
}

/** A few subscribers and updates (JIT, shapes, caches), closed again; then the idle RSS. */
async function warmUp(target: Target, config: FanoutConfig, plan: FeedPlan, gens: GeneratorPool, opts: FanoutOptions): Promise<TargetRun> {
  const tag = `[fanout ${FEED_LABEL[config.feed]} ${TRANSPORT_LABEL[config.transport]} n=${config.n} ${target.name}]`;
  const warm = Math.min(opts.warmupSubscribers, config.n);
  // A handful of subscribers (the test suite's tiny run) needs one round: nothing is judged there.
  const warmupRounds = config.n < TINY_N ? 1 : opts.warmupRounds;
  opts.log(`${tag} warm-up: ${warm} subscribers × ${warmupRounds} updates`);
  const opened = await gens.open(target.name, { ...openOptions(target, config, opts), paths: plan.paths("warm", warm), total: warm });
  let sample: HttpSample | undefined;
  for (let r = 0; r < warmupRounds; r++) {
    await quiet([target.pid], config.n);
    await gens.arm(target.name);
    await target.trigger("warm");
    const times = await gens.round(target.name, 60_000);
    sample ??= times.sample;
    await rearm(target, config, gens, opts);
  }
  await gens.close(target.name);
  await quiet([target.pid], config.n);
  if (config.n >= READABLE_RSS_N) await sleep(500);
  const idle = await readMemoryAfterGc(target.pid);
  return {
    target,
    config,
    tag,
    idle,
    half: undefined,
    held: idle,
    setupMs: 0,
    rounds: [],
    fromSend: [],
    fromCommit: [],
    bodyBytes: 0,
    empty: 0,
    errors: 0,
    reconnects: 0,
    refreshed: 0,
    sample,
    snapshot: opened.snapshot,
  };
}

/**
 * Opens the N subscribers (offset=-1, then live) in two halves, reading the RSS once everything is
 * quiet after each: (held − idle) / N is the figure asked for; the second half alone, (held − half) / (N/2),
 * leaves out one-time growth (V8's young generation growing to its working size, buffers, caches).
 */
async function hold(run: TargetRun, plan: FeedPlan, gens: GeneratorPool, opts: FanoutOptions, pids: number[]): Promise<void> {
  const { target, tag, config } = run;
  const n = config.n;
  opts.log(`${tag} opening ${n} subscribers (offset=-1, then ${config.transport === "sse" ? "an SSE stream" : "live=true"})${n >= READABLE_RSS_N ? ", in two halves" : ""}…`);
  // Where memory is not judged, in one go.
  const first = n >= READABLE_RSS_N ? Math.floor(n / 2) : n;
  const all = plan.paths("measure", n);
  const part = (from: number, to: number) => (typeof all === "string" ? all : all.slice(from, to));
  const base = openOptions(target, config, opts);
  const a = await gens.open(target.name, { ...base, paths: part(0, first), total: first });
  let b = { ms: 0, errors: 0 };
  if (first < n) {
    await quiet(pids, config.n);
    run.half = await readMemoryAfterGc(target.pid);
    b = await gens.open(target.name, { ...base, paths: part(first, n), total: n - first, add: true });
  }
  const errors = a.errors + b.errors;
  if (errors) opts.log(`${tag} ${errors} snapshot requests failed and were retried`);
  await quiet(pids, config.n);
  const heldCount = await target.held?.();
  if (heldCount !== undefined && heldCount !== n) opts.log(`${tag} warning: the floor holds ${heldCount} of ${n} requests`);
  run.held = await readMemoryAfterGc(target.pid);
  run.setupMs = a.ms + b.ms;
  opts.log(
    `${tag} ${n} held after ${fmtMs(run.setupMs)} ms; server RSS after GC ${Math.round(run.idle.rssKb / 1024)} → ${run.half ? `${Math.round(run.half.rssKb / 1024)} → ` : ""}${Math.round(run.held.rssKb / 1024)} MiB: ` +
      `${((run.held.rssKb - run.idle.rssKb) / n).toFixed(1)} KiB per held subscriber (${run.half ? `second half alone ${((run.held.rssKb - run.half.rssKb) / (n - first)).toFixed(1)}; ` : ""}` +
      `without GC ${((run.held.rawRssKb - run.idle.rawRssKb) / n).toFixed(1)}); heap+external ${((run.held.heapKb - run.idle.heapKb) / n).toFixed(1)} KiB per held subscriber`,
  );
}

/** One update (or release), every subscriber timed until it has the change; then the re-issue (SSE: re-opening of old streams) and quiet. */
async function round(run: TargetRun, label: string, gens: GeneratorPool, opts: FanoutOptions, pids: number[]): Promise<void> {
  const { target, tag, config } = run;
  const refreshed = await refresh(target, config, gens, opts);
  await quiet(pids, config.n);
  const serverCpu0 = readCpuMs(target.pid);
  const genCpu0 = gens.cpuMs();
  await gens.arm(target.name);
  const mono0 = monotonicUs();
  const t0 = now();
  await target.trigger("measure");
  const t1 = now();
  const times = await gens.round(target.name, 60_000);
  const mono1 = monotonicUs();
  const serverCpuFanout = readCpuMs(target.pid) - serverCpu0;
  await rearm(target, config, gens, opts);
  await quiet(pids, config.n);
  const mono2 = monotonicUs();
  const fromSend = latencies(times, t0);
  const fromCommit = latencies(times, t1);
  const r: RoundResult = {
    fromSend: rounded(summarize(fromSend)),
    fromCommit: rounded(summarize(fromCommit)),
    missing: times.ends.filter((e) => !Number.isFinite(e)).length,
    newSockets: times.newSockets,
    reconnects: times.reconnects,
    refreshed,
    outside: times.outside,
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
  run.reconnects += times.reconnects;
  run.refreshed += refreshed;
  opts.log(
    `${tag} round ${label}: p50 ${fmtMs(r.fromSend.p50)} p99 ${fmtMs(r.fromSend.p99)} max ${fmtMs(r.fromSend.max)} ms` +
      ` (commit→ p50 ${fmtMs(r.fromCommit.p50)}); CPU ms: server ${Math.round(r.serverFanoutCpuMs)} fan-out / ${Math.round(r.serverCpuMs)} round, generators ${Math.round(r.generatorCpuMs)}` +
      (r.missing ? `; ${r.missing} MISSING` : "") +
      (r.newSockets ? `; ${r.newSockets} new sockets` : "") +
      (r.reconnects ? `; ${r.reconnects} streams ended by the server since the last round` : "") +
      (r.outside ? `; ${r.outside} changes got again between rounds` : "") +
      (refreshed ? `; ${refreshed} streams re-opened before it` : ""),
  );
}

function finish(run: TargetRun, after: { rssKb: number; hwmKb: number }, offsets: ClockOffset[]): FanoutTargetResult {
  const { n, feed, transport } = run.config;
  const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : Number.NaN);
  const perHeldKb = (run.held.rssKb - run.idle.rssKb) / n;
  const marginal = run.half ? (run.held.rssKb - run.half.rssKb) / (n - Math.floor(n / 2)) : undefined;
  return {
    target: run.target.name,
    feed,
    transport,
    n,
    serverPid: run.target.pid,
    fdLimit: readFdLimit(run.target.pid),
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
      halfRssKb: run.half?.rssKb ?? null,
      marginalPerHeldKb: marginal === undefined ? null : Math.round(marginal * 100) / 100,
      afterRoundsRssKb: after.rssKb,
      peakRssKb: after.hwmKb,
    },
    cpuMsPerRound: {
      serverFanout: Math.round(mean(run.rounds.map((r) => r.serverFanoutCpuMs))),
      server: Math.round(mean(run.rounds.map((r) => r.serverCpuMs))),
      generators: Math.round(mean(run.rounds.map((r) => r.generatorCpuMs))),
    },
    emptyResponses: run.empty,
    reconnects: run.reconnects,
    refreshed: run.refreshed,
    errors: run.errors,
    clock: {
      maxOffsetMs: Math.round(Math.max(...offsets.map((o) => Math.abs(o.offsetMs))) * 1000) / 1000,
      maxRttMs: Math.round(Math.max(...offsets.map((o) => o.rttMs)) * 1000) / 1000,
    },
  };
}

/**
 * One feed, transport and N: each target is started and warmed up (Runcast first: the floor then answers
 * with the bytes and headers Runcast sent), both hold N subscribers at once, and the measured rounds alternate
 * between them (A B, B A, …) so that load from anything else on the machine falls on both alike. Both are
 * stopped at the end: every measurement starts from fresh servers.
 */
async function measureConfig(
  config: FanoutConfig,
  runIds: readonly string[],
  gens: GeneratorPool,
  opts: FanoutOptions,
  shared: Map<FanoutTargetName, Target> | undefined,
): Promise<FanoutConfigResult> {
  const runs: TargetRun[] = [];
  const entry: FanoutConfigResult = { feed: config.feed, transport: config.transport, n: config.n };
  const plan = feedPlan(config.feed, runIds);
  const started = now();
  try {
    const offsets = await gens.calibrate();
    let samples: Samples = syntheticSamples();
    for (const name of opts.targets) {
      let target = shared?.get(name);
      if (!target) {
        target = name === "runcast" ? await runcastTarget(opts, config.n) : await floorTarget(opts, samples);
        shared?.set(name, target);
      }
      await target.use(config, plan, samples);
      const run = await warmUp(target, config, plan, gens, opts);
      runs.push(run);
      if (name === "runcast" && run.sample && run.snapshot) {
        samples = config.transport === "sse" ? { sse: run.sample, snapshot: run.snapshot } : { live: run.sample, snapshot: run.snapshot };
      }
    }
    const pids = [...runs.map((r) => r.target.pid), ...gens.pids];
    for (const run of runs) await hold(run, plan, gens, opts, pids);
    for (let r = 0; r < config.rounds; r++) {
      const order = r % 2 === 0 ? runs : [...runs].reverse();
      for (const run of order) await round(run, `${r + 1}/${config.rounds}`, gens, opts, pids);
    }
    for (const run of runs) {
      entry[run.target.name] = finish(run, readMemory(run.target.pid), offsets);
      await gens.close(run.target.name);
    }
  } finally {
    if (!shared) for (const run of runs) await run.target.stop();
  }
  if (entry.runcast && entry.floor) {
    entry.ratioP50 = ratio(entry.runcast.fromSend.p50, entry.floor.fromSend.p50);
    entry.ratioP99 = ratio(entry.runcast.fromSend.p99, entry.floor.fromSend.p99);
    entry.ratioMedianRoundP99 = ratio(entry.runcast.medianRoundP99, entry.floor.medianRoundP99);
  }
  opts.log(
    `[fanout ${FEED_LABEL[config.feed]} ${TRANSPORT_LABEL[config.transport]} n=${config.n}] done in ${Math.round((now() - started) / 1000)} s` +
      (entry.ratioP99 !== undefined ? `: p99 ÷ floor ${fmtRatio(entry.ratioP99)} (median of rounds ${fmtRatio(entry.ratioMedianRoundP99 ?? Number.NaN)}), RSS per held ${entry.runcast?.memory.perHeldKb.toFixed(1)} KiB` : ""),
  );
  return entry;
}

/**
 * Runs every measurement: Runcast and the floor side by side, the floor answering with what Runcast sent.
 * The generators are as many as it takes for none to hold more than `maxPerGenerator` connections (both
 * servers' subscribers are held at once), and the runs of the run feeds are created first.
 */
export async function runFanout(opts: FanoutOptions): Promise<FanoutResult[]> {
  const maxN = Math.max(...opts.configs.map((c) => c.n));
  const connections = opts.targets.length * maxN;
  let count = Math.max(opts.generators, Math.ceil(connections / opts.maxPerGenerator));
  const fd = readFdLimit("self");
  // Children inherit this process's limit; a generator needs a descriptor per connection and a few more.
  if (fd && Math.ceil(connections / count) + 200 > fd.soft) {
    count = Math.ceil(connections / Math.max(1, fd.soft - 200));
    opts.log(`  the open-files limit is ${fd.soft} (hard ${fd.hard}): ${count} generators, so that each holds fewer connections`);
  }
  if (fd && maxN + 500 > fd.soft) {
    opts.log(`  warning: the open-files limit (${fd.soft}, hard ${fd.hard}) is too low for a server holding ${maxN} connections; raise it (ulimit -n) before the bench`);
  }
  opts.log(`fan-out: ${opts.configs.length} measurements, ${count} generator processes (at most ${Math.ceil(connections / count)} connections each); open-files limit ${fd ? `${fd.soft} (hard ${fd.hard})` : "unknown"}`);
  const gens = await GeneratorPool.start(count, (line) => opts.log(`  ${line}`));
  const unregister = onCleanup(() => gens.stop());
  const results: FanoutResult[] = [];
  // Below READABLE_RSS_N, where memory is not judged, the measurements of one N share their servers (a
  // server start costs more than such a measurement); from there on, each one starts from fresh servers.
  let shared: { n: number; targets: Map<FanoutTargetName, Target> } | undefined;
  const stopShared = async () => {
    const targets = [...(shared?.targets.values() ?? [])];
    shared = undefined;
    for (const t of targets) await t.stop();
  };
  if (opts.cpuProfDir) mkdirSync(opts.cpuProfDir, { recursive: true });
  quietBusyMs = opts.cpuProfDir ? 80 : 10;
  try {
    const runFeeds = opts.configs.filter((c) => c.feed !== "shape");
    let runIds: string[] = [];
    let runsInfo: FanoutResult["load"]["runs"];
    if (runFeeds.length && opts.targets.includes("runcast")) {
      // The measured subscribers read the first N runs; own-run warm-ups read the last ones.
      const need = Math.max(1, ...runFeeds.filter((c) => c.feed === "runs").map((c) => c.n)) + opts.warmupSubscribers;
      opts.log(`fan-out: creating ${need} runs through POST /api/v1/batches…`);
      const created = await createRuns(opts, need);
      runIds = created.ids;
      runsInfo = { count: need, ms: Math.round(created.ms), perSecond: Math.round(need / (created.ms / 1000)) };
      opts.log(`fan-out: ${need} runs created in ${Math.round(created.ms)} ms (${runsInfo.perSecond} per second, server start and stop included)`);
    } else if (runFeeds.length) {
      // The floor alone: paths only need to look like run feeds.
      runIds = Array.from({ length: maxN + opts.warmupSubscribers }, (_, i) => `run_bench${i}`);
    }
    const load = { generators: count, maxConnectionsPerGenerator: Math.ceil(connections / count), fdLimits: { orchestrator: fd, generators: gens.fdLimits() } };
    for (const config of opts.configs) {
      let entry = results.find((r) => r.n === config.n);
      if (!entry) {
        entry = { n: config.n, configs: [], load: { ...load, ...(runsInfo && !results.length ? { runs: runsInfo } : {}) } };
        results.push(entry);
      }
      if (shared && shared.n !== config.n) await stopShared();
      if (!shared && config.n < READABLE_RSS_N) shared = { n: config.n, targets: new Map() };
      entry.configs.push(await measureConfig(config, runIds, gens, opts, shared?.targets));
    }
    await stopShared();
  } finally {
    await stopShared();
    unregister();
    await gens.stop();
  }
  return results;
}

const serverName = (t: FanoutTargetResult) => (t.target === "floor" ? "floor: bare node:http" : t.feed === "shape" ? "Runcast /v1/shape" : "Runcast /realtime/v1/runs/:id");

/** Every configuration of every N, in run order. */
function allConfigs(results: FanoutResult[]): FanoutConfigResult[] {
  return results.flatMap((r) => r.configs);
}

/** Below this many held requests, RSS moves more from V8's spare capacity than from the requests. */
const READABLE_RSS_N = 2000;
/** Below this, a measurement only shows that the code runs (the test suite's tiny run). */
const TINY_N = 200;

export function fanoutTable(results: FanoutResult[]): string {
  const rows = [
    ["fan-out (ms, until the change is in)", "feed", "transport", "N", "p50", "p99", "max", "p99 from commit", "RSS/held KiB", "2nd half", "no GC", "heap/held KiB", "server CPU ms fan-out", "server CPU ms round", "client CPU ms round"],
  ];
  for (const c of allConfigs(results)) {
    for (const t of [c.runcast, c.floor]) {
      if (!t) continue;
      rows.push([
        serverName(t),
        FEED_LABEL[t.feed],
        TRANSPORT_LABEL[t.transport],
        String(t.n),
        fmtMs(t.fromSend.p50),
        fmtMs(t.fromSend.p99),
        fmtMs(t.fromSend.max),
        fmtMs(t.fromCommit.p99),
        t.memory.perHeldKb.toFixed(1),
        t.memory.marginalPerHeldKb === null ? "–" : t.memory.marginalPerHeldKb.toFixed(1),
        t.memory.withoutGc.perHeldKb.toFixed(1),
        t.memory.heap.perHeldKb.toFixed(1),
        String(t.cpuMsPerRound.serverFanout),
        String(t.cpuMsPerRound.server),
        String(t.cpuMsPerRound.generators),
      ]);
    }
  }
  const lines = [table(rows), ""];
  for (const c of allConfigs(results)) {
    if (c.ratioP99 === undefined) continue;
    const mem = c.runcast?.memory;
    const rss = mem?.perHeldKb ?? Number.NaN;
    const readable = c.n >= READABLE_RSS_N;
    const issues = [c.runcast, c.floor].flatMap((t) =>
      t && (t.errors || t.reconnects || t.emptyResponses || t.rounds.some((r) => r.missing)) ? [`${t.target}: ${t.errors} errors, ${t.reconnects} streams ended in rounds, ${t.emptyResponses} empty, ${t.rounds.reduce((s, r) => s + r.missing, 0)} missing`] : [],
    );
    lines.push(
      `${FEED_LABEL[c.feed]}, ${TRANSPORT_LABEL[c.transport]}, N=${c.n}: runcast/floor p99 ${fmtRatio(c.ratioP99, FANOUT_TARGETS.p99Ratio)} (target ≤ ${FANOUT_TARGETS.p99Ratio}; median of round p99s ${fmtRatio(c.ratioMedianRoundP99 ?? Number.NaN)}), p50 ${fmtRatio(c.ratioP50 ?? Number.NaN)}; ` +
        `RSS per held ${rss.toFixed(1)} KiB ${readable ? (rss <= FANOUT_TARGETS.perHeldKb ? "✓" : "✗") : "(too few to judge RSS)"} (target ≤ ${FANOUT_TARGETS.perHeldKb}), ` +
        `retained heap ${mem?.heap.perHeldKb.toFixed(1)} KiB (floor ${c.floor?.memory.heap.perHeldKb.toFixed(1)})` +
        (issues.length ? `; ${issues.join("; ")}` : ""),
    );
  }
  return lines.join("\n");
}

/** The reading under the fan-out table: what missed a target, and why (from what the bench measured). */
function fanoutReading(results: FanoutResult[]): string {
  const configs = allConfigs(results).filter((c) => c.runcast && c.floor);
  const slow = configs.filter((c) => (c.ratioP99 ?? 0) > FANOUT_TARGETS.p99Ratio);
  const heavy = configs.filter((c) => c.n >= READABLE_RSS_N && (c.runcast?.memory.perHeldKb ?? 0) > FANOUT_TARGETS.perHeldKb);
  const name = (c: FanoutConfigResult) => `${FEED_LABEL[c.feed]} over ${TRANSPORT_LABEL[c.transport]} at N = ${c.n}`;
  if (!configs.length) return "";
  if (!slow.length && !heavy.length) return `Every measurement met both targets (p99 ≤ ${FANOUT_TARGETS.p99Ratio} × the floor; ≤ ${FANOUT_TARGETS.perHeldKb} KiB per held subscriber where N ≥ ${READABLE_RSS_N}).`;
  const parts: string[] = [];
  if (slow.length) {
    const list = slow.map((c) => `${name(c)} (${fmtRatio(c.ratioP99 ?? Number.NaN)}; server CPU ${c.runcast?.cpuMsPerRound.serverFanout} ms per fan-out against the floor's ${c.floor?.cpuMsPerRound.serverFanout})`).join(", ");
    parts.push(`p99 above ${FANOUT_TARGETS.p99Ratio} × the floor: ${list}.`);
    const own = slow.filter((c) => c.feed === "runs");
    if (own.length) {
      parts.push(
        "On own runs the floor writes one shared body to every subscriber, while Runcast has N shapes to serve: the transaction's N row changes are decoded, matched to their shapes and encoded into N logs, and every subscriber gets a response built for its own run, so its work grows with N where the floor's is one buffer copied; the server CPU per fan-out above is that difference.",
      );
    }
    const churn = slow.filter((c) => c.transport === "sse" && (c.runcast?.reconnects ?? 0) + (c.runcast?.refreshed ?? 0) > 0);
    if (churn.length) {
      parts.push(
        `Over SSE Runcast ends each stream 45–60 s after it opened, and the client opens the next one: ${churn.map((c) => `${name(c)}, ${c.runcast?.reconnects} streams ended and ${c.runcast?.refreshed} were re-opened by the bench around the rounds`).join("; ")}; the median round, which one such round does not move, is ${churn.map((c) => fmtRatio(c.ratioMedianRoundP99 ?? Number.NaN)).join(", ")} × the floor.`,
      );
    }
    if (slow.some((c) => c.feed !== "runs")) {
      parts.push(
        "On one run (or one /v1/shape row) every subscriber shares one encoded response; what is left over the floor is the commit's trip through PostgreSQL and logical replication, the wake-up of N waiters and the per-request bookkeeping, on the same two cores as the generators.",
      );
    }
  }
  if (heavy.length) {
    parts.push(
      `RSS above ${FANOUT_TARGETS.perHeldKb} KiB per held subscriber: ${heavy.map((c) => `${name(c)} (${c.runcast?.memory.perHeldKb.toFixed(1)} KiB; retained heap ${c.runcast?.memory.heap.perHeldKb.toFixed(1)} KiB)`).join(", ")}.` +
        (heavy.some((c) => c.feed === "runs") ? " A subscriber on its own run also holds that run's shape (its rows, log and encoded chunks), which a subscriber sharing a feed does not." : ""),
    );
  }
  return `Reading: ${parts.join(" ")}`;
}

/** The fan-out section of BENCHMARKS.md. */
export function fanoutSection(results: FanoutResult[]): string {
  const rows = [["server", "held", "feed", "transport", "p50 (ms)", "p99 (ms)", "max (ms)", "p99 ÷ floor", "median round p99 ÷ floor", "RSS per held (KiB)", "server CPU per round (ms)"]];
  for (const c of allConfigs(results)) {
    for (const t of [c.runcast, c.floor]) {
      if (!t) continue;
      const isRuncast = t.target === "runcast";
      rows.push([
        serverName(t),
        String(t.n),
        FEED_LABEL[t.feed],
        TRANSPORT_LABEL[t.transport],
        fmtMs(t.fromSend.p50),
        fmtMs(t.fromSend.p99),
        fmtMs(t.fromSend.max),
        isRuncast ? fmtRatio(c.ratioP99 ?? Number.NaN, FANOUT_TARGETS.p99Ratio) : "",
        isRuncast ? fmtRatio(c.ratioMedianRoundP99 ?? Number.NaN) : "",
        t.memory.perHeldKb.toFixed(1),
        String(t.cpuMsPerRound.server),
      ]);
    }
  }
  const load = results[0]?.load;
  const runs = results.find((r) => r.load.runs)?.load.runs;
  return [
    "## 2. Fan-out",
    "",
    "One commit reaches N held subscribers: all on one run, or each on its own run (`GET /realtime/v1/runs/:id`, one statement updating the metadata of the N runs), or all on one `/v1/shape` row; over held long-polls or SSE streams. " +
      "The floor is a bare Node server holding as many requests and answering them with one pre-encoded body (long-poll) or writing one pre-encoded event buffer to each stream (SSE), the bytes Runcast sent; on own runs it sends every subscriber the same bytes. " +
      `Latency runs from just before the UPDATE is sent until the subscriber has the change; p99 ÷ floor pools every round (target ≤ ${FANOUT_TARGETS.p99Ratio}); RSS per held subscriber is (RSS with N held − RSS idle) / N after forced GCs (target ≤ ${FANOUT_TARGETS.perHeldKb} KiB; below N = ${READABLE_RSS_N} it is mostly V8's spare capacity).`,
    "",
    md(rows),
    "",
    load
      ? `Load: ${load.generators} generator processes, at most ${load.maxConnectionsPerGenerator} connections each; open-files limit ${load.fdLimits.orchestrator ? `${load.fdLimits.orchestrator.soft} (hard ${load.fdLimits.orchestrator.hard})` : "unknown"}.` +
        (runs ? ` The ${runs.count} runs were created through \`POST /api/v1/batches\` in ${(runs.ms / 1000).toFixed(1)} s.` : "")
      : "",
    "",
    fanoutReading(results),
  ].join("\n");
}

/**
 * What each mode measures. Full (about 6 minutes on 2 cores): every feed and transport at 1,000, with the
 * /v1/shape row (the sync engine's own door); at 5,000 own runs over long-poll and one run over SSE; at 10,000
 * one run over long-poll (fewer rounds). Left out of the default (README says why): own runs over SSE past
 * 1,000 and at 10,000 (Runcast takes about a minute to open 5,000 feeds of their own on 2 cores, longer than it
 * keeps an SSE stream open), SSE at 10,000 (3 minutes: 10,000 streams re-open about every 50 s). `--n 10000
 * --feeds run --transports sse` and the like measure them. Quick: the four run feeds at 500. With --n (the
 * test suite's tiny run): every feed and transport of the full plan at each N named.
 */
const plan = (n: number, rounds: number, shapes: [FanoutFeed, FanoutTransport][]): FanoutConfig[] => shapes.map(([feed, transport]) => ({ feed, transport, n, rounds }));
const EVERY_RUN_FEED: [FanoutFeed, FanoutTransport][] = [
  ["run", "long-poll"],
  ["run", "sse"],
  ["runs", "long-poll"],
  ["runs", "sse"],
];

export const FANOUT_MODES = {
  quick: { configs: plan(500, 2, EVERY_RUN_FEED), rounds: 2, warmupSubscribers: 50, warmupRounds: 1 },
  full: {
    configs: [
      ...plan(1000, 8, [["shape", "long-poll"], ...EVERY_RUN_FEED]),
      ...plan(5000, 5, [
        ["runs", "long-poll"],
        ["run", "sse"],
      ]),
      ...plan(10000, 4, [["run", "long-poll"]]),
    ],
    rounds: 6,
    warmupSubscribers: 200,
    warmupRounds: 3,
  },
} as const;

/** Options shared by the CLIs (sync.ts reuses these). */
export const FANOUT_ARGS = {
  quick: { type: "boolean" },
  n: { type: "string" },
  feeds: { type: "string" },
  transports: { type: "string" },
  rounds: { type: "string" },
  generators: { type: "string" },
  "max-per-generator": { type: "string" },
  "setup-concurrency": { type: "string" },
  "sse-refresh-ms": { type: "string" },
  reissue: { type: "string" },
  client: { type: "string" },
  target: { type: "string" },
  "cpu-prof": { type: "boolean" },
  out: { type: "string" },
} as const;

export function fanoutOptionsFrom(
  values: {
    quick?: boolean;
    n?: string;
    feeds?: string;
    transports?: string;
    rounds?: string;
    generators?: string;
    "max-per-generator"?: string;
    "setup-concurrency"?: string;
    "sse-refresh-ms"?: string;
    reissue?: string;
    client?: string;
    target?: string;
    "cpu-prof"?: boolean;
  },
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
  const list = <T extends string>(v: string | undefined, known: readonly T[], name: string): T[] | undefined => {
    if (v === undefined) return undefined;
    const out = v.split(",").map((s) => s.trim()) as T[];
    for (const x of out) if (!known.includes(x)) throw new Error(`--${name}: unknown ${x} (${known.join(", ")})`);
    return out;
  };
  const feeds = list(values.feeds, FANOUT_FEEDS, "feeds");
  const transports = list(values.transports, FANOUT_TRANSPORTS, "transports");
  const counts = values.n ? values.n.split(",").map((s) => int(s.trim(), 0, "n")) : undefined;
  const rounds = values.rounds === undefined ? undefined : int(values.rounds, 0, "rounds");
  let configs: FanoutConfig[];
  if (!counts && !feeds && !transports) {
    configs = mode.configs.map((c) => ({ ...c, rounds: rounds ?? c.rounds }));
  } else {
    // The mode's feeds and transports (or the ones named) at every N named (or the mode's).
    const shapes: [FanoutFeed, FanoutTransport][] = [];
    const add = (f: FanoutFeed, t: FanoutTransport) => {
      if (!shapes.some(([a, b]) => a === f && b === t)) shapes.push([f, t]);
    };
    if (feeds || transports) for (const f of feeds ?? FANOUT_FEEDS.filter((x) => x !== "shape")) for (const t of transports ?? FANOUT_TRANSPORTS) add(f, t);
    else for (const c of FANOUT_MODES.full.configs) add(c.feed, c.transport);
    const ns = counts ?? [...new Set(mode.configs.map((c) => c.n))];
    configs = ns.flatMap((n) => plan(n, rounds ?? mode.configs.find((c) => c.n === n)?.rounds ?? mode.rounds, shapes));
  }
  const targets = (values.target ?? "runcast,floor").split(",").map((s) => s.trim());
  const reissue = values.reissue ?? "deferred";
  if (reissue !== "immediate" && reissue !== "deferred") throw new Error("--reissue must be immediate or deferred");
  const client = values.client ?? "raw";
  if (client !== "raw" && client !== "node-http") throw new Error("--client must be raw or node-http");
  for (const t of targets) if (t !== "runcast" && t !== "floor") throw new Error(`--target: unknown target ${t} (runcast, floor)`);
  return {
    databaseUrl,
    configs,
    warmupSubscribers: mode.warmupSubscribers,
    warmupRounds: mode.warmupRounds,
    generators: int(values.generators, 4, "generators"),
    maxPerGenerator: int(values["max-per-generator"], 5_000, "max-per-generator"),
    setupConcurrency: int(values["setup-concurrency"], 32, "setup-concurrency"),
    reissue,
    client,
    targets: targets as FanoutTargetName[],
    sseRefreshMs: int(values["sse-refresh-ms"], 35_000, "sse-refresh-ms"),
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
