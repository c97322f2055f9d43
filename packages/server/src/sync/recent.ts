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
