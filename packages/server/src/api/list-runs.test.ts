import { test } from "node:test";
import assert from "node:assert/strict";
import { runs, tasks, RuncastApiError, type RunListItem } from "@runcast/sdk";
import type { echo, failing, sleeper } from "../testing/tasks/basic.ts";
import { useNodeWithWorker, waitFor } from "../testing/node.ts";

const env = useNodeWithWorker();

/** Every run via runs.list, walking the pages; fails on a repeated id. */
async function walk(query: Parameters<typeof runs.list>[0]): Promise<RunListItem[]> {
  const out: RunListItem[] = [];
  let cursor: string | undefined;
  for (;;) {
    const page = await runs.list({ ...query, ...(cursor ? { cursor } : {}) });
    out.push(...page.data);
    cursor = page.pagination.next;
    if (!cursor) break;
  }
  assert.equal(new Set(out.map((r) => r.id)).size, out.length, "a run was listed twice");
  return out;
}

const ids = (list: { id: string }[]) => new Set(list.map((r) => r.id));

async function allFinal(runIds: string[]): Promise<void> {
  await waitFor(async () => {
    const { rows } = await env.node.pool.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM runs WHERE id = ANY ($1) AND status IN ('COMPLETED','FAILED')",
      [runIds],
    );
    return rows[0]!.n === runIds.length;
  }, "runs to finish");
}

test("filters: status, task, tag (any of), time range; bad values are 400s naming the parameter", async () => {
  const tag = `list_${Date.now()}`;
  const a = await tasks.trigger<typeof echo>("echo", { value: "a", delayMs: 1 }, { tags: [tag, `${tag}_a`] });
  const b = await tasks.trigger<typeof echo>("echo", { value: "b", delayMs: 1 }, { tags: [tag, `${tag}_b`] });
  const ab = await tasks.trigger<typeof echo>("echo", { value: "ab", delayMs: 1 }, { tags: [tag, `${tag}_a`, `${tag}_b`] });
  const f = await tasks.trigger<typeof failing>("failing", { message: "no" }, { tags: [tag] });
  await allFinal([a.id, b.id, ab.id, f.id]);
  const s = await tasks.trigger<typeof sleeper>("sleeper", { ms: 60_000 }, { tags: [tag] });
  await waitFor(async () => (await runs.retrieve(s.id)).status === "EXECUTING", "the sleeper to execute");

  const mine = await walk({ tag });
  assert.deepEqual(ids(mine), ids([a, b, ab, f, s]));
  assert.ok(mine.every((r) => r.env.id && r.env.name), "items carry their environment");
  const first = mine.find((r) => r.id === a.id)!;
  assert.equal(first.taskIdentifier, "echo");
  assert.deepEqual(first.payload, { value: "a", delayMs: 1 });
  assert.ok(first.createdAt instanceof Date && first.finishedAt instanceof Date);

  assert.deepEqual(ids(await walk({ tag, status: "FAILED" })), ids([f]));
  assert.deepEqual(ids(await walk({ tag, status: ["FAILED", "EXECUTING"] })), ids([f, s]));
  assert.deepEqual(ids(await walk({ tag, taskIdentifier: "echo" })), ids([a, b, ab]));
  assert.deepEqual(ids(await walk({ tag, taskIdentifier: ["failing", "sleeper"] })), ids([f, s]));
  assert.deepEqual(ids(await walk({ tag: `${tag}_a` })), ids([a, ab]));
  // Several tags: runs having any of them, as Trigger.dev's runs.list.
  assert.deepEqual(ids(await walk({ tag: [`${tag}_a`, `${tag}_b`] })), ids([a, b, ab]));
  assert.deepEqual(ids(await walk({ tag, status: "COMPLETED", taskIdentifier: "failing" })), new Set());

  // Time range, inclusive at both ends, against the runs' own createdAt.
  const sorted = [...mine].sort((x, y) => x.createdAt.getTime() - y.createdAt.getTime());
  const from = sorted[1]!.createdAt;
  const to = sorted[3]!.createdAt;
  const expected = mine.filter((r) => r.createdAt >= from && r.createdAt <= to);
  assert.ok(expected.length >= 3);
  assert.deepEqual(ids(await walk({ tag, from, to: to.getTime() })), ids(expected));
  assert.deepEqual(ids(await walk({ tag, from: Date.now() + 60_000 })), new Set());
  assert.deepEqual(ids(await walk({ tag, period: "1h" })), ids(mine));

  const bad: [string, string][] = [
    ["filter[status]=DONE", "filter[status]"],
    ["filter[status]=COMPLETED,nope", "filter[status]"],
    ["filter[createdAt][from]=yesterday", "filter[createdAt][from]"],
    ["filter[createdAt][to]=12abc", "filter[createdAt][to]"],
    ["filter[createdAt][period]=forever", "filter[createdAt][period]"],
    ["page[size]=0", "page[size]"],
    ["page[size]=101", "page[size]"],
    ["page[size]=2.5", "page[size]"],
    ["page[after]=not-a-cursor", "page[after]"],
    ["filter[isTest]=maybe", "filter[isTest]"],
    ["filter[nonsense]=1", "filter[nonsense]"],
  ];
  for (const [query, field] of bad) {
    const res = await fetch(`${env.node.url}/api/v1/runs?${query}`, { headers: { authorization: `Bearer ${env.node.secretKey}` } });
    const body = (await res.json()) as { error?: { field?: string } };
    assert.equal(res.status, 400, query);
    assert.equal(body.error?.field, field, query);
  }
  await assert.rejects(
    runs.list({ limit: 500 }),
    (err: unknown) => err instanceof RuncastApiError && err.status === 400 && err.field === "page[size]",
  );
  await runs.cancel(s.id);
});

test("pagination walks every run exactly once, newest first, even when runs share a timestamp or arrive mid-walk", async () => {
  // A batch's runs are inserted in one transaction: they share created_at, so the id breaks the tie.
  const tag = `page_${Date.now()}`;
  const batch = await tasks.batchTrigger<typeof echo>(
    "echo",
    Array.from({ length: 40 }, (_, i) => ({ payload: { value: `b${i}`, delayMs: 1 }, options: { tags: tag } })),
  );
  const singles = [];
  for (let i = 0; i < 13; i++) singles.push(await tasks.trigger<typeof echo>("echo", { value: `s${i}`, delayMs: 1 }, { tags: tag }));
  const created = [...batch.runs.map((r) => r.id), ...singles.map((s) => s.id)];

  for (const limit of [1, 7, 25, 100]) {
    const list = await walk({ tag, limit });
    assert.deepEqual(ids(list), new Set(created), `limit ${limit}`);
    for (let i = 1; i < list.length; i++) {
      const prev = list[i - 1]!;
      const cur = list[i]!;
      const order = prev.createdAt.getTime() - cur.createdAt.getTime() || (prev.id > cur.id ? 1 : -1);
      assert.ok(order > 0, `not newest first at ${i} (limit ${limit})`);
    }
  }

  // Runs created while a caller walks land before the first page: the walk neither repeats nor skips.
  const seen: RunListItem[] = [];
  let cursor: string | undefined;
  let added = 0;
  for (;;) {
    const page = await runs.list({ tag, limit: 10, ...(cursor ? { cursor } : {}) });
    seen.push(...page.data);
    if (added < 3) {
      await tasks.trigger<typeof echo>("echo", { value: `late${added}`, delayMs: 1 }, { tags: tag });
      added++;
    }
    cursor = page.pagination.next;
    if (!cursor) break;
  }
  assert.equal(new Set(seen.map((r) => r.id)).size, seen.length);
  assert.deepEqual(new Set(seen.filter((r) => created.includes(r.id)).map((r) => r.id)), new Set(created));

  // The page object is also an async iterable over every page.
  const iterated: string[] = [];
  for await (const run of runs.list({ tag, limit: 9 })) iterated.push(run.id);
  assert.equal(iterated.length, created.length + 3);
  assert.equal(new Set(iterated).size, iterated.length);

  // Default page size 25; the last page has no next cursor.
  const firstPage = await runs.list({ tag });
  assert.equal(firstPage.data.length, 25);
  assert.ok(firstPage.pagination.next);
});

test("runs.replay creates a new run of the same task with the same payload, tags and metadata", async () => {
  const original = await tasks.trigger<typeof echo>(
    "echo",
    { value: "again", delayMs: 1 },
    { tags: ["replay_a", "replay_b"], metadata: { step: 1, who: "test" } },
  );
  await allFinal([original.id]);
  const replay = await runs.replay(original.id);
  assert.match(replay.id, /^run_/);
  assert.notEqual(replay.id, original.id);
  assert.ok(replay.publicAccessToken);
  await allFinal([replay.id]);
  const [a, b] = await Promise.all([runs.retrieve<typeof echo>(original.id), runs.retrieve<typeof echo>(replay.id, { accessToken: replay.publicAccessToken })]);
  assert.equal(b.taskIdentifier, "echo");
  assert.deepEqual(b.payload, a.payload);
  assert.deepEqual(b.tags, a.tags);
  assert.deepEqual(b.metadata, { step: 1, who: "test" });
  assert.deepEqual(b.output, { echoed: "again" });
  assert.equal(b.idempotencyKey, undefined);
  assert.equal(b.status, "COMPLETED");

  await assert.rejects(runs.replay("run_doesnotexist000000000000"), (err: unknown) => err instanceof RuncastApiError && err.status === 404 && err.code === "run_not_found");
});
