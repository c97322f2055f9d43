/** The 14 run statuses (the seed docs' RunStatus), in lifecycle order. */
export const RUN_STATUSES = [
  "WAITING_FOR_DEPLOY",
  "DELAYED",
  "QUEUED",
  "EXECUTING",
  "REATTEMPTING",
  "FROZEN",
  "COMPLETED",
  "CANCELED",
  "FAILED",
  "CRASHED",
  "INTERRUPTED",
  "SYSTEM_FAILURE",
  "EXPIRED",
  "TIMED_OUT",
] as const;

export type RunStatus = (typeof RUN_STATUSES)[number];

/** Statuses a run never leaves. */
export const FINAL_STATUSES: readonly RunStatus[] = RUN_STATUSES.slice(RUN_STATUSES.indexOf("COMPLETED"));

export interface RetryOptions {
  maxAttempts?: number;
  factor?: number;
  minTimeoutInMs?: number;
  maxTimeoutInMs?: number;
  randomize?: boolean;
}

export interface RunError {
  name?: string;
  message: string;
  stackTrace?: string;
}

/** What a running task can read about itself. */
export interface TaskContext {
  run: { id: string; tags: string[]; isTest: boolean; createdAt: Date; batchId?: string; parentRunId?: string };
  attempt: { number: number; id: string };
  task: { id: string };
}

export interface TaskRunParams {
  ctx: TaskContext;
  /** Fires when the run is canceled, times out, or the worker shuts down. */
  signal: AbortSignal;
}

declare const taskTypes: unique symbol;

/** A task definition, as returned by `task()`. The phantom field carries its types for inference. */
export interface Task<TId extends string = string, TPayload = unknown, TOutput = unknown> {
  readonly id: TId;
  readonly [taskTypes]?: { payload: TPayload; output: TOutput };
  trigger(payload: TPayload, options?: TriggerOptions): Promise<RunHandle<TId, TPayload, TOutput>>;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyTask = Task<string, any, any>;
export type TaskIdentifier<T> = T extends { readonly id: infer I extends string } ? I : string;
export type TaskPayload<T> = T extends { readonly [taskTypes]?: { payload: infer P; output: unknown } } ? P : unknown;
export type TaskOutput<T> = T extends { readonly [taskTypes]?: { payload: unknown; output: infer O } } ? Awaited<O> : unknown;

export interface TriggerOptions {
  tags?: string | string[];
  idempotencyKey?: string;
  /** How long the idempotency key holds ("1h", "30m"). */
  idempotencyKeyTTL?: string;
  metadata?: Record<string, unknown>;
  /** Start later: "30s", "5m", a Date or an ISO string. */
  delay?: string | Date;
  /** Expire if not started within this long ("10m" or seconds). */
  ttl?: string | number;
  maxAttempts?: number;
  /** Seconds of execution before the attempt is aborted (TIMED_OUT). */
  maxDuration?: number;
  queue?: string | { name: string };
  concurrencyKey?: string;
  priority?: number;
}

/** What a trigger returns: the run id and a public token that can read only this run. */
export interface RunHandle<TId extends string = string, TPayload = unknown, TOutput = unknown> {
  id: string;
  isCached: boolean;
  publicAccessToken: string;
  /** Type-only: lets `runs.subscribeToRun(handle.id)` know the task. */
  readonly __task?: Task<TId, TPayload, TOutput>;
}

interface RunFields<TId extends string, TPayload, TOutput> {
  id: string;
  taskIdentifier: TId;
  status: RunStatus;
  payload: TPayload;
  output: TOutput | undefined;
  createdAt: Date;
  updatedAt: Date;
  queuedAt: Date | undefined;
  startedAt: Date | undefined;
  finishedAt: Date | undefined;
  delayedUntil: Date | undefined;
  expiredAt: Date | undefined;
  number: number;
  durationMs: number;
  costInCents: number;
  baseCostInCents: number;
  tags: string[];
  idempotencyKey: string | undefined;
  ttl: string | undefined;
  metadata: Record<string, unknown> | undefined;
  error: RunError | undefined;
  isTest: boolean;
  attemptNumber: number;
  batchId: string | undefined;
  isQueued: boolean;
  isExecuting: boolean;
  isWaiting: boolean;
  isCompleted: boolean;
  isSuccess: boolean;
  isFailed: boolean;
  isCancelled: boolean;
}

/**
 * A run as realtime subscribers see it. For a union of tasks it is a union discriminated by
 * `taskIdentifier`, each member with its own payload and output types.
 */
export type RealtimeRun<T = AnyTask> = T extends AnyTask
  ? RunFields<TaskIdentifier<T>, TaskPayload<T>, TaskOutput<T>>
  : RunFields<string, unknown, unknown>;

/** A run as `runs.retrieve` returns it. */
export type RetrievedRun<T = AnyTask> = RealtimeRun<T>;
