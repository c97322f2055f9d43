import type { Change, Row, Transaction } from "./changes.ts";
import { Chunk, ownBytes, ShapeLog, type LogMemory } from "./log.ts";
import { BEFORE_LOG, formatOffset } from "./offset.ts";
import { schemaHeader, type Projection } from "./projection.ts";
import type { TableInfo } from "./table-info.ts";
import { visibleInSnapshot, type SnapshotXids } from "./visibility.ts";
import { WhereEvaluationError, type CompiledWhere } from "./where/index.ts";

export type ReplicaMode = "default" | "full";
export type LogMode = "full" | "changes_only";

/** A shape after validation: the table, what its messages carry and the compiled where clause. */
export interface ShapeSpec {
  table: TableInfo;
  projection: Projection;
  where: CompiledWhere | undefined;
  replica: ReplicaMode;
  log: LogMode;
}

export interface ShapeLimits {
  /** Byte budget of the shape's log (SPEC.md L2). */
  logBytes: number;
  /** The budget every shape log of the node shares (L2); none: only the shape's own. */
  logMemory?: LogMemory;
}

/** Old handles a shape still accepts from readers that are not behind (SPEC.md H2). */
const MAX_RETIRED_HANDLES = 8;
/** Handles of the same definition issued by other nodes, whose readers this shape took over (SPEC.md H3). */
const MAX_ADOPTED_HANDLES = 16;

type Waiter = () => void;

/**
 * One shape's state: the rows currently in it (for new readers, unless `changes_only`) and a log of
 * pre-encoded chunks after them (for resuming and live readers). Transactions come in, chunks go out; no
 * I/O. Readers are woken by the registry after ingestion, never from inside `apply` (SPEC.md D1).
 */
export class Shape {
  /** The handle given to new readers. */
  handle: string;
  readonly key: string;
  readonly spec: ShapeSpec;
  readonly schemaHeader: string;
  state: "snapshotting" | "ready" | "invalid" = "snapshotting";
  /** Why the shape was invalidated, for logs and for refusing a definition that cannot be evaluated live. */
  invalidReason: Error | undefined;
  /** Rows in the shape, by message key, as projected (empty for `changes_only`). */
  readonly rows = new Map<string, Row>();
  readonly log: ShapeLog;
  lastReadAt = Date.now();
  /** Set when a chunk was appended since the registry last woke the readers. */
  dirty = false;
  /** Handles this shape had before; readers on them that are not behind carry on. Never handed out again. */
  readonly #retired: string[] = [];
  /** Handles other nodes issued for this definition, whose readers carry on here (H3). */
  readonly #adopted: string[] = [];
  /** Commit LSN of the newest transaction applied to this shape (with or without changes for it). */
  appliedLsn = 0n;
  /**
   * Every change to the shape committed after this LSN is in the log (or was trimmed from it): set when the
   * snapshot is installed, lowered when another node's reader is taken over from an older position (H3).
   */
  completeAfter = 0n;
  #pending: Transaction[] = [];
  #snapshot: (SnapshotXids & { lsn: bigint }) | undefined;
  #materialized: Buffer[] | undefined;
  readonly #waiters = new Set<Waiter>();
  readonly #relation: readonly [string, string];
  readonly #relationJson: string;
  readonly #keyCols: readonly string[];
  readonly #outKeys: readonly string[];
  readonly #outNames: readonly string[];

  constructor(handle: string, key: string, spec: ShapeSpec, limits: ShapeLimits) {
    this.handle = handle;
    this.key = key;
    this.spec = spec;
    this.log = new ShapeLog(limits.logBytes, limits.logMemory);
    this.#relation = [spec.table.schema, spec.table.name];
    this.#relationJson = JSON.stringify(this.#relation);
    this.#keyCols = spec.table.keyColumns;
    this.#outNames = spec.projection.columns.map((c) => c.name);
    this.#outKeys = spec.projection.columns.filter((c) => c.key).map((c) => c.name);
    this.schemaHeader = schemaHeader(spec.projection);
  }

  get lastLsn(): bigint {
    return this.log.lastLsn;
  }

  /** Whether `handle` names this shape: its current handle, a retired one or an adopted one. */
  answersTo(handle: string | undefined): boolean {
    return handle !== undefined && (handle === this.handle || this.#retired.includes(handle) || this.#adopted.includes(handle));
  }

  /**
   * The offset of the shape's state as a whole: its rows hold every transaction up to the newest one this
   * node applied (`globalLsn`, or a later one already applied to this shape), so a reader handed these rows
   * continues after it (O3). Unlike the last chunk's offset, it means the same on every node.
   */
  position(globalLsn: bigint): string {
    return formatOffset(this.positionLsn(globalLsn), 0);
  }

  positionLsn(globalLsn: bigint): bigint {
    let lsn = globalLsn > this.appliedLsn ? globalLsn : this.appliedLsn;
    if (this.log.lastLsn > lsn) lsn = this.log.lastLsn;
    return lsn;
  }

  /** Takes over readers of another node's handle for this definition (H3). Returns a handle that fell out of the bounded set. */
  adopt(handle: string): string | undefined {
    if (this.answersTo(handle)) return undefined;
    this.#adopted.push(handle);
    return this.#adopted.length > MAX_ADOPTED_HANDLES ? this.#adopted.shift() : undefined;
  }

  get adoptedHandles(): readonly string[] {
    return this.#adopted;
  }

  /**
   * The chunks these transactions make for this shape, decided from each change alone (the tables are
   * published with REPLICA IDENTITY FULL, so an update's old row says whether the row was in the shape): the
   * same chunks the shape's own log got or would have got for them. Undefined when one of them truncates the table.
   */
  replay(txs: readonly Transaction[]): Chunk[] | undefined {
    const scratch = new Shape(this.handle, this.key, { ...this.spec, log: "changes_only" }, { logBytes: Number.MAX_SAFE_INTEGER });
    scratch.state = "ready";
    for (const tx of txs) {
      scratch.apply(tx);
      if (scratch.state !== "ready") return undefined;
    }
    return scratch.log.readAfter(0n, BEFORE_LOG).chunks;
  }

  get retiredHandles(): readonly string[] {
    return this.#retired;
  }

  /**
   * Replaces the current handle (after a reader on it was told to start over, which makes the official client
   * remember it as expired). Returns the retired handle that fell out of the bounded set, if any.
   */
  rotateHandle(next: string): string | undefined {
    this.#retired.push(this.handle);
    this.handle = next;
    return this.#retired.length > MAX_RETIRED_HANDLES ? this.#retired.shift() : undefined;
  }

  /** Woken after changes and on invalidation; returns the unsubscribe function. */
  wait(fn: Waiter): () => void {
    this.#waiters.add(fn);
    return () => void this.#waiters.delete(fn);
  }

  get waiterCount(): number {
    return this.#waiters.size;
  }

  /** Wakes every waiter (each is isolated: one that throws costs no other). */
  wake(onError: (err: unknown) => void): void {
    this.dirty = false;
    for (const fn of [...this.#waiters]) {
      try {
        fn();
      } catch (err) {
        onError(err);
      }
    }
  }

  /** Installs the snapshot, then the transactions buffered while it was taken, filtered by visibility (SPEC.md C1). */
  finishSnapshot(rows: Row[], xids: SnapshotXids, lsn: bigint): void {
    if (this.state !== "snapshotting") return;
    this.#snapshot = { ...xids, lsn };
    if (this.spec.log === "full") for (const row of rows) this.rows.set(this.#keyOf(row), this.#project(row));
    this.#materialized = undefined;
    this.state = "ready";
    const pending = this.#pending;
    this.#pending = [];
    for (const tx of pending) {
      this.apply(tx);
      if (this.state !== "ready") return;
    }
  }

  invalidate(reason?: Error): void {
    if (this.state === "invalid") return;
    this.state = "invalid";
    this.invalidReason = reason;
    this.#pending = [];
    this.rows.clear();
    this.#materialized = undefined;
    this.dirty = true;
  }

  /**
   * Applies one committed transaction (its changes to this shape's table). Returns true when a chunk was
   * appended. Throws what the where clause throws (the registry invalidates the shape, SPEC.md I1).
   */
  apply(tx: Transaction): boolean {
    if (this.state === "snapshotting") {
      this.#pending.push(tx);
      return false;
    }
    if (this.state === "invalid") return false;
    if (tx.commitLsn > this.appliedLsn) this.appliedLsn = tx.commitLsn;
    const snap = this.#snapshot;
    if (snap) {
      // C1: the snapshot ends where the WAL insert position was read; nothing committed later is in it.
      if (tx.commitLsn > snap.lsn) this.#snapshot = undefined;
      else if (visibleInSnapshot(tx.xid, snap)) return false;
    }
    const messages: Record<string, unknown>[] = [];
    let op = 0;
    try {
      for (const change of tx.changes) {
        if (change.kind === "truncate") {
          if (change.relations.some((r) => r.id === this.spec.table.oid)) {
            this.invalidate(new Error("the table was truncated"));
            return false;
          }
          continue;
        }
        if (change.relation.id !== this.spec.table.oid) continue;
        op = this.#applyChange(tx, change, op, messages);
      }
    } catch (err) {
      // A row the where clause fails on (PostgreSQL would fail the snapshot on it too): readers refetch
      // and get the error rather than a guess.
      if (err instanceof WhereEvaluationError) {
        this.invalidate(err);
        return false;
      }
      throw err;
    }
    if (!messages.length) return false;
    (messages[messages.length - 1] as { headers: Record<string, unknown> }).headers.last = true;
    const last = messages.length - 1;
    const offset = String((messages[last] as { headers: { op_position: number } }).headers.op_position);
    this.log.append(new Chunk(tx.commitLsn, `${tx.commitLsn}_${offset}`, messages.map((m) => JSON.stringify(m))));
    this.#materialized = undefined;
    this.dirty = true;
    return true;
  }

  /**
   * The rows as insert messages (JSON, comma-separated, in pieces of about `pieceBytes`), cached until the
   * next change, so a big snapshot is written in pieces and shared by every new reader.
   */
  materialize(pieceBytes = 64 * 1024): Buffer[] {
    if (!this.#materialized) {
      const pieces: Buffer[] = [];
      let piece = "";
      for (const [key, value] of this.rows) {
        const msg = `{"key":${JSON.stringify(key)},"value":${JSON.stringify(value)},"headers":{"operation":"insert","relation":${this.#relationJson}}}`;
        piece = piece ? `${piece},${msg}` : msg;
        if (piece.length >= pieceBytes) {
          pieces.push(ownBytes(piece));
          piece = "";
        }
      }
      if (piece) pieces.push(ownBytes(piece));
      this.#materialized = pieces;
    }
    return this.#materialized;
  }

  #matches(row: Row): boolean {
    return this.spec.where ? this.spec.where.matches(row) : true;
  }

  #keyOf(row: Row): string {
    const parts = this.#keyCols.map((c) => {
      const v = row[c];
      return v === null || v === undefined ? "_" : `"${v.replace(/\//g, "//")}"`;
    });
    const rel = `"${this.spec.table.schema.replace(/[./]/g, (ch) => ch + ch)}"."${this.spec.table.name.replace(/[./]/g, (ch) => ch + ch)}"`;
    return `${rel}/${parts.join("/")}`;
  }

  #project(row: Row): Row {
    const out: Row = {};
    for (const c of this.spec.projection.columns) out[c.name] = c.value(row);
    return out;
  }

  #keyValues(projected: Row): Row {
    const out: Row = {};
    for (const c of this.#outKeys) out[c] = projected[c] ?? null;
    return out;
  }

  #push(tx: Transaction, op: number, operation: string, key: string, value: Row, out: Record<string, unknown>[], oldValue?: Row): number {
    const headers = { operation, relation: this.#relation, lsn: tx.commitLsn.toString(), op_position: op, txids: [tx.xid] };
    out.push(oldValue ? { key, value, old_value: oldValue, headers } : { key, value, headers });
    return op + 2;
  }

  #applyChange(tx: Transaction, change: Exclude<Change, { kind: "truncate" }>, op: number, out: Record<string, unknown>[]): number {
    if (change.kind === "insert") return this.#upsert(tx, op, undefined, change.new, out);
    if (change.kind === "delete") return this.#remove(tx, op, change.old, out);
    return this.#upsert(tx, op, change.old, change.new, out);
  }

  /** Whether a row (old or new) is in the shape: by the stored rows, or by the where clause when none are kept. */
  #contains(key: string, row: Row): boolean {
    return this.spec.log === "full" ? this.rows.has(key) : this.#matches(row);
  }

  /** An insert, or an update seen as (old row, new row): handles rows moving into and out of the where clause. */
  #upsert(tx: Transaction, op: number, oldRow: Row | undefined, rawNew: Row, out: Record<string, unknown>[]): number {
    // Unchanged TOAST values are absent from the new tuple: take them from the old row.
    const newRow: Row = oldRow ? { ...oldRow, ...rawNew } : rawNew;
    const newKey = this.#keyOf(newRow);
    const oldKey = oldRow ? this.#keyOf(oldRow) : newKey;
    const wasIn = oldRow ? this.#contains(oldKey, oldRow) : this.spec.log === "full" && this.rows.has(newKey);
    const isIn = this.#matches(newRow);
    const next = this.#project(newRow);
    if (wasIn && isIn && oldKey === newKey) {
      const prev = this.rows.get(newKey) ?? (oldRow ? this.#project(oldRow) : undefined);
      const changed = this.#outNames.filter((c) => !prev || prev[c] !== next[c]);
      if (this.spec.log === "full") this.rows.set(newKey, next);
      if (changed.length === 0) return op;
      if (this.spec.replica === "full") {
        const oldValue: Row = {};
        for (const c of changed) oldValue[c] = prev?.[c] ?? null;
        return this.#push(tx, op, "update", newKey, next, out, oldValue);
      }
      const value = this.#keyValues(next);
      for (const c of changed) value[c] = next[c] ?? null;
      return this.#push(tx, op, "update", newKey, value, out);
    }
    if (wasIn) op = this.#removeKnown(tx, op, oldKey, oldRow ?? newRow, out);
    if (isIn) {
      if (this.spec.log === "full") this.rows.set(newKey, next);
      op = this.#push(tx, op, "insert", newKey, next, out);
    }
    return op;
  }

  #remove(tx: Transaction, op: number, row: Row, out: Record<string, unknown>[]): number {
    const key = this.#keyOf(row);
    if (!this.#contains(key, row)) return op;
    return this.#removeKnown(tx, op, key, row, out);
  }

  #removeKnown(tx: Transaction, op: number, key: string, row: Row, out: Record<string, unknown>[]): number {
    const had = this.rows.get(key) ?? this.#project(row);
    this.rows.delete(key);
    const value = this.spec.replica === "full" ? had : this.#keyValues(had);
    return this.#push(tx, op, "delete", key, value, out);
  }
}
