import type { ClientConfig } from "./config.ts";
import { apiRequest } from "./http.ts";
import { currentRun } from "./run-context.ts";
import { wireOptions } from "./trigger.ts";
import type { AnyTask, RunStatus, TaskIdentifier, TaskPayload, TriggerOptions } from "./types.ts";

/** One item of `tasks.batchTrigger` / `myTask.batchTrigger`: a payload for the task and its run options. */
export interface BatchItem<TPayload = unknown> {
  payload: TPayload;
  options?: TriggerOptions;
}

/** One item of `batch.trigger`: the task by id. For a union of tasks, each id takes its own payload. */
export type BatchByIdItem<T = AnyTask> = T extends AnyTask
  ? { id: TaskIdentifier<T>; payload: TaskPayload<T>; options?: TriggerOptions }
  : never;

export interface BatchTriggerOptions {
  /** The same key returns the batch created first (`isCached: true`) instead of a new one. */
  idempotencyKey?: string;
}

export interface BatchRun<TId extends string = string> {
  id: string;
  taskIdentifier: TId;
  /** True when the item's own idempotency key matched an existing run (or the whole batch was cached). */
  isCached: boolean;
}

/** What a batch trigger returns: the runs in item order and a public token that reads this batch. */
export interface BatchHandle<TId extends string = string> {
  batchId: string;
  runCount: number;
  isCached: boolean;
  runs: BatchRun<TId>[];
  /** Scoped `read:batch:<batchId>`. */
  publicAccessToken: string;
}

export type BatchStatus = "PENDING" | "PROCESSING" | "COMPLETED" | "PARTIAL_FAILED" | "ABORTED";

/** `batch.retrieve`: status is derived from the batch's runs when it is read. */
export interface RetrievedBatch {
  id: string;
  /** COMPLETED / PARTIAL_FAILED once every run is final; PROCESSING once any run started; else PENDING. */
  status: BatchStatus;
  idempotencyKey?: string;
  runCount: number;
  createdAt: Date;
  updatedAt: Date;
  completedAt?: Date;
  runs: string[];
  /** How many of the batch's runs are in each status (statuses with none are absent). */
  counts?: Partial<Record<RunStatus, number>>;
}

export interface WireItem {
  task: string;
  payload: unknown;
  options: Record<string, unknown>;
}

export async function postBatch(items: WireItem[], options: BatchTriggerOptions | undefined, config?: ClientConfig): Promise<BatchHandle> {
  const cfg = config ?? currentRun()?.config;
  const { body } = await apiRequest<{ id: string; runCount: number; isCached: boolean; runs: BatchRun[]; publicAccessToken: string }>(
    "/api/v1/batches",
    {
      method: "POST",
      body: { items, ...(options?.idempotencyKey ? { idempotencyKey: options.idempotencyKey } : {}) },
      // Without a key a retried request could create the batch twice.
      retry: !!options?.idempotencyKey,
      ...(cfg ? { config: cfg } : {}),
    },
  );
  return { batchId: body.id, runCount: body.runCount, isCached: body.isCached, runs: body.runs, publicAccessToken: body.publicAccessToken };
}

/** Many runs of one task in one request (all or none are created). Used by tasks.batchTrigger and task objects. */
export function batchTriggerTask(
  taskId: string,
  items: readonly BatchItem[],
  options?: BatchTriggerOptions,
  config?: ClientConfig,
  extra: Record<string, unknown> = {},
): Promise<BatchHandle> {
  return postBatch(items.map((i) => ({ task: taskId, payload: i.payload, options: wireOptions(i.options, extra) })), options, config);
}

/** Batches across tasks, and reading them back. */
export const batch = {
  /** Runs of several tasks in one request: `batch.trigger<typeof a | typeof b>([{ id: "a", payload }, …])`. */
  async trigger<T extends AnyTask = AnyTask>(
    items: readonly BatchByIdItem<T>[],
    options?: BatchTriggerOptions,
    config?: ClientConfig,
  ): Promise<BatchHandle<TaskIdentifier<T>>> {
    const wire = (items as readonly { id: string; payload: unknown; options?: TriggerOptions }[]).map((i) => ({
      task: i.id,
      payload: i.payload,
      options: wireOptions(i.options, {}),
    }));
    return (await postBatch(wire, options, config)) as BatchHandle<TaskIdentifier<T>>;
  },

  async retrieve(id: string | { batchId: string }, config?: ClientConfig): Promise<RetrievedBatch> {
    const batchId = typeof id === "string" ? id : id.batchId;
    const { body } = await apiRequest<Record<string, unknown>>(`/api/v2/batches/${encodeURIComponent(batchId)}`, config ? { config } : {});
    const out: RetrievedBatch = {
      id: body.id as string,
      status: body.status as BatchStatus,
      runCount: body.runCount as number,
      createdAt: new Date(body.createdAt as string),
      updatedAt: new Date(body.updatedAt as string),
      runs: body.runs as string[],
    };
    if (typeof body.idempotencyKey === "string") out.idempotencyKey = body.idempotencyKey;
    if (typeof body.completedAt === "string") out.completedAt = new Date(body.completedAt);
    if (body.counts) out.counts = body.counts as Partial<Record<RunStatus, number>>;
    return out;
  },
};
