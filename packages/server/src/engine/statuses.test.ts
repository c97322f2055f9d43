// Drives runs into every status and checks the exact sequence a realtime subscriber observed.
// Runs are triggered with a short delay so the subscriber is attached before anything happens.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { configure, runs, tasks, type AnyTask, type RunHandle } from "@runcast/sdk";
import { Worker } from "@runcast/sdk/worker";
import { aborted, hookCalls } from "../testing/tasks/lifecycle.ts";
import { startTestNode, TEST_TASKS_DIR, waitFor, type TestNode } from "../testing/node.ts";

let node: TestNode;
let worker: Worker | undefined;

function newWorker(): Worker {
  return new Worker({ tasksDir: TEST_TASKS_DIR, config: { baseURL: node.url, secretKey: node.secretKey } });
}

before(async () => {
  node = await startTestNode();
  configure({ baseURL: node.url, secretKey: node.secretKey });
  // Register every test task, then disconnect: the first test needs no worker connected.
  const w = newWorker();
  await w.start();
  await w.stop();
});

after(async () => {
  await worker?.stop();
  await node?.stop();
});

/**
 * Subscribes right away and collects every status until the run finishes. `attached` resolves once
 * the subscriber has the run's first state.
 */
function watch(handle: RunHandle | Promise<RunHandle>) {
  let attach!: () => void;
  const attached = new Promise<void>((r) => (attach = r));
  const done = (async () => {
    const h = await handle;
    const statuses: string[] = [];
    let last;
    for await (const run of runs.subscribeToRun(h.id)) {
      statuses.push(run.status);
      last = run;
      attach();
    }
    return { id: h.id, statuses, last: last! };
  })();
  return Object.assign(done, { attached });
}

const trigger = (id: string, payload: unknown, options: Parameters<typeof tasks.trigger>[2] = {}) =>
  tasks.trigger<AnyTask>(id, payload, { delay: "2s", ...options });

test("EXPIRED: a run whose ttl passes before it starts", async () => {
  const seen = await watch(tasks.trigger<AnyTask>("echo", { value: "never" }, { ttl: "1s" }));
  assert.deepEqual(seen.statuses, ["WAITING_FOR_DEPLOY", "EXPIRED"]);
  assert.ok(seen.last.expiredAt && seen.last.finishedAt);
  worker = newWorker();
  await worker.start();
});

test("WAITING_FOR_DEPLOY: a task id no worker has registered yet runs once a worker registering it connects", async () => {
  const watching = watch(tasks.trigger<AnyTask>("newcomer", { n: 21 }));
  await watching.attached;
  const late = new Worker({ tasksDir: new URL("../testing/tasks-later/", import.meta.url).pathname, config: { baseURL: node.url, secretKey: node.secretKey } });
  await late.start();
  try {
    const seen = await watching;
    assert.deepEqual(seen.statuses, ["WAITING_FOR_DEPLOY", "QUEUED", "EXECUTING", "COMPLETED"]);
    assert.deepEqual(seen.last.output, { doubled: 42 });
  } finally {
    await late.stop();
  }
});

test("DELAYED → QUEUED → EXECUTING → COMPLETED", async () => {
  const seen = await watch(trigger("echo", { value: "d" }));
  assert.deepEqual(seen.statuses, ["DELAYED", "QUEUED", "EXECUTING", "COMPLETED"]);
  assert.ok(seen.last.delayedUntil && seen.last.queuedAt && seen.last.startedAt && seen.last.finishedAt);
  assert.ok(seen.last.durationMs > 0 && seen.last.costInCents > 0 && seen.last.baseCostInCents > 0);
});

test("REATTEMPTING: a failed attempt is retried after the task's backoff", async () => {
  const seen = await watch(trigger("flaky", {}));
  assert.deepEqual(seen.statuses, ["DELAYED", "QUEUED", "EXECUTING", "REATTEMPTING", "QUEUED", "EXECUTING", "COMPLETED"]);
  assert.deepEqual(seen.last.output, { attempt: 2 });
  assert.equal(seen.last.attemptNumber, 2);
});

test("FAILED: the error keeps its name, message and stack", async () => {
  const seen = await watch(trigger("broken", {}));
  assert.deepEqual(seen.statuses, ["DELAYED", "QUEUED", "EXECUTING", "FAILED"]);
  assert.equal(seen.last.error?.name, "RangeError");
  assert.equal(seen.last.error?.message, "this task always fails");
  assert.match(seen.last.error?.stackTrace ?? "", /lifecycle\.ts/);
});

test("FROZEN: wait.for releases the run and resumes it", async () => {
  const seen = await watch(trigger("waiter", { seconds: 0.5 }));
  assert.deepEqual(seen.statuses, ["DELAYED", "QUEUED", "EXECUTING", "FROZEN", "QUEUED", "EXECUTING", "COMPLETED"]);
});

test("FROZEN: triggerAndWait freezes the parent until its child finishes", async () => {
  const seen = await watch(trigger("parent", { value: "kid" }));
  assert.deepEqual(seen.statuses, ["DELAYED", "QUEUED", "EXECUTING", "FROZEN", "QUEUED", "EXECUTING", "COMPLETED"]);
  const out = seen.last.output as { child: string; childId: string };
  assert.equal(out.child, "kid");
  const child = (await runs.retrieve(out.childId)) as unknown as { status: string; triggerFunction: string; depth: number };
  assert.equal(child.status, "COMPLETED");
  assert.equal(child.triggerFunction, "triggerAndWait");
  assert.equal(child.depth, 1);
});

test("FROZEN: batchTriggerAndWait waits for every run of the batch, results in item order", async () => {
  const seen = await watch(trigger("fanout", { n: 12 }));
  assert.deepEqual(seen.statuses, ["DELAYED", "QUEUED", "EXECUTING", "FROZEN", "QUEUED", "EXECUTING", "COMPLETED"]);
  const out = seen.last.output as { echoed: string[]; batchId: string };
  assert.deepEqual(out.echoed, Array.from({ length: 12 }, (_, i) => `v${i}`));
  const { rows } = await node.pool.query<{ n: number; parents: number }>(
    "SELECT count(*)::int AS n, count(DISTINCT parent_run_id)::int AS parents FROM runs WHERE batch_id = $1",
    [out.batchId],
  );
  assert.deepEqual(rows[0], { n: 12, parents: 1 });
});

test("onStart / onSuccess / onFailure run around the task, inside the run", async () => {
  const ok = await watch(trigger("hooked", { fail: false }));
  assert.deepEqual(ok.statuses.at(-1), "COMPLETED");
  assert.deepEqual(hookCalls.get(ok.id), ["start", "success:true"]);
  assert.deepEqual(ok.last.metadata, { hook: "success" });
  const bad = await watch(trigger("hooked", { fail: true }));
  assert.deepEqual(bad.statuses.at(-1), "FAILED");
  assert.deepEqual(hookCalls.get(bad.id), ["start", "failure:asked to fail"]);
});

test("TIMED_OUT: maxDuration aborts the attempt", async () => {
  const seen = await watch(trigger("slowpoke", {}));
  assert.deepEqual(seen.statuses, ["DELAYED", "QUEUED", "EXECUTING", "TIMED_OUT"]);
  assert.match(seen.last.error?.message ?? "", /maxDuration/);
});

test("SYSTEM_FAILURE: an output Runcast cannot store", async () => {
  const seen = await watch(trigger("unstorable", {}));
  assert.deepEqual(seen.statuses, ["DELAYED", "QUEUED", "EXECUTING", "SYSTEM_FAILURE"]);
  assert.match(seen.last.error?.message ?? "", /JSON/);
});

test("CANCELED: cancel stops an executing run and fires its abort signal; canceling a finished run changes nothing", async () => {
  const handle = await trigger("cancellable", {});
  const watching = watch(handle);
  await waitFor(async () => (await runs.retrieve(handle.id)).status === "EXECUTING", "the run to execute");
  await runs.cancel(handle.id);
  const seen = await watching;
  assert.deepEqual(seen.statuses, ["DELAYED", "QUEUED", "EXECUTING", "CANCELED"]);
  await waitFor(() => aborted.has(handle.id), "the task's abort signal to fire", 5_000);
  // As on Trigger.dev, canceling a finished run answers its id at once (the official SDK retries a 409 for seconds).
  assert.deepEqual(await runs.cancel(handle.id), { id: handle.id });
  const done = await trigger("echo", { value: "done" });
  await waitFor(async () => (await runs.retrieve(done.id)).status === "COMPLETED", "a run to complete");
  assert.deepEqual(await runs.cancel(done.id), { id: done.id });
  assert.equal((await runs.retrieve(done.id)).status, "COMPLETED", "a finished run keeps its status");
  assert.equal((await runs.retrieve(handle.id)).status, "CANCELED");
});

test("INTERRUPTED: stopping the worker aborts its runs and reports them", async () => {
  const handle = await trigger("cancellable", {});
  const watching = watch(handle);
  await waitFor(async () => (await runs.retrieve(handle.id)).status === "EXECUTING", "the run to execute");
  await worker!.stop();
  worker = undefined;
  const seen = await watching;
  assert.deepEqual(seen.statuses, ["DELAYED", "QUEUED", "EXECUTING", "INTERRUPTED"]);
  assert.ok(aborted.has(handle.id));
});
