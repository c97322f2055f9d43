// REDIS_URL: the subscription limit of an environment counts the live requests of every node, and a node that
// dies stops counting (its counts expire). Two `runcast start` processes, Debian's redis-server.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { createPool } from "../db/pool.ts";
import { startTestPostgres } from "../testing/pg.ts";
import { spawnServer, type ServerProcess } from "../testing/server-process.ts";
import { freePort } from "../db/embedded.ts";

const REDIS = ["/usr/bin/redis-server", "/usr/local/bin/redis-server"].find((p) => existsSync(p));
const SKIP = REDIS ? false : "Debian's redis-server is not installed (apt-get install redis-server): the shared-limit tests need it";


test("with REDIS_URL the environment's limit counts every node's live requests; a killed node's share is freed", { skip: SKIP }, async () => {
  const port = await freePort();
  const redis = spawn(REDIS as string, ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], { stdio: "ignore" });
  const redisGone = new Promise<void>((r) => redis.once("exit", () => r()));
  const db = await startTestPostgres();
  const sql = createPool(db.url, { max: 2 });
  const servers: ServerProcess[] = [];
  const held: AbortController[] = [];
  try {
    await sql.query("CREATE TABLE things (id integer PRIMARY KEY)");
    const env = { RUNCAST_NODE_ID: "", REDIS_URL: `redis://127.0.0.1:${port}`, RUNCAST_MAX_SUBSCRIPTIONS: "4", RUNCAST_LONG_POLL_MS: "60000" };
    servers.push(await spawnServer(db.url, env));
    servers.push(await spawnServer(db.url, { ...env, RUNCAST_SECRET_KEY: servers[0]!.secretKey }));
    const [a, b] = servers as [ServerProcess, ServerProcess];
    const auth = { authorization: `Bearer ${a.secretKey}` };
    // Each node's own handle and offset (taking readers over between nodes is failover.test.ts's subject).
    const queries = new Map<ServerProcess, string>();
    for (const node of [a, b]) {
      const first = await fetch(`${node.url}/v1/shape?table=things&offset=-1`, { headers: auth });
      await first.arrayBuffer();
      queries.set(node, `table=things&live=true&handle=${first.headers.get("electric-handle")}&offset=${first.headers.get("electric-offset")}`);
    }
    /** Starts a live request and resolves with its status if it is answered within `ms` (undefined: held). */
    const live = async (node: ServerProcess, ms = 500): Promise<number | undefined> => {
      const controller = new AbortController();
      held.push(controller);
      const res = fetch(`${node.url}/v1/shape?${queries.get(node)}`, { headers: auth, signal: controller.signal }).then(
        async (r) => (await r.arrayBuffer(), r.status),
        () => undefined,
      );
      return Promise.race([res, new Promise<undefined>((r) => setTimeout(r, ms))]);
    };
    const settle = () => new Promise((r) => setTimeout(r, 800)); // the nodes exchange counts every 250 ms

    for (let i = 0; i < 3; i++) assert.equal(await live(a), undefined, "held on A");
    await settle();
    assert.equal(await live(b), undefined, "the 4th, on B, is held");
    await settle();
    assert.equal(await live(b), 429, "the 5th is refused on B: A's 3 count there");
    assert.equal(await live(a), 429, "and on A: B's one counts there");

    // A dies: its 3 are freed once its counts expire (3 s).
    a.child.kill("SIGKILL");
    const deadline = Date.now() + 10_000;
    let freed = 0;
    while (freed < 3) {
      const status = await live(b);
      if (status === undefined) freed++;
      else if (Date.now() > deadline) assert.fail(`A's share was not freed (last answer ${status})`);
      else await new Promise((r) => setTimeout(r, 250));
    }
    await settle();
    assert.equal(await live(b), 429, "B alone now holds the 4");
  } finally {
    for (const c of held) c.abort();
    for (const s of servers) await s.stop();
    await sql.end();
    await db.stop();
    redis.kill("SIGTERM");
    await redisGone;
  }
});
