import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { startTestNode, type TestNode } from "../testing/node.ts";

let node: TestNode;

before(async () => {
  // A small log: 30 updates push the first ones out of it.
  node = await startTestNode({ shapeLogBytes: 3_000 });
  await node.userPool.query("CREATE TABLE events (id integer PRIMARY KEY, n integer NOT NULL)");
  await node.userPool.query("INSERT INTO events VALUES (1, 0)");
});

after(async () => {
  await node?.stop();
});

const get = (q: string) => fetch(`${node.url}/v1/shape?table=events&${q}`, { headers: { authorization: `Bearer ${node.secretKey}` } });

async function head(q: string): Promise<{ status: number; handle: string; offset: string; n: string[] }> {
  const r = await get(q);
  const body = r.status === 200 ? ((await r.json()) as { value?: { n: string } }[]) : (await r.body?.cancel(), []);
  return { status: r.status, handle: r.headers.get("electric-handle")!, offset: r.headers.get("electric-offset")!, n: body.flatMap((m) => (m.value ? [m.value.n] : [])) };
}

test("a reader behind the log gets 409 and a new handle; the old handle is never handed out again; readers not behind carry on (SPEC H2, L2)", async () => {
  const first = await head("offset=-1");
  for (let i = 1; i <= 30; i++) await node.userPool.query("UPDATE events SET n = $1 WHERE id = 1", [i]);
  // A reader that kept up: it is at the newest offset, on the first handle.
  const current = await head("offset=-1");
  assert.equal(current.handle, first.handle);

  const behind = await head(`offset=${first.offset}&handle=${first.handle}`);
  assert.equal(behind.status, 409);
  assert.ok(behind.handle && behind.handle !== first.handle);

  // The official client now remembers first.handle as expired: nobody starting over may get it again.
  for (const q of ["offset=-1", `offset=-1&handle=${first.handle}`, `offset=-1&handle=${behind.handle}`, "offset=now"]) {
    const r = await head(q);
    assert.equal(r.handle, behind.handle, q);
  }
  const refetch = await head(`offset=-1&handle=${behind.handle}`);
  assert.deepEqual(refetch.n, ["30"]);
  const next = await head(`offset=${refetch.offset}&handle=${behind.handle}`);
  assert.equal(next.status, 200);

  // A reader with the original handle at a recent offset is not disturbed, and keeps its handle.
  const steady = await head(`offset=${current.offset}&handle=${first.handle}`);
  assert.equal(steady.status, 200);
  assert.equal(steady.handle, first.handle);
  assert.equal(node.sync.registry.size, 1, "still one shape");
});

test("a shape's old handles are bounded; one that fell out is taken over like another node's when its reader is not behind (SPEC H2, H3)", async () => {
  const handles: string[] = [];
  let stale = await head("offset=-1");
  const start = stale;
  for (let round = 0; round < 10; round++) {
    for (let i = 0; i < 30; i++) await node.userPool.query("UPDATE events SET n = n + 1 WHERE id = 1");
    const r = await head(`offset=${stale.offset}&handle=${stale.handle}`);
    assert.equal(r.status, 409);
    handles.push(r.handle);
    stale = await head("offset=-1");
  }
  assert.equal(new Set(handles).size, 10, "every start-over got a new handle");
  // The first handle was retired long ago and has fallen out of the bounded set: a reader on it that holds
  // the current state carries on (the handle names the same definition, H3); one behind starts over.
  const current = await head(`offset=${stale.offset}&handle=${start.handle}`);
  assert.equal(current.status, 200);
  const behind = await head(`offset=${start.offset}&handle=${start.handle}`);
  assert.equal(behind.status, 409);
  assert.equal(behind.handle, stale.handle);
  // The newest retired handle is still good for a reader that is not behind.
  const recent = await head(`offset=${stale.offset}&handle=${handles[8]}`);
  assert.equal(recent.status, 200);
});
