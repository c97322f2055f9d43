import { test } from "node:test";
import assert from "node:assert/strict";
import { metadata, runs, tags, tasks, RuncastApiError, type RealtimeRun } from "@runcast/sdk";
import type { echo } from "../testing/tasks/basic.ts";
import type { flaky } from "../testing/tasks/lifecycle.ts";
import { lastTicks, type lastWords } from "../testing/tasks/metadata-tasks.ts";
import type { metadataProgress, metadataTimer } from "../testing/tasks/metadata-tasks.ts";
import { useNodeWithWorker, waitFor } from "../testing/node.ts";

const env = useNodeWithWorker();

type ErrorBody = { error?: { code: string; message: string; field?: string } };

async function call<T = ErrorBody>(method: string, path: string, body?: unknown, key: string = env.node.secretKey): Promise<{ status: number; json: T }> {
  const res = await fetch(`${env.node.url}${path}`, {
    method,
    headers: { "content-type": "application/json", authorization: `Bearer ${key}` },
    ...(body !== undefined ? { body: typeof body === "string" ? body : JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  try {
    return { status: res.status, json: JSON.parse(text) as T };
  } catch {
    return assert.fail(`${method} ${path} answered ${res.status} with non-JSON: ${text.slice(0, 200)}`);
  }
}

async function row(id: string): Promise<{ metadata: Record<string, unknown> | null; tags: string[]; updated_at: Date; status: string }> {
  const { rows } = await env.node.pool.query("SELECT metadata, tags, updated_at, status FROM runs WHERE id = $1", [id]);
  return rows[0];
}

/** An echo run that has completed: a plain run to write metadata and tags to. */
async function finishedRun(metadataAtTrigger?: Record<string, unknown>): Promise<string> {
  const handle = await tasks.trigger<typeof echo>("echo", { value: "m", delayMs: 1 }, metadataAtTrigger ? { metadata: metadataAtTrigger } : {});
  await waitFor(async () => (await row(handle.id)).status === "COMPLETED", `run ${handle.id} to complete`);
  return handle.id;
}

test("inside a run: metadata progress and tags stream to a subscriber; every operation lands", async () => {
  const handle = await tasks.trigger<typeof metadataProgress>("metadata-progress", { steps: 5 }, { metadata: { stage: "queued" }, tags: ["user_meta"] });
  const seen: RealtimeRun<typeof metadataProgress>[] = [];
  let released = false;
  for await (const run of runs.subscribeToRun<typeof metadataProgress>(handle.id)) {
    seen.push(run);
    if (!released && run.metadata?.stage === "ready") {
      // The subscriber is live: let the task start its steps (it polls metadata.refresh()).
      released = true;
      await metadata.updateRun(handle.id, { operations: [{ type: "set", key: "go", value: true }] });
    }
  }
  const last = seen.at(-1)!;
  assert.equal(last.status, "COMPLETED");

  const progress = seen.map((r) => r.metadata?.progress).filter((p): p is number => typeof p === "number");
  const distinct = progress.filter((p, i) => i === 0 || p !== progress[i - 1]);
  assert.deepEqual(distinct, [0.2, 0.4, 0.6, 0.8, 1], `progress values seen: ${progress.join(", ")}`);
  // Values arrive while the run executes, not all at once at the end.
  const intermediate = seen.filter((r) => r.status === "EXECUTING" && typeof r.metadata?.progress === "number" && r.metadata.progress < 1);
  assert.ok(intermediate.length >= 3, `only ${intermediate.length} intermediate states seen while executing`);

  const tagged = seen.findIndex((r) => r.tags.includes("progress_started"));
  assert.ok(tagged >= 0 && seen[tagged]!.status === "EXECUTING", "the added tags appear while the run executes");
  assert.deepEqual([...last.tags].sort(), ["meta_test", "progress_started", "user_meta"]);

  const expected = {
    stage: "done",
    sawInitial: true,
    wrapped: ["a", "b"],
    progress: 1,
    count: 3,
    log: ["step 2", "step 3", "step 4", "step 5"],
    parentNote: "from the child",
    rootCount: 3,
  };
  // The last writes were not flushed by the task: the end of the attempt sent them before COMPLETED.
  assert.deepEqual(last.metadata, expected);
  assert.deepEqual(last.output, { count: 3, current: expected });
  assert.deepEqual((await row(handle.id)).metadata, expected);
  assert.deepEqual(await metadata.retrieveRun(handle.id), expected);
});

test("inside a run: a write is sent by the buffer's timer, without flush() and before the run ends", async () => {
  const handle = await tasks.trigger<typeof metadataTimer>("metadata-timer", { beat: 7 });
  const r = await waitFor(async () => {
    const current = await row(handle.id);
    return current.metadata?.beat === 7 ? current : undefined;
  }, "the buffered write to reach the database");
  assert.equal(r.status, "EXECUTING");
  await runs.cancel(handle.id);
});

test("outside a task: metadata writes and tags.add throw a clear error", async () => {
  assert.throws(() => metadata.set("a", 1), /metadata\.set can only be called inside a running task/);
  assert.throws(() => metadata.parent.increment("a"), /metadata\.parent\.increment can only be called inside a running task/);
  assert.throws(() => metadata.current(), /inside a running task/);
  await assert.rejects(metadata.flush(), /metadata\.flush can only be called inside a running task/);
  await assert.rejects(tags.add("x"), /tags\.add can only be called inside a running task/);
});

test("10 concurrent increments over HTTP sum exactly, and each write bumps updated_at", async () => {
  const id = await finishedRun({ n: 0 });
  const before = await row(id);
  const results = await Promise.all(
    Array.from({ length: 10 }, (_, i) => call<{ metadata: { n: number } }>("PUT", `/api/v1/runs/${id}/metadata`, { operations: [{ type: "increment", key: "n", value: i + 1 }] })),
  );
  for (const r of results) assert.equal(r.status, 200, JSON.stringify(r.json));
  // Each answer is the object after its own increment: ten distinct running totals.
  assert.equal(new Set(results.map((r) => r.json.metadata.n)).size, 10);
  const after = await row(id);
  assert.deepEqual(after.metadata, { n: 55 });
  assert.ok(after.updated_at.getTime() > before.updated_at.getTime(), `${after.updated_at.toISOString()} > ${before.updated_at.toISOString()}`);
});

test("PUT answers the full new object; GET reads it; metadata replaces before operations apply", async () => {
  const id = await finishedRun({ keep: "no" });
  const put = await call<{ metadata: unknown }>("PUT", `/api/v1/runs/${id}/metadata`, {
    metadata: { fresh: 1 },
    operations: [{ type: "append", key: "list", value: { a: 1 } }, { type: "set", key: "$.a.b", value: true }],
  });
  assert.equal(put.status, 200);
  assert.deepEqual(put.json, { metadata: { fresh: 1, list: [{ a: 1 }], "$.a.b": true } });
  const get = await call<{ metadata: unknown }>("GET", `/api/v1/runs/${id}/metadata`);
  assert.deepEqual(get, { status: 200, json: put.json });

  const empty = await finishedRun();
  assert.deepEqual(await call("GET", `/api/v1/runs/${empty}/metadata`), { status: 200, json: { metadata: {} } });
});

test("metadata over 256 KiB is refused with 413 and nothing is written", async () => {
  const id = await finishedRun({ small: true });
  const before = await row(id);
  const big = "x".repeat(256 * 1024);
  const r = await call("PUT", `/api/v1/runs/${id}/metadata`, { operations: [{ type: "set", key: "big", value: big }] });
  assert.equal(r.status, 413);
  assert.equal(r.json.error?.code, "metadata_too_large");
  assert.equal(r.json.error?.field, "operations");
  assert.match(r.json.error!.message, /would be 26\d{4} bytes; the limit is 262144 bytes/);
  const replaced = await call("PUT", `/api/v1/runs/${id}/metadata`, { metadata: { big } });
  assert.equal(replaced.status, 413);
  assert.equal(replaced.json.error?.field, "metadata");
  assert.deepEqual(await row(id), before);
});

test("finished runs: writable within an hour of finishing, 422 after; unknown run 404; public token 403", async () => {
  const handle = await tasks.trigger<typeof echo>("echo", { value: "f", delayMs: 1 });
  await waitFor(async () => (await row(handle.id)).status === "COMPLETED", "run to complete");
  const ok = await call("PUT", `/api/v1/runs/${handle.id}/metadata`, { operations: [{ type: "set", key: "late", value: 1 }] });
  assert.equal(ok.status, 200);

  await env.node.pool.query("UPDATE runs SET finished_at = finished_at - interval '61 minutes' WHERE id = $1", [handle.id]);
  const before = await row(handle.id);
  const late = await call("PUT", `/api/v1/runs/${handle.id}/metadata`, { operations: [{ type: "set", key: "later", value: 1 }] });
  assert.equal(late.status, 422);
  assert.equal(late.json.error?.code, "run_finished");
  assert.match(late.json.error!.message, /more than 1 hour ago/);
  assert.deepEqual(await row(handle.id), before);
  await assert.rejects(
    metadata.updateRun(handle.id, { metadata: {} }),
    (err: unknown) => err instanceof RuncastApiError && err.status === 422 && err.code === "run_finished",
  );

  const missing = await call("PUT", "/api/v1/runs/run_doesnotexist0000000000/metadata", { operations: [{ type: "delete", key: "a" }] });
  assert.equal(missing.status, 404);
  assert.equal(missing.json.error?.code, "run_not_found");
  assert.equal((await call("GET", "/api/v1/runs/run_doesnotexist0000000000/metadata")).status, 404);
  assert.equal((await call("POST", "/api/v1/runs/run_doesnotexist0000000000/tags", { tags: "a" })).json.error?.code, "run_not_found");

  for (const [method, path, body] of [
    ["PUT", `/api/v1/runs/${handle.id}/metadata`, { metadata: {} }],
    ["GET", `/api/v1/runs/${handle.id}/metadata`, undefined],
    ["POST", `/api/v1/runs/${handle.id}/tags`, { tags: "a" }],
  ] as const) {
    const denied = await call(method, path, body, handle.publicAccessToken);
    assert.equal(denied.status, 403, `${method} ${path}`);
    assert.equal(denied.json.error?.code, "secret_key_required");
  }
});

test("parentOperations and rootOperations land on the parent and root, or on the run itself when it has none", async () => {
  const [root, parent, child, orphan, direct] = await Promise.all([
    finishedRun({ who: "root" }),
    finishedRun({ who: "parent" }),
    finishedRun({ who: "child" }),
    finishedRun(),
    finishedRun(),
  ]);
  await env.node.pool.query("UPDATE runs SET parent_run_id = $2, root_run_id = $3 WHERE id = $1", [child, parent, root]);
  await env.node.pool.query("UPDATE runs SET parent_run_id = $2, root_run_id = NULL WHERE id = $1", [parent, root]);
  // A run with a parent but no recorded root: its parent is taken as the root.
  await env.node.pool.query("UPDATE runs SET parent_run_id = $2 WHERE id = $1", [direct, parent]);

  const body = {
    operations: [{ type: "set", key: "mine", value: 1 }],
    parentOperations: [{ type: "append", key: "children", value: "c1" }],
    rootOperations: [{ type: "increment", key: "descendants", value: 2 }],
  };
  const r = await call<{ metadata: unknown }>("PUT", `/api/v1/runs/${child}/metadata`, body);
  assert.equal(r.status, 200);
  assert.deepEqual(r.json.metadata, { who: "child", mine: 1 });
  assert.deepEqual((await row(parent)).metadata, { who: "parent", children: ["c1"] });
  assert.deepEqual((await row(root)).metadata, { who: "root", descendants: 2 });

  const own = await call<{ metadata: unknown }>("PUT", `/api/v1/runs/${orphan}/metadata`, body);
  assert.deepEqual(own.json.metadata, { mine: 1, children: ["c1"], descendants: 2 });

  await call("PUT", `/api/v1/runs/${direct}/metadata`, { rootOperations: [{ type: "increment", key: "descendants", value: 1 }] });
  assert.deepEqual((await row(parent)).metadata, { who: "parent", children: ["c1"], descendants: 1 });

  // One target over the limit fails the whole request: the child's own write is not kept either.
  const before = await Promise.all([row(child), row(parent)]);
  const tooBig = await call("PUT", `/api/v1/runs/${child}/metadata`, {
    operations: [{ type: "set", key: "mine", value: 2 }],
    parentOperations: [{ type: "set", key: "big", value: "y".repeat(300 * 1024) }],
  });
  assert.equal(tooBig.status, 413);
  assert.equal(tooBig.json.error?.field, "parentOperations");
  assert.match(tooBig.json.error!.message, new RegExp(`run ${parent}`));
  assert.deepEqual(await Promise.all([row(child), row(parent)]), before);
});

test("bad metadata bodies get a 400 naming the field and write nothing", async () => {
  const id = await finishedRun({ a: 1 });
  const before = await row(id);
  const cases: [unknown, string, string][] = [
    ["{", "invalid_json", "body"],
    [{}, "invalid_body", "operations"],
    [{ operations: "set" }, "invalid_operations", "operations"],
    [{ operations: [{ type: "set", key: "ok", value: 1 }, { type: "set", key: "__proto__", value: 1 }] }, "invalid_metadata_key", "operations[1].key"],
    [{ parentOperations: [{ type: "increment", key: "n", value: "2" }] }, "invalid_operation", "parentOperations[0].value"],
    [{ rootOperations: [{ type: "explode", key: "n" }] }, "invalid_operation", "rootOperations[0].type"],
    [{ metadata: "text" }, "invalid_metadata", "metadata"],
  ];
  for (const [body, code, field] of cases) {
    const r = await call("PUT", `/api/v1/runs/${id}/metadata`, body);
    assert.equal(r.status, 400, JSON.stringify(body));
    assert.equal(r.json.error?.code, code, JSON.stringify(body));
    assert.equal(r.json.error?.field, field, JSON.stringify(body));
  }
  assert.deepEqual(await row(id), before);
});

test("tags route: dedupes, keeps order, says how many were new; more than 10 is a 422; bad tags a 400", async () => {
  const handle = await tasks.trigger<typeof echo>("echo", { value: "t", delayMs: 1 }, { tags: ["a"] });
  await waitFor(async () => (await row(handle.id)).status === "COMPLETED", "run to complete");
  const path = `/api/v1/runs/${handle.id}/tags`;
  const before = await row(handle.id);

  assert.deepEqual(await call("POST", path, { tags: ["b", "a", "c", "b"] }), { status: 200, json: { message: "Successfully set 2 new tags." } });
  const afterAdd = await row(handle.id);
  assert.deepEqual(afterAdd.tags, ["a", "b", "c"]);
  assert.ok(afterAdd.updated_at.getTime() > before.updated_at.getTime());
  assert.deepEqual(await call("POST", path, { tags: "c" }), { status: 200, json: { message: "No new tags to add" } });
  assert.deepEqual((await row(handle.id)).updated_at, afterAdd.updated_at, "no new tag, no write");

  const tooMany = await call("POST", path, { tags: ["d", "e", "f", "g", "h", "i", "j", "k"] });
  assert.equal(tooMany.status, 422);
  assert.equal(tooMany.json.error?.code, "too_many_tags");
  assert.match(tooMany.json.error!.message, /would make 11/);
  assert.deepEqual((await row(handle.id)).tags, ["a", "b", "c"]);

  for (const [body, field] of [
    [{ tags: ["ok", "x".repeat(129)] }, "tags[1]"],
    [{ tags: [""] }, "tags[0]"],
    [{ tags: [1] }, "tags[0]"],
    [{ tags: { a: 1 } }, "tags"],
    [{}, "tags"],
  ] as const) {
    const r = await call("POST", path, body);
    assert.equal(r.status, 400, JSON.stringify(body));
    assert.equal(r.json.error?.code, "invalid_tags");
    assert.equal(r.json.error?.field, field);
  }
  assert.deepEqual(await call("POST", path, { tags: ["d", "e", "f", "g", "h", "i", "j"] }), { status: 200, json: { message: "Successfully set 7 new tags." } });
  assert.equal((await row(handle.id)).tags.length, 10);
});

test("a metadata flush retried with its id applies once; a run's earlier attempt cannot write any more", async () => {
  const handle = await tasks.trigger<typeof flaky>("flaky", {});
  await waitFor(async () => (await runs.retrieve(handle.id)).status === "COMPLETED", "the flaky run to complete");
  const put = (body: unknown) =>
    fetch(`${env.node.url}/api/v1/runs/${handle.id}/metadata`, {
      method: "PUT",
      headers: { authorization: `Bearer ${env.node.secretKey}`, "content-type": "application/json" },
      body: JSON.stringify(body),
    });
  const flush = { batchId: "flush-0001-retried", operations: [{ type: "increment", key: "n", value: 1 }, { type: "append", key: "log", value: "x" }] };
  for (let i = 0; i < 3; i++) assert.equal((await put(flush)).status, 200);
  const got = await fetch(`${env.node.url}/api/v1/runs/${handle.id}/metadata`, { headers: { authorization: `Bearer ${env.node.secretKey}` } });
  assert.deepEqual(((await got.json()) as { metadata: unknown }).metadata, { n: 1, log: ["x"] });
  const attempts = await env.node.pool.query<{ id: string; number: number }>("SELECT id, number FROM attempts WHERE run_id = $1 ORDER BY number", [handle.id]);
  const [first, last] = [attempts.rows[0]!, attempts.rows.at(-1)!];
  const stale = await put({ batchId: "flush-0002-stale", attemptId: first.id, operations: [{ type: "set", key: "n", value: 99 }] });
  assert.equal(stale.status, 409);
  assert.equal(((await stale.json()) as { error: { code: string } }).error.code, "lease_lost");
  const staleTags = await fetch(`${env.node.url}/api/v1/runs/${handle.id}/tags`, {
    method: "POST",
    headers: { authorization: `Bearer ${env.node.secretKey}`, "content-type": "application/json" },
    body: JSON.stringify({ tags: ["late"], attemptId: first.id }),
  });
  assert.equal(staleTags.status, 409, "tags from a lost attempt are refused too");
  const current = await put({ batchId: "flush-0003-final", attemptId: last.id, operations: [{ type: "set", key: "done", value: true }] });
  assert.equal(current.status, 200, "the latest attempt may still write (its final flush)");
});

test("a canceled run's last metadata write still lands (the final flush runs on the canceled path)", async () => {
  const handle = await tasks.trigger<typeof lastWords>("last-words", {});
  await waitFor(async () => (await runs.retrieve(handle.id)).metadata?.state === "started", "the run to start");
  await runs.cancel(handle.id);
  await waitFor(() => lastTicks.has(handle.id) && (lastTicks.get(handle.id) ?? 0) > 0, "ticks");
  await new Promise((r) => setTimeout(r, 500)); // the task noticed the cancel and stopped ticking
  const last = lastTicks.get(handle.id);
  await waitFor(async () => (await runs.retrieve(handle.id)).metadata?.tick === last, `the last tick (${last}) to land`);
  assert.equal((await runs.retrieve(handle.id)).status, "CANCELED");
});
