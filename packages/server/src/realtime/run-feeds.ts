import { Hono, type Context } from "hono";
import type pg from "pg";
import type { AuthEnv } from "../auth/middleware.ts";
import { authorize } from "../auth/principal.ts";
import { runResources } from "../auth/run-resources.ts";
import { getRun } from "../engine/runs.ts";
import { notFound } from "../errors.ts";
import type { ShapeRegistry } from "../sync/shapes.ts";
import type { SubscriptionLimiter } from "./limits.ts";
import { parseShapeQuery, serveShape } from "./serve-shape.ts";

/** Columns of the realtime run object (everything a subscriber sees; engine bookkeeping stays out). */
export const RUN_COLUMNS = [
  "id",
  "task_identifier",
  "status",
  "number",
  "payload",
  "payload_type",
  "output",
  "output_type",
  "metadata",
  "error",
  "tags",
  "idempotency_key",
  "batch_id",
  "parent_run_id",
  "root_run_id",
  "depth",
  "is_test",
  "ttl",
  "attempt_number",
  "duration_ms",
  "cost_in_cents",
  "base_cost_in_cents",
  "created_at",
  "updated_at",
  "queued_at",
  "started_at",
  "finished_at",
  "delayed_until",
  "expired_at",
] as const;

export interface FeedDeps {
  pool: pg.Pool;
  registry: ShapeRegistry;
  limiter: SubscriptionLimiter;
  longPollMs: number;
  shutdown: AbortSignal;
}

/**
 * Realtime run feeds: thin adapters that pick the table, where clause and columns, then hand the
 * request to the shape engine (one engine, two front doors).
 */
export function runFeedRoutes(deps: FeedDeps): Hono<AuthEnv> {
  const app = new Hono<AuthEnv>();

  /** A feed of runs rows selected by one `column = $1` clause, through the shape engine. */
  const serveRuns = (c: Context<AuthEnv>, where: string, value: string) =>
    serveShape(
      { table: "public.runs", where, params: [value], columns: [...RUN_COLUMNS], replica: "default", log: "full" },
      parseShapeQuery(new URL(c.req.url).searchParams),
      {
        registry: deps.registry,
        limiter: deps.limiter,
        envId: c.get("principal").envId,
        longPollMs: deps.longPollMs,
        signal: AbortSignal.any([c.req.raw.signal, deps.shutdown]),
      },
    );

  app.get("/realtime/v1/runs/:runId", async (c) => {
    const principal = c.get("principal");
    const run = await getRun(deps.pool, principal.envId, c.req.param("runId"));
    authorize(principal, "read", runResources(run));
    return serveRuns(c, "id = $1", run.id);
  });

  app.get("/realtime/v1/batches/:batchId", async (c) => {
    const principal = c.get("principal");
    const batchId = c.req.param("batchId");
    authorize(principal, "read", [{ type: "batch", id: batchId }, { type: "runs" }]);
    const { rowCount } = await deps.pool.query("SELECT 1 FROM batches WHERE id = $1 AND env_id = $2", [batchId, principal.envId]);
    if (!rowCount) throw notFound("batch_not_found", `no batch with id ${JSON.stringify(batchId)} in this environment`);
    return serveRuns(c, "batch_id = $1", batchId);
  });

  return app;
}
