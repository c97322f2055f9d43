import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { Shape, ShapeStream, type Row } from "@electric-sql/client";
import type { EmbeddedDatabase } from "../db/embedded.ts";
import { startTestPostgres } from "../testing/pg.ts";
import { startTestNode, waitFor, type TestNode } from "../testing/node.ts";

let db: EmbeddedDatabase;
let node: TestNode | undefined;
const controller = new AbortController();

before(async () => {
  db = await startTestPostgres();
});

after(async () => {
  controller.abort();
  await node?.stop();
  await db?.stop();
});

test("after a restart an old handle gets 409 must-refetch with a new handle, and the client recovers", async () => {
  node = await startTestNode({}, db);
  await node.userPool.query("CREATE TABLE things (id integer PRIMARY KEY, name text)");
  await node.userPool.query("INSERT INTO things VALUES (1, 'a')");
  const auth = { authorization: `Bearer ${node.secretKey}` };
  const first = await fetch(`${node.url}/v1/shape?table=things&offset=-1`, { headers: auth });
  const handle = first.headers.get("electric-handle")!;
  const offset = first.headers.get("electric-offset")!;
  await first.body?.cancel();
  const key = node.secretKey;
  await node.stop();
  node = await startTestNode({}, db);
  await node.userPool.query("INSERT INTO things VALUES (2, 'b')");
  const stale = await fetch(`${node.url}/v1/shape?table=things&offset=${offset}&handle=${handle}`, { headers: { authorization: `Bearer ${key}` } });
  assert.equal(stale.status, 409);
  const fresh = stale.headers.get("electric-handle");
  assert.ok(fresh && fresh !== handle, "a new handle, never the old one");
  assert.deepEqual(await stale.json(), [{ headers: { control: "must-refetch" } }]);

  const stream = new ShapeStream<Row>({
    url: `${node.url}/v1/shape`,
    params: { table: "things" },
    headers: { Authorization: `Bearer ${key}` },
    handle,
    offset: offset as `${number}_${number}`,
    signal: controller.signal,
  });
  const shape = new Shape(stream);
  await waitFor(() => JSON.stringify(shape.currentRows.map((r) => r.id).sort()) === "[1,2]", "the client to refetch");
  controller.abort();
  // The stopped node dropped its slot; the restarted one streams from its own: one slot, in use.
  const { rows } = await node.pool.query("SELECT slot_name, active FROM pg_replication_slots WHERE database = current_database()");
  assert.equal(rows.length, 1, "one slot: the stopped node left none behind");
  assert.match(rows[0].slot_name, /^runcast_/);
  assert.equal(rows[0].active, true);
});
