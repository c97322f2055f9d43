import { Hono, type Context } from "hono";
import type pg from "pg";
import type { AuthEnv } from "../auth/middleware.ts";
import { authorize, type Principal } from "../auth/principal.ts";
import { runResources } from "../auth/run-resources.ts";
import { RUNCAST_SCHEMA } from "../db/schema.ts";
import { getRun } from "../engine/runs.ts";
import { parseDuration } from "../engine/duration.ts";
import { statusFilter } from "../engine/run-state.ts";
import { validateTaskId } from "../engine/trigger-options.ts";
import { badRequest, notFound } from "../errors.ts";
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
  /** Told when a live request on `route` (a route pattern) starts being held; the returned function ends it. */
  liveSubscriber?(route: string, transport: "long_poll" | "sse"): () => void;
}

/** How long SSE responses stay open and how often they carry a keep-alive comment (Electric: 60 s / 21 s). */
const SSE_OPEN_MS = 60_000;
const SSE_KEEPALIVE_MS = 21_000;
const SSE_STALL_MS = 30_000;

/**
 * The serving context of one request: the raw response, its CORS headers, limits. `noStore` for the realtime
 * run routes: what they answer depends on the caller's token, so nothing may cache it (trigger-wire §3.6).
 */
export function serveContext(deps: FeedDeps, c: Context<AuthEnv>, authorizeShape?: (shape: Shape) => void, noStore = false): ServeContext {
  const principal = c.get("principal");
  const subscriber = deps.liveSubscriber;
  return {
    registry: deps.registry,
    limiter: deps.limiter,
    envId: principal.envId,
    ...(principal.kind === "public" ? { token: principal.tokenHash } : {}),
    longPollMs: deps.longPollMs,
    maxResponseBytes: 1024 * 1024,
    sse: { openMs: SSE_OPEN_MS, keepAliveMs: SSE_KEEPALIVE_MS, stallMs: SSE_STALL_MS, maxUnsentBytes: deps.sseMaxUnsentBytes },
    res: c.env.outgoing,
    headers: { ...rawResponseHeaders(c.env.incoming.headers.origin), ...(noStore ? { "cache-control": "no-store" } : {}) },
    ...(authorizeShape ? { authorize: authorizeShape } : {}),
    ...(subscriber ? { held: (transport: "long_poll" | "sse") => subscriber(c.req.routePath, transport) } : {}),
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
    if (!row) throw notFound("run_not_found", "the run does not exist in this environment: check the id, and that the key or token is of the run's environment (dev and prod are separate)");
    authorize(principal, "read", runResources({ id: row.id ?? "", task_identifier: row.taskIdentifier ?? "", tags: parseTextArray(row.runTags), batch_id: row.batchId }));
  };
}

/** Trigger.dev refuses these in realtime tags (`UNSAFE_REALTIME_TAG_CHARS`). */
const UNSAFE_TAG = /[\x00-\x1f\x7f\\"]/;
/** Runcast takes feed windows up to 30 days (Trigger.dev silently caps them at 24 h). */
export const MAX_FEED_WINDOW_MS = 30 * 86_400_000;
const DEFAULT_FEED_WINDOW_MS = 86_400_000;
/** A feed starts with at most this many runs, the newest (Trigger.dev's list cap). */
export const MAX_FEED_RUNS = 1000;

/** Values of a comma-separated query parameter. */
function listParam(v: string | undefined): string[] {
  return (v ?? "").split(",").map((s) => s.trim()).filter(Boolean);
}

/** A text[] literal for a where clause parameter: `{"a","b \"c\""}`. */
function pgTextArray(values: readonly string[]): string {
  return `{${values.map((v) => `"${v.replace(/[\\"]/g, "\\$&")}"`).join(",")}}`;
}

/** Where each feed's shape starts (by handle): its later requests rebuild the same where clause. */
const feedStarts = new Map<string, string>();
function remember(handle: string, from: string): void {
  feedStarts.delete(handle);
  feedStarts.set(handle, from);
  if (feedStarts.size > 10_000) feedStarts.delete(feedStarts.keys().next().value as string);
}

/**
 * Where a new feed starts: `windowMs` ago (to the minute, so subscribers starting close together share a shape),
 * or later when more than MAX_FEED_RUNS runs match since then (the newest ones).
 */
async function feedStart(pool: pg.Pool, where: string, params: string[], windowMs: number): Promise<string> {
  const minute = 60_000;
  const since = new Date(Math.floor((Date.now() - windowMs) / minute) * minute).toISOString().replace("Z", "");
  const n = params.length + 1;
  const { rows } = await pool.query<{ at: string }>(
    `SELECT created_at::text AS at FROM runs WHERE ${where} AND created_at >= $${n}::timestamp ORDER BY created_at DESC OFFSET ${MAX_FEED_RUNS - 1} LIMIT 1`,
    [...params, since],
  );
  return rows[0]?.at ?? since;
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
    const skip = skipOf(c);
    const def = runsDefinition("id = $1 AND env_id = $2", [runId, principal.envId], skip);
    // The shape's rows decide access (SPEC A2) unless they lack the run's tags (skipColumns=runTags): then
    // every request reads the run, as does the first request for a run (a 404 for unknown runs, and no shape).
    const fromShape = !skip.includes("runTags");
    if (!fromShape || !deps.registry.existing(def)) {
      const run = await getRun(deps.pool, principal.envId, runId);
      authorize(principal, "read", runResources(run));
    }
    return serveShape(def, query, serveContext(deps, c, fromShape ? authorizeRunShape(principal) : undefined, true));
  });

  /**
   * Runs of the environment, newest ones, as one live feed (trigger-wire §3.3): those carrying every tag of
   * `tags` (`runTags @> …`, so a token for tag A may ask for A and B), created within `createdAt` (default 24 h,
   * longer windows cut to 30 days), optionally only some statuses or tasks (Runcast's additions; runs that leave the filter
   * are deleted from the feed), at most the newest 1,000 when it starts; runs created later join it. Without
   * tags it is the environment's feed (the dashboard's and the CLI's). Never ends by itself.
   */
  app.get("/realtime/v1/runs", async (c) => {
    const principal = c.get("principal");
    const query = parseShapeQuery(queryOf(c));
    const tags = listParam(c.req.query("tags"));
    for (const t of tags) {
      if (UNSAFE_TAG.test(t) || t.length > 128) throw badRequest("invalid_tags", `tag ${JSON.stringify(t)} holds a control character, a quote or a backslash, or is too long`, "tags");
    }
    if (tags.length > 10) throw badRequest("invalid_tags", "a feed selects runs by at most 10 tags", "tags");
    if (tags.length) authorize(principal, "read", [{ type: "runs" }, { type: "tags" }, ...tags.map((id) => ({ type: "tags", id }))]);
    else authorize(principal, "read", [{ type: "runs" }]);
    const statuses = statusFilter(listParam(c.req.query("status")), "status");
    const taskIds = listParam(c.req.query("taskIdentifier")).map((t) => validateTaskId(t, "taskIdentifier"));
    // As Trigger.dev does: a window past the maximum is cut to it, and one that does not parse means the default
    // (its official client would stall silently on a 4xx here, never reporting it).
    const windowMs = Math.min(parseDuration(c.req.query("createdAt") ?? "") ?? DEFAULT_FEED_WINDOW_MS, MAX_FEED_WINDOW_MS);
    const where = ["env_id = $1"];
    const params: string[] = [principal.envId];
    const add = (clause: (n: string) => string, value: string) => {
      params.push(value);
      where.push(clause(`$${params.length}`));
    };
    if (tags.length) add((p) => `tags @> ${p}::text[]`, pgTextArray(tags));
    if (statuses.length) add((p) => `status = ANY (${p}::text[])`, pgTextArray(statuses));
    if (taskIds.length) add((p) => `task_identifier = ANY (${p}::text[])`, pgTextArray(taskIds));
    // The start of the feed is fixed when it starts and kept with its handle, so every request of one
    // subscriber names the same shape (a subscriber whose handle this node does not know starts over).
    let from = query.handle ? feedStarts.get(query.handle) : undefined;
    if (!from) from = await feedStart(deps.pool, where.join(" AND "), params, windowMs);
    add((p) => `created_at >= ${p}::timestamp`, from);
    const def = runsDefinition(where.join(" AND "), params, skipOf(c));
    const shape = await deps.registry.resolve(def);
    remember(shape.handle, from);
    return serveShape(def, query, serveContext(deps, c, undefined, true));
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
      if (!rowCount) throw notFound("batch_not_found", `no batch with id ${JSON.stringify(batchId)} in this environment: check the id, and that the key or token is of the batch's environment`);
    }
    return serveShape(def, query, serveContext(deps, c, undefined, true));
  });

  return app;
}
