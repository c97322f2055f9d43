import { createHash, randomBytes } from "node:crypto";
import type pg from "pg";
import { RuncastError, badRequest } from "../errors.ts";
import type { Change, Transaction } from "./changes.ts";
import type { Publication } from "./publication.ts";
import { Shape, type LogMode, type ReplicaMode, type ShapeLimits, type ShapeSpec } from "./shape.ts";
import { takeSnapshot } from "./snapshot.ts";
import { loadTableInfo, type TableInfo } from "./table-info.ts";
import { compileWhere, WhereClauseError } from "./where/index.ts";

/** A shape as requested: what identifies it (Electric's shape identity). */
export interface ShapeDefinition {
  table: string;
  where?: string;
  params?: Record<string, string> | string[];
  columns?: string[];
  replica: ReplicaMode;
  log: LogMode;
}

export interface RegistryOptions extends ShapeLimits {
  /** A shape nobody has read for this long (and nobody is waiting on) is dropped. */
  idleMs: number;
}

let handleSeq = 0;
/** Tries to create a shape whose table keeps changing under its snapshot. */
const CREATE_ATTEMPTS = 3;
const NODE_TAG = randomBytes(3).toString("hex");

/** Handles are never reused, across restarts and nodes: definition hash, time, sequence, node tag (SPEC.md H1). */
function newHandle(key: string): string {
  const hash = createHash("sha1").update(key).digest("hex").slice(0, 8);
  return `${hash}-${Date.now()}${String(handleSeq++ % 1000).padStart(3, "0")}${NODE_TAG}`;
}

/**
 * Every live shape of this node, indexed so a replicated transaction reaches only the shapes it can
 * affect: shapes whose where clause pins a column to a value (`id = $1`) are found by that value;
 * the rest are checked one by one.
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
  readonly #timer: NodeJS.Timeout;
  /** Commit LSN of the last transaction applied (the `global_last_seen_lsn`). */
  lastLsn = 0n;

  constructor(pool: pg.Pool, publication: Publication, opts: RegistryOptions) {
    this.#pool = pool;
    this.#publication = publication;
    this.#opts = opts;
    this.#timer = setInterval(() => this.evictIdle(Date.now()), Math.min(60_000, opts.idleMs)).unref();
  }

  get size(): number {
    return this.#byKey.size;
  }

  byHandle(handle: string): Shape | undefined {
    return this.#byHandle.get(handle);
  }

  /** The current shape for a definition, created (snapshot taken) when there is none. Throws 400s for bad definitions. */
  async resolve(def: ShapeDefinition): Promise<Shape> {
    const key = definitionKey(def);
    // A shape still taking its snapshot is registered already (to buffer changes) but not servable:
    // wait for its creation to finish.
    const creating = this.#creating.get(key);
    if (creating) return creating;
    const existing = this.#byKey.get(key);
    if (existing && existing.state === "ready") return existing;
    const created = this.#create(def, key).finally(() => this.#creating.delete(key));
    this.#creating.set(key, created);
    return created;
  }

  /** Applies one committed transaction to every shape it can affect, synchronously, in commit order. */
  apply(tx: Transaction): void {
    // L1: a reconnected stream replays from the slot's confirmed position; what was applied is skipped.
    if (tx.commitLsn <= this.lastLsn) return;
    const perShape = new Map<Shape, Change[]>();
    const add = (shape: Shape, change: Change) => {
      const list = perShape.get(shape);
      if (list) list.push(change);
      else perShape.set(shape, [change]);
    };
    for (const change of tx.changes) {
      if (change.kind === "truncate") {
        for (const rel of change.relations) this.invalidateTable(rel.id);
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
    this.lastLsn = tx.commitLsn;
    for (const [shape, changes] of perShape) shape.apply({ ...tx, changes });
  }

  /** Every shape on the table gets must-refetch (truncate, schema change). */
  invalidateTable(oid: number): void {
    this.#publication.forget(oid);
    const victims = [...this.#byKey.values()].filter((s) => s.spec.table.oid === oid);
    for (const shape of victims) this.#remove(shape, true);
  }

  /**
   * A new handle for an existing shape (SPEC.md H2): given to a reader that fell behind the bounded log,
   * so it alone starts over while every other reader of the shape carries on.
   */
  alias(shape: Shape): string {
    const handle = newHandle(shape.key);
    shape.aliases.add(handle);
    this.#byHandle.set(handle, shape);
    return handle;
  }

  evictIdle(now: number): void {
    for (const shape of [...this.#byKey.values()]) {
      if (shape.listenerCount === 0 && now - shape.lastReadAt > this.#opts.idleMs) this.#remove(shape, false);
    }
  }

  close(): void {
    clearInterval(this.#timer);
    for (const shape of [...this.#byKey.values()]) this.#remove(shape, true);
  }

  async #create(def: ShapeDefinition, key: string): Promise<Shape> {
    // A schema change that lands while the snapshot is taken invalidates the new shape: start again.
    for (let attempt = 1; ; attempt++) {
      const shape = await this.#createOnce(def, key);
      if (shape.state === "ready") return shape;
      if (attempt >= CREATE_ATTEMPTS) {
        throw new RuncastError(503, "shape_unstable", `the table ${def.table} kept changing while its snapshot was taken; try again`, {
          headers: { "retry-after": "1" },
        });
      }
    }
  }

  async #createOnce(def: ShapeDefinition, key: string): Promise<Shape> {
    const spec = await this.#compile(def);
    await this.#publication.ensureTable(spec.table);
    const shape = new Shape(newHandle(key), key, spec, this.#opts);
    // Registered before the snapshot is taken, so every transaction committed after it is buffered (SPEC.md C1).
    this.#add(shape);
    try {
      const snap = await takeSnapshot(this.#pool, spec, def.log === "full");
      shape.finishSnapshot(snap.rows, snap.xids, snap.lsn);
    } catch (err) {
      this.#remove(shape, true);
      // Class 22 (data exception): the where clause fails on some row, e.g. a division by zero.
      const code = (err as { code?: string }).code;
      if (typeof code === "string" && code.startsWith("22")) {
        throw badRequest("where_evaluation_failed", `the where clause fails on a row of the table: ${(err as Error).message}`, "where");
      }
      throw err;
    }
    return shape;
  }

  async #compile(def: ShapeDefinition): Promise<ShapeSpec> {
    const table = await loadTableInfo(this.#pool, def.table);
    if (!table) throw badRequest("table_not_found", `table ${JSON.stringify(def.table)} does not exist`, "table");
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
    return { table, columns, where, replica: def.replica, log: def.log };
  }

  #add(shape: Shape): void {
    const previous = this.#byKey.get(shape.key);
    if (previous) this.#remove(previous, true);
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

  #remove(shape: Shape, invalidate: boolean): void {
    if (this.#byKey.get(shape.key) === shape) this.#byKey.delete(shape.key);
    this.#byHandle.delete(shape.handle);
    for (const alias of shape.aliases) this.#byHandle.delete(alias);
    const oid = shape.spec.table.oid;
    const eq = shape.spec.where?.equality;
    if (eq) {
      const byValue = this.#eq.get(oid)?.get(eq.column);
      const set = byValue?.get(eq.value);
      set?.delete(shape);
      if (set && set.size === 0) byValue?.delete(eq.value);
    } else {
      this.#scan.get(oid)?.delete(shape);
    }
    if (invalidate) shape.invalidate();
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

/** Shape identity: table + where + params + columns + replica + log. */
export function definitionKey(def: ShapeDefinition): string {
  const params = Array.isArray(def.params) ? def.params : Object.entries(def.params ?? {}).sort(([a], [b]) => Number(a) - Number(b)).map(([, v]) => v);
  return JSON.stringify([def.table, def.where ?? "", params, def.columns ?? null, def.replica, def.log]);
}
