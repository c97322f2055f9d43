import type pg from "pg";
import { withTransaction } from "../db/transaction.ts";
import { badRequest } from "../errors.ts";
import { newId } from "./ids.ts";
import { LIMITS, validateTaskId } from "./trigger-options.ts";
import { NOW } from "./sql.ts";

export interface TaskRegistration {
  id: string;
  queue?: string;
  /** Runs of the task's queue executing at once, across all workers. */
  concurrencyLimit?: number;
  retry?: Record<string, unknown>;
  maxDuration?: number;
}

export interface WorkerRegistration {
  name: string;
  concurrency: number;
  tasks: TaskRegistration[];
}

const MAX_CONCURRENCY_LIMIT = 1_000_000;
/** Longest retry backoff: a year. */
const MAX_BACKOFF_MS = 366 * 86_400_000;

function intInRange(v: unknown, field: string, min: number, max: number): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
    throw badRequest("invalid_option", `${field} must be an integer from ${min} to ${max}, got ${JSON.stringify(v)}`, field);
  }
  return v;
}

/** A task's retry policy, every field within its range. */
function parseRetry(v: unknown, field: string): Record<string, unknown> {
  if (typeof v !== "object" || v === null || Array.isArray(v)) throw badRequest("invalid_option", `${field} must be an object`, field);
  const r = v as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  const maxAttempts = intInRange(r.maxAttempts, `${field}.maxAttempts`, 1, LIMITS.maxAttempts);
  if (maxAttempts !== undefined) out.maxAttempts = maxAttempts;
  for (const k of ["minTimeoutInMs", "maxTimeoutInMs"] as const) {
    const ms = intInRange(r[k], `${field}.${k}`, 0, MAX_BACKOFF_MS);
    if (ms !== undefined) out[k] = ms;
  }
  if (r.factor !== undefined && r.factor !== null) {
    if (typeof r.factor !== "number" || !(r.factor >= 1 && r.factor <= 100)) throw badRequest("invalid_option", `${field}.factor must be a number from 1 to 100`, `${field}.factor`);
    out.factor = r.factor;
  }
  if (typeof r.randomize === "boolean") out.randomize = r.randomize;
  return out;
}

export function parseRegistration(body: unknown): WorkerRegistration {
  const b = (typeof body === "object" && body !== null ? body : {}) as Record<string, unknown>;
  if (!Array.isArray(b.tasks)) throw badRequest("invalid_worker", "tasks must be an array of { id }", "tasks");
  const tasks = b.tasks.map((t, i): TaskRegistration => {
    const o = (typeof t === "object" && t !== null ? t : {}) as Record<string, unknown>;
    const reg: TaskRegistration = { id: validateTaskId(o.id, `tasks[${i}].id`) };
    if (typeof o.queue === "string") {
      if (o.queue.length === 0 || o.queue.length > 128) throw badRequest("invalid_queue", `tasks[${i}].queue must be 1-128 characters`, `tasks[${i}].queue`);
      reg.queue = o.queue;
    }
    const limit = intInRange(o.concurrencyLimit, `tasks[${i}].concurrencyLimit`, 1, MAX_CONCURRENCY_LIMIT);
    if (limit !== undefined) reg.concurrencyLimit = limit;
    if (o.retry !== undefined && o.retry !== null) reg.retry = parseRetry(o.retry, `tasks[${i}].retry`);
    const maxDuration = intInRange(o.maxDuration, `tasks[${i}].maxDuration`, 1, LIMITS.maxDurationSeconds);
    if (maxDuration !== undefined) reg.maxDuration = maxDuration;
    return reg;
  });
  const concurrency = typeof b.concurrency === "number" && Number.isInteger(b.concurrency) && b.concurrency > 0 ? b.concurrency : 10;
  const name = typeof b.name === "string" && b.name.length <= 200 ? b.name : "worker";
  return { name, concurrency, tasks };
}

/**
 * Serialises what decides whether a task's new runs wait for a deployment: triggering it (the run's first
 * status) and a worker becoming available for it (releasing the waiting runs). Transaction-scoped advisory
 * locks, taken in one order.
 */
export async function lockTasks(client: pg.ClientBase, envId: string, taskIds: readonly string[], mode: "exclusive" | "shared" = "exclusive"): Promise<void> {
  // Triggers share the lock (they never conflict with each other, so they commit in parallel); a worker
  // becoming available for the task takes it alone, so it waits for triggers in flight and they wait for it.
  const fn = mode === "shared" ? "pg_advisory_xact_lock_shared" : "pg_advisory_xact_lock";
  for (const id of [...new Set(taskIds)].sort()) {
    await client.query(`SELECT ${fn}(hashtextextended($1, 0))`, [`runcast-task:${envId}:${id}`]);
  }
}

/** Runs of these tasks waiting for a deployment become QUEUED (under the tasks' locks). */
async function releaseWaiting(client: pg.ClientBase, envId: string, taskIds: readonly string[]): Promise<number> {
  await lockTasks(client, envId, taskIds);
  const released = await client.query(
    `UPDATE runs SET status = 'QUEUED', queued_at = ${NOW}, updated_at = ${NOW}
     WHERE env_id = $1 AND status = 'WAITING_FOR_DEPLOY' AND task_identifier = ANY ($2::text[])`,
    [envId, taskIds],
  );
  return released.rowCount ?? 0;
}

/**
 * Records a connected worker and the tasks it runs. Runs of those tasks waiting for a deployment
 * become QUEUED in the same transaction.
 */
export async function registerWorker(pool: pg.Pool, envId: string, reg: WorkerRegistration): Promise<{ workerId: string; released: number }> {
  const workerId = newId("worker");
  return withTransaction(pool, async (client) => {
    const taskIds = reg.tasks.map((t) => t.id);
    await lockTasks(client, envId, taskIds);
    await client.query("INSERT INTO workers (id, env_id, name, tasks, concurrency) VALUES ($1, $2, $3, $4, $5)", [
      workerId,
      envId,
      reg.name,
      taskIds,
      reg.concurrency,
    ]);
    for (const t of reg.tasks) {
      const config = {
        ...(t.retry ? { retry: t.retry, maxAttempts: t.retry.maxAttempts } : {}),
        ...(t.maxDuration ? { maxDuration: t.maxDuration } : {}),
      };
      await client.query(
        `INSERT INTO tasks (env_id, id, queue, config) VALUES ($1, $2, $3, $4)
         ON CONFLICT (env_id, id) DO UPDATE SET queue = excluded.queue, config = excluded.config, updated_at = ${NOW}`,
        [envId, t.id, t.queue ?? `task/${t.id}`, JSON.stringify(config)],
      );
      await client.query(
        `INSERT INTO queues (env_id, name, concurrency_limit) VALUES ($1, $2, $3)
         ON CONFLICT (env_id, name) DO UPDATE SET updated_at = ${NOW},
           concurrency_limit = coalesce(excluded.concurrency_limit, queues.concurrency_limit)`,
        [envId, t.queue ?? `task/${t.id}`, t.concurrencyLimit ?? null],
      );
    }
    return { workerId, released: await releaseWaiting(client, envId, taskIds) };
  });
}

export interface WorkerRow {
  id: string;
  tasks: string[];
  concurrency: number;
  stopped: boolean;
  /** Runs that were waiting for a deployment and became QUEUED because the worker came back. */
  released: number;
}

/**
 * Marks the worker seen now (dequeue, heartbeats and the events request all do: a busy worker is alive) and
 * returns it, null when unknown in this environment. A worker seen again after `timeoutMs` of silence
 * (it was counted as gone) releases the runs of its tasks that waited for a deployment meanwhile.
 */
export async function touchWorker(pool: pg.Pool, envId: string, workerId: string, timeoutMs: number): Promise<WorkerRow | null> {
  const { rows } = await pool.query<{ id: string; tasks: string[]; concurrency: number; stopped: boolean; was_stale: boolean }>(
    `UPDATE workers w SET last_seen_at = ${NOW}
     FROM (SELECT id, last_seen_at AS before FROM workers WHERE id = $1 AND env_id = $2 FOR UPDATE) prev
     WHERE w.id = prev.id
     RETURNING w.id, w.tasks, w.concurrency, w.stopped_at IS NOT NULL AS stopped,
       prev.before <= ${NOW} - make_interval(secs => $3::float8 / 1000) AS was_stale`,
    [workerId, envId, timeoutMs],
  );
  const row = rows[0];
  if (!row) return null;
  let released = 0;
  if (row.was_stale && !row.stopped) released = await withTransaction(pool, (client) => releaseWaiting(client, envId, row.tasks));
  return { id: row.id, tasks: row.tasks, concurrency: row.concurrency, stopped: row.stopped, released };
}

export async function stopWorker(pool: pg.Pool, envId: string, workerId: string): Promise<void> {
  await pool.query(`UPDATE workers SET stopped_at = ${NOW} WHERE id = $1 AND env_id = $2`, [workerId, envId]);
}
