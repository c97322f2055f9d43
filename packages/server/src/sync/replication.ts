import { SESSION_OPTIONS } from "../db/session.ts";
import pg from "pg";
import { RuncastError } from "../errors.ts";
import { parseLsn, type Change, type Relation, type Row, type Transaction } from "./changes.ts";
import { decodePgoutput, decodeReplicationFrame, encodeStandbyStatus } from "./pgoutput/decode.ts";
import type { OldTuple, PgoutputMessage, RelationMessage, TupleData } from "./pgoutput/messages.ts";

/** Session settings of every Runcast connection; on the walsender they fix the text form of decoded values (UTC, ISO). */
export { SESSION_OPTIONS };

/** How long stop() lets the server leave COPY mode cleanly before it cuts the socket. */
const STOP_GRACE_MS = 5_000;
/** How long dropSlot() waits for a terminated walsender to let go of the slot. */
const DROP_SLOT_DEADLINE_MS = 10_000;
/** PostgreSQL's own rule for slot names (ReplicationSlotValidateName). */
const SLOT_NAME = /^[a-z0-9_]{1,63}$/;

export class ReplicationError extends RuncastError {
  constructor(code: string, message: string) {
    super(500, code, message);
  }
}

export interface ReplicationStreamOptions {
  connectionString: string;
  /** Permanent logical slot (pgoutput), created when missing. */
  slotName: string;
  /** Must already exist. */
  publicationName: string;
  /**
   * Relation (schema) state by relation id. Pass the same map to every stream of one slot so that schema
   * changes made while replication was down are noticed when the server sends the relation again.
   */
  relations?: Map<number, Relation>;
  /** Called synchronously, in commit order, once per committed transaction. Throwing stops the stream (onError). */
  onTransaction(tx: Transaction): void;
  /** A Relation message for a known relation id arrived with a different shape (columns, types, key, identity, name). */
  onRelationChanged?(before: Relation, after: Relation): void;
  /** The stream broke; it is stopped when this is called. */
  onError?(err: Error): void;
  /** Standby status update period; default 1000. */
  statusIntervalMs?: number;
}

/**
 * Adapter: node-postgres 8 speaks the replication protocol but @types/pg declares none of it. The
 * `replication` startup parameter is read in lib/connection-parameters.js; pg-protocol's parser emits
 * CopyBothResponse as 'replicationStart' and CopyData as 'copyData' on `client.connection`;
 * lib/connection.js writes CopyData with `sendCopyFromChunk` and CopyDone with `endCopyFrom`.
 */
interface CopyBothConnection {
  /** The socket (net.Socket). */
  stream: { pause(): void; resume(): void };
  on(event: "copyData", listener: (msg: { chunk: Buffer }) => void): void;
  once(event: "replicationStart", listener: () => void): void;
  removeListener(event: "replicationStart", listener: () => void): void;
  sendCopyFromChunk(chunk: Buffer): void;
  endCopyFrom(): void;
}

function replicationClient(connectionString: string): { client: pg.Client; copy: CopyBothConnection } {
  const config: pg.ClientConfig & { replication: "database" } = {
    connectionString,
    options: SESSION_OPTIONS,
    application_name: "runcast-replication",
    replication: "database",
  };
  const client = new pg.Client(config);
  return { client, copy: client.connection as unknown as CopyBothConnection };
}

type State = "new" | "starting" | "streaming" | "stopping" | "stopped";

/**
 * Streams committed transactions from a logical slot. Position rule: the slot is only told (as its
 * flush position) what the caller acknowledged, so anything delivered but not acknowledged is
 * delivered again by the next stream on the same slot.
 */
export class ReplicationStream {
  #state: State = "new";
  #stopRequested = false;
  #client: pg.Client | undefined;
  #copy: CopyBothConnection | undefined;
  #timer: ReturnType<typeof setInterval> | undefined;
  #starting: Promise<void> | undefined;
  #stopping: Promise<void> | undefined;
  #ending: Promise<void> | undefined;
  /** Settles (never rejects) when the START_REPLICATION query does, i.e. when streaming ends. */
  #queryDone: Promise<void> | undefined;
  readonly #relations: Map<number, Relation>;
  #tx: Transaction | undefined;
  /** Delivered, not yet acknowledged, in commit order. `endLsn` is what confirming a transaction means to the server. */
  #unacknowledged: { commitLsn: bigint; endLsn: bigint }[] = [];
  /** The position status updates report. */
  #confirmed = 0n;
  /** Highest keepalive walEnd: every transaction committing before it has already been received. */
  #serverSent = 0n;
  #lastCommitLsn = 0n;
  #slotCreatedAt: bigint | undefined;

  constructor(private readonly opts: ReplicationStreamOptions) {
    assertSlotName(opts.slotName);
    this.#relations = opts.relations ?? new Map();
    if (opts.publicationName === "") throw new ReplicationError("invalid_publication_name", "publicationName is empty");
    if (opts.statusIntervalMs !== undefined && !(opts.statusIntervalMs > 0)) {
      throw new ReplicationError("invalid_status_interval", `statusIntervalMs must be positive, got ${opts.statusIntervalMs}`);
    }
  }

  get lastCommitLsn(): bigint {
    return this.#lastCommitLsn;
  }

  get streaming(): boolean {
    return this.#state === "streaming";
  }

  /**
   * When the slot did not exist and this stream made it: the LSN it starts from (the WAL position then), not
   * where an earlier stream stopped.
   */
  get slotCreatedAt(): bigint | undefined {
    return this.#slotCreatedAt;
  }

  /** Resolves once the server accepted START_REPLICATION. Rejects (and closes) if it did not; onError is not called then. */
  start(): Promise<void> {
    if (this.#state !== "new") return Promise.reject(new ReplicationError("replication_already_started", "start() was already called"));
    this.#state = "starting";
    this.#starting = this.#open();
    return this.#starting;
  }

  /** Everything up to and including the transaction committed at `lsn` is durably handled. */
  acknowledge(lsn: bigint): void {
    const queue = this.#unacknowledged;
    for (let head = queue[0]; head !== undefined && head.commitLsn <= lsn; head = queue[0]) {
      queue.shift();
      if (head.endLsn > this.#confirmed) this.#confirmed = head.endLsn;
    }
    this.#advanceWhenIdle();
  }

  /** Stops reading from the server (ingestion is behind); status updates still go out. */
  pause(): void {
    this.#copy?.stream.pause();
  }

  resume(): void {
    this.#copy?.stream.resume();
  }

  stop(): Promise<void> {
    this.#stopping ??= this.#close();
    return this.#stopping;
  }

  async #open(): Promise<void> {
    const { client, copy } = replicationClient(this.opts.connectionString);
    this.#client = client;
    this.#copy = copy;
    // An 'error' event without a listener would crash the process.
    client.on("error", (err) => this.#fail(err));
    copy.on("copyData", (msg) => this.#onCopyData(msg.chunk));
    try {
      await client.connect();
      this.#slotCreatedAt = await ensureSlot(client, this.opts.slotName);
      await this.#startReplication(client, copy);
    } catch (err) {
      this.#state = "stopped";
      await this.#endClient();
      throw err;
    }
  }

  #startReplication(client: pg.Client, copy: CopyBothConnection): Promise<void> {
    const { slotName, publicationName } = this.opts;
    const sql =
      `START_REPLICATION SLOT ${quoteIdent(slotName)} LOGICAL 0/0 ` +
      `(proto_version '1', publication_names ${quoteLiteral(quoteIdent(publicationName))}, messages 'true')`;
    return new Promise((resolve, reject) => {
      const begun = () => {
        // Set synchronously: CopyData can follow in the same socket read, before any await resumes.
        this.#state = this.#stopRequested ? "stopping" : "streaming";
        this.#timer = setInterval(() => this.#sendStatus(), this.opts.statusIntervalMs ?? 1000);
        resolve();
      };
      copy.once("replicationStart", begun);
      // The query only settles when streaming ends, so it is watched, never awaited.
      this.#queryDone = client.query(sql).then(
        () => {
          copy.removeListener("replicationStart", begun);
          if (this.#state === "starting") reject(new ReplicationError("replication_not_started", "START_REPLICATION ended without streaming"));
          else this.#fail(new ReplicationError("replication_stream_ended", "the server ended the replication stream"));
        },
        (err: Error) => {
          copy.removeListener("replicationStart", begun);
          if (this.#state === "starting") reject(err);
          else this.#fail(err);
        },
      );
    });
  }

  async #close(): Promise<void> {
    this.#stopRequested = true;
    if (this.#state === "new") this.#state = "stopped";
    if (this.#starting) {
      try {
        await this.#starting;
      } catch {
        // start() reported this failure to its own caller and closed the connection.
      }
    }
    if (this.#state === "streaming" || this.#state === "stopping") {
      this.#state = "stopping";
      this.#clearTimer();
      // The walsender reads these in order: our last position is recorded, then CopyDone ends COPY mode,
      // START_REPLICATION completes and the connection can say goodbye instead of being cut.
      this.#sendStatus();
      this.#copy?.endCopyFrom();
      await settleWithin(this.#queryDone, STOP_GRACE_MS);
    }
    this.#state = "stopped";
    this.#clearTimer();
    await this.#endClient();
  }

  #fail(err: Error): void {
    // While starting, start() rejects with the failing query's error; while stopping, errors are the close itself.
    if (this.#state !== "streaming") return;
    this.#state = "stopped";
    this.#clearTimer();
    void this.#endClient();
    this.opts.onError?.(err);
  }

  #endClient(): Promise<void> {
    this.#ending ??= this.#client ? this.#client.end() : Promise.resolve();
    return this.#ending;
  }

  #clearTimer(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #sendStatus(): void {
    if (this.#state !== "streaming" && this.#state !== "stopping") return;
    this.#copy?.sendCopyFromChunk(encodeStandbyStatus(this.#confirmed, new Date()));
  }

  /**
   * With nothing delivered-but-unacknowledged and no transaction half-received, every transaction
   * committed before the server's sent position is handled, so that position may be confirmed:
   * this is what lets an idle slot (or one whose changes are all filtered out) advance.
   */
  #advanceWhenIdle(): void {
    if (this.#tx === undefined && this.#unacknowledged.length === 0 && this.#serverSent > this.#confirmed) {
      this.#confirmed = this.#serverSent;
    }
  }

  #onCopyData(chunk: Buffer): void {
    // After stop() or a failure the rest is dropped unacknowledged; the slot replays it next time.
    if (this.#state !== "streaming") return;
    try {
      const frame = decodeReplicationFrame(chunk);
      if (frame.kind === "xlogdata") {
        this.#handle(decodePgoutput(frame.data));
        return;
      }
      if (frame.walEnd > this.#serverSent) this.#serverSent = frame.walEnd;
      this.#advanceWhenIdle();
      if (frame.replyRequested) this.#sendStatus();
    } catch (err) {
      this.#fail(err instanceof Error ? err : new Error(String(err)));
    }
  }

  #handle(m: PgoutputMessage): void {
    switch (m.tag) {
      case "begin":
        if (this.#tx) throw protocolViolation("Begin inside a transaction");
        this.#tx = { xid: m.xid, commitLsn: m.finalLsn, commitTime: m.commitTime, changes: [] };
        return;
      case "commit": {
        const tx = this.#inTx(m.tag);
        this.#tx = undefined;
        if (tx.commitLsn !== m.commitLsn) throw protocolViolation("Commit LSN differs from Begin's final LSN");
        // Queued before the callback so it may acknowledge synchronously.
        this.#unacknowledged.push({ commitLsn: m.commitLsn, endLsn: m.endLsn });
        this.#lastCommitLsn = m.commitLsn;
        this.opts.onTransaction(tx);
        return;
      }
      case "relation":
        this.#onRelation(m);
        return;
      case "insert": {
        const relation = this.#relation(m.relationId);
        this.#inTx(m.tag).changes.push({ kind: "insert", relation, new: toRow(relation, m.new) });
        return;
      }
      case "update": {
        const relation = this.#relation(m.relationId);
        const old = m.old ? oldRow(relation, m.old) : undefined;
        const next = toRow(relation, m.new, old);
        const change: Change = old ? { kind: "update", relation, new: next, old } : { kind: "update", relation, new: next };
        this.#inTx(m.tag).changes.push(change);
        return;
      }
      case "delete": {
        const relation = this.#relation(m.relationId);
        this.#inTx(m.tag).changes.push({ kind: "delete", relation, old: oldRow(relation, m.old) });
        return;
      }
      case "truncate": {
        const relations = m.relationIds.map((id) => this.#relation(id));
        this.#inTx(m.tag).changes.push({ kind: "truncate", relations });
        return;
      }
      case "type":
      case "origin":
      case "message":
        // Columns already carry type oids; origins and logical messages are not table history.
        return;
      default:
        throw protocolViolation(`unhandled message ${JSON.stringify(m satisfies never)}`);
    }
  }

  #inTx(tag: string): Transaction {
    if (!this.#tx) throw protocolViolation(`${tag} outside a transaction`);
    return this.#tx;
  }

  #relation(id: number): Relation {
    const relation = this.#relations.get(id);
    if (!relation) throw protocolViolation(`change for relation ${id} before its Relation message`);
    return relation;
  }

  #onRelation(m: RelationMessage): void {
    const after: Relation = {
      id: m.relationId,
      schema: m.namespace === "" ? "pg_catalog" : m.namespace,
      name: m.name,
      replicaIdentity: m.replicaIdentity,
      columns: m.columns.map((c) => ({ name: c.name, typeOid: c.typeOid, typeMod: c.typeMod, isKey: c.isKey })),
    };
    const before = this.#relations.get(after.id);
    // Changes already decoded keep the Relation object they were decoded with.
    this.#relations.set(after.id, after);
    // The server resends Relation after every reconnect and cache invalidation; only a real difference counts.
    if (before && !sameShape(before, after)) this.opts.onRelationChanged?.(before, after);
  }
}

function protocolViolation(message: string): ReplicationError {
  return new ReplicationError("replication_protocol_violation", message);
}

function sameShape(a: Relation, b: Relation): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/**
 * Tuple → Row by relation column order. Unchanged TOAST values are not sent: they are taken from
 * `fallback` (the old row, present with REPLICA IDENTITY FULL) or left absent. Object.fromEntries
 * defines own properties, so even a column named `__proto__` survives.
 */
function toRow(relation: Relation, tuple: TupleData, fallback?: Row, keyOnly = false): Row {
  if (tuple.length !== relation.columns.length) {
    throw protocolViolation(`${relation.schema}.${relation.name}: tuple has ${tuple.length} columns, relation ${relation.columns.length}`);
  }
  const entries: [string, string | null][] = [];
  relation.columns.forEach((column, i) => {
    const value = tuple[i];
    if (value === undefined || (keyOnly && !column.isKey)) return;
    if (value.kind === "null") entries.push([column.name, null]);
    else if (value.kind === "text") entries.push([column.name, value.value]);
    else if (fallback && Object.hasOwn(fallback, column.name)) entries.push([column.name, fallback[column.name] ?? null]);
  });
  return Object.fromEntries(entries);
}

/** A 'K' old tuple holds only replica identity columns; the others arrive as nulls that mean "not sent", not NULL. */
function oldRow(relation: Relation, old: OldTuple): Row {
  return toRow(relation, old.tuple, undefined, old.kind === "key");
}

async function settleWithin(promise: Promise<void> | undefined, ms: number): Promise<void> {
  if (!promise) return;
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([promise, new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}

function assertSlotName(name: string): void {
  if (!SLOT_NAME.test(name)) {
    throw new ReplicationError("invalid_slot_name", `slot name must be 1-63 of a-z, 0-9, _: ${JSON.stringify(name)}`);
  }
}

function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

function quoteLiteral(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

function hasSqlState(err: unknown, code: string): boolean {
  return err instanceof Error && (err as Error & { code?: unknown }).code === code;
}

/**
 * Creates the permanent pgoutput slot unless it exists. `client` must be a replication connection
 * (replication commands accept no parameters, hence the validated, quoted name). When it was created: the
 * LSN it starts from (its consistent point: every transaction committed after it will be streamed).
 */
export async function ensureSlot(client: pg.Client, slotName: string): Promise<bigint | undefined> {
  assertSlotName(slotName);
  try {
    const { rows } = await client.query<{ consistent_point: string }>(`CREATE_REPLICATION_SLOT ${quoteIdent(slotName)} LOGICAL pgoutput NOEXPORT_SNAPSHOT`);
    return parseLsn(rows[0]?.consistent_point ?? "0/0");
  } catch (err) {
    if (hasSqlState(err, "42710")) return undefined; // duplicate_object: it already exists
    throw err;
  }
}

/** Drops a slot if it exists, terminating the walsender holding it first. True if a slot was dropped. */
export async function dropSlot(connectionString: string, slotName: string): Promise<boolean> {
  const client = new pg.Client({ connectionString, options: SESSION_OPTIONS });
  await client.connect();
  try {
    const deadline = Date.now() + DROP_SLOT_DEADLINE_MS;
    for (;;) {
      await client.query(
        "select pg_terminate_backend(active_pid) from pg_replication_slots where slot_name = $1 and active_pid is not null",
        [slotName],
      );
      try {
        const result = await client.query(
          "select pg_drop_replication_slot(slot_name) from pg_replication_slots where slot_name = $1",
          [slotName],
        );
        return (result.rowCount ?? 0) > 0;
      } catch (err) {
        // object_in_use: the terminated walsender has not released the slot yet.
        if (!hasSqlState(err, "55006") || Date.now() > deadline) throw err;
        await new Promise((resolve) => setTimeout(resolve, 20 + Math.random() * 80));
      }
    }
  } finally {
    await client.end();
  }
}
