import { test } from "node:test";
import assert from "node:assert/strict";
import { startTestNode, useNodeWithWorker, waitFor } from "../testing/node.ts";

const env = useNodeWithWorker();

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses the Prometheus text format (the lines this server writes: no timestamps, no exemplars). */
function parse(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    assert.ok(m, `not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1] as string] = l[2] as string;
    out.push({ name: m[1] as string, labels, value: Number(m[3]) });
  }
  return out;
}

/** The sum of the samples named `name` whose labels include `labels`; undefined when there is none. */
function value(samples: Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  const hits = samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  return hits.length ? hits.reduce((a, s) => a + s.value, 0) : undefined;
}

async function scrape(url = env.node.url, headers: Record<string, string> = {}): Promise<Sample[]> {
  const res = await fetch(`${url}/metrics`, { headers });
  assert.equal(res.status, 200);
  return parse(await res.text());
}

const auth = () => ({ authorization: `Bearer ${env.node.secretKey}`, "content-type": "application/json" });

async function trigger(task: string, payload: unknown = {}): Promise<string> {
  const res = await fetch(`${env.node.url}/api/v1/tasks/${task}/trigger`, { method: "POST", headers: auth(), body: JSON.stringify({ payload }) });
  assert.equal(res.status, 200);
  return ((await res.json()) as { id: string }).id;
}

async function statusOf(id: string): Promise<string> {
  const res = await fetch(`${env.node.url}/api/v3/runs/${id}`, { headers: auth() });
  return ((await res.json()) as { status: string }).status;
}

const TRIGGER = { method: "POST", route: "/api/v1/tasks/:taskId/trigger", status_class: "2xx", live: "false" };
const DEV_COMPLETED = { environment: "dev", status: "COMPLETED" };

test("/metrics answers Prometheus text: the node's metrics, the process's, and no secret", async () => {
  const res = await fetch(`${env.node.url}/metrics`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
  const text = await res.text();
  assert.ok(!text.includes(env.node.secretKey), "the secret key is not in /metrics");
  assert.ok(!text.includes(env.node.secretKey.slice("tr_dev_".length, "tr_dev_".length + 12)), "nor a part of it");
  const samples = parse(text);
  for (const name of ["process_cpu_user_seconds_total", "nodejs_heap_size_used_bytes", "runcast_shapes", "runcast_replication_lag_seconds", "runcast_replication_changes_per_second"]) {
    assert.notEqual(value(samples, name), undefined, `${name} is exposed`);
  }
  assert.equal(value(samples, "runcast_replication_streaming"), 1);
  const lagBytes = value(samples, "runcast_replication_lag_bytes");
  assert.ok(lagBytes !== undefined && Number.isFinite(lagBytes) && lagBytes >= 0, `replication lag in bytes is known: ${lagBytes}`);
  // Every status of every environment is a series, zeros included, so dashboards have no gaps.
  assert.equal(samples.filter((s) => s.name === "runcast_runs" && s.labels.environment === "dev").length, 14);
});

test("run counts, changes and request durations move when runs happen", async () => {
  const before = await scrape();
  const ids = [await trigger("echo", { n: 1 }), await trigger("echo", { n: 2 }), await trigger("echo", { n: 3 })];
  await waitFor(async () => (await Promise.all(ids.map(statusOf))).every((s) => s === "COMPLETED"), "the runs to complete");
  const completedBefore = value(before, "runcast_runs", DEV_COMPLETED) ?? 0;
  // Run counts are shared by the scrapes of a couple of seconds: wait for a fresh count.
  const after = await waitFor(async () => {
    const s = await scrape();
    return (value(s, "runcast_runs", DEV_COMPLETED) ?? 0) >= completedBefore + 3 ? s : undefined;
  }, "the COMPLETED count to include the new runs");
  assert.equal(value(after, "runcast_runs", DEV_COMPLETED), completedBefore + 3);
  // Each run is at least an insert and its status updates (QUEUED, EXECUTING, COMPLETED) in the replication stream.
  const changes = (s: typeof before) => value(s, "runcast_replication_changes_total") ?? 0;
  assert.ok(changes(after) - changes(before) >= 9, `changes applied: ${changes(before)} → ${changes(after)}`);
  assert.ok((value(after, "runcast_replication_changes_total", { kind: "insert" }) ?? 0) - (value(before, "runcast_replication_changes_total", { kind: "insert" }) ?? 0) >= 3);
  assert.ok((value(after, "runcast_replication_transactions_total") ?? 0) > (value(before, "runcast_replication_transactions_total") ?? 0));
  assert.ok((value(after, "runcast_replication_apply_delay_seconds_count") ?? 0) > (value(before, "runcast_replication_apply_delay_seconds_count") ?? 0));
  // The transactions are kept (under a budget) for readers moving from another node.
  const window = (s: typeof before) => value(s, "runcast_retained_bytes", { kind: "handoff_window" }) ?? 0;
  assert.ok(window(after) > window(before), `handoff window: ${window(before)} → ${window(after)} bytes`);
  assert.equal(value(after, "runcast_retained_budget_bytes", { kind: "handoff_window" }), 16 * 1024 * 1024);
  assert.equal(value(after, "runcast_retained_budget_bytes", { kind: "shape_logs" }), 256 * 1024 * 1024);
  // The three triggers, counted under their route pattern (never the path with the task id).
  assert.equal((value(after, "runcast_http_request_duration_seconds_count", TRIGGER) ?? 0) - (value(before, "runcast_http_request_duration_seconds_count", TRIGGER) ?? 0), 3);
  assert.equal(after.some((s) => s.labels.route?.includes("echo")), false, "no route label holds a task id");
  await waitFor(async () => (value(await scrape(), "runcast_replication_changes_per_second") ?? 0) > 0, "the recent change rate to show the runs");

  // A bad trigger and an unknown path are counted too, by status class, under bounded route labels.
  const bad = await fetch(`${env.node.url}/api/v1/tasks/echo/trigger`, { method: "POST", headers: auth(), body: "{" });
  assert.equal(bad.status, 400);
  const missing = await fetch(`${env.node.url}/no/such/${Date.now()}`);
  assert.equal(missing.status, 404);
  const errors = await waitFor(async () => {
    const s = await scrape();
    return value(s, "runcast_http_request_duration_seconds_count", { route: "unmatched", status_class: "4xx" }) ? s : undefined;
  }, "the 404 to be counted");
  assert.equal(value(errors, "runcast_http_request_duration_seconds_count", { ...TRIGGER, status_class: "4xx" }), 1);
});

test("queue depth counts QUEUED runs by queue, until they leave it", async () => {
  // A worker that registers a task and never asks for runs: its runs wait in its queue.
  const reg = await fetch(`${env.node.url}/api/v1/workers`, { method: "POST", headers: auth(), body: JSON.stringify({ tasks: [{ id: "metrics-idle", queue: "metrics-idle-queue" }] }) });
  assert.equal(reg.status, 201);
  const depth = { environment: "dev", queue: "metrics-idle-queue" };
  const ids = [await trigger("metrics-idle"), await trigger("metrics-idle")];
  assert.deepEqual(await Promise.all(ids.map(statusOf)), ["QUEUED", "QUEUED"]);
  await waitFor(async () => value(await scrape(), "runcast_queue_depth", depth) === 2, "a queue depth of 2");
  for (const id of ids) assert.equal((await fetch(`${env.node.url}/api/v2/runs/${id}/cancel`, { method: "POST", headers: auth() })).status, 200);
  const s = await waitFor(async () => {
    const s = await scrape();
    return value(s, "runcast_queue_depth", depth) === 0 ? s : undefined;
  }, "the queue to empty");
  assert.ok((value(s, "runcast_runs", { environment: "dev", status: "CANCELED" }) ?? 0) >= 2);
});

test("live subscribers: a held long-poll and an SSE stream count while they are held, by route and transport", async () => {
  const id = await trigger("echo", { live: true });
  await waitFor(async () => (await statusOf(id)) === "COMPLETED", "the run to complete");
  const route = "/realtime/v1/runs/:runId";
  const first = await fetch(`${env.node.url}/realtime/v1/runs/${id}?offset=-1`, { headers: auth() });
  assert.equal(first.status, 200);
  await first.body?.cancel();
  const live = `${env.node.url}/realtime/v1/runs/${id}?offset=${first.headers.get("electric-offset")}&handle=${first.headers.get("electric-handle")}&live=true`;
  const held = (transport: string) => async () => value(await scrape(), "runcast_live_subscribers", { route, transport }) ?? 0;

  const poll = new AbortController();
  const polling = fetch(live, { headers: auth(), signal: poll.signal }).catch((e: unknown) => e);
  await waitFor(async () => (await held("long_poll")()) === 1, "the long-poll to be counted");
  poll.abort();
  await polling;
  await waitFor(async () => (await held("long_poll")()) === 0, "the long-poll to leave the count");

  const sse = new AbortController();
  const stream = await fetch(`${live}&live_sse=true`, { headers: auth(), signal: sse.signal });
  assert.equal(stream.status, 200);
  await waitFor(async () => (await held("sse")()) === 1, "the SSE stream to be counted");
  sse.abort();
  await stream.body?.cancel().catch(() => undefined);
  await waitFor(async () => (await held("sse")()) === 0, "the SSE stream to leave the count");
  // Held requests are timed apart from the others (their duration is the hold, not a latency).
  const s = await scrape();
  assert.ok((value(s, "runcast_http_request_duration_seconds_count", { route, live: "true" }) ?? 0) >= 2);
  assert.ok((value(s, "runcast_http_request_duration_seconds_count", { route, live: "false", status_class: "2xx" }) ?? 0) >= 1);
});

test("RUNCAST_METRICS_TOKEN: /metrics then needs that bearer token, and a secret key does not open it", async () => {
  const token = "metrics-test-token-0123456789";
  const other = await startTestNode({ metricsToken: token, nodeId: "metrics_token" }, env.node.db);
  try {
    const attempts: Record<string, string>[] = [{}, { authorization: `Bearer ${other.secretKey}` }, { authorization: `Bearer ${token}x` }];
    for (const headers of attempts) {
      const res = await fetch(`${other.url}/metrics`, { headers });
      assert.equal(res.status, 401);
      const body = (await res.json()) as { error: { code: string; message: string } };
      assert.equal(body.error.code, "metrics_token_required");
      assert.match(body.error.message, /RUNCAST_METRICS_TOKEN/);
      assert.ok(!body.error.message.includes(token), "the message does not echo the token");
    }
    const samples = await scrape(other.url, { authorization: `Bearer ${token}` });
    assert.equal(value(samples, "runcast_replication_streaming"), 1);
  } finally {
    await other.stop();
  }
});
