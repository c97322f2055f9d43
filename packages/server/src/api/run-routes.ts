import { createHash } from "node:crypto";
import { Hono } from "hono";
import type { AuthEnv } from "../auth/middleware.ts";
import { authorize } from "../auth/principal.ts";
import { runResources } from "../auth/run-resources.ts";
import type { Engine } from "../engine/engine.ts";
import { getRun, type RunRow } from "../engine/runs.ts";
import { parseTriggerOptions, validateTaskId } from "../engine/trigger-options.ts";
import { readJson } from "./json-body.ts";
import { runJson } from "./run-json.ts";
import type { KeyStore } from "../auth/keys.ts";
import { originOf, signedPacketUrl, storedPath } from "./packet-routes.ts";
import { vocabularyOf, type StatusVocabulary } from "./status-vocab.ts";
import { issueToken, triggerToken } from "./tokens.ts";

/** A run's parent, root and children (at most 100), as the retrieve response names them (trigger-wire §2.3). */
async function relatedRuns(engine: Engine, run: RunRow, vocabulary: StatusVocabulary): Promise<Record<string, unknown>> {
  const { rows } = await engine.pool.query<RunRow & { relation: string }>(
    `(SELECT r.*, 'parent' AS relation FROM runs r WHERE r.id = $1 AND r.env_id = $4)
     UNION ALL (SELECT r.*, 'root' AS relation FROM runs r WHERE r.id = $2 AND r.env_id = $4)
     UNION ALL (SELECT r.*, 'child' AS relation FROM runs r WHERE r.parent_run_id = $3 AND r.env_id = $4 ORDER BY r.created_at, r.id LIMIT 100)`,
    [run.parent_run_id ?? null, run.root_run_id ?? null, run.id, run.env_id],
  );
  const related = (r: RunRow) => {
    const { payload: _p, output: _o, relatedRuns: _r, ...rest } = runJson(r, vocabulary);
    return rest;
  };
  const out: Record<string, unknown> = {};
  const parent = rows.find((r) => r.relation === "parent");
  const root = rows.find((r) => r.relation === "root");
  if (parent) out.parent = related(parent);
  if (root) out.root = related(root);
  const children = rows.filter((r) => r.relation === "child");
  if (children.length) out.children = children.map(related);
  return out;
}

/** Trigger, retrieve and cancel: the management API for runs. */
export function runRoutes(engine: Engine, keys: KeyStore): Hono<AuthEnv> {
  const app = new Hono<AuthEnv>();

  app.post("/api/v1/tasks/:taskId/trigger", async (c) => {
    const principal = c.get("principal");
    const taskId = validateTaskId(c.req.param("taskId"), "taskId");
    authorize(principal, "trigger", [{ type: "tasks", id: taskId }]);
    const body = await readJson(c);
    const options = parseTriggerOptions(body.options, new Date());
    // A public token may make a run the child of another only if it may write that run.
    if (options.parentRunId) authorize(principal, "write", [{ type: "runs", id: options.parentRunId }]);
    const requestKey = c.req.header("x-trigger-request-idempotency-key");
    const result = await engine.trigger({
      envId: principal.envId,
      taskId,
      payload: body.payload,
      options,
      ...triggerToken(principal),
      // Scoped like Trigger.dev's: the same key from another environment or for another task is another request.
      ...(requestKey ? { requestKey: createHash("sha256").update(JSON.stringify([requestKey, principal.envId, taskId])).digest("hex") } : {}),
    });
    const token = await issueToken(c, keys, principal, [`read:runs:${result.id}`]);
    return c.json({ id: result.id, isCached: result.isCached, publicAccessToken: token });
  });

  app.get("/api/v3/runs/:runId", async (c) => {
    const principal = c.get("principal");
    const run = await getRun(engine.pool, principal.envId, c.req.param("runId"));
    authorize(principal, "read", runResources(run));
    const body = runJson(run, vocabularyOf(c));
    body.relatedRuns = await relatedRuns(engine, run, vocabularyOf(c));
    // A payload or output kept as a packet is fetched through a signed URL (the official SDK's prepareData does).
    const payloadPath = storedPath(run.payload, run.payload_type);
    if (payloadPath) body.payloadPresignedUrl = signedPacketUrl(keys.box, originOf(c), "GET", principal.envId, payloadPath);
    const outputPath = storedPath(run.output, run.output_type);
    if (outputPath && run.status === "COMPLETED") body.outputPresignedUrl = signedPacketUrl(keys.box, originOf(c), "GET", principal.envId, outputPath);
    return c.json(body);
  });

  /** The run's history: every status it took, in order, with the attempt and the reason (its timeline). */
  app.get("/api/v1/runs/:runId/events", async (c) => {
    const principal = c.get("principal");
    const run = await getRun(engine.pool, principal.envId, c.req.param("runId"));
    authorize(principal, "read", runResources(run));
    const { rows } = await engine.pool.query<{ status: string; previous_status: string | null; attempt_number: number; at: Date; reason: string | null }>(
      "SELECT status, previous_status, attempt_number, at, reason FROM run_events WHERE run_id = $1 ORDER BY id",
      [run.id],
    );
    return c.json({
      events: rows.map((r) => ({
        status: r.status,
        previousStatus: r.previous_status,
        attemptNumber: r.attempt_number,
        at: r.at.toISOString(),
        ...(r.reason ? { reason: r.reason } : {}),
      })),
    });
  });

  app.post("/api/v2/runs/:runId/cancel", async (c) => {
    const principal = c.get("principal");
    const runId = c.req.param("runId");
    authorize(principal, "write", [{ type: "runs", id: runId }]);
    await engine.cancel(principal.envId, runId);
    return c.json({ id: runId });
  });

  return app;
}
