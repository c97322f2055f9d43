import { requireRun } from "./run-context.ts";
import { runs } from "./runs.ts";
import { triggerTask, wireOptions } from "./trigger.ts";
import { postBatch, type BatchHandle, type BatchTriggerOptions } from "./batch.ts";
import type { RealtimeRun, RunError, TriggerOptions } from "./types.ts";

/** The outcome of a child run awaited by its parent. */
export type TaskRunResult<TId extends string = string, TOutput = unknown> = (
  | { ok: true; id: string; taskIdentifier: TId; output: TOutput }
  | { ok: false; id: string; taskIdentifier: TId; error: RunError }
) & {
  /** The output, or throws the child's error. */
  unwrap(): TOutput;
};

export class ChildRunError extends Error {
  readonly runId: string;
  constructor(runId: string, error: RunError) {
    super(`child run ${runId} failed: ${error.message}`);
    this.name = "ChildRunError";
    this.runId = runId;
  }
}

/** The result object for a finished child run. */
function resultOf<TId extends string, TOutput>(run: RealtimeRun, taskId: TId): TaskRunResult<TId, TOutput> {
  const base = { id: run.id, taskIdentifier: taskId };
  if (run.status === "COMPLETED") return { ...base, ok: true as const, output: run.output as TOutput, unwrap: () => run.output as TOutput };
  const error: RunError = run.error ?? { message: `child run ended ${run.status}` };
  return {
    ...base,
    ok: false as const,
    error,
    unwrap: (): TOutput => {
      throw new ChildRunError(run.id, error);
    },
  };
}

/**
 * Inside a task: triggers a child run and waits for it without holding a worker slot (the parent is FROZEN
 * on a waitpoint the engine completes when the child finishes), then reads the child's outcome.
 */
export async function triggerAndWait<TId extends string, TOutput>(
  taskId: TId,
  payload: unknown,
  options?: TriggerOptions,
): Promise<TaskRunResult<TId, TOutput>> {
  const parent = requireRun("triggerAndWait");
  const handle = await triggerTask(taskId, payload, options, undefined, { resumeParentOnCompletion: true });
  await parent.wait({ kind: "run", runId: handle.id });
  return resultOf<TId, TOutput>(await runs.retrieve(handle.id, parent.config), taskId);
}

export interface BatchResult<TId extends string = string, TOutput = unknown> {
  id: string;
  /** One result per item, in item order. */
  runs: TaskRunResult<TId, TOutput>[];
}

/**
 * Inside a task: triggers a batch and waits until every run of it has finished (the caller is FROZEN on a
 * waitpoint the engine completes with the batch's last run), then reads each run's outcome.
 */
export async function batchTriggerAndWait<TId extends string, TOutput>(
  items: readonly { task: TId; payload: unknown; options?: TriggerOptions }[],
  options?: BatchTriggerOptions,
): Promise<BatchResult<TId, TOutput>> {
  const parent = requireRun("batchTriggerAndWait");
  const handle: BatchHandle = await postBatch(
    items.map((i) => ({ task: i.task, payload: i.payload, options: wireOptions(i.options, { resumeParentOnCompletion: true }) })),
    options,
  );
  await parent.wait({ kind: "batch", batchId: handle.batchId });
  // Items deduplicated onto an existing run (their own idempotency key) are outside the batch: wait for each.
  const outside = handle.isCached ? [] : handle.runs.filter((r) => r.isCached);
  for (const r of outside) await parent.wait({ kind: "run", runId: r.id });
  const results = await Promise.all(
    handle.runs.map(async (r, i) => resultOf<TId, TOutput>(await runs.retrieve(r.id, parent.config), (items[i] as { task: TId }).task)),
  );
  return { id: handle.batchId, runs: results };
}
