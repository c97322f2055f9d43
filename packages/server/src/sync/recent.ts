import type { Transaction } from "./changes.ts";
import { visibleInSnapshot, type SnapshotXids } from "./visibility.ts";

export interface RecentOptions {
  /** Transactions are kept at least this long (ms)… */
  maxAgeMs: number;
  /** …unless they add up to more than this many bytes (the newest is always kept). */
  maxBytes: number;
  /** How many delivered xids are remembered (numbers only) to tell "not held any more" from "not seen yet". */
  rememberedXids: number;
}

interface Held {
  tx: Transaction;
  bytes: number;
  at: number;
}

/**
 * The transactions the stream delivered lately (SPEC.md C2). A transaction can reach the replication
 * stream before its backend leaves the ProcArray: a shape registered in that window takes a snapshot that
 * does not see it although the stream is already past it. A new shape asks this ring for exactly those
 * transactions (delivered before it was registered, invisible to its snapshot) and applies them first.
 */
export class RecentTransactions {
  readonly #opts: RecentOptions;
  #held: Held[] = [];
  #head = 0;
  #bytes = 0;
  readonly #byXid = new Map<number, Transaction>();
  /** xid → commit LSN of every transaction delivered lately (insertion order = delivery order). */
  readonly #seen = new Map<number, bigint>();

  constructor(opts: RecentOptions) {
    this.#opts = opts;
  }

  add(tx: Transaction, bytes: number, now = Date.now()): void {
    this.#held.push({ tx, bytes, at: now });
    this.#bytes += bytes;
    this.#byXid.set(tx.xid, tx);
    this.#seen.delete(tx.xid);
    this.#seen.set(tx.xid, tx.commitLsn);
    if (this.#seen.size > this.#opts.rememberedXids) {
      const oldest = this.#seen.keys().next().value;
      if (oldest !== undefined) this.#seen.delete(oldest);
    }
    this.#expire(now);
  }

  get size(): number {
    return this.#held.length - this.#head;
  }

  /**
   * The transactions delivered at or before `upTo` whose effects `snapshot` does not contain, in commit
   * order; null when one of them is no longer held (the caller takes its snapshot again).
   */
  missedBy(snapshot: SnapshotXids, upTo: bigint): Transaction[] | null {
    const missed: Transaction[] = [];
    for (const xid64 of snapshot.xip) {
      const xid = Number(xid64 & 0xffffffffn);
      const lsn = this.#seen.get(xid);
      if (lsn === undefined || lsn > upTo) continue; // still running, or delivered after registration (buffered)
      const tx = this.#byXid.get(xid);
      if (!tx || tx.commitLsn !== lsn) return null;
      missed.push(tx);
    }
    // Transactions that started after the snapshot cannot have been delivered before it; checked anyway.
    for (let i = this.#head; i < this.#held.length; i++) {
      const tx = (this.#held[i] as Held).tx;
      if (tx.commitLsn > upTo) break;
      if (!visibleInSnapshot(tx.xid, snapshot) && !missed.includes(tx)) missed.push(tx);
    }
    return missed.sort((a, b) => (a.commitLsn < b.commitLsn ? -1 : a.commitLsn > b.commitLsn ? 1 : 0));
  }

  #expire(now: number): void {
    const { maxAgeMs, maxBytes } = this.#opts;
    while (this.#held.length - this.#head > 1) {
      const first = this.#held[this.#head] as Held;
      if (now - first.at <= maxAgeMs && this.#bytes <= maxBytes) break;
      this.#held[this.#head] = undefined as unknown as Held;
      this.#head++;
      this.#bytes -= first.bytes;
      if (this.#byXid.get(first.tx.xid) === first.tx) this.#byXid.delete(first.tx.xid);
    }
    if (this.#head > 64 && this.#head * 2 >= this.#held.length) {
      this.#held = this.#held.slice(this.#head);
      this.#head = 0;
    }
  }
}
