/**
 * Catch-up (BENCHMARKS.md §4): a /v1/shape subscriber that stopped reading while `changes` row changes were
 * committed resumes from its offset. Within the log budget it reads exactly what it missed; past it (a server
 * with a small RUNCAST_SHAPE_LOG_BYTES) it gets a 409 and starts over from a snapshot. Both are timed to
 * "up to date". Then the server's memory is read while `flow` changes go through a shape with a live reader.
 */
import { connectClient, createBenchTable } from "./lib/postgres.ts";
import { readMemory } from "./lib/procs.ts";
import { startRuncastServer, type RuncastServer } from "./lib/runcast-server.ts";
import { now } from "./lib/clock.ts";

export interface CatchupOptions {
  databaseUrl: string;
  /** Changes committed while the subscriber is away. */
  changes: number;
  /** Changes that flow through a shape while its memory is watched. */
  flow: number;
  log: (line: string) => void;
}

export interface CatchupCase {
  /** What happened when the subscriber came back: it resumed from its offset, or it was told to start over. */
  outcome: "resumed" | "409 and resync";
  /** Changes it read until up to date (from the offset; or the snapshot's rows after a 409). */
  read: number;
  msToCurrent: number;
}

export interface CatchupResult {
  withinBudget: CatchupCase;
  pastBudget: CatchupCase;
  /** Server RSS before and at most while `flow` changes went through, MiB. */
  flowRssMb: { before: number; max: number };
  config: { changes: number; flow: number; rows: number; smallBudgetBytes: number; largeBudgetBytes: number };
}

export const CATCHUP_MODES = {
  tiny: { changes: 2_000, flow: 4_000 },
  quick: { changes: 30_000, flow: 100_000 },
  full: { changes: 100_000, flow: 1_000_000 },
} as const;

/** Rows of the table; every transaction updates all of them (one change each). */
const ROWS = 500;
const SMALL_BUDGET = 1024 * 1024;
/** A budget that holds 100,000 changes of this table (they take about 17 MB of log, past the 16 MiB default). */
const LARGE_BUDGET = 64 * 1024 * 1024;

interface Position {
  handle: string;
  offset: string;
}

/** One read of a shape (live: held until a change); returns how many changes came and the position after them. */
async function read(server: RuncastServer, pos: Position | undefined, live = false, signal?: AbortSignal): Promise<{ status: number; changes: number; upToDate: boolean; pos: Position; values: Set<string> }> {
  const q = pos ? `handle=${encodeURIComponent(pos.handle)}&offset=${encodeURIComponent(pos.offset)}${live ? "&live=true" : ""}` : "offset=-1";
  const res = await fetch(`${server.url}/v1/shape?table=bench_items&${q}`, { headers: { authorization: `Bearer ${server.secretKey}` }, ...(signal ? { signal } : {}) });
  const handle = res.headers.get("electric-handle") ?? pos?.handle ?? "";
  const offset = res.headers.get("electric-offset") ?? pos?.offset ?? "-1";
  const body = (await res.json()) as { value?: { v?: string }; headers: { operation?: string; control?: string } }[];
  let changes = 0;
  let upToDate = false;
  const values = new Set<string>();
  for (const m of body) {
    if (m.headers.operation) changes++;
    if (m.value?.v) values.add(m.value.v);
    if (m.headers.control === "up-to-date") upToDate = true;
  }
  return { status: res.status, changes, upToDate, pos: { handle, offset }, values };
}

/**
 * Reads until the subscriber has the last value written (`last`): from its offset, or, after a 409, from a new
 * snapshot (as clients do). Up to date but not there yet means the server is still taking in the changes: it
 * waits with a live request.
 */
async function catchUp(server: RuncastServer, from: Position, last: string): Promise<CatchupCase> {
  const started = now();
  let pos: Position | undefined = from;
  let outcome: CatchupCase["outcome"] = "resumed";
  let total = 0;
  let live = false;
  for (;;) {
    const r = await read(server, pos, live);
    if (r.status === 409) {
      outcome = "409 and resync";
      pos = undefined;
      live = false;
      total = 0;
      continue;
    }
    if (r.status !== 200) throw new Error(`catch-up read answered ${r.status}`);
    total += r.changes;
    pos = r.pos;
    if (r.values.has(last)) return { outcome, read: total, msToCurrent: Math.round(now() - started) };
    live = r.upToDate;
  }
}

/** Commits `changes` row changes in transactions of ROWS changes each; returns the last value written. */
async function write(databaseUrl: string, changes: number, tag: string): Promise<string> {
  const sql = await connectClient({ connectionString: databaseUrl });
  let last = "";
  try {
    for (let done = 0, n = 0; done < changes; done += ROWS, n++) {
      last = `${tag}-${n}`;
      await sql.query("UPDATE bench_items SET v = $1 WHERE id <= $2", [last, Math.min(ROWS, changes - done)]);
    }
  } finally {
    await sql.end();
  }
  return last;
}

async function awayAndBack(opts: CatchupOptions, server: RuncastServer, tag: string): Promise<CatchupCase> {
  let pos: Position | undefined;
  for (;;) {
    const r = await read(server, pos);
    pos = r.pos;
    if (r.upToDate) break;
  }
  const last = await write(opts.databaseUrl, opts.changes, tag);
  return catchUp(server, pos, last);
}

export async function runCatchup(opts: CatchupOptions): Promise<CatchupResult> {
  await createBenchTable(opts.databaseUrl, ROWS);
  const normal = await startRuncastServer({
    databaseUrl: opts.databaseUrl,
    maxSubscriptions: 100,
    longPollMs: 20_000,
    nodeId: "bench_catchup",
    env: { RUNCAST_SHAPE_LOG_BYTES: String(LARGE_BUDGET) },
  });
  let withinBudget: CatchupCase;
  let flowRssMb: CatchupResult["flowRssMb"];
  try {
    opts.log(`[catch-up] a subscriber away while ${opts.changes} changes commit, within a ${LARGE_BUDGET / 2 ** 20} MiB log budget`);
    withinBudget = await awayAndBack(opts, normal, "within");
    opts.log(`[catch-up] ${withinBudget.outcome}: read ${withinBudget.read} changes, up to date after ${withinBudget.msToCurrent} ms`);
    opts.log(`[catch-up] server memory while ${opts.flow} changes flow through a shape with a live reader`);
    const before = readMemory(normal.pid).rssKb / 1024;
    let max = before;
    const sampler = setInterval(() => (max = Math.max(max, readMemory(normal.pid).rssKb / 1024)), 100);
    let stop = false;
    const away = new AbortController();
    // A live reader keeps the shape in use while the changes flow (long-polls once it is up to date).
    const reading = (async () => {
      let pos: Position | undefined;
      let live = false;
      while (!stop) {
        const r = await read(normal, pos, live, away.signal);
        if (r.status === 409) {
          pos = undefined;
          live = false;
          continue;
        }
        pos = r.pos;
        live = r.upToDate;
      }
    })();
    try {
      await write(opts.databaseUrl, opts.flow, "flow");
    } finally {
      stop = true;
      away.abort();
      clearInterval(sampler);
      await reading.catch(() => undefined);
    }
    flowRssMb = { before: Math.round(before), max: Math.round(max) };
    opts.log(`[catch-up] RSS ${flowRssMb.before} MiB before, at most ${flowRssMb.max} MiB during the flow`);
  } finally {
    await normal.stop();
  }
  const small = await startRuncastServer({
    databaseUrl: opts.databaseUrl,
    maxSubscriptions: 100,
    longPollMs: 20_000,
    nodeId: "bench_catchup_small",
    env: { RUNCAST_SHAPE_LOG_BYTES: String(SMALL_BUDGET) },
  });
  let pastBudget: CatchupCase;
  try {
    opts.log(`[catch-up] the same, past a ${SMALL_BUDGET / 1024} KiB log budget`);
    pastBudget = await awayAndBack(opts, small, "past");
    opts.log(`[catch-up] ${pastBudget.outcome}: read ${pastBudget.read} changes, up to date after ${pastBudget.msToCurrent} ms`);
  } finally {
    await small.stop();
  }
  return { withinBudget, pastBudget, flowRssMb, config: { changes: opts.changes, flow: opts.flow, rows: ROWS, smallBudgetBytes: SMALL_BUDGET, largeBudgetBytes: LARGE_BUDGET } };
}
