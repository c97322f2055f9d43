import type pg from "pg";
import { RuncastError } from "../errors.ts";
import { newId } from "./ids.ts";
import { lockTasks } from "./workers.ts";
import { NOW, utcTimestamp } from "./sql.ts";
import type { TriggerOptions } from "./trigger-options.ts";
import type { RunStatus } from "./run-state.ts";

export interface TriggerRequest {
  envId: string;
  taskId: string;
  payload: unknown;
  options: TriggerOptions;
  batchId?: string;
  /** Position among the batch's items. */
  batchIndex?: number;
  parentRunId?: string;
  triggerFunction?: string;
  /** The public token triggering (absent with a secret key). */
  token?: TriggerToken;
  /** Names this request across its retries (hash of x-trigger-request-idempotency-key, environment and task). */
  requestKey?: string;
}

/** A public token that triggers: one-time tokens are consumed, and runs remember which token made them. */
export interface TriggerToken {
  /** sha256 of the token. */
  hash: string;
  oneTimeUse: boolean;
  /** Unix seconds. */
  expiresAt: number;
  /** Whether the token's own scopes read an existing run or batch (one it did not make). */
  mayRead(target: ExistingTarget): boolean;
}

/** A run or batch an idempotency key found. */
export type ExistingTarget =
  | { kind: "run"; id: string; task_identifier: string; tags: string[]; batch_id: string | null }
  | { kind: "batch"; id: string };

/**
 * An idempotency key that finds an existing run or batch: a public token gets it (and a read token for it)
 * only when the same token made it or its own scopes read it; otherwise knowing a key would widen a
 * trigger-only token into a reader of someone else's run. Refused inside the transaction: nothing is written.
 */
export function checkCachedAccess(token: TriggerToken | undefined, madeBy: string | null, target: ExistingTarget): void {
  if (!token || madeBy === token.hash || token.mayRead(target)) return;
  throw new RuncastError(
    403,
    "idempotency_key_taken",
    `this idempotency key belongs to a ${target.kind} triggered with another credential, which this public access token may not read`,
    { field: target.kind === "run" ? "options.idempotencyKey" : "idempotencyKey" },
  );
}

export interface TriggerResult {
  id: string;
  isCached: boolean;
  status: RunStatus;
}

/**
 * Consumes a one-time token inside the trigger's transaction: the first request that uses it wins, every
 * later one is a 422 (as Trigger.dev answers). Kept until the token expires (then it is refused anyway).
 */
export async function useTriggerToken(client: pg.ClientBase, envId: string, token: TriggerToken | undefined, what: string): Promise<void> {
  if (!token?.oneTimeUse) return;
  const { rowCount } = await client.query(
    "INSERT INTO used_tokens (token_hash, env_id, expires_at) VALUES ($1, $2, to_timestamp($3) AT TIME ZONE 'UTC') ON CONFLICT DO NOTHING",
    [token.hash, envId, token.expiresAt],
  );
  if (!rowCount) throw new RuncastError(422, "token_already_used", `Cannot trigger ${what} with a one-time use token as it has already been used.`);
}

/** A worker counts as connected while it has been seen within this window. */

interface TaskRow {
  queue: string;
  config: { maxAttempts?: number; maxDuration?: number };
  connected: boolean;
}

async function findTask(client: pg.PoolClient, envId: string, taskId: string, workerTimeoutMs: number): Promise<TaskRow | null> {
  // Serialised with worker registration for this task (workers.ts lockTasks): a run inserted while a worker
  // registers is either seen by the registration's release or sees the worker.
  await lockTasks(client, envId, [taskId], "shared");
  const { rows } = await client.query<TaskRow>(
    `SELECT t.queue, t.config,
       EXISTS (SELECT 1 FROM workers w WHERE w.env_id = t.env_id AND $2 = ANY (w.tasks)
               AND w.stopped_at IS NULL AND w.last_seen_at > ${NOW} - make_interval(secs => $3::float8 / 1000)) AS connected
     FROM tasks t WHERE t.env_id = $1 AND t.id = $2`,
    [envId, taskId, workerTimeoutMs],
  );
  return rows[0] ?? null;
}

/**
 * Creates one run in its first status (DELAYED, QUEUED or WAITING_FOR_DEPLOY), or returns the
 * existing run for a live idempotency key. Runs inside the caller's transaction when given a client.
 */
export async function insertRun(client: pg.PoolClient, req: TriggerRequest, workerTimeoutMs: number): Promise<TriggerResult> {
  // A task no worker has registered yet still gets its run: it waits for a deployment (WAITING_FOR_DEPLOY)
  // and starts as soon as a worker registering the id connects (DESIGN.md).
  const task = (await findTask(client, req.envId, req.taskId, workerTimeoutMs)) ?? { queue: `task/${req.taskId}`, config: {}, connected: false };
  const o = req.options;
  if (o.idempotencyKey) {
    const existing = await client.query<{
      id: string;
      status: RunStatus;
      expired: boolean;
      task_identifier: string;
      tags: string[];
      batch_id: string | null;
      trigger_token_hash: string | null;
    }>(
      `SELECT id, status, (idempotency_key_expires_at IS NOT NULL AND idempotency_key_expires_at <= ${NOW}) AS expired,
         task_identifier, tags, batch_id, trigger_token_hash
       FROM runs WHERE env_id = $1 AND task_identifier = $2 AND idempotency_key = $3 FOR UPDATE`,
      [req.envId, req.taskId, o.idempotencyKey],
    );
    const row = existing.rows[0];
    if (row && !row.expired) {
      const { id, task_identifier, tags, batch_id } = row;
      checkCachedAccess(req.token, row.trigger_token_hash, { kind: "run", id, task_identifier, tags, batch_id });
      return { id: row.id, isCached: true, status: row.status };
    }
    if (row) await client.query("UPDATE runs SET idempotency_key = NULL WHERE id = $1", [row.id]);
  }
  let lineage = { parent: null as string | null, root: null as string | null, depth: 0 };
  const parentId = req.parentRunId ?? o.parentRunId;
  if (parentId) {
    const { rows } = await client.query<{ id: string; root_run_id: string | null; depth: number }>(
      "SELECT id, root_run_id, depth FROM runs WHERE id = $1 AND env_id = $2",
      [parentId, req.envId],
    );
    const parent = rows[0];
    if (!parent) throw new RuncastError(404, "run_not_found", `parent run ${JSON.stringify(parentId)} does not exist`, { field: "options.parentRunId" });
    lineage = { parent: parent.id, root: parent.root_run_id ?? parent.id, depth: parent.depth + 1 };
  }
  const triggerFunction = req.triggerFunction ?? (o.resumeParentOnCompletion ? "triggerAndWait" : "trigger");
  const status: RunStatus = o.delayUntil ? "DELAYED" : task.connected ? "QUEUED" : "WAITING_FOR_DEPLOY";
  const id = newId("run");
  const maxAttempts = o.maxAttempts ?? task.config.maxAttempts ?? null;
  const maxDuration = o.maxDuration ?? task.config.maxDuration ?? null;
  await client.query(
    `INSERT INTO runs (id, env_id, task_identifier, status, payload, payload_type, metadata, tags,
        idempotency_key, idempotency_key_expires_at, batch_id, parent_run_id, trigger_function, queue,
        concurrency_key, priority, is_test, ttl, max_attempts, max_duration,
        root_run_id, depth, batch_index, trigger_token_hash, queued_at, delayed_until, available_at, ttl_expires_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $23, $24, $25, $26,
        CASE WHEN $4 = 'QUEUED' THEN ${NOW} END, $21, $21,
        CASE WHEN $22::float8 IS NOT NULL THEN coalesce($21::timestamp, ${NOW}) + make_interval(secs => $22::float8 / 1000.0) END)`,
    [
      id,
      req.envId,
      req.taskId,
      status,
      JSON.stringify(req.payload ?? null),
      o.payloadType,
      o.metadata ? JSON.stringify(o.metadata) : null,
      o.tags,
      o.idempotencyKey ?? null,
      o.idempotencyKeyExpiresAt ? utcTimestamp(o.idempotencyKeyExpiresAt) : null,
      req.batchId ?? null,
      lineage.parent,
      triggerFunction,
      o.queue ?? task.queue,
      o.concurrencyKey ?? null,
      o.priority,
      o.isTest,
      o.ttl ?? null,
      maxAttempts,
      maxDuration,
      o.delayUntil ? utcTimestamp(o.delayUntil) : null,
      o.ttlMs ?? null,
      lineage.root,
      lineage.depth,
      req.batchIndex ?? null,
      req.token?.hash ?? null,
    ],
  );
  return { id, isCached: false, status };
}

/** True for the unique violation two concurrent triggers of one idempotency key can hit. */
export function isIdempotencyRace(err: unknown): boolean {
  return typeof err === "object" && err !== null && (err as { code?: string }).code === "23505" &&
    ["runs_idempotency", "request_keys_pkey"].includes((err as { constraint?: string }).constraint ?? "");
}
