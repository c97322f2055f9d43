/**
 * MVCC snapshot visibility of a transaction id, used to make a shape's snapshot and its live log
 * meet exactly (SPEC.md C1): a replicated transaction already visible in the snapshot is skipped.
 */
export interface SnapshotXids {
  xmin: bigint;
  xmax: bigint;
  xip: Set<bigint>;
}

/** Parses `pg_current_snapshot()::text`, e.g. `743:750:744,746`. */
export function parseSnapshot(text: string): SnapshotXids {
  const [xmin, xmax, xip] = text.split(":");
  if (xmin === undefined || xmax === undefined) throw new Error(`invalid snapshot: ${text}`);
  return {
    xmin: BigInt(xmin),
    xmax: BigInt(xmax),
    xip: new Set(xip ? xip.split(",").filter(Boolean).map((x) => BigInt(x)) : []),
  };
}

const EPOCH = 1n << 32n;
const HALF = 1n << 31n;

/**
 * pgoutput gives 32-bit xids; the snapshot has 64-bit ones (epoch in the high half). The full xid is
 * the one within 2^31 of xmax, since every transaction still being decoded is that close.
 */
export function widenXid(xid32: number, near: bigint): bigint {
  let full = (near & ~(EPOCH - 1n)) | BigInt(xid32 >>> 0);
  if (full < near - HALF) full += EPOCH;
  else if (full >= near + HALF) full -= EPOCH;
  return full;
}

/** True when the transaction's effects are in the snapshot (committed before it was taken). */
export function visibleInSnapshot(xid32: number, snap: SnapshotXids): boolean {
  const xid = widenXid(xid32, snap.xmax);
  if (xid < snap.xmin) return true;
  if (xid >= snap.xmax) return false;
  return !snap.xip.has(xid);
}
