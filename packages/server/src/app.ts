import { randomUUID } from "node:crypto";
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import type pg from "pg";
import { batchRoutes } from "./api/batch-routes.ts";
import { metadataRoutes } from "./api/metadata-routes.ts";
import { runRoutes } from "./api/run-routes.ts";
import { workerRoutes } from "./api/worker-routes.ts";
import type { KeyStore } from "./auth/keys.ts";
import { authenticate, type AuthEnv } from "./auth/middleware.ts";
import type { Engine } from "./engine/engine.ts";
import { RuncastError } from "./errors.ts";
import type { Logger } from "./log.ts";
import type { LoopDelay } from "./loop-delay.ts";
import type { SubscriptionLimiter } from "./realtime/limits.ts";
import { corsMiddleware } from "./realtime/cors.ts";
import { runFeedRoutes } from "./realtime/run-feeds.ts";
import { shapeRoutes } from "./realtime/shape-routes.ts";
import type { SyncService } from "./sync/sync-service.ts";

export interface AppDeps {
  pool: pg.Pool;
  engine: Engine;
  sync: SyncService;
  keys: KeyStore;
  limiter: SubscriptionLimiter;
  log: Logger;
  longPollMs: number;
  maxBodyBytes: number;
  sseMaxUnsentBytes: number;
  shapeTables: string[];
  /** The event loop's recent worst delay, reported by /healthz. */
  loopDelay: LoopDelay;
  /** Aborts every held request when the node shuts down. */
  shutdown: AbortSignal;
}

/** Builds the HTTP handler (a plain fetch-style app); node.ts binds it to a port. */
export function buildApp(deps: AppDeps): Hono<AuthEnv> {
  const app = new Hono<AuthEnv>();

  app.use("*", corsMiddleware());

  app.onError((err, c) => {
    if (err instanceof RuncastError) {
      for (const [k, v] of Object.entries(err.headers)) c.header(k, v);
      c.header("cache-control", "no-store");
      return c.json(err.toJSON(), err.status as 400);
    }
    const requestId = randomUUID();
    deps.log("error", "unhandled error", { requestId, method: c.req.method, path: c.req.path, error: err instanceof Error ? err.stack : String(err) });
    return c.json({ error: { code: "internal_error", message: `internal error (request ${requestId})` } }, 500);
  });

  app.notFound((c) => c.json({ error: { code: "route_not_found", message: `no route for ${c.req.method} ${c.req.path}` } }, 404));

  app.get("/healthz", async (c) => {
    let database = "reachable";
    try {
      await deps.pool.query("SELECT 1");
    } catch {
      database = "unreachable";
    }
    const replication = deps.sync.streaming ? "streaming" : "not streaming";
    const ok = database === "reachable" && deps.sync.streaming;
    const eventLoopDelayMs = Math.round(deps.loopDelay.maxMs * 10) / 10;
    return c.json({ ok, database, replication, eventLoopDelayMs }, ok ? 200 : 503);
  });

  const limit = bodyLimit({
    maxSize: deps.maxBodyBytes,
    onError: () => {
      throw new RuncastError(413, "payload_too_large", `the request body is larger than the ${deps.maxBodyBytes} byte limit`, { field: "body" });
    },
  });
  for (const prefix of ["/api/*", "/realtime/*", "/v1/*"]) {
    // Only requests that may carry a body are measured (reading `body` builds a whole Fetch request).
    app.use(prefix, (c, next) => (c.req.method === "GET" || c.req.method === "HEAD" ? next() : limit(c, next)));
    app.use(prefix, authenticate(deps.keys));
  }

  const feeds = {
    pool: deps.pool,
    registry: deps.sync.registry,
    limiter: deps.limiter,
    longPollMs: deps.longPollMs,
    sseMaxUnsentBytes: deps.sseMaxUnsentBytes,
    shapeTables: deps.shapeTables,
  };
  app.route("/", runRoutes(deps.engine, deps.keys));
  app.route("/", batchRoutes(deps.engine, deps.keys));
  app.route("/", workerRoutes(deps.engine, deps.shutdown));
  app.route("/", metadataRoutes(deps.engine));
  app.route("/", runFeedRoutes(feeds));
  app.route("/", shapeRoutes(feeds));
  return app;
}
