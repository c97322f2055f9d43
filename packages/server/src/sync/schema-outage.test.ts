// A schema change made while replication is down reaches live readers as must-refetch, even when nobody
// writes to the table afterwards and no event trigger records it (SPEC S2).
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { startTestNode, waitFor, type TestNode } from "../testing/node.ts";
import { ShapeReader } from "../testing/shape-reader.ts";
import { ReplicationStream } from "./replication.ts";

let node: TestNode;
let reader: ShapeReader | undefined;
let thief: ReplicationStream | undefined;

before(async () => {
  node = await startTestNode();
  // As with a role that may not create event triggers: only the replication stream can tell.
  await node.pool.query("DROP EVENT TRIGGER IF EXISTS runcast_ddl");
  await node.userPool.query("CREATE TABLE sch (id integer PRIMARY KEY, v text)");
  await node.userPool.query("INSERT INTO sch VALUES (1, 'a')");
});

after(async () => {
  await thief?.stop();
  await reader?.stop();
  await node?.stop();
});

/** Takes the node's replication slot away (its walsender is terminated and the slot held here), so the node stays disconnected. */
async function holdSlot(): Promise<ReplicationStream> {
  const { rows } = await node.pool.query<{ slot_name: string }>("SELECT slot_name FROM pg_replication_slots WHERE database = current_database()");
  const slotName = rows[0]!.slot_name;
  for (let attempt = 0; attempt < 20; attempt++) {
    await node.pool.query("SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE slot_name = $1 AND active_pid IS NOT NULL", [slotName]);
    const stream = new ReplicationStream({ connectionString: node.databaseUrl, slotName, publicationName: "runcast", onTransaction: () => {} });
    try {
      await stream.start();
      return stream;
    } catch {
      // The node reconnected first: try again.
    }
  }
  throw new Error("could not take the replication slot from the node");
}

test("ALTER TABLE while replication is down, no write after: readers get must-refetch and the new column (SPEC S2)", async () => {
  reader = new ShapeReader({ url: `${node.url}/v1/shape?table=sch`, token: node.secretKey }).start();
  await waitFor(() => reader!.upToDate && reader!.rows.size === 1, "the reader to hold the row");
  thief = await holdSlot();
  await waitFor(() => !node.sync.streaming, "the node to lose replication");
  await node.userPool.query("ALTER TABLE sch ADD COLUMN extra text DEFAULT 'x'");
  await thief.stop();
  thief = undefined;
  await waitFor(() => node.sync.streaming, "the node to reconnect", 30_000);
  await waitFor(() => reader!.refetches >= 1 && reader!.upToDate && [...reader!.rows.values()][0]?.extra === "x", "the reader to refetch with the new column", 30_000);
  reader.check();
  assert.deepEqual([...reader.rows.values()], [{ id: "1", v: "a", extra: "x" }]);
});
