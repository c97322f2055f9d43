import { resolveConfig } from "./config.ts";
import { requireRun } from "./run-context.ts";
import { runs } from "./runs.ts";
import { triggerTask } from "./trigger.ts";
import type { RunError, TriggerOptions } from "./types.ts";
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
      if (!run.finishedAt) continue;
      const ok = run.status === "COMPLETED";
      const base = { id: run.id, taskIdentifier: taskId };
      const error: RunError = run.error ?? { message: `child run ended ${run.status}` };
      return ok
        ? { ...base, ok: true as const, output: run.output as TOutput, unwrap: () => run.output as TOutput }
        : {
            ...base,
            ok: false as const,
            error,
            unwrap: (): TOutput => {
              throw new ChildRunError(run.id, error);
            },
          };
    }
    throw new Error(`the subscription to child run ${handle.id} ended before the run finished`);
  });
}
