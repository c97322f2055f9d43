import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { startTestNode, waitFor, type TestNode } from "../testing/node.ts";

let node: TestNode;

before(async () => {
  // Each shape may keep a lot, but the node's shapes together only a few kilobytes (SPEC L2).
  node = await startTestNode({ shapeLogBytes: 16 * 1024 * 1024, shapeLogsTotalBytes: 8_000 });
  await node.userPool.query("CREATE TABLE items (id integer PRIMARY KEY, n integer NOT NULL)");
  await node.userPool.query("INSERT INTO items VALUES (1, 0), (2, 0)");
});

after(async () => {
  await node?.stop();
});

async function get(q: string): Promise<{ status: number; handle: string; offset: string; n: string[] }> {
  const r = await fetch(`${node.url}/v1/shape?table=items&${q}`, { headers: { authorization: `Bearer ${node.secretKey}` } });
  const body = r.status === 200 ? ((await r.json()) as { value?: { n: string } }[]) : (await r.body?.cancel(), []);
  return { status: r.status, handle: r.headers.get("electric-handle")!, offset: r.headers.get("electric-offset")!, n: body.flatMap((m) => (m.value ? [m.value.n] : [])) };
}

test("the node's shapes share one log budget: another shape's changes push a quiet shape's old changes out, its readers from before them get one 409, readers at its newest read on (SPEC L2)", async () => {
  const quiet = await get("where=id%3D1&offset=-1");
  assert.deepEqual(quiet.n, ["0"]);
  await node.userPool.query("UPDATE items SET n = 1 WHERE id = 1");
  await node.userPool.query("UPDATE items SET n = 2 WHERE id = 1");
  // Once the node has applied both (a read that is not live answers with what it has so far).
  const caughtUp = await waitFor(async () => {
    const r = await get(`where=id%3D1&offset=${quiet.offset}&handle=${quiet.handle}`);
    return r.status !== 200 || r.n.length >= 2 ? r : undefined;
  }, "both updates of the quiet shape");
  assert.equal(caughtUp.status, 200);
  assert.deepEqual(caughtUp.n, ["1", "2"], "nothing dropped yet: the quiet shape's log has both updates");

  // The busy shape exists, then writes far more than the node's budget.
  const busy = await get("where=id%3D2&offset=-1");
  for (let i = 1; i <= 40; i++) await node.userPool.query("UPDATE items SET n = $1 WHERE id = 2", [i]);
  // As the node applies them: the busy shape's own oldest changes go...
  await waitFor(async () => ((await get(`where=id%3D2&offset=${busy.offset}&handle=${busy.handle}`)).status === 409 ? true : undefined), "the busy shape's reader from its start to be behind (409)");
  // ...and the quiet shape's too: a reader from before its first update missed it, so one 409, never a gap.
  const behind = await waitFor(async () => {
    const r = await get(`where=id%3D1&offset=${quiet.offset}&handle=${quiet.handle}`);
    return r.status === 409 ? r : undefined;
  }, "the quiet shape's reader from before its updates to be behind (409)");
  // A reader that had its newest update is not behind: the newest chunk of a log always stays.
  const steady = await get(`where=id%3D1&offset=${caughtUp.offset}&handle=${quiet.handle}`);
  assert.equal(steady.status, 200);
  // And a reader that starts over gets every row as it is.
  const refetch = await get(`where=id%3D1&offset=-1&handle=${behind.handle}`);
  assert.deepEqual(refetch.n, ["2"]);
});
