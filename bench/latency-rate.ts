/**
 * Commit → subscriber latency under a steady write rate (BENCHMARKS.md §1, "under load"): one writer commits
 * updates at R per second (200 and 2,000 in the full run) for a few seconds while one subscriber follows them;
 * every update's latency runs from just before it was sent until the subscriber had it (or a later state of the
 * same row: a poller sees only the newest). Each update is one statement, one transaction, that writes a
 * sequence marker into a user table's row (`bench_items`) and into a run's metadata, so the shape route, the
 * realtime run route, `runs.retrieve` pollers and the floors all follow the same commits:
 *  - Runcast: `/v1/shape` on the row and `/realtime/v1/runs/:id` on the run, each as long-polls and as one SSE
 *    stream; clients polling `runs.retrieve` (the SDK) every 100 ms and every 1 s;
 *  - floors: a bare pgoutput client in the writer's process (its own slot and publication), LISTEN/NOTIFY.
 * One subscriber at a time; the Runcast server is stopped before the floors run.
 *
 *   node --import tsx bench/latency-rate.ts [--quick] [--rates 200,2000] [--seconds 5] [--kinds shapeSse,runSse] [--cpu-prof]
 */
import { join } from "node:path";
import { parseArgs } from "node:util";
import type pg from "pg";
import { runs } from "../packages/sdk/src/index.ts";
import { now } from "./lib/clock.ts";
import { runIfMain, runPart } from "./lib/cli.ts";
import { startPgoutputClient } from "./lib/pgoutput-client.ts";
import { BENCH_TABLE, connectClient } from "./lib/postgres.ts";
import { onCleanup, readCpuMs, sleep } from "./lib/procs.ts";
import { fmtMs, fmtRatio, md, RESULTS_DIR, table } from "./lib/report.ts";
import { startRuncastServer, type RuncastServer } from "./lib/runcast-server.ts";
import { followLongPoll, followSse, type Follower } from "./lib/shape-clients.ts";
import { ratio, rounded, summarize, type Summary } from "./lib/stats.ts";

export interface RateLatencyOptions {
  databaseUrl: string;
  /** Updates per second, one measurement each. */
  rates: number[];
  /** How long each subscriber follows each rate, s. */
  seconds: number;
  /** Updates at the start of each measurement left out (connections, JIT), s. */
  warmupSeconds: number;
  /** Only these subscriber kinds (default: all). */
  kinds?: RateKind[];
  /** Write a V8 CPU profile of the Runcast server here (node --cpu-prof). */
  cpuProfDir?: string;
  log: (line: string) => void;
}

/** The subscribers measured, in report order. */
export const RATE_KINDS = [
  ["shapeLongPoll", "Runcast /v1/shape long-poll"],
  ["shapeSse", "Runcast /v1/shape SSE"],
  ["runLongPoll", "Runcast /realtime/v1/runs/:id long-poll"],
  ["runSse", "Runcast /realtime/v1/runs/:id SSE"],
  ["poll100", "runs.retrieve every 100 ms"],
  ["poll1000", "runs.retrieve every 1 s"],
  ["pgoutput", "floor: pgoutput client in the writer's process"],
  ["notify", "LISTEN/NOTIFY"],
] as const;

export type RateKind = (typeof RATE_KINDS)[number][0];

export interface RateKindResult {
  /** From just before an update was sent until the subscriber had it. */
  fromSend: Summary;
  /** From its commit returning to the writer. */
  fromCommit: Summary;
  /** Updates per second the writer reached (it sends the next one when the previous has committed). */
  achievedRate: number;
  /** Responses, events or notifications that carried updates. */
  deliveries: number;
  /** Updates the subscriber never had within the drain time after the writer stopped (should be 0). */
  missing: number;
  /** The Runcast server's CPU while it followed, ms per second (Runcast kinds only). */
  serverCpuMsPerS?: number;
}

export interface RateLatencyResult {
  config: { rates: number[]; seconds: number; warmupSeconds: number };
  /** Per rate (as a string key: "200", "2000"), per kind. */
  byRate: Record<string, Partial<Record<RateKind, RateKindResult>>>;
}

/** What a subscriber reports: it now has every update of `lane` up to `seq`, at `at` (bench clock). */
type Saw = (lane: number, seq: number, at: number) => void;

/**
 * Writer lanes: one connection, one `bench_items` row (id = lane + 1) and one run each. A row takes one
 * update at a time (each waits for the previous one's commit and WAL flush: about 1,500 a second here), so
 * the rate is spread over the lanes; each lane's updates are in order, and a marker names its lane.
 */
const LANES = 4;

const MARK = /~(\d+)\.(\d+)~/g;

/** Reports the highest marker of each lane in a text. */
function reportMarks(text: string, at: number, saw: Saw): void {
  const max = new Map<number, number>();
  for (const m of text.matchAll(MARK)) {
    const lane = Number(m[1]);
    max.set(lane, Math.max(max.get(lane) ?? -1, Number(m[2])));
  }
  for (const [lane, seq] of max) saw(lane, seq, at);
}

/** One statement, one transaction: the lane's row of the user table and its run's metadata get the same marker. */
const UPDATE_LANE = `WITH item AS (UPDATE ${BENCH_TABLE} SET v = $1 WHERE id = $3)
  UPDATE runcast_internal.runs SET metadata = jsonb_build_object('bench', $1::text) WHERE id = $2`;

/** The shape every /v1/shape subscriber follows: the lanes' rows. */
const LANE_SHAPE = `/v1/shape?table=${BENCH_TABLE}&where=${encodeURIComponent(`id <= ${LANES}`)}`;

/** A client polling runs.retrieve (the SDK) at a fixed period; a slow answer delays the next poll, never overlaps it. */
function pollFollower(server: RuncastServer, runId: string, periodMs: number, saw: Saw): Follower {
  let closed = false;
  void (async () => {
    let next = now();
    while (!closed) {
      const run = await runs.retrieve(runId, { baseURL: server.url, secretKey: server.secretKey });
      const at = now();
      reportMarks(JSON.stringify(run.metadata ?? null), at, saw);
      next += periodMs;
      const wait = next - now();
      if (wait > 0) await sleep(wait);
      else next = now();
    }
  })().catch((err: unknown) => {
    if (!closed) throw err;
  });
  return {
    close() {
      closed = true;
    },
  };
}

/** The pgoutput floor in the writer's process: decode the stream to each Commit. */
async function pgoutputFollower(databaseUrl: string, saw: Saw): Promise<Follower> {
  const client = await startPgoutputClient({
    databaseUrl,
    slot: "bench_rate_floor",
    publication: "bench_rate_floor",
    onCommit(updates) {
      const at = now();
      reportMarks(updates.map((values) => values[1] ?? "").join(" "), at, saw);
    },
  });
  return { close: () => client.close() };
}

/** LISTEN/NOTIFY: an AFTER UPDATE trigger on the user table notifies with the new value in the same transaction. */
async function notifyFollower(databaseUrl: string, admin: pg.Client, saw: Saw): Promise<Follower> {
  await admin.query(`CREATE OR REPLACE FUNCTION bench_rate_notify() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN PERFORM pg_notify('bench_rate', NEW.v); RETURN NULL; END $$`);
  await admin.query(`CREATE TRIGGER bench_rate_notify AFTER UPDATE ON ${BENCH_TABLE} FOR EACH ROW EXECUTE FUNCTION bench_rate_notify()`);
  const client = await connectClient({ connectionString: databaseUrl });
  client.on("notification", (msg) => {
    reportMarks(msg.payload ?? "", now(), saw);
  });
  await client.query("LISTEN bench_rate");
  return {
    async close() {
      await client.end();
      await admin.query(`DROP TRIGGER IF EXISTS bench_rate_notify ON ${BENCH_TABLE}`);
      await admin.query("DROP FUNCTION IF EXISTS bench_rate_notify()");
    },
  };
}

/** The writer's connections and runs, one per lane; each lane's sequence carries on across measurements. */
interface Lanes {
  conns: pg.Client[];
  runIds: string[];
  seq: number[];
}

/**
 * Writes at `rate` (spread over the lanes) for `seconds` while `follower` follows the lanes in `followed`,
 * then waits for the last update to arrive. Latencies are kept for the updates after the warm-up.
 */
async function measure(
  lanes: Lanes,
  followed: number[],
  rate: number,
  opts: RateLatencyOptions,
  tag: string,
  start: (saw: Saw) => Follower | Promise<Follower>,
  server?: RuncastServer,
): Promise<RateKindResult> {
  const n = lanes.conns.length;
  const sent = lanes.conns.map(() => new Map<number, number>());
  const committed = lanes.conns.map(() => new Map<number, number>());
  const seen = lanes.conns.map(() => new Map<number, number>());
  const highest = [...lanes.seq];
  let deliveries = 0;
  const saw: Saw = (lane, seq, at) => {
    const h = highest[lane];
    const s = seen[lane];
    if (h === undefined || !s) return;
    deliveries++;
    for (let q = h + 1; q <= seq; q++) s.set(q, at);
    highest[lane] = Math.max(h, seq);
  };
  const write = async (lane: number) => {
    const seq = (lanes.seq[lane] = (lanes.seq[lane] ?? 0) + 1);
    sent[lane]?.set(seq, now());
    await lanes.conns[lane]?.query(UPDATE_LANE, [`~${lane}.${seq}~`, lanes.runIds[lane], lane + 1]);
    committed[lane]?.set(seq, now());
    return seq;
  };
  const follower = await start(saw);
  try {
    // Every measurement starts once the subscriber has had a first update of each lane it follows.
    const bases = await Promise.all(followed.map(async (lane) => [lane, await write(lane)] as const));
    const deadline = now() + 10_000;
    while (bases.some(([lane, seq]) => (highest[lane] ?? 0) < seq)) {
      if (now() > deadline) throw new Error(`${tag}: the subscriber never saw the starting state`);
      await sleep(5);
    }
    const first = [...lanes.seq];
    const cpu0 = server ? readCpuMs(server.pid) : 0;
    const t0 = now();
    const end = t0 + opts.seconds * 1000;
    // Update k is due at t0 + k / rate and goes to lane k mod n; a lane that falls behind sends at once.
    await Promise.all(
      lanes.conns.map(async (_, lane) => {
        for (let j = 0; ; j++) {
          const due = t0 + ((j * n + lane) * 1000) / rate;
          if (due >= end) return;
          const wait = due - now();
          if (wait > 1) await sleep(wait);
          await write(lane);
        }
      }),
    );
    const elapsed = now() - t0;
    const cpuMs = server ? readCpuMs(server.pid) - cpu0 : 0;
    const drainUntil = now() + 3_000;
    while (followed.some((lane) => (highest[lane] ?? 0) < (lanes.seq[lane] ?? 0)) && now() < drainUntil) await sleep(5);
    const written = lanes.seq.reduce((sum, s, lane) => sum + s - (first[lane] ?? 0), 0);
    const warmupEnd = t0 + opts.warmupSeconds * 1000;
    const fromSend: number[] = [];
    const fromCommit: number[] = [];
    let missing = 0;
    for (const lane of followed) {
      for (let q = (first[lane] ?? 0) + 1; q <= (lanes.seq[lane] ?? 0); q++) {
        const s = sent[lane]?.get(q) ?? 0;
        if (s < warmupEnd) continue;
        const at = seen[lane]?.get(q);
        if (at === undefined) {
          missing++;
          continue;
        }
        fromSend.push(at - s);
        fromCommit.push(at - (committed[lane]?.get(q) ?? at));
      }
    }
    const result: RateKindResult = {
      fromSend: rounded(summarize(fromSend)),
      fromCommit: rounded(summarize(fromCommit)),
      achievedRate: Math.round((written / elapsed) * 1000),
      deliveries,
      missing,
      ...(server ? { serverCpuMsPerS: Math.round(cpuMs / (elapsed / 1000)) } : {}),
    };
    opts.log(
      `${tag} ${result.achievedRate}/s: p50 ${fmtMs(result.fromSend.p50)} p99 ${fmtMs(result.fromSend.p99)} max ${fmtMs(result.fromSend.max)} ms over ${fromSend.length} updates, ${deliveries} deliveries${missing ? `, ${missing} MISSING` : ""}`,
    );
    return result;
  } finally {
    await follower.close();
  }
}

export async function runRateLatency(opts: RateLatencyOptions): Promise<RateLatencyResult> {
  const conns = await Promise.all(Array.from({ length: LANES }, () => connectClient({ connectionString: opts.databaseUrl }, opts.log)));
  const sql = conns[0] as pg.Client;
  const unregister = onCleanup(async () => void (await Promise.all(conns.map((c) => c.end()))));
  const byRate: RateLatencyResult["byRate"] = {};
  const put = (rate: number, kind: RateKind, r: RateKindResult) => ((byRate[String(rate)] ??= {})[kind] = r);
  const all = Array.from({ length: LANES }, (_, lane) => lane);
  try {
    await sql.query(`INSERT INTO ${BENCH_TABLE} (id, v) SELECT i, 'row-' || i FROM generate_series(1, $1) AS i ON CONFLICT (id) DO NOTHING`, [LANES]);
    const server = await startRuncastServer({ databaseUrl: opts.databaseUrl, maxSubscriptions: 100, longPollMs: 60_000, ...(opts.cpuProfDir ? { cpuProfDir: opts.cpuProfDir } : {}) });
    let lanes: Lanes;
    try {
      // Runs of a task no worker runs: they wait for a deployment, and the writer moves their metadata.
      const runIds: string[] = [];
      for (let lane = 0; lane < LANES; lane++) {
        const res = await fetch(`${server.url}/api/v1/tasks/bench-rate/trigger`, {
          method: "POST",
          headers: { authorization: `Bearer ${server.secretKey}`, "content-type": "application/json" },
          body: JSON.stringify({ payload: { lane } }),
        });
        if (!res.ok) throw new Error(`trigger answered ${res.status}: ${await res.text()}`);
        runIds.push(((await res.json()) as { id: string }).id);
      }
      lanes = { conns, runIds, seq: all.map(() => 0) };
      const run0 = runIds[0] as string;
      // The run subscribers follow lane 0's run: a quarter of the updates, at the same pace as the rest.
      const runcastKinds: [RateKind, number[], (saw: Saw) => Follower | Promise<Follower>][] = [
        ["shapeLongPoll", all, (saw) => followLongPoll(server, LANE_SHAPE, (text, at) => reportMarks(text, at, saw))],
        ["shapeSse", all, (saw) => followSse(server, LANE_SHAPE, (text, at) => reportMarks(text, at, saw))],
        ["runLongPoll", [0], (saw) => followLongPoll(server, `/realtime/v1/runs/${run0}`, (text, at) => reportMarks(text, at, saw))],
        ["runSse", [0], (saw) => followSse(server, `/realtime/v1/runs/${run0}`, (text, at) => reportMarks(text, at, saw))],
        ["poll100", [0], (saw) => pollFollower(server, run0, 100, saw)],
        ["poll1000", [0], (saw) => pollFollower(server, run0, 1000, saw)],
      ];
      for (const rate of opts.rates) {
        for (const [kind, followed, start] of runcastKinds) if (!opts.kinds || opts.kinds.includes(kind)) put(rate, kind, await measure(lanes, followed, rate, opts, `[latency ${rate}/s ${kind}]`, start, server));
      }
    } finally {
      await server.stop();
    }
    await sql.query(`CREATE PUBLICATION bench_rate_floor FOR TABLE ${BENCH_TABLE}`);
    try {
      const wanted = (kind: RateKind) => !opts.kinds || opts.kinds.includes(kind);
      for (const rate of opts.rates) {
        if (wanted("pgoutput")) put(rate, "pgoutput", await measure(lanes, all, rate, opts, `[latency ${rate}/s pgoutput]`, (saw) => pgoutputFollower(opts.databaseUrl, saw)));
        if (wanted("notify")) put(rate, "notify", await measure(lanes, all, rate, opts, `[latency ${rate}/s notify]`, (saw) => notifyFollower(opts.databaseUrl, sql, saw)));
      }
    } finally {
      await sql.query("DROP PUBLICATION IF EXISTS bench_rate_floor");
    }
    return { config: { rates: opts.rates, seconds: opts.seconds, warmupSeconds: opts.warmupSeconds }, byRate };
  } finally {
    unregister();
    await Promise.all(conns.map((c) => c.end().catch(() => {})));
  }
}

function rows(r: RateLatencyResult): string[][] {
  const out: string[][] = [];
  for (const rate of r.config.rates) {
    const at = r.byRate[String(rate)] ?? {};
    const floor = at.pgoutput?.fromSend.p50 ?? Number.NaN;
    for (const [kind, name] of RATE_KINDS) {
      const k = at[kind];
      if (!k) continue;
      out.push([
        String(rate),
        name,
        String(k.achievedRate),
        fmtMs(k.fromSend.p50),
        fmtMs(k.fromSend.p99),
        fmtMs(k.fromSend.max),
        fmtRatio(ratio(k.fromSend.p50, floor)),
        k.serverCpuMsPerS === undefined ? "–" : String(k.serverCpuMsPerS),
        String(k.missing),
      ]);
    }
  }
  return out;
}

const HEAD = ["updates/s", "subscriber", "reached/s", "p50", "p99", "max", "p50 ÷ pgoutput", "server CPU ms/s", "missed"];

export function rateLatencyTable(r: RateLatencyResult): string {
  return table([HEAD, ...rows(r)]);
}

/** What the figures say where they fall short: the writer's rate, and long-polls against streams. */
function rateReading(r: RateLatencyResult): string {
  const lines: string[] = [];
  for (const rate of r.config.rates) {
    const at = r.byRate[String(rate)] ?? {};
    const runcast = RATE_KINDS.filter(([k]) => k !== "pgoutput" && k !== "notify").flatMap(([k]) => (at[k] ? [at[k]] : []));
    const short = runcast.filter((k) => k.achievedRate < rate * 0.9);
    if (!short.length) continue;
    const reached = short.map((k) => k.achievedRate);
    const cpu = runcast.flatMap((k) => (k.serverCpuMsPerS === undefined ? [] : [k.serverCpuMsPerS]));
    lines.push(
      `At ${rate}/s the writer reached only ${Math.min(...reached)}–${Math.max(...reached)} updates/s while the Runcast server followed (the floors: ${at.pgoutput?.achievedRate ?? "–"}/s): the server used ${Math.min(...cpu)}–${Math.max(...cpu)} ms of CPU per second, on the same 2 cores as PostgreSQL and the writer, whose next update waits for the previous commit. Those rows measure a lower rate than their label.`,
    );
  }
  const lp = r.byRate[String(r.config.rates[0])]?.shapeLongPoll;
  const sse = r.byRate[String(r.config.rates[0])]?.shapeSse;
  if (lp && sse && lp.fromSend.p50 > sse.fromSend.p50) {
    lines.push(
      "A long-poll answer ends the request: a change that commits before the client's next request arrives waits for it, which an SSE stream never does; under a steady rate that shows in the long-poll rows' p99. Pollers wait half their period on average, whatever the server does.",
    );
  }
  return lines.length ? `Reading: ${lines.join(" ")}` : "";
}

/** The "under load" part of BENCHMARKS.md §1. */
export function rateLatencySection(r: RateLatencyResult): string {
  return [
    "### Under a steady write rate",
    "",
    `A writer commits updates at a fixed rate for ${r.config.seconds} s per subscriber (the first ${r.config.warmupSeconds} s left out); each update is one statement that writes a sequence marker into a \`bench_items\` row and into a run's metadata. An update's latency runs from just before it was sent until the subscriber had it or a later state (a poller sees only the newest state; a long-poll answer carries every change since the last). ms; "reached/s" is the rate the writer reached (it sends the next update once the previous has committed).`,
    "",
    md([HEAD, ...rows(r)]),
    "",
    rateReading(r),
  ].join("\n");
}

export const RATE_LATENCY_MODES = {
  tiny: { rates: [50, 200], seconds: 0.6, warmupSeconds: 0.1 },
  quick: { rates: [200, 2000], seconds: 0.8, warmupSeconds: 0.2 },
  full: { rates: [200, 2000], seconds: 5, warmupSeconds: 0.5 },
} as const;

runIfMain(import.meta.url, async () => {
  const { values } = parseArgs({
    options: { quick: { type: "boolean" }, rates: { type: "string" }, seconds: { type: "string" }, kinds: { type: "string" }, "cpu-prof": { type: "boolean" }, out: { type: "string" } },
    strict: true,
  });
  const known = RATE_KINDS.map(([k]) => k as string);
  const kinds = values.kinds?.split(",");
  if (kinds?.some((k) => !known.includes(k))) throw new Error(`--kinds takes some of ${known.join(", ")}`);
  const mode = values.quick ? RATE_LATENCY_MODES.quick : RATE_LATENCY_MODES.full;
  const rates = values.rates ? values.rates.split(",").map(Number) : [...mode.rates];
  const seconds = values.seconds ? Number(values.seconds) : mode.seconds;
  if (rates.some((r) => !Number.isFinite(r) || r <= 0) || !(seconds > 0)) throw new Error("--rates and --seconds must be positive numbers");
  await runPart({
    name: "latency-rate",
    quick: values.quick,
    out: values.out,
    options: (databaseUrl, log) => ({
      databaseUrl,
      rates,
      seconds,
      warmupSeconds: mode.warmupSeconds,
      ...(kinds ? { kinds: kinds as RateKind[] } : {}),
      ...(values["cpu-prof"] ? { cpuProfDir: join(RESULTS_DIR, "prof") } : {}),
      log,
    }),
    run: runRateLatency,
    table: rateLatencyTable,
    targets: {},
  });
});
