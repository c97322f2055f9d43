export { configure, type ClientConfig } from "./config.ts";
export { RuncastApiError, RuncastRateLimitError } from "./errors.ts";
export { task, type TaskDefinition, type DefinedTask } from "./task.ts";
export { tasks } from "./tasks.ts";
export { runs, type RunSubscription, type SubscribeOptions } from "./runs.ts";
export type {
  AnyTask,
  RealtimeRun,
  RetrievedRun,
  RetryOptions,
  RunError,
  RunHandle,
  RunStatus,
  Task,
  TaskContext,
  TaskIdentifier,
  TaskOutput,
  TaskPayload,
  TaskRunParams,
  TriggerOptions,
} from "./types.ts";
