import { batchTriggerTask, type BatchHandle, type BatchItem, type BatchTriggerOptions } from "./batch.ts";
import type { ClientConfig } from "./config.ts";
import { triggerTask } from "./trigger.ts";
import { batchTriggerAndWait, triggerAndWait, type BatchResult, type TaskRunResult } from "./trigger-and-wait.ts";
import type { AnyTask, RunHandle, TaskIdentifier, TaskOutput, TaskPayload, TriggerOptions } from "./types.ts";

/** Trigger tasks by id from backend code: `tasks.trigger<typeof myTask>("my-task", payload)`. */
export const tasks = {
  trigger<T extends AnyTask>(
    id: TaskIdentifier<T>,
    payload: TaskPayload<T>,
    options?: TriggerOptions,
    /** Credentials for this call, e.g. `{ accessToken }` with a trigger token in a browser. */
    config?: ClientConfig,
  ): Promise<RunHandle<TaskIdentifier<T>, TaskPayload<T>, TaskOutput<T>>> {
    return triggerTask(id, payload, options, config) as Promise<RunHandle<TaskIdentifier<T>, TaskPayload<T>, TaskOutput<T>>>;
  },

  /** Many runs of one task in one request, all or none: `tasks.batchTrigger<typeof myTask>("my-task", [{ payload }])`. */
  batchTrigger<T extends AnyTask>(
    id: TaskIdentifier<T>,
    items: readonly BatchItem<TaskPayload<T>>[],
    options?: BatchTriggerOptions,
  ): Promise<BatchHandle<TaskIdentifier<T>>> {
    return batchTriggerTask(id, items, options) as Promise<BatchHandle<TaskIdentifier<T>>>;
  },
  /** Inside a task: trigger another by id and wait for its result (the caller is FROZEN meanwhile). */
  triggerAndWait<T extends AnyTask>(
    id: TaskIdentifier<T>,
    payload: TaskPayload<T>,
    options?: TriggerOptions,
  ): Promise<TaskRunResult<TaskIdentifier<T>, TaskOutput<T>>> {
    return triggerAndWait<TaskIdentifier<T>, TaskOutput<T>>(id, payload, options);
  },
  /** Inside a task: a batch of one task by id, waiting for every run (the caller is FROZEN meanwhile). */
  batchTriggerAndWait<T extends AnyTask>(
    id: TaskIdentifier<T>,
    items: readonly BatchItem<TaskPayload<T>>[],
    options?: BatchTriggerOptions,
  ): Promise<BatchResult<TaskIdentifier<T>, TaskOutput<T>>> {
    return batchTriggerAndWait<TaskIdentifier<T>, TaskOutput<T>>(
      items.map((i) => ({ task: id, payload: i.payload, ...(i.options ? { options: i.options } : {}) })),
      options,
    );
  },
};
