import { isFinal, type RunStatus } from "../engine/run-state.ts";
import type { RunRow } from "../engine/runs.ts";
import { statusIn, type StatusVocabulary } from "./status-vocab.ts";

/**
 * A stored payload or output as the management API returns it (trigger-wire §2.3): JSON as it is, superjson as
 * its `json` part (not revived), text as text; a stored packet is not inline (its presigned URL is).
 */
function apiValue(stored: unknown, type: string | null | undefined): unknown {
  if (stored === null || stored === undefined) return undefined;
  if (!type || type === "application/json" || typeof stored !== "string") return stored;
  if (type === "application/store") return undefined;
  if (type === "application/super+json") {
    try {
      return (JSON.parse(stored) as { json?: unknown }).json;
    } catch {
      return stored;
    }
  }
  return stored;
}

const iso = (v: unknown): string | undefined => (v instanceof Date ? v.toISOString() : undefined);

/**
 * The run object of `GET /api/v3/runs/:id` and `runs.list` (the fields of the seed docs' run object plus helpers),
 * its status in the caller's vocabulary (trigger-wire §4.2).
 */
export function runJson(r: RunRow, vocabulary: StatusVocabulary = "runcast"): Record<string, unknown> {
  const status = r.status as RunStatus;
  const isCompleted = isFinal(status);
  const out: Record<string, unknown> = {
    id: r.id,
    status: statusIn(vocabulary, status),
    taskIdentifier: r.task_identifier,
    idempotencyKey: r.idempotency_key ?? undefined,
    isQueued: ["QUEUED", "WAITING_FOR_DEPLOY", "DELAYED"].includes(status),
    isExecuting: ["EXECUTING", "REATTEMPTING", "FROZEN"].includes(status),
    isWaiting: status === "FROZEN",
    isCompleted,
    isSuccess: status === "COMPLETED",
    isFailed: isCompleted && status !== "COMPLETED",
    isCancelled: status === "CANCELED",
    isTest: r.is_test,
    number: r.number,
    createdAt: iso(r.created_at),
    updatedAt: iso(r.updated_at),
    queuedAt: iso(r.queued_at),
    startedAt: iso(r.started_at),
    finishedAt: iso(r.finished_at),
    delayedUntil: iso(r.delayed_until),
    expiredAt: iso(r.expired_at),
    ttl: r.ttl ?? undefined,
    tags: [...((r.tags as string[] | null) ?? [])].sort((a, b) => a.localeCompare(b)),
    costInCents: r.cost_in_cents,
    baseCostInCents: r.base_cost_in_cents,
    durationMs: r.duration_ms,
    metadata: r.metadata ?? undefined,
    depth: r.depth,
    triggerFunction: r.trigger_function,
    batchId: r.batch_id ?? undefined,
    payload: apiValue(r.payload, r.payload_type as string | null),
    payloadType: r.payload_type,
    output: status === "COMPLETED" ? apiValue(r.output, r.output_type as string | null) : undefined,
    outputType: r.output_type,
    error: r.error ?? undefined,
    attemptCount: r.attempt_number,
    relatedRuns: {},
  };
  for (const k of Object.keys(out)) if (out[k] === undefined) delete out[k];
  return out;
}
