import { FINAL_STATUSES, type RealtimeRun, type RunError, type RunStatus } from "../types.ts";

const date = (v: unknown): Date | undefined => (typeof v === "string" ? new Date(`${v.replace(" ", "T")}Z`) : undefined);
const str = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined);
const num = (v: unknown): number => (typeof v === "number" ? v : 0);

function parseError(v: unknown): RunError | undefined {
  if (typeof v !== "object" || v === null) return undefined;
  const e = v as Record<string, unknown>;
  const out: RunError = { message: typeof e.message === "string" ? e.message : String(e.message ?? "") };
  if (typeof e.name === "string") out.name = e.name;
  if (typeof e.stack === "string") out.stackTrace = e.stack;
  return out;
}

/** Status helpers, as Trigger.dev's realtime run objects define them. */
export function statusFlags(status: RunStatus) {
  const isSuccess = status === "COMPLETED";
  const isCancelled = status === "CANCELED";
  const isFailed = FINAL_STATUSES.includes(status) && !isSuccess && !isCancelled;
  return {
    isQueued: status === "QUEUED" || status === "WAITING_FOR_DEPLOY" || status === "DELAYED",
    isExecuting: status === "EXECUTING" || status === "REATTEMPTING",
    isWaiting: status === "FROZEN",
    isCompleted: isSuccess || isFailed,
    isSuccess,
    isFailed,
    isCancelled,
  };
}

/** A realtime run object from a decoded `runs` row (column names as in the database). */
export function runFromRow(row: Record<string, unknown>): RealtimeRun {
  const status = (str(row.status) ?? "QUEUED") as RunStatus;
  return {
    id: String(row.id),
    taskIdentifier: String(row.task_identifier),
    status,
    payload: row.payload,
    output: status === "COMPLETED" ? row.output : undefined,
    createdAt: date(row.created_at) ?? new Date(0),
    updatedAt: date(row.updated_at) ?? new Date(0),
    queuedAt: date(row.queued_at),
    startedAt: date(row.started_at),
    finishedAt: date(row.finished_at),
    delayedUntil: date(row.delayed_until),
    expiredAt: date(row.expired_at),
    number: num(row.number),
    durationMs: num(row.duration_ms),
    costInCents: num(row.cost_in_cents),
    baseCostInCents: num(row.base_cost_in_cents),
    tags: Array.isArray(row.tags) ? (row.tags as string[]) : [],
    idempotencyKey: str(row.idempotency_key),
    ttl: str(row.ttl),
    metadata: typeof row.metadata === "object" && row.metadata !== null ? (row.metadata as Record<string, unknown>) : undefined,
    error: parseError(row.error),
    isTest: row.is_test === true,
    attemptNumber: num(row.attempt_number),
    batchId: str(row.batch_id),
    ...statusFlags(status),
  };
}
