// Shapes created while many writers commit, some transactions left open across shape creation, meet the
// stream exactly: every shape ends equal to SELECT, and no reader ever sees a duplicate or a step back
// (SPEC C1, C2).
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import type pg from "pg";
import { startTestNode, waitFor, type TestNode } from "../testing/node.ts";
import { ShapeReader } from "../testing/shape-reader.ts";

let node: TestNode;
const readers: ShapeReader[] = [];

const ROWS = 400;
const GROUPS = 40;

before(async () => {
  node = await startTestNode({ maxSubscriptions: 1000 });
  await node.userPool.query("CREATE TABLE acc (id integer PRIMARY KEY, grp integer NOT NULL, n integer NOT NULL)");
  await node.userPool.query(`INSERT INTO acc SELECT g, g % ${GROUPS}, 0 FROM generate_series(1, ${ROWS}) g`);
});

after(async () => {
  await Promise.all(readers.map((r) => r.stop()));
  await node?.stop();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One writer: increments random rows, sometimes inserts, one transaction at a time; some stay open a while. */
async function writer(client: pg.PoolClient, w: number, stop: () => boolean): Promise<number> {
  let commits = 0;
  for (let i = 0; !stop(); i++) {
    await client.query("BEGIN");
    // Two rows in ascending id order (writers never deadlock).
    const [a, b] = [1 + Math.floor(Math.random() * ROWS), 1 + Math.floor(Math.random() * ROWS)].sort((x, y) => x - y) as [number, number];
    await client.query("UPDATE acc SET n = n + 1 WHERE id = $1", [a]);
    if (i % 7 === 0) await client.query("INSERT INTO acc VALUES ($1, $2, 0)", [100_000 + w * 10_000 + i, Math.floor(Math.random() * GROUPS)]);
    // Every fourth writer keeps its transaction open across shape creations.
    if (w % 4 === 0) await sleep(20 + Math.random() * 80);
    if (b !== a) await client.query("UPDATE acc SET n = n + 1 WHERE id = $1", [b]);
    await client.query("COMMIT");
    commits++;
  }
  return commits;
}

/** 200 distinct definitions: half found by the equality index (grp = $1), half scanned (id ranges). */
function definitions(): { where: string; params: string[]; sql: string }[] {
  const defs = [];
  for (let i = 0; i < 100; i++) {
    defs.push({ where: "grp = $1 AND n >= $2", params: [String(i % GROUPS), String(-i)], sql: `grp = ${i % GROUPS} AND n >= ${-i}` });
  }
  for (let i = 0; i < 100; i++) {
    const lo = (i * 37) % 400;
    defs.push({ where: "id >= $1 AND id < $2", params: [String(lo), String(lo + 60 + i)], sql: `id >= ${lo} AND id < ${lo + 60 + i}` });
  }
  // Inserted rows (ids from 100,000) belong to the grp shapes and to none of the ranges but the last ones.
  defs.push({ where: "id >= $1", params: ["100000"], sql: "id >= 100000" });
  return defs;
}

test("200 shapes created while 20 writers commit end equal to SELECT, with no duplicate and no step back (SPEC C1, C2)", async () => {
  let stopped = false;
  const clients = await Promise.all(Array.from({ length: 20 }, () => node.userPool.connect()));
  const writers = clients.map((c, w) => writer(c, w, () => stopped));
  const defs = definitions();
  try {
    await sleep(200);
    for (let i = 0; i < defs.length; i += 10) {
      for (const d of defs.slice(i, i + 10)) {
        const url = new URL(`${node.url}/v1/shape`);
        url.searchParams.set("table", "acc");
        url.searchParams.set("where", d.where);
        d.params.forEach((p, j) => url.searchParams.set(`params[${j + 1}]`, p));
        readers.push(new ShapeReader({ url: url.toString(), token: node.secretKey, monotonic: "n" }).start());
      }
      await sleep(30);
    }
    await waitFor(() => readers.every((r) => (r.check(), r.upToDate)), "every reader to be up to date", 60_000);
    await sleep(500);
  } finally {
    stopped = true;
    const settled = await Promise.allSettled(writers);
    clients.forEach((c, i) => c.release(settled[i]?.status === "rejected"));
    for (const s of settled) if (s.status === "rejected") throw s.reason;
    const commits = settled.map((s) => (s.status === "fulfilled" ? s.value : 0));
    assert.ok(commits.reduce((a, b) => a + b, 0) > 200, "the writers kept committing throughout");
  }

  const expected = await Promise.all(
    defs.map(async (d) => {
      const { rows } = await node.userPool.query<{ id: number; n: number }>(`SELECT id, n FROM acc WHERE ${d.sql}`);
      return new Map(rows.map((r) => [String(r.id), String(r.n)]));
    }),
  );
  await waitFor(
    () => readers.every((r, i) => sameMap(r.snapshot("id", "n"), expected[i] as Map<string, string>)),
    "every shape to equal SELECT",
    30_000,
  ).catch((err: unknown) => {
    const bad = readers.findIndex((r, i) => !sameMap(r.snapshot("id", "n"), expected[i] as Map<string, string>));
    throw new Error(`${(err as Error).message}; first differing shape: ${defs[bad]?.sql} (${readers[bad]?.rows.size} rows, expected ${expected[bad]?.size})`);
  });
  for (const r of readers) assert.deepEqual(r.violations, []);
  assert.equal(node.sync.registry.size, defs.length);
});

function sameMap(a: Map<string, string | null>, b: Map<string, string>): boolean {
  if (a.size !== b.size) return false;
  for (const [k, v] of b) if (a.get(k) !== v) return false;
  return true;
}
