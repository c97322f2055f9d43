/**
 * Run-state changes per second the sync engine follows (BENCHMARKS.md §3): writers update the metadata of
 * runs at rising rates, in transactions of a few runs each, while one subscriber follows them all through
 * the tag feed (`/realtime/v1/runs?tags=…`, SSE). Each step holds its rate for a few seconds; a step is
 * followed when every change arrived and the lag at the end of the step is no longer than at its start (flat,
 * not growing). The ceiling is the same ramp followed by a bare pgoutput client decoding the same table's
 * stream in the writer's process, in the same run.
 *
 *   node --import tsx bench/follow.ts [--quick] [--rates 1000,2000,4000] [--seconds 3]
 */
import { parseArgs } from "node:util";
import type pg from "pg";
import { now } from "./lib/clock.ts";
import { runIfMain, runPart } from "./lib/cli.ts";
import { startPgoutputClient } from "./lib/pgoutput-client.ts";
import { connectClient } from "./lib/postgres.ts";
import { onCleanup, readCpuMs, sleep } from "./lib/procs.ts";
import { md, table } from "./lib/report.ts";
import { startRuncastServer, type RuncastServer } from "./lib/runcast-server.ts";
import { followSse, type Follower } from "./lib/shape-clients.ts";
import { rounded, summarize, type Summary } from "./lib/stats.ts";

export interface FollowOptions {
  databaseUrl: string;
  /** Offered run changes per second, one step each, rising. */
  rates: number[];
  /** How long each step lasts, s. */
  seconds: number;
  /** Runs updated per transaction. */
  runsPerTransaction: number;
  log: (line: string) => void;
}

export interface FollowStep {
  /** Offered changes per second. */
  offered: number;
  /** Changes per second the writers committed. */
  written: number;
  /** Changes per second the subscriber received, from the step's first send to its last change in. */
  delivered: number;
  /** Lag of each transaction (send → all its changes in), over the first and the last third of the step, ms. */
  lagStart: Summary;
  lagEnd: Summary;
  /** Changes never received within the drain time (should be 0). */
  missing: number;
  /** Every change in, the writers reached 90 % of the offered rate, the subscriber 95 % of the written one, and the lag stayed flat. */
  followed: boolean;
  /** The Runcast server's CPU per 1,000 changes, ms. */
  serverCpuMsPer1000?: number;
}

export interface FollowResult {
  config: { rates: number[]; seconds: number; runsPerTransaction: number; runs: number };
  runcast: FollowStep[];
  pgoutput: FollowStep[];
  /** The highest offered rate each followed (0: none), and whether the ramp's top was reached by both. */
  runcastFollowed: number;
  pgoutputFollowed: number;
}

export const FOLLOW_MODES = {
  tiny: { rates: [500, 1000], seconds: 0.6, runsPerTransaction: 10 },
  quick: { rates: [2000, 8000], seconds: 1.5, runsPerTransaction: 20 },
  full: { rates: [2000, 4000, 6000, 8000, 12000, 16000, 24000], seconds: 3, runsPerTransaction: 20 },
} as const;

/** Writer connections; each updates its own runs, so no two transactions wait on one another's row locks. */
const WRITERS = 4;
/** Runs per writer. */
const RUNS_PER_WRITER = 100;
const TAG = "bench-follow";

const MARK = /~(\d+)\.(\d+)~/g;

/** Lag is flat when the end of a step is not behind its start by more than this (ms) and this factor. */
const FLAT = { slackMs: 20, factor: 2 };

/** The lag at the end of a step is not far behind the lag at its start, nor past a second. */
function flat(start: Summary, end: Summary): boolean {
  return end.p50 < 1000 && end.p50 <= Math.max(start.p50 * FLAT.factor, start.p50 + FLAT.slackMs);
}

interface Txn {
  sent: number;
  expected: number;
  got: number;
  done?: number;
}

/**
 * One step: WRITERS connections commit transactions of `k` run updates at `rate` changes/s in total while
 * `start`'s subscriber counts the changes of each transaction it receives.
 */
async function step(
  conns: pg.Client[],
  runIds: string[][],
  rate: number,
  opts: FollowOptions,
  stepNo: number,
  tag: string,
  start: (onText: (text: string, at: number) => void) => Follower | Promise<Follower>,
  server?: RuncastServer,
): Promise<FollowStep> {
  const k = opts.runsPerTransaction;
  const txns = new Map<string, Txn>();
  let received = 0;
  let lastIn = 0;
  const onText = (text: string, at: number) => {
    for (const m of text.matchAll(MARK)) {
      if (Number(m[1]) !== stepNo) continue;
      const t = txns.get(m[2] as string);
      if (!t) continue;
      t.got++;
      received++;
      lastIn = at;
      if (t.got === t.expected) t.done = at;
    }
  };
  const follower = await start(onText);
  try {
    await sleep(200);
    const cpu0 = server ? readCpuMs(server.pid) : 0;
    const t0 = now();
    const end = t0 + opts.seconds * 1000;
    const perWriter = rate / k / WRITERS;
    let txn = 0;
    await Promise.all(
      conns.map(async (conn, w) => {
        const ids = runIds[w] ?? [];
        for (let j = 0; ; j++) {
          const due = t0 + (j * 1000) / perWriter + (w * 1000) / (perWriter * WRITERS);
          if (due >= end) return;
          const wait = due - now();
          if (wait > 1) await sleep(wait);
          const id = String(++txn);
          const batch = Array.from({ length: k }, (_, i) => ids[(j * k + i) % ids.length] as string);
          txns.set(id, { sent: now(), expected: k, got: 0 });
          await conn.query("UPDATE runcast_internal.runs SET metadata = jsonb_build_object('bench', $1::text) WHERE id = ANY ($2)", [`~${stepNo}.${id}~`, batch]);
        }
      }),
    );
    const elapsed = now() - t0;
    const drainUntil = now() + 10_000;
    while ([...txns.values()].some((t) => t.done === undefined) && now() < drainUntil) await sleep(10);
    const cpuMs = server ? readCpuMs(server.pid) - cpu0 : 0;
    const all = [...txns.values()];
    const missing = all.reduce((n, t) => n + t.expected - t.got, 0);
    const third = (opts.seconds * 1000) / 3;
    const lags = (from: number, to: number) => all.filter((t) => t.done !== undefined && t.sent >= from && t.sent < to).map((t) => (t.done as number) - t.sent);
    const lagStart = rounded(summarize(lags(t0, t0 + third)));
    const lagEnd = rounded(summarize(lags(end - third, end)));
    const written = Math.round((all.length * k) / (elapsed / 1000));
    const delivered = Math.round(received / ((lastIn - t0) / 1000));
    const followed = missing === 0 && written >= rate * 0.9 && delivered >= written * 0.95 && flat(lagStart, lagEnd);
    const result: FollowStep = {
      offered: rate,
      written,
      delivered,
      lagStart,
      lagEnd,
      missing,
      followed,
      ...(server ? { serverCpuMsPer1000: Math.round((cpuMs / Math.max(1, received)) * 1000) } : {}),
    };
    opts.log(
      `${tag} offered ${rate}/s, written ${written}/s, delivered ${delivered}/s; lag p50 ${lagStart.p50} → ${lagEnd.p50} ms, p99 ${lagStart.p99} → ${lagEnd.p99} ms${missing ? `, ${missing} MISSING` : ""}: ${followed ? "followed" : "not followed"}`,
    );
    return result;
  } finally {
    await follower.close();
  }
}

/** The highest offered rate of a ramp that was followed, every lower step followed too. */
function followedRate(steps: FollowStep[]): number {
  let best = 0;
  for (const s of steps) {
    if (!s.followed) break;
    best = s.offered;
  }
  return best;
}

export async function runFollow(opts: FollowOptions): Promise<FollowResult> {
  const conns = await Promise.all(Array.from({ length: WRITERS }, () => connectClient({ connectionString: opts.databaseUrl }, opts.log)));
  const sql = conns[0] as pg.Client;
  const unregister = onCleanup(async () => void (await Promise.all(conns.map((c) => c.end()))));
  let stepNo = 0;
  try {
    const server = await startRuncastServer({ databaseUrl: opts.databaseUrl, maxSubscriptions: 100, longPollMs: 60_000 });
    const runcast: FollowStep[] = [];
    let runIds: string[][];
    try {
      // The runs, through the API (a task no worker runs: they wait for a deployment).
      const items = Array.from({ length: WRITERS * RUNS_PER_WRITER }, (_, i) => ({ task: "bench-follow", payload: { i }, options: { tags: [TAG] } }));
      for (let i = 0; i < items.length; i += 100) {
        const res = await fetch(`${server.url}/api/v1/batches`, {
          method: "POST",
          headers: { authorization: `Bearer ${server.secretKey}`, "content-type": "application/json" },
          body: JSON.stringify({ items: items.slice(i, i + 100) }),
        });
        if (!res.ok) throw new Error(`batch answered ${res.status}: ${await res.text()}`);
        await res.arrayBuffer();
      }
      const { rows } = await sql.query<{ id: string }>("SELECT id FROM runcast_internal.runs WHERE $1 = ANY (tags) ORDER BY id", [TAG]);
      runIds = Array.from({ length: WRITERS }, (_, w) => rows.slice(w * RUNS_PER_WRITER, (w + 1) * RUNS_PER_WRITER).map((r) => r.id));
      const feed = `/realtime/v1/runs?tags=${TAG}&createdAt=1h`;
      for (const rate of opts.rates) {
        runcast.push(await step(conns, runIds, rate, opts, ++stepNo, `[follow runcast]`, (onText) => followSse(server, feed, onText), server));
        if (!runcast.at(-1)?.followed) break;
      }
    } finally {
      await server.stop();
    }
    const pgoutput: FollowStep[] = [];
    await sql.query("CREATE PUBLICATION bench_follow FOR TABLE runcast_internal.runs");
    try {
      for (const rate of opts.rates) {
        const start = (onText: (text: string, at: number) => void) =>
          startPgoutputClient({
            databaseUrl: opts.databaseUrl,
            slot: "bench_follow",
            publication: "bench_follow",
            onCommit: (updates) => onText(updates.map((values) => values.join(" ")).join("\n"), now()),
          });
        pgoutput.push(await step(conns, runIds, rate, opts, ++stepNo, `[follow pgoutput]`, start));
        if (!pgoutput.at(-1)?.followed) break;
      }
    } finally {
      await sql.query("DROP PUBLICATION IF EXISTS bench_follow");
    }
    return {
      config: { rates: opts.rates, seconds: opts.seconds, runsPerTransaction: opts.runsPerTransaction, runs: WRITERS * RUNS_PER_WRITER },
      runcast,
      pgoutput,
      runcastFollowed: followedRate(runcast),
      pgoutputFollowed: followedRate(pgoutput),
    };
  } finally {
    unregister();
    await Promise.all(conns.map((c) => c.end().catch(() => {})));
  }
}

function stepRows(r: FollowResult): string[][] {
  const out: string[][] = [];
  for (const [name, steps] of [
    ["Runcast tag feed (SSE)", r.runcast],
    ["floor: pgoutput client", r.pgoutput],
  ] as const) {
    for (const s of steps) {
      out.push([
        name,
        String(s.offered),
        String(s.written),
        String(s.delivered),
        `${s.lagStart.p50} → ${s.lagEnd.p50}`,
        `${s.lagStart.p99} → ${s.lagEnd.p99}`,
        String(s.missing),
        s.serverCpuMsPer1000 === undefined ? "–" : String(s.serverCpuMsPer1000),
        s.followed ? "yes" : "**no**",
      ]);
    }
  }
  return out;
}

const HEAD = ["subscriber", "offered/s", "written/s", "delivered/s", "lag p50 start → end (ms)", "lag p99 start → end (ms)", "missed", "server CPU ms per 1,000", "followed"];

export function followTable(r: FollowResult): string {
  return table([HEAD, ...stepRows(r)]);
}

/** Where Runcast stops before the floor: what each change costs the server. */
function cpuReading(r: FollowResult): string {
  if (r.runcastFollowed >= r.pgoutputFollowed) return "";
  const last = r.runcast.filter((s) => s.followed).at(-1);
  const cost = last?.serverCpuMsPer1000;
  if (!last || cost === undefined) return "";
  return `Reading: Runcast stops first. At ${last.offered} changes/s its server spent ${cost} ms of CPU per 1,000 run changes (decoding each from the stream, projecting it onto the realtime run columns, matching the feed's where clause, encoding it once into the feed's log, writing it to the stream), so one core follows about ${Math.round(1_000_000 / cost)} a second, on a machine whose 2 cores also run PostgreSQL and the writers; the bare client only decodes.`;
}

/** The "changes followed" part of BENCHMARKS.md §3. */
export function followSection(r: FollowResult): string {
  const top = r.config.rates.at(-1) ?? 0;
  const cap = (n: number) => (n === top ? `at least ${n} (the top of the ramp)` : String(n));
  const writerBound = [...r.runcast, ...r.pgoutput].filter((s) => !s.followed && s.missing === 0 && s.written < s.offered * 0.9 && flat(s.lagStart, s.lagEnd));
  return [
    "### Run-state changes followed",
    "",
    `${WRITERS} writers update the metadata of ${r.config.runs} runs (transactions of ${r.config.runsPerTransaction} runs) at rising rates, ${r.config.seconds} s a step, while one subscriber follows every run through the tag feed; the floor is a bare pgoutput client decoding the same table's stream. A step is followed when every change arrived, the writers reached 90 % of the offered rate, the subscriber received at least 95 % of the written rate, and the lag at the end of the step (its last third) was under a second and at most ${FLAT.factor}× (or ${FLAT.slackMs} ms more than) the lag at its start (its first third). Each ramp stops at its first step not followed.`,
    "",
    md([HEAD, ...stepRows(r)]),
    "",
    `Runcast followed ${cap(r.runcastFollowed)} changes/s with flat lag; the pgoutput floor ${cap(r.pgoutputFollowed)} (÷ floor ${r.pgoutputFollowed ? (r.runcastFollowed / r.pgoutputFollowed).toFixed(2) : "–"}).`,
    writerBound.length
      ? `Reading: where a step is not followed only because the writers fell short of the offered rate, the ceiling is PostgreSQL committing on this machine (its CPU shared with the subscriber), not the subscriber.`
      : "",
    cpuReading(r),
  ].join("\n");
}

runIfMain(import.meta.url, async () => {
  const { values } = parseArgs({ options: { quick: { type: "boolean" }, rates: { type: "string" }, seconds: { type: "string" }, out: { type: "string" } }, strict: true });
  const mode = values.quick ? FOLLOW_MODES.quick : FOLLOW_MODES.full;
  const rates = values.rates ? values.rates.split(",").map(Number) : [...mode.rates];
  const seconds = values.seconds ? Number(values.seconds) : mode.seconds;
  if (rates.some((r) => !Number.isFinite(r) || r <= 0) || !(seconds > 0)) throw new Error("--rates and --seconds must be positive numbers");
  await runPart({
    name: "follow",
    quick: values.quick,
    out: values.out,
    options: (databaseUrl, log) => ({ databaseUrl, rates, seconds, runsPerTransaction: mode.runsPerTransaction, log }),
    run: runFollow,
    table: followTable,
    targets: {},
  });
});
