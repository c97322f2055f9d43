/**
 * What the replication stream hands the rest of the sync engine: whole committed transactions,
 * in commit order, with row values in PostgreSQL text form (the type's output function).
 */

/** A row as text: column name → text value, or null for SQL NULL. */
export type Row = Record<string, string | null>;

export interface RelationColumn {
  name: string;
  /** pg_type oid of the column's type. */
  typeOid: number;
  typeMod: number;
  /** Part of the replica identity (the primary key unless REPLICA IDENTITY FULL). */
  isKey: boolean;
}

export interface Relation {
  /** pg_class oid. */
  id: number;
  schema: string;
  name: string;
  /** 'd' default, 'n' nothing, 'f' full, 'i' index. */
  replicaIdentity: string;
  columns: RelationColumn[];
}

export type Change =
  | { kind: "insert"; relation: Relation; new: Row }
  | { kind: "update"; relation: Relation; new: Row; old?: Row }
  | { kind: "delete"; relation: Relation; old: Row }
  | { kind: "truncate"; relations: Relation[] };

export interface Transaction {
  /** 32-bit transaction id from the Begin message. */
  xid: number;
  /** LSN of the commit record, as a 64-bit integer. Strictly increasing across transactions. */
  commitLsn: bigint;
  /** Commit time. */
  commitTime: Date;
  changes: Change[];
}

/** Format a 64-bit LSN the way PostgreSQL prints it (`16/B374D848`). */
export function formatLsn(lsn: bigint): string {
  return `${(lsn >> 32n).toString(16).toUpperCase()}/${(lsn & 0xffffffffn).toString(16).toUpperCase()}`;
}

/** Parse `16/B374D848` into a 64-bit integer. */
export function parseLsn(text: string): bigint {
  const [hi, lo] = text.split("/");
  if (hi === undefined || lo === undefined) throw new Error(`invalid LSN: ${text}`);
  return (BigInt(`0x${hi}`) << 32n) | BigInt(`0x${lo}`);
}
