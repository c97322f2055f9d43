import { test } from "node:test";
import assert from "node:assert/strict";
import { batch, runs, tasks, RuncastApiError } from "@runcast/sdk";
import { batchStatusFromRuns } from "../engine/batches.ts";
import type { echo, failing, sleeper } from "../testing/tasks/basic.ts";
import { useNodeWithWorker, waitFor } from "../testing/node.ts";

const env = useNodeWithWorker();

async function counts(): Promise<{ runs: number; batches: number }> {
  const { rows } = await env.node.pool.query<{ runs: number; batches: number }>(
    "SELECT (SELECT count(*)::int FROM runs) AS runs, (SELECT count(*)::int FROM batches) AS batches",
  );
  return rows[0]!;
}

async function postBatch(body: unknown, key = env.node.secretKey) {
  const res = await fetch(`${env.node.url}/api/v1/batches`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${key}` },
    body: JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as { error?: { code: string; field?: string; message: string } } & Record<string, unknown> };
}

test("batch status is derived from the runs: PENDING, PROCESSING, COMPLETED, PARTIAL_FAILED", () => {
  assert.equal(batchStatusFromRuns({ total: 2, byStatus: { QUEUED: 1, DELAYED: 1 } }), "PENDING");
  assert.equal(batchStatusFromRuns({ total: 2, byStatus: { QUEUED: 1, EXECUTING: 1 } }), "PROCESSING");
  assert.equal(batchStatusFromRuns({ total: 2, byStatus: { QUEUED: 1, COMPLETED: 1 } }), "PROCESSING");
  assert.equal(batchStatusFromRuns({ total: 2, byStatus: { COMPLETED: 2 } }), "COMPLETED");
  assert.equal(batchStatusFromRuns({ total: 3, byStatus: { COMPLETED: 2, CANCELED: 1 } }), "PARTIAL_FAILED");
  assert.equal(batchStatusFromRuns({ total: 1, byStatus: { FAILED: 1 } }), "PARTIAL_FAILED");
});

test("a batch of 100 items: every run completes and batch.retrieve reports COMPLETED with 100 runs", async () => {
  const items = Array.from({ length: 100 }, (_, i) => ({ payload: { value: `v${i}`, delayMs: 1 }, options: { tags: [`item_${i}`] } }));
  const handle = await tasks.batchTrigger<typeof echo>("echo", items);
  assert.match(handle.batchId, /^batch_/);
  assert.equal(handle.runCount, 100);
  assert.equal(handle.isCached, false);
  assert.equal(handle.runs.length, 100);
  assert.equal(new Set(handle.runs.map((r) => r.id)).size, 100);
  assert.ok(handle.runs.every((r) => r.taskIdentifier === "echo" && !r.isCached));

  const done = await waitFor(async () => {
    const b = await batch.retrieve(handle.batchId);
    return b.status === "COMPLETED" ? b : null;
  }, "the batch to complete");
  assert.equal(done.runCount, 100);
  assert.equal(done.runs.length, 100);
  assert.deepEqual(new Set(done.runs), new Set(handle.runs.map((r) => r.id)));
  assert.deepEqual(done.counts, { COMPLETED: 100 });
  assert.ok(done.completedAt instanceof Date && done.completedAt >= done.createdAt);

  // Item order is kept in the handle: item i's run has item i's payload, tags and the batch link.
  const run = await runs.retrieve<typeof echo>(handle.runs[42]!.id);
  assert.deepEqual(run.payload, { value: "v42", delayMs: 1 });
  assert.deepEqual(run.output, { echoed: "v42" });
  assert.deepEqual(run.tags, ["item_42"]);
  assert.equal(run.batchId, handle.batchId);
  assert.equal((run as unknown as { triggerFunction: string }).triggerFunction, "batchTrigger");

  // The first retrieve that saw every run final settled the batch row.
  const row = await env.node.pool.query("SELECT status, completed_at FROM batches WHERE id = $1", [handle.batchId]);
  assert.equal(row.rows[0].status, "COMPLETED");
  assert.ok(row.rows[0].completed_at instanceof Date);
});

test("the batch's public token reads that batch and no other", async () => {
  const a = await tasks.batchTrigger<typeof echo>("echo", [{ payload: { value: "a", delayMs: 1 } }]);
  const b = await tasks.batchTrigger<typeof echo>("echo", [{ payload: { value: "b", delayMs: 1 } }]);
  const mine = await batch.retrieve(a.batchId, { accessToken: a.publicAccessToken });
  assert.equal(mine.id, a.batchId);
  await assert.rejects(
    batch.retrieve(b.batchId, { accessToken: a.publicAccessToken }),
    (err: unknown) => err instanceof RuncastApiError && err.status === 403,
  );
  await assert.rejects(batch.retrieve("batch_doesnotexist0000000000"), (err: unknown) => err instanceof RuncastApiError && err.status === 404 && err.code === "batch_not_found");
});

test("a batch with one bad item, or too many items, is refused with a 400 naming the item and writes nothing", async () => {
  const good = (i: number) => ({ task: "echo", payload: { value: `g${i}` } });
  const before = await counts();
  const cases: { name: string; body: unknown; code: string; field: string }[] = [
    {
      name: "malformed task id",
      body: { items: [good(0), good(1), { task: "no such task!", payload: {} }, good(3)] },
      code: "invalid_task_id",
      field: "items[2].task",
    },
    {
      name: "bad option",
      body: { items: [good(0), { task: "echo", payload: {}, options: { tags: Array.from({ length: 11 }, (_, i) => `t${i}`) } }] },
      code: "too_many_tags",
      field: "items[1].options.tags",
    },
    { name: "bad delay", body: { items: [good(0), good(1), good(2), { task: "echo", payload: {}, options: { delay: "soon" } }] }, code: "invalid_duration", field: "items[3].options.delay" },
    { name: "missing task", body: { items: [{ payload: {} }] }, code: "invalid_task_id", field: "items[0].task" },
    { name: "item not an object", body: { items: [good(0), 7] }, code: "invalid_item", field: "items[1]" },
    { name: "no items", body: { items: [] }, code: "batch_empty", field: "items" },
    { name: "items not an array", body: { items: { task: "echo" } }, code: "invalid_items", field: "items" },
    { name: "1001 items", body: { items: Array.from({ length: 1001 }, (_, i) => good(i)) }, code: "batch_too_large", field: "items" },
    { name: "bad batch key", body: { items: [good(0)], idempotencyKey: 5 }, code: "invalid_option", field: "idempotencyKey" },
  ];
  for (const c of cases) {
    const res = await postBatch(c.body);
    assert.equal(res.status, 400, `${c.name}: ${JSON.stringify(res.json)}`);
    assert.equal(res.json.error?.code, c.code, c.name);
    assert.equal(res.json.error?.field, c.field, c.name);
  }
  // Through the SDK too: a typed error carrying the field.
  await assert.rejects(
    tasks.batchTrigger<typeof echo>("echo", Array.from({ length: 1001 }, (_, i) => ({ payload: { value: `x${i}` } }))),
    (err: unknown) => err instanceof RuncastApiError && err.status === 400 && err.code === "batch_too_large" && err.field === "items",
  );
  assert.deepEqual(await counts(), before);
});

test("a batch of exactly 1000 items is accepted", async () => {
  const handle = await tasks.batchTrigger<typeof echo>("echo", Array.from({ length: 1000 }, (_, i) => ({ payload: { value: `k${i}`, delayMs: 1 }, options: { delay: "1h" } })));
  assert.equal(handle.runCount, 1000);
  const b = await batch.retrieve(handle.batchId);
  assert.equal(b.runs.length, 1000);
  assert.equal(b.status, "PENDING");
  assert.deepEqual(b.counts, { DELAYED: 1000 });
});

test("batch.trigger with mixed tasks: runs in item order, PARTIAL_FAILED when one fails", async () => {
  const handle = await batch.trigger<typeof echo | typeof failing>([
    { id: "echo", payload: { value: "one", delayMs: 1 } },
    { id: "failing", payload: { message: "boom" } },
    { id: "echo", payload: { value: "three", delayMs: 1 } },
  ]);
  assert.deepEqual(
    handle.runs.map((r) => r.taskIdentifier),
    ["echo", "failing", "echo"],
  );
  const done = await waitFor(async () => {
    const b = await batch.retrieve(handle);
    return b.status === "PARTIAL_FAILED" ? b : null;
  }, "the mixed batch to finish");
  assert.deepEqual(done.counts, { COMPLETED: 2, FAILED: 1 });
  const failed = await runs.retrieve<typeof failing>(handle.runs[1]!.id);
  assert.equal(failed.status, "FAILED");
  assert.equal(failed.error?.message, "boom");
});

test("a batch still running reports PROCESSING with per-status counts", async () => {
  const handle = await batch.trigger<typeof sleeper | typeof echo>([
    { id: "sleeper", payload: { ms: 60_000 } },
    { id: "echo", payload: { value: "quick", delayMs: 1 } },
  ]);
  const b = await waitFor(async () => {
    const r = await batch.retrieve(handle.batchId);
    return r.counts?.EXECUTING === 1 && r.counts.COMPLETED === 1 ? r : null;
  }, "the sleeper to execute and the echo to complete");
  assert.equal(b.status, "PROCESSING");
  assert.equal(b.completedAt, undefined);
  await runs.cancel(handle.runs[0]!.id);
  const settled = await waitFor(async () => {
    const r = await batch.retrieve(handle.batchId);
    return r.status === "PARTIAL_FAILED" ? r : null;
  }, "the canceled batch to settle");
  assert.deepEqual(settled.counts, { COMPLETED: 1, CANCELED: 1 });
});

test("the same batch idempotency key returns the first batch (isCached) and creates no runs", async () => {
  const key = `batch-key-${Date.now()}`;
  const items = [{ payload: { value: "i1", delayMs: 1 } }, { payload: { value: "i2", delayMs: 1 } }];
  const first = await tasks.batchTrigger<typeof echo>("echo", items, { idempotencyKey: key });
  assert.equal(first.isCached, false);
  const before = await counts();
  const again = await tasks.batchTrigger<typeof echo>("echo", [...items, { payload: { value: "i3" } }], { idempotencyKey: key });
  assert.equal(again.isCached, true);
  assert.equal(again.batchId, first.batchId);
  assert.equal(again.runCount, 2);
  assert.deepEqual(new Set(again.runs.map((r) => r.id)), new Set(first.runs.map((r) => r.id)));
  assert.ok(again.runs.every((r) => r.isCached));
  assert.ok(again.publicAccessToken);
  assert.deepEqual(await counts(), before);

  // Concurrent first uses of one key: one batch, every caller gets it.
  const raceKey = `${key}-race`;
  const results = await Promise.all(Array.from({ length: 5 }, () => tasks.batchTrigger<typeof echo>("echo", items, { idempotencyKey: raceKey })));
  assert.equal(new Set(results.map((r) => r.batchId)).size, 1);
  assert.equal(results.filter((r) => !r.isCached).length, 1);
  const { rows } = await env.node.pool.query<{ n: number }>("SELECT count(*)::int AS n FROM runs WHERE batch_id = $1", [results[0]!.batchId]);
  assert.equal(rows[0]!.n, 2);
});

test("an item's own idempotency key dedupes onto the existing run", async () => {
  const key = `item-key-${Date.now()}`;
  const single = await tasks.trigger<typeof echo>("echo", { value: "single", delayMs: 1 }, { idempotencyKey: key });
  const handle = await tasks.batchTrigger<typeof echo>("echo", [
    { payload: { value: "other", delayMs: 1 } },
    { payload: { value: "dup", delayMs: 1 }, options: { idempotencyKey: key } },
  ]);
  assert.equal(handle.runs[1]!.id, single.id);
  assert.equal(handle.runs[1]!.isCached, true);
  assert.equal(handle.runs[0]!.isCached, false);
});
