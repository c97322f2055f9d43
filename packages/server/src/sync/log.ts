/**
 * A shape's log: one immutable, pre-encoded chunk per committed transaction that changed the shape, in
 * commit order, under a byte budget. Readers (long-poll and SSE) pull chunks by offset and write the same
 * bytes to their sockets; nothing is encoded per reader (SPEC.md D1, L1–L3).
 */

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
    this.json = Buffer.from(messages.join(","));
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
      const parts: Buffer[] = [];
      let start = 0;
      for (const end of this.#ends) {
        parts.push(DATA, this.json.subarray(start, end), EVENT_END);
        start = end + 1;
      }
      this.#sse = Buffer.concat(parts);
    }
    return this.#sse;
  }

  /** What the chunk counts against a log's budget: its JSON and its SSE form (made or not). */
  get bytes(): number {
    const n = this.#ends.length;
    return this.json.length * 2 - (n - 1) + n * (DATA.length + EVENT_END.length);
  }
}

const DATA = Buffer.from("data: ");
const EVENT_END = Buffer.from("\n\n");

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
 * Chunks in commit order under a byte budget. The oldest chunks go first; the newest chunk is never
 * dropped, however big (L2). `trimmedLsn` is the LSN of the newest dropped chunk: a reader whose position is
 * below it missed changes and must start over (409 / must-refetch), never read past a gap.
 */
export class ShapeLog {
  readonly #budget: number;
  #chunks: Chunk[] = [];
  /** Index of the first live chunk in #chunks (dropped ones are compacted away in batches). */
  #head = 0;
  #bytes = 0;
  #trimmedLsn = 0n;

  constructor(budgetBytes: number) {
    this.#budget = budgetBytes;
  }

  get trimmedLsn(): bigint {
    return this.#trimmedLsn;
  }

  get bytes(): number {
    return this.#bytes;
  }

  get length(): number {
    return this.#chunks.length - this.#head;
  }

  /** The newest chunk, if any. */
  get last(): Chunk | undefined {
    return this.#chunks.length > this.#head ? this.#chunks[this.#chunks.length - 1] : undefined;
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
  }

  /**
   * Replaces every chunk up to `upTo` with `chunks` (the shape's changes after `from`, up to `upTo`, in
   * order), so that a reader holding everything up to `from` can read on from here (sync/SPEC.md H3).
   */
  replaceUpTo(upTo: bigint, from: bigint, chunks: readonly Chunk[]): void {
    const kept = this.#chunks.slice(this.#head).filter((c) => c.lsn > upTo);
    this.#chunks = [...chunks, ...kept];
    this.#head = 0;
    this.#bytes = this.#chunks.reduce((n, c) => n + c.bytes, 0);
    this.#trimmedLsn = from;
    this.#trim();
  }

  /** True when a reader holding everything up to `lsn` has missed dropped chunks. */
  isBehind(lsn: bigint): boolean {
    return lsn < this.#trimmedLsn;
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
      const c = this.#chunks[i++] as Chunk;
      chunks.push(c);
      bytes += c.json.length;
    }
    const last = chunks[chunks.length - 1] as Chunk;
    return { chunks, offset: last.offset, lsn: last.lsn, upToDate: i >= end };
  }

  /** SSE bytes after `lsn`: what an SSE reader at that position has yet to be sent. */
  bytesAfter(lsn: bigint): number {
    let n = 0;
    for (let i = this.#chunks.length - 1; i >= this.#head; i--) {
      const c = this.#chunks[i] as Chunk;
      if (c.lsn <= lsn) break;
      n += c.bytes - c.json.length;
    }
    return n;
  }

  #firstAfter(lsn: bigint): number {
    let lo = this.#head;
    let hi = this.#chunks.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.#chunks[mid] as Chunk).lsn <= lsn) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  #trim(): void {
    while (this.#bytes > this.#budget && this.#chunks.length - this.#head > 1) {
      const dropped = this.#chunks[this.#head] as Chunk;
      this.#chunks[this.#head] = undefined as unknown as Chunk;
      this.#head++;
      this.#bytes -= dropped.bytes;
      this.#trimmedLsn = dropped.lsn;
    }
    // Compact once the dropped prefix is at least half the array: amortised O(1) per chunk.
    if (this.#head > 64 && this.#head * 2 >= this.#chunks.length) {
      this.#chunks = this.#chunks.slice(this.#head);
      this.#head = 0;
    }
  }
}
