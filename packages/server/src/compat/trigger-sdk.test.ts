// The official Trigger.dev SDK (@trigger.dev/sdk, exactly 4.8.3) against a real Runcast server, with tasks written
// with @runcast/sdk and run by Runcast's worker: the everyday calls of its docs, unchanged, only pointed at Runcast.
import { test } from "node:test";
import assert from "node:assert/strict";
import { auth, batch, configure, runs, tasks } from "@trigger.dev/sdk";
import { useNodeWithWorker } from "../testing/node.ts";

const env = useNodeWithWorker();
const official = () => configure({ baseURL: env.node.url, secretKey: env.node.secretKey });

type AnyRun = { id: string; status: string; output?: unknown; metadata?: Record<string, unknown>; tags: string[]; finishedAt?: Date; taskIdentifier: string };

/** Reads `iterable` until `done` says so, or fails after `ms` with what was seen. */
async function readUntil<T>(iterable: AsyncIterable<T>, done: (seen: T[]) => boolean, ms = 20_000): Promise<T[]> {
  const seen: T[] = [];
  const timeout = new Promise<never>((_, reject) => {
    const t = setTimeout(() => reject(new Error(`timed out after ${ms} ms; saw ${JSON.stringify(seen.map((r) => (r as AnyRun).status ?? r))}`)), ms);
    t.unref();
  });
  const reading = (async () => {
    for await (const item of iterable) {
      seen.push(item);
      if (done(seen)) break;
    }
    return seen;
  })();
  return Promise.race([reading, timeout]);
}

test("tasks.trigger → runs.subscribeToRun to COMPLETED with output; metadata progress reaches the official subscriber", async () => {
  official();
  const handle = await tasks.trigger("stepper", { steps: 4, stepMs: 40 });
  assert.match(handle.id, /^run_/);
  assert.ok(handle.publicAccessToken, "the handle carries a read token (x-trigger-jwt)");
  const states = (await readUntil(runs.subscribeToRun(handle.id), (s) => !!(s.at(-1) as AnyRun | undefined)?.finishedAt)) as unknown as AnyRun[];
  const last = states.at(-1);
  assert.equal(last?.status, "COMPLETED");
  assert.deepEqual(last?.output, { steps: 4 });
  const progress = states.map((s) => s.metadata?.progress).filter((p): p is number => typeof p === "number");
  assert.ok(progress.length >= 2, `progress seen while running: ${JSON.stringify(progress)}`);
  assert.equal(progress.at(-1), 1);
  for (let i = 1; i < progress.length; i++) assert.ok(progress[i]! >= progress[i - 1]!, "progress only moves forward");
  assert.ok(states.some((s) => s.status === "EXECUTING"), "the official status vocabulary (EXECUTING) is seen");
});

test("superjson payloads from the official SDK arrive revived in Runcast tasks; a 200 KiB payload goes through packets", async () => {
  official();
  const at = new Date("2026-01-02T03:04:05.678Z");
  const handle = await tasks.trigger("inspect", { at, value: "dated" });
  const [done] = (await readUntil(runs.subscribeToRun(handle.id), (s) => !!(s.at(-1) as AnyRun | undefined)?.finishedAt)).slice(-1) as unknown as AnyRun[];
  assert.deepEqual(done?.output, { atIsDate: true, at: at.toISOString(), blobLength: 0, value: "dated" });
  const blob = "x".repeat(200 * 1024);
  const big = await tasks.trigger("inspect", { blob });
  const [bigDone] = (await readUntil(runs.subscribeToRun(big.id), (s) => !!(s.at(-1) as AnyRun | undefined)?.finishedAt)).slice(-1) as unknown as AnyRun[];
  assert.deepEqual(bigDone?.output, { atIsDate: false, at: null, blobLength: blob.length, value: null });
  const retrieved = await runs.retrieve(big.id);
  assert.equal((retrieved.payload as { blob: string }).blob.length, blob.length, "retrieve hands back the big payload");
});

test("runs.retrieve, runs.list and runs.cancel validate against the official schemas", async () => {
  official();
  const done = await tasks.trigger("echo", { value: "listed" }, { tags: ["compat_list"] });
  await readUntil(runs.subscribeToRun(done.id), (s) => !!(s.at(-1) as AnyRun | undefined)?.finishedAt);
  const run = await runs.retrieve(done.id);
  assert.equal(run.status, "COMPLETED");
  assert.equal(run.isCompleted, true);
  assert.deepEqual(run.output, { echoed: "listed" });
  assert.deepEqual(run.tags, ["compat_list"]);
  const page = await runs.list({ tag: "compat_list", status: ["COMPLETED"], limit: 10 });
  assert.deepEqual(page.data.map((r) => r.id), [done.id]);
  const long = await tasks.trigger("sleeper", { ms: 30_000 });
  const canceled = await runs.cancel(long.id);
  assert.equal(canceled.id, long.id);
  const after = await runs.retrieve(long.id);
  assert.equal(after.status, "CANCELED");
});

test("runs.subscribeToRunsWithTag sees every tagged run, later ones too, and never an untagged one", async () => {
  official();
  const tag = `compat_tag_${Date.now()}`;
  const first = await tasks.trigger("echo", { value: "a" }, { tags: [tag] });
  const untagged = await tasks.trigger("echo", { value: "b" });
  const seen = new Map<string, AnyRun>();
  const reading = readUntil(runs.subscribeToRunsWithTag(tag), (s) => {
    for (const r of s as unknown as AnyRun[]) seen.set(r.id, r);
    return [...seen.values()].filter((r) => r.status === "COMPLETED").length >= 2;
  });
  await new Promise((r) => setTimeout(r, 300));
  const later = await tasks.trigger("stepper", { steps: 2 }, { tags: [tag, "other"] });
  await reading;
  assert.deepEqual([...seen.keys()].sort(), [first.id, later.id].sort());
  assert.ok(!seen.has(untagged.id));
});

test("tasks.batchTrigger and batch.trigger → subscribeToBatch sees every run of the batch complete", async () => {
  official();
  const handle = await tasks.batchTrigger("echo", [{ payload: { value: "1" } }, { payload: { value: "2" } }, { payload: { value: "3" } }]);
  assert.match(handle.batchId, /^batch_/);
  assert.equal(handle.runCount, 3);
  const seen = new Map<string, AnyRun>();
  await readUntil(runs.subscribeToBatch(handle.batchId), (s) => {
    for (const r of s as unknown as AnyRun[]) seen.set(r.id, r);
    return seen.size === 3 && [...seen.values()].every((r) => r.status === "COMPLETED");
  });
  const mixed = await batch.trigger([
    { id: "echo", payload: { value: "m" } },
    { id: "stepper", payload: { steps: 1 } },
  ]);
  const kinds = new Map<string, AnyRun>();
  await readUntil(runs.subscribeToBatch(mixed.batchId), (s) => {
    for (const r of s as unknown as AnyRun[]) kinds.set(r.id, r);
    return kinds.size === 2 && [...kinds.values()].every((r) => r.status === "COMPLETED");
  });
  assert.deepEqual([...kinds.values()].map((r) => r.taskIdentifier).sort(), ["echo", "stepper"]);
});

test("auth.createPublicToken for a tag: subscribing with only that token works, other runs are refused", async () => {
  official();
  const tag = `compat_token_${Date.now()}`;
  const mine = await tasks.trigger("echo", { value: "mine" }, { tags: [tag] });
  const other = await tasks.trigger("echo", { value: "other" });
  const token = await auth.createPublicToken({ scopes: { read: { tags: [tag] } }, expirationTime: "10m" });
  configure({ baseURL: env.node.url, accessToken: token });
  try {
    const states = (await readUntil(runs.subscribeToRun(mine.id), (s) => !!(s.at(-1) as AnyRun | undefined)?.finishedAt)) as unknown as AnyRun[];
    assert.equal(states.at(-1)?.status, "COMPLETED");
    await assert.rejects(runs.retrieve(other.id), (err: Error) => /403|Unauthorized|permission/i.test(`${(err as { status?: number }).status} ${err.message}`));
  } finally {
    official();
  }
});

test("a wrong secret key is rejected at once, not retried into a hang", async () => {
  configure({ baseURL: env.node.url, secretKey: `tr_dev_${"W".repeat(12)}${"x".repeat(12)}` });
  try {
    const started = Date.now();
    await assert.rejects(tasks.trigger("echo", { value: "nope" }), (err: Error) => /401|invalid|revoked/i.test(`${(err as { status?: number }).status} ${err.message}`));
    assert.ok(Date.now() - started < 10_000, "answered, not retried for long");
  } finally {
    official();
  }
});

test("official SDK edges: cancel of a finished run, pages back and forth, filters Runcast has no use for, ttl 0, request retries", async () => {
  official();
  const tag = `compat_pages_${Date.now()}`;
  const made = [];
  for (let i = 0; i < 5; i++) made.push(await tasks.trigger("echo", { value: `p${i}` }, { tags: [tag], ttl: 0 }));
  await readUntil(runs.subscribeToRun(made.at(-1)!.id), (s) => !!(s.at(-1) as AnyRun | undefined)?.finishedAt);
  const started = Date.now();
  assert.deepEqual(await runs.cancel(made.at(-1)!.id), { id: made.at(-1)!.id });
  assert.ok(Date.now() - started < 2_000, "canceling a finished run answers at once (no 409 retries)");
  const first = await runs.list({ tag, limit: 2, isTest: false });
  const second = await first.getNextPage();
  const back = await second.getPreviousPage();
  assert.deepEqual(back.data.map((r) => r.id), first.data.map((r) => r.id), "the previous page of the next page is the first page");
  const none = await runs.list({ tag, version: "20250101.1" });
  assert.deepEqual(none.data, [], "no Runcast run has a deployed version");
  // The SDK sends one x-trigger-request-idempotency-key per call, the same on its retries.
  const send = (key: string) =>
    fetch(`${env.node.url}/api/v1/tasks/echo/trigger`, {
      method: "POST",
      headers: { authorization: `Bearer ${env.node.secretKey}`, "content-type": "application/json", "x-trigger-request-idempotency-key": key },
      body: JSON.stringify({ payload: { value: "once" } }),
    }).then((r) => r.json() as Promise<{ id: string }>);
  const [a, b] = await Promise.all([send("req-1"), send("req-1")]);
  assert.equal(a.id, b.id, "a retried request makes one run");
  assert.notEqual((await send("req-2")).id, a.id);
  await assert.rejects(tasks.trigger("echo", { value: "d" }, { debounce: { key: "k", delay: "5s" } }), /debounce/);
});

test("runs.retrieve lists related runs: a parent's children, a child's parent and root", async () => {
  official();
  const handle = await tasks.trigger("parent", { value: "family" });
  const states = (await readUntil(runs.subscribeToRun(handle.id), (s) => !!(s.at(-1) as AnyRun | undefined)?.finishedAt)) as unknown as AnyRun[];
  const childId = (states.at(-1)?.output as { childId: string }).childId;
  const parentRun = await runs.retrieve(handle.id);
  assert.deepEqual(parentRun.relatedRuns.children?.map((r) => r.id), [childId]);
  const child = await runs.retrieve(childId);
  assert.equal(child.relatedRuns.parent?.id, handle.id);
  assert.equal(child.relatedRuns.root?.id, handle.id);
  assert.equal(child.depth, 1);
  assert.equal(child.relatedRuns.parent?.triggerFunction, "trigger");
});
