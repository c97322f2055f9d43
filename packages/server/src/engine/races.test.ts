// Concurrent cancels, completions, failures and lease expiries on the same runs: every request gets a
// 2xx or a clear 4xx (never a 5xx: no deadlock, no illegal transition), and no run stays EXECUTING.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { startTestNode, waitFor, type TestNode } from "../testing/node.ts";

let node: TestNode;

before(async () => {
  node = await startTestNode({ leaseMs: 400 });
});

after(async () => {
  await node?.stop();
});

async function api(path: string, body: unknown = {}): Promise<{ status: number; json: Record<string, unknown> }> {
  const r = await fetch(`${node.url}${path}`, {
    method: "POST",
    headers: { authorization: `Bearer ${node.secretKey}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  return { status: r.status, json: (await r.json()) as Record<string, unknown> };
}

test("500 runs under concurrent cancel, complete, fail and lease expiry: no 5xx, none stuck EXECUTING", async () => {
  const reg = await api("/api/v1/workers", { name: "racer", concurrency: 500, tasks: [{ id: "race" }] });
  assert.equal(reg.status, 201);
  const workerId = reg.json.workerId as string;
  const triggered = await Promise.all(Array.from({ length: 500 }, (_, i) => api("/api/v1/tasks/race/trigger", { payload: { i } })));
  assert.ok(triggered.every((t) => t.status === 200));
  const leased: { id: string; attemptId: string }[] = [];
  while (leased.length < 500) {
    const d = await api(`/api/v1/workers/${workerId}/dequeue`, { maxRuns: 100, waitMs: 2_000 });
    assert.equal(d.status, 200);
    leased.push(...(d.json.runs as { id: string; attemptId: string }[]));
  }
  const statuses: number[] = [];
  const attempt = (r: { id: string; attemptId: string }, action: string, body: Record<string, unknown> = {}) =>
    api(`/api/v1/runs/${r.id}/attempts/${r.attemptId}/${action}`, { workerId, ...body }).then((x) => statuses.push(x.status));
  const cancel = (r: { id: string }) => api(`/api/v2/runs/${r.id}/cancel`).then((x) => statuses.push(x.status));
  // Every run gets two or three racing actions; a fifth are left to their lease (then swept as crashed).
  await Promise.all(
    leased.map((r, i) => {
      switch (i % 5) {
        case 0:
          return Promise.all([cancel(r), attempt(r, "complete", { output: { i } })]);
        case 1:
          return Promise.all([attempt(r, "fail", { error: { message: "boom" } }), cancel(r), attempt(r, "heartbeat")]);
        case 2:
          return Promise.all([
            attempt(r, "wait", { waitpoint: { kind: "duration", until: new Date(Date.now() + 200).toISOString() } }),
            cancel(r),
            attempt(r, "complete", { output: null }),
          ]);
        case 3:
          return new Promise((resolve) => setTimeout(resolve, 350 + Math.random() * 200)).then(() => Promise.all([attempt(r, "complete", { output: { late: true } }), cancel(r)]));
        default:
          return undefined; // the lease expires
      }
    }),
  );
  const serverErrors = statuses.filter((s) => s >= 500);
  assert.deepEqual(serverErrors, [], "no request failed on the server");
  assert.ok(statuses.every((s) => s < 300 || s === 404 || s === 409), `unexpected statuses: ${[...new Set(statuses)].join(",")}`);
  await waitFor(
    async () => {
      const { rows } = await node.pool.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM runs WHERE task_identifier = 'race' AND status NOT IN ('COMPLETED','CANCELED','FAILED','CRASHED')",
      );
      return rows[0]!.n === 0;
    },
    "every run to end (the unattended ones through the lease sweep)",
    30_000,
  );
  const { rows } = await node.pool.query<{ n: number }>("SELECT count(*)::int AS n FROM attempts WHERE status = 'EXECUTING'");
  assert.equal(rows[0]!.n, 0, "no attempt left executing");
});
