import type { OutgoingHttpHeaders, ServerResponse } from "node:http";
import { RESPONSE_ALREADY_SENT } from "@hono/node-server/utils/response";
import { badRequest } from "../errors.ts";
import { formatOffset, parseOffset } from "../sync/offset.ts";
import type { Shape } from "../sync/shape.ts";
import type { ShapeDefinition, ShapeRegistry } from "../sync/shapes.ts";
import type { Chunk } from "../sync/log.ts";
import { longPollDeadlines } from "./deadlines.ts";
import { bodyPieces, send, sendMustRefetch, sendPrepared, SseReader, type SseOptions } from "./delivery.ts";
import type { SubscriptionLimiter } from "./limits.ts";
import { CACHE, HEADER, PARAM, cacheControl, nextCursor, upToDateMessage } from "./protocol.ts";

export interface ShapeQuery {
  offset: string | undefined;
  handle: string | undefined;
  live: boolean;
  cursor: string | undefined;
  sse: boolean;
}

/** Handles this server hands out (sync/shapes.ts newHandle); anything else is not worth a lookup. */
const HANDLE = /^[0-9a-f]{8}-[0-9a-z]{1,40}$/;
const SUBSET = "subset__";

/** Parses the protocol parameters. Refuses NUL bytes anywhere and subset snapshots (not supported) with a 400. */
export function parseShapeQuery(params: URLSearchParams): ShapeQuery {
  for (const [k, v] of params) {
    if (k.includes("\u0000") || v.includes("\u0000")) throw badRequest("invalid_parameter", `the ${JSON.stringify(k.replaceAll("\u0000", "\\0"))} parameter contains a NUL byte`, k.replaceAll("\u0000", ""));
    if (k.startsWith(SUBSET)) {
      throw badRequest("subset_not_supported", `subset snapshots (${k}) are not supported by this server; request the whole shape`, k);
    }
  }
  const live = params.has(PARAM.live) && params.get(PARAM.live) !== "false";
  const sseParam = params.get(PARAM.liveSse) ?? params.get(PARAM.experimentalLiveSse);
  const handle = params.get(PARAM.handle) || undefined;
  if (handle !== undefined && !HANDLE.test(handle)) {
    throw badRequest("invalid_handle", `handle ${JSON.stringify(handle.slice(0, 100))} is not a shape handle this server issued`, PARAM.handle);
  }
  return {
    offset: params.get(PARAM.offset) ?? undefined,
    handle,
    live,
    cursor: params.get(PARAM.cursor) ?? undefined,
    sse: live && sseParam === "true",
  };
}

export interface ServeContext {
  registry: ShapeRegistry;
  limiter: SubscriptionLimiter;
  envId: string;
  /** The public token holding the request (its hash), for its share of the subscription limit. */
  token?: string;
  longPollMs: number;
  /** Largest non-live response body (more → the client asks again from the offset it got). */
  maxResponseBytes: number;
  sse: Omit<SseOptions, "globalLsn">;
  /** The raw response: shape responses are written directly, sharing pre-encoded bytes. */
  res: ServerResponse;
  /** Headers every response carries (CORS, Vary). */
  headers: OutgoingHttpHeaders;
  /** Called with the shape before anything is sent (a front door's authorisation on the shape's rows). */
  authorize?(shape: Shape): void;
  /** Told when a live request starts being held (for the node's metrics); the returned function is called when it ends. */
  held?(transport: "long_poll" | "sse"): () => void;
}

/** A live request's subscription slot (RUNCAST_MAX_SUBSCRIPTIONS) and its place in the metrics; the release is idempotent. */
function holdSlot(ctx: ServeContext, sse: boolean): () => void {
  const free = ctx.limiter.acquire(ctx.envId, ctx.token);
  const unheld = ctx.held?.(sse ? "sse" : "long_poll");
  let released = false;
  return () => {
    if (released) return;
    released = true;
    free();
    unheld?.();
  };
}

/**
 * Serves one request of the shape protocol: snapshot (offset=-1), catch-up, live long-poll held until a
 * change commits, or SSE. Both the Electric front door (/v1/shape) and the realtime routes end here. Errors
 * before anything is written are thrown (the app turns them into JSON errors); the rest is written directly.
 */
export async function serveShape(def: ShapeDefinition, q: ShapeQuery, ctx: ServeContext): Promise<Response> {
  if (q.offset === undefined) throw badRequest("missing_offset", "the offset parameter is required (-1 to start)", PARAM.offset);
  const offset = parseOffset(q.offset);
  if (!offset) throw badRequest("invalid_offset", `offset ${JSON.stringify(q.offset.slice(0, 100))} is not -1, now or an offset returned earlier`, PARAM.offset);
  if (q.live && offset.kind !== "at") throw badRequest("invalid_live", "live=true needs an offset returned earlier, not -1 or now", PARAM.live);
  if (offset.kind === "at" && !q.handle) throw badRequest("missing_handle", "the handle parameter is required with an offset other than -1 or now", PARAM.handle);

  const release = q.live ? holdSlot(ctx, q.sse) : undefined;
  // A held request keeps its subscription slot until it is answered; every other path gives it back here.
  let handedOff = false;
  try {
    const shape = await ctx.registry.resolve(def);
    ctx.authorize?.(shape);
    shape.lastReadAt = Date.now();
    const { res, registry } = ctx;
    const base = ctx.headers;
    if (offset.kind !== "at") {
      const handle = shape.handle;
      const pieces = offset.kind === "start" && shape.spec.log === "full" ? shape.materialize() : [];
      const at = shape.position(registry.lastLsn);
      send(
        res,
        200,
        {
          ...base,
          [HEADER.handle]: handle,
          [HEADER.offset]: at,
          [HEADER.schema]: shape.schemaHeader,
          [HEADER.upToDate]: "",
          [HEADER.hasData]: String(pieces.length > 0),
          "cache-control": cacheControl(base, CACHE.nonLive),
          etag: `"${handle}:${q.offset}:${at}"`,
        },
        bodyPieces(pieces, upToDateMessage(shape.positionLsn(registry.lastLsn))),
      );
      return RESPONSE_ALREADY_SENT;
    }
    const handle = q.handle as string;
    // A handle this node did not issue: another node's reader of the same definition carries on here if the
    // shape can serve everything after its offset (H3); otherwise it starts over.
    if (!shape.answersTo(handle) && !(await registry.adopt(shape, handle, offset.lsn))) {
      sendMustRefetch(res, base, shape.handle);
      return RESPONSE_ALREADY_SENT;
    }
    if (shape.log.isBehind(offset.lsn)) {
      sendMustRefetch(res, base, registry.startOver(shape, handle));
      return RESPONSE_ALREADY_SENT;
    }
    const headers = { ...base, [HEADER.handle]: handle };
    if (!q.live) {
      const read = shape.log.readAfter(offset.lsn, offset.text, ctx.maxResponseBytes);
      send(
        res,
        200,
        {
          ...headers,
          [HEADER.offset]: read.offset,
          [HEADER.schema]: shape.schemaHeader,
          ...(read.upToDate ? { [HEADER.upToDate]: "" } : {}),
          [HEADER.hasData]: String(read.chunks.length > 0),
          "cache-control": cacheControl(base, CACHE.nonLive),
          etag: `"${handle}:${q.offset}:${read.offset}"`,
        },
        bodyPieces(read.chunks, read.upToDate ? upToDateMessage(shape.positionLsn(registry.lastLsn)) : undefined),
      );
      return RESPONSE_ALREADY_SENT;
    }
    const cursor = nextCursor(q.cursor, Math.max(1, Math.round(ctx.longPollMs / 1000)));
    const liveHeaders = { ...headers, [HEADER.cursor]: cursor };
    if (q.sse) {
      const reader = new SseReader(shape, res, offset.lsn, offset.text, { ...ctx.sse, globalLsn: () => shape.positionLsn(registry.lastLsn) }, () => release?.());
      handedOff = true;
      reader.start(liveHeaders);
      return RESPONSE_ALREADY_SENT;
    }
    handedOff = true;
    holdLongPoll(shape, def, offset.lsn, offset.text, liveHeaders, ctx, () => release?.());
    return RESPONSE_ALREADY_SENT;
  } finally {
    if (!handedOff) release?.();
  }
}

/**
 * Holds a live long-poll until the shape has something after `lsn` (answered at once if it already has),
 * the shape is invalidated or the reader falls out of the log (409), the hold times out (up-to-date, no
 * changes), or the client leaves. Costs one waiter and one deadline entry; no promise chain, no timer of its
 * own. Readers woken by the same change with the same request share one response (headers and body).
 */
function holdLongPoll(shape: Shape, def: ShapeDefinition, lsn: bigint, text: string, headers: OutgoingHttpHeaders, ctx: ServeContext, release: () => void): void {
  const { res, registry } = ctx;
  let done = false;
  const finish = (): void => {
    done = true;
    cancelDeadline();
    unwait();
    release();
  };
  const answer = (timedOut: boolean) => {
    if (done) return;
    if (shape.state === "invalid") {
      finish();
      sendMustRefetch(res, ctx.headers, registry.currentHandle(def));
      return;
    }
    if (shape.log.isBehind(lsn)) {
      finish();
      sendMustRefetch(res, ctx.headers, registry.startOver(shape, headers[HEADER.handle] as string));
      return;
    }
    const cached = sharedResponses.get(shape);
    if (cached && cached.fromLsn === lsn && cached.text === text && cached.last === shape.log.last && cached.globalLsn === shape.positionLsn(registry.lastLsn) && cached.handle === headers[HEADER.handle] && cached.cursor === headers[HEADER.cursor] && cached.origin === headers["access-control-allow-origin"]) {
      // Woken by the same change as the reader before it, from the same position: the same response.
      finish();
      sendPrepared(res, 200, cached.headers, cached.body);
      return;
    }
    const read = shape.log.readAfter(lsn, text);
    if (!read.chunks.length && !timedOut) return;
    finish();
    if (!read.chunks.length) {
      // Nothing changed for the shape: the reader's state now holds every transaction this node applied (O3).
      const at = shape.positionLsn(registry.lastLsn);
      const offset = at > lsn ? formatOffset(at, 0) : read.offset;
      send(
        res,
        200,
        { ...headers, [HEADER.offset]: offset, [HEADER.upToDate]: "", [HEADER.hasData]: "false", "cache-control": cacheControl(headers, CACHE.live), etag: `"${headers[HEADER.handle] as string}:${text}:${offset}:${Date.now()}"` },
        Buffer.from(`[${upToDateMessage(at)}]`),
      );
      return;
    }
    const shared = sharedLiveResponse(shape, headers, read.chunks, lsn, text, shape.positionLsn(registry.lastLsn));
    sendPrepared(res, 200, shared.headers, shared.body);
  };
  // ±15 % jitter so thousands of held requests do not all come back in the same millisecond.
  const cancelDeadline = longPollDeadlines.add(Date.now() + ctx.longPollMs * (0.85 + Math.random() * 0.3), () => answer(true));
  const unwait = shape.wait(() => answer(false));
  // A node shutting down destroys every connection (node.ts): the close event ends held requests too.
  res.once("close", () => {
    if (!done) finish();
  });
  answer(false);
}

interface SharedResponse {
  fromLsn: bigint;
  text: string;
  last: Chunk;
  globalLsn: bigint;
  handle: unknown;
  cursor: unknown;
  origin: unknown;
  headers: OutgoingHttpHeaders;
  body: Buffer;
}

/**
 * One response per (shape, reader position, request headers, global LSN), shared by every long-poll woken by
 * the same change: the first reader builds it, the others write the same header object and bytes.
 */
const sharedResponses = new WeakMap<Shape, SharedResponse>();

function sharedLiveResponse(shape: Shape, base: OutgoingHttpHeaders, chunks: readonly Chunk[], fromLsn: bigint, text: string, globalLsn: bigint): SharedResponse {
  const last = chunks[chunks.length - 1] as Chunk;
  const handle = base[HEADER.handle];
  const cursor = base[HEADER.cursor];
  const origin = base["access-control-allow-origin"];
  const c = sharedResponses.get(shape);
  if (c && c.last === last && c.fromLsn === fromLsn && c.text === text && c.globalLsn === globalLsn && c.handle === handle && c.cursor === cursor && c.origin === origin) return c;
  const body = c && c.last === last && c.fromLsn === fromLsn && c.globalLsn === globalLsn ? c.body : Buffer.concat(bodyPieces(chunks, upToDateMessage(globalLsn)));
  const entry: SharedResponse = {
    fromLsn,
    text,
    last,
    globalLsn,
    handle,
    cursor,
    origin,
    headers: {
      "content-type": "application/json; charset=utf-8",
      "content-length": body.length,
      ...base,
      [HEADER.offset]: last.offset,
      [HEADER.upToDate]: "",
      [HEADER.hasData]: "true",
      "cache-control": cacheControl(base, CACHE.live),
      etag: `"${handle as string}:${text}:${last.offset}"`,
    },
    body,
  };
  sharedResponses.set(shape, entry);
  return entry;
}
