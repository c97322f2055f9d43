import type pg from "pg";
import { RuncastError, notFound } from "../errors.ts";
import { isFinal } from "./run-state.ts";
import { NOW } from "./sql.ts";

/** A runs row as node-postgres returns it (timestamps as `Date` read in UTC). */
export type RunRow = Record<string, unknown> & { id: string; env_id: string; status: string; task_identifier: string };

export async function findRun(pool: pg.Pool, envId: string, runId: string): Promise<RunRow | null> {
  const { rows } = await pool.query<RunRow>("SELECT * FROM runs WHERE id = $1 AND env_id = $2", [runId, envId]);
  return rows[0] ?? null;
}

export async function getRun(pool: pg.Pool, envId: string, runId: string): Promise<RunRow> {
  const run = await findRun(pool, envId, runId);
  if (!run) throw notFound("run_not_found", `no run with id ${JSON.stringify(runId)} in this environment`);
  return run;
}

/**
 * Cancels a run that has not finished. An executing attempt is closed at once; its worker learns it on
 * its next heartbeat (409) and fires the task's abort signal.
 */
export async function cancelRun(pool: pg.Pool, envId: string, runId: string): Promise<void> {
  const { rows } = await pool.query<{ id: string }>(
    `WITH c AS (
       UPDATE runs SET status = 'CANCELED', finished_at = ${NOW}, updated_at = ${NOW}, available_at = NULL, ttl_expires_at = NULL
       WHERE id = $1 AND env_id = $2 AND status NOT IN ('COMPLETED','CANCELED','FAILED','CRASHED','INTERRUPTED','SYSTEM_FAILURE','EXPIRED','TIMED_OUT')
       RETURNING id
     ), a AS (
       UPDATE attempts SET status = 'CANCELED', finished_at = ${NOW} WHERE run_id IN (SELECT id FROM c) AND status = 'EXECUTING'
     )
     SELECT id FROM c`,
    [runId, envId],
  );
  if (rows.length) return;
  const run = await getRun(pool, envId, runId);
  if (isFinal(run.status)) {
    throw new RuncastError(409, "run_already_finished", `run ${runId} already finished with status ${run.status}; it cannot be canceled`);
  }
  throw new RuncastError(409, "run_changed", `run ${runId} changed while canceling; try again`);
}
