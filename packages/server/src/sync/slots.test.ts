// Replication slots of several nodes on one database (sync/SPEC.md N1): unique without a setting, a dead
// node's slot dropped within the TTL, a clean stop leaving none, a lost slot never a silent gap, lag in /healthz.
import { test } from "node:test";
import assert from "node:assert/strict";
import { startTestPostgres } from "../testing/pg.ts";
import { spawnServer } from "../testing/server-process.ts";
import { startTestNode } from "../testing/node.ts";
import { createPool } from "../db/pool.ts";
import { dropSlot } from "./replication.ts";

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test("runcast start twice on one database needs no node setting; a killed node's slot is dropped within the TTL, a stopped one's at once", async () => {
  const db = await startTestPostgres();
  const sql = createPool(db.url, { max: 2 });
  // No RUNCAST_NODE_ID: every node names its own slot.
  const env = { RUNCAST_NODE_ID: "", RUNCAST_SLOT_TTL_SECONDS: "2" };
  const a = await spawnServer(db.url, env);
  const b = await spawnServer(db.url, env).catch(async (err: unknown) => {
    await a.stop();
    throw err;
  });
  try {
    const slots = async () =>
      (await sql.query<{ slot_name: string; active: boolean }>("SELECT slot_name, active FROM pg_replication_slots WHERE starts_with(slot_name, 'runcast_') ORDER BY slot_name")).rows;
    const both = await slots();
    assert.equal(both.length, 2, "two slots, one per node");
    assert.ok(both.every((s) => s.active), "both streaming");
    for (const server of [a, b]) {
      const health = (await (await fetch(`${server.url}/healthz`)).json()) as { ok: boolean; replication: string; replicationLagBytes: unknown };
      assert.equal(health.ok, true);
      assert.equal(health.replication, "streaming");
      assert.equal(typeof health.replicationLagBytes, "number");
    }

    // kill -9: the slot stays behind, inactive, until the other node drops it (TTL 2 s, checked every 0.5 s).
    a.child.kill("SIGKILL");
    const killedAt = Date.now();
    await waitFor("the dead node's slot to go", async () => ((await slots()).length === 1 ? true : undefined));
    const tookMs = Date.now() - killedAt;
    assert.ok(tookMs >= 1_500, `not dropped before its TTL ran out (${tookMs} ms)`);
    const [left] = await slots();
    assert.equal(left?.active, true, "the survivor's slot is untouched");
    assert.match(b.output(), /dropped the replication slot of a node that is gone/);

    // A clean stop drops the node's own slot and its row.
    await b.stop();
    assert.deepEqual(await slots(), []);
    const { rows } = await sql.query("SELECT slot FROM runcast_internal.nodes WHERE slot = $1", [left?.slot_name]);
    assert.equal(rows.length, 0);
  } finally {
    await a.stop();
    await b.stop();
    await sql.end();
    await db.stop();
  }
});

test("a node whose slot vanished while its stream was down makes a new one, and its shapes' readers start over instead of missing changes", async () => {
  const node = await startTestNode({ nodeId: "lost_slot" });
  try {
    await node.userPool.query("CREATE TABLE notes (id int PRIMARY KEY, body text NOT NULL)");
    await node.userPool.query("INSERT INTO notes VALUES (1, 'one')");
    const auth = { authorization: `Bearer ${node.secretKey}` };
    const first = await fetch(`${node.url}/v1/shape?table=notes&offset=-1`, { headers: auth });
    assert.equal(first.status, 200);
    await first.arrayBuffer();
    const handle = first.headers.get("electric-handle") ?? "";
    const offset = first.headers.get("electric-offset") ?? "";

    // The walsender is ended and the slot dropped (as another node would after the TTL); a row is written
    // before the node streams again, so only a new slot, starting after it, exists.
    await dropSlot(node.databaseUrl, "runcast_lost_slot");
    await node.userPool.query("INSERT INTO notes VALUES (2, 'two')");
    await waitFor("the node to stream again", async () => ((await fetch(`${node.url}/healthz`)).ok && node.sync.streaming ? true : undefined));

    const res = await fetch(`${node.url}/v1/shape?table=notes&offset=${offset}&handle=${handle}`, { headers: auth });
    assert.equal(res.status, 409, "the old handle must start over: the change made while the slot was gone is not in any log");
    await res.arrayBuffer();
    const again = await fetch(`${node.url}/v1/shape?table=notes&offset=-1`, { headers: auth });
    const rows = (await again.json()) as { value?: { id: string } }[];
    assert.deepEqual(rows.filter((m) => m.value).map((m) => Number(m.value?.id)).sort(), [1, 2]);
  } finally {
    await node.stop();
  }
});

test("past the lag bound /healthz says lagging (503, with the lag in bytes) and the node logs it; once caught up it says so", async () => {
  const db = await startTestPostgres();
  const sql = createPool(db.url, { max: 2 });
  // A bound of about 1 KB: every write puts the slot past it until the node confirms it (once a second).
  const server = await spawnServer(db.url, { RUNCAST_MAX_REPLICATION_LAG_MB: "0.001" });
  try {
    await sql.query("CREATE TABLE filler (id serial PRIMARY KEY, body text)");
    const health = async () => {
      const res = await fetch(`${server.url}/healthz`);
      return { status: res.status, body: (await res.json()) as { replication: string; replicationLagBytes: number } };
    };
    const lagging = await waitFor("a lagging /healthz", async () => {
      await sql.query("INSERT INTO filler (body) SELECT repeat('x', 1000) FROM generate_series(1, 50)");
      const h = await health();
      return h.status === 503 ? h : undefined;
    });
    assert.equal(lagging.body.replication, "lagging");
    assert.ok(lagging.body.replicationLagBytes > 1024);
    await waitFor("the warning in the log", async () => (/replication is lagging/.test(server.output()) ? true : undefined));
    // Writes stop: the node confirms what it read and is healthy again.
    const caughtUp = await waitFor("a streaming /healthz", async () => {
      const h = await health();
      return h.status === 200 ? h : undefined;
    });
    assert.equal(caughtUp.body.replication, "streaming");
    assert.match(server.output(), /replication caught up/);
  } finally {
    await server.stop();
    await sql.end();
    await db.stop();
  }
});
