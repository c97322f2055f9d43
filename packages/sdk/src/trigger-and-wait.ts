import { resolveConfig } from "./config.ts";
import { requireRun } from "./run-context.ts";
import { runs } from "./runs.ts";
import { triggerTask, wireOptions } from "./trigger.ts";
import { postBatch, type BatchHandle, type BatchTriggerOptions } from "./batch.ts";
import type { RealtimeRun, RunError, TriggerOptions } from "./types.ts";
import { whileWaiting } from "./wait.ts";

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
 * Inside a task: triggers a child run and waits for it without holding a worker slot (the parent is
 * FROZEN meanwhile), following the child through its realtime feed.
 */
export async function triggerAndWait<TId extends string, TOutput>(
  taskId: TId,
  payload: unknown,
  options?: TriggerOptions,
): Promise<TaskRunResult<TId, TOutput>> {
  const parent = requireRun("triggerAndWait");
  const handle = await triggerTask(taskId, payload, options, undefined, { resumeParentOnCompletion: true });
  const { baseURL } = resolveConfig(parent.config);
  return whileWaiting("triggerAndWait", async (signal) => {
    for await (const run of runs.subscribeToRun(handle.id, { signal, baseURL, accessToken: handle.publicAccessToken })) {
      if (run.finishedAt) return resultOf<TId, TOutput>(run, taskId);
    }
    throw new Error(`the subscription to child run ${handle.id} ended before the run finished`);
  });
}

export interface BatchResult<TId extends string = string, TOutput = unknown> {
  id: string;
  /** One result per item, in item order. */
  runs: TaskRunResult<TId, TOutput>[];
}

/**
 * Inside a task: triggers a batch and waits until every run of it has finished (the caller is FROZEN
 * meanwhile), following them all through one batch feed.
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
  const { baseURL } = resolveConfig(parent.config);
  const results: TaskRunResult<TId, TOutput>[] = new Array(handle.runs.length);
  return whileWaiting("batchTriggerAndWait", async (signal) => {
    const index = new Map(handle.runs.map((r, i) => [r.id, i]));
    const follow = async (runsOf: AsyncIterable<RealtimeRun>, remaining: Set<string>) => {
      for await (const run of runsOf) {
        const i = index.get(run.id);
        if (i === undefined || !run.finishedAt || !remaining.delete(run.id)) continue;
        results[i] = resultOf<TId, TOutput>(run, (items[i] as { task: TId }).task);
        if (remaining.size === 0) return;
      }
    };
    // Items deduplicated onto an existing run (their own idempotency key) are not in the batch feed.
    const cached = handle.runs.filter((r) => r.isCached && !handle.isCached);
    const fresh = new Set(handle.runs.filter((r) => !cached.includes(r)).map((r) => r.id));
    const auth = { signal, baseURL, accessToken: handle.publicAccessToken };
    await Promise.all([
      fresh.size ? follow(runs.subscribeToBatch(handle.batchId, auth), fresh) : undefined,
      ...cached.map((r) =>
        follow(runs.subscribeToRun(r.id, { signal, baseURL, ...(parent.config?.secretKey ? { accessToken: parent.config.secretKey } : {}) }), new Set([r.id])),
      ),
    ]);
    return { id: handle.batchId, runs: results };
  });
}
