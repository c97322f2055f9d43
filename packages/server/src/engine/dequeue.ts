import type pg from "pg";
import { withTransaction } from "../db/transaction.ts";
import { NOW } from "./sql.ts";

export interface DequeuedRun {
  id: string;
  attemptId: string;
  /** The run comes back from a wait: the worker continues its attempt instead of starting one. */
  resume: boolean;
  attemptNumber: number;
  taskIdentifier: string;
  payload: unknown;
  payloadType: string;
  metadata: Record<string, unknown> | null;
  tags: string[];
  maxDuration: number | null;
  maxAttempts: number | null;
  isTest: boolean;
  createdAt: string;
  batchId: string | null;
  parentRunId: string | null;
  rootRunId: string | null;
}

/**
 * One statement: lock up to $4 QUEUED runs of the worker's tasks (`FOR UPDATE SKIP LOCKED`, so two
 * workers never get the same run) and move them to EXECUTING. A fresh run gets a new attempt with a lease;
 * a run coming back from a wait (it still has its executing attempt) goes only to the worker holding that
 * attempt, which continues it (`resume`). With $6 it serves that one queue; without, only queues that have no
 * concurrency limit. The partial index runs_queued matches the predicate.
 */
const DEQUEUE = `
WITH picked AS (
  SELECT r.id, a.id AS resume_attempt FROM runs r
  LEFT JOIN attempts a ON a.run_id = r.id AND a.status = 'EXECUTING'
  WHERE r.env_id = $1 AND r.status = 'QUEUED' AND r.task_identifier = ANY ($2::text[])
    AND (a.id IS NULL OR a.worker_id = $3)
    AND CASE WHEN $6::text IS NOT NULL THEN r.queue = $6
        ELSE NOT EXISTS (SELECT 1 FROM queues q WHERE q.env_id = r.env_id AND q.name = r.queue AND q.concurrency_limit IS NOT NULL) END
  ORDER BY r.priority DESC, r.queued_at, r.id
  LIMIT $4
  FOR UPDATE OF r SKIP LOCKED
), started AS (
  UPDATE runs r SET status = 'EXECUTING',
    attempt_number = r.attempt_number + CASE WHEN p.resume_attempt IS NULL THEN 1 ELSE 0 END,
    started_at = coalesce(r.started_at, ${NOW}), updated_at = ${NOW}, ttl_expires_at = NULL
  FROM picked p WHERE r.id = p.id
  RETURNING r.*, p.resume_attempt
), leased AS (
  INSERT INTO attempts (id, run_id, number, worker_id, lease_expires_at, executing_since)
  SELECT 'attempt_' || replace(gen_random_uuid()::text, '-', ''), s.id, s.attempt_number, $3,
         ${NOW} + make_interval(secs => $5::integer / 1000.0), ${NOW}
  FROM started s WHERE s.resume_attempt IS NULL
  RETURNING id, run_id
), resumed AS (
  UPDATE attempts a SET executing_since = ${NOW}, lease_expires_at = ${NOW} + make_interval(secs => $5::integer / 1000.0)
  FROM started s WHERE a.id = s.resume_attempt
  RETURNING a.id, a.run_id
)
SELECT s.id, coalesce(l.id, rs.id) AS attempt_id, s.resume_attempt IS NOT NULL AS resume, s.attempt_number, s.task_identifier,
       s.payload, s.payload_type, s.metadata, s.tags, s.max_duration, s.max_attempts, s.is_test, s.created_at::text AS created_at,
       s.batch_id, s.parent_run_id, s.root_run_id
FROM started s LEFT JOIN leased l ON l.run_id = s.id LEFT JOIN resumed rs ON rs.run_id = s.id`;

type Row = Record<string, unknown>;

function toRun(r: Row): DequeuedRun {
  return {
    id: r.id as string,
    attemptId: r.attempt_id as string,
    resume: r.resume === true,
    attemptNumber: r.attempt_number as number,
    taskIdentifier: r.task_identifier as string,
    payload: r.payload,
    payloadType: r.payload_type as string,
    metadata: r.metadata as Record<string, unknown> | null,
    tags: r.tags as string[],
    maxDuration: r.max_duration as number | null,
    maxAttempts: r.max_attempts as number | null,
    isTest: r.is_test as boolean,
    createdAt: r.created_at as string,
    batchId: r.batch_id as string | null,
    parentRunId: r.parent_run_id as string | null,
    rootRunId: r.root_run_id as string | null,
  };
}

/**
 * Hands up to `max` QUEUED runs to a worker. Queues with a concurrency limit are served one at a time
 * with their row locked, so concurrent dequeues (any node) never run more of a queue than its limit;
 * unlimited queues take the single-statement path.
 */
export async function dequeueRuns(
  pool: pg.Pool,
  args: { envId: string; workerId: string; tasks: string[]; max: number; leaseMs: number },
): Promise<DequeuedRun[]> {
  if (args.max <= 0 || args.tasks.length === 0) return [];
  const base = [args.envId, args.tasks, args.workerId];
  return withTransaction(pool, async (client) => {
    // Lock the limited queues first; count their executing runs in a second statement, whose snapshot
    // (READ COMMITTED) is taken after the lock and so sees what the previous holder committed.
    const locked = await client.query<{ name: string }>(
      `SELECT q.name FROM queues q
       WHERE q.env_id = $1 AND q.concurrency_limit IS NOT NULL
         AND EXISTS (SELECT 1 FROM runs r WHERE r.env_id = q.env_id AND r.queue = q.name AND r.status = 'QUEUED'
                     AND r.task_identifier = ANY ($2::text[]))
       ORDER BY q.name
       FOR UPDATE OF q`,
      [args.envId, args.tasks],
    );
    const limited = await client.query<{ name: string; free: number }>(
      `SELECT q.name, q.concurrency_limit - (SELECT count(*) FROM runs r
           WHERE r.env_id = q.env_id AND r.queue = q.name AND r.status = 'EXECUTING')::integer AS free
       FROM queues q WHERE q.env_id = $1 AND q.name = ANY ($2::text[]) ORDER BY q.name`,
      [args.envId, locked.rows.map((q) => q.name)],
    );
    const out: DequeuedRun[] = [];
    for (const q of limited.rows) {
      const want = Math.min(q.free, args.max - out.length);
      if (want <= 0) continue;
      const { rows } = await client.query(DEQUEUE, [...base, want, args.leaseMs, q.name]);
      out.push(...rows.map(toRun));
    }
    const rest = args.max - out.length;
    if (rest > 0) {
      const { rows } = await client.query(DEQUEUE, [...base, rest, args.leaseMs, null]);
      out.push(...rows.map(toRun));
    }
    return out;
  });
}
