// Worker.drain(), the worker side of `runcast dev` reloading task files: the draining worker takes no new run,
// its executing runs finish on it (on the code they started with), a run waiting on a waitpoint (which would
// come back through the dequeue that ended) is interrupted, and the next worker takes the runs queued meanwhile.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { configure, runs, tasks } from "@runcast/sdk";
import { Worker } from "@runcast/sdk/worker";
import type { echo, sleeper } from "../testing/tasks/basic.ts";
import type { waiter } from "../testing/tasks/lifecycle.ts";
import { startTestNode, TEST_TASKS_DIR, waitFor, type TestNode } from "../testing/node.ts";

let node: TestNode;
const workers: Worker[] = [];

before(async () => {
  node = await startTestNode();
  configure({ baseURL: node.url, secretKey: node.secretKey });
});

after(async () => {
  for (const w of workers) await w.stop();
  await node?.stop();
});

const newWorker = async () => {
  const w = new Worker({ tasksDir: TEST_TASKS_DIR, concurrency: 5, config: { baseURL: node.url, secretKey: node.secretKey } });
  workers.push(w);
  await w.start();
  return w;
};
const status = async (id: string) => (await runs.retrieve(id)).status;

test("a draining worker finishes its executing runs, interrupts its waiting ones, takes nothing new; the next worker does", async () => {
  const old = await newWorker();
  const long = await tasks.trigger<typeof sleeper>("sleeper", { ms: 1_500 });
  const frozen = await tasks.trigger<typeof waiter>("waiter", { seconds: 60 });
  await waitFor(async () => (await status(long.id)) === "EXECUTING", "the long run to execute");
  await waitFor(async () => (await status(frozen.id)) === "FROZEN", "the waiting run to freeze");
  assert.equal(old.running, 2);

  let stoppedTaking = false;
  const drained = old.drain(() => (stoppedTaking = true));
  await waitFor(() => stoppedTaking, "the worker to stop taking runs");
  const queued = await tasks.trigger<typeof echo>("echo", { value: "after" });
  await drained;

  assert.equal(await status(long.id), "COMPLETED", "the executing run finished on the draining worker");
  assert.deepEqual((await runs.retrieve<typeof sleeper>(long.id)).output, { slept: 1_500 });
  const interrupted = await runs.retrieve(frozen.id);
  assert.equal(interrupted.status, "INTERRUPTED");
  assert.match(interrupted.error?.message ?? "", /task files were reloaded while the run waited/);
  assert.equal(old.running, 0);
  // Had the draining worker taken it, the echo (50 ms) would have finished before the drain did.
  assert.ok(["QUEUED", "WAITING_FOR_DEPLOY"].includes(await status(queued.id)), "the draining worker took no new run");

  await newWorker();
  await waitFor(async () => (await status(queued.id)) === "COMPLETED", "the next worker to run what was queued meanwhile");
  await old.done();
});
