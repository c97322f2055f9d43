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
