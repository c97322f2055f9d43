import type pg from "pg";
import { withTransaction } from "../db/transaction.ts";
import { RuncastError, badRequest, notFound } from "../errors.ts";
import type { Engine } from "./engine.ts";
import { newId } from "./ids.ts";
import { checkCachedAccess, insertRun, isIdempotencyRace, useTriggerToken, type TriggerToken } from "./trigger.ts";
import type { TriggerOptions } from "./trigger-options.ts";

/**
 * Two-phase batches, as the official Trigger.dev SDK 4.x sends them (specs/trigger-wire.md §2.2): the batch is
 * opened with its size, then its items arrive (NDJSON, possibly re-sent whole after a failure); each index
 * makes one run, once. The batch is sealed when every index has arrived.
 */
export interface OpenBatchRequest {
  envId: string;
  runCount: number;
  idempotencyKey?: string;
  token?: TriggerToken;
}

export interface OpenBatchResult {
  id: string;
  runCount: number;
  isCached: boolean;
  idempotencyKey?: string;
}

/** Batches of this many items at most (Trigger.dev's STREAMING_BATCH_MAX_ITEMS). */
export const MAX_STREAMED_BATCH_ITEMS = 1000;

export async function openBatch(engine: Engine, req: OpenBatchRequest): Promise<OpenBatchResult> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await withTransaction(engine.pool, async (client) => {
        await useTriggerToken(client, req.envId, req.token, "a batch");
        if (req.idempotencyKey) {
          const { rows } = await client.query<{ id: string; run_count: number; trigger_token_hash: string | null }>(
            "SELECT id, run_count, trigger_token_hash FROM batches WHERE env_id = $1 AND idempotency_key = $2",
            [req.envId, req.idempotencyKey],
          );
          const found = rows[0];
          if (found) {
            checkCachedAccess(req.token, found.trigger_token_hash, { kind: "batch", id: found.id });
            return { id: found.id, runCount: found.run_count, isCached: true, idempotencyKey: req.idempotencyKey };
          }
        }
        const id = newId("batch");
        await client.query(
          "INSERT INTO batches (id, env_id, status, run_count, idempotency_key, trigger_token_hash, streamed) VALUES ($1, $2, 'PENDING', $3, $4, $5, true)",
          [id, req.envId, req.runCount, req.idempotencyKey ?? null, req.token?.hash ?? null],
        );
        return { id, runCount: req.runCount, isCached: false, ...(req.idempotencyKey ? { idempotencyKey: req.idempotencyKey } : {}) };
      });
    } catch (err) {
      if (attempt < 3 && (err as { constraint?: string }).constraint === "batches_idempotency") continue;
      throw err;
    }
  }
}

export interface StreamedItem {
  index: number;
  taskId: string;
  payload: unknown;
  options: TriggerOptions;
}

export interface ItemsResult {
  id: string;
  itemsAccepted: number;
  itemsDeduplicated: number;
  sealed: boolean;
  enqueuedCount?: number;
  expectedCount?: number;
}

/**
 * Adds items to an open batch, in one transaction: an index already received is counted as deduplicated,
 * never run twice. A public token may only fill a batch it opened.
 */
export async function addBatchItems(engine: Engine, envId: string, batchId: string, items: readonly StreamedItem[], token: TriggerToken | undefined): Promise<ItemsResult> {
  for (let attempt = 0; ; attempt++) {
    try {
      const out = await withTransaction(engine.pool, async (client) => {
        const { rows } = await client.query<{ run_count: number; trigger_token_hash: string | null; streamed: boolean }>(
          "SELECT run_count, trigger_token_hash, streamed FROM batches WHERE id = $1 AND env_id = $2 FOR UPDATE",
          [batchId, envId],
        );
        const batch = rows[0];
        if (!batch) throw notFound("batch_not_found", `no batch with id ${JSON.stringify(batchId)} in this environment: check the id, and that the key or token is of the batch's environment`);
        if (!batch.streamed) throw new RuncastError(409, "batch_sealed", "this batch was created whole; it takes no more items");
        if (token && batch.trigger_token_hash !== token.hash) {
          throw new RuncastError(403, "forbidden", "this public access token did not open this batch");
        }
        for (const item of items) {
          if (item.index >= batch.run_count) {
            throw badRequest("invalid_index", `item index ${item.index} is past the batch's runCount of ${batch.run_count}`, `items[${item.index}].index`);
          }
        }
        const have = new Set((await client.query<{ index: number }>("SELECT item_index AS index FROM batch_items WHERE batch_id = $1", [batchId])).rows.map((r) => r.index));
        let accepted = 0;
        let deduplicated = 0;
        let queued = false;
        let delayed = false;
        for (const item of items) {
          if (have.has(item.index)) {
            deduplicated++;
            continue;
          }
          have.add(item.index);
          const run = await insertRun(
            client,
            {
              envId,
              taskId: item.taskId,
              payload: item.payload,
              options: item.options,
              batchId,
              batchIndex: item.index,
              ...(token ? { token } : {}),
              triggerFunction: item.options.resumeParentOnCompletion ? "batchTriggerAndWait" : "batchTrigger",
            },
            engine.workerTimeoutMs,
          );
          await client.query("INSERT INTO batch_items (batch_id, item_index, run_id) VALUES ($1, $2, $3)", [batchId, item.index, run.id]);
          if (!run.isCached && run.status === "QUEUED") queued = true;
          if (!run.isCached && run.status === "DELAYED") delayed = true;
          accepted++;
        }
        const sealed = have.size === batch.run_count;
        const result: ItemsResult = { id: batchId, itemsAccepted: accepted, itemsDeduplicated: deduplicated, sealed };
        if (!sealed) {
          result.enqueuedCount = have.size;
          result.expectedCount = batch.run_count;
        }
        return { result, queued, delayed };
      });
      if (out.queued) engine.notifyQueued([envId]);
      if (out.delayed) engine.scheduleSoon();
      return out.result;
    } catch (err) {
      if (attempt < 3 && isIdempotencyRace(err)) continue;
      throw err;
    }
  }
}

/** Run ids of a streamed batch in item order (items deduplicated onto an older run by their own key included). */
export async function streamedRunIds(pool: pg.Pool, batchId: string): Promise<string[]> {
  const { rows } = await pool.query<{ run_id: string }>("SELECT run_id FROM batch_items WHERE batch_id = $1 ORDER BY item_index", [batchId]);
  return rows.map((r) => r.run_id);
}
