import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { configure, runs, tasks, type AnyTask, type RealtimeRun } from "@runcast/sdk";
import type { sleeper } from "../testing/tasks/basic.ts";
import { startTestNode, TEST_TASKS_DIR, waitFor, type TestNode } from "../testing/node.ts";
import { spawnWorker, type WorkerProcess } from "../testing/worker-process.ts";

let node: TestNode;
const workers: WorkerProcess[] = [];

before(async () => {
  node = await startTestNode({ leaseMs: 1_000 });
  configure({ baseURL: node.url, secretKey: node.secretKey });
});

async function killAll(): Promise<void> {
  for (const w of workers) {
    if (w.child.exitCode === null && w.child.signalCode === null) {
      w.child.kill("SIGKILL");
      await w.exited;
    }
  }
  // Workers that died without unregistering must not look connected to the next test.
  await node.pool.query("UPDATE workers SET stopped_at = now() AT TIME ZONE 'UTC'");
}

after(async () => {
  await killAll();
  await node?.stop();
});

async function startWorker(tasksDir = TEST_TASKS_DIR): Promise<WorkerProcess> {
  const w = spawnWorker(node.url, node.secretKey, tasksDir);
  workers.push(w);
  await w.ready;
  return w;
}

async function collect(id: string): Promise<RealtimeRun<typeof sleeper>[]> {
  const seen: RealtimeRun<typeof sleeper>[] = [];
  for await (const run of runs.subscribeToRun<typeof sleeper>(id)) seen.push(run);
  return seen;
}

test("a worker killed mid-run: the lease expires and the run is retried on another worker", async () => {
  const first = await startWorker();
  // The short delay lets the subscriber attach before anything happens, so it sees every status.
  const handle = await tasks.trigger<typeof sleeper>("sleeper", { ms: 1_500 }, { maxAttempts: 2, delay: "2s" });
  const watching = collect(handle.id);
  await waitFor(async () => (await runs.retrieve(handle.id)).status === "EXECUTING", "the run to start");
  first.child.kill("SIGKILL");
  await first.exited;
  await startWorker();
  const seen = await watching;
  const statuses = seen.map((r) => r.status);
  assert.deepEqual(statuses, ["DELAYED", "QUEUED", "EXECUTING", "REATTEMPTING", "QUEUED", "EXECUTING", "COMPLETED"]);
  const last = seen.at(-1)!;
  assert.equal(last.attemptNumber, 2);
  assert.deepEqual(last.output, { slept: 1_500 });
});

test("a worker killed mid-run with no attempts left: the run ends CRASHED", async () => {
  await killAll();
  const w = await startWorker();
  const handle = await tasks.trigger<typeof sleeper>("sleeper", { ms: 60_000 }, { delay: "2s" });
  const watching = collect(handle.id);
  await waitFor(async () => (await runs.retrieve(handle.id)).status === "EXECUTING", "the run to start");
  w.child.kill("SIGKILL");
  await w.exited;
  const seen = await watching;
  assert.deepEqual(seen.map((r) => r.status), ["DELAYED", "QUEUED", "EXECUTING", "CRASHED"]);
  const last = seen.at(-1)!;
  assert.ok(last.finishedAt);
  assert.match(last.error?.message ?? "", /heartbeat/);
});

test("an error no task can catch: the worker reports its run CRASHED before exiting, without waiting for the lease", async () => {
  await killAll();
  // The lease here is 1 s, but lease expiry would say "stopped heartbeating": the message tells who ended it.
  const w = await startWorker(new URL("../testing/tasks-crash/", import.meta.url).pathname);
  const handle = await tasks.trigger<AnyTask>("exploder", {}, { delay: "2s" });
  const seen = await collect(handle.id);
  assert.deepEqual(seen.map((r) => r.status), ["DELAYED", "QUEUED", "EXECUTING", "CRASHED"]);
  assert.match(seen.at(-1)!.error?.message ?? "", /boom from a timer/);
  assert.equal(await w.exited, 1);
});
