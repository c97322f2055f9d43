import type pg from "pg";
import type { Relation, Transaction } from "./changes.ts";
import { Publication } from "./publication.ts";
import { ReplicationStream } from "./replication.ts";
import { ShapeRegistry, type RegistryOptions } from "./shapes.ts";
import { loadTableInfo, type TableName } from "./table-info.ts";

export interface SyncOptions {
  connectionString: string;
  slotName: string;
  publicationName: string;
  /** Tables published from the start (the run engine's `runs`). */
  tables: TableName[];
  /** Runcast's own schema (where the schema-change events table lives). */
  schema: string;
  registry: RegistryOptions;
  log: (msg: string) => void;
}

type TxListener = (tx: Transaction) => void;

/** Reconnect backoff after the replication connection drops: full jitter, capped (SPEC.md R2). */
const RECONNECT_MIN_MS = 200;
const RECONNECT_MAX_MS = 10_000;
/** Transactions received but not yet applied before the replication socket stops being read. */
const MAX_BACKLOG = 1_000;

/**
 * The node's one logical-replication stream feeding the shape registry. Each transaction is applied
 * to every shape synchronously, then acknowledged, so the slot only advances past what the shapes hold.
 */
export class SyncService {
  readonly registry: ShapeRegistry;
  readonly publication: Publication;
  readonly #pool: pg.Pool;
  readonly #opts: SyncOptions;
  readonly #listeners = new Set<TxListener>();
  #stream: ReplicationStream | undefined;
  #stopped = false;
  #reconnectTimer: NodeJS.Timeout | undefined;
  #failures = 0;
  #ddlTable = -1;
  /** Relation state outlives each replication connection (SPEC.md S2). */
  readonly #relations = new Map<number, Relation>();
  #streamedBefore = false;
  /** The stream is held (holdStream): backpressure does not resume it. */
  #held = false;

  constructor(pool: pg.Pool, opts: SyncOptions) {
    this.#pool = pool;
    this.#opts = opts;
    this.publication = new Publication(pool, opts.publicationName);
    this.registry = new ShapeRegistry(pool, this.publication, opts.registry);
    // Backpressure: stop reading the replication socket while ingestion is far behind (SPEC.md I2).
    this.registry.onBacklog((backlog) => {
      if (backlog > MAX_BACKLOG) this.#stream?.pause();
      else if (backlog === 0 && !this.#held) this.#stream?.resume();
    });
  }

  /** Stops reading the replication stream until the returned function is called: a node whose stream lags (tests). */
  holdStream(): () => void {
    this.#held = true;
    this.#stream?.pause();
    return () => {
      this.#held = false;
      this.#stream?.resume();
    };
  }

  get streaming(): boolean {
    return this.#stream?.streaming ?? false;
  }

  /** Called after each transaction reached the shapes (the engine listens for newly queued runs). */
  onTransaction(fn: TxListener): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  async start(): Promise<void> {
    await this.publication.ensureExists([]);
    for (const name of this.#opts.tables) {
      const info = await loadTableInfo(this.#pool, name);
      if (!info) throw new Error(`table ${name.schema}.${name.name} is missing: migrations did not run`);
      await this.publication.ensureTable(info);
    }
    await this.#installDdlTrigger();
    await this.#connect();
  }

  /**
   * ALTER TABLE on a table with live shapes must reach them even when no row is written afterwards.
   * The event trigger needs superuser; without it schema changes are still seen at the next write.
   */
  async #installDdlTrigger(): Promise<void> {
    const ddl = await loadTableInfo(this.#pool, { schema: this.#opts.schema, name: "runcast_ddl_events" });
    if (!ddl) return;
    this.#ddlTable = ddl.oid;
    await this.publication.ensureTable(ddl);
    const { rowCount } = await this.#pool.query("SELECT 1 FROM pg_event_trigger WHERE evtname = 'runcast_ddl'");
    if (rowCount) return;
    try {
      await this.#pool.query(
        `CREATE EVENT TRIGGER runcast_ddl ON ddl_command_end WHEN TAG IN ('ALTER TABLE') EXECUTE FUNCTION "${this.#opts.schema}".runcast_ddl_event()`,
      );
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code === "42710") return; // another node created it meanwhile
      this.#opts.log(`schema changes will be noticed at the next write only (no event trigger: ${(err as Error).message})`);
    }
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#reconnectTimer);
    await this.#stream?.stop();
    this.registry.close();
  }

  async #connect(): Promise<void> {
    const reconnecting = this.#streamedBefore;
    const stream = new ReplicationStream({
      connectionString: this.#opts.connectionString,
      slotName: this.#opts.slotName,
      publicationName: this.#opts.publicationName,
      relations: this.#relations,
      onTransaction: (tx) => {
        // Ingestion only: schema events, then the shapes' logs; then the slot may advance past it (R1).
        for (const ch of tx.changes) {
          if (ch.kind === "insert" && ch.relation.id === this.#ddlTable && ch.new.objid) this.registry.invalidateTable(Number(ch.new.objid));
        }
        this.registry.ingest(tx, () => {
          stream.acknowledge(tx.commitLsn);
          for (const fn of this.#listeners) {
            try {
              fn(tx);
            } catch (err) {
              this.#opts.log(`a transaction listener failed: ${err instanceof Error ? err.message : String(err)}`);
            }
          }
        });
      },
      onRelationChanged: (before) => {
        this.#opts.log(`schema of ${before.schema}.${before.name} changed: its shapes must be refetched`);
        this.registry.invalidateTable(before.id);
      },
      onError: (err) => {
        if (stream === this.#stream) this.#scheduleReconnect(err);
      },
    });
    this.#stream = stream;
    await stream.start();
    if (this.registry.backlog > MAX_BACKLOG) stream.pause();
    this.#failures = 0;
    this.#streamedBefore = true;
    const createdAt = stream.slotCreatedAt;
    if (createdAt !== undefined) this.registry.continueFrom(createdAt);
    if (reconnecting && createdAt !== undefined) {
      this.#opts.log(`replication slot ${this.#opts.slotName} was gone and is made anew: changes made meanwhile are unknown, every shape must be refetched`);
      this.registry.invalidateAll("the replication slot was lost while the node was away");
    } else if (reconnecting) {
      this.registry.revalidateSchemas().catch((err: unknown) => {
        this.#opts.log(`could not check table schemas after reconnecting: ${err instanceof Error ? err.message : String(err)}`);
      });
    }
  }

  #scheduleReconnect(err: unknown): void {
    if (this.#stopped) return;
    this.#failures++;
    const cap = Math.min(RECONNECT_MAX_MS, RECONNECT_MIN_MS * 2 ** Math.min(this.#failures, 10));
    const delay = Math.random() * cap;
    this.#opts.log(`replication stream lost (${err instanceof Error ? err.message : String(err)}); reconnecting in ${Math.round(delay)} ms`);
    const old = this.#stream;
    this.#stream = undefined;
    this.#reconnectTimer = setTimeout(() => {
      void (async () => {
        await old?.stop();
        if (this.#stopped) return;
        await this.#connect();
      })().catch((e: unknown) => this.#scheduleReconnect(e));
    }, delay);
  }
}
