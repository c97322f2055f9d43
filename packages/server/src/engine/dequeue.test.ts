import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { newId } from "./ids.ts";
import { dequeueRuns } from "./dequeue.ts";
import { startTestNode, type TestNode } from "../testing/node.ts";

let node: TestNode;

before(async () => {
  node = await startTestNode();
});

after(async () => {
  await node?.stop();
});

test("concurrent dequeues never hand one run to two workers", async () => {
  const { pool, envId } = node;
  await pool.query("INSERT INTO tasks (env_id, id, queue) VALUES ($1, 'job', 'task/job')", [envId]);
  const ids = Array.from({ length: 200 }, () => newId("run"));
  await pool.query(
    `INSERT INTO runs (id, env_id, task_identifier, status, queue, queued_at)
     SELECT unnest($1::text[]), $2, 'job', 'QUEUED', 'task/job', now() AT TIME ZONE 'UTC'`,
    [ids, envId],
  );
  const workers = Array.from({ length: 8 }, (_, i) => `worker_${i}`);
  const got = new Map<string, string>();
  await Promise.all(
    workers.map(async (workerId) => {
      for (;;) {
        const runs = await dequeueRuns(pool, { envId, workerId, tasks: ["job"], max: 3, leaseMs: 30_000 });
        if (!runs.length) return;
        for (const r of runs) {
          assert.equal(got.has(r.id), false, `run ${r.id} handed to ${got.get(r.id)} and ${workerId}`);
          got.set(r.id, workerId);
        }
      }
    }),
  );
  assert.equal(got.size, ids.length);
  const { rows } = await pool.query<{ n: number }>("SELECT count(*)::int AS n FROM attempts");
  assert.equal(rows[0]!.n, ids.length, "one attempt per run");
  const statuses = await pool.query<{ status: string; n: number }>("SELECT status, count(*)::int AS n FROM runs GROUP BY status");
  assert.deepEqual(statuses.rows, [{ status: "EXECUTING", n: ids.length }]);
});
