import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { configure, runs, tasks, type RealtimeRun } from "@runcast/sdk";
import { Worker } from "@runcast/sdk/worker";
import type { echo } from "../testing/tasks/basic.ts";
import { startTestNode, TEST_TASKS_DIR, type TestNode } from "../testing/node.ts";

let node: TestNode;
const workers: Worker[] = [];

function newWorker(): Worker {
  const w = new Worker({ tasksDir: TEST_TASKS_DIR, config: { baseURL: node.url, secretKey: node.secretKey } });
  workers.push(w);
  return w;
}

before(async () => {
  node = await startTestNode();
  configure({ baseURL: node.url, secretKey: node.secretKey });
});

after(async () => {
  for (const w of workers) await w.stop();
  await node?.stop();
});

test("two concurrent subscribers both see every status, in order", async () => {
  // Register the tasks, then take the worker away: the next run waits for a deployment, so both
  // subscribers are attached before anything happens to it.
  const first = newWorker();
  await first.start();
  await first.stop();
  const handle = await tasks.trigger<typeof echo>("echo", { value: "both", delayMs: 200 });
  assert.equal((await runs.retrieve(handle.id)).status, "WAITING_FOR_DEPLOY");

  const attached: Promise<void>[] = [];
  const collect = () => {
    let attach!: () => void;
    attached.push(new Promise<void>((r) => (attach = r)));
    return (async () => {
      const seen: RealtimeRun<typeof echo>[] = [];
      for await (const run of runs.subscribeToRun<typeof echo>(handle.id)) {
        seen.push(run);
        attach();
      }
      return seen;
    })();
  };
  const a = collect();
  const b = collect();
  // Both have their first state (WAITING_FOR_DEPLOY) before a worker connects.
  await Promise.all(attached);
  await newWorker().start();
  const [seenA, seenB] = await Promise.all([a, b]);
  const expected = ["WAITING_FOR_DEPLOY", "QUEUED", "EXECUTING", "COMPLETED"];
  assert.deepEqual(seenA.map((r) => r.status), expected);
  assert.deepEqual(seenB.map((r) => r.status), expected);
  assert.deepEqual(seenA.at(-1)?.output, { echoed: "both" });
  // Timestamps move forward with the statuses.
  assert.ok(seenA[1]!.queuedAt && seenA[2]!.startedAt && seenA[3]!.finishedAt);
});
