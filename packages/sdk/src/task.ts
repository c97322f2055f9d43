import { batchTriggerTask, type BatchHandle, type BatchItem, type BatchTriggerOptions } from "./batch.ts";
import { triggerTask } from "./trigger.ts";
import { batchTriggerAndWait, triggerAndWait, type BatchResult, type TaskRunResult } from "./trigger-and-wait.ts";
import type { RetryOptions, RunHandle, Task, TaskRunParams, TriggerOptions } from "./types.ts";

export interface TaskDefinition<TId extends string, TPayload, TOutput> {
  id: TId;
  retry?: RetryOptions;
  /** Seconds an attempt may run before it is aborted and the run is TIMED_OUT. */
  maxDuration?: number;
  queue?: { name?: string; concurrencyLimit?: number };
  run: (payload: TPayload, params: TaskRunParams) => Promise<TOutput> | TOutput;
  onStart?: (payload: TPayload, params: TaskRunParams) => unknown;
  onSuccess?: (payload: TPayload, output: Awaited<TOutput>, params: TaskRunParams) => unknown;
  onFailure?: (payload: TPayload, error: unknown, params: TaskRunParams) => unknown;
}

const DEFINITION = Symbol.for("runcast.task.definition");

export interface DefinedTask<TId extends string, TPayload, TOutput> extends Task<TId, TPayload, Awaited<TOutput>> {
  readonly [DEFINITION]: TaskDefinition<TId, TPayload, TOutput>;
  /** Many runs of this task in one request, all or none. */
  batchTrigger(items: readonly BatchItem<TPayload>[], options?: BatchTriggerOptions): Promise<BatchHandle<TId>>;
  /** Inside another task: trigger this one and wait for its result (the caller is FROZEN meanwhile). */
  triggerAndWait(payload: TPayload, options?: TriggerOptions): Promise<TaskRunResult<TId, Awaited<TOutput>>>;
  /** Inside another task: a batch of this task, waiting for every run (the caller is FROZEN meanwhile). */
  batchTriggerAndWait(items: readonly BatchItem<TPayload>[], options?: BatchTriggerOptions): Promise<BatchResult<TId, Awaited<TOutput>>>;
}

/** Defines a task. Export it from a file in the tasks folder and a worker will run it. */
export function task<TId extends string, TPayload = void, TOutput = unknown>(
  definition: TaskDefinition<TId, TPayload, TOutput>,
): DefinedTask<TId, TPayload, TOutput> {
  return {
    id: definition.id,
    [DEFINITION]: definition,
    trigger(payload: TPayload, options?: TriggerOptions) {
      return triggerTask(definition.id, payload, options) as Promise<RunHandle<TId, TPayload, Awaited<TOutput>>>;
    },
    batchTrigger(items: readonly BatchItem<TPayload>[], options?: BatchTriggerOptions) {
      return batchTriggerTask(definition.id, items, options) as Promise<BatchHandle<TId>>;
    },
    triggerAndWait(payload: TPayload, options?: TriggerOptions) {
      return triggerAndWait<TId, Awaited<TOutput>>(definition.id, payload, options);
    },
    batchTriggerAndWait(items: readonly BatchItem<TPayload>[], options?: BatchTriggerOptions) {
      return batchTriggerAndWait<TId, Awaited<TOutput>>(
        items.map((i) => ({ task: definition.id, payload: i.payload, ...(i.options ? { options: i.options } : {}) })),
        options,
      );
    },
  };
}

/** The definition behind a task object, or undefined when `value` is not a task (used by workers). */
export function taskDefinition(value: unknown): TaskDefinition<string, unknown, unknown> | undefined {
  if (typeof value !== "object" || value === null || !(DEFINITION in value)) return undefined;
  return (value as { [DEFINITION]: TaskDefinition<string, unknown, unknown> })[DEFINITION];
}
