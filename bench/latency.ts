/**
 * Commit → subscriber latency for one subscriber, one update at a time: Runcast's held long-poll on
 * /v1/shape against floors on the same PostgreSQL:
 *  - pgoutput: a bare logical-replication client on its own slot and publication, decoding the stream
 *    (with the repository's pgoutput decoder) until it sees the commit of the update (the target's floor);
 *  - relay: the same client in a child process that answers a held node:http long-poll (the floor of
 *    Runcast's architecture: a server process between the stream and the subscriber);
 *  - LISTEN/NOTIFY: an AFTER UPDATE trigger notifies in the same transaction; a listening connection waits.
 * Every sample times from just before the UPDATE is sent (and from its commit returning) until the
 * subscriber has the change: a response body fully received, the Commit message decoded, the
 * notification received. Only one subscriber is active at a time, so none competes with another.
 *
 *   node --import tsx bench/latency.ts [--quick] [--samples 200]
 */
import http from "node:http";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import type pg from "pg";
import { Channel } from "./lib/children.ts";
import { now } from "./lib/clock.ts";
import type { FromRelay, ToRelay } from "./lib/ipc.ts";
import { dropSlot, startPgoutputClient } from "./lib/pgoutput-client.ts";
import { runIfMain, runPart } from "./lib/cli.ts";
import { BENCH_TABLE, benchValue, connectClient, UPDATE_SQL } from "./lib/postgres.ts";
import { forkTs, onCleanup, sleep, stopChild } from "./lib/procs.ts";
import { fmtMs, fmtRatio, table } from "./lib/report.ts";
import { startRuncastServer } from "./lib/runcast-server.ts";
import { ratio, rounded, summarize, type Summary } from "./lib/stats.ts";

export interface LatencyOptions {
  databaseUrl: string;
  /** Measured updates per subscriber kind. */
  samples: number;
  /** Updates before measuring (JIT, caches, connections). */
  warmup: number;
  /** Pause between the subscriber being ready and the next update, ms (so the request is held, not in flight). */
  gapMs: number;
  log: (line: string) => void;
}

export const LATENCY_TARGETS = { p50Ratio: 1.3 } as const;

export interface LatencyKindResult {
  /** From just before the UPDATE was sent until the subscriber had the change. */
  fromSend: Summary;
  /** From the UPDATE's commit returning to the client that sent it. */
  fromCommit: Summary;
  /** The UPDATE's own round trip (send → commit returned). */
  commit: Summary;
}

export interface LatencyResult {
  runcast: LatencyKindResult;
  /** The same server, one SSE stream instead of long-polls. */
  runcastSse: LatencyKindResult;
  pgoutput: LatencyKindResult;
  /** pgoutput + a bare node:http long-poll in a separate process: the floor of Runcast's architecture. */
  relay: LatencyKindResult;
  notify: LatencyKindResult;
  /** runcast / pgoutput, from send. */
  ratioP50: number;
  ratioP99: number;
  /** runcast / relay, p50 from send. */
  relayRatioP50: number;
}

/** What one subscriber kind provides to the shared sampling loop. */
interface Subscriber {
  /** Gets ready for the next change; resolves with the time it was seen (bench clock). */
  arm(value: string): Promise<{ seen: Promise<number> }>;
}

let updates = 0;

const RELAY_FLOOR = fileURLToPath(new URL("./relay-floor.ts", import.meta.url));

async function sample(sql: pg.Client, sub: Subscriber, opts: LatencyOptions, tag: string): Promise<LatencyKindResult> {
  const fromSend: number[] = [];
  const fromCommit: number[] = [];
  const commit: number[] = [];
  const total = opts.warmup + opts.samples;
  for (let i = 0; i < total; i++) {
    const value = benchValue(++updates);
    const { seen } = await sub.arm(value);
    await sleep(opts.gapMs);
    const t0 = now();
    await sql.query(UPDATE_SQL, [value]);
    const t1 = now();
    const t2 = await withTimeout(seen, 30_000, `${tag}: update ${i} never reached the subscriber`);
    if (i < opts.warmup) continue;
    fromSend.push(t2 - t0);
    fromCommit.push(t2 - t1);
    commit.push(t1 - t0);
    if ((i - opts.warmup + 1) % 50 === 0) opts.log(`${tag} ${i - opts.warmup + 1}/${opts.samples}`);
  }
  const result = { fromSend: rounded(summarize(fromSend)), fromCommit: rounded(summarize(fromCommit)), commit: rounded(summarize(commit)) };
  opts.log(`${tag} p50 ${fmtMs(result.fromSend.p50)} p99 ${fmtMs(result.fromSend.p99)} max ${fmtMs(result.fromSend.max)} ms (commit round trip p50 ${fmtMs(result.commit.p50)})`);
  return result;
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(what)), ms)))]).finally(() => clearTimeout(timer));
}

/** Runcast: GET offset=-1, then one live long-poll per update over one keep-alive connection. */
async function runcastSubscriber(url: string, secretKey: string): Promise<Subscriber & { close(): void }> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const { hostname, port } = new URL(url);
  let handle = "";
  let offset = "-1";
  let cursor: string | undefined;
  const request = (live: boolean, written?: () => void) =>
    new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string; end: number }>((resolve, reject) => {
      const q = new URLSearchParams({ table: BENCH_TABLE, offset });
      if (offset !== "-1") q.set("handle", handle);
      if (live) q.set("live", "true");
      if (live && cursor) q.set("cursor", cursor);
      const req = http.request({ host: hostname, port, path: `/v1/shape?${q}`, agent, headers: { authorization: `Bearer ${secretKey}` } }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString("utf8"), end: now() }));
        res.on("error", reject);
      });
      if (written) req.on("finish", written);
      req.on("error", reject);
      req.end();
    });
  const take = (h: http.IncomingHttpHeaders) => {
    handle = String(h["electric-handle"] ?? handle);
    offset = String(h["electric-offset"] ?? offset);
    if (h["electric-cursor"]) cursor = String(h["electric-cursor"]);
  };
  const first = await request(false);
  if (first.status !== 200) throw new Error(`snapshot answered ${first.status}: ${first.body}`);
  take(first.headers);
  return {
    async arm(value) {
      let written!: () => void;
      const sent = new Promise<void>((r) => (written = r));
      const seen = (async () => {
        for (;;) {
          const res = await request(true, written);
          if (res.status !== 200) throw new Error(`live request answered ${res.status}: ${res.body}`);
          take(res.headers);
          if (res.body.includes(value)) return res.end;
          // A long-poll timeout or an older change: ask again.
        }
      })();
      seen.catch(() => {});
      await sent;
      return { seen };
    },
    close: () => agent.destroy(),
  };
}

/** Runcast over SSE: GET offset=-1, then one event stream (live_sse=true) that carries every update. */
async function runcastSseSubscriber(url: string, secretKey: string): Promise<Subscriber & { close(): void }> {
  const first = await fetch(`${url}/v1/shape?table=${BENCH_TABLE}&offset=-1`, { headers: { authorization: `Bearer ${secretKey}` } });
  if (first.status !== 200) throw new Error(`snapshot answered ${first.status}`);
  await first.arrayBuffer();
  const q = new URLSearchParams({ table: BENCH_TABLE, offset: first.headers.get("electric-offset") ?? "-1", handle: first.headers.get("electric-handle") ?? "", live: "true", live_sse: "true" });
  const { hostname, port } = new URL(url);
  const waiters = new Map<string, (at: number) => void>();
  let buffer = "";
  const req = http.request({ host: hostname, port, path: `/v1/shape?${q}`, headers: { authorization: `Bearer ${secretKey}`, accept: "text/event-stream" } }, (res) => {
    res.setEncoding("utf8");
    res.on("data", (chunk: string) => {
      const at = now();
      buffer += chunk;
      for (const [value, resolve] of waiters) {
        if (buffer.includes(value)) {
          waiters.delete(value);
          resolve(at);
        }
      }
      // Keep only a tail long enough to hold a value split across chunks.
      if (buffer.length > 4096) buffer = buffer.slice(-256);
    });
  });
  req.on("error", () => {});
  req.end();
  return {
    async arm(value) {
      const seen = new Promise<number>((resolve) => waiters.set(value, resolve));
      return { seen };
    },
    close: () => req.destroy(),
  };
}

const FLOOR_SLOT = "bench_floor";
const RELAY_SLOT = "bench_relay";
const FLOOR_PUBLICATION = "bench_floor";

/** The pgoutput floor, in this process: decode the stream until the Commit of the update. */
async function pgoutputSubscriber(databaseUrl: string): Promise<Subscriber & { close(): Promise<void> }> {
  let expected: string | undefined;
  let notify: ((t: number) => void) | undefined;
  const client = await startPgoutputClient({
    databaseUrl,
    slot: FLOOR_SLOT,
    publication: FLOOR_PUBLICATION,
    onCommit(updates) {
      if (!notify || !updates.some((values) => values[1] === expected)) return;
      const t = now();
      const n = notify;
      notify = undefined;
      n(t);
    },
  });
  return {
    async arm(value) {
      expected = value;
      return { seen: new Promise<number>((r) => (notify = r)) };
    },
    close: () => client.close(),
  };
}

/** The relay floor: a child process holding a bare node:http long-poll, answered from its own pgoutput stream. */
async function relaySubscriber(databaseUrl: string): Promise<Subscriber & { close(): Promise<void> }> {
  const relay = new Channel<ToRelay, FromRelay>(forkTs(RELAY_FLOOR), "relay floor");
  relay.send({ t: "init", databaseUrl, slot: RELAY_SLOT, publication: FLOOR_PUBLICATION });
  const { port } = await relay.next("listening", 30_000);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  return {
    async arm(value) {
      let written!: () => void;
      const sent = new Promise<void>((r) => (written = r));
      const seen = new Promise<number>((resolve, reject) => {
        const req = http.request({ host: "127.0.0.1", port, path: `/live?v=${encodeURIComponent(value)}`, agent }, (res) => {
          res.on("data", () => {});
          res.on("end", () => (res.statusCode === 200 ? resolve(now()) : reject(new Error(`relay answered ${res.statusCode}`))));
        });
        req.on("finish", written);
        req.on("error", reject);
        req.end();
      });
      seen.catch(() => {});
      await sent;
      return { seen };
    },
    async close() {
      agent.destroy();
      const gone = new Promise<void>((r) => relay.child.once("exit", () => r()));
      relay.send({ t: "stop" });
      await Promise.race([gone, sleep(10_000)]);
      await stopChild(relay.child, 1_000);
      await dropSlot(databaseUrl, RELAY_SLOT);
    },
  };
}

/** The LISTEN/NOTIFY floor: an AFTER UPDATE trigger notifies with the new value in the same transaction. */
async function notifySubscriber(databaseUrl: string, admin: pg.Client): Promise<Subscriber & { close(): Promise<void> }> {
  await admin.query(`CREATE OR REPLACE FUNCTION bench_notify() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN PERFORM pg_notify('${BENCH_TABLE}', NEW.v); RETURN NULL; END $$`);
  await admin.query(`CREATE TRIGGER bench_notify AFTER UPDATE ON ${BENCH_TABLE} FOR EACH ROW EXECUTE FUNCTION bench_notify()`);
  const client = await connectClient({ connectionString: databaseUrl });
  let expected: string | undefined;
  let notify: ((t: number) => void) | undefined;
  client.on("notification", (msg) => {
    if (msg.payload !== expected || !notify) return;
    const t = now();
    const n = notify;
    notify = undefined;
    n(t);
  });
  await client.query(`LISTEN ${BENCH_TABLE}`);
  return {
    async arm(value) {
      expected = value;
      return { seen: new Promise<number>((r) => (notify = r)) };
    },
    async close() {
      await client.end();
      await admin.query(`DROP TRIGGER IF EXISTS bench_notify ON ${BENCH_TABLE}`);
      await admin.query("DROP FUNCTION IF EXISTS bench_notify()");
    },
  };
}

/**
 * Runcast first (its server is then stopped, so its walsender decodes nothing during the floors), then
 * the pgoutput floor, then LISTEN/NOTIFY. The updating connection is the same plain client throughout.
 */
export async function runLatency(opts: LatencyOptions): Promise<LatencyResult> {
  const sql = await connectClient({ connectionString: opts.databaseUrl }, opts.log);
  const unregister = onCleanup(() => sql.end());
  try {
    opts.log(`[latency runcast] ${opts.samples} sequential updates, one held long-poll`);
    const server = await startRuncastServer({ databaseUrl: opts.databaseUrl, maxSubscriptions: 100, longPollMs: 60_000 });
    let runcast: LatencyKindResult;
    let runcastSse: LatencyKindResult;
    try {
      const sub = await runcastSubscriber(server.url, server.secretKey);
      try {
        runcast = await sample(sql, sub, opts, "[latency runcast]");
      } finally {
        sub.close();
      }
      opts.log(`[latency runcast sse] ${opts.samples} sequential updates, one SSE stream`);
      const sse = await runcastSseSubscriber(server.url, server.secretKey);
      try {
        runcastSse = await sample(sql, sse, opts, "[latency runcast sse]");
      } finally {
        sse.close();
      }
    } finally {
      await server.stop();
    }

    await sql.query(`CREATE PUBLICATION ${FLOOR_PUBLICATION} FOR TABLE ${BENCH_TABLE}`);
    let pgoutput: LatencyKindResult;
    let relay: LatencyKindResult;
    try {
      opts.log(`[latency pgoutput] own slot and publication, START_REPLICATION, decode to the Commit`);
      const floor = await pgoutputSubscriber(opts.databaseUrl);
      try {
        pgoutput = await sample(sql, floor, opts, "[latency pgoutput]");
      } finally {
        await floor.close();
      }
      opts.log(`[latency relay] pgoutput + bare node:http long-poll in a child process`);
      const relayFloor = await relaySubscriber(opts.databaseUrl);
      try {
        relay = await sample(sql, relayFloor, opts, "[latency relay]");
      } finally {
        await relayFloor.close();
      }
    } finally {
      await sql.query(`DROP PUBLICATION IF EXISTS ${FLOOR_PUBLICATION}`);
    }

    opts.log(`[latency notify] AFTER UPDATE trigger → pg_notify, one LISTEN connection`);
    const listener = await notifySubscriber(opts.databaseUrl, sql);
    let notify: LatencyKindResult;
    try {
      notify = await sample(sql, listener, opts, "[latency notify]");
    } finally {
      await listener.close();
    }

    return {
      runcast,
      runcastSse,
      pgoutput,
      relay,
      notify,
      ratioP50: ratio(runcast.fromSend.p50, pgoutput.fromSend.p50),
      ratioP99: ratio(runcast.fromSend.p99, pgoutput.fromSend.p99),
      relayRatioP50: ratio(runcast.fromSend.p50, relay.fromSend.p50),
    };
  } finally {
    unregister();
    await sql.end().catch(() => {});
  }
}

export function latencyTable(r: LatencyResult): string {
  const rows = [["commit → subscriber (ms)", "p50", "p99", "max", "p50 from commit", "p99 from commit", "UPDATE round trip p50"]];
  const add = (name: string, k: LatencyKindResult) =>
    rows.push([name, fmtMs(k.fromSend.p50), fmtMs(k.fromSend.p99), fmtMs(k.fromSend.max), fmtMs(k.fromCommit.p50), fmtMs(k.fromCommit.p99), fmtMs(k.commit.p50)]);
  add("runcast held long-poll", r.runcast);
  add("runcast SSE stream", r.runcastSse);
  add("floor: pgoutput client", r.pgoutput);
  add("floor: pgoutput → http relay", r.relay);
  add("floor: LISTEN/NOTIFY", r.notify);
  return (
    table(rows) +
    `\n\nruncast/pgoutput p50 ${fmtRatio(r.ratioP50, LATENCY_TARGETS.p50Ratio)} (target ≤ ${LATENCY_TARGETS.p50Ratio}), p99 ${fmtRatio(r.ratioP99)}; ` +
    `runcast/relay p50 ${fmtRatio(r.relayRatioP50)}`
  );
}

export const LATENCY_MODES = {
  quick: { samples: 40, warmup: 10, gapMs: 20 },
  full: { samples: 200, warmup: 20, gapMs: 20 },
} as const;

export const LATENCY_ARGS = {
  quick: { type: "boolean" },
  samples: { type: "string" },
  out: { type: "string" },
} as const;

export function latencyOptionsFrom(values: { quick?: boolean; samples?: string }, databaseUrl: string, log: (line: string) => void): LatencyOptions {
  const mode = values.quick ? LATENCY_MODES.quick : LATENCY_MODES.full;
  const samples = values.samples === undefined ? mode.samples : Number(values.samples);
  if (!Number.isInteger(samples) || samples <= 0) throw new Error("--samples must be a positive integer");
  return { databaseUrl, samples, warmup: mode.warmup, gapMs: mode.gapMs, log };
}

runIfMain(import.meta.url, async () => {
  const { values } = parseArgs({ options: LATENCY_ARGS, strict: true });
  await runPart({
    name: "latency",
    quick: values.quick,
    out: values.out,
    options: (databaseUrl, log) => latencyOptionsFrom(values, databaseUrl, log),
    run: runLatency,
    table: latencyTable,
    targets: LATENCY_TARGETS,
  });
});
