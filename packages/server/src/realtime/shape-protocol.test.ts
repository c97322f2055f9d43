import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { FetchError, isChangeMessage, isControlMessage, Shape, ShapeStream, type Message, type Row, type ShapeStreamOptions } from "@electric-sql/client";
import { startTestNode, waitFor, type TestNode } from "../testing/node.ts";

let node: TestNode;

before(async () => {
  node = await startTestNode({ longPollMs: 2_000 });
  await node.userPool.query(`CREATE TABLE items (
    id integer PRIMARY KEY, title text NOT NULL, priority integer NOT NULL, done boolean NOT NULL DEFAULT false,
    tags text[] NOT NULL DEFAULT '{}', data jsonb)`);
});

/** Every stream a test opened: stopped here too, so a failing test cannot leave one running. */
const open = new Set<AbortController>();

after(async () => {
  for (const c of open) c.abort();
  await node?.stop();
});

type Item = Row;

function stream(params: { table: string; where?: string; params?: string[] }, extra: Omit<Partial<ShapeStreamOptions>, "parser" | "params"> = {}) {
  const controller = new AbortController();
  open.add(controller);
  const s = new ShapeStream<Row>({
    url: `${node.url}/v1/shape`,
    params,
    headers: { Authorization: `Bearer ${node.secretKey}` },
    signal: controller.signal,
    ...extra,
  });
  return { stream: s, stop: () => controller.abort() };
}

async function tableRows(where = "true", values: unknown[] = []): Promise<Item[]> {
  const { rows } = await node.userPool.query<Item>(`SELECT id, title, priority, done, tags, data FROM items WHERE ${where} ORDER BY id`, values);
  return rows;
}

const byId = (rows: Row[]) => [...rows].sort((a, b) => Number(a.id) - Number(b.id));

async function converge(shape: Shape<Item>, expected: () => Promise<Item[]>, what: string) {
  await waitFor(async () => {
    const want = await expected();
    return JSON.stringify(byId(shape.currentRows)) === JSON.stringify(want);
  }, what, 15_000).catch(async (err: Error) => {
    assert.deepEqual(byId(shape.currentRows), await expected(), err.message);
  });
}

test("snapshot then live inserts, updates and deletes, with rows moving into and out of the where clause", async () => {
  await node.userPool.query("DELETE FROM items");
  await node.userPool.query(`INSERT INTO items (id, title, priority, tags, data) VALUES
    (1, 'alpha', 1, '{a}', '{"k":1}'), (2, 'beta', 5, '{b,"c d"}', NULL), (3, 'Gamma', 7, '{}', '[1,2]')`);
  for (const liveSse of [false, true]) {
    const where = "priority > $1 AND title ILIKE $2";
    const values = ["2", "%a%"];
    const { stream: s, stop } = stream({ table: "items", where, params: values }, { liveSse });
    const shape = new Shape(s);
    const expected = () => tableRows("priority > $1 AND title ILIKE $2", [2, "%a%"]);
    await shape.rows;
    // A shape that exists already answers from what replication has delivered: the previous round's last
    // write may arrive just after the snapshot, as a live change.
    await converge(shape, expected, `snapshot (sse=${liveSse})`);
    await node.userPool.query("INSERT INTO items (id, title, priority) VALUES (10, 'delta', 9), (11, 'zzz', 9), (12, 'nah', 1)");
    await converge(shape, expected, `inserts (sse=${liveSse})`);
    await node.userPool.query("UPDATE items SET priority = 0 WHERE id = 2"); // leaves the shape
    await node.userPool.query("UPDATE items SET title = 'zebra' WHERE id = 11"); // enters the shape
    await node.userPool.query("UPDATE items SET done = true, tags = '{x}' WHERE id = 3"); // stays, changes
    await converge(shape, expected, `moves (sse=${liveSse})`);
    await node.userPool.query("DELETE FROM items WHERE id IN (3, 10)");
    await converge(shape, expected, `deletes (sse=${liveSse})`);
    stop();
    await node.userPool.query("DELETE FROM items WHERE id >= 10");
    await node.userPool.query("UPDATE items SET priority = 5 WHERE id = 2");
    await node.userPool.query(`INSERT INTO items (id, title, priority, tags, data) VALUES (3, 'Gamma', 7, '{}', '[1,2]') ON CONFLICT DO NOTHING`);
  }
});

test("values are encoded as PostgreSQL text and typed by electric-schema", async () => {
  await node.userPool.query(`INSERT INTO items (id, title, priority, tags, data) VALUES (100, 'alpha', 1, '{a}', '{"k":1}')`);
  const res = await fetch(`${node.url}/v1/shape?table=items&offset=-1&where=id%20%3D%20100`, { headers: { authorization: `Bearer ${node.secretKey}` } });
  assert.equal(res.status, 200);
  const schema = JSON.parse(res.headers.get("electric-schema")!);
  assert.deepEqual(schema.id, { type: "int4", pk_index: 0 });
  assert.deepEqual(schema.tags, { type: "text", dims: 1 });
  assert.ok(res.headers.get("electric-handle"));
  assert.ok(res.headers.get("electric-offset"));
  // The answer depends on the caller's credentials: no shared cache may keep it.
  assert.match(res.headers.get("cache-control") ?? "", /^private, max-age=\d+/);
  const body = (await res.json()) as { value?: Record<string, unknown>; headers: Record<string, unknown> }[];
  const row = body.find((m) => m.value)!.value!;
  assert.deepEqual(row, { id: "100", title: "alpha", priority: "1", done: "f", tags: "{a}", data: '{"k": 1}' });
  assert.equal(body.at(-1)!.headers.control, "up-to-date");
  await node.userPool.query("DELETE FROM items WHERE id = 100");
});

test("a client that comes back with its handle and offset gets exactly the changes it missed", async () => {
  const first = stream({ table: "items", where: "priority >= 0" });
  const shape = new Shape(first.stream);
  await shape.rows;
  const handle = shape.handle!;
  const offset = shape.lastOffset;
  first.stop();
  await node.userPool.query("INSERT INTO items (id, title, priority) VALUES (20, 'missed-1', 3)");
  await node.userPool.query("UPDATE items SET title = 'missed-2' WHERE id = 20");
  await node.userPool.query("DELETE FROM items WHERE id = 1");
  const resumed = stream({ table: "items", where: "priority >= 0" }, { handle, offset });
  const got: Message<Item>[] = [];
  await new Promise<void>((resolve) => {
    resumed.stream.subscribe((messages) => {
      got.push(...messages);
      if (messages.some((m) => isControlMessage(m) && m.headers.control === "up-to-date") && got.filter(isChangeMessage).length >= 3) resolve();
    });
  });
  resumed.stop();
  const changes = got.filter(isChangeMessage).map((m) => [m.headers.operation, m.value.id, m.value.title ?? null]);
  assert.deepEqual(changes, [
    ["insert", 20, "missed-1"],
    ["update", 20, "missed-2"],
    ["delete", 1, null],
  ]);
});

test("an unsupported where clause gets a 400 naming the problem", async () => {
  const res = await fetch(`${node.url}/v1/shape?table=items&offset=-1&where=${encodeURIComponent("created_at > now()")}`, {
    headers: { authorization: `Bearer ${node.secretKey}` },
  });
  assert.equal(res.status, 400);
  const body = (await res.json()) as { error: { code: string; message: string } };
  assert.equal(body.error.code, "invalid_where");
  const unknownTable = await fetch(`${node.url}/v1/shape?table=nope&offset=-1`, { headers: { authorization: `Bearer ${node.secretKey}` } });
  assert.equal(unknownTable.status, 400);
  // The official client surfaces it as a FetchError with the status.
  const { stream: s, stop } = stream({ table: "items", where: "title ~ 'regex('" });
  const err = await new Promise<unknown>((resolve) => s.subscribe(() => {}, resolve));
  stop();
  assert.ok(err instanceof FetchError && err.status === 400, String(err));
});

test("1,000 concurrent writes while 50 subscribers listen: every subscriber ends with the table's content", async () => {
  await node.userPool.query("CREATE TABLE counters (id integer PRIMARY KEY, n integer NOT NULL, owner text NOT NULL)");
  await node.userPool.query("INSERT INTO counters SELECT g, 0, 'o' || (g % 5) FROM generate_series(1, 50) g");
  const subs = Array.from({ length: 50 }, (_, i) => {
    const s = stream({ table: "counters", ...(i % 2 ? { where: "n >= 0" } : {}) }, { liveSse: i % 3 === 0 });
    return { ...s, shape: new Shape(s.stream) };
  });
  await Promise.all(subs.map((s) => s.shape.rows));
  const writers = Array.from({ length: 20 }, async (_, w) => {
    for (let i = 0; i < 50; i++) {
      const id = ((w * 50 + i) % 50) + 1;
      if (i % 10 === 9) await node.userPool.query("INSERT INTO counters VALUES ($1, 0, 'new') ON CONFLICT (id) DO UPDATE SET n = counters.n + 1", [1000 + w * 50 + i]);
      else await node.userPool.query("UPDATE counters SET n = n + 1 WHERE id = $1", [id]);
    }
  });
  await Promise.all(writers);
  const { rows } = await node.userPool.query("SELECT id, n, owner FROM counters ORDER BY id");
  const want = JSON.stringify(rows);
  for (const [i, s] of subs.entries()) {
    await waitFor(() => JSON.stringify(byId(s.shape.currentRows)) === want, `subscriber ${i} to converge`, 30_000);
    s.stop();
  }
});

test("TRUNCATE and ALTER TABLE send live subscribers a must-refetch, then the right rows", async () => {
  await node.userPool.query("CREATE TABLE notes (id integer PRIMARY KEY, body text)");
  await node.userPool.query("INSERT INTO notes VALUES (1, 'one'), (2, 'two')");
  const { stream: s, stop } = stream({ table: "notes" });
  let refetches = 0;
  s.subscribe((msgs) => {
    for (const m of msgs) if (isControlMessage(m) && m.headers.control === "must-refetch") refetches++;
  });
  const shape = new Shape(s);
  await shape.rows;
  await node.userPool.query("TRUNCATE notes");
  await node.userPool.query("INSERT INTO notes VALUES (3, 'three')");
  await waitFor(() => refetches >= 1 && JSON.stringify(byId(shape.currentRows)) === JSON.stringify([{ id: 3, body: "three" }]), "refetch after truncate");
  await node.userPool.query("ALTER TABLE notes ADD COLUMN extra text DEFAULT 'x'");
  await node.userPool.query("INSERT INTO notes VALUES (4, 'four')");
  await waitFor(
    () => refetches >= 2 && JSON.stringify(byId(shape.currentRows)) === JSON.stringify([{ id: 3, body: "three", extra: "x" }, { id: 4, body: "four", extra: "x" }]),
    "refetch after alter",
  );
  // A schema change with no write after it still reaches live subscribers (event trigger).
  await node.userPool.query("ALTER TABLE notes DROP COLUMN extra");
  await waitFor(
    () => refetches >= 3 && JSON.stringify(byId(shape.currentRows)) === JSON.stringify([{ id: 3, body: "three" }, { id: 4, body: "four" }]),
    "refetch after a schema change alone",
  );
  stop();
});
