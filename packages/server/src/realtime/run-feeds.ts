import { Hono, type Context } from "hono";
import type pg from "pg";
import type { AuthEnv } from "../auth/middleware.ts";
import { authorize, type Principal } from "../auth/principal.ts";
import { runResources } from "../auth/run-resources.ts";
import { RUNCAST_SCHEMA } from "../db/schema.ts";
import { getRun } from "../engine/runs.ts";
import { notFound } from "../errors.ts";
import type { Shape } from "../sync/shape.ts";
import type { ShapeDefinition, ShapeRegistry } from "../sync/shapes.ts";
import { queryOf, rawResponseHeaders } from "./cors.ts";
import type { SubscriptionLimiter } from "./limits.ts";
import { parseSkipColumns, runWireProjection } from "./run-wire.ts";
import { parseShapeQuery, serveShape, type ServeContext } from "./serve-shape.ts";

export interface FeedDeps {
  pool: pg.Pool;
  registry: ShapeRegistry;
  limiter: SubscriptionLimiter;
  longPollMs: number;
  sseMaxUnsentBytes: number;
  /** `/v1/shape`'s allow-list (RUNCAST_SHAPE_TABLES); empty: every user table. */
  shapeTables: string[];
  /** Environments whose keys may use `/v1/shape` (RUNCAST_SHAPE_ENVIRONMENTS); empty: every one. */
  shapeEnvironments: string[];
}

/** How long SSE responses stay open and how often they carry a keep-alive comment (Electric: 60 s / 21 s). */
const SSE_OPEN_MS = 60_000;
const SSE_KEEPALIVE_MS = 21_000;
const SSE_STALL_MS = 30_000;

/** The serving context of one request: the raw response, its CORS headers, limits. */
export function serveContext(deps: FeedDeps, c: Context<AuthEnv>, authorizeShape?: (shape: Shape) => void): ServeContext {
  const principal = c.get("principal");
  return {
    registry: deps.registry,
    limiter: deps.limiter,
    envId: principal.envId,
    ...(principal.kind === "public" ? { token: principal.tokenHash } : {}),
    longPollMs: deps.longPollMs,
    maxResponseBytes: 1024 * 1024,
    sse: { openMs: SSE_OPEN_MS, keepAliveMs: SSE_KEEPALIVE_MS, stallMs: SSE_STALL_MS, maxUnsentBytes: deps.sseMaxUnsentBytes },
    res: c.env.outgoing,
    headers: rawResponseHeaders(c.env.incoming.headers.origin),
    ...(authorizeShape ? { authorize: authorizeShape } : {}),
  };
}

const RUNS_TABLE = { schema: RUNCAST_SCHEMA, name: "runs" };

/** A feed of one environment's runs selected by `where`, on the realtime wire: the environment is part of the shape. */
function runsDefinition(where: string, params: string[], skip: readonly string[]): ShapeDefinition {
  return { table: RUNS_TABLE, where, params, projection: runWireProjection(skip), replica: "default", log: "full" };
}

/** The columns a request leaves out: the token's `realtime.skipColumns` wins over the query's (trigger-wire §3.3). */
function skipOf(c: Context<AuthEnv>): string[] {
  const principal = c.get("principal");
  return parseSkipColumns(principal.kind === "public" ? principal.skipColumns : undefined, c.req.query("skipColumns"));
}

/**
 * Authorisation of a run feed from the shape's own rows (SPEC.md A2): a held or resumed request costs no
 * query, and a change of the run's tags or batch is seen at once. The first request for a run reads it.
 */
function authorizeRunShape(principal: Principal) {
  return (shape: Shape) => {
    const [row] = shape.rows.values();
    if (!row) throw notFound("run_not_found", "the run does not exist in this environment");
    authorize(principal, "read", runResources({ id: row.id ?? "", task_identifier: row.taskIdentifier ?? "", tags: parseTextArray(row.runTags), batch_id: row.batchId }));
  };
}

/** `{a,"b c"}` → ["a", "b c"] (tags are plain text; the array output quotes what needs it). */
function parseTextArray(text: string | null | undefined): string[] {
  if (!text || text === "{}") return [];
  const out: string[] = [];
  const body = text.slice(1, -1);
  let i = 0;
  while (i < body.length) {
    let item = "";
    if (body[i] === '"') {
      i++;
      while (i < body.length && body[i] !== '"') {
        if (body[i] === "\\") i++;
        item += body[i++];
      }
      i++;
    } else {
      while (i < body.length && body[i] !== ",") item += body[i++];
    }
    out.push(item);
    i++;
  }
  return out;
}

/**
 * Realtime run feeds: thin adapters that pick the table, where clause and columns, then hand the
 * request to the shape engine (one engine, two front doors).
 */
export function runFeedRoutes(deps: FeedDeps): Hono<AuthEnv> {
  const app = new Hono<AuthEnv>();

  app.get("/realtime/v1/runs/:runId", async (c) => {
    const principal = c.get("principal");
    const runId = c.req.param("runId");
    const query = parseShapeQuery(queryOf(c));
    const def = runsDefinition("id = $1 AND env_id = $2", [runId, principal.envId], skipOf(c));
    // Without a live shape for the run, read it first: a 404 for unknown runs, and no shape for them.
    if (!deps.registry.existing(def)) {
      const run = await getRun(deps.pool, principal.envId, runId);
      authorize(principal, "read", runResources(run));
    }
    return serveShape(def, query, serveContext(deps, c, authorizeRunShape(principal)));
  });

  app.get("/realtime/v1/batches/:batchId", async (c) => {
    const principal = c.get("principal");
    const batchId = c.req.param("batchId");
    const query = parseShapeQuery(queryOf(c));
    authorize(principal, "read", [{ type: "batch", id: batchId }, { type: "runs" }]);
    const def = runsDefinition("batch_id = $1 AND env_id = $2", [batchId, principal.envId], skipOf(c));
    // The shape exists only once the batch was found in this environment.
    if (!deps.registry.existing(def)) {
      const { rowCount } = await deps.pool.query("SELECT 1 FROM batches WHERE id = $1 AND env_id = $2", [batchId, principal.envId]);
      if (!rowCount) throw notFound("batch_not_found", `no batch with id ${JSON.stringify(batchId)} in this environment`);
    }
    return serveShape(def, query, serveContext(deps, c));
  });

  return app;
}
