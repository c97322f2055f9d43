import pg from "pg";
import { decodePgoutput, decodeReplicationFrame, encodeStandbyStatus } from "../../packages/server/src/sync/pgoutput/decode.ts";
import { connectClient } from "./postgres.ts";
import { sleep } from "./procs.ts";

/**
 * node-postgres speaks the replication protocol without declaring it: CopyBothResponse arrives as
 * 'replicationStart', CopyData as 'copyData'; CopyData and CopyDone are written with sendCopyFromChunk /
 * endCopyFrom (packages/server/src/sync/replication.ts drives the same connection the same way).
 */
interface CopyBoth {
  on(event: "copyData", listener: (msg: { chunk: Buffer }) => void): void;
  once(event: "replicationStart", listener: () => void): void;
  sendCopyFromChunk(chunk: Buffer): void;
  endCopyFrom(): void;
}

export interface PgoutputClientOptions {
  databaseUrl: string;
  /** Created here (permanent, pgoutput); dropped by `close()`. */
  slot: string;
  /** Must exist. */
  publication: string;
  /** Each committed transaction: the new-tuple text values of its updates, in order. */
  onCommit(updates: (string | null)[][]): void;
}

export interface PgoutputClient {
  close(): Promise<void>;
}

/**
 * A bare logical-replication client: its own slot, START_REPLICATION with pgoutput (proto_version 1),
 * every message decoded with the repository's pgoutput decoder, standby status updates so the slot
 * advances. It does no more than that: the floor under anything built on the replication stream.
 */
export async function startPgoutputClient(opts: PgoutputClientOptions): Promise<PgoutputClient> {
  const config: pg.ClientConfig & { replication: "database" } = { connectionString: opts.databaseUrl, replication: "database" };
  const client = await connectClient(config);
  const copy = client.connection as unknown as CopyBoth;
  await client.query(`CREATE_REPLICATION_SLOT ${opts.slot} LOGICAL pgoutput NOEXPORT_SNAPSHOT`);
  let flushed = 0n;
  let updates: (string | null)[][] = [];
  const status = () => copy.sendCopyFromChunk(encodeStandbyStatus(flushed, new Date()));
  copy.on("copyData", ({ chunk }) => {
    const frame = decodeReplicationFrame(chunk);
    if (frame.kind === "keepalive") {
      if (frame.replyRequested) status();
      return;
    }
    const m = decodePgoutput(frame.data);
    if (m.tag === "begin") updates = [];
    else if (m.tag === "update") updates.push(m.new.map((c) => (c.kind === "text" ? c.value : null)));
    else if (m.tag === "commit") {
      flushed = m.endLsn;
      opts.onCommit(updates);
    }
  });
  const streaming = new Promise<void>((r) => copy.once("replicationStart", r));
  const done = client
    .query(`START_REPLICATION SLOT ${opts.slot} LOGICAL 0/0 (proto_version '1', publication_names '${opts.publication}')`)
    .then(
      () => undefined,
      () => undefined,
    );
  await streaming;
  const timer = setInterval(status, 1_000);
  return {
    async close() {
      clearInterval(timer);
      status();
      copy.endCopyFrom();
      await Promise.race([done, sleep(5_000)]);
      await client.end().catch(() => {});
      await dropSlot(opts.databaseUrl, opts.slot);
    },
  };
}

/** Drops a replication slot once its walsender has let go of it. */
export async function dropSlot(databaseUrl: string, slot: string): Promise<void> {
  const admin = await connectClient({ connectionString: databaseUrl });
  try {
    for (let i = 0; ; i++) {
      try {
        await admin.query("SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1", [slot]);
        return;
      } catch (err) {
        // 55006: the walsender has not let go of the slot yet.
        if ((err as { code?: string }).code !== "55006" || i > 100) throw err;
        await sleep(50);
      }
    }
  } finally {
    await admin.end();
  }
}
