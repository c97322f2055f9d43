import type pg from "pg";
import { withTransaction } from "../db/transaction.ts";
import { badRequest } from "../errors.ts";
import { newId } from "./ids.ts";
import { validateTaskId } from "./trigger-options.ts";
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
    if (o.concurrencyLimit !== undefined && o.concurrencyLimit !== null) {
      if (typeof o.concurrencyLimit !== "number" || !Number.isInteger(o.concurrencyLimit) || o.concurrencyLimit <= 0) {
        throw badRequest("invalid_concurrency_limit", `tasks[${i}].concurrencyLimit must be a positive integer`, `tasks[${i}].concurrencyLimit`);
      }
      reg.concurrencyLimit = o.concurrencyLimit;
    }
    if (typeof o.retry === "object" && o.retry !== null) reg.retry = o.retry as Record<string, unknown>;
    if (typeof o.maxDuration === "number") reg.maxDuration = o.maxDuration;
    return reg;
  });
  const concurrency = typeof b.concurrency === "number" && Number.isInteger(b.concurrency) && b.concurrency > 0 ? b.concurrency : 10;
  const name = typeof b.name === "string" && b.name.length <= 200 ? b.name : "worker";
  return { name, concurrency, tasks };
}

/**
 * Records a connected worker and the tasks it runs. Runs of those tasks waiting for a deployment
 * become QUEUED in the same transaction.
 */
export async function registerWorker(pool: pg.Pool, envId: string, reg: WorkerRegistration): Promise<{ workerId: string; released: number }> {
  const workerId = newId("worker");
  return withTransaction(pool, async (client) => {
    await client.query("INSERT INTO workers (id, env_id, name, tasks, concurrency) VALUES ($1, $2, $3, $4, $5)", [
      workerId,
      envId,
      reg.name,
      reg.tasks.map((t) => t.id),
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
    const released = await client.query(
      `UPDATE runs SET status = 'QUEUED', queued_at = ${NOW}, updated_at = ${NOW}
       WHERE env_id = $1 AND status = 'WAITING_FOR_DEPLOY' AND task_identifier = ANY ($2::text[])`,
      [envId, reg.tasks.map((t) => t.id)],
    );
    return { workerId, released: released.rowCount ?? 0 };
  });
}

export interface WorkerRow {
  id: string;
  tasks: string[];
  concurrency: number;
  stopped: boolean;
}

/** Marks the worker seen now and returns it (null when unknown in this environment). */
export async function touchWorker(pool: pg.Pool, envId: string, workerId: string): Promise<WorkerRow | null> {
  const { rows } = await pool.query<{ id: string; tasks: string[]; concurrency: number; stopped: boolean }>(
    `UPDATE workers SET last_seen_at = ${NOW} WHERE id = $1 AND env_id = $2
     RETURNING id, tasks, concurrency, stopped_at IS NOT NULL AS stopped`,
    [workerId, envId],
  );
  return rows[0] ?? null;
}

export async function stopWorker(pool: pg.Pool, envId: string, workerId: string): Promise<void> {
  await pool.query(`UPDATE workers SET stopped_at = ${NOW} WHERE id = $1 AND env_id = $2`, [workerId, envId]);
}
