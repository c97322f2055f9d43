// Workers are alive while they heartbeat (not only while they dequeue): a busy worker's task gets QUEUED
// runs; registration and triggering cannot race a run into WAITING_FOR_DEPLOY for good; a worker that comes
// back releases what waited for it; a dequeue whose client left leases nothing.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { runs, tasks, configure } from "@runcast/sdk";
import { Worker } from "@runcast/sdk/worker";
import type { sleeper } from "../testing/tasks/basic.ts";
import { startTestNode, TEST_TASKS_DIR, waitFor, type TestNode } from "../testing/node.ts";

let node: TestNode;
let worker: Worker | undefined;

before(async () => {
  node = await startTestNode({ workerTimeoutMs: 1_500, leaseMs: 3_000 });
  configure({ baseURL: node.url, secretKey: node.secretKey });
});

after(async () => {
  await worker?.stop();
  await node?.stop();
});

async function api(path: string, body: unknown = {}, signal?: AbortSignal): Promise<{ status: number; json: Record<string, unknown> }> {
  const r = await fetch(`${node.url}${path}`, {
    method: "POST",
    headers: { authorization: `Bearer ${node.secretKey}`, "content-type": "application/json" },
    body: JSON.stringify(body),
    ...(signal ? { signal } : {}),
  });
  return { status: r.status, json: (await r.json()) as Record<string, unknown> };
}

const status = async (id: string) => (await runs.retrieve(id)).status;

test("a run of a task whose only worker is busy (longer than the worker timeout) is QUEUED, then completes", async () => {
  worker = new Worker({ tasksDir: TEST_TASKS_DIR, concurrency: 1, config: { baseURL: node.url, secretKey: node.secretKey } });
  await worker.start();
  const long = await tasks.trigger<typeof sleeper>("sleeper", { ms: 4_000 });
  await waitFor(async () => (await status(long.id)) === "EXECUTING", "the long run to execute");
  // The worker dequeues nothing while its one slot is taken; only its heartbeats say it is alive.
  await new Promise((r) => setTimeout(r, 2_500));
  const next = await tasks.trigger<typeof sleeper>("sleeper", { ms: 10 });
  assert.equal(await status(next.id), "QUEUED");
  await waitFor(async () => (await status(next.id)) === "COMPLETED", "the second run to complete once the slot frees", 20_000);
  await worker.stop();
  worker = undefined;
});

test("triggers racing a worker's registration never leave a run waiting for a deployment", async () => {
  const taskId = `racy_${Date.now()}`;
  const triggers = Array.from({ length: 40 }, (_, i) =>
    new Promise((r) => setTimeout(r, i * 3)).then(() => api(`/api/v1/tasks/${taskId}/trigger`, { payload: { i } })),
  );
  const registration = new Promise((r) => setTimeout(r, 50)).then(() => api("/api/v1/workers", { name: "late", concurrency: 1, tasks: [{ id: taskId }] }));
  const results = await Promise.all([...triggers, registration]);
  assert.ok(results.every((r) => r.status === 200 || r.status === 201));
  const { rows } = await node.pool.query<{ status: string; n: number }>("SELECT status, count(*)::int AS n FROM runs WHERE task_identifier = $1 GROUP BY status", [taskId]);
  assert.deepEqual(rows.map((r) => r.status), ["QUEUED"], `statuses: ${JSON.stringify(rows)}`);
  await api(`/api/v1/workers/${(results.at(-1)!.json.workerId as string)}/stop`);
});

test("a worker seen again after the timeout releases the runs that waited for it", async () => {
  const taskId = `comeback_${Date.now()}`;
  const reg = await api("/api/v1/workers", { name: "sleepy", concurrency: 1, tasks: [{ id: taskId }] });
  const workerId = reg.json.workerId as string;
  await new Promise((r) => setTimeout(r, 2_000)); // silent past the timeout: counted as gone
  const run = await api(`/api/v1/tasks/${taskId}/trigger`, { payload: {} });
  const id = run.json.id as string;
  assert.equal(await status(id), "WAITING_FOR_DEPLOY");
  const got = await api(`/api/v1/workers/${workerId}/dequeue`, { maxRuns: 1, waitMs: 1_000 });
  assert.deepEqual((got.json.runs as { id: string }[]).map((r) => r.id), [id]);
  await api(`/api/v2/runs/${id}/cancel`);
  await api(`/api/v1/workers/${workerId}/stop`);
});

test("a held dequeue whose client left leases nothing: the run goes to the next dequeue", async () => {
  const taskId = `leaver_${Date.now()}`;
  const reg = await api("/api/v1/workers", { name: "leaver", concurrency: 1, tasks: [{ id: taskId }] });
  const workerId = reg.json.workerId as string;
  const gone = new AbortController();
  const held = api(`/api/v1/workers/${workerId}/dequeue`, { maxRuns: 1, waitMs: 10_000 }, gone.signal).catch(() => null);
  await new Promise((r) => setTimeout(r, 300)); // held by the server now
  gone.abort();
  await held;
  const run = await api(`/api/v1/tasks/${taskId}/trigger`, { payload: {} });
  const id = run.json.id as string;
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(await status(id), "QUEUED", "not leased to the client that left");
  const got = await api(`/api/v1/workers/${workerId}/dequeue`, { maxRuns: 1, waitMs: 1_000 });
  assert.deepEqual((got.json.runs as { id: string }[]).map((r) => r.id), [id]);
  const { rows } = await node.pool.query<{ n: number }>("SELECT count(*)::int AS n FROM attempts WHERE run_id = $1", [id]);
  assert.equal(rows[0]!.n, 1, "one attempt: the gone client never had one");
  await api(`/api/v2/runs/${id}/cancel`);
});
