import { test } from "node:test";
import assert from "node:assert/strict";
import { runs, tasks, RuncastApiError } from "@runcast/sdk";
import type { echo } from "../testing/tasks/basic.ts";
import { useNodeWithWorker, waitFor } from "../testing/node.ts";

// A retention of about two seconds (RUNCAST_RUN_RETENTION_DAYS accepts fractions).
const env = useNodeWithWorker({ retentionMs: 2_000 });

test("finished runs older than the retention age are deleted, with their attempts and history; subscribers see the delete", async () => {
  const handle = await tasks.trigger<typeof echo>("echo", { value: "short-lived" });
  await waitFor(async () => (await runs.retrieve(handle.id)).status === "COMPLETED", "the run to complete");
  const auth = { authorization: `Bearer ${env.node.secretKey}` };
  const first = await fetch(`${env.node.url}/realtime/v1/runs/${handle.id}?offset=-1`, { headers: auth });
  assert.equal(first.status, 200);
  await first.body?.cancel();
  const live = await fetch(
    `${env.node.url}/realtime/v1/runs/${handle.id}?offset=${first.headers.get("electric-offset")}&handle=${first.headers.get("electric-handle")}&live=true`,
    { headers: auth },
  );
  const messages = (await live.json()) as { headers: { operation?: string } }[];
  assert.deepEqual(messages.flatMap((m) => (m.headers.operation ? [m.headers.operation] : [])), ["delete"]);
  await assert.rejects(runs.retrieve(handle.id), (err: unknown) => err instanceof RuncastApiError && err.status === 404);
  for (const table of ["attempts", "run_events"]) {
    const { rows } = await env.node.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table} WHERE run_id = $1`, [handle.id]);
    assert.equal(rows[0]!.n, 0, table);
  }
  // Runs still going are kept however old.
  const running = await tasks.trigger<typeof echo>("echo", { value: "slow", delayMs: 4_000 });
  await new Promise((r) => setTimeout(r, 3_000));
  assert.notEqual((await runs.retrieve(running.id)).status, "COMPLETED");
});
