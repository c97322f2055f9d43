import { WIRE_STATUS, type RunStatus } from "@runcast/sdk";
import { badRequest } from "../errors.ts";
import type { Row } from "../sync/changes.ts";
import type { ProjectedColumn, Projection } from "../sync/projection.ts";

/**
 * The one realtime wire format of runs: Trigger.dev's `TaskRun` columns, values and statuses, as its official
 * clients parse them (specs/trigger-wire.md §3.3, §3.6, §4.1). It is a projection of Runcast's `runs` table,
 * applied once per encoded chunk (never per reader); `@runcast/sdk` reads the same wire.
 */
const text = { type: "text" } as const;
const timestamp = { type: "timestamp" } as const;

/** `2025-01-01 10:00:00.123` → `2025-01-01T10:00:00.123`: no zone (the clients append `Z`). */
const ts = (v: string | null | undefined) => (v ? v.replace(" ", "T") : null);

/** A payload or output as the wire's text: JSON as it is; other types (superjson, text, a stored packet) keep their text in a JSON string. */
function ioText(json: string | null | undefined, type: string | null | undefined): string | null {
  if (json === null || json === undefined) return null;
  if (!type || type === "application/json") return json;
  try {
    const v: unknown = JSON.parse(json);
    return typeof v === "string" ? v : json;
  } catch {
    return json;
  }
}

/** Runcast's stored error `{ name, message, stack }` as the clients' `TaskRunError` (a BUILT_IN_ERROR), JSON text. */
function wireError(json: string | null | undefined): string | null {
  if (!json) return null;
  let e: Record<string, unknown> = {};
  try {
    const v: unknown = JSON.parse(json);
    if (typeof v === "object" && v !== null) e = v as Record<string, unknown>;
    else if (typeof v === "string") return JSON.stringify({ type: "STRING_ERROR", raw: v });
  } catch {
    return JSON.stringify({ type: "STRING_ERROR", raw: json });
  }
  return JSON.stringify({
    type: "BUILT_IN_ERROR",
    name: typeof e.name === "string" ? e.name : "Error",
    message: typeof e.message === "string" ? e.message : String(e.message ?? ""),
    stackTrace: typeof e.stack === "string" ? e.stack : "",
  });
}

const col = (name: string, schema: Record<string, unknown>, sources: string[], value: (r: Row) => string | null, key = false): ProjectedColumn => ({
  name,
  schema,
  sources,
  value,
  ...(key ? { key } : {}),
});
const same = (name: string, schema: Record<string, unknown>, source: string) => col(name, schema, [source], (r) => r[source] ?? null);
const at = (name: string, source: string) => col(name, timestamp, [source], (r) => ts(r[source]));

/** Trigger.dev's 26 columns, in its order (`DEFAULT_ELECTRIC_COLUMNS`), then Runcast's own. */
const WIRE_COLUMNS: readonly ProjectedColumn[] = [
  col("id", text, ["id"], (r) => r.id ?? null, true),
  same("taskIdentifier", text, "task_identifier"),
  at("createdAt", "created_at"),
  at("updatedAt", "updated_at"),
  at("startedAt", "started_at"),
  at("delayUntil", "delayed_until"),
  at("queuedAt", "queued_at"),
  at("expiredAt", "expired_at"),
  at("completedAt", "finished_at"),
  same("friendlyId", text, "id"),
  same("number", { type: "int4" }, "number"),
  same("isTest", { type: "bool" }, "is_test"),
  col("status", text, ["status"], (r) => WIRE_STATUS[r.status as RunStatus] ?? r.status ?? null),
  same("usageDurationMs", { type: "int4" }, "duration_ms"),
  same("costInCents", { type: "float8" }, "cost_in_cents"),
  same("baseCostInCents", { type: "float8" }, "base_cost_in_cents"),
  same("ttl", text, "ttl"),
  col("payload", text, ["payload", "payload_type"], (r) => ioText(r.payload, r.payload_type)),
  same("payloadType", text, "payload_type"),
  same("metadata", text, "metadata"),
  col("metadataType", text, [], () => "application/json"),
  col("output", text, ["output", "output_type"], (r) => ioText(r.output, r.output_type)),
  same("outputType", text, "output_type"),
  same("runTags", { type: "text", dims: 1 }, "tags"),
  col("error", { type: "jsonb" }, ["error"], (r) => wireError(r.error)),
  col("realtimeStreams", { type: "text", dims: 1 }, [], () => "{}"),
  // Runcast's additions (the official clients ignore columns their schema does not name): a run's batch (it
  // also decides who may read the run) and its attempt.
  same("batchId", text, "batch_id"),
  same("attemptNumber", { type: "int4" }, "attempt_number"),
];

export const WIRE_COLUMN_NAMES: readonly string[] = WIRE_COLUMNS.map((c) => c.name);

/** Never removed by skipColumns: what identifies a run and orders its states (the clients require them). */
export const UNSKIPPABLE: ReadonlySet<string> = new Set(["id", "taskIdentifier", "friendlyId", "status", "createdAt", "updatedAt", "batchId"]);

/**
 * The columns to leave out, from a token's `realtime.skipColumns` (which wins, as on Trigger.dev) or the
 * `skipColumns` query parameter (comma-separated). Reserved names are kept; an unknown name is a 400.
 */
export function parseSkipColumns(fromToken: readonly string[] | undefined, fromQuery: string | undefined): string[] {
  const raw = fromToken ?? (fromQuery ?? "").split(",");
  const names = [...new Set(raw.map((s) => (typeof s === "string" ? s.trim() : "")).filter(Boolean))];
  const unknown = names.filter((n) => !WIRE_COLUMN_NAMES.includes(n));
  if (unknown.length) {
    throw badRequest("invalid_skip_columns", `skipColumns names no column of a realtime run: ${unknown.join(", ")} (columns: ${WIRE_COLUMN_NAMES.join(", ")})`, "skipColumns");
  }
  return names.filter((n) => !UNSKIPPABLE.has(n)).sort();
}

/** The wire projection without the skipped columns; its id makes each skip set its own shape. */
export function runWireProjection(skip: readonly string[] = []): { id: string; build(): Projection } {
  const skipped = new Set(skip);
  const projection: Projection = { id: `trigger-wire:v1:${[...skipped].sort().join(",")}`, columns: WIRE_COLUMNS.filter((c) => !skipped.has(c.name)) };
  return { id: projection.id, build: () => projection };
}
