import { RuncastApiError } from "../errors.ts";
import { backoffDelay, sleep } from "../http.ts";
import { parseValue, type ColumnType } from "./pg-values.ts";

/** A change to one row, with values decoded by the shape's schema. */
export interface ChangeMessage {
  key: string;
  operation: "insert" | "update" | "delete";
  value: Record<string, unknown>;
}

export type ShapeEvent = { type: "change"; change: ChangeMessage } | { type: "up-to-date" } | { type: "must-refetch" };

export interface ShapeStreamOptions {
  /** Shape URL with its own query (table, where… or a realtime route). */
  url: string;
  token: string | undefined;
  signal: AbortSignal;
  /** Consecutive failed requests (network, 429, 5xx) tolerated before giving up. */
  maxFailures?: number;
}

/** Bound of the reconnect loop: with the backoff below this is several minutes of retrying. */
export const MAX_CONSECUTIVE_FAILURES = 30;
/** Consecutive 429s (a limit reached) retried before the subscription throws RuncastRateLimitError (about 3 s of backoff). */
export const MAX_RATE_LIMITED = 5;
const MIN_BACKOFF_MS = 100;
const MAX_BACKOFF_MS = 10_000;

interface RawMessage {
  key?: string;
  value?: Record<string, string | null>;
  headers: { operation?: "insert" | "update" | "delete"; control?: string };
}

/**
 * Reads a shape with the Electric protocol (snapshot, then live long-polls) and yields every change in
 * order, one by one, plus up-to-date and must-refetch markers. Ends when `signal` aborts; throws on
 * non-retryable errors (4xx other than 409/429).
 */
export async function* shapeEvents(opts: ShapeStreamOptions): AsyncGenerator<ShapeEvent> {
  let offset = "-1";
  let handle: string | undefined;
  let cursor: string | undefined;
  let live = false;
  let schema: Record<string, ColumnType> | undefined;
  let failures = 0;
  let rateLimited = 0;
  const maxFailures = opts.maxFailures ?? MAX_CONSECUTIVE_FAILURES;
  while (!opts.signal.aborted) {
    const url = new URL(opts.url);
    url.searchParams.set("offset", offset);
    if (handle) url.searchParams.set("handle", handle);
    if (live) {
      url.searchParams.set("live", "true");
      if (cursor) url.searchParams.set("cursor", cursor);
    }
    let res: Response;
    try {
      res = await fetch(url, {
        headers: { accept: "application/json", ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}) },
        signal: opts.signal,
      });
    } catch (err) {
      if (opts.signal.aborted) return;
      if (++failures > maxFailures) throw err;
      await sleep(backoffDelay(failures, MIN_BACKOFF_MS, MAX_BACKOFF_MS), opts.signal);
      continue;
    }
    if (res.status === 409) {
      await res.body?.cancel();
      handle = res.headers.get("electric-handle") ?? undefined;
      offset = "-1";
      live = false;
      cursor = undefined;
      schema = undefined;
      yield { type: "must-refetch" };
      continue;
    }
    if (res.status === 429 || res.status >= 500) {
      // A subscription limit is surfaced soon (RuncastRateLimitError, naming the limit) rather than retried for minutes.
      rateLimited = res.status === 429 ? rateLimited + 1 : 0;
      if (++failures > maxFailures || rateLimited > MAX_RATE_LIMITED) throw await RuncastApiError.fromResponse(res);
      await res.body?.cancel();
      await sleep(backoffDelay(failures, MIN_BACKOFF_MS, MAX_BACKOFF_MS), opts.signal);
      continue;
    }
    if (!res.ok) throw await RuncastApiError.fromResponse(res);
    failures = 0;
    rateLimited = 0;
    handle = res.headers.get("electric-handle") ?? handle;
    offset = res.headers.get("electric-offset") ?? offset;
    cursor = res.headers.get("electric-cursor") ?? cursor;
    const schemaHeader = res.headers.get("electric-schema");
    if (!schema && schemaHeader) schema = JSON.parse(schemaHeader) as Record<string, ColumnType>;
    const messages = (await res.json()) as RawMessage[];
    for (const m of messages) {
      if (m.headers.control === "up-to-date") {
        live = true;
        yield { type: "up-to-date" };
      } else if (m.headers.control === "must-refetch") {
        yield { type: "must-refetch" };
      } else if (m.key !== undefined && m.headers.operation) {
        const value: Record<string, unknown> = {};
        for (const [k, v] of Object.entries(m.value ?? {})) value[k] = parseValue(schema?.[k], v);
        yield { type: "change", change: { key: m.key, operation: m.headers.operation, value } };
      }
    }
  }
}
