import type pg from "pg";
import { RuncastError, notFound } from "../errors.ts";
import { withTransaction } from "../db/transaction.ts";
import { FINAL_STATUSES, isFinal } from "./run-state.ts";
import { setTransitionReason } from "./transitions.ts";
import { NOW } from "./sql.ts";

const FINAL_SQL = [...FINAL_STATUSES].map((s) => `'${s}'`).join(",");

/** A runs row as node-postgres returns it (timestamps as `Date` read in UTC). */
export type RunRow = Record<string, unknown> & { id: string; env_id: string; status: string; task_identifier: string };

export async function findRun(pool: pg.Pool, envId: string, runId: string): Promise<RunRow | null> {
  const { rows } = await pool.query<RunRow>("SELECT * FROM runs WHERE id = $1 AND env_id = $2", [runId, envId]);
  return rows[0] ?? null;
}

export async function getRun(pool: pg.Pool, envId: string, runId: string): Promise<RunRow> {
  const run = await findRun(pool, envId, runId);
  if (!run) throw notFound("run_not_found", `no run with id ${JSON.stringify(runId)} in this environment: check the id, and that the key or token is of the run's environment (dev and prod are separate)`);
  return run;
}

/**
 * Cancels a run that has not finished, and every descendant of it still running or waiting (children
 * triggered with triggerAndWait, theirs, …): the runs are locked in id order, then their executing attempts
 * are closed. Their workers learn it at once through the held events request (and on their next heartbeat)
 * and fire the tasks' abort signals.
 */
export async function cancelRun(pool: pg.Pool, envId: string, runId: string): Promise<void> {
  const canceled = await withTransaction(pool, async (client) => {
    await setTransitionReason(client, "canceled");
    const { rows: tree } = await client.query<{ id: string }>(
      `WITH RECURSIVE tree AS (
         SELECT id, 0 AS depth FROM runs WHERE id = $1 AND env_id = $2
         UNION ALL
         SELECT r.id, t.depth + 1 FROM runs r JOIN tree t ON r.parent_run_id = t.id WHERE r.env_id = $2 AND t.depth < 100
       )
       SELECT r.id FROM runs r WHERE r.id IN (SELECT id FROM tree)
         AND r.status NOT IN (${FINAL_SQL})
       ORDER BY r.id FOR UPDATE`,
      [runId, envId],
    );
    if (!tree.some((r) => r.id === runId)) return false;
    const ids = tree.map((r) => r.id);
    await client.query(
      `UPDATE runs SET status = 'CANCELED', finished_at = ${NOW}, updated_at = ${NOW}, available_at = NULL, ttl_expires_at = NULL
       WHERE id = ANY ($1::text[]) AND status NOT IN (${FINAL_SQL})`,
      [ids],
    );
    await client.query(`UPDATE attempts SET status = 'CANCELED', finished_at = ${NOW} WHERE run_id = ANY ($1::text[]) AND status = 'EXECUTING'`, [ids]);
    return true;
  });
  if (canceled) return;
  const run = await getRun(pool, envId, runId);
  // A finished run stays as it finished; canceling it is not an error (as on Trigger.dev, whose SDK retries 409s).
  if (isFinal(run.status)) return;
  throw new RuncastError(409, "run_changed", `run ${runId} changed while canceling; try again`);
}
