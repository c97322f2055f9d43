// The continuation of a waiting run lives in the worker that holds its attempt: if that worker dies while the
// run waits, the run is retried or CRASHED when its lease expires; it never stays FROZEN.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { configure, runs, tasks } from "@runcast/sdk";
import type { waiter } from "../testing/tasks/lifecycle.ts";
import { startTestNode, TEST_TASKS_DIR, waitFor, type TestNode } from "../testing/node.ts";
import { spawnWorker, type WorkerProcess } from "../testing/worker-process.ts";

let node: TestNode;
let worker: WorkerProcess | undefined;

before(async () => {
  node = await startTestNode({ leaseMs: 1_000 });
  configure({ baseURL: node.url, secretKey: node.secretKey });
});

after(async () => {
  worker?.child.kill("SIGKILL");
  await worker?.exited;
  await node?.stop();
});

test("a run waiting when its worker dies ends CRASHED once the lease expires (never stuck FROZEN)", async () => {
  worker = spawnWorker(node.url, node.secretKey, TEST_TASKS_DIR);
  await worker.ready;
  const handle = await tasks.trigger<typeof waiter>("waiter", { seconds: 3 });
  await waitFor(async () => (await runs.retrieve(handle.id)).status === "FROZEN", "the run to wait");
  worker.child.kill("SIGKILL");
  await worker.exited;
  await waitFor(async () => (await runs.retrieve(handle.id)).status === "CRASHED", "the run to crash after its lease", 20_000);
  const { rows } = await node.pool.query<{ status: string }>("SELECT status FROM waitpoints WHERE run_id = $1", [handle.id]);
  assert.ok(rows.every((r) => r.status !== "WAITING"), "no waitpoint left waiting");
});
