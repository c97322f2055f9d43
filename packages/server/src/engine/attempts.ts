import type pg from "pg";
import { withTransaction } from "../db/transaction.ts";
import { RuncastError, notFound } from "../errors.ts";
import { DEFAULT_RETRY, retryDelayMs, statusAfterFailure, type FailureKind, type RetryPolicy, type RunStatus } from "./run-state.ts";
import { NOW } from "./sql.ts";

export interface AttemptRef {
  envId: string;
  runId: string;
  attemptId: string;
  workerId: string;
}

/** Pricing used for costInCents: a base cost per attempt and a rate per second of execution. */
export interface CostRates {
  baseCentsPerAttempt: number;
  centsPerSecond: number;
}

const leaseLost = (runId: string) =>
  new RuncastError(409, "lease_lost", `this worker no longer holds run ${runId} (its lease expired, or the run was canceled)`);

/**
 * Locks the run an attempt route names, in the caller's environment: the first lock of every transition
 * (run, then attempt). Another environment's run is a 404, as if it did not exist.
 */
export async function lockRunOfEnv(client: pg.ClientBase, envId: string, runId: string): Promise<void> {
  const { rowCount } = await client.query("SELECT 1 FROM runs WHERE id = $1 AND env_id = $2 FOR UPDATE", [runId, envId]);
  if (!rowCount) throw notFound("run_not_found", `no run with id ${JSON.stringify(runId)} in this environment: check the id, and that the key or token is of the run's environment (dev and prod are separate)`);
}

/** Milliseconds the attempt `a` executed (not waited): its finished stretches plus the current one. */
const EXECUTED_MS = `(a.executed_ms + coalesce(extract(epoch FROM (${NOW} - a.executing_since)) * 1000, 0))`;

/** Durations and cost of the attempt `a` (a CTE returning executed_ms, executing_since), as SQL assignments on runs r. */
const USAGE = `duration_ms = r.duration_ms + greatest(0, ${EXECUTED_MS}::integer),
  cost_in_cents = r.cost_in_cents + $COST_RATE * greatest(0, ${EXECUTED_MS} / 1000.0),
  base_cost_in_cents = r.base_cost_in_cents + $BASE_COST`;

function usage(rates: CostRates, firstParam: number): { sql: string; params: number[] } {
  return {
    sql: USAGE.replace("$COST_RATE", `$${firstParam}::float8`).replace("$BASE_COST", `$${firstParam + 1}::float8`),
    params: [rates.centsPerSecond, rates.baseCentsPerAttempt],
  };
}

/** Extends the lease of an attempt the worker still holds; 409 when it does not. */
export async function heartbeat(pool: pg.Pool, ref: AttemptRef, leaseMs: number): Promise<void> {
  const { rowCount } = await pool.query(
    `UPDATE attempts SET lease_expires_at = ${NOW} + make_interval(secs => $4::integer / 1000.0)
     WHERE id = $1 AND run_id = $2 AND worker_id = $3 AND status = 'EXECUTING'
       AND EXISTS (SELECT 1 FROM runs r WHERE r.id = $2 AND r.env_id = $5)`,
    [ref.attemptId, ref.runId, ref.workerId, leaseMs, ref.envId],
  );
  if (!rowCount) throw leaseLost(ref.runId);
}

/**
 * Records a successful attempt: the run becomes COMPLETED with its output. Lock order everywhere: the run
 * first, then its attempt (cancel, complete, fail and the lease sweep alike), so they never deadlock.
 */
export async function completeAttempt(
  pool: pg.Pool,
  ref: AttemptRef,
  output: unknown,
  outputType: string,
  rates: CostRates,
): Promise<void> {
  const u = usage(rates, 6);
  await withTransaction(pool, async (client) => {
    await lockRunOfEnv(client, ref.envId, ref.runId);
    const { rowCount } = await client.query(
      `WITH a AS (
         UPDATE attempts SET status = 'COMPLETED', finished_at = ${NOW}
         WHERE id = $1 AND run_id = $2 AND worker_id = $3 AND status = 'EXECUTING'
         RETURNING run_id, executed_ms, executing_since
       )
       UPDATE runs r SET status = 'COMPLETED', output = $4, output_type = $5, error = NULL,
         finished_at = ${NOW}, updated_at = ${NOW}, ${u.sql}
       FROM a WHERE r.id = a.run_id AND r.status = 'EXECUTING'`,
      [ref.attemptId, ref.runId, ref.workerId, JSON.stringify(output ?? null), outputType, ...u.params],
    );
    if (!rowCount) throw leaseLost(ref.runId);
  });
}

export interface RunError {
  name?: string;
  message: string;
  stack?: string;
}

/**
 * Records a failed attempt. The run is retried (REATTEMPTING, QUEUED again after the task's backoff)
 * while attempts remain and the failure kind allows it; otherwise it takes its final status.
 */
export async function failAttempt(
  pool: pg.Pool,
  ref: AttemptRef,
  error: RunError,
  kind: FailureKind,
  rates: CostRates,
  random = Math.random(),
): Promise<RunStatus> {
  return withTransaction(pool, (client) => failLockedAttempt(client, ref, error, kind, rates, random));
}

/** The body of failAttempt, inside the caller's transaction (also used by the lease sweep). */
export async function failLockedAttempt(
  client: pg.PoolClient,
  ref: Omit<AttemptRef, "workerId"> & { workerId?: string },
  error: RunError,
  kind: FailureKind,
  rates: CostRates,
  random: number,
): Promise<RunStatus> {
  // The run first, then the attempt (the lock order of every transition).
  await lockRunOfEnv(client, ref.envId, ref.runId);
  const { rows } = await client.query<{ attempt_number: number; max_attempts: number | null; retry: Partial<RetryPolicy> | null }>(
    `SELECT r.attempt_number, r.max_attempts, t.config -> 'retry' AS retry
     FROM attempts a JOIN runs r ON r.id = a.run_id
     LEFT JOIN tasks t ON t.env_id = r.env_id AND t.id = r.task_identifier
     WHERE a.id = $1 AND a.run_id = $2 AND ($3::text IS NULL OR a.worker_id = $3) AND a.status = 'EXECUTING'
       AND r.status IN ('EXECUTING', 'FROZEN', 'QUEUED')
     FOR UPDATE OF a`,
    [ref.attemptId, ref.runId, ref.workerId ?? null],
  );
  const row = rows[0];
  if (!row) throw leaseLost(ref.runId);
  const policy: RetryPolicy = { ...DEFAULT_RETRY, ...(row.retry ?? {}) };
  const maxAttempts = row.max_attempts ?? policy.maxAttempts;
  const canRetry = row.attempt_number < maxAttempts;
  const status = statusAfterFailure(kind, canRetry);
  const delayMs = status === "REATTEMPTING" ? retryDelayMs(policy, row.attempt_number + 1, random) : 0;
  const errorJson = JSON.stringify({ name: error.name ?? "Error", message: error.message, ...(error.stack ? { stack: error.stack } : {}) });
  const u = usage(rates, 6);
  await client.query(
    `WITH a AS (
       UPDATE attempts SET status = 'FAILED', finished_at = ${NOW}, error = $3 WHERE id = $1 RETURNING executed_ms, executing_since
     )
     UPDATE runs r SET status = $4, error = $3, updated_at = ${NOW}, ${u.sql},
       finished_at = CASE WHEN $4 = 'REATTEMPTING' THEN NULL ELSE ${NOW} END,
       available_at = CASE WHEN $4 = 'REATTEMPTING' THEN ${NOW} + make_interval(secs => $5::float8 / 1000.0) END
     FROM a WHERE r.id = $2`,
    [ref.attemptId, ref.runId, errorJson, status, delayMs, ...u.params],
  );
  return status;
}
