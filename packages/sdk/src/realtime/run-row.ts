import { parsePacket } from "../io.ts";
import { FINAL_STATUSES, type RealtimeRun, type RunError, type RunStatus } from "../types.ts";
import { statusFromWire } from "../wire-status.ts";

const date = (v: unknown): Date | undefined => (typeof v === "string" ? new Date(`${v.replace(" ", "T")}Z`) : undefined);
const str = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined);
const num = (v: unknown): number => (typeof v === "number" ? v : 0);

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

/** Trigger.dev's `TaskRunError` (a BUILT_IN, STRING, CUSTOM or INTERNAL error) as a run's error. */
function parseWireError(v: unknown): RunError | undefined {
  if (typeof v !== "object" || v === null) return undefined;
  const e = v as Record<string, unknown>;
  if (e.type === "STRING_ERROR" || e.type === "CUSTOM_ERROR") return { message: String(e.raw ?? "") };
  if (e.type === "INTERNAL_ERROR") return { message: `internal error (${String(e.code ?? "unknown")})` };
  const out: RunError = { message: typeof e.message === "string" ? e.message : String(e.message ?? "") };
  if (typeof e.name === "string") out.name = e.name;
  if (typeof e.stackTrace === "string" && e.stackTrace) out.stackTrace = e.stackTrace;
  return out;
}

/** A value that may arrive as a packet's text (payload, output, metadata): decoded by its type. */
function packet(data: unknown, type: unknown): unknown {
  if (typeof data !== "string") return undefined;
  try {
    return parsePacket(data, typeof type === "string" ? type : undefined);
  } catch {
    return data;
  }
}

/**
 * A realtime run object from a decoded row of the realtime wire (Trigger.dev's `TaskRun` columns, specs/
 * trigger-wire.md §4.1), statuses mapped to Runcast's 14.
 */
export function runFromRow(row: Record<string, unknown>): RealtimeRun {
  const status = statusFromWire(str(row.status) ?? "");
  const metadata = row.metadataType ? packet(row.metadata, row.metadataType) : undefined;
  return {
    id: String(row.friendlyId ?? row.id),
    taskIdentifier: String(row.taskIdentifier),
    status,
    payload: row.payloadType ? packet(row.payload, row.payloadType) : undefined,
    output: status === "COMPLETED" && row.outputType ? packet(row.output, row.outputType) : undefined,
    createdAt: date(row.createdAt) ?? new Date(0),
    updatedAt: date(row.updatedAt) ?? new Date(0),
    queuedAt: date(row.queuedAt),
    startedAt: date(row.startedAt),
    finishedAt: date(row.completedAt),
    delayedUntil: date(row.delayUntil),
    expiredAt: date(row.expiredAt),
    number: num(row.number),
    durationMs: num(row.usageDurationMs),
    costInCents: num(row.costInCents),
    baseCostInCents: num(row.baseCostInCents),
    tags: Array.isArray(row.runTags) ? (row.runTags as string[]) : [],
    idempotencyKey: undefined,
    ttl: str(row.ttl),
    metadata: typeof metadata === "object" && metadata !== null ? (metadata as Record<string, unknown>) : undefined,
    error: parseWireError(row.error),
    isTest: row.isTest === true,
    attemptNumber: num(row.attemptNumber),
    batchId: str(row.batchId),
    ...statusFlags(status),
  };
}
