import type { Transaction } from "./changes.ts";
import { Fifo } from "./fifo.ts";
import type { SnapshotXids } from "./visibility.ts";

/**
 * The xids of the transactions the stream delivered lately, with their commit LSNs (SPEC.md C2).
 *
 * A transaction's commit record reaches the WAL, and so the replication stream, before its backend leaves
 * the ProcArray (with synchronous replication, a standby's acknowledgement later). A shape registered in
 * that window takes a snapshot that lists the transaction as running (in `xip`) although the stream already
 * delivered it before the shape existed: neither the snapshot nor the shape's buffer would hold it. Such a
 * snapshot is detected here and taken again; by then the transaction is visible. Only numbers are kept.
 */
export class DeliveredXids {
  readonly #max: number;
  /** xid → commit LSN, in delivery order. */
  readonly #seen = new Map<number, bigint>();

  constructor(max = 1 << 16) {
    this.#max = max;
  }

  add(xid: number, commitLsn: bigint): void {
    this.#seen.delete(xid);
    this.#seen.set(xid, commitLsn);
    if (this.#seen.size > this.#max) {
      const oldest = this.#seen.keys().next().value;
      if (oldest !== undefined) this.#seen.delete(oldest);
    }
  }

  /** True when a transaction delivered at or before `upTo` is still running for `snapshot`: take it again. */
  missedBy(snapshot: SnapshotXids, upTo: bigint): boolean {
    for (const xid64 of snapshot.xip) {
      const lsn = this.#seen.get(Number(xid64 & 0xffffffffn));
      if (lsn !== undefined && lsn <= upTo) return true;
    }
    return false;
  }
}

/**
 * The transactions this node applied lately, under a byte budget (SPEC.md H3): what it needs to take over a
 * reader that another node served, from that reader's offset. `covers(lsn)` is true when every transaction
 * committed after `lsn` that this node has applied is still here: from just before the first transaction of
 * the stream (no valid offset lies between the slot's start and it: every commit in between would have been
 * streamed) until the oldest one is dropped.
 */
export class TransactionWindow {
  readonly #budget: number;
  readonly #txs = new Fifo<{ tx: Transaction; bytes: number }>();
  #bytes = 0;
  #from: bigint | undefined;

  constructor(budgetBytes: number) {
    this.#budget = budgetBytes;
  }

  /** Bytes held now (estimated), under the budget. */
  get bytes(): number {
    return this.#bytes;
  }

  /** The stream starts over from a new slot at `from`: every later transaction comes, nothing before it is known. */
  reset(from: bigint): void {
    this.#txs.reset();
    this.#bytes = 0;
    this.#from = from;
  }

  add(tx: Transaction): void {
    if (this.#from === undefined) this.#from = tx.commitLsn - 1n;
    const bytes = estimateBytes(tx);
    this.#txs.push({ tx, bytes });
    this.#bytes += bytes;
    while (this.#bytes > this.#budget && this.#txs.length > 1) {
      const dropped = this.#txs.shift() as { tx: Transaction; bytes: number };
      this.#bytes -= dropped.bytes;
      this.#from = dropped.tx.commitLsn;
    }
  }

  covers(lsn: bigint): boolean {
    return this.#from !== undefined && lsn >= this.#from;
  }

  /** The transactions committed after `after` up to `upTo`, in commit order. */
  between(after: bigint, upTo: bigint): Transaction[] {
    const out: Transaction[] = [];
    for (let i = this.#txs.firstWhere((e) => e.tx.commitLsn > after); i < this.#txs.length; i++) {
      const tx = this.#txs.at(i).tx;
      if (tx.commitLsn > upTo) break;
      out.push(tx);
    }
    return out;
  }
}

/**
 * What a decoded transaction holds in memory, roughly: the transaction and each change (objects, LSNs,
 * dates), each row (an object with a property per column) and each value (a string header and its
 * characters, two bytes each at worst).
 */
function estimateBytes(tx: Transaction): number {
  let bytes = 160;
  for (const ch of tx.changes) {
    bytes += 96;
    if (ch.kind === "truncate") continue;
    for (const row of [ch.kind === "delete" ? undefined : ch.new, ch.kind === "insert" ? undefined : ch.old]) {
      if (!row) continue;
      bytes += 64;
      for (const k in row) bytes += 40 + (row[k]?.length ?? 0) * 2;
    }
  }
  return bytes;
}
