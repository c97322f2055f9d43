import type { Change, Row, Transaction } from "./changes.ts";
import { BEFORE_LOG, formatOffset } from "./offset.ts";
import type { ColumnInfo, TableInfo } from "./table-info.ts";
import { visibleInSnapshot, type SnapshotXids } from "./visibility.ts";
import { WhereEvaluationError, type CompiledWhere } from "./where/index.ts";

export type ReplicaMode = "default" | "full";
export type LogMode = "full" | "changes_only";

/** A shape after validation: the table, the selected columns and the compiled where clause. */
export interface ShapeSpec {
  table: TableInfo;
  columns: ColumnInfo[];
  where: CompiledWhere | undefined;
  replica: ReplicaMode;
  log: LogMode;
}

/** One change message in a shape's log, serialised once and shared by every reader. */
export interface LogEntry {
  lsn: bigint;
  offset: string;
  json: string;
}

export interface ReadResult {
  messages: string[];
  /** Offset of the last message returned, or the request's own when none. */
  offset: string;
  /** LSN of the last message returned, or the request's own when none. */
  lsn: bigint;
  /** True when the read reached the end of the log. */
  upToDate: boolean;
}

export interface ShapeLimits {
  /** Log entries kept for resuming readers before the oldest half is dropped (SPEC.md L2). */
  maxEntries: number;
  /** Bytes of serialised messages returned by one non-live read (more → another request). */
  maxResponseBytes: number;
}

type Listener = () => void;

/**
 * One shape's state: the rows currently in it (materialised, for new readers) and a bounded log of
 * the change messages after them (for resuming and live readers). Pure: transactions come in, messages
 * go out; no I/O. See sync/SPEC.md for the invariants.
 */
export class Shape {
  readonly handle: string;
  /** Further handles of this shape, given to readers that had to start over (SPEC.md H2). */
  readonly aliases = new Set<string>();
  readonly key: string;
  readonly spec: ShapeSpec;
  readonly schemaHeader: string;
  state: "snapshotting" | "ready" | "invalid" = "snapshotting";
  /** Rows in the shape, by message key, holding the selected columns. */
  readonly rows = new Map<string, Row>();
  entries: LogEntry[] = [];
  /** Entries at or below this LSN were dropped; readers behind it must refetch. */
  trimmedLsn = 0n;
  lastReadAt = Date.now();
  #pending: Transaction[] = [];
  #snapshot: (SnapshotXids & { lsn: bigint }) | undefined;
  #materialized: string[] | undefined;
  readonly #listeners = new Set<Listener>();
  readonly #limits: ShapeLimits;
  readonly #relation: readonly [string, string];
  /** Messages of the transaction being applied; serialised once, when it is complete. */
  #txMessages: { offset: string; msg: { headers: Record<string, unknown> } }[] = [];
  readonly #selected: string[];
  readonly #keyCols: string[];

  constructor(handle: string, key: string, spec: ShapeSpec, limits: ShapeLimits) {
    this.handle = handle;
    this.key = key;
    this.spec = spec;
    this.#limits = limits;
    this.#relation = [spec.table.schema, spec.table.name];
    this.#selected = spec.columns.map((c) => c.name);
    this.#keyCols = spec.table.keyColumns;
    const schema: Record<string, Record<string, unknown>> = {};
    for (const c of spec.columns) {
      schema[c.name] = { type: c.type, ...(c.dims ? { dims: c.dims } : {}), ...(c.pkIndex !== undefined ? { pk_index: c.pkIndex } : {}) };
    }
    this.schemaHeader = JSON.stringify(schema);
  }

  /** Offset of the newest entry (what a reader of the materialised rows continues from). */
  get lastOffset(): string {
    return this.entries.at(-1)?.offset ?? (this.trimmedLsn > 0n ? formatOffset(this.trimmedLsn, 0) : BEFORE_LOG);
  }

  get lastLsn(): bigint {
    return this.entries.at(-1)?.lsn ?? this.trimmedLsn;
  }

  /** Called for changes, and on invalidation; returns the unsubscribe function. */
  listen(fn: Listener): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  get listenerCount(): number {
    return this.#listeners.size;
  }

  /** Installs the initial snapshot and applies the transactions buffered while it was taken. */
  finishSnapshot(rows: Row[], xids: SnapshotXids, lsn: bigint): void {
    if (this.state !== "snapshotting") return;
    this.#snapshot = { ...xids, lsn };
    if (this.spec.log === "full") for (const row of rows) this.rows.set(this.#keyOf(row), this.#project(row));
    this.#materialized = undefined;
    this.state = "ready";
    const pending = this.#pending;
    this.#pending = [];
    for (const tx of pending) this.apply(tx);
  }

  invalidate(): void {
    if (this.state === "invalid") return;
    this.state = "invalid";
    this.#pending = [];
    this.#emit();
  }

  /** Applies one committed transaction (only its changes to this shape's table matter). */
  apply(tx: Transaction): void {
    if (this.state === "snapshotting") {
      this.#pending.push(tx);
      return;
    }
    if (this.state === "invalid") return;
    // C1: skip what the snapshot already holds. Past the snapshot's WAL position nothing is visible in it.
    const snap = this.#snapshot;
    if (snap && tx.commitLsn <= snap.lsn && visibleInSnapshot(tx.xid, snap)) return;
    if (snap && tx.commitLsn > snap.lsn) this.#snapshot = undefined;
    this.#txMessages = [];
    let op = 0;
    for (const change of tx.changes) {
      if (change.kind === "truncate") {
        if (change.relations.some((r) => r.id === this.spec.table.oid)) return this.invalidate();
        continue;
      }
      if (change.relation.id !== this.spec.table.oid) continue;
      try {
        op = this.#applyChange(tx, change, op);
      } catch (err) {
        // A row the where clause cannot be evaluated on (overflow, division by zero): PostgreSQL would
        // fail the snapshot on it too. Readers refetch and get the error rather than a guess.
        if (err instanceof WhereEvaluationError) return this.invalidate();
        throw err;
      }
    }
    const messages = this.#txMessages;
    this.#txMessages = [];
    if (!messages.length) return;
    (messages.at(-1) as (typeof messages)[number]).msg.headers.last = true;
    for (const { offset, msg } of messages) this.entries.push({ lsn: tx.commitLsn, offset, json: JSON.stringify(msg) });
    this.#materialized = undefined;
    this.#trim();
    this.#emit();
  }

  /** The rows as insert messages (cached until the next change). */
  materialize(): string[] {
    if (!this.#materialized) {
      this.#materialized = [...this.rows].map(([key, value]) =>
        JSON.stringify({ key, value, headers: { operation: "insert", relation: this.#relation } }),
      );
    }
    return this.#materialized;
  }

  /** Messages after `lsn`, whole transactions only, up to the response size limit. */
  readAfter(lsn: bigint, fallbackOffset: string): ReadResult {
    const start = this.#firstAfter(lsn);
    if (start >= this.entries.length) return { messages: [], offset: fallbackOffset, lsn, upToDate: true };
    const messages: string[] = [];
    let bytes = 0;
    let i = start;
    while (i < this.entries.length) {
      // Take the whole transaction starting at i.
      const txLsn = (this.entries[i] as LogEntry).lsn;
      let j = i;
      while (j < this.entries.length && (this.entries[j] as LogEntry).lsn === txLsn) {
        const e = this.entries[j] as LogEntry;
        messages.push(e.json);
        bytes += e.json.length;
        j++;
      }
      i = j;
      if (bytes >= this.#limits.maxResponseBytes) break;
    }
    const last = this.entries[i - 1] as LogEntry;
    return { messages, offset: last.offset, lsn: last.lsn, upToDate: i >= this.entries.length };
  }

  /** Whether `handle` names this shape (its own handle or an alias). */
  answersTo(handle: string | undefined): boolean {
    return handle !== undefined && (handle === this.handle || this.aliases.has(handle));
  }

  /** True when a reader at `lsn` has missed dropped entries and must refetch. */
  isBehindLog(lsn: bigint): boolean {
    return lsn < this.trimmedLsn;
  }

  #firstAfter(lsn: bigint): number {
    let lo = 0;
    let hi = this.entries.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.entries[mid] as LogEntry).lsn <= lsn) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  #emit(): void {
    for (const fn of [...this.#listeners]) fn();
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
    for (const c of this.#selected) out[c] = row[c] ?? null;
    return out;
  }

  #keyValues(row: Row): Row {
    const out: Row = {};
    for (const c of this.#keyCols) if (this.#selected.includes(c)) out[c] = row[c] ?? null;
    return out;
  }

  #push(tx: Transaction, op: number, operation: string, key: string, value: Row, oldValue?: Row): number {
    const headers: Record<string, unknown> = {
      operation,
      relation: this.#relation,
      lsn: tx.commitLsn.toString(),
      op_position: op,
      txids: [tx.xid],
    };
    const msg: { headers: Record<string, unknown>; [k: string]: unknown } = { key, value, headers };
    if (oldValue) msg.old_value = oldValue;
    this.#txMessages.push({ offset: formatOffset(tx.commitLsn, op), msg });
    return op + 2;
  }

  #applyChange(tx: Transaction, change: Exclude<Change, { kind: "truncate" }>, op: number): number {
    if (change.kind === "insert") return this.#upsert(tx, op, undefined, change.new);
    if (change.kind === "delete") return this.#remove(tx, op, change.old);
    return this.#upsert(tx, op, change.old, change.new);
  }

  /** An insert, or an update seen as (old row, new row): handles rows moving into and out of the where clause. */
  #upsert(tx: Transaction, op: number, oldRow: Row | undefined, rawNew: Row): number {
    const oldKey = oldRow ? this.#keyOf(oldRow) : undefined;
    const stored = oldKey !== undefined ? this.rows.get(oldKey) : undefined;
    // Unchanged TOAST values are absent from the new tuple: take them from the old row.
    const newRow: Row = { ...(oldRow ?? {}), ...rawNew };
    const newKey = this.#keyOf(newRow);
    const wasIn = oldRow ? (this.spec.log === "full" ? this.rows.has(oldKey as string) : this.#matches(oldRow)) : this.rows.has(newKey);
    const isIn = this.#matches(newRow);
    const next = this.#project(newRow);
    if (wasIn && isIn && (oldKey === undefined || oldKey === newKey)) {
      const prev = stored ?? this.rows.get(newKey) ?? (oldRow ? this.#project(oldRow) : undefined);
      const changed = this.#selected.filter((c) => !prev || prev[c] !== next[c]);
      this.rows.set(newKey, next);
      if (changed.length === 0) return op;
      if (this.spec.replica === "full") {
        const oldValue: Row = {};
        for (const c of changed) oldValue[c] = prev?.[c] ?? null;
        return this.#push(tx, op, "update", newKey, next, oldValue);
      }
      const value = this.#keyValues(newRow);
      for (const c of changed) value[c] = next[c] ?? null;
      return this.#push(tx, op, "update", newKey, value);
    }
    if (wasIn && oldKey !== undefined && oldRow) op = this.#remove(tx, op, oldRow);
    else if (wasIn && !isIn) op = this.#remove(tx, op, newRow);
    if (isIn) {
      this.rows.set(newKey, next);
      op = this.#push(tx, op, "insert", newKey, next);
    }
    return op;
  }

  #remove(tx: Transaction, op: number, row: Row): number {
    const key = this.#keyOf(row);
    const had = this.rows.get(key);
    const inShape = this.spec.log === "full" ? had !== undefined : this.#matches(row);
    if (!inShape) return op;
    this.rows.delete(key);
    const value = this.spec.replica === "full" ? (had ?? this.#project(row)) : this.#keyValues(row);
    return this.#push(tx, op, "delete", key, value);
  }

  #trim(): void {
    if (this.entries.length <= this.#limits.maxEntries) return;
    // Drop the older half, on a transaction boundary, so trimming is amortised O(1) per entry.
    let cut = this.entries.length - Math.floor(this.#limits.maxEntries / 2);
    const boundaryLsn = (this.entries[cut - 1] as LogEntry).lsn;
    while (cut < this.entries.length && (this.entries[cut] as LogEntry).lsn === boundaryLsn) cut++;
    this.trimmedLsn = boundaryLsn;
    this.entries = this.entries.slice(cut);
  }
}
