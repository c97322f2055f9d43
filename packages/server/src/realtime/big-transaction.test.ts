// A transaction bigger than a shape's whole log budget, followed by small ones, must reach every reader
// (SPEC L2): it used to vanish, leaving readers with 11 of 20,011 rows and no 409.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { Shape, ShapeStream, type Row } from "@electric-sql/client";
import { startTestNode, waitFor, type TestNode } from "../testing/node.ts";
import { ShapeReader } from "../testing/shape-reader.ts";

let node: TestNode;
const controller = new AbortController();
const readers: ShapeReader[] = [];

before(async () => {
  node = await startTestNode({ maxSubscriptions: 100 });
  await node.userPool.query("CREATE TABLE big (id integer PRIMARY KEY, body text NOT NULL)");
  await node.userPool.query("INSERT INTO big SELECT g, 'seed' FROM generate_series(1, 9) g");
});

after(async () => {
  controller.abort();
  await Promise.all(readers.map((r) => r.stop()));
  await node?.stop();
});

test("a transaction bigger than the log, then two small ones: long-poll, SSE and Electric SSE readers all end with every row (SPEC L2)", async () => {
  const url = `${node.url}/v1/shape?table=big`;
  const longPoll = new ShapeReader({ url, token: node.secretKey }).start();
  const sse = new ShapeReader({ url, token: node.secretKey, sse: true }).start();
  readers.push(longPoll, sse);
  const stream = new ShapeStream<Row>({
    url: `${node.url}/v1/shape`,
    params: { table: "big" },
    headers: { Authorization: `Bearer ${node.secretKey}` },
    liveSse: true,
    signal: controller.signal,
  });
  const electric = new Shape(stream);
  await waitFor(() => longPoll.upToDate && sse.upToDate && electric.currentRows.length === 9, "the readers to hold the 9 seed rows");

  // ~20 MB of JSON in one transaction: with its SSE form, beyond the 16 MiB log budget on its own.
  await node.userPool.query("INSERT INTO big SELECT g, repeat('x', 1000) FROM generate_series(10, 20009) g");
  await node.userPool.query("INSERT INTO big VALUES (20010, 'small')");
  await node.userPool.query("INSERT INTO big VALUES (20011, 'small')");

  await waitFor(
    () => {
      longPoll.check();
      sse.check();
      return longPoll.rows.size === 20_011 && sse.rows.size === 20_011 && electric.currentRows.length === 20_011;
    },
    "every reader to hold 20,011 rows",
    60_000,
  );
  assert.deepEqual(longPoll.violations, []);
  assert.deepEqual(sse.violations, []);
  const bodies = new Set([...longPoll.rows.values()].map((r) => r.body?.length));
  assert.deepEqual([...bodies].sort((a, b) => (a ?? 0) - (b ?? 0)), [4, 5, 1000]);
});
