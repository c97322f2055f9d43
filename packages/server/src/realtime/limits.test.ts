import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { startTestNode, waitFor, type TestNode } from "../testing/node.ts";

let node: TestNode;

before(async () => {
  node = await startTestNode({ maxSubscriptions: 3, longPollMs: 20_000 });
  await node.userPool.query("CREATE TABLE docs (id integer PRIMARY KEY, body text)");
  await node.userPool.query("INSERT INTO docs VALUES (1, 'x')");
});

after(async () => {
  await node?.stop();
});

const auth = () => ({ authorization: `Bearer ${node.secretKey}` });

test("live requests past RUNCAST_MAX_SUBSCRIPTIONS get a 429 naming the limit; slots come back", async () => {
  const first = await fetch(`${node.url}/v1/shape?table=docs&offset=-1`, { headers: auth() });
  const handle = first.headers.get("electric-handle")!;
  const offset = first.headers.get("electric-offset")!;
  await first.body?.cancel();
  const live = `${node.url}/v1/shape?table=docs&offset=${offset}&handle=${handle}&live=true`;
  const controllers = Array.from({ length: 3 }, () => new AbortController());
  const held = controllers.map((c) => fetch(live, { headers: auth(), signal: c.signal }).catch((e: unknown) => e));
  // Wait until the three are held by the server (the fourth then exceeds the limit).
  let over: Response | undefined;
  await waitFor(async () => {
    const r = await fetch(live, { headers: auth() });
    if (r.status === 429) return (over = r);
    await r.body?.cancel();
    return null;
  }, "the limit to be reached");
  const body = (await over!.json()) as { error: { code: string; message: string } };
  assert.equal(body.error.code, "too_many_subscriptions");
  assert.match(body.error.message, /RUNCAST_MAX_SUBSCRIPTIONS/);
  assert.match(body.error.message, /\b3\b/);
  // Non-live reads are not limited.
  const snapshot = await fetch(`${node.url}/v1/shape?table=docs&offset=-1`, { headers: auth() });
  assert.equal(snapshot.status, 200);
  await snapshot.body?.cancel();
  for (const c of controllers) c.abort();
  await Promise.all(held);
  // The aborted requests gave their slots back.
  await waitFor(async () => {
    let r: Response;
    try {
      r = await fetch(`${live}&cursor=1`, { headers: auth(), signal: AbortSignal.timeout(300) });
    } catch (err) {
      // Held until our own timeout: the server took a slot for it. Any other failure is a failure.
      if ((err as Error).name === "TimeoutError") return true;
      throw err;
    }
    await r.body?.cancel();
    assert.equal(r.status, 429, "a live request at an up-to-date offset is held, not answered, unless refused");
    return false;
  }, "slots to be released");
});

test("one shape is shared by every subscriber of the same definition", async () => {
  const before = node.sync.registry.size;
  const responses = await Promise.all(
    Array.from({ length: 200 }, () => fetch(`${node.url}/v1/shape?table=docs&offset=-1&where=${encodeURIComponent("id > 0")}`, { headers: auth() })),
  );
  const handles = new Set(responses.map((r) => r.headers.get("electric-handle")));
  await Promise.all(responses.map((r) => r.body?.cancel()));
  assert.equal(handles.size, 1);
  assert.equal(node.sync.registry.size, before + 1);
});

test("offset=now answers at once with the current offset and no rows", async () => {
  const r = await fetch(`${node.url}/v1/shape?table=docs&offset=now`, { headers: auth() });
  assert.equal(r.status, 200);
  const body = (await r.json()) as { headers: { control?: string } }[];
  assert.deepEqual(body.map((m) => m.headers.control), ["up-to-date"]);
  assert.ok(r.headers.get("electric-offset"));
  assert.ok(r.headers.get("electric-schema"));
});
