import { test } from "node:test";
import assert from "node:assert/strict";
import { runs, tasks } from "@runcast/sdk";
import type { patient } from "../testing/tasks/lifecycle.ts";
import { useNodeWithWorker, waitFor } from "../testing/node.ts";

const env = useNodeWithWorker();

test("canceling a parent waiting on its child cancels the child too (and the child's attempt)", async () => {
  const handle = await tasks.trigger<typeof patient>("patient", {});
  await waitFor(async () => (await runs.retrieve(handle.id)).status === "FROZEN", "the parent to wait on its child");
  const child = await waitFor(async () => {
    const { rows } = await env.node.pool.query<{ id: string; status: string }>("SELECT id, status FROM runs WHERE parent_run_id = $1", [handle.id]);
    return rows[0]?.status === "EXECUTING" ? rows[0] : null;
  }, "the child to execute");
  await runs.cancel(handle.id);
  await waitFor(async () => (await runs.retrieve(child.id)).status === "CANCELED", "the child to be canceled");
  assert.equal((await runs.retrieve(handle.id)).status, "CANCELED");
  const { rows } = await env.node.pool.query<{ status: string }>("SELECT status FROM attempts WHERE run_id = $1", [child.id]);
  assert.deepEqual(rows.map((r) => r.status), ["CANCELED"]);
  const events = await env.node.pool.query<{ reason: string | null }>("SELECT reason FROM run_events WHERE run_id = $1 AND status = 'CANCELED'", [child.id]);
  assert.equal(events.rows[0]?.reason, "canceled");
});
