import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { startTestNode, type TestNode } from "../testing/node.ts";

let node: TestNode;

before(async () => {
  node = await startTestNode({ shapeLogEntries: 10 });
  await node.pool.query("CREATE TABLE events (id integer PRIMARY KEY, n integer NOT NULL)");
  await node.pool.query("INSERT INTO events VALUES (1, 0)");
});

after(async () => {
  await node?.stop();
});

const get = (q: string) => fetch(`${node.url}/v1/shape?table=events&${q}`, { headers: { authorization: `Bearer ${node.secretKey}` } });

test("a reader behind the bounded log starts over under an alias; the others keep their handle (SPEC H2, L2)", async () => {
  const first = await get("offset=-1");
  const handle = first.headers.get("electric-handle")!;
  const oldOffset = first.headers.get("electric-offset")!;
  await first.body?.cancel();
  for (let i = 1; i <= 30; i++) await node.pool.query("UPDATE events SET n = $1 WHERE id = 1", [i]);
  // A reader that kept up: it is at the newest offset.
  const current = await get(`offset=-1`);
  const currentOffset = current.headers.get("electric-offset")!;
  await current.body?.cancel();

  const behind = await get(`offset=${oldOffset}&handle=${handle}`);
  assert.equal(behind.status, 409);
  const alias = behind.headers.get("electric-handle")!;
  assert.ok(alias && alias !== handle);
  await behind.body?.cancel();

  // The lagging reader refetches under its alias and gets the current row.
  const refetch = await get(`offset=-1&handle=${alias}`);
  assert.equal(refetch.headers.get("electric-handle"), alias);
  const rows = ((await refetch.json()) as { value?: { n: string } }[]).filter((m) => m.value);
  assert.deepEqual(rows.map((m) => m.value!.n), ["30"]);
  const aliasOffset = refetch.headers.get("electric-offset")!;
  const viaAlias = await get(`offset=${aliasOffset}&handle=${alias}`);
  assert.equal(viaAlias.status, 200);
  await viaAlias.body?.cancel();

  // A reader with the original handle at a recent offset is not disturbed.
  const steady = await get(`offset=${currentOffset}&handle=${handle}`);
  assert.equal(steady.status, 200);
  assert.equal(steady.headers.get("electric-handle"), handle);
  await steady.body?.cancel();
  assert.equal(node.sync.registry.size, 1, "still one shape");
});
