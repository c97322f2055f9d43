/** Every name of the Electric shape protocol, in one place (specs/electric-shape-protocol.md). */
export const HEADER = {
  handle: "electric-handle",
  offset: "electric-offset",
  schema: "electric-schema",
  cursor: "electric-cursor",
  upToDate: "electric-up-to-date",
  hasData: "electric-has-data",
} as const;

export const PARAM = {
  table: "table",
  where: "where",
  columns: "columns",
  replica: "replica",
  log: "log",
  offset: "offset",
  handle: "handle",
  live: "live",
  cursor: "cursor",
  liveSse: "live_sse",
  experimentalLiveSse: "experimental_live_sse",
} as const;

/** Headers browsers must be allowed to read (CORS `Access-Control-Expose-Headers`). */
export const EXPOSED_HEADERS = [
  HEADER.handle,
  HEADER.offset,
  HEADER.schema,
  HEADER.cursor,
  HEADER.upToDate,
  HEADER.hasData,
  "retry-after",
  "x-trigger-jwt",
  "x-trigger-jwt-claims",
];

export const CONTROL_MUST_REFETCH = JSON.stringify([{ headers: { control: "must-refetch" } }]);

export function upToDateMessage(globalLsn: bigint): string {
  return JSON.stringify({ headers: { control: "up-to-date", global_last_seen_lsn: globalLsn.toString() } });
}

export const CACHE = {
  /**
   * Every shape answer depends on the caller's key or token, so only the caller's own cache may keep it
   * (`private`): a shared cache or CDN in front of Runcast never serves one caller's rows to another.
   * Snapshot and catch-up reads: the browser may reuse them briefly; the live request that follows catches up.
   */
  nonLive: "private, max-age=60, stale-while-revalidate=300",
  live: "private, max-age=5, stale-while-revalidate=5",
  sse: "private, max-age=59",
  refetch: "private, max-age=60, must-revalidate",
  error: "no-store",
} as const;

/**
 * The cache-control of a response: `fallback`, unless the front door set its own in the base headers (the
 * realtime run routes answer `no-store`: their responses depend on the caller's token, trigger-wire §3.6).
 */
export function cacheControl(base: Readonly<Record<string, unknown>>, fallback: string): string {
  const own = base["cache-control"];
  return typeof own === "string" ? own : fallback;
}

/** Long-poll windows start here (seconds), as Electric's cursor does, so concurrent polls share URLs. */
const CURSOR_EPOCH_MS = Date.UTC(2024, 9, 9);

/**
 * The next `electric-cursor`: the end of the current long-poll window, always past the client's. A client
 * already at that window moves to the next window boundary after its cursor (Electric adds a random
 * amount instead): deterministic, so clients that were in step stay in step, their URLs stay identical for
 * a CDN to collapse, and the readers woken by one change share one prepared response.
 */
export function nextCursor(previous: string | undefined, windowSeconds: number, now = Date.now()): string {
  const elapsed = Math.ceil((now - CURSOR_EPOCH_MS) / 1000);
  const next = Math.ceil(elapsed / windowSeconds) * windowSeconds;
  const prev = previous && /^\d{1,15}$/.test(previous) ? Number(previous) : -1;
  return String(next <= prev ? (Math.floor(prev / windowSeconds) + 1) * windowSeconds : next);
}
