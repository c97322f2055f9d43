import { badRequest } from "../errors.ts";

/**
 * Run metadata operations (specs/trigger-wire.md §2.6): validation of a `PUT /api/v1/runs/:id/metadata`
 * body and the pure function that applies operations to a metadata object. No I/O here.
 *
 * Keys are plain top-level keys. A key starting with `$.` (a JSONHero path in Trigger.dev) is stored
 * as that literal key, not resolved as a path. Keys `__proto__`, `constructor` and `prototype` (or a
 * `$.` key with such a segment) are rejected.
 */
// The operation type is the SDK's public type: what SDK clients send is what the server applies.
import type { MetadataOperation } from "@runcast/sdk";
export type { MetadataOperation };

export type Metadata = Record<string, unknown>;

/** A validated update request: `metadata` (replace) first, then each operation list in order. */
export interface MetadataUpdate {
  metadata?: Metadata;
  operations: MetadataOperation[];
  parentOperations: MetadataOperation[];
  rootOperations: MetadataOperation[];
  /** The flush this update is (the SDK's id): an update whose id was applied already applies nothing. */
  batchId?: string;
  /** The attempt writing from inside the run: refused unless it is still the run's latest attempt. */
  attemptId?: string;
}

export const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(["__proto__", "constructor", "prototype"]);
/** Operations in one request, per list: bounds the work one request can ask for. */
export const MAX_OPERATIONS = 1_000;

type OperationType = MetadataOperation["type"];
const OP_TYPES: ReadonlySet<string> = new Set<OperationType>(["set", "delete", "append", "remove", "increment", "update"]);
const isOperationType = (v: unknown): v is OperationType => typeof v === "string" && OP_TYPES.has(v);

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** Why `key` cannot be a metadata key, or undefined when it can. */
export function keyProblem(key: unknown): string | undefined {
  if (typeof key !== "string" || key.length === 0) return "must be a non-empty string";
  const segments = key.startsWith("$.") ? key.slice(2).split(".") : [key];
  const bad = segments.find((s) => FORBIDDEN_KEYS.has(s));
  return bad === undefined ? undefined : `must not name ${JSON.stringify(bad)}`;
}

/** A whole metadata object (replace or "update") must not carry the forbidden keys at its top level either. */
function checkTopKeys(value: Record<string, unknown>, field: string): Record<string, unknown> {
  const bad = Object.keys(value).find((k) => FORBIDDEN_KEYS.has(k));
  if (bad !== undefined) throw badRequest("invalid_metadata_key", `${field} must not have a key named ${JSON.stringify(bad)}`, field);
  return value;
}

function parseOperation(raw: unknown, field: string): MetadataOperation {
  if (!isObject(raw)) throw badRequest("invalid_operation", `${field} must be an object like {"type":"set","key":"k","value":1}`, field);
  const type = raw.type;
  if (!isOperationType(type)) {
    throw badRequest("invalid_operation", `${field}.type must be one of ${[...OP_TYPES].join(", ")}, got ${JSON.stringify(type ?? null)}`, `${field}.type`);
  }
  if (type === "update") {
    if (!isObject(raw.value)) throw badRequest("invalid_operation", `${field}.value of an "update" must be a JSON object`, `${field}.value`);
    return { type, value: checkTopKeys(raw.value, `${field}.value`) };
  }
  const problem = keyProblem(raw.key);
  if (problem) throw badRequest("invalid_metadata_key", `${field}.key ${problem}`, `${field}.key`);
  const key = raw.key as string;
  if (type === "delete") return { type, key };
  if (type === "increment") {
    if (typeof raw.value !== "number" || !Number.isFinite(raw.value)) {
      throw badRequest("invalid_operation", `${field}.value of an "increment" must be a finite number`, `${field}.value`);
    }
    return { type, key, value: raw.value };
  }
  if (!("value" in raw)) throw badRequest("invalid_operation", `${field}.value is required for "${type}"`, `${field}.value`);
  return { type, key, value: raw.value };
}

export function parseOperations(raw: unknown, field: string): MetadataOperation[] {
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) throw badRequest("invalid_operations", `${field} must be an array of operations`, field);
  if (raw.length > MAX_OPERATIONS) throw badRequest("invalid_operations", `${field} has ${raw.length} operations; at most ${MAX_OPERATIONS} per request`, field);
  return raw.map((op, i) => parseOperation(op, `${field}[${i}]`));
}

/** Validates a metadata update body; 400 naming the field on bad input. */
export function parseMetadataUpdate(body: Record<string, unknown>): MetadataUpdate {
  const update: MetadataUpdate = {
    operations: parseOperations(body.operations, "operations"),
    parentOperations: parseOperations(body.parentOperations, "parentOperations"),
    rootOperations: parseOperations(body.rootOperations, "rootOperations"),
  };
  if (body.metadata !== undefined && body.metadata !== null) {
    if (!isObject(body.metadata)) throw badRequest("invalid_metadata", "metadata must be a JSON object", "metadata");
    update.metadata = checkTopKeys(body.metadata, "metadata");
  }
  if (body.batchId !== undefined && body.batchId !== null) {
    if (typeof body.batchId !== "string" || !/^[A-Za-z0-9_-]{8,100}$/.test(body.batchId)) {
      throw badRequest("invalid_batch_id", "batchId must be 8-100 letters, digits, _ or -", "batchId");
    }
    update.batchId = body.batchId;
  }
  if (body.attemptId !== undefined && body.attemptId !== null) {
    if (typeof body.attemptId !== "string" || body.attemptId.length > 100) throw badRequest("invalid_attempt_id", "attemptId must be a string", "attemptId");
    update.attemptId = body.attemptId;
  }
  const given = ["operations", "parentOperations", "rootOperations", "metadata"].some((k) => body[k] !== undefined && body[k] !== null);
  if (!given) throw badRequest("invalid_body", "the body needs operations, parentOperations, rootOperations or metadata", "operations");
  return update;
}

/** Structural equality of JSON values (object key order does not matter). */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    return a.every((v, i) => jsonEqual(v, b[i]));
  }
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  const rb = b as Record<string, unknown>;
  return ka.every((k) => Object.prototype.hasOwnProperty.call(rb, k) && jsonEqual((a as Record<string, unknown>)[k], rb[k]));
}

/**
 * Applies operations in order and returns the new object (the input is not modified):
 * - `append` creates an array, wraps an existing scalar into one, or pushes onto an array;
 * - `remove` filters an array by deep equality (a non-array value is left as it is);
 * - `increment` treats a missing or non-number value as 0;
 * - `update` replaces the whole object.
 */
export function applyOperations(metadata: Metadata, ops: readonly MetadataOperation[]): Metadata {
  let out: Metadata = { ...metadata };
  for (const op of ops) {
    switch (op.type) {
      case "update":
        out = { ...op.value };
        break;
      case "set":
        out[op.key] = op.value;
        break;
      case "delete":
        delete out[op.key];
        break;
      case "append": {
        const cur = out[op.key];
        out[op.key] = Array.isArray(cur) ? [...cur, op.value] : cur === undefined ? [op.value] : [cur, op.value];
        break;
      }
      case "remove": {
        const cur = out[op.key];
        if (Array.isArray(cur)) out[op.key] = cur.filter((v) => !jsonEqual(v, op.value));
        break;
      }
      case "increment": {
        const cur = out[op.key];
        out[op.key] = (typeof cur === "number" ? cur : 0) + op.value;
        break;
      }
    }
  }
  return out;
}
