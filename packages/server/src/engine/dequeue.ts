import type pg from "pg";
import { NOW } from "./sql.ts";

export interface DequeuedRun {
  id: string;
  attemptId: string;
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
 * workers never get the same run), move them to EXECUTING and open an attempt with a lease.
 * The partial index runs_queued matches the predicate.
 */
const DEQUEUE = `
WITH picked AS (
  SELECT id FROM runs
  WHERE env_id = $1 AND status = 'QUEUED' AND task_identifier = ANY ($2::text[])
  ORDER BY priority DESC, queued_at, id
  LIMIT $4
  FOR UPDATE SKIP LOCKED
), started AS (
  UPDATE runs r SET status = 'EXECUTING', attempt_number = r.attempt_number + 1,
    started_at = coalesce(r.started_at, ${NOW}), updated_at = ${NOW}, ttl_expires_at = NULL
  FROM picked WHERE r.id = picked.id
  RETURNING r.*
), leased AS (
  INSERT INTO attempts (id, run_id, number, worker_id, lease_expires_at)
  SELECT 'attempt_' || substr(md5(random()::text || s.id), 1, 24), s.id, s.attempt_number, $3,
         ${NOW} + make_interval(secs => $5::integer / 1000.0)
  FROM started s
  RETURNING id, run_id
)
SELECT s.id, l.id AS attempt_id, s.attempt_number, s.task_identifier, s.payload, s.payload_type, s.metadata,
       s.tags, s.max_duration, s.max_attempts, s.is_test, s.created_at::text AS created_at, s.batch_id, s.parent_run_id, s.root_run_id
FROM started s JOIN leased l ON l.run_id = s.id`;

export async function dequeueRuns(
  pool: pg.Pool,
  args: { envId: string; workerId: string; tasks: string[]; max: number; leaseMs: number },
): Promise<DequeuedRun[]> {
  if (args.max <= 0 || args.tasks.length === 0) return [];
  const { rows } = await pool.query(DEQUEUE, [args.envId, args.tasks, args.workerId, args.max, args.leaseMs]);
  return rows.map((r) => ({
    id: r.id,
    attemptId: r.attempt_id,
    attemptNumber: r.attempt_number,
    taskIdentifier: r.task_identifier,
    payload: r.payload,
    payloadType: r.payload_type,
    metadata: r.metadata,
    tags: r.tags,
    maxDuration: r.max_duration,
    maxAttempts: r.max_attempts,
    isTest: r.is_test,
    createdAt: r.created_at,
    batchId: r.batch_id,
    parentRunId: r.parent_run_id,
    rootRunId: r.root_run_id,
  }));
}
