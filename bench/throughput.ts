/**
 * Throughput (BENCHMARKS.md §3): trigger calls per second through the API against raw INSERTs per second into
 * PostgreSQL with the same concurrency (the floor: what the database takes without Runcast), and no-op runs per
 * second end to end (trigger → worker → COMPLETED) through a real `runcast worker`.
 */
import { fileURLToPath } from "node:url";
import { connectClient } from "./lib/postgres.ts";
import { readCpuMs } from "./lib/procs.ts";
import { startRuncastServer, startRuncastWorker, type RuncastWorker } from "./lib/runcast-server.ts";
import { now } from "./lib/clock.ts";

export interface ThroughputOptions {
  databaseUrl: string;
  /** Trigger calls measured (and raw INSERTs for the floor). */
  triggers: number;
  /** Requests in flight at once. */
  concurrency: number;
  /** No-op runs measured end to end. */
  runs: number;
  /** Write a V8 CPU profile of the server here (to see where a trigger's time goes). */
  cpuProfDir?: string;
  log: (line: string) => void;
}

export interface ThroughputResult {
  triggersPerS: number;
  /** The floor: INSERTs of run-sized rows per second, same concurrency, straight into PostgreSQL. */
  rawInsertsPerS: number;
  /** triggersPerS / rawInsertsPerS. */
  triggerRatio: number;
  /** The server's CPU time per trigger call (from /proc): where the trigger path's cost is. */
  serverCpuMsPerTrigger: number;
  /** No-op runs per second from the first trigger to the last COMPLETED, through one worker (concurrency 20). */
  runsPerS: number;
  config: { triggers: number; concurrency: number; runs: number };
}

export const THROUGHPUT_MODES = {
  tiny: { triggers: 60, concurrency: 8, runs: 20 },
  quick: { triggers: 1000, concurrency: 16, runs: 300 },
  full: { triggers: 5000, concurrency: 32, runs: 2000 },
} as const;

const TASKS_DIR = fileURLToPath(new URL("./tasks/", import.meta.url));

/** Runs `total` calls of `one` with `concurrency` in flight; returns calls per second. */
async function rate(total: number, concurrency: number, one: (i: number) => Promise<void>): Promise<number> {
  let next = 0;
  const started = now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) await one(next++);
    }),
  );
  return total / ((now() - started) / 1000);
}

export async function runThroughput(opts: ThroughputOptions): Promise<ThroughputResult> {
  const sql = await connectClient({ connectionString: opts.databaseUrl });
  const pool = await Promise.all(Array.from({ length: opts.concurrency }, () => connectClient({ connectionString: opts.databaseUrl })));
  const server = await startRuncastServer({
    databaseUrl: opts.databaseUrl,
    maxSubscriptions: 100,
    longPollMs: 20_000,
    nodeId: "bench_throughput",
    ...(opts.cpuProfDir ? { cpuProfDir: opts.cpuProfDir } : {}),
  });
  let worker: RuncastWorker | undefined;
  try {
    // The floor: a row as big as a run's, inserted with the same concurrency, no HTTP, no Runcast.
    await sql.query("CREATE TABLE IF NOT EXISTS bench_inserts (id text PRIMARY KEY, task text NOT NULL, payload jsonb, status text NOT NULL, created_at timestamp(3) NOT NULL DEFAULT now())");
    opts.log(`[throughput floor] ${opts.triggers} INSERTs, ${opts.concurrency} at a time`);
    let conn = 0;
    const rawInsertsPerS = await rate(opts.triggers, opts.concurrency, async (i) => {
      const c = pool[conn++ % pool.length];
      await c?.query("INSERT INTO bench_inserts (id, task, payload, status) VALUES ($1, 'noop', $2, 'QUEUED')", [`r${i}_${Math.random()}`, JSON.stringify({ i })]);
    });
    opts.log(`[throughput floor] ${rawInsertsPerS.toFixed(0)} INSERTs/s`);
    const trigger = async (i: number, task: string) => {
      const res = await fetch(`${server.url}/api/v1/tasks/${task}/trigger`, {
        method: "POST",
        headers: { authorization: `Bearer ${server.secretKey}`, "content-type": "application/json" },
        body: JSON.stringify({ payload: { i } }),
      });
      if (!res.ok) throw new Error(`trigger answered ${res.status}: ${await res.text()}`);
      await res.arrayBuffer();
    };
    // Triggers of a task no worker runs: the runs wait for a deployment, so only the trigger path is measured.
    opts.log(`[throughput triggers] ${opts.triggers} trigger calls, ${opts.concurrency} at a time`);
    const cpuBefore = readCpuMs(server.pid);
    const triggersPerS = await rate(opts.triggers, opts.concurrency, (i) => trigger(i, "bench-undeployed"));
    const serverCpuMsPerTrigger = (readCpuMs(server.pid) - cpuBefore) / opts.triggers;
    opts.log(`[throughput triggers] ${triggersPerS.toFixed(0)} triggers/s; server CPU ${serverCpuMsPerTrigger.toFixed(2)} ms per trigger`);

    worker = await startRuncastWorker({ url: server.url, secretKey: server.secretKey, tasksDir: TASKS_DIR, concurrency: 20 });
    opts.log(`[throughput runs] ${opts.runs} no-op runs end to end through one worker`);
    const started = now();
    await rate(opts.runs, opts.concurrency, (i) => trigger(i, "noop"));
    for (;;) {
      const { rows } = await sql.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM runcast_internal.runs WHERE task_identifier = 'noop' AND status = 'COMPLETED'",
      );
      if ((rows[0]?.n ?? 0) >= opts.runs) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    const runsPerS = opts.runs / ((now() - started) / 1000);
    opts.log(`[throughput runs] ${runsPerS.toFixed(0)} runs/s`);
    return {
      triggersPerS: Math.round(triggersPerS),
      rawInsertsPerS: Math.round(rawInsertsPerS),
      triggerRatio: Math.round((triggersPerS / rawInsertsPerS) * 1000) / 1000,
      serverCpuMsPerTrigger: Math.round(serverCpuMsPerTrigger * 100) / 100,
      runsPerS: Math.round(runsPerS),
      config: { triggers: opts.triggers, concurrency: opts.concurrency, runs: opts.runs },
    };
  } finally {
    if (worker) await worker.stop();
    await server.stop();
    await Promise.all(pool.map((c) => c.end()));
    await sql.end();
  }
}
