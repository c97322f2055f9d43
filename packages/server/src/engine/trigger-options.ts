import { RuncastError, badRequest } from "../errors.ts";
import { parseDuration, resolveTime } from "./duration.ts";

/** Task ids: letters, digits and `_ . : -`, up to 128 characters. */
export const TASK_ID = /^[A-Za-z0-9_.:-]{1,128}$/;

export function validateTaskId(id: unknown, field: string): string {
  if (typeof id !== "string" || !TASK_ID.test(id)) {
    if (typeof id === "string" && id.includes("\u0000")) throw badRequest("invalid_task_id", `${field} contains a NUL character`, field);
    throw badRequest("invalid_task_id", `${field} must be a task id: 1-128 letters, digits or _ . : - (got ${JSON.stringify(id)})`, field);
  }
  return id;
}

/**
 * Documented ranges of the numeric trigger options (README): past them a trigger is a 400 naming the option.
 * Durations are bounded so that every time Runcast computes stays a valid timestamp and every count fits
 * its column.
 */
export const LIMITS = {
  /** ttl, idempotencyKeyTTL and delay: at most a year ahead. */
  maxFutureMs: 366 * 86_400_000,
  /** maxDuration, in seconds: at most a year. */
  maxDurationSeconds: 366 * 86_400,
  maxAttempts: 100,
  priority: 1_000_000_000,
} as const;

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Text Runcast stores (ids, tags, keys, names): PostgreSQL text cannot hold NUL, and lone surrogates are not UTF-8. */
export function checkText(v: string, field: string): string {
  if (v.includes("\u0000")) throw badRequest("invalid_text", `${field} contains a NUL character, which cannot be stored`, field);
  if (LONE_SURROGATE.test(v)) throw badRequest("invalid_text", `${field} is not valid Unicode (it has a lone surrogate)`, field);
  return v;
}

export const MAX_TAGS = 10;
export const MAX_TAG_LENGTH = 128;
export const MAX_METADATA_BYTES = 256 * 1024;

/** Trigger options after validation: what the engine stores. */
export interface TriggerOptions {
  tags: string[];
  idempotencyKey?: string;
  idempotencyKeyExpiresAt?: Date;
  metadata?: Record<string, unknown>;
  delayUntil?: Date;
  ttl?: string;
  ttlMs?: number;
  maxAttempts?: number;
  maxDuration?: number;
  queue?: string;
  concurrencyKey?: string;
  priority: number;
  payloadType: string;
  isTest: boolean;
  /** Set by the SDK when a run triggers another (inside a task). */
  parentRunId?: string;
  /** The parent waits for this run (triggerAndWait). */
  resumeParentOnCompletion?: boolean;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

function boundedInt(v: unknown, field: string, max: number): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "number" || !Number.isInteger(v) || v <= 0 || v > max) {
    throw badRequest("invalid_option", `${field} must be an integer from 1 to ${max}, got ${JSON.stringify(v)}`, field);
  }
  return v;
}

function optionalString(v: unknown, field: string, max = 512): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "string" || v.length === 0 || v.length > max) {
    throw badRequest("invalid_option", `${field} must be a non-empty string of at most ${max} characters`, field);
  }
  return checkText(v, field);
}

/** A point in time from now at most LIMITS.maxFutureMs ahead. */
function futureTime(value: unknown, now: Date, field: string): Date {
  const at = resolveTime(value, now, field);
  // A duration too large for a date (99999999d, 1e300) is an invalid date: past the limit too.
  if (!Number.isFinite(at.getTime()) || at.getTime() - now.getTime() > LIMITS.maxFutureMs) {
    throw badRequest("invalid_duration", `${field} must be at most ${LIMITS.maxFutureMs / 86_400_000} days ahead`, field);
  }
  return at;
}

export function validateTags(v: unknown, field = "options.tags"): string[] {
  if (v === undefined || v === null) return [];
  const list = typeof v === "string" ? [v] : v;
  if (!Array.isArray(list)) throw badRequest("invalid_tags", `${field} must be a string or an array of strings`, field);
  const tags = [...new Set(list)];
  if (tags.length > MAX_TAGS) throw badRequest("too_many_tags", `a run can have at most ${MAX_TAGS} tags, got ${tags.length}`, field);
  for (const t of tags) {
    if (typeof t !== "string" || t.length === 0 || t.length > MAX_TAG_LENGTH) {
      throw badRequest("invalid_tags", `each tag must be a non-empty string of at most ${MAX_TAG_LENGTH} characters`, field);
    }
    checkText(t, field);
  }
  return tags as string[];
}

export function validateMetadata(v: unknown, field = "options.metadata"): Record<string, unknown> | undefined {
  if (v === undefined || v === null) return undefined;
  if (!isObject(v)) throw badRequest("invalid_metadata", `${field} must be a JSON object`, field);
  const size = Buffer.byteLength(JSON.stringify(v));
  if (size > MAX_METADATA_BYTES) {
    throw new RuncastError(413, "metadata_too_large", `metadata is ${size} bytes; the limit is ${MAX_METADATA_BYTES} bytes`, { field });
  }
  return v;
}

/** Validates the `options` object of a trigger request. Throws 400 errors naming the option. */
export function parseTriggerOptions(raw: unknown, now: Date): TriggerOptions {
  if (raw === undefined || raw === null) raw = {};
  if (!isObject(raw)) throw badRequest("invalid_options", "options must be a JSON object", "options");
  const o = raw;
  const out: TriggerOptions = {
    tags: validateTags(o.tags),
    priority: 0,
    payloadType: optionalString(o.payloadType, "options.payloadType", 100) ?? "application/json",
    isTest: o.test === true,
  };
  const idem = optionalString(o.idempotencyKey, "options.idempotencyKey");
  if (idem) {
    out.idempotencyKey = idem;
    if (o.idempotencyKeyTTL !== undefined) out.idempotencyKeyExpiresAt = futureTime(o.idempotencyKeyTTL, now, "options.idempotencyKeyTTL");
  }
  const metadata = validateMetadata(o.metadata);
  if (metadata) out.metadata = metadata;
  if (o.delay !== undefined && o.delay !== null) out.delayUntil = futureTime(o.delay, now, "options.delay");
  // Debouncing (collapsing triggers with one key into one delayed run) is not built: refused, never ignored.
  if (o.debounce !== undefined && o.debounce !== null) {
    throw badRequest("unsupported_option", "options.debounce is not supported by Runcast (use an idempotency key, or delay)", "options.debounce");
  }
  const ttl: unknown = o.ttl;
  // A ttl of 0 turns the ttl off (the official SDK documents it so).
  if (ttl !== undefined && ttl !== null && ttl !== 0 && ttl !== "0") {
    const ms = typeof ttl === "number" && ttl > 0 ? ttl * 1000 : typeof ttl === "string" ? parseDuration(ttl) : null;
    if (ms === null || ms <= 0 || !Number.isFinite(ms)) {
      throw badRequest("invalid_duration", `options.ttl must be a duration like "10m" or a number of seconds, got ${JSON.stringify(ttl)}`, "options.ttl");
    }
    if (ms > LIMITS.maxFutureMs) throw badRequest("invalid_duration", `options.ttl must be at most ${LIMITS.maxFutureMs / 86_400_000} days`, "options.ttl");
    out.ttl = typeof ttl === "number" ? `${ttl}s` : String(ttl);
    out.ttlMs = ms;
  }
  const maxAttempts = boundedInt(o.maxAttempts, "options.maxAttempts", LIMITS.maxAttempts);
  if (maxAttempts) out.maxAttempts = maxAttempts;
  const maxDuration = boundedInt(o.maxDuration, "options.maxDuration", LIMITS.maxDurationSeconds);
  if (maxDuration) out.maxDuration = maxDuration;
  if (o.queue !== undefined && o.queue !== null) {
    const name: unknown = isObject(o.queue) ? o.queue.name : o.queue;
    const q = optionalString(name, "options.queue.name", 128);
    if (q) out.queue = q;
  }
  const parent = optionalString(o.parentRunId, "options.parentRunId", 64);
  if (parent) out.parentRunId = parent;
  if (o.resumeParentOnCompletion === true) out.resumeParentOnCompletion = true;
  const ck = optionalString(o.concurrencyKey, "options.concurrencyKey", 256);
  if (ck) out.concurrencyKey = ck;
  if (o.priority !== undefined && o.priority !== null) {
    if (typeof o.priority !== "number" || !Number.isFinite(o.priority) || Math.abs(o.priority) > LIMITS.priority) {
      throw badRequest("invalid_option", `options.priority must be a number from -${LIMITS.priority} to ${LIMITS.priority}`, "options.priority");
    }
    out.priority = Math.round(o.priority);
  }
  return out;
}
