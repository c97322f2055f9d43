// One shape failing (a where clause PostgreSQL would raise on, one too expensive to evaluate live, one
// hostile pattern) costs nothing to the others, and the server keeps answering (SPEC I1).
// The server runs in its own process: /healthz latency is the server's, not the test's readers'.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { waitFor } from "../testing/node.ts";
import { useServerProcess } from "../testing/server-process.ts";
import { ShapeReader } from "../testing/shape-reader.ts";

const readers: ShapeReader[] = [];
const ctx = useServerProcess(
  { RUNCAST_MAX_SUBSCRIPTIONS: "1000" },
  {
    async setup(sql) {
      await sql.query("CREATE TABLE hostile (id integer PRIMARY KEY, s text NOT NULL, x numeric NOT NULL, d integer NOT NULL)");
      await sql.query("INSERT INTO hostile VALUES (1, 'a', 2, 1)");
    },
    async teardown() {
      await Promise.all(readers.map((r) => r.stop()));
    },
  },
);

const node = {
  get url() {
    return ctx.server.url;
  },
  get secretKey() {
    return ctx.server.secretKey;
  },
  get userPool() {
    return ctx.sql;
  },
};

function shapeUrl(where: string, params: string[] = []): string {
  const url = new URL(`${node.url}/v1/shape`);
  url.searchParams.set("table", "hostile");
  url.searchParams.set("where", where);
  params.forEach((p, i) => url.searchParams.set(`params[${i + 1}]`, p));
  return url.toString();
}

function reader(where: string, params: string[] = []): ShapeReader {
  const r = new ShapeReader({ url: shapeUrl(where, params), token: node.secretKey });
  readers.push(r);
  return r.start();
}

/**
 * Probes /healthz every 20 ms from a separate process (the readers of this test process must not delay the
 * probe); `stop()` returns the slowest answer seen.
 */
function healthProbe(): { started: Promise<void>; stop(): Promise<number> } {
  const script = `
    let worst = 0, running = true;
    process.on("message", () => { running = false; });
    (async () => {
      // Warm up (the first fetch of a process sets up its HTTP client), then tell the test it is probing.
      await (await fetch(process.argv[1] + "/healthz")).arrayBuffer();
      process.send("ready");
      while (running) {
        const t0 = performance.now();
        const r = await fetch(process.argv[1] + "/healthz");
        await r.arrayBuffer();
        worst = Math.max(worst, performance.now() - t0);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      process.send(worst, () => process.exit(0));
    })();`;
  const child = spawn(process.execPath, ["-e", script, node.url], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
  let ready: () => void = () => {};
  const started = new Promise<void>((r) => (ready = r));
  const result = new Promise<number>((resolve, reject) => {
    child.on("message", (m) => (m === "ready" ? ready() : resolve(Number(m))));
    child.once("exit", (code) => reject(new Error(`health probe exited (${code})`)));
  });
  return {
    started,
    async stop() {
      child.send("stop");
      return result;
    },
  };
}

test("hostile LIKE and numeric shapes leave every other shape complete and the server's event loop free (SPEC I1, I2)", async () => {
  const all = reader("id > 0");
  await waitFor(() => all.upToDate, "the plain reader to be up to date");
  // The floor on this machine, now: /healthz while as many plain rows are written with one plain shape.
  const calm = healthProbe();
  await calm.started;
  for (let i = 1000; i < 1021; i++) await node.userPool.query("INSERT INTO hostile VALUES ($1, 'c', 1, 1)", [i]);
  const floor = await calm.stop();
  await node.userPool.query("DELETE FROM hostile WHERE id >= 1000");

  const like = reader("s LIKE s");
  // 50 distinct shapes of nested numeric multiplications.
  const numeric = Array.from({ length: 50 }, (_, i) => reader("x * x * x * x * x * x * x * x * x * x > $1", [String(i)]));
  await waitFor(() => readers.every((r) => (r.check(), r.upToDate)), "every reader to be up to date", 30_000);

  const probe = healthProbe();
  await probe.started;
  const long = "9".repeat(2_000);
  await node.userPool.query("INSERT INTO hostile VALUES (2, $1, 3, 1)", ["%a".repeat(20_000)]);
  await node.userPool.query(`INSERT INTO hostile VALUES (3, 'b', ${long}.${long}, 1)`);
  for (let i = 4; i < 24; i++) await node.userPool.query("INSERT INTO hostile VALUES ($1, 'c', $2, 1)", [i, `${long}${i}`]);
  await waitFor(() => all.rows.size === 23, "the plain shape to hold every row", 30_000);
  const worst = await probe.stop();

  all.check();
  assert.deepEqual(all.violations, []);
  // The server never held its event loop long (it reports its worst delay of the last 10–20 s): that is what
  // keeps /healthz fast. Ingestion yields every 8 ms, so a held loop is CPU starvation by other processes on this
  // shared machine (133 ms was seen with three suites on two cores), far from the seconds an unbounded LIKE
  // holds it. Seen from this process, /healthz must only never freeze (it took 13.6 s before I2).
  const health = (await (await fetch(`${node.url}/healthz`)).json()) as { eventLoopDelayMs: number };
  console.log(`/healthz: worst ${worst.toFixed(1)} ms with hostile shapes, ${floor.toFixed(1)} ms without; server event loop held ${health.eventLoopDelayMs} ms at worst`);
  assert.ok(health.eventLoopDelayMs < 250, `the server's event loop was held ${health.eventLoopDelayMs} ms`);
  assert.ok(worst < 1_000, `/healthz took ${worst.toFixed(1)} ms at worst`);
  // The LIKE shape is exact (PostgreSQL agrees) or was told to start over; never wrong.
  const { rows } = await node.userPool.query<{ id: number }>("SELECT id FROM hostile WHERE s LIKE s");
  await waitFor(() => like.rows.size === rows.length || like.refetches > 0, "the LIKE shape to settle", 30_000).catch(() => like.check());
  // Numeric shapes whose clause became too expensive were invalidated (their readers stop with a 400);
  // the others hold what PostgreSQL selects.
  let tooExpensive = 0;
  for (const [i, r] of numeric.entries()) {
    try {
      r.check();
    } catch (err) {
      assert.match((err as Error).message, /where_too_expensive|where_evaluation_failed/);
      tooExpensive++;
      continue;
    }
    const expected = await node.userPool.query("SELECT id FROM hostile WHERE x * x * x * x * x * x * x * x * x * x > $1", [i]);
    await waitFor(() => r.rows.size === expected.rowCount, `numeric shape ${i} to match SELECT`, 30_000);
  }
  assert.ok(tooExpensive === 0 || tooExpensive === 50, `all numeric shapes behave alike (${tooExpensive} refused)`);
});

test("a shape whose where clause PostgreSQL raises on is invalidated alone; a shape on the same transaction gets it whole (SPEC I1)", async () => {
  const all = reader("id >= 100");
  const dividing = reader("10 / d > 1 AND id >= 100");
  await waitFor(() => all.upToDate && dividing.upToDate, "the readers to be up to date");
  await node.userPool.query("INSERT INTO hostile SELECT g, 'z', 1, CASE WHEN g = 150 THEN 0 ELSE 1 END FROM generate_series(100, 199) g");
  await waitFor(() => all.rows.size === 100, "the other shape to hold the whole transaction", 30_000);
  // The dividing shape's reader got a 409, then PostgreSQL's own error for its snapshot: a 400.
  await waitFor(
    () => {
      try {
        dividing.check();
        return false;
      } catch (err) {
        return /where_evaluation_failed/.test((err as Error).message);
      }
    },
    "the failing shape's reader to be told why",
    30_000,
  );
  assert.ok(dividing.refetches >= 1, "it was told to start over first");
  assert.deepEqual(all.violations, []);
});
