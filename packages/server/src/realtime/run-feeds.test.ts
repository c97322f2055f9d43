import { test } from "node:test";
import assert from "node:assert/strict";
import { runs, tasks, RuncastApiError, type RealtimeRun } from "@runcast/sdk";
import type { echo, sleeper } from "../testing/tasks/basic.ts";
import { signPublicToken } from "../auth/jwt.ts";
import { useNodeWithWorker, waitFor } from "../testing/node.ts";

const env = useNodeWithWorker();

test("trigger → subscribe: statuses in order, ends by itself at COMPLETED with the output", async () => {
  const handle = await tasks.trigger<typeof echo>("echo", { value: "a", delayMs: 300 });
  assert.match(handle.id, /^run_/);
  assert.ok(handle.publicAccessToken);
  const seen: RealtimeRun<typeof echo>[] = [];
  for await (const run of runs.subscribeToRun<typeof echo>(handle.id, { accessToken: handle.publicAccessToken })) seen.push(run);
  const statuses = seen.map((r) => r.status);
  assert.equal(statuses.at(-1), "COMPLETED");
  assert.ok(statuses.includes("EXECUTING"), `saw ${statuses.join(",")}`);
  const order = ["QUEUED", "EXECUTING", "COMPLETED"];
  const idx = statuses.map((s) => order.indexOf(s));
  assert.deepEqual(idx, [...idx].sort((a, b) => a - b), `statuses out of order: ${statuses.join(",")}`);
  const last = seen.at(-1)!;
  assert.deepEqual(last.output, { echoed: "a" });
  assert.equal(last.taskIdentifier, "echo");
  assert.deepEqual(last.payload, { value: "a", delayMs: 300 });
  assert.ok(last.finishedAt instanceof Date && last.startedAt instanceof Date && last.createdAt instanceof Date);
  assert.ok(last.finishedAt.getTime() >= last.startedAt.getTime());
  assert.ok(last.durationMs > 0);
  assert.equal(last.isSuccess, true);
});

test("a subscriber that starts after the run finished gets the final state once and ends", async () => {
  const handle = await tasks.trigger<typeof echo>("echo", { value: "late", delayMs: 1 });
  await waitFor(async () => (await runs.retrieve(handle.id)).status === "COMPLETED", "run to complete");
  const seen: RealtimeRun<typeof echo>[] = [];
  for await (const run of runs.subscribeToRun<typeof echo>(handle.id)) seen.push(run);
  assert.equal(seen.length, 1);
  assert.equal(seen[0]!.status, "COMPLETED");
  assert.deepEqual(seen[0]!.output, { echoed: "late" });
});

test("subscribing to an unknown run fails with a not-found error instead of hanging", async () => {
  await assert.rejects(
    async () => {
      for await (const run of runs.subscribeToRun("run_doesnotexist000000000000")) void run;
    },
    (err: unknown) => err instanceof RuncastApiError && err.status === 404 && err.code === "run_not_found",
  );
});

test("a run's public token reads that run and no other", async () => {
  const a = await tasks.trigger<typeof echo>("echo", { value: "A" });
  const b = await tasks.trigger<typeof echo>("echo", { value: "B" });
  const ok = await fetch(`${env.node.url}/realtime/v1/runs/${a.id}?offset=-1`, { headers: { authorization: `Bearer ${a.publicAccessToken}` } });
  assert.equal(ok.status, 200);
  await ok.body?.cancel();
  const denied = await fetch(`${env.node.url}/realtime/v1/runs/${b.id}?offset=-1`, { headers: { authorization: `Bearer ${a.publicAccessToken}` } });
  assert.equal(denied.status, 403);
  assert.equal(((await denied.json()) as { error: { code: string } }).error.code, "forbidden");
});

test("a change committed during a held long-poll is delivered at once, not at the poll timeout", async (t) => {
  const handle = await tasks.trigger<typeof sleeper>("sleeper", { ms: 60_000 });
  const sub = runs.subscribeToRun<typeof sleeper>(handle.id);
  const it = sub[Symbol.asyncIterator]();
  // Wait until the subscriber is live on an EXECUTING run.
  for (;;) {
    const { value } = await it.next();
    if (value?.status === "EXECUTING") break;
  }
  const latencies: number[] = [];
  for (let i = 0; i < 20; i++) {
    // Ask for the next state first: the subscriber's long-poll reaches the server and is held there.
    const next = it.next();
    await new Promise((r) => setTimeout(r, 50));
    const committedAt = performance.now();
    await env.node.pool.query("UPDATE runs SET metadata = $2, updated_at = now() AT TIME ZONE 'UTC' WHERE id = $1", [handle.id, JSON.stringify({ i })]);
    const { value } = await next;
    latencies.push(performance.now() - committedAt);
    assert.deepEqual(value?.metadata, { i });
  }
  sub.unsubscribe();
  await runs.cancel(handle.id);
  latencies.sort((a, b) => a - b);
  const median = latencies[Math.floor(latencies.length / 2)]!;
  const max = latencies.at(-1)!;
  t.diagnostic(`commit → subscriber latency over 20 updates: median ${median.toFixed(1)} ms, max ${max.toFixed(1)} ms`);
  // The long-poll is held for 20 s; anything near that would mean a timer, not the commit, woke it.
  assert.ok(max < 5_000, `an update took ${max} ms to arrive`);
});

test("a live run feed is authorised from the run the shape holds: removing the token's tag ends its access at once (SPEC A2)", async () => {
  const handle = await tasks.trigger<typeof sleeper>("sleeper", { ms: 60_000 }, { tags: ["team_a"] });
  const token = await signPublicToken(env.node.secretKey, { sub: env.node.envId, scopes: ["read:tags:team_a"] });
  const url = (q: string) => `${env.node.url}/realtime/v1/runs/${handle.id}?${q}`;
  const auth = { authorization: `Bearer ${token}` };
  const first = await fetch(url("offset=-1"), { headers: auth });
  assert.equal(first.status, 200);
  await first.body?.cancel();
  const shapeHandle = first.headers.get("electric-handle")!;
  const offset = first.headers.get("electric-offset")!;
  // The tag goes: the live request on the shape's handle is refused without any run lookup of its own.
  await env.node.pool.query("UPDATE runs SET tags = '{team_b}' WHERE id = $1", [handle.id]);
  await waitFor(async () => {
    const r = await fetch(url(`offset=${offset}&handle=${shapeHandle}`), { headers: auth });
    await r.body?.cancel();
    return r.status === 403;
  }, "the token to lose access");
  // A token claiming another environment (signed with this one's key) is refused, shape or not.
  const other = await fetch(url("offset=-1"), { headers: { authorization: `Bearer ${await signPublicToken(env.node.secretKey, { sub: "env_other", scopes: ["read:runs"] })}` } });
  assert.equal(other.status, 401);
  await other.body?.cancel();
  await runs.cancel(handle.id);
});
