// Two `runcast start` nodes behind nginx with the repository's config (deploy/nginx/runcast.conf): 100 official
// Electric clients follow their rows through nginx while one node is killed with SIGKILL. Every client sees
// every change once, in order, and none is told to start over (sync/SPEC.md H3, N1).
import { test } from "node:test";
import assert from "node:assert/strict";
import { ShapeStream, type Message, type Row } from "@electric-sql/client";
import { createPool } from "../db/pool.ts";
import { startTestPostgres } from "../testing/pg.ts";
import { spawnServer, type ServerProcess } from "../testing/server-process.ts";
import { SKIP_WITHOUT_NGINX, startNginx, type Nginx } from "../testing/nginx.ts";

const SUBSCRIBERS = 100;
const ROUNDS = 50;
const KILL_AT = 20;

test("kill -9 of a node while 100 subscribers stream through nginx: they carry on through the other node from their offsets, nothing lost or repeated", { skip: SKIP_WITHOUT_NGINX }, async () => {
  const db = await startTestPostgres();
  const sql = createPool(db.url, { max: 4 });
  const env = { RUNCAST_NODE_ID: "", RUNCAST_SLOT_TTL_SECONDS: "2", RUNCAST_MAX_SUBSCRIPTIONS: "1000" };
  const servers: ServerProcess[] = [];
  let nginx: Nginx | undefined;
  const controller = new AbortController();
  try {
    await sql.query("CREATE TABLE items (id integer PRIMARY KEY, n integer NOT NULL)");
    await sql.query("INSERT INTO items SELECT i, 0 FROM generate_series(1, $1) i", [SUBSCRIBERS]);
    servers.push(await spawnServer(db.url, env));
    servers.push(await spawnServer(db.url, { ...env, RUNCAST_SECRET_KEY: servers[0]!.secretKey }));
    const [a, b] = servers as [ServerProcess, ServerProcess];
    const portOf = (s: ServerProcess) => new URL(s.url).port;
    nginx = await startNginx([a, b].map((s) => `127.0.0.1:${portOf(s)}`));

    const seen = Array.from({ length: SUBSCRIBERS }, () => [] as number[]);
    let refetches = 0;
    let errors = 0;
    let ready = 0;
    for (let i = 0; i < SUBSCRIBERS; i++) {
      const stream = new ShapeStream<Row>({
        url: `${nginx.url}/v1/shape`,
        params: { table: "items", where: `id = ${i + 1}` },
        headers: { Authorization: `Bearer ${a.secretKey}` },
        signal: controller.signal,
        onError: () => {
          errors++;
          return {};
        },
      });
      let upToDate = false;
      stream.subscribe((messages: Message<Row>[]) => {
        for (const m of messages) {
          if ("key" in m) seen[i]?.push(Number(m.value.n));
          else if (m.headers.control === "must-refetch") refetches++;
          else if (m.headers.control === "up-to-date" && !upToDate) {
            upToDate = true;
            ready++;
          }
        }
      });
    }
    const until = async (what: string, ok: () => boolean, ms = 30_000) => {
      const deadline = Date.now() + ms;
      while (!ok()) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
        await new Promise((r) => setTimeout(r, 25));
      }
    };
    await until("every subscriber's snapshot", () => ready === SUBSCRIBERS);
    // Both nodes serve some of the shapes (the config spreads them by shape).
    const byNode = (lines: string[], s: ServerProcess) => lines.filter((l) => l.startsWith(`127.0.0.1:${portOf(s)} `)).length;
    const before = nginx.accessLog();
    assert.ok(byNode(before, a) > 0 && byNode(before, b) > 0, "shapes on both nodes");

    for (let round = 1; round <= ROUNDS; round++) {
      await sql.query("UPDATE items SET n = $1", [round]);
      if (round === KILL_AT) a.child.kill("SIGKILL");
      await new Promise((r) => setTimeout(r, 40));
    }
    await until("every subscriber at the last round", () => seen.every((s) => s.at(-1) === ROUNDS));

    for (const [i, values] of seen.entries()) {
      // The snapshot's value, then every round once, in order.
      const start = values[0] ?? -1;
      assert.deepEqual(values, Array.from({ length: ROUNDS - start + 1 }, (_, k) => start + k), `subscriber ${i + 1}: ${values.join(",")}`);
    }
    assert.equal(refetches, 0, `no subscriber was told to start over (${errors} request errors retried by the clients)`);
    const after = nginx.accessLog().slice(before.length);
    assert.ok(after.some((l) => l.includes(`127.0.0.1:${portOf(a)}`) && l.includes(`127.0.0.1:${portOf(b)}`)), "nginx moved held requests from the killed node to the other");
    // The killed node's slot does not outlive its TTL.
    const deadline = Date.now() + 20_000;
    for (;;) {
      const { rows } = await sql.query("SELECT slot_name FROM pg_replication_slots WHERE starts_with(slot_name, 'runcast_')");
      if (rows.length === 1) break;
      if (Date.now() > deadline) assert.fail(`slots left: ${JSON.stringify(rows)}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  } finally {
    controller.abort();
    await nginx?.stop();
    for (const s of servers) await s.stop();
    await sql.end();
    await db.stop();
  }
});
