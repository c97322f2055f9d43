/**
 * A shape's log: one immutable, pre-encoded chunk per committed transaction that changed the shape, in
 * commit order, under a byte budget. Readers (long-poll and SSE) pull chunks by offset and write the same
 * bytes to their sockets; nothing is encoded per reader (SPEC.md D1, L1–L3).
 */
import { Fifo } from "./fifo.ts";

/**
 * The messages one transaction produced for one shape, encoded once. The JSON bytes are made at once; the
 * SSE bytes (`data: <message>\n\n` each) on first use, from the same bytes, and then kept: a shape nobody
 * reads over SSE never pays for them.
 */
export class Chunk {
  /** Commit LSN of the transaction. */
  readonly lsn: bigint;
  /** Offset of the chunk's last message: what a reader that has it continues from. */
  readonly offset: string;
  /** The messages as JSON, separated by commas, without brackets. */
  readonly json: Buffer;
  /** Where each message ends in `json`. */
  readonly #ends: readonly number[];
  #sse: Buffer | undefined;

  constructor(lsn: bigint, offset: string, messages: readonly string[]) {
    this.lsn = lsn;
    this.offset = offset;
    this.json = ownBytes(messages.join(","));
    const ends: number[] = [];
    let at = 0;
    for (const m of messages) {
      at += Buffer.byteLength(m);
      ends.push(at);
      at += 1; // the comma
    }
    this.#ends = ends;
  }

  /** The messages as SSE events. */
  get sse(): Buffer {
    if (!this.#sse) {
      const sse = Buffer.allocUnsafeSlow(this.sseLength);
      let at = 0;
      let start = 0;
      for (const end of this.#ends) {
        at += DATA.copy(sse, at);
        at += this.json.copy(sse, at, start, end);
        at += EVENT_END.copy(sse, at);
        start = end + 1;
      }
      this.#sse = sse;
    }
    return this.#sse;
  }

  /** Length of the SSE form (made or not). */
  get sseLength(): number {
    const n = this.#ends.length;
    return this.json.length - (n - 1) + n * (DATA.length + EVENT_END.length);
  }

  /** What the chunk counts against the budgets: its JSON, its SSE form (made or not) and its own objects. */
  get bytes(): number {
    return this.json.length + this.sseLength + CHUNK_OVERHEAD;
  }
}

const DATA = Buffer.from("data: ");
const EVENT_END = Buffer.from("\n\n");
/** The chunk object, its offset string, its message ends and its two buffers' own objects, roughly. */
const CHUNK_OVERHEAD = 256;

/**
 * A string's UTF-8 bytes in memory of their own. A small `Buffer.from()` is a slice of a shared 8 KiB pool
 * slab, and a chunk kept for minutes would keep its whole slab alive: 8 KiB held for a 200-byte change.
 */
export function ownBytes(s: string): Buffer {
  const bytes = Buffer.allocUnsafeSlow(Buffer.byteLength(s));
  bytes.write(s);
  return bytes;
}

/**
 * The byte budget every shape log of a node shares (SPEC.md L2): when their chunks together pass it, the
 * oldest chunks of the node go first, whichever shape they belong to, so the memory the logs hold is bounded
 * however many shapes there are. As with each log's own budget, the newest chunk of a log is never dropped.
 */
export class LogMemory {
  readonly budget: number;
  #bytes = 0;
  #chunks = 0;
  /** Every chunk added, oldest first; chunks dropped meanwhile are skipped when met (and swept now and then). */
  readonly #queue = new Fifo<{ log: ShapeLog; chunk: Chunk }>();

  constructor(budgetBytes: number) {
    this.budget = budgetBytes;
  }

  /** Bytes the logs hold now. */
  get bytes(): number {
    return this.#bytes;
  }

  added(log: ShapeLog, chunk: Chunk): void {
    this.#bytes += chunk.bytes;
    this.#chunks++;
    this.#queue.push({ log, chunk });
    if (this.#bytes > this.budget) this.#reclaim();
    else if (this.#queue.length > 2 * this.#chunks + 1024) this.#queue.reset(this.#queue.toArray().filter((e) => e.log.holds(e.chunk)));
  }

  dropped(chunk: Chunk): void {
    this.#bytes -= chunk.bytes;
    this.#chunks--;
  }

  #reclaim(): void {
    for (let n = this.#queue.length; n > 0 && this.#bytes > this.budget; n--) {
      const entry = this.#queue.shift() as { log: ShapeLog; chunk: Chunk };
      if (!entry.log.holds(entry.chunk)) continue;
      // The newest chunk of its log stays: it goes round again, to be dropped once a newer one came.
      if (!entry.log.dropThrough(entry.chunk)) this.#queue.push(entry);
    }
  }
}

/** Where a read stopped: the chunks to send, and the offset and LSN the reader holds after them. */
export interface LogRead {
  chunks: Chunk[];
  /** Offset of the last chunk returned (the reader's own when none). */
  offset: string;
  lsn: bigint;
  /** True when the read reached the newest chunk. */
  upToDate: boolean;
}

/**
 * Chunks in commit order under a byte budget, and under the node's shared one (`LogMemory`). The oldest
 * chunks go first; the newest chunk is never dropped, however big (L2). `trimmedLsn` is the LSN of the newest
 * dropped chunk: a reader whose position is below it missed changes and must start over (409 /
 * must-refetch), never read past a gap.
 */
export class ShapeLog {
  readonly #budget: number;
  #memory: LogMemory | undefined;
  readonly #chunks = new Fifo<Chunk>();
  #bytes = 0;
  #trimmedLsn = 0n;

  constructor(budgetBytes: number, memory?: LogMemory) {
    this.#budget = budgetBytes;
    this.#memory = memory;
  }

  get trimmedLsn(): bigint {
    return this.#trimmedLsn;
  }

  get bytes(): number {
    return this.#bytes;
  }

  get length(): number {
    return this.#chunks.length;
  }

  /** The newest chunk, if any. */
  get last(): Chunk | undefined {
    return this.#chunks.last;
  }

  get lastLsn(): bigint {
    return this.last?.lsn ?? this.#trimmedLsn;
  }

  append(chunk: Chunk): void {
    const last = this.last;
    if (last && chunk.lsn <= last.lsn) throw new Error(`log append out of order: ${chunk.lsn} after ${last.lsn}`);
    this.#chunks.push(chunk);
    this.#bytes += chunk.bytes;
    this.#trim();
    this.#memory?.added(this, chunk);
  }

  /**
   * Replaces every chunk up to `upTo` with `chunks` (the shape's changes after `from`, up to `upTo`, in
   * order), so that a reader holding everything up to `from` can read on from here (sync/SPEC.md H3).
   */
  replaceUpTo(upTo: bigint, from: bigint, chunks: readonly Chunk[]): void {
    const old = this.#chunks.toArray();
    const kept = old.filter((c) => c.lsn > upTo);
    for (const c of old) if (c.lsn <= upTo) this.#memory?.dropped(c);
    const now = [...chunks, ...kept];
    this.#chunks.reset(now);
    this.#bytes = now.reduce((n, c) => n + c.bytes, 0);
    this.#trimmedLsn = from;
    for (const c of chunks) this.#memory?.added(this, c);
    this.#trim();
  }

  /** True when a reader holding everything up to `lsn` has missed dropped chunks. */
  isBehind(lsn: bigint): boolean {
    return lsn < this.#trimmedLsn;
  }

  /** True while `chunk` is in this log. */
  holds(chunk: Chunk): boolean {
    const i = this.#firstAfter(chunk.lsn - 1n);
    return i < this.#chunks.length && this.#chunks.at(i) === chunk;
  }

  /** Drops every chunk up to and including `chunk` (the node's budget); false, dropping nothing, when it is the newest. */
  dropThrough(chunk: Chunk): boolean {
    if (chunk === this.last) return false;
    for (let first = this.#chunks.first; first && first.lsn <= chunk.lsn; first = this.#chunks.first) this.#dropOldest();
    return true;
  }

  /** The shape is gone: its chunks no longer count against the node's budget. */
  release(): void {
    for (const c of this.#chunks.toArray()) this.#memory?.dropped(c);
    this.#memory = undefined;
  }

  /**
   * Chunks after `lsn`, whole transactions only, until `maxBytes` (of JSON) is reached; at least one chunk
   * when there is any, so a transaction bigger than the limit still goes out whole.
   */
  readAfter(lsn: bigint, fallbackOffset: string, maxBytes = Infinity): LogRead {
    const end = this.#chunks.length;
    let i = this.#firstAfter(lsn);
    if (i >= end) return { chunks: [], offset: fallbackOffset, lsn, upToDate: true };
    const chunks: Chunk[] = [];
    let bytes = 0;
    while (i < end && (chunks.length === 0 || bytes < maxBytes)) {
      const c = this.#chunks.at(i++);
      chunks.push(c);
      bytes += c.json.length;
    }
    const last = chunks[chunks.length - 1] as Chunk;
    return { chunks, offset: last.offset, lsn: last.lsn, upToDate: i >= end };
  }

  /** SSE bytes after `lsn`: what an SSE reader at that position has yet to be sent. */
  bytesAfter(lsn: bigint): number {
    let n = 0;
    for (let i = this.#chunks.length - 1; i >= 0; i--) {
      const c = this.#chunks.at(i);
      if (c.lsn <= lsn) break;
      n += c.sseLength;
    }
    return n;
  }

  #firstAfter(lsn: bigint): number {
    return this.#chunks.firstWhere((c) => c.lsn > lsn);
  }

  #trim(): void {
    while (this.#bytes > this.#budget && this.#chunks.length > 1) this.#dropOldest();
  }

  #dropOldest(): void {
    const dropped = this.#chunks.shift() as Chunk;
    this.#bytes -= dropped.bytes;
    this.#trimmedLsn = dropped.lsn;
    this.#memory?.dropped(dropped);
  }
}
