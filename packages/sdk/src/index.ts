export { configure, type ClientConfig } from "./config.ts";
export { RuncastApiError, RuncastRateLimitError } from "./errors.ts";
export { FINAL_STATUSES, RUN_STATUSES } from "./types.ts";
export { V2_STATUS, WIRE_STATUS, statusFromWire, type V2Status, type WireStatus } from "./wire-status.ts";
export { task, type TaskDefinition, type DefinedTask } from "./task.ts";
export { tasks } from "./tasks.ts";
export {
  batch,
  type BatchByIdItem,
  type BatchHandle,
  type BatchItem,
  type BatchRun,
  type BatchStatus,
  type BatchTriggerOptions,
  type RetrievedBatch,
} from "./batch.ts";
export type { ListRunsQuery, RunListItem, RunListPage, RunListResult } from "./runs-list.ts";
export { queue, type QueueOptions } from "./queue.ts";
export { wait, type WaitDuration } from "./wait.ts";
export { ChildRunError, type BatchResult, type TaskRunResult } from "./trigger-and-wait.ts";
export { runs, type RealtimeRunSkipColumn, type RunSubscription, type SubscribeOptions, type TagSubscribeOptions } from "./runs.ts";
export { metadata, type MetadataOperation, type MetadataUpdateBody, type MetadataUpdater, type RunMetadataApi } from "./metadata.ts";
export { tags } from "./tags.ts";
export { auth, flattenScopes, type PublicTokenOptions, type PublicTokenScopes } from "./auth.ts";
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
