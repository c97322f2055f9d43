import { createHash, randomBytes } from "node:crypto";
import type pg from "pg";
import { RuncastError, badRequest } from "../errors.ts";
import type { Change, Transaction } from "./changes.ts";
import { identityProjection, type Projection } from "./projection.ts";
import type { Publication } from "./publication.ts";
import { LogMemory } from "./log.ts";
import { DeliveredXids, TransactionWindow } from "./recent.ts";
import { Shape, type LogMode, type ReplicaMode, type ShapeLimits, type ShapeSpec } from "./shape.ts";
import { takeSnapshot } from "./snapshot.ts";
import { loadTableInfo, loadTableInfoByOid, sameTableShape, type TableInfo, type TableName } from "./table-info.ts";
import { compileWhere, WhereBudgetError, WhereClauseError } from "./where/index.ts";

/** A shape as requested: what identifies it (Electric's shape identity, plus the projection). */
export interface ShapeDefinition {
  table: TableName;
  where?: string;
  params?: Record<string, string> | string[];
  columns?: string[];
  replica: ReplicaMode;
  log: LogMode;
  /** Output other than the table's own columns (renamed, mapped, some left out); its id is part of the key. */
  projection?: { id: string; build(table: TableInfo): Projection };
  /** Checked on the table before anything is created or altered (a front door's access rules); throws to refuse. */
  allow?(table: TableInfo): void;
}

export interface RegistryOptions extends ShapeLimits {
  /** A shape nobody has read for this long (and nobody is waiting on) is dropped. */
  idleMs: number;
  /** Snapshot queries are cancelled after this long. */
  snapshotTimeoutMs: number;
  /** Reports a shape invalidated by a failure (where clause, budget, bug), for the node's log. */
  onShapeFailure?(shape: Shape, err: unknown): void;
  /** Byte budget of the recent transactions kept to take over other nodes' readers (H3); 16 MiB by default. */
  windowBytes?: number;
  /** Byte budget all shape logs of the node share (L2); 256 MiB by default. */
  logsTotalBytes?: number;
}

let handleSeq = 0;
/** While readers wait for the stream to reach a position, a logical message is committed this often. */
const NUDGE_AGAIN_MS = 100;
/** Tries to create a shape whose table keeps changing under its snapshot. */
const CREATE_ATTEMPTS = 3;
/** How long a definition whose where clause blew the evaluation budget is refused. */
const POISON_MS = 10 * 60_000;
const NODE_TAG = randomBytes(3).toString("hex");
/** Longest stretch of ingestion work before yielding to the event loop (SPEC.md I2). */
const SLICE_MS = 8;

/**
 * The first where clause compiled pays for the parser's and checker's first run (tens of milliseconds of
 * one synchronous stretch): pay it when the registry is made, not while serving a request.
 */
function warmUpWhereCompiler(): void {
  const columns = [
    { name: "id", type: "int4", dims: 0 },
    { name: "n", type: "numeric", dims: 0 },
    { name: "s", type: "text", dims: 0 },
    { name: "tags", type: "text", dims: 1 },
  ];
  const where = compileWhere("id = $1 AND (n * 2 > 1 OR s LIKE 'a%' OR tags @> ARRAY['x'])", ["1"], columns);
  where.matches({ id: "1", n: "3", s: "ab", tags: "{x}" });
}

/** Handles are never reused, across restarts and nodes: definition hash, time, sequence, node tag (SPEC.md H1). */
function newHandle(key: string): string {
  const hash = createHash("sha1").update(key).digest("hex").slice(0, 8);
  return `${hash}-${Date.now()}${String(handleSeq++ % 1000).padStart(3, "0")}${NODE_TAG}`;
}

/**
 * Every live shape of this node. Ingestion (`apply`) only appends each committed transaction to the
 * shapes it affects, each in isolation; readers are woken afterwards, once per changed shape, outside the
 * replication path (SPEC.md D1, I1). Shapes whose where clause pins a column to a value (`id = $1`) are
 * found by that value; the rest are checked one by one.
 */
export class ShapeRegistry {
  readonly #pool: pg.Pool;
  readonly #publication: Publication;
  readonly #opts: RegistryOptions;
  readonly #byKey = new Map<string, Shape>();
  readonly #byHandle = new Map<string, Shape>();
  readonly #creating = new Map<string, Promise<Shape>>();
  /** table oid → shapes without an equality index */
  readonly #scan = new Map<number, Set<Shape>>();
  /** table oid → column → value → shapes */
  readonly #eq = new Map<number, Map<string, Map<string, Set<Shape>>>>();
  /** What the stream delivered lately, to detect snapshots taken inside a commit's visibility window (C2). */
  readonly #delivered = new DeliveredXids();
  readonly #appliedWaiters = new Set<{ lsn: bigint; done(ok: boolean): void }>();
  /** A logical message is being committed for them (#nudge). */
  #nudging = false;
  /** Recent transactions, to take over readers of other nodes from their offsets (H3). */
  readonly window: TransactionWindow;
  /** The byte budget every shape log of the node shares (L2). */
  readonly logMemory: LogMemory;
  /** Definitions refused for a while: their where clause could not be evaluated within budget. */
  readonly #poisoned = new Map<string, { message: string; until: number }>();
  readonly #dirty = new Set<Shape>();
  #wakeScheduled = false;
  readonly #queue: { tx: Transaction; done: () => void }[] = [];
  /** The transaction being applied, when a slice ended before all its shapes had it. */
  #current: { tx: Transaction; done: () => void; targets: [Shape, Change[]][]; next: number } | undefined;
  #draining = false;
  #closed = false;
  #onBacklog: ((backlog: number) => void) | undefined;
  readonly #timer: NodeJS.Timeout;
  /** Commit LSN of the last transaction applied (the `global_last_seen_lsn`). */
  lastLsn = 0n;

  constructor(pool: pg.Pool, publication: Publication, opts: RegistryOptions) {
    this.#pool = pool;
    this.#publication = publication;
    this.logMemory = new LogMemory(opts.logsTotalBytes ?? 256 * 1024 * 1024);
    // Every shape's log counts against the node's budget too.
    this.#opts = { ...opts, logMemory: this.logMemory };
    this.window = new TransactionWindow(opts.windowBytes ?? 16 * 1024 * 1024);
    this.#timer = setInterval(() => this.evictIdle(Date.now()), Math.min(60_000, opts.idleMs)).unref();
    warmUpWhereCompiler();
  }

  get size(): number {
    return this.#byKey.size;
  }

  byHandle(handle: string): Shape | undefined {
    return this.#byHandle.get(handle);
  }

  /** The live shape for a definition, if there is one (no creation). */
  existing(def: ShapeDefinition): Shape | undefined {
    const shape = this.#byKey.get(definitionKey(def));
    return shape?.state === "ready" ? shape : undefined;
  }

  /** The handle a reader of `def` should start over with: the live shape's, or a new one never handed out. */
  currentHandle(def: ShapeDefinition): string {
    const key = definitionKey(def);
    const shape = this.#byKey.get(key);
    return shape && shape.state !== "invalid" ? shape.handle : newHandle(key);
  }

  /** The current shape for a definition, created (snapshot taken) when there is none. Throws 4xx for bad definitions. */
  async resolve(def: ShapeDefinition): Promise<Shape> {
    const key = definitionKey(def);
    const creating = this.#creating.get(key);
    if (creating) return creating;
    const existing = this.#byKey.get(key);
    if (existing && existing.state === "ready") return existing;
    const poisoned = this.#poisoned.get(key);
    if (poisoned && poisoned.until > Date.now()) throw badRequest("where_too_expensive", poisoned.message, "where");
    const created = this.#create(def, key).finally(() => this.#creating.delete(key));
    this.#creating.set(key, created);
    return created;
  }

  /**
   * Ingestion: appends one committed transaction to every shape it affects, in commit order; `done` runs
   * once it is applied (the caller then acknowledges it). A shape that throws is invalidated alone (I1).
   * Work is done in slices of at most SLICE_MS: a transaction whose shapes are expensive to evaluate yields
   * to the event loop between shapes, so the server keeps answering (I2); later transactions wait in order.
   */
  ingest(tx: Transaction, done: () => void): void {
    this.#queue.push({ tx, done });
    if (this.#draining) return;
    // Ingestion runs in the event loop's check phase, right after the I/O callbacks of this turn (the
    // replication socket's among them): one slice per turn, with every other request served in between (I2).
    this.#draining = true;
    setImmediate(() => this.#drain());
  }

  /** Transactions received and not yet applied (the caller pauses replication when it grows). */
  get backlog(): number {
    return this.#queue.length + (this.#current ? 1 : 0);
  }

  #drain(): void {
    this.#draining = true;
    const sliceEnd = performance.now() + SLICE_MS;
    /** Acknowledgements of the transactions applied in this slice: run after the readers are woken. */
    const applied: (() => void)[] = [];
    const endSlice = () => {
      this.#wakeDirty();
      for (const done of applied) done();
    };
    while (!this.#closed) {
      if (!this.#current) {
        const next = this.#queue.shift();
        if (!next) break;
        // L1: a reconnected stream replays from the slot's confirmed position; what was applied is skipped.
        if (next.tx.commitLsn <= this.lastLsn) {
          next.done();
          continue;
        }
        this.#current = { ...next, targets: [...this.#route(next.tx)], next: 0 };
      }
      const cur = this.#current;
      while (cur.next < cur.targets.length) {
        const [shape, changes] = cur.targets[cur.next++] as [Shape, Change[]];
        this.#applyTo(shape, changes.length === cur.tx.changes.length ? cur.tx : { ...cur.tx, changes });
        if (performance.now() > sliceEnd && (cur.next < cur.targets.length || this.#queue.length)) {
          endSlice();
          this.#onBacklog?.(this.backlog);
          setImmediate(() => this.#drain());
          return;
        }
      }
      this.#current = undefined;
      this.#delivered.add(cur.tx.xid, cur.tx.commitLsn);
      this.window.add(cur.tx);
      this.lastLsn = cur.tx.commitLsn;
      if (this.#appliedWaiters.size) {
        for (const w of this.#appliedWaiters) {
          if (w.lsn > this.lastLsn) continue;
          this.#appliedWaiters.delete(w);
          w.done(true);
        }
      }
      applied.push(cur.done);
    }
    this.#draining = false;
    endSlice();
    this.#onBacklog?.(this.backlog);
  }

  /** Called with the backlog when a slice ends early and when the queue empties. */
  onBacklog(fn: (backlog: number) => void): void {
    this.#onBacklog = fn;
  }

  /** The shapes a transaction can affect, each with its changes. */
  #route(tx: Transaction): Map<Shape, Change[]> {
    const perShape = new Map<Shape, Change[]>();
    const add = (shape: Shape, change: Change) => {
      const list = perShape.get(shape);
      if (list) list.push(change);
      else perShape.set(shape, [change]);
    };
    for (const change of tx.changes) {
      if (change.kind === "truncate") {
        for (const rel of change.relations) for (const shape of this.#shapesOf(rel.id)) add(shape, change);
        continue;
      }
      const oid = change.relation.id;
      for (const shape of this.#scan.get(oid) ?? []) add(shape, change);
      const byColumn = this.#eq.get(oid);
      if (!byColumn) continue;
      for (const [column, byValue] of byColumn) {
        const seen = new Set<Shape>();
        for (const row of [change.kind === "delete" ? undefined : change.new, change.kind === "insert" ? undefined : change.old]) {
          const v = row?.[column];
          if (v === undefined || v === null) continue;
          for (const shape of byValue.get(v) ?? []) {
            if (seen.has(shape)) continue;
            seen.add(shape);
            add(shape, change);
          }
        }
      }
    }
    return perShape;
  }

  #applyTo(shape: Shape, tx: Transaction): void {
    try {
      shape.apply(tx);
    } catch (err) {
      this.#fail(shape, err);
    }
    if (shape.state === "invalid") this.#remove(shape);
    if (shape.dirty) this.#markDirty(shape);
  }

  /** Every shape on the table gets must-refetch (truncate, schema change). */
  invalidateTable(oid: number, reason = "the table's schema changed"): void {
    this.#publication.forget(oid);
    for (const shape of this.#shapesOf(oid)) {
      shape.invalidate(new Error(reason));
      this.#remove(shape);
      this.#markDirty(shape);
    }
  }

  /**
   * The stream starts at `lsn` on a slot made just now: nothing before it is known here. Positions handed
   * out from now on are at least `lsn`, and readers holding an older one are taken over only by another node.
   */
  continueFrom(lsn: bigint): void {
    if (lsn > this.lastLsn) this.lastLsn = lsn;
    this.window.reset(lsn);
  }

  /**
   * The stream lost continuity (this node's slot was dropped while it was away and made anew): what
   * happened in between is unknown, so every shape's readers start over (sync/SPEC.md N1).
   */
  invalidateAll(reason: string): void {
    for (const shape of [...this.#byKey.values()]) {
      shape.invalidate(new Error(reason));
      this.#remove(shape);
      this.#markDirty(shape);
    }
  }

  /**
   * After replication was down: a table whose schema changed meanwhile (and whose new Relation message may
   * never come, when nobody writes to it) invalidates its shapes (SPEC.md S2).
   */
  async revalidateSchemas(): Promise<void> {
    const tables = new Map<number, TableInfo>();
    for (const shape of this.#byKey.values()) tables.set(shape.spec.table.oid, shape.spec.table);
    for (const [oid, before] of tables) {
      const now = await loadTableInfoByOid(this.#pool, oid);
      if (!now || !sameTableShape(before, now)) this.invalidateTable(oid, "the table's schema changed while replication was down");
    }
  }

  /**
   * A reader on `handle` is behind the log and must start over: the official client will remember that
   * handle as expired, so a current handle stops being handed out (SPEC.md H2). Returns the handle to send.
   */
  startOver(shape: Shape, handle: string): string {
    if (handle === shape.handle) {
      const next = newHandle(shape.key);
      const dropped = shape.rotateHandle(next);
      if (dropped !== undefined) this.#byHandle.delete(dropped);
      this.#byHandle.set(next, shape);
    }
    return shape.handle;
  }

  /**
   * Resolves true once every transaction up to `lsn` is applied (false after a few seconds, or when closing).
   * `lsn` may be a position no commit of the published tables reaches soon (a snapshot's): the registry
   * nudges the stream past it.
   */
  #applied(lsn: bigint): Promise<boolean> {
    if (lsn <= this.lastLsn) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#appliedWaiters.delete(waiter);
        resolve(false);
      }, 5_000);
      const waiter = { lsn, done: (ok: boolean) => (clearTimeout(timer), resolve(ok)) };
      this.#appliedWaiters.add(waiter);
      this.#nudge();
    });
  }

  /**
   * Commits a logical decoding message, which the stream delivers as an empty transaction: everything
   * committed before it is then applied, even when nothing else is written. One at a time, however many wait;
   * again, shortly after, while some still wait (one in flight may have been sent before their position).
   */
  #nudge(): void {
    if (this.#nudging || this.#closed) return;
    this.#nudging = true;
    void this.#pool
      .query("SELECT pg_logical_emit_message(true, 'runcast', 'position')")
      .catch(() => {})
      .finally(() => {
        this.#nudging = false;
        if (this.#appliedWaiters.size) setTimeout(() => this.#appliedWaiters.size && this.#nudge(), NUDGE_AGAIN_MS).unref();
      });
  }

  /**
   * A reader of this definition arrived with a handle another node issued (the same definition hash) and
   * the offset it holds: this shape takes it over when its log holds every change after that offset, or
   * can be made to from the recent transactions (SPEC.md H3). False: the reader must start over (409).
   */
  async adopt(shape: Shape, handle: string, lsn: bigint): Promise<boolean> {
    if (shape.state !== "ready" || handle.slice(0, 9) !== shape.handle.slice(0, 9)) return false;
    if (lsn < shape.completeAfter || shape.log.isBehind(lsn)) {
      if (!this.window.covers(lsn)) return false;
      const upTo = shape.completeAfter > shape.log.trimmedLsn ? shape.completeAfter : shape.log.trimmedLsn;
      // Every transaction committed up to `upTo` must be applied first (one still being applied joins the window
      // once every shape has it).
      if (upTo > this.lastLsn && !(await this.#applied(upTo))) return false;
      if (shape.state !== "ready") return false;
      const chunks = shape.replay(this.window.between(lsn, upTo));
      if (!chunks) return false;
      shape.log.replaceUpTo(upTo, lsn, chunks);
      shape.completeAfter = lsn;
      if (shape.log.isBehind(lsn)) return false;
    }
    const dropped = shape.adopt(handle);
    if (dropped !== undefined) this.#byHandle.delete(dropped);
    this.#byHandle.set(handle, shape);
    return true;
  }

  evictIdle(now: number): void {
    for (const shape of [...this.#byKey.values()]) {
      if (shape.waiterCount === 0 && now - shape.lastReadAt > this.#opts.idleMs) this.#remove(shape);
    }
    for (const [key, p] of this.#poisoned) if (p.until <= now) this.#poisoned.delete(key);
  }

  close(): void {
    this.#closed = true;
    clearInterval(this.#timer);
    for (const w of this.#appliedWaiters) w.done(false);
    this.#appliedWaiters.clear();
    for (const shape of [...this.#byKey.values()]) {
      shape.invalidate(new Error("the server is shutting down"));
      this.#remove(shape);
      shape.wake(() => {});
    }
  }

  #shapesOf(oid: number): Shape[] {
    return [...this.#byKey.values()].filter((s) => s.spec.table.oid === oid);
  }

  #fail(shape: Shape, err: unknown): void {
    shape.invalidate(err instanceof Error ? err : new Error(String(err)));
    if (err instanceof WhereBudgetError) {
      this.#poisoned.set(shape.key, {
        message: `the where clause is too expensive to evaluate on live changes (${err.message}); simplify it`,
        until: Date.now() + POISON_MS,
      });
    }
    this.#opts.onShapeFailure?.(shape, err);
  }

  #markDirty(shape: Shape): void {
    this.#dirty.add(shape);
    // Ingestion wakes its shapes when its slice ends; changes from elsewhere (invalidations) in a microtask.
    if (this.#draining || this.#wakeScheduled) return;
    this.#wakeScheduled = true;
    queueMicrotask(() => {
      this.#wakeScheduled = false;
      this.#wakeDirty();
    });
  }

  /** One wake-up per changed shape, after the changes were appended (D1). */
  #wakeDirty(): void {
    if (this.#dirty.size === 0) return;
    const shapes = [...this.#dirty];
    this.#dirty.clear();
    for (const s of shapes) s.wake((err) => this.#opts.onShapeFailure?.(s, err));
  }

  async #create(def: ShapeDefinition, key: string): Promise<Shape> {
    // A schema change while the snapshot is taken, or a snapshot taken inside a commit's visibility window
    // (C2): start again.
    for (let attempt = 1; ; attempt++) {
      const shape = await this.#createOnce(def, key);
      if (shape.state === "ready") return shape;
      if (shape.invalidReason instanceof WhereBudgetError) {
        throw badRequest("where_too_expensive", `the where clause is too expensive to evaluate on live changes: ${shape.invalidReason.message}`, "where");
      }
      if (attempt >= CREATE_ATTEMPTS) {
        throw new RuncastError(503, "shape_unstable", `the table ${def.table.schema}.${def.table.name} kept changing while its snapshot was taken; try again`, {
          headers: { "retry-after": "1" },
        });
      }
    }
  }

  async #createOnce(def: ShapeDefinition, key: string): Promise<Shape> {
    const spec = await this.#compile(def);
    await this.#publication.ensureTable(spec.table);
    const shape = new Shape(newHandle(key), key, spec, this.#opts);
    // Registered before the snapshot is taken: every transaction delivered from now on is buffered (C1);
    // one delivered before that the snapshot does not see makes it be taken again (C2).
    this.#add(shape);
    const registeredAt = this.lastLsn;
    // A transaction half-applied (its slice yielded) was routed before this shape existed: buffer it too.
    if (this.#current) shape.apply(this.#current.tx);
    try {
      const snap = await takeSnapshot(this.#pool, spec, def.log === "full", this.#opts.snapshotTimeoutMs);
      if (this.#delivered.missedBy(snap.xids, registeredAt)) {
        shape.invalidate(new Error("the snapshot does not see a transaction the stream delivered before the shape existed"));
      } else {
        shape.finishSnapshot(snap.rows, snap.xids, snap.lsn);
        // Its rows hold every transaction this node applied, and every one the snapshot sees: some of those may
        // not have reached this node yet (its stream lags), and when they do they are skipped, not logged. So
        // the log has every change only after the snapshot's position (H3).
        let complete = shape.appliedLsn > this.lastLsn ? shape.appliedLsn : this.lastLsn;
        if (snap.lsn > complete) complete = snap.lsn;
        shape.completeAfter = complete;
      }
    } catch (err) {
      shape.invalidate(err instanceof Error ? err : new Error(String(err)));
      this.#remove(shape);
      const code = (err as { code?: string }).code;
      // Class 22 (data exception): the where clause fails on some row, e.g. a division by zero.
      if (typeof code === "string" && code.startsWith("22")) {
        throw badRequest("where_evaluation_failed", `the where clause fails on a row of the table: ${(err as Error).message}`, "where");
      }
      if (code === "57014") {
        throw new RuncastError(503, "snapshot_timeout", `the shape's snapshot query ran longer than ${this.#opts.snapshotTimeoutMs} ms: narrow the where clause (or index its columns), or raise RUNCAST_SNAPSHOT_TIMEOUT_MS`, {
          headers: { "retry-after": "5" },
        });
      }
      if (err instanceof WhereBudgetError) {
        throw badRequest("where_too_expensive", `the where clause is too expensive to evaluate on live changes: ${err.message}`, "where");
      }
      throw err;
    }
    if (shape.state !== "ready") this.#remove(shape);
    // Changes applied during the hand-off belong to the snapshot's readers: nobody waits on a new shape yet.
    shape.dirty = false;
    return shape;
  }

  async #compile(def: ShapeDefinition): Promise<ShapeSpec> {
    const table = await loadTableInfo(this.#pool, def.table);
    if (!table) throw badRequest("table_not_found", `table ${JSON.stringify(`${def.table.schema}.${def.table.name}`)} does not exist`, "table");
    def.allow?.(table);
    const columns = selectColumns(table, def.columns);
    let where;
    if (def.where !== undefined && def.where.trim() !== "") {
      try {
        where = compileWhere(def.where, def.params ?? {}, table.columns);
      } catch (err) {
        if (err instanceof WhereClauseError) throw badRequest("invalid_where", `where clause: ${err.message}`, "where");
        throw err;
      }
    }
    const projection = def.projection ? def.projection.build(table) : identityProjection(table, columns);
    return { table, projection, where, replica: def.replica, log: def.log };
  }

  #add(shape: Shape): void {
    const previous = this.#byKey.get(shape.key);
    if (previous) {
      previous.invalidate(new Error("replaced"));
      this.#remove(previous);
      this.#markDirty(previous);
    }
    this.#byKey.set(shape.key, shape);
    this.#byHandle.set(shape.handle, shape);
    const oid = shape.spec.table.oid;
    const eq = shape.spec.where?.equality;
    if (eq) {
      let byColumn = this.#eq.get(oid);
      if (!byColumn) this.#eq.set(oid, (byColumn = new Map()));
      let byValue = byColumn.get(eq.column);
      if (!byValue) byColumn.set(eq.column, (byValue = new Map()));
      let set = byValue.get(eq.value);
      if (!set) byValue.set(eq.value, (set = new Set()));
      set.add(shape);
    } else {
      let set = this.#scan.get(oid);
      if (!set) this.#scan.set(oid, (set = new Set()));
      set.add(shape);
    }
  }

  /** Unregisters a shape (its handles become unknown: later requests get 409 with a new shape's handle). */
  #remove(shape: Shape): void {
    shape.log.release();
    if (this.#byKey.get(shape.key) === shape) this.#byKey.delete(shape.key);
    this.#byHandle.delete(shape.handle);
    for (const h of shape.retiredHandles) this.#byHandle.delete(h);
    for (const h of shape.adoptedHandles) this.#byHandle.delete(h);
    const oid = shape.spec.table.oid;
    const eq = shape.spec.where?.equality;
    if (eq) {
      const byColumn = this.#eq.get(oid);
      const byValue = byColumn?.get(eq.column);
      const set = byValue?.get(eq.value);
      set?.delete(shape);
      if (set && set.size === 0) byValue?.delete(eq.value);
      if (byValue && byValue.size === 0) byColumn?.delete(eq.column);
      if (byColumn && byColumn.size === 0) this.#eq.delete(oid);
    } else {
      const set = this.#scan.get(oid);
      set?.delete(shape);
      if (set && set.size === 0) this.#scan.delete(oid);
    }
  }
}

/** The selected columns (all when unspecified); they must exist and include the primary key. */
function selectColumns(table: TableInfo, requested: string[] | undefined) {
  if (!requested || requested.length === 0) return table.columns;
  const byName = new Map(table.columns.map((c) => [c.name, c]));
  const unknown = requested.filter((c) => !byName.has(c));
  if (unknown.length) throw badRequest("unknown_column", `unknown column(s) ${unknown.map((c) => JSON.stringify(c)).join(", ")} in columns`, "columns");
  const missingKey = table.keyColumns.filter((k) => !requested.includes(k));
  if (missingKey.length && table.columns.some((c) => c.pkIndex !== undefined)) {
    throw badRequest("missing_primary_key", `columns must include the primary key column(s) ${missingKey.map((c) => JSON.stringify(c)).join(", ")}`, "columns");
  }
  const set = new Set(requested);
  return table.columns.filter((c) => set.has(c.name));
}

/** Shape identity: table + where + params + columns + replica + log + projection. */
export function definitionKey(def: ShapeDefinition): string {
  const params = Array.isArray(def.params) ? def.params : Object.entries(def.params ?? {}).sort(([a], [b]) => Number(a) - Number(b)).map(([, v]) => v);
  return JSON.stringify([def.table.schema, def.table.name, def.where ?? "", params, def.columns ?? null, def.replica, def.log, def.projection?.id ?? null]);
}
