/**
 * Batches: many runs created in one transaction, and the batch's status read back from its runs.
 *
 * Status is computed on read. Runs reach a final status in several places (attempts.ts on complete and
 * fail, runs.ts on cancel, scheduler.ts on ttl expiry and lost leases), so keeping `batches.status`
 * current on every write would mean touching each of them. Instead `retrieveBatch` derives the status
 * from the batch's runs and settles `batches.status` / `completed_at` the first time it finds every
 * run final; before that, the row says what it said at creation (PENDING).
 */
import type pg from "pg";
import { withTransaction } from "../db/transaction.ts";
import { notFound } from "../errors.ts";
import type { Engine } from "./engine.ts";
import { newId } from "./ids.ts";
import { FINAL_STATUSES, type RunStatus } from "./run-state.ts";
import { NOW, utcTimestamp } from "./sql.ts";
import { streamedRunIds } from "./batch-stream.ts";
import { checkCachedAccess, insertRun, isIdempotencyRace, useTriggerToken, type TriggerToken } from "./trigger.ts";
import type { TriggerOptions } from "./trigger-options.ts";

/** Most items one batch may hold (Trigger.dev's STREAMING_BATCH_MAX_ITEMS default). */
export const MAX_BATCH_ITEMS = 1000;

export type BatchStatus = "PENDING" | "PROCESSING" | "COMPLETED" | "PARTIAL_FAILED" | "ABORTED";

export interface BatchItem {
  taskId: string;
  payload: unknown;
  options: TriggerOptions;
}

export interface CreateBatchRequest {
  envId: string;
  /** Already validated: every task exists, every option parsed. */
  items: BatchItem[];
  idempotencyKey?: string;
  /** The public token creating the batch (absent with a secret key). */
  token?: TriggerToken;
}

export interface BatchRunRef {
  id: string;
  taskIdentifier: string;
  isCached: boolean;
}

export interface CreateBatchResult {
  id: string;
  runCount: number;
  isCached: boolean;
  idempotencyKey?: string;
  /** In item order for a new batch; for a cached one, the batch's runs in creation order. */
  runs: BatchRunRef[];
}

/** The live batch of an idempotency key, with its runs. */
async function cachedBatch(client: pg.PoolClient, envId: string, key: string, token: TriggerToken | undefined): Promise<CreateBatchResult | null> {
  const { rows } = await client.query<{ id: string; run_count: number; trigger_token_hash: string | null }>(
    "SELECT id, run_count, trigger_token_hash FROM batches WHERE env_id = $1 AND idempotency_key = $2",
    [envId, key],
  );
  const batch = rows[0];
  if (!batch) return null;
  checkCachedAccess(token, batch.trigger_token_hash, { kind: "batch", id: batch.id });
  const runs = await client.query<{ id: string; task_identifier: string }>(
    "SELECT id, task_identifier FROM runs WHERE batch_id = $1 ORDER BY batch_index, created_at, id",
    [batch.id],
  );
  return {
    id: batch.id,
    runCount: batch.run_count,
    isCached: true,
    idempotencyKey: key,
    runs: runs.rows.map((r) => ({ id: r.id, taskIdentifier: r.task_identifier, isCached: true })),
  };
}

/** True for the unique violation two concurrent creations of one batch idempotency key can hit. */
function isBatchKeyRace(err: unknown): boolean {
  return typeof err === "object" && err !== null && (err as { code?: string }).code === "23505" &&
    (err as { constraint?: string }).constraint === "batches_idempotency";
}

/**
 * Creates the batch row and every run in one transaction: a failure leaves neither. A live batch
 * idempotency key returns the existing batch instead (isCached). Wakes this node's dequeuers.
 */
export async function createBatch(engine: Engine, req: CreateBatchRequest): Promise<CreateBatchResult> {
  // The batch row is inserted before the runs, so a concurrent request with the same key blocks on the
  // unique index until this one commits, then fails with 23505 and retries into the cached branch.
  for (let attempt = 0; ; attempt++) {
    try {
      const result = await withTransaction(engine.pool, async (client) => {
        await useTriggerToken(client, req.envId, req.token, `a batch of ${[...new Set(req.items.map((i) => i.taskId))].join(", ")}`);
        if (req.idempotencyKey) {
          const cached = await cachedBatch(client, req.envId, req.idempotencyKey, req.token);
          if (cached) return { result: cached, queued: false, delayed: false };
        }
        const id = newId("batch");
        await client.query(
          "INSERT INTO batches (id, env_id, status, run_count, idempotency_key, trigger_token_hash) VALUES ($1, $2, 'PENDING', $3, $4, $5)",
          [id, req.envId, req.items.length, req.idempotencyKey ?? null, req.token?.hash ?? null],
        );
        const runs: BatchRunRef[] = [];
        let queued = false;
        let delayed = false;
        for (const [batchIndex, item] of req.items.entries()) {
          const r = await insertRun(client, {
            batchIndex,
            envId: req.envId,
            taskId: item.taskId,
            payload: item.payload,
            options: item.options,
            batchId: id,
            ...(req.token ? { token: req.token } : {}),
            triggerFunction: item.options.resumeParentOnCompletion ? "batchTriggerAndWait" : "batchTrigger",
          }, engine.workerTimeoutMs);
          if (!r.isCached && r.status === "QUEUED") queued = true;
          if (!r.isCached && r.status === "DELAYED") delayed = true;
          runs.push({ id: r.id, taskIdentifier: item.taskId, isCached: r.isCached });
        }
        const out: CreateBatchResult = { id, runCount: req.items.length, isCached: false, runs };
        if (req.idempotencyKey) out.idempotencyKey = req.idempotencyKey;
        return { result: out, queued, delayed };
      });
      if (result.queued) engine.notifyQueued([req.envId]);
      if (result.delayed) engine.scheduleSoon();
      return result.result;
    } catch (err) {
      if (attempt < 3 && (isBatchKeyRace(err) || isIdempotencyRace(err))) continue;
      throw err;
    }
  }
}

export interface BatchCounts {
  /** Runs linked to the batch (item runs deduplicated onto an older run by its own key are not). */
  total: number;
  byStatus: Partial<Record<RunStatus, number>>;
}

/**
 * The batch status its runs imply: COMPLETED once every run is final and all succeeded,
 * PARTIAL_FAILED once every run is final and any did not succeed, PROCESSING once any run has left
 * the queue, PENDING before.
 */
export function batchStatusFromRuns(counts: BatchCounts): BatchStatus {
  let final = 0;
  let failed = 0;
  let waiting = 0;
  for (const [status, n] of Object.entries(counts.byStatus) as [RunStatus, number][]) {
    if (FINAL_STATUSES.has(status)) {
      final += n;
      if (status !== "COMPLETED") failed += n;
    } else if (status === "QUEUED" || status === "DELAYED" || status === "WAITING_FOR_DEPLOY") {
      waiting += n;
    }
  }
  if (final === counts.total) return failed ? "PARTIAL_FAILED" : "COMPLETED";
  return waiting === counts.total ? "PENDING" : "PROCESSING";
}

export interface BatchView {
  id: string;
  status: BatchStatus;
  idempotencyKey: string | null;
  runCount: number;
  createdAt: Date;
  updatedAt: Date;
  completedAt: Date | null;
  runs: string[];
  counts: BatchCounts;
}

/** A batch with its runs and its status computed from them (see the header). 404 when unknown. */
export async function retrieveBatch(pool: pg.Pool, envId: string, batchId: string): Promise<BatchView> {
  const { rows } = await pool.query<{
    id: string;
    status: string;
    idempotency_key: string | null;
    run_count: number;
    created_at: Date;
    updated_at: Date;
    completed_at: Date | null;
  }>("SELECT id, status, idempotency_key, run_count, created_at, updated_at, completed_at FROM batches WHERE id = $1 AND env_id = $2", [
    batchId,
    envId,
  ]);
  const batch = rows[0];
  if (!batch) throw notFound("batch_not_found", `no batch with id ${JSON.stringify(batchId)} in this environment: check the id, and that the key or token is of the batch's environment`);
  // One statement, so the ids, the counts and the times describe the same snapshot of the runs.
  const runs = await pool.query<{ id: string; status: RunStatus; updated_at: Date; finished_at: Date | null }>(
    "SELECT id, status, updated_at, finished_at FROM runs WHERE batch_id = $1 ORDER BY batch_index, created_at, id",
    [batch.id],
  );
  const byStatus: Partial<Record<RunStatus, number>> = {};
  let updatedAt = batch.updated_at;
  let lastFinished: Date | null = null;
  for (const r of runs.rows) {
    byStatus[r.status] = (byStatus[r.status] ?? 0) + 1;
    if (r.updated_at > updatedAt) updatedAt = r.updated_at;
    if (r.finished_at && (!lastFinished || r.finished_at > lastFinished)) lastFinished = r.finished_at;
  }
  const counts: BatchCounts = { total: runs.rows.length, byStatus };
  const streamed = await streamedRunIds(pool, batch.id);
  const status = batchStatusFromRuns(counts);
  let completedAt = batch.completed_at;
  const settled = status === "COMPLETED" || status === "PARTIAL_FAILED";
  if (settled && batch.status !== status) {
    completedAt = lastFinished ?? batch.created_at;
    await pool.query(`UPDATE batches SET status = $2, completed_at = $3, updated_at = ${NOW} WHERE id = $1 AND status <> $2`, [
      batch.id,
      status,
      utcTimestamp(completedAt),
    ]);
  }
  return {
    id: batch.id,
    status,
    idempotencyKey: batch.idempotency_key,
    runCount: batch.run_count,
    createdAt: batch.created_at,
    updatedAt,
    completedAt: settled ? completedAt : null,
    // A streamed batch lists every item's run, those deduplicated onto an older run by their own key too.
    runs: streamed.length ? streamed : runs.rows.map((r) => r.id),
    counts,
  };
}
