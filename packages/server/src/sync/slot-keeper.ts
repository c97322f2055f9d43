import type pg from "pg";

/** Slots Runcast nodes create: `runcast_<node id>` (the node id is random unless RUNCAST_NODE_ID names it). */
export const SLOT_PREFIX = "runcast_";

export interface SlotKeeperOptions {
  /** This node's replication slot. */
  slot: string;
  /** A slot not streaming whose node has not been heard of for this long is dropped, ms. */
  ttlMs: number;
  /** Past this many bytes behind the WAL, the node reports itself lagging, bytes. */
  maxLagBytes: number;
  log: (level: "info" | "warn", msg: string, fields?: Record<string, unknown>) => void;
}

export interface SlotLag {
  /** WAL bytes between the database's current position and what this node's slot confirmed; null if unknown. */
  bytes: number | null;
  /** True past `maxLagBytes`. */
  lagging: boolean;
}

/**
 * Keeps the replication slots of the nodes sharing a database in check (sync/SPEC.md N1): this node's row in
 * `nodes` is touched every few seconds, and every node drops the slots that are not streaming and whose node
 * has not touched its row within the TTL (slots of nodes that crashed, or of a node started before this table
 * existed, which is adopted with a fresh row and so dropped a TTL later if nothing streams from it). A slot
 * that some walsender streams from is never dropped. The node's own slot is dropped when it stops cleanly.
 */
export class SlotKeeper {
  readonly #pool: pg.Pool;
  readonly #opts: SlotKeeperOptions;
  #timer: NodeJS.Timeout | undefined;
  #ticking: Promise<void> | undefined;
  #lagging = false;

  constructor(pool: pg.Pool, opts: SlotKeeperOptions) {
    this.#pool = pool;
    this.#opts = opts;
  }

  /** How often the node touches its row and looks for dead slots: a quarter of the TTL, at most every 10 s. */
  get intervalMs(): number {
    return Math.max(250, Math.min(10_000, Math.floor(this.#opts.ttlMs / 4)));
  }

  async start(): Promise<void> {
    await this.#tick();
    this.#timer = setInterval(() => {
      this.#ticking ??= this.#tick()
        .catch((err: unknown) => this.#opts.log("warn", "could not check the replication slots", { error: err instanceof Error ? err.message : String(err) }))
        .finally(() => (this.#ticking = undefined));
    }, this.intervalMs);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.#ticking;
    await this.#pool.query("DELETE FROM nodes WHERE slot = $1", [this.#opts.slot]);
  }

  /** The slot's lag now, logged when it crosses the bound either way. */
  async lag(): Promise<SlotLag> {
    const { rows } = await this.#pool.query<{ bytes: string | null }>(
      "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn)::bigint::text AS bytes FROM pg_replication_slots WHERE slot_name = $1",
      [this.#opts.slot],
    );
    const bytes = rows[0]?.bytes == null ? null : Number(rows[0].bytes);
    const lagging = bytes !== null && bytes > this.#opts.maxLagBytes;
    if (lagging !== this.#lagging) {
      this.#lagging = lagging;
      if (lagging) {
        this.#opts.log("warn", "replication is lagging: this node's subscribers see changes late", { slot: this.#opts.slot, lagBytes: bytes, maxLagBytes: this.#opts.maxLagBytes });
      } else this.#opts.log("info", "replication caught up", { slot: this.#opts.slot, lagBytes: bytes });
    }
    return { bytes, lagging };
  }

  async #tick(): Promise<void> {
    await this.#pool.query("INSERT INTO nodes (slot) VALUES ($1) ON CONFLICT (slot) DO UPDATE SET seen_at = now()", [this.#opts.slot]);
    await this.lag();
    // Slots of nodes that never had a row are adopted (their TTL starts now); then the dead ones go.
    const { rows } = await this.#pool.query<{ slot: string }>(
      `WITH adopted AS (
         INSERT INTO nodes (slot)
         SELECT slot_name FROM pg_replication_slots
          WHERE database = current_database() AND plugin = 'pgoutput' AND starts_with(slot_name, $1)
         ON CONFLICT (slot) DO NOTHING
       )
       SELECT s.slot_name AS slot FROM pg_replication_slots s JOIN nodes n ON n.slot = s.slot_name
        WHERE s.database = current_database() AND NOT s.active AND n.seen_at < now() - make_interval(secs => $2)`,
      [SLOT_PREFIX, this.#opts.ttlMs / 1000],
    );
    for (const { slot } of rows) {
      try {
        const dropped = await this.#pool.query("SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1 AND NOT active", [slot]);
        if (dropped.rowCount) this.#opts.log("info", "dropped the replication slot of a node that is gone", { slot, ttlSeconds: this.#opts.ttlMs / 1000 });
      } catch (err) {
        // 55006: a walsender took the slot meanwhile; it is alive after all.
        if ((err as { code?: string }).code !== "55006") throw err;
      }
    }
    await this.#pool.query(
      `DELETE FROM nodes n WHERE n.seen_at < now() - make_interval(secs => $1)
          AND NOT EXISTS (SELECT 1 FROM pg_replication_slots s WHERE s.slot_name = n.slot)`,
      [this.#opts.ttlMs / 1000],
    );
  }
}
