import { Hono } from "hono";
import type { AuthEnv } from "../auth/middleware.ts";
import type { KeyStore } from "../auth/keys.ts";
import { authorize } from "../auth/principal.ts";
import { runResources } from "../auth/run-resources.ts";
import { MAX_BATCH_ITEMS, createBatch, retrieveBatch, type BatchItem } from "../engine/batches.ts";
import type { Engine } from "../engine/engine.ts";
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, decodeCursor, listRuns, type RunListQuery } from "../engine/list-runs.ts";
import { MAX_STREAMED_BATCH_ITEMS, addBatchItems, openBatch, type StreamedItem } from "../engine/batch-stream.ts";
import { getRun } from "../engine/runs.ts";
import { parseDuration } from "../engine/duration.ts";
import { parseTriggerOptions, validateTaskId, type TriggerOptions } from "../engine/trigger-options.ts";
import { RuncastError, badRequest } from "../errors.ts";
import { badTextPath, readJson, readText } from "./json-body.ts";
import { runJson } from "./run-json.ts";
import { statusFilter } from "../engine/run-state.ts";
import { vocabularyOf } from "./status-vocab.ts";
import { issueToken, triggerToken } from "./tokens.ts";

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** Validates every item before anything is written; the first bad one is a 400 naming `items[i].…`. */
function parseItems(raw: unknown, now: Date, name?: string): BatchItem[] {
  if (!Array.isArray(raw)) throw badRequest("invalid_items", "items must be an array of { task, payload, options }", "items");
  if (raw.length === 0) throw badRequest("batch_empty", "a batch needs at least one item", "items");
  if (raw.length > MAX_BATCH_ITEMS) {
    throw badRequest("batch_too_large", `a batch can hold at most ${MAX_BATCH_ITEMS} items, got ${raw.length}`, "items");
  }
  return raw.map((item: unknown, i) => {
    const at = name ?? `items[${i}]`;
    if (!isObject(item)) throw badRequest("invalid_item", `${at} must be an object { task, payload, options }`, at);
    const task = validateTaskId(item.task, `${at}.task`);
    let options: TriggerOptions;
    try {
      options = parseTriggerOptions(item.options, now);
    } catch (err) {
      if (!(err instanceof RuncastError)) throw err;
      const field = `${at}.${err.field ?? "options"}`;
      throw new RuncastError(err.status, err.code, `${at}: ${err.message}`, { field });
    }
    return { taskId: task, payload: item.payload, options };
  });
}

/** Values of a list-valued query parameter: repeated and/or comma-separated. */
function listParam(params: URLSearchParams, name: string): string[] {
  return params
    .getAll(name)
    .flatMap((v) => v.split(","))
    .map((v) => v.trim())
    .filter((v) => v.length > 0);
}

function timeParam(params: URLSearchParams, name: string): Date | undefined {
  const v = params.get(name);
  if (v === null || v === "") return undefined;
  const d = /^\d+$/.test(v) ? new Date(Number(v)) : /^\d{4}-\d{2}-\d{2}/.test(v) ? new Date(v) : new Date(NaN);
  if (Number.isNaN(d.getTime())) throw badRequest("invalid_filter", `${name} must be epoch milliseconds or an ISO date, got ${JSON.stringify(v)}`, name);
  return d;
}

const KNOWN_PARAMS = new Set([
  "filter[status]",
  "filter[taskIdentifier]",
  "filter[tag]",
  "filter[batch]",
  "filter[createdAt][from]",
  "filter[createdAt][to]",
  "filter[createdAt][period]",
  "filter[isTest]",
  "filter[queue]",
  "page[size]",
  "page[after]",
  "page[before]",
]);
/** Filters on things Runcast runs never have (deployed versions, machines, regions, schedules, bulk actions): they match no run. */
const NEVER_MATCHED = new Set(["filter[version]", "filter[machine]", "filter[region]", "filter[schedule]", "filter[bulkAction]"]);

/** `GET /api/v1/runs` query (spec §2.5). A filter this server does not apply is refused rather than ignored. */
function parseListQuery(params: URLSearchParams, now: Date): RunListQuery {
  for (const key of params.keys()) {
    if ((key.startsWith("filter[") || key.startsWith("page[")) && !KNOWN_PARAMS.has(key) && !NEVER_MATCHED.has(key)) {
      throw badRequest("unsupported_filter", `${key} is not supported by this server`, key);
    }
  }
  const statuses = statusFilter(listParam(params, "filter[status]"), "filter[status]");
  const q: RunListQuery = {
    statuses,
    taskIdentifiers: listParam(params, "filter[taskIdentifier]"),
    tags: listParam(params, "filter[tag]"),
    size: DEFAULT_PAGE_SIZE,
  };
  const batch = params.get("filter[batch]");
  if (batch) q.batchId = batch;
  const from = timeParam(params, "filter[createdAt][from]");
  const to = timeParam(params, "filter[createdAt][to]");
  const period = params.get("filter[createdAt][period]");
  if (period) {
    const ms = parseDuration(period);
    if (!ms) throw badRequest("invalid_filter", `filter[createdAt][period] must be a duration like "1h" or "7d", got ${JSON.stringify(period)}`, "filter[createdAt][period]");
    const since = new Date(now.getTime() - ms);
    q.from = from && from > since ? from : since;
  } else if (from) {
    q.from = from;
  }
  if (to) q.to = to;
  const size = params.get("page[size]");
  if (size !== null) {
    const n = Number(size);
    if (!/^\d+$/.test(size) || n < 1 || n > MAX_PAGE_SIZE) {
      throw badRequest("invalid_filter", `page[size] must be an integer from 1 to ${MAX_PAGE_SIZE}, got ${JSON.stringify(size)}`, "page[size]");
    }
    q.size = n;
  }
  const after = params.get("page[after]");
  const before = params.get("page[before]");
  // The official SDK keeps the earlier page's cursor when it asks for the previous page: `before` wins.
  if (before) q.before = decodeCursor(before, "page[before]");
  else if (after) q.after = decodeCursor(after);
  const isTest = params.get("filter[isTest]");
  if (isTest !== null) {
    if (isTest !== "true" && isTest !== "false") throw badRequest("invalid_filter", `filter[isTest] must be true or false, got ${JSON.stringify(isTest)}`, "filter[isTest]");
    q.isTest = isTest === "true";
  }
  const queues = listParam(params, "filter[queue]");
  if (queues.length) q.queues = queues;
  if ([...NEVER_MATCHED].some((k) => params.has(k))) q.none = true;
  return q;
}

/** The options a replay carries over from the original run: payload type, tags, metadata, test flag, routing. */
function replayOptions(run: Record<string, unknown>): TriggerOptions {
  const o: TriggerOptions = {
    tags: (run.tags as string[] | null) ?? [],
    priority: (run.priority as number | null) ?? 0,
    payloadType: (run.payload_type as string | null) ?? "application/json",
    isTest: run.is_test === true,
  };
  if (run.metadata && typeof run.metadata === "object") o.metadata = run.metadata as Record<string, unknown>;
  if (typeof run.concurrency_key === "string") o.concurrencyKey = run.concurrency_key;
  if (typeof run.max_attempts === "number") o.maxAttempts = run.max_attempts;
  if (typeof run.max_duration === "number") o.maxDuration = run.max_duration;
  return o;
}

/** Batches (create, retrieve), runs.list and runs.replay. */
export function batchRoutes(engine: Engine, keys: KeyStore): Hono<AuthEnv> {
  const app = new Hono<AuthEnv>();

  // Runcast's one-shot batch route: every item is validated, then the batch and all its runs are
  // written in one transaction. (The official SDK's two-phase /api/v3/batches flow is separate.)
  app.post("/api/v1/batches", async (c) => {
    const principal = c.get("principal");
    const body = await readJson(c);
    const items = parseItems(body.items, new Date());
    let idempotencyKey: string | undefined;
    if (body.idempotencyKey !== undefined && body.idempotencyKey !== null) {
      if (typeof body.idempotencyKey !== "string" || body.idempotencyKey.length === 0 || body.idempotencyKey.length > 512) {
        throw badRequest("invalid_option", "idempotencyKey must be a non-empty string of at most 512 characters", "idempotencyKey");
      }
      idempotencyKey = body.idempotencyKey;
    }
    const taskIds = [...new Set(items.map((i) => i.taskId))];
    for (const id of taskIds) authorize(principal, "batchTrigger", [{ type: "tasks", id }, { type: "batch" }]);
    for (const [i, item] of items.entries()) {
      const parent = item.options.parentRunId;
      if (parent) {
        try {
          authorize(principal, "write", [{ type: "runs", id: parent }]);
        } catch (err) {
          throw err instanceof RuncastError ? new RuncastError(err.status, err.code, `items[${i}]: ${err.message}`, { field: `items[${i}].options.parentRunId` }) : err;
        }
      }
    }
    const result = await createBatch(engine, { envId: principal.envId, items, ...(idempotencyKey ? { idempotencyKey } : {}), ...triggerToken(principal) });
    const token = await issueToken(c, keys, principal, [`read:batch:${result.id}`]);
    return c.json({ ...result, publicAccessToken: token });
  });

  app.get("/api/v2/batches/:batchId", async (c) => {
    const principal = c.get("principal");
    const batchId = c.req.param("batchId");
    authorize(principal, "read", [{ type: "batch", id: batchId }]);
    const b = await retrieveBatch(engine.pool, principal.envId, batchId);
    const completedAt = b.completedAt?.toISOString();
    return c.json({
      id: b.id,
      status: b.status,
      ...(b.idempotencyKey ? { idempotencyKey: b.idempotencyKey } : {}),
      createdAt: b.createdAt.toISOString(),
      updatedAt: b.updatedAt.toISOString(),
      ...(completedAt ? { completedAt } : {}),
      runCount: b.runCount,
      runs: b.runs,
      counts: b.counts.byStatus,
      // Every run is created with the batch, so item processing is over when the batch exists.
      processing: { completedAt: b.createdAt.toISOString(), errors: [] },
    });
  });

  app.get("/api/v1/runs", async (c) => {
    const principal = c.get("principal");
    authorize(principal, "read", [{ type: "runs" }]);
    const query = parseListQuery(new URL(c.req.url).searchParams, new Date());
    const page = await listRuns(engine.pool, principal.envId, query);
    return c.json({
      data: page.runs.map((r) => ({ ...runJson(r, vocabularyOf(c)), env: { id: r.env_id, name: r.env_name } })),
      pagination: { ...(page.next ? { next: page.next } : {}), ...(page.previous ? { previous: page.previous } : {}) },
    });
  });

  app.post("/api/v1/runs/:runId/replay", async (c) => {
    const principal = c.get("principal");
    const original = await getRun(engine.pool, principal.envId, c.req.param("runId"));
    // A replay copies the payload and hands back a read token for the copy: the caller must be able to
    // read the original too, or a trigger-only token would read any run of its task.
    authorize(principal, "read", runResources(original));
    authorize(principal, "trigger", [{ type: "tasks", id: original.task_identifier }]);
    const result = await engine.trigger({
      envId: principal.envId,
      taskId: original.task_identifier,
      payload: original.payload,
      options: replayOptions(original),
      ...triggerToken(principal),
    });
    const token = await issueToken(c, keys, principal, [`read:runs:${result.id}`]);
    return c.json({ id: result.id, publicAccessToken: token });
  });

  // The official SDK's two-phase batches (trigger-wire §2.2): open with the size, then stream the items.
  app.post("/api/v3/batches", async (c) => {
    const principal = c.get("principal");
    const body = await readJson(c);
    const runCount = body.runCount;
    if (typeof runCount !== "number" || !Number.isInteger(runCount) || runCount < 1 || runCount > MAX_STREAMED_BATCH_ITEMS) {
      throw badRequest("invalid_run_count", `runCount must be an integer from 1 to ${MAX_STREAMED_BATCH_ITEMS}`, "runCount");
    }
    const taskIds = body.taskIdentifiers === undefined ? [] : body.taskIdentifiers;
    if (!Array.isArray(taskIds)) throw badRequest("invalid_tasks", "taskIdentifiers must be an array of task ids", "taskIdentifiers");
    const tasks = taskIds.map((t: unknown, i: number) => validateTaskId(t, `taskIdentifiers[${i}]`));
    if (tasks.length) for (const id of tasks) authorize(principal, "batchTrigger", [{ type: "tasks", id }, { type: "batch" }]);
    else authorize(principal, "batchTrigger", [{ type: "tasks" }, { type: "batch" }]);
    let idempotencyKey: string | undefined;
    if (body.idempotencyKey !== undefined && body.idempotencyKey !== null) {
      if (typeof body.idempotencyKey !== "string" || body.idempotencyKey.length === 0 || body.idempotencyKey.length > 512) {
        throw badRequest("invalid_option", "idempotencyKey must be a non-empty string of at most 512 characters", "idempotencyKey");
      }
      idempotencyKey = body.idempotencyKey;
    }
    const result = await openBatch(engine, { envId: principal.envId, runCount, ...(idempotencyKey ? { idempotencyKey } : {}), ...triggerToken(principal) });
    await issueToken(c, keys, principal, [`read:batch:${result.id}`]);
    return c.json(result, 202);
  });

  app.post("/api/v3/batches/:batchId/items", async (c) => {
    const principal = c.get("principal");
    const type = (c.req.header("content-type") ?? "").split(";")[0]?.trim().toLowerCase();
    if (type !== "application/x-ndjson" && type !== "application/ndjson") {
      throw new RuncastError(415, "unsupported_media_type", "batch items are sent as application/x-ndjson (one JSON object per line)", { field: "content-type" });
    }
    const now = new Date();
    const items: StreamedItem[] = [];
    const lines = (await readText(c)).split("\n");
    for (const [n, line] of lines.entries()) {
      if (!line.trim()) continue;
      const at = `line ${n + 1}`;
      let raw: unknown;
      try {
        raw = JSON.parse(line);
      } catch {
        throw badRequest("invalid_json", `${at} is not valid JSON`, at);
      }
      const bad = badTextPath(raw, at);
      if (bad) throw badRequest("invalid_text", `${bad} contains a NUL character or a lone surrogate, which cannot be stored`, bad);
      if (!isObject(raw) || typeof raw.index !== "number" || !Number.isInteger(raw.index) || raw.index < 0) {
        throw badRequest("invalid_item", `${at} must be { index, task, payload, options } with a non-negative integer index`, at);
      }
      const [parsed] = parseItems([{ task: raw.task, payload: raw.payload, options: raw.options }], now, `items[${raw.index}]`);
      if (parsed) items.push({ index: raw.index, ...parsed });
    }
    for (const id of new Set(items.map((i) => i.taskId))) authorize(principal, "batchTrigger", [{ type: "tasks", id }, { type: "batch" }]);
    for (const item of items) {
      if (item.options.parentRunId) authorize(principal, "write", [{ type: "runs", id: item.options.parentRunId }]);
    }
    return c.json(await addBatchItems(engine, principal.envId, c.req.param("batchId"), items, triggerToken(principal).token));
  });

  return app;
}
