import { badRequest } from "../errors.ts";
import { parseOffset } from "../sync/offset.ts";
import type { Shape } from "../sync/shape.ts";
import type { ShapeDefinition, ShapeRegistry } from "../sync/shapes.ts";
import type { SubscriptionLimiter } from "./limits.ts";
import { CACHE, CONTROL_MUST_REFETCH, HEADER, PARAM, nextCursor, upToDateMessage } from "./protocol.ts";

export interface ShapeQuery {
  offset: string | undefined;
  handle: string | undefined;
  live: boolean;
  cursor: string | undefined;
  sse: boolean;
}

export function parseShapeQuery(params: URLSearchParams): ShapeQuery {
  const live = params.has(PARAM.live) && params.get(PARAM.live) !== "false";
  const sseParam = params.get(PARAM.liveSse) ?? params.get(PARAM.experimentalLiveSse);
  return {
    offset: params.get(PARAM.offset) ?? undefined,
    handle: params.get(PARAM.handle) || undefined,
    live,
    cursor: params.get(PARAM.cursor) ?? undefined,
    sse: live && sseParam === "true",
  };
}

export interface ServeContext {
  registry: ShapeRegistry;
  limiter: SubscriptionLimiter;
  envId: string;
  longPollMs: number;
  /** Aborts when the client goes away. */
  signal: AbortSignal;
}

/** How long an SSE response stays open, and the keep-alive comment period (Electric: 60 s / 21 s). */
const SSE_OPEN_MS = 60_000;
const SSE_KEEPALIVE_MS = 21_000;

function jsonBody(messages: readonly string[], tail?: string): string {
  if (tail === undefined) return `[${messages.join(",")}]`;
  return messages.length ? `[${messages.join(",")},${tail}]` : `[${tail}]`;
}

function respond(status: number, body: string, headers: Record<string, string>): Response {
  return new Response(body, { status, headers: { "content-type": "application/json; charset=utf-8", ...headers } });
}

/** 409: the handle is unknown, rotated or too far behind; the client starts over with the new handle. */
function mustRefetch(handle: string): Response {
  return respond(409, CONTROL_MUST_REFETCH, { [HEADER.handle]: handle, "cache-control": CACHE.refetch });
}

/**
 * Serves one request of the shape protocol: snapshot (offset=-1), catch-up, live long-poll held until a
 * change commits, or SSE. Both the Electric front door (/v1/shape) and the Trigger.dev-style realtime
 * routes end here.
 */
export async function serveShape(def: ShapeDefinition, q: ShapeQuery, ctx: ServeContext): Promise<Response> {
  if (q.offset === undefined) throw badRequest("missing_offset", "the offset parameter is required (-1 to start)", PARAM.offset);
  const offset = parseOffset(q.offset);
  if (!offset) throw badRequest("invalid_offset", `offset ${JSON.stringify(q.offset)} is not -1, now or an offset returned earlier`, PARAM.offset);
  if (q.live && offset.kind !== "at") throw badRequest("invalid_live", "live=true needs an offset returned earlier, not -1 or now", PARAM.live);
  if (offset.kind === "at" && !q.handle) throw badRequest("missing_handle", "the handle parameter is required with an offset other than -1 or now", PARAM.handle);

  const release = q.live ? ctx.limiter.acquire(ctx.envId) : undefined;
  // An SSE response keeps its subscription slot until the stream closes; every other path gives it back here.
  let handedOff = false;
  try {
    const shape = await ctx.registry.resolve(def);
    shape.lastReadAt = Date.now();
    // A reader that started over under an alias keeps it; everyone else gets the shape's own handle.
    const handle = shape.answersTo(q.handle) ? (q.handle as string) : shape.handle;
    const base = { [HEADER.handle]: handle };
    if (offset.kind !== "at") {
      const messages = offset.kind === "start" && shape.spec.log === "full" ? shape.materialize() : [];
      const at = shape.lastOffset;
      return respond(200, jsonBody(messages, upToDateMessage(ctx.registry.lastLsn)), {
        ...base,
        [HEADER.offset]: at,
        [HEADER.schema]: shape.schemaHeader,
        [HEADER.upToDate]: "",
        [HEADER.hasData]: String(messages.length > 0),
        "cache-control": CACHE.nonLive,
        etag: `"${handle}:${q.offset}:${at}"`,
      });
    }
    if (!shape.answersTo(q.handle)) return mustRefetch(shape.handle);
    if (shape.isBehindLog(offset.lsn)) return mustRefetch(ctx.registry.alias(shape));

    const read = shape.readAfter(offset.lsn, offset.text);
    if (!q.live) {
      return respond(200, jsonBody(read.messages, read.upToDate ? upToDateMessage(ctx.registry.lastLsn) : undefined), {
        ...base,
        [HEADER.offset]: read.offset,
        [HEADER.schema]: shape.schemaHeader,
        ...(read.upToDate ? { [HEADER.upToDate]: "" } : {}),
        [HEADER.hasData]: String(read.messages.length > 0),
        "cache-control": CACHE.nonLive,
        etag: `"${handle}:${q.offset}:${read.offset}"`,
      });
    }
    const cursor = nextCursor(q.cursor, Math.max(1, Math.round(ctx.longPollMs / 1000)));
    if (q.sse) {
      handedOff = true;
      return streamSse(shape, handle, offset.lsn, offset.text, cursor, ctx, () => release?.());
    }
    const result = read.messages.length ? read : await waitForChange(shape, offset.lsn, offset.text, ctx);
    if (result === "invalid") return mustRefetch((await ctx.registry.resolve(def)).handle);
    return respond(200, jsonBody(result.messages, upToDateMessage(ctx.registry.lastLsn)), {
      ...base,
      [HEADER.offset]: result.offset,
      [HEADER.cursor]: cursor,
      [HEADER.upToDate]: "",
      [HEADER.hasData]: String(result.messages.length > 0),
      "cache-control": CACHE.live,
      etag: `"${handle}:${q.offset}:${result.offset}${result.messages.length ? "" : `:${Date.now()}`}"`,
    });
  } finally {
    if (!handedOff) release?.();
  }
}

/** Holds a live request until the shape changes after `lsn`, the long-poll times out, or the client leaves. */
async function waitForChange(shape: Shape, lsn: bigint, text: string, ctx: ServeContext) {
  // ±15 % jitter so thousands of held requests do not all come back in the same millisecond.
  const deadline = Date.now() + ctx.longPollMs * (0.85 + Math.random() * 0.3);
  for (;;) {
    if (shape.state === "invalid") return "invalid" as const;
    const read = shape.readAfter(lsn, text);
    const left = deadline - Date.now();
    if (read.messages.length || left <= 0 || ctx.signal.aborted) return read;
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        off();
        ctx.signal.removeEventListener("abort", done);
        resolve();
      };
      const timer = setTimeout(done, left);
      const off = shape.listen(done);
      ctx.signal.addEventListener("abort", done, { once: true });
    });
  }
}

function streamSse(shape: Shape, handle: string, lsn: bigint, text: string, cursor: string, ctx: ServeContext, release: () => void): Response {
  const encoder = new TextEncoder();
  let position = lsn;
  let cleanup = () => {};
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      let closed = false;
      const close = () => {
        if (closed) return;
        closed = true;
        cleanup();
        release();
        try {
          controller.close();
        } catch {
          // Already closed by the runtime when the client left.
        }
      };
      /** Sends what is past the client's position; false when there was nothing. */
      const flush = (): boolean => {
        if (closed) return false;
        if (shape.state === "invalid") {
          close();
          return false;
        }
        const read = shape.readAfter(position, text);
        if (!read.messages.length) return false;
        position = read.lsn;
        let chunk = "";
        for (const m of read.messages) chunk += `data: ${m}\n\n`;
        if (read.upToDate) chunk += `data: ${upToDateMessage(ctx.registry.lastLsn)}\n\n`;
        controller.enqueue(encoder.encode(chunk));
        if (!read.upToDate) queueMicrotask(flush);
        return true;
      };
      const off = shape.listen(() => void flush());
      const keepAlive = setInterval(() => !closed && controller.enqueue(encoder.encode(": keep-alive\n\n")), SSE_KEEPALIVE_MS);
      const endTimer = setTimeout(close, SSE_OPEN_MS);
      ctx.signal.addEventListener("abort", close, { once: true });
      cleanup = () => {
        off();
        clearInterval(keepAlive);
        clearTimeout(endTimer);
        ctx.signal.removeEventListener("abort", close);
      };
      // Whatever is already past the client's offset goes first; otherwise tell it it is up to date.
      if (!flush() && !closed) controller.enqueue(encoder.encode(`data: ${upToDateMessage(ctx.registry.lastLsn)}\n\n`));
    },
    cancel() {
      cleanup();
      release();
    },
  });
  return new Response(body, {
    status: 200,
    headers: {
      "content-type": "text/event-stream",
      "cache-control": CACHE.sse,
      connection: "keep-alive",
      [HEADER.handle]: handle,
      [HEADER.offset]: text,
      [HEADER.cursor]: cursor,
    },
  });
}
