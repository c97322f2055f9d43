// Waits live in the database: a frozen run holds no slot, any duration works, a server restart loses no
// wait, a resumed run goes back through its queue, and waiting time is not execution time.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:net";
import { configure, runs, tasks } from "@runcast/sdk";
import { Worker } from "@runcast/sdk/worker";
import type { EmbeddedDatabase } from "../db/embedded.ts";
import { startTestPostgres } from "../testing/pg.ts";
import { pausingStats, type pausingTask, type waiter } from "../testing/tasks/lifecycle.ts";
import type { echo } from "../testing/tasks/basic.ts";
import { startTestNode, TEST_TASKS_DIR, waitFor, type TestNode } from "../testing/node.ts";

let db: EmbeddedDatabase;
let node: TestNode | undefined;
let worker: Worker | undefined;
let port = 0;

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}

before(async () => {
  db = await startTestPostgres();
  port = await freePort();
  node = await startTestNode({ port }, db);
  configure({ baseURL: node.url, secretKey: node.secretKey });
  worker = new Worker({ tasksDir: TEST_TASKS_DIR, concurrency: 1, config: { baseURL: node.url, secretKey: node.secretKey } });
  await worker.start();
});

after(async () => {
  await worker?.stop();
  await node?.stop();
  await db?.stop();
});

const status = async (id: string) => (await runs.retrieve(id)).status;

test("a 30-day wait stays FROZEN in the database and holds no worker slot", async () => {
  const handle = await tasks.trigger<typeof waiter>("waiter", { seconds: 30 * 86_400 });
  await waitFor(async () => (await status(handle.id)) === "FROZEN", "the run to wait");
  const { rows } = await node!.pool.query<{ days: number }>(
    "SELECT extract(epoch FROM (resume_at - (now() AT TIME ZONE 'UTC'))) / 86400 AS days FROM waitpoints WHERE run_id = $1 AND status = 'WAITING'",
    [handle.id],
  );
  assert.ok(rows[0] && rows[0].days > 29.9 && rows[0].days <= 30, `resume in ${rows[0]?.days} days`);
  // The worker has one slot: a frozen run does not hold it.
  const other = await tasks.trigger<typeof echo>("echo", { value: "meanwhile" });
  await waitFor(async () => (await status(other.id)) === "COMPLETED", "another run to use the free slot");
  await new Promise((r) => setTimeout(r, 1_000));
  assert.equal(await status(handle.id), "FROZEN", "still waiting (timers past 2^31 ms once fired at once)");
  await runs.cancel(handle.id);
  const wp = await node!.pool.query<{ status: string }>("SELECT status FROM waitpoints WHERE run_id = $1", [handle.id]);
  assert.deepEqual(wp.rows.map((r) => r.status), ["CANCELED"]);
});

test("a wait survives a server restart and resumes; waiting time counts as neither duration nor cost", async () => {
  const handle = await tasks.trigger<typeof waiter>("waiter", { seconds: 4 });
  await waitFor(async () => (await status(handle.id)) === "FROZEN", "the run to wait");
  await node!.stop();
  node = undefined;
  await new Promise((r) => setTimeout(r, 500));
  node = await startTestNode({ port }, db);
  await waitFor(async () => (await status(handle.id)) === "COMPLETED", "the run to resume after the restart and complete", 30_000);
  const run = await runs.retrieve(handle.id);
  assert.deepEqual(run.output, { waited: 4 });
  assert.ok(run.durationMs < 2_000, `durationMs ${run.durationMs} counts only execution, not the 4 s wait`);
});

test("runs of a limit-1 queue that wait mid-run are never executing together (a resumed run takes its queue slot again)", async () => {
  pausingStats.max = 0;
  // A second worker with room for all three: only the queue's limit keeps them apart.
  const roomy = new Worker({ tasksDir: TEST_TASKS_DIR, concurrency: 5, config: { baseURL: node!.url, secretKey: node!.secretKey } });
  await roomy.start();
  const handles = await Promise.all([0, 1, 2].map(() => tasks.trigger<typeof pausingTask>("pausing", { waitSeconds: 0.4 })));
  await waitFor(async () => (await Promise.all(handles.map((h) => status(h.id)))).every((s) => s === "COMPLETED"), "the three runs to complete", 30_000);
  await roomy.stop();
  assert.equal(pausingStats.max, 1);
  // Each went back through the queue after its wait: FROZEN, then QUEUED, then EXECUTING again.
  const { rows } = await node!.pool.query<{ steps: string }>(
    "SELECT string_agg(status, ',' ORDER BY id) AS steps FROM run_events WHERE run_id = $1",
    [handles[0]!.id],
  );
  assert.equal(rows[0]!.steps, "QUEUED,EXECUTING,FROZEN,QUEUED,EXECUTING,COMPLETED");
});
