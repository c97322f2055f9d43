import type pg from "pg";
import { withTransaction } from "../db/transaction.ts";
import { RuncastError, badRequest } from "../errors.ts";
import type { AttemptRef } from "./attempts.ts";
import { newId } from "./ids.ts";
import { FINAL_STATUSES } from "./run-state.ts";
import { NOW, utcTimestamp } from "./sql.ts";
import { LIMITS } from "./trigger-options.ts";
import { setTransitionReason } from "./transitions.ts";

/**
 * Waits live in the database. A run that waits (wait.for/until, triggerAndWait, batchTriggerAndWait) gets a
 * waitpoint and becomes FROZEN: it holds no worker slot, no queue slot and no subscription, and its attempt
 * stops counting execution time. The engine completes the waitpoint (the time came: the scheduler; the child
 * run or the whole batch finished: a trigger on runs, in the finishing transaction) and the run goes back to
 * QUEUED: it takes its queue's and its worker's concurrency again before it continues, on the worker that
 * holds its attempt (dequeue's `resume`). If that worker is gone, the attempt's lease expires and the run is
 * retried from the start per its retry policy, or CRASHED; it never stays FROZEN.
 */
export type WaitSpec = { kind: "duration"; until: Date } | { kind: "run"; runId: string } | { kind: "batch"; batchId: string };

const FINAL_SQL = [...FINAL_STATUSES].map((s) => `'${s}'`).join(",");

export function parseWaitSpec(raw: unknown, now: Date): WaitSpec {
  const o = (typeof raw === "object" && raw !== null ? raw : {}) as Record<string, unknown>;
  switch (o.kind) {
    case "duration": {
      const until = typeof o.until === "string" ? new Date(o.until) : undefined;
      if (!until || Number.isNaN(until.getTime())) throw badRequest("invalid_wait", "waitpoint.until must be an ISO date", "waitpoint.until");
      if (until.getTime() - now.getTime() > LIMITS.maxFutureMs) {
        throw badRequest("invalid_wait", `a wait may last at most ${LIMITS.maxFutureMs / 86_400_000} days`, "waitpoint.until");
      }
      return { kind: "duration", until };
    }
    case "run":
      if (typeof o.runId !== "string" || o.runId.length > 100) throw badRequest("invalid_wait", "waitpoint.runId must be a run id", "waitpoint.runId");
      return { kind: "run", runId: o.runId };
    case "batch":
      if (typeof o.batchId !== "string" || o.batchId.length > 100) throw badRequest("invalid_wait", "waitpoint.batchId must be a batch id", "waitpoint.batchId");
      return { kind: "batch", batchId: o.batchId };
    default:
      throw badRequest("invalid_wait", "waitpoint.kind must be duration, run or batch", "waitpoint.kind");
  }
}

/**
 * The attempt's run waits on `spec`: true when it is FROZEN now, false when what it waits for is already
 * there (it keeps executing). Locks in the order the completing trigger uses: what is waited for (the child
 * run or the batch) first, then the waiting run.
 */
export async function registerWait(pool: pg.Pool, ref: AttemptRef, spec: WaitSpec): Promise<boolean> {
  return withTransaction(pool, async (client) => {
    let ready = false;
    if (spec.kind === "run") {
      const child = await client.query<{ final: boolean }>(
        `SELECT status IN (${FINAL_SQL}) AS final FROM runs WHERE id = $1 AND env_id = $2 FOR SHARE`,
        [spec.runId, ref.envId],
      );
      if (!child.rows[0]) throw new RuncastError(404, "run_not_found", `no run ${JSON.stringify(spec.runId)} to wait for`, { field: "waitpoint.runId" });
      ready = child.rows[0].final;
    } else if (spec.kind === "batch") {
      const batch = await client.query("SELECT 1 FROM batches WHERE id = $1 AND env_id = $2 FOR UPDATE", [spec.batchId, ref.envId]);
      if (!batch.rowCount) throw new RuncastError(404, "batch_not_found", `no batch ${JSON.stringify(spec.batchId)} to wait for`, { field: "waitpoint.batchId" });
      const open = await client.query(`SELECT 1 FROM runs WHERE batch_id = $1 AND status NOT IN (${FINAL_SQL}) LIMIT 1`, [spec.batchId]);
      ready = !open.rowCount;
    } else {
      ready = spec.until.getTime() <= Date.now();
    }
    const run = await client.query<{ status: string }>(
      `SELECT r.status FROM runs r JOIN attempts a ON a.run_id = r.id
       WHERE r.id = $1 AND r.env_id = $2 AND a.id = $3 AND a.worker_id = $4 AND a.status = 'EXECUTING'
       FOR UPDATE OF r`,
      [ref.runId, ref.envId, ref.attemptId, ref.workerId],
    );
    if (run.rows[0]?.status !== "EXECUTING") {
      throw new RuncastError(409, "lease_lost", `this worker no longer holds run ${ref.runId} (its lease expired, or the run was canceled)`);
    }
    if (ready) return false;
    await client.query(
      `INSERT INTO waitpoints (id, run_id, attempt_id, kind, resume_at, child_run_id, batch_id) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
      [
        newId("waitpoint"),
        ref.runId,
        ref.attemptId,
        spec.kind,
        spec.kind === "duration" ? utcTimestamp(spec.until) : null,
        spec.kind === "run" ? spec.runId : null,
        spec.kind === "batch" ? spec.batchId : null,
      ],
    );
    // The attempt stops counting execution time while it waits.
    await client.query(
      `UPDATE attempts SET executed_ms = executed_ms + coalesce((extract(epoch FROM (${NOW} - executing_since)) * 1000)::bigint, 0),
         executing_since = NULL WHERE id = $1`,
      [ref.attemptId],
    );
    await setTransitionReason(client, `waiting for ${spec.kind === "duration" ? `a time (${spec.until.toISOString()})` : spec.kind === "run" ? `run ${spec.runId}` : `batch ${spec.batchId}`}`);
    await client.query(`UPDATE runs SET status = 'FROZEN', updated_at = ${NOW} WHERE id = $1`, [ref.runId]);
    return true;
  });
}

/** Duration waitpoints whose time came are completed and their runs queued again; returns their environments. */
export async function completeDueWaitpoints(pool: pg.Pool, limit: number): Promise<string[]> {
  return withTransaction(pool, async (client) => {
    await setTransitionReason(client, "the wait is over: back through the queue");
    const { rows } = await client.query<{ env_id: string }>(
      `WITH due AS (
         UPDATE waitpoints SET status = 'COMPLETED', completed_at = ${NOW}
         WHERE id IN (SELECT id FROM waitpoints WHERE status = 'WAITING' AND kind = 'duration' AND resume_at <= ${NOW}
                      ORDER BY resume_at LIMIT ${limit} FOR UPDATE SKIP LOCKED)
         RETURNING run_id
       )
       UPDATE runs r SET status = 'QUEUED', queued_at = ${NOW}, updated_at = ${NOW}
       FROM due WHERE r.id = due.run_id AND r.status = 'FROZEN'
       RETURNING r.env_id`,
    );
    return [...new Set(rows.map((r) => r.env_id))];
  });
}

/**
 * The database side: when a run reaches a final status, the waitpoints waiting for it (or for its batch, once
 * every run of the batch is final) complete and their runs go back to QUEUED; the run's own open waitpoints
 * are canceled. Runs in the finishing transaction, so a completion can never be missed.
 */
export function waitpointTriggerSql(schema: string): string {
  return `
CREATE OR REPLACE FUNCTION ${schema}.complete_waitpoints() RETURNS trigger LANGUAGE plpgsql AS $fn$
DECLARE
  waiting text[];
  reason text;
BEGIN
  UPDATE ${schema}.waitpoints SET status = 'CANCELED', completed_at = pg_catalog.now() AT TIME ZONE 'UTC'
    WHERE run_id = NEW.id AND status = 'WAITING';
  SELECT array_agg(run_id) INTO waiting FROM (
    SELECT run_id FROM ${schema}.waitpoints WHERE child_run_id = NEW.id AND status = 'WAITING'
  ) w;
  IF NEW.batch_id IS NOT NULL THEN
    -- Finishing runs of one batch take its lock in turn: the last one sees every other one final.
    PERFORM 1 FROM ${schema}.batches WHERE id = NEW.batch_id FOR UPDATE;
    IF NOT EXISTS (SELECT 1 FROM ${schema}.runs WHERE batch_id = NEW.batch_id AND status NOT IN (${FINAL_SQL})) THEN
      SELECT array_cat(waiting, array_agg(run_id)) INTO waiting FROM (
        SELECT run_id FROM ${schema}.waitpoints WHERE batch_id = NEW.batch_id AND status = 'WAITING'
      ) w;
    END IF;
  END IF;
  IF waiting IS NULL THEN
    RETURN NULL;
  END IF;
  UPDATE ${schema}.waitpoints SET status = 'COMPLETED', completed_at = pg_catalog.now() AT TIME ZONE 'UTC'
    WHERE status = 'WAITING' AND run_id = ANY (waiting) AND (child_run_id = NEW.id OR batch_id = NEW.batch_id);
  reason := pg_catalog.current_setting('runcast.transition_reason', true);
  PERFORM pg_catalog.set_config('runcast.transition_reason', 'what it waited for finished: back through the queue', true);
  UPDATE ${schema}.runs SET status = 'QUEUED', queued_at = pg_catalog.now() AT TIME ZONE 'UTC'
    WHERE id = ANY (waiting) AND status = 'FROZEN';
  PERFORM pg_catalog.set_config('runcast.transition_reason', coalesce(reason, ''), true);
  RETURN NULL;
END
$fn$;`;
}
