/**
 * Delivery: readers pull pre-encoded chunks from a shape's log by offset and write them to their own
 * sockets. Long-polls share one response body per (range, global LSN); SSE readers write the chunks' shared
 * SSE bytes and are cut off when they stop reading (sync/SPEC.md D1, B1). Nothing here runs inside ingestion:
 * the registry wakes readers after a batch of transactions was appended.
 */
import type { OutgoingHttpHeaders, ServerResponse } from "node:http";
import type { Chunk } from "../sync/log.ts";
import type { Shape } from "../sync/shape.ts";
import { CACHE, CONTROL_MUST_REFETCH, HEADER, cacheControl, upToDateMessage } from "./protocol.ts";

const OPEN = Buffer.from("[");
const COMMA = Buffer.from(",");
const CLOSE = Buffer.from("]");
const KEEP_ALIVE = Buffer.from(": keep-alive\n\n");
const MUST_REFETCH_EVENT = Buffer.from(`data: ${JSON.stringify({ headers: { control: "must-refetch" } })}\n\n`);
const REFETCH_BODY = Buffer.from(CONTROL_MUST_REFETCH);

/** Writes a complete response. */
export function send(res: ServerResponse, status: number, headers: OutgoingHttpHeaders, body: Buffer | readonly Buffer[]): void {
  if (res.destroyed || res.headersSent) return;
  const parts = Buffer.isBuffer(body) ? [body] : body;
  let length = 0;
  for (const p of parts) length += p.length;
  res.writeHead(status, { "content-type": "application/json; charset=utf-8", "content-length": length, ...headers });
  if (parts.length === 1) res.end(parts[0]);
  else {
    for (const p of parts) res.write(p);
    res.end();
  }
}

/** Writes a response whose headers are complete already (content type and length included). */
export function sendPrepared(res: ServerResponse, status: number, headers: OutgoingHttpHeaders, body: Buffer): void {
  if (res.destroyed || res.headersSent) return;
  res.writeHead(status, headers);
  res.end(body);
}

/** 409: the handle is unknown, retired or too far behind; the client starts over with `handle`. */
export function sendMustRefetch(res: ServerResponse, base: OutgoingHttpHeaders, handle: string): void {
  send(res, 409, { ...base, [HEADER.handle]: handle, "cache-control": cacheControl(base, CACHE.refetch) }, REFETCH_BODY);
}

/** `[` chunks… `,` tail `]` as pieces (the chunks' bytes are shared, not copied). */
export function bodyPieces(chunks: readonly Chunk[] | readonly Buffer[], tail: string | undefined): Buffer[] {
  const out: Buffer[] = [OPEN];
  let first = true;
  for (const c of chunks) {
    const json = Buffer.isBuffer(c) ? c : c.json;
    if (json.length === 0) continue;
    if (!first) out.push(COMMA);
    out.push(json);
    first = false;
  }
  if (tail !== undefined) {
    if (!first) out.push(COMMA);
    out.push(Buffer.from(tail));
  }
  out.push(CLOSE);
  return out;
}

export interface SseOptions {
  /** How long a stream stays open (jittered down by up to a quarter, so streams do not all close at once). */
  openMs: number;
  keepAliveMs: number;
  /** A reader whose socket has not drained for this long while it has data waiting is cut off. */
  stallMs: number;
  /** …and so is one stalled for a second with more than this many bytes waiting for it in the log. */
  maxUnsentBytes: number;
  /** The registry's global LSN, for up-to-date messages. */
  globalLsn(): bigint;
}

/**
 * One SSE reader. It writes the shared SSE bytes of each chunk after its position while its socket accepts
 * them, waits for `drain` otherwise, and is cut off (the client resumes later from its offset) when it stops
 * reading: unsent bytes past the bound, a stall past `stallMs`, or a position that fell out of the log.
 */
export class SseReader {
  #position: bigint;
  readonly #text: string;
  readonly #shape: Shape;
  readonly #res: ServerResponse;
  readonly #opts: SseOptions;
  #closed = false;
  #stalledSince = 0;
  readonly #timers: NodeJS.Timeout[] = [];
  #unwait: () => void = () => {};
  readonly #onDone: () => void;

  constructor(shape: Shape, res: ServerResponse, position: bigint, text: string, opts: SseOptions, onDone: () => void) {
    this.#shape = shape;
    this.#res = res;
    this.#position = position;
    this.#text = text;
    this.#opts = opts;
    this.#onDone = onDone;
  }

  start(headers: OutgoingHttpHeaders): void {
    const res = this.#res;
    res.writeHead(200, {
      ...headers,
      "content-type": "text/event-stream",
      "cache-control": cacheControl(headers, CACHE.sse),
      connection: "keep-alive",
      // A reverse proxy (nginx) passes events on as they are written instead of buffering the stream.
      "x-accel-buffering": "no",
      [HEADER.offset]: this.#text,
    });
    res.on("close", () => this.close());
    res.on("drain", () => {
      this.#stalledSince = 0;
      this.pump();
    });
    this.#unwait = this.#shape.wait(() => this.pump());
    const open = this.#opts.openMs * (0.75 + Math.random() * 0.25);
    this.#timers.push(setTimeout(() => this.#end(), open));
    this.#timers.push(setInterval(() => this.#tick(), this.#opts.keepAliveMs));
    if (!this.pump()) res.write(`data: ${upToDateMessage(this.#opts.globalLsn())}\n\n`);
  }

  /** Sends what is past the reader's position while the socket takes it; true when something was sent. */
  pump(): boolean {
    if (this.#closed) return false;
    const shape = this.#shape;
    if (shape.state === "invalid" || shape.log.isBehind(this.#position)) {
      this.#refetch();
      return false;
    }
    const res = this.#res;
    if (res.writableNeedDrain) {
      this.#checkStall();
      return false;
    }
    let sent = false;
    for (;;) {
      const read = shape.log.readAfter(this.#position, this.#text, 256 * 1024);
      if (!read.chunks.length) break;
      let ok = true;
      for (const c of read.chunks) ok = res.write(c.sse) && ok;
      this.#position = read.lsn;
      sent = true;
      if (read.upToDate) {
        res.write(`data: ${upToDateMessage(this.#opts.globalLsn())}\n\n`);
        break;
      }
      if (!ok) {
        this.#stalledSince ||= Date.now();
        break;
      }
    }
    return sent;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const t of this.#timers) clearTimeout(t);
    this.#unwait();
    this.#onDone();
  }

  #tick(): void {
    if (this.#closed) return;
    if (this.#res.writableNeedDrain) this.#checkStall();
    else this.#res.write(KEEP_ALIVE);
  }

  #checkStall(): void {
    const now = Date.now();
    this.#stalledSince ||= now;
    const stalled = now - this.#stalledSince;
    // What waits for it in the log (the bytes already in its socket are shared chunks: a reader flushing one
    // big transaction is not cut for it). A healthy socket drains within milliseconds, so a second of stall
    // with a backlog past the bound means the reader stopped reading.
    const backlog = this.#shape.log.bytesAfter(this.#position);
    if (stalled > this.#opts.stallMs || (backlog > this.#opts.maxUnsentBytes && stalled > 1000)) this.#cut();
  }

  /** The shape was invalidated or the reader fell out of the log: tell it to start over, then close. */
  #refetch(): void {
    if (!this.#res.writableNeedDrain) {
      this.#res.end(MUST_REFETCH_EVENT);
      this.close();
    } else this.#cut();
  }

  #end(): void {
    if (this.#closed) return;
    this.#res.end();
    this.close();
  }

  /** A reader that stopped reading: drop the connection and what is queued for it. */
  #cut(): void {
    this.#res.destroy();
    this.close();
  }
}
