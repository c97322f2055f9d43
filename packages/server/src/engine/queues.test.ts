import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { configure, tasks, runs, type AnyTask } from "@runcast/sdk";
import { Worker } from "@runcast/sdk/worker";
import { limitedStats } from "../testing/tasks/lifecycle.ts";
import { startTestNode, TEST_TASKS_DIR, waitFor, type TestNode } from "../testing/node.ts";

let node: TestNode;
const workers: Worker[] = [];

before(async () => {
  node = await startTestNode();
  configure({ baseURL: node.url, secretKey: node.secretKey });
  for (let i = 0; i < 3; i++) {
    const w = new Worker({ tasksDir: TEST_TASKS_DIR, concurrency: 10, config: { baseURL: node.url, secretKey: node.secretKey } });
    await w.start();
    workers.push(w);
  }
});

after(async () => {
  for (const w of workers) await w.stop();
  await node?.stop();
});

test("a queue's concurrency limit holds under 200 concurrent triggers across 3 workers", async () => {
  const handles = await Promise.all(Array.from({ length: 200 }, () => tasks.trigger<AnyTask>("limited", { ms: 20 })));
  assert.equal(new Set(handles.map((h) => h.id)).size, 200);
  await waitFor(async () => {
    const { rows } = await node.pool.query<{ n: number }>("SELECT count(*)::int AS n FROM runs WHERE task_identifier = 'limited' AND status = 'COMPLETED'");
    return rows[0]!.n === 200;
  }, "all 200 runs to complete", 120_000);
  assert.equal(limitedStats.done, 200);
  assert.ok(limitedStats.max <= 3, `saw ${limitedStats.max} runs of a limit-3 queue at once`);
  assert.equal(limitedStats.max, 3, "the limit should also be reached (runs do execute in parallel)");
  const { rows } = await node.pool.query<{ status: string; n: number }>(
    "SELECT status, count(*)::int AS n FROM runs WHERE task_identifier = 'limited' GROUP BY status",
  );
  assert.deepEqual(rows, [{ status: "COMPLETED", n: 200 }]);
  const attempts = await node.pool.query<{ n: number }>(
    "SELECT count(*)::int AS n FROM attempts a JOIN runs r ON r.id = a.run_id WHERE r.task_identifier = 'limited'",
  );
  assert.equal(attempts.rows[0]!.n, 200, "no run executed twice");
});

test("20 concurrent triggers with one idempotency key create one run", async () => {
  const handles = await Promise.all(
    Array.from({ length: 20 }, () => tasks.trigger<AnyTask>("echo", { value: "once" }, { idempotencyKey: "order-42" })),
  );
  const ids = new Set(handles.map((h) => h.id));
  assert.equal(ids.size, 1);
  assert.equal(handles.filter((h) => !h.isCached).length, 1);
  const { rows } = await node.pool.query<{ n: number }>("SELECT count(*)::int AS n FROM runs WHERE idempotency_key = 'order-42'");
  assert.equal(rows[0]!.n, 1);
});

test("an idempotency key with a TTL stops matching once it expires", async () => {
  const first = await tasks.trigger<AnyTask>("echo", { value: "ttl" }, { idempotencyKey: "short", idempotencyKeyTTL: "1s" });
  const again = await tasks.trigger<AnyTask>("echo", { value: "ttl" }, { idempotencyKey: "short", idempotencyKeyTTL: "1s" });
  assert.equal(again.id, first.id);
  assert.equal(again.isCached, true);
  await waitFor(async () => {
    const later = await tasks.trigger<AnyTask>("echo", { value: "ttl" }, { idempotencyKey: "short", idempotencyKeyTTL: "1s" });
    return later.id !== first.id ? later : null;
  }, "the key to expire", 10_000);
  assert.equal((await runs.retrieve(first.id)).idempotencyKey, undefined, "the old run gave up the key");
});
