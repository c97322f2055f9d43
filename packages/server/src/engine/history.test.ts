// Every status change goes through one transition table: illegal ones cannot be written, and each one is
// kept in the run's history, readable through the API.
import { test } from "node:test";
import assert from "node:assert/strict";
import { runs, tasks } from "@runcast/sdk";
import type { echo } from "../testing/tasks/basic.ts";
import type { flaky } from "../testing/tasks/lifecycle.ts";
import { useNodeWithWorker, waitFor } from "../testing/node.ts";
import { ILLEGAL_TRANSITION, TRANSITIONS } from "./transitions.ts";

const env = useNodeWithWorker();

interface Event {
  status: string;
  previousStatus: string | null;
  attemptNumber: number;
  at: string;
  reason?: string;
}

async function history(runId: string, token = env.node.secretKey): Promise<Event[]> {
  const r = await fetch(`${env.node.url}/api/v1/runs/${runId}/events`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(r.status, 200);
  return ((await r.json()) as { events: Event[] }).events;
}

test("a run's history lists every transition in order, with its attempt (run events API)", async () => {
  const handle = await tasks.trigger<typeof flaky>("flaky", {});
  await waitFor(async () => (await runs.retrieve(handle.id)).status === "COMPLETED", "the flaky run to complete");
  const events = await history(handle.id, handle.publicAccessToken);
  assert.deepEqual(
    events.map((e) => [e.previousStatus, e.status, e.attemptNumber]),
    [
      [null, "QUEUED", 0],
      ["QUEUED", "EXECUTING", 1],
      ["EXECUTING", "REATTEMPTING", 1],
      ["REATTEMPTING", "QUEUED", 1],
      ["QUEUED", "EXECUTING", 2],
      ["EXECUTING", "COMPLETED", 2],
    ],
  );
  const times = events.map((e) => Date.parse(e.at));
  assert.deepEqual(times, [...times].sort((a, b) => a - b), "in time order");
  // Every recorded step is in the table.
  for (const e of events) if (e.previousStatus) assert.ok(TRANSITIONS[e.previousStatus as keyof typeof TRANSITIONS].includes(e.status as never));
});

test("an illegal transition cannot be written, by any code path: the database refuses it", async () => {
  const handle = await tasks.trigger<typeof echo>("echo", { value: "done" });
  await waitFor(async () => (await runs.retrieve(handle.id)).status === "COMPLETED", "the run to complete");
  for (const status of ["EXECUTING", "QUEUED", "FAILED", "FROZEN"]) {
    await assert.rejects(env.node.pool.query("UPDATE runs SET status = $2 WHERE id = $1", [handle.id, status]), (err: { code?: string }) => err.code === ILLEGAL_TRANSITION);
  }
  await assert.rejects(
    env.node.pool.query("INSERT INTO runs (id, env_id, task_identifier, status, queue) VALUES ('run_bogus', $1, 'echo', 'COMPLETED', 'task/echo')", [env.node.envId]),
    (err: { code?: string }) => err.code === ILLEGAL_TRANSITION,
  );
  const events = await history(handle.id);
  assert.equal(events.at(-1)?.status, "COMPLETED", "nothing was recorded for the refused changes");
  // Cancel of a finished run changes nothing and answers its id (as Trigger.dev does), never a 500.
  const r = await fetch(`${env.node.url}/api/v2/runs/${handle.id}/cancel`, { method: "POST", headers: { authorization: `Bearer ${env.node.secretKey}` } });
  assert.equal(r.status, 200);
  assert.equal((await history(handle.id)).at(-1)?.status, "COMPLETED");
});
