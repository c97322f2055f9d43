import { test } from "node:test";
import assert from "node:assert/strict";
import { useNodeWithWorker } from "../testing/node.ts";

const env = useNodeWithWorker({ maxBodyBytes: 64 * 1024 });

async function call(path: string, init: { method?: string; body?: string; key?: string | null; headers?: Record<string, string> } = {}) {
  const headers: Record<string, string> = { "content-type": "application/json", ...init.headers };
  if (init.key !== null) headers.authorization = `Bearer ${init.key ?? env.node.secretKey}`;
  const res = await fetch(`${env.node.url}${path}`, { method: init.method ?? "POST", headers, ...(init.body !== undefined ? { body: init.body } : {}) });
  const text = await res.text();
  let json: { error?: { code: string; message: string; field?: string } } = {};
  try {
    json = JSON.parse(text);
  } catch {
    assert.fail(`response to ${path} is not JSON: ${text.slice(0, 200)}`);
  }
  return { status: res.status, json };
}

async function runCount(): Promise<number> {
  return (await env.node.pool.query<{ n: number }>("SELECT count(*)::int AS n FROM runs")).rows[0]!.n;
}

test("bad input gets a 4xx JSON error naming the problem, and writes nothing", async () => {
  const before = await runCount();
  const cases: { name: string; path: string; init: Parameters<typeof call>[1]; status: number; code: string; field?: string }[] = [
    { name: "malformed task id", path: "/api/v1/tasks/no%20such%20task!/trigger", init: { body: "{}" }, status: 400, code: "invalid_task_id", field: "taskId" },
    { name: "malformed JSON", path: "/api/v1/tasks/echo/trigger", init: { body: '{"payload": {' }, status: 400, code: "invalid_json", field: "body" },
    { name: "body not an object", path: "/api/v1/tasks/echo/trigger", init: { body: "[1,2]" }, status: 400, code: "invalid_body" },
    {
      name: "payload too large",
      path: "/api/v1/tasks/echo/trigger",
      init: { body: JSON.stringify({ payload: { value: "x".repeat(100 * 1024) } }) },
      status: 413,
      code: "payload_too_large",
    },
    { name: "missing key", path: "/api/v1/tasks/echo/trigger", init: { body: "{}", key: null }, status: 401, code: "unauthorized" },
    { name: "invalid key", path: "/api/v1/tasks/echo/trigger", init: { body: "{}", key: "tr_dev_notarealkey000000000000" }, status: 401, code: "unauthorized" },
    { name: "garbage token", path: "/api/v1/tasks/echo/trigger", init: { body: "{}", key: "abc.def.ghi" }, status: 401, code: "unauthorized" },
    {
      name: "too many tags",
      path: "/api/v1/tasks/echo/trigger",
      init: { body: JSON.stringify({ payload: {}, options: { tags: Array.from({ length: 11 }, (_, i) => `t${i}`) } }) },
      status: 400,
      code: "too_many_tags",
      field: "options.tags",
    },
    {
      name: "bad delay",
      path: "/api/v1/tasks/echo/trigger",
      init: { body: JSON.stringify({ payload: {}, options: { delay: "soon" } }) },
      status: 400,
      code: "invalid_duration",
      field: "options.delay",
    },
    { name: "unknown run (retrieve)", path: "/api/v3/runs/run_nope", init: { method: "GET" }, status: 404, code: "run_not_found" },
    { name: "unknown run (realtime)", path: "/realtime/v1/runs/run_nope?offset=-1", init: { method: "GET" }, status: 404, code: "run_not_found" },
    { name: "unknown run (cancel)", path: "/api/v2/runs/run_nope/cancel", init: {}, status: 404, code: "run_not_found" },
    { name: "unknown route", path: "/api/v9/nothing", init: {}, status: 404, code: "route_not_found" },
  ];
  for (const c of cases) {
    const { status, json } = await call(c.path, c.init);
    assert.equal(status, c.status, `${c.name}: status`);
    assert.equal(json.error?.code, c.code, `${c.name}: code`);
    assert.ok(json.error?.message && json.error.message.length > 10, `${c.name}: message`);
    if (c.field) assert.equal(json.error?.field, c.field, `${c.name}: field`);
    assert.ok(!JSON.stringify(json).includes(env.node.secretKey), `${c.name}: the secret key leaked into the error`);
  }
  assert.equal(await runCount(), before, "a rejected request wrote a run");
  // The server is still up and serving.
  const ok = await call("/api/v1/tasks/echo/trigger", { body: JSON.stringify({ payload: { value: "fine" } }) });
  assert.equal(ok.status, 200);
  assert.equal(await runCount(), before + 1);
});

test("shape protocol bad input: offsets and handles", async () => {
  const run = await call("/api/v1/tasks/echo/trigger", { body: JSON.stringify({ payload: { value: "x" } }) });
  const id = (run.json as unknown as { id: string }).id;
  const bad = [
    { q: "", code: "missing_offset" },
    { q: "offset=abc", code: "invalid_offset" },
    { q: "offset=-1&live=true", code: "invalid_live" },
    { q: "offset=0_0", code: "missing_handle" },
  ];
  for (const b of bad) {
    const { status, json } = await call(`/realtime/v1/runs/${id}?${b.q}`, { method: "GET" });
    assert.equal(status, 400, b.q);
    assert.equal(json.error?.code, b.code, b.q);
  }
});

test("numbers past their documented range and text PostgreSQL cannot store are 400s naming the field, on every route", async () => {
  const before = await runCount();
  const run = await call("/api/v1/tasks/echo/trigger", { body: JSON.stringify({ payload: { value: "x" } }) });
  const id = (run.json as unknown as { id: string }).id;
  const trigger = (options: unknown, payload: unknown = {}) => ({ body: JSON.stringify({ payload, options }) });
  const cases: { name: string; path: string; init: Parameters<typeof call>[1]; field: string }[] = [
    { name: "ttl 400d", path: "/api/v1/tasks/echo/trigger", init: trigger({ ttl: "400d" }), field: "options.ttl" },
    { name: "maxDuration 1e12", path: "/api/v1/tasks/echo/trigger", init: trigger({ maxDuration: 1e12 }), field: "options.maxDuration" },
    { name: "priority 1e12", path: "/api/v1/tasks/echo/trigger", init: trigger({ priority: 1e12 }), field: "options.priority" },
    { name: "maxAttempts 1e12", path: "/api/v1/tasks/echo/trigger", init: trigger({ maxAttempts: 1e12 }), field: "options.maxAttempts" },
    { name: "delay years ahead", path: "/api/v1/tasks/echo/trigger", init: trigger({ delay: "9999d" }), field: "options.delay" },
    { name: "delay past any date", path: "/api/v1/tasks/echo/trigger", init: trigger({ delay: "99999999d" }), field: "options.delay" },
    { name: "delay 1e300 seconds", path: "/api/v1/tasks/echo/trigger", init: trigger({ delay: 1e300 }), field: "options.delay" },
    { name: "idempotencyKeyTTL past any date", path: "/api/v1/tasks/echo/trigger", init: trigger({ idempotencyKey: "k2", idempotencyKeyTTL: "99999999d" }), field: "options.idempotencyKeyTTL" },
    { name: "idempotencyKeyTTL years", path: "/api/v1/tasks/echo/trigger", init: trigger({ idempotencyKey: "k", idempotencyKeyTTL: "5000d" }), field: "options.idempotencyKeyTTL" },
    { name: "NUL in task id", path: "/api/v1/tasks/ec%00ho/trigger", init: { body: "{}" }, field: "path" },
    { name: "NUL in tag", path: "/api/v1/tasks/echo/trigger", init: trigger({ tags: ["a\u0000b"] }), field: "body.options.tags[0]" },
    { name: "NUL in idempotency key", path: "/api/v1/tasks/echo/trigger", init: trigger({ idempotencyKey: "k\u0000" }), field: "body.options.idempotencyKey" },
    { name: "NUL in payload", path: "/api/v1/tasks/echo/trigger", init: trigger({}, { value: "\u0000" }), field: "body.payload.value" },
    { name: "lone surrogate in payload", path: "/api/v1/tasks/echo/trigger", init: { body: '{"payload":{"value":"\\ud800"}}' }, field: "body.payload.value" },
    { name: "NUL in run id (retrieve)", path: "/api/v3/runs/run_%00x", init: { method: "GET" }, field: "path" },
    { name: "NUL in run id (cancel)", path: "/api/v2/runs/run_%00x/cancel", init: {}, field: "path" },
    { name: "NUL in run id (replay)", path: "/api/v1/runs/run_%00x/replay", init: {}, field: "path" },
    { name: "NUL in run id (metadata)", path: "/api/v1/runs/run_%00x/metadata", init: { method: "GET" }, field: "path" },
    { name: "NUL in run id (tags)", path: "/api/v1/runs/run_%00x/tags", init: { body: '{"tags":["a"]}' }, field: "path" },
    { name: "NUL in run id (realtime)", path: "/realtime/v1/runs/run_%00x?offset=-1", init: { method: "GET" }, field: "path" },
    { name: "NUL in batch id", path: "/api/v2/batches/batch_%00x", init: { method: "GET" }, field: "path" },
    { name: "NUL in list filter", path: "/api/v1/runs?filter%5Btag%5D=a%00", init: { method: "GET" }, field: "filter[tag]" },
    { name: "NUL in new tag", path: `/api/v1/runs/${id}/tags`, init: { body: '{"tags":["a\\u0000"]}' }, field: "body.tags[0]" },
    { name: "NUL in metadata", path: `/api/v1/runs/${id}/metadata`, init: { method: "PUT", body: '{"metadata":{"k":"\\u0000"}}' }, field: "body.metadata.k" },
    { name: "NUL in batch item", path: "/api/v1/batches", init: { body: '{"items":[{"task":"echo","payload":{"v":"\\u0000"}}]}' }, field: "body.items[0].payload.v" },
    { name: "invalid UTF-8 body", path: "/api/v1/tasks/echo/trigger", init: { body: Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d]) as unknown as string }, field: "body" },
  ];
  for (const c of cases) {
    const { status, json } = await call(c.path, c.init);
    assert.equal(status, 400, `${c.name}: status ${status} ${JSON.stringify(json)}`);
    assert.equal(json.error?.field, c.field, `${c.name}: field (${json.error?.message})`);
  }
  assert.equal(await runCount(), before + 1, "a rejected request wrote a run");
  // The largest values in range are accepted (they used to overflow integer columns: 500).
  const big = await call("/api/v1/tasks/echo/trigger", trigger({ ttl: "30d", maxDuration: 366 * 86_400, priority: 1e9, maxAttempts: 100, delay: "365d" }));
  assert.equal(big.status, 200, JSON.stringify(big.json));
  await call(`/api/v2/runs/${(big.json as unknown as { id: string }).id}/cancel`);
});

test("a worker registering out-of-range task settings gets a 400 naming the setting", async () => {
  const register = (task: Record<string, unknown>) => call("/api/v1/workers", { body: JSON.stringify({ name: "w", concurrency: 1, tasks: [{ id: "bounded", ...task }] }) });
  for (const [task, field] of [
    [{ maxDuration: 1e12 }, "tasks[0].maxDuration"],
    [{ concurrencyLimit: 1e12 }, "tasks[0].concurrencyLimit"],
    [{ retry: { maxAttempts: 1e6 } }, "tasks[0].retry.maxAttempts"],
    [{ retry: { maxTimeoutInMs: 1e15 } }, "tasks[0].retry.maxTimeoutInMs"],
    [{ retry: { factor: 0 } }, "tasks[0].retry.factor"],
  ] as const) {
    const { status, json } = await register(task);
    assert.equal(status, 400, JSON.stringify(task));
    assert.equal(json.error?.field, field);
  }
});
