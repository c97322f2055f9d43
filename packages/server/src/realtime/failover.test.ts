// A reader moving between nodes (sync/SPEC.md H3, O3): a handle names a definition on every node, offsets are
// positions in the one WAL, and a node takes over another's reader from its offset out of the transactions it
// applied lately: nothing lost, nothing repeated, no start-over. Only when it cannot (the offset predates what
// it knows) the reader gets one clean 409.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { ShapeStream, type Message, type Row } from "@electric-sql/client";
import { startTestNode, type TestNode } from "../testing/node.ts";

let a: TestNode;
let b: TestNode;

before(async () => {
  a = await startTestNode({ nodeId: "failover_a" });
  b = await startTestNode({ nodeId: "failover_b" }, a.db);
  await a.userPool.query("CREATE TABLE items (id integer PRIMARY KEY, n integer NOT NULL, tag text NOT NULL)");
  await a.userPool.query("INSERT INTO items SELECT i, 0, CASE WHEN i % 2 = 0 THEN 'even' ELSE 'odd' END FROM generate_series(1, 6) i");
});

after(async () => {
  await b?.stop();
  await a?.stop();
});

interface Answer {
  status: number;
  handle: string;
  offset: string;
  messages: { key?: string; value?: Record<string, string>; headers: { operation?: string; control?: string } }[];
}

async function get(node: TestNode, path: string, q: Record<string, string>): Promise<Answer> {
  const res = await fetch(`${node.url}${path}${path.includes("?") ? "&" : "?"}${new URLSearchParams(q)}`, { headers: { authorization: `Bearer ${node.secretKey}` } });
  const messages = res.status === 200 ? ((await res.json()) as Answer["messages"]) : (await res.arrayBuffer(), []);
  return { status: res.status, handle: res.headers.get("electric-handle") ?? "", offset: res.headers.get("electric-offset") ?? "", messages };
}

/**
 * Reads on until up to date with at least `least` changes (the writes the test just made: held live requests
 * wait for those the node has not applied yet); the changes in order as "op:id:n".
 */
async function catchUp(node: TestNode, path: string, handle: string, offset: string, least = 0): Promise<{ status: number; offset: string; changes: string[] }> {
  const changes: string[] = [];
  let upToDate = false;
  for (;;) {
    const r = await get(node, path, { handle, offset, ...(upToDate ? { live: "true" } : {}) });
    if (r.status !== 200) return { status: r.status, offset, changes };
    for (const m of r.messages) if (m.headers.operation) changes.push(`${m.headers.operation}:${m.value?.id}:${m.value?.n ?? ""}`);
    offset = r.offset;
    upToDate ||= r.messages.some((m) => m.headers.control === "up-to-date");
    if (upToDate && changes.length >= least) return { status: 200, offset, changes };
  }
}

const SHAPE = "/v1/shape?table=items&where=tag%20%3D%20'even'";

test("a reader moves from node A to node B with its handle and offset: B serves exactly what it missed, then both serve the same", async () => {
  const snap = await get(a, SHAPE, { offset: "-1" });
  assert.equal(snap.status, 200);
  assert.deepEqual(snap.messages.filter((m) => m.value).map((m) => m.value?.id).sort(), ["2", "4", "6"]);

  await a.userPool.query("UPDATE items SET n = 1 WHERE id = 2");
  await a.userPool.query("UPDATE items SET n = 1 WHERE id = 3"); // not in the shape
  const onA = await catchUp(a, SHAPE, snap.handle, snap.offset, 1);
  assert.deepEqual(onA.changes, ["update:2:1"]);

  // While the reader is away: an update, a row moving out of the where clause, one moving in, an insert, a delete.
  await a.userPool.query("UPDATE items SET n = 2 WHERE id = 4");
  await a.userPool.query("UPDATE items SET tag = 'odd' WHERE id = 6");
  await a.userPool.query("UPDATE items SET tag = 'even', n = 5 WHERE id = 5");
  await a.userPool.query("INSERT INTO items VALUES (8, 8, 'even')");
  await a.userPool.query("DELETE FROM items WHERE id = 2");

  // B never saw this shape: it takes the reader over from its offset.
  const onB = await catchUp(b, SHAPE, snap.handle, onA.offset, 5);
  assert.equal(onB.status, 200, "no start-over");
  assert.deepEqual(onB.changes, ["update:4:2", "delete:6:", "insert:5:5", "insert:8:8", "delete:2:"]);
  // What A would have said from the same offset is the same.
  const sameOnA = await catchUp(a, SHAPE, snap.handle, onA.offset, 5);
  assert.deepEqual(sameOnA.changes, onB.changes);
  assert.equal(sameOnA.offset, onB.offset, "the same position on both nodes");

  // And on: live on B, then back to A.
  const live = fetch(`${b.url}${SHAPE}&${new URLSearchParams({ handle: snap.handle, offset: onB.offset, live: "true" })}`, { headers: { authorization: `Bearer ${b.secretKey}` } });
  await new Promise((r) => setTimeout(r, 100));
  await a.userPool.query("UPDATE items SET n = 9 WHERE id = 8");
  const res = await live;
  const liveChanges = ((await res.json()) as Answer["messages"]).filter((m) => m.headers.operation).map((m) => `${m.headers.operation}:${m.value?.id}:${m.value?.n ?? ""}`);
  assert.deepEqual(liveChanges, ["update:8:9"]);
  const back = await catchUp(a, SHAPE, snap.handle, res.headers.get("electric-offset") ?? "");
  assert.deepEqual(back.changes, [], "nothing repeated back on A");
});

test("a reader holding only a snapshot (no change yet) moves too: a snapshot's offset is a position, the same on every node", async () => {
  const path = "/v1/shape?table=items&where=id%20%3D%201";
  const snap = await get(a, path, { offset: "-1" });
  assert.match(snap.offset, /^\d+_0$/);
  await a.userPool.query("UPDATE items SET n = 7 WHERE id = 1");
  const onB = await catchUp(b, path, snap.handle, snap.offset, 1);
  assert.equal(onB.status, 200);
  assert.deepEqual(onB.changes, ["update:1:7"]);
});

test("a node whose stream lags makes the shape from a snapshot that already sees a change: a reader moving there from its offset before that change still gets it, once (SPEC H3)", async () => {
  const path = "/v1/shape?table=items&where=id%20%3D%203";
  const snap = await get(a, path, { offset: "-1" });
  await a.userPool.query("UPDATE items SET n = 21 WHERE id = 3");
  const onA = await catchUp(a, path, snap.handle, snap.offset, 1);
  assert.deepEqual(onA.changes, ["update:3:21"]);
  // B has applied everything so far, then its stream stalls.
  const deadline = Date.now() + 10_000;
  while (b.sync.registry.lastLsn < a.sync.registry.lastLsn) {
    assert.ok(Date.now() < deadline, "B catches up");
    await new Promise((r) => setTimeout(r, 20));
  }
  const resume = b.sync.holdStream();
  try {
    // A change B has not streamed yet; B's first reader of this shape makes it from a snapshot that sees it.
    await a.userPool.query("UPDATE items SET n = 22 WHERE id = 3");
    const fresh = await get(b, path, { offset: "-1" });
    assert.deepEqual(fresh.messages.filter((m) => m.value).map((m) => m.value?.n), ["22"]);
  } finally {
    resume();
  }
  // The reader from A arrives with A's handle and its offset before that change, and nothing else is written:
  // the change is in B's snapshot rows, not in its log, and must still reach the reader.
  const onB = await catchUp(b, path, snap.handle, onA.offset, 1);
  assert.equal(onB.status, 200, "no start-over");
  assert.deepEqual(onB.changes, ["update:3:22"]);
  await a.userPool.query("UPDATE items SET n = 23 WHERE id = 3");
  const next = await catchUp(b, path, snap.handle, onB.offset, 1);
  assert.deepEqual(next.changes, ["update:3:23"], "then on, each change once");
});

test("the realtime run route moves between nodes the same way", async () => {
  const res = await fetch(`${a.url}/api/v1/tasks/failover-task/trigger`, {
    method: "POST",
    headers: { authorization: `Bearer ${a.secretKey}`, "content-type": "application/json" },
    body: JSON.stringify({ payload: { n: 1 } }),
  });
  const { id } = (await res.json()) as { id: string };
  const path = `/realtime/v1/runs/${id}`;
  const snap = await get(a, path, { offset: "-1" });
  assert.equal(snap.status, 200);
  for (let i = 1; i <= 3; i++) await a.userPool.query("UPDATE runcast_internal.runs SET metadata = jsonb_build_object('step', $2::int) WHERE id = $1", [id, i]);
  const steps: string[] = [];
  let offset = snap.offset;
  for (;;) {
    const r = await get(b, path, { handle: snap.handle, offset });
    assert.equal(r.status, 200, "B takes the run feed over");
    for (const m of r.messages) if (m.value?.metadata) steps.push(m.value.metadata);
    offset = r.offset;
    if (r.messages.some((m) => m.headers.control === "up-to-date")) break;
  }
  assert.deepEqual(steps.map((s) => (JSON.parse(s) as { step: number }).step), [1, 2, 3]);
});

test("the official Electric client, moved to another node mid-stream, carries on without a must-refetch", async () => {
  const path = "/v1/shape";
  let target = a;
  let refetches = 0;
  const seen: string[] = [];
  const controller = new AbortController();
  const stream = new ShapeStream<Row>({
    url: `${a.url}${path}`,
    params: { table: "items", where: "tag = 'odd'" },
    headers: { Authorization: `Bearer ${a.secretKey}` },
    signal: controller.signal,
    // The load balancer: every request goes to the current node.
    fetchClient: (input, init) => fetch(String(input instanceof Request ? input.url : input).replace(a.url, target.url), init),
  });
  let upToDate = false;
  stream.subscribe((messages: Message<Row>[]) => {
    for (const m of messages) {
      if ("key" in m) seen.push(`${m.headers.operation}:${String(m.value.id)}:${String(m.value.n)}`);
      else if (m.headers.control === "must-refetch") refetches++;
      else if (m.headers.control === "up-to-date") upToDate = true;
    }
  });
  const until = async (what: string, ok: () => boolean) => {
    const deadline = Date.now() + 10_000;
    while (!ok()) {
      if (Date.now() > deadline) throw new Error(`timed out: ${what} (seen ${seen.join(" ")})`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  try {
    await until("the snapshot", () => upToDate);
    const before = seen.length;
    await a.userPool.query("UPDATE items SET n = 11 WHERE id = 3");
    await until("the first update", () => seen.includes("update:3:11"));
    target = b; // A leaves the pool: the next request (the held one is answered first) goes to B.
    await a.userPool.query("UPDATE items SET n = 12 WHERE id = 3");
    await a.userPool.query("UPDATE items SET n = 13 WHERE id = 3");
    await until("the updates through B", () => seen.includes("update:3:13"));
    assert.equal(refetches, 0, "no must-refetch");
    assert.deepEqual(seen.slice(before), ["update:3:11", "update:3:12", "update:3:13"], "each change once, in order");
  } finally {
    controller.abort();
  }
});

test("a node that cannot know what a reader missed (its offset is older than anything this node streamed) answers one clean 409", async () => {
  const snap = await get(a, SHAPE, { offset: "-1" });
  await a.userPool.query("UPDATE items SET n = 3 WHERE id = 4");
  // A node started after that offset: its slot begins later, so it never had those transactions.
  const c = await startTestNode({ nodeId: "failover_c" }, a.db);
  try {
    const r = await get(c, SHAPE, { handle: snap.handle, offset: snap.offset });
    assert.equal(r.status, 409);
    assert.ok(r.handle && r.handle !== snap.handle);
    const fresh = await get(c, SHAPE, { offset: "-1", handle: r.handle });
    assert.equal(fresh.status, 200);
    assert.ok(fresh.messages.some((m) => m.value?.id === "4" && m.value.n === "3"));
  } finally {
    await c.stop();
  }
});
