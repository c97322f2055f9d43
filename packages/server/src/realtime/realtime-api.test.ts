// The Realtime API through @runcast/sdk against a real server and worker: tag and environment feeds, skipColumns,
// tokens minted by auth.*, the subscription limit as a typed error, and the routes behind them.
import { test } from "node:test";
import assert from "node:assert/strict";
import { auth, runs, tasks, RuncastApiError, RuncastRateLimitError, type RealtimeRun } from "@runcast/sdk";
import type { echo } from "../testing/tasks/basic.ts";
import type { stepper } from "../testing/tasks/compat.ts";
import { useNodeWithWorker } from "../testing/node.ts";

const env = useNodeWithWorker({ maxSubscriptions: 20, maxSubscriptionsPerToken: 2 });

/** Reads `iterable` until `done`, failing after `ms` with what was seen (the subscription is stopped either way). */
async function readUntil<T>(iterable: AsyncIterable<T> & { unsubscribe?: () => void }, done: (seen: T[]) => boolean, ms = 20_000): Promise<T[]> {
  const seen: T[] = [];
  const timer = setTimeout(() => iterable.unsubscribe?.(), ms);
  try {
    for await (const item of iterable) {
      seen.push(item);
      if (done(seen)) return seen;
    }
  } finally {
    clearTimeout(timer);
  }
  throw new Error(`the subscription ended after ${ms} ms without the expected state; saw ${JSON.stringify(seen.map((r) => (r as { status?: string }).status))}`);
}

const finished = (s: { finishedAt?: Date | undefined }[]) => !!s.at(-1)?.finishedAt;
const tagged = (prefix: string) => `${prefix}_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 6)}`;

test("a tag feed over two tasks sees every tagged run (later ones too) and never an untagged one", async () => {
  const tag = tagged("feed");
  const a = await tasks.trigger<typeof echo>("echo", { value: "a" }, { tags: [tag] });
  const stray = await tasks.trigger<typeof echo>("echo", { value: "stray" }, { tags: ["not_it"] });
  const latest = new Map<string, RealtimeRun<typeof echo | typeof stepper>>();
  let later: string | undefined;
  const sub = runs.subscribeToRunsWithTag<typeof echo | typeof stepper>(tag);
  await readUntil(sub, (seen) => {
    for (const r of seen) latest.set(r.id, r);
    if (!later && latest.has(a.id)) {
      later = "pending";
      void tasks.trigger<typeof stepper>("stepper", { steps: 2 }, { tags: [tag, "extra"] }).then((h) => (later = h.id));
    }
    return latest.size === 2 && [...latest.values()].every((r) => r.status === "COMPLETED");
  });
  sub.unsubscribe();
  assert.deepEqual([...latest.keys()].sort(), [a.id, later].sort());
  assert.ok(!latest.has(stray.id));
  for (const run of latest.values()) {
    if (run.taskIdentifier === "echo") assert.deepEqual(run.output, { echoed: "a" });
    else assert.deepEqual(run.output, { steps: 2 });
    assert.ok(run.tags.includes(tag));
  }
});

test("skipColumns removes payload and output, from the query or from the token", async () => {
  const handle = await tasks.trigger<typeof echo>("echo", { value: "secret" });
  const states = await readUntil(runs.subscribeToRun<typeof echo>(handle.id, { skipColumns: ["payload", "output"] }), finished);
  const last = states.at(-1);
  assert.equal(last?.status, "COMPLETED");
  assert.equal(last?.payload, undefined);
  assert.equal(last?.output, undefined);
  const full = await readUntil(runs.subscribeToRun<typeof echo>(handle.id), finished);
  assert.deepEqual(full.at(-1)?.output, { echoed: "secret" }, "another subscriber without skipColumns gets them");
  const token = await auth.createPublicToken({ scopes: { read: { runs: [handle.id] } }, realtime: { skipColumns: ["payload"] } });
  const viaToken = await readUntil(runs.subscribeToRun<typeof echo>(handle.id, { accessToken: token }), finished);
  assert.equal(viaToken.at(-1)?.payload, undefined, "the token's skipColumns apply");
  assert.deepEqual(viaToken.at(-1)?.output, { echoed: "secret" });
  const plain = await fetch(`${env.node.url}/realtime/v1/runs/${handle.id}?offset=-1`, { headers: { authorization: `Bearer ${env.node.secretKey}` } });
  assert.equal(plain.headers.get("cache-control"), "no-store", "what a token may read is never cached");
  await plain.body?.cancel();
  const refused = await fetch(`${env.node.url}/realtime/v1/runs/${handle.id}?offset=-1&skipColumns=payloads`, { headers: { authorization: `Bearer ${env.node.secretKey}` } });
  assert.equal(refused.status, 400);
  assert.match(await refused.text(), /payloads/);
});

test("a tag token reads its tag's runs and nothing else; tampered and expired tokens get 401", async () => {
  const tag = tagged("tok");
  const mine = await tasks.trigger<typeof echo>("echo", { value: "mine" }, { tags: [tag] });
  const other = await tasks.trigger<typeof echo>("echo", { value: "other" });
  const token = await auth.createPublicToken({ scopes: { read: { tags: [tag] } }, expirationTime: "10m" });
  const feed = runs.subscribeToRunsWithTag<typeof echo>([tag], { accessToken: token });
  const seen = await readUntil(feed, (s) => s.some((r) => r.id === mine.id && r.status === "COMPLETED"));
  feed.unsubscribe();
  assert.ok(seen.every((r) => r.id === mine.id));
  await assert.rejects(readUntil(runs.subscribeToRun(other.id, { accessToken: token }), finished), (err: unknown) => err instanceof RuncastApiError && err.status === 403);
  // Without the tags on the wire (skipColumns=runTags) the tag token still reads its run, on every request.
  for (let i = 0; i < 2; i++) {
    const r = await fetch(`${env.node.url}/realtime/v1/runs/${mine.id}?offset=-1&skipColumns=runTags`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(r.status, 200, `request ${i + 1}: ${await r.clone().text()}`);
    await r.body?.cancel();
  }
  const [h, p, s] = token.split(".");
  const tampered = `${h}.${Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(p ?? "", "base64url").toString()), scopes: ["read:runs"] })).toString("base64url")}.${s}`;
  await assert.rejects(readUntil(runs.subscribeToRun(other.id, { accessToken: tampered }), finished), (err: unknown) => err instanceof RuncastApiError && err.status === 401);
  const expired = await auth.createPublicToken({ scopes: { read: { tags: [tag] } }, expirationTime: Math.floor(Date.now() / 1000) - 120 });
  await assert.rejects(readUntil(runs.subscribeToRun(mine.id, { accessToken: expired }), finished), (err: unknown) => err instanceof RuncastApiError && err.status === 401);
  // A trigger token works once, for its task only.
  const once = await auth.createTriggerPublicToken<typeof echo>("echo");
  const triggered = await tasks.trigger<typeof echo>("echo", { value: "browser" }, {}, { accessToken: once });
  assert.match(triggered.id, /^run_/);
  await assert.rejects(tasks.trigger<typeof echo>("echo", { value: "again" }, {}, { accessToken: once }), (err: unknown) => err instanceof RuncastApiError && err.status === 422);
});

test("server-side filters: a status filter keeps runs only while they match; the environment feed needs a wide token", async () => {
  const tag = tagged("filter");
  const run = await tasks.trigger<typeof stepper>("stepper", { steps: 3, stepMs: 80 }, { tags: [tag] });
  const live = runs.subscribeToRunsWithTag<typeof stepper>(tag, { status: ["QUEUED", "EXECUTING"] });
  const seen = await readUntil(live, (s) => s.some((r) => r.status === "EXECUTING"));
  await readUntil(runs.subscribeToRun(run.id), finished);
  live.unsubscribe();
  assert.ok(seen.every((r) => r.status === "QUEUED" || r.status === "EXECUTING"), JSON.stringify(seen.map((r) => r.status)));
  const all = runs.subscribeToRuns({ taskIdentifier: "stepper", createdAt: "1h" });
  const recent = await readUntil(all, (s) => s.some((r) => r.id === run.id && r.status === "COMPLETED"));
  all.unsubscribe();
  assert.ok(recent.every((r) => r.taskIdentifier === "stepper"));
  const narrow = await auth.createPublicToken({ scopes: { read: { tags: [tag] } } });
  await assert.rejects(readUntil(runs.subscribeToRuns({ accessToken: narrow }), () => true), (err: unknown) => err instanceof RuncastApiError && err.status === 403);
  // Windows past 30 days are cut to 30 days, as Trigger.dev cuts its own (its client stalls on a 4xx here).
  const tooFar = await fetch(`${env.node.url}/realtime/v1/runs?offset=-1&createdAt=45d`, { headers: { authorization: `Bearer ${env.node.secretKey}` } });
  assert.equal(tooFar.status, 200);
  await tooFar.body?.cancel();
  const unknown = runs.subscribeToRun("run_doesnotexist000000000000");
  await assert.rejects(readUntil(unknown, finished), (err: unknown) => err instanceof RuncastApiError && err.status === 404);
});

test("past the subscription limit, subscribing throws RuncastRateLimitError naming the limit", async () => {
  const handle = await tasks.trigger<typeof echo>("echo", { value: "limit" });
  await readUntil(runs.subscribeToRun(handle.id), finished);
  const token = await auth.createPublicToken({ scopes: { read: { runs: [handle.id] } } });
  // Two live subscriptions that stay open (the run is finished, so they hold), then a third with the same token.
  const held = [0, 1].map(() => runs.subscribeToRun(handle.id, { accessToken: token, stopOnCompletion: false }));
  const readers = held.map((h) => readUntil(h, () => false, 30_000).catch(() => undefined));
  await new Promise((r) => setTimeout(r, 500));
  await assert.rejects(
    readUntil(runs.subscribeToRun(handle.id, { accessToken: token, stopOnCompletion: false }), () => false, 30_000),
    (err: unknown) => err instanceof RuncastRateLimitError && /RUNCAST_MAX_SUBSCRIPTIONS_PER_TOKEN/.test(err.message),
  );
  for (const h of held) h.unsubscribe();
  await Promise.all(readers);
});

test("management routes: status vocabulary by API version, tasks list, two-phase batches, public-tokens", async () => {
  const key = env.node.secretKey;
  const waiting = await tasks.trigger("nobody-runs-this", {});
  const asRuncast = await fetch(`${env.node.url}/api/v3/runs/${waiting.id}`, { headers: { authorization: `Bearer ${key}` } });
  assert.equal(((await asRuncast.json()) as { status: string }).status, "WAITING_FOR_DEPLOY");
  const asOfficial = await fetch(`${env.node.url}/api/v3/runs/${waiting.id}`, { headers: { authorization: `Bearer ${key}`, "x-trigger-api-version": "2025-07-16" } });
  assert.equal(((await asOfficial.json()) as { status: string }).status, "PENDING_VERSION");
  const listed = await fetch(`${env.node.url}/api/v1/runs?filter[status]=PENDING_VERSION`, { headers: { authorization: `Bearer ${key}` } });
  assert.ok(((await listed.json()) as { data: { id: string }[] }).data.some((r) => r.id === waiting.id), "v4 names filter too");

  const taskList = (await (await fetch(`${env.node.url}/api/v1/tasks`, { headers: { authorization: `Bearer ${key}` } })).json()) as { data: { id: string; connected: boolean }[] };
  assert.equal(taskList.data.find((t) => t.id === "echo")?.connected, true);

  const open = await fetch(`${env.node.url}/api/v3/batches`, {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    body: JSON.stringify({ runCount: 2, taskIdentifiers: ["echo"] }),
  });
  assert.equal(open.status, 202);
  assert.ok(open.headers.get("x-trigger-jwt"));
  const { id: batchId } = (await open.json()) as { id: string };
  const lines = [0, 1].map((index) => JSON.stringify({ index, task: "echo", payload: JSON.stringify({ value: `i${index}` }), options: {} })).join("\n");
  const send = (body: string, type = "application/x-ndjson") =>
    fetch(`${env.node.url}/api/v3/batches/${batchId}/items`, { method: "POST", headers: { authorization: `Bearer ${key}`, "content-type": type }, body });
  const first = (await (await send(lines.split("\n")[0] ?? "")).json()) as Record<string, unknown>;
  assert.deepEqual(first, { id: batchId, itemsAccepted: 1, itemsDeduplicated: 0, sealed: false, enqueuedCount: 1, expectedCount: 2 });
  const again = (await (await send(lines)).json()) as Record<string, unknown>;
  assert.deepEqual(again, { id: batchId, itemsAccepted: 1, itemsDeduplicated: 1, sealed: true }, "a re-sent stream runs nothing twice");
  assert.equal((await send(lines, "application/json")).status, 415);
  const retrieved = (await (await fetch(`${env.node.url}/api/v2/batches/${batchId}`, { headers: { authorization: `Bearer ${key}` } })).json()) as { runs: string[] };
  assert.equal(retrieved.runs.length, 2);

  const minted = await fetch(`${env.node.url}/api/v1/auth/public-tokens`, {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    body: JSON.stringify({ scopes: [`read:runs:${waiting.id}`], expirationTime: "1h" }),
  });
  const { token } = (await minted.json()) as { token: string };
  assert.equal((await fetch(`${env.node.url}/api/v3/runs/${waiting.id}`, { headers: { authorization: `Bearer ${token}` } })).status, 200);
  const tooLong = await fetch(`${env.node.url}/api/v1/auth/public-tokens`, {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    body: JSON.stringify({ scopes: ["read:runs"], expirationTime: "40d" }),
  });
  assert.equal(tooLong.status, 400);
  const fromToken = await fetch(`${env.node.url}/api/v1/auth/public-tokens`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify({ scopes: ["read:runs"] }),
  });
  assert.equal(fromToken.status, 403, "a public token cannot mint a wider one");
  await runs.cancel(waiting.id);
});
