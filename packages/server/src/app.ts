import { randomUUID } from "node:crypto";
import { Hono, type MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import type pg from "pg";
import { batchRoutes } from "./api/batch-routes.ts";
import { metadataRoutes } from "./api/metadata-routes.ts";
import { runRoutes } from "./api/run-routes.ts";
import { workerRoutes } from "./api/worker-routes.ts";
import type { KeyStore } from "./auth/keys.ts";
import { authenticate, type AuthEnv } from "./auth/middleware.ts";
import type { Revocations } from "./auth/revocations.ts";
import { keyRoutes } from "./api/key-routes.ts";
import { authRoutes } from "./api/auth-routes.ts";
import { packetRoutes, packetStoreRoutes } from "./api/packet-routes.ts";
import { dashboardRoutes } from "./dashboard.ts";
import { environmentRoutes } from "./api/environment-routes.ts";
import type { Engine } from "./engine/engine.ts";
import { ILLEGAL_TRANSITION } from "./engine/transitions.ts";
import { RuncastError, badRequest } from "./errors.ts";
import type { Logger } from "./log.ts";
import type { LoopDelay } from "./loop-delay.ts";
import { metricsRoutes } from "./metrics/metrics-routes.ts";
import type { NodeMetrics } from "./metrics/node-metrics.ts";
import { observeRequests } from "./metrics/requests.ts";
import type { SubscriptionLimiter } from "./realtime/limits.ts";
import { corsMiddleware } from "./realtime/cors.ts";
import { runFeedRoutes } from "./realtime/run-feeds.ts";
import { shapeRoutes } from "./realtime/shape-routes.ts";
import type { SyncService } from "./sync/sync-service.ts";
import type { SlotKeeper, SlotLag } from "./sync/slot-keeper.ts";

export interface AppDeps {
  pool: pg.Pool;
  engine: Engine;
  sync: SyncService;
  keys: KeyStore;
  revocations: Revocations;
  limiter: SubscriptionLimiter;
  log: Logger;
  longPollMs: number;
  maxBodyBytes: number;
  sseMaxUnsentBytes: number;
  shapeTables: string[];
  shapeEnvironments: string[];
  /** The event loop's recent worst delay, reported by /healthz. */
  loopDelay: LoopDelay;
  /** This node's replication slot: its lag shows in /healthz. */
  slots: SlotKeeper;
  /** Aborts every held request when the node shuts down. */
  shutdown: AbortSignal;
  /** This node's Prometheus metrics, served at /metrics. */
  metrics: NodeMetrics;
  /** RUNCAST_METRICS_TOKEN: /metrics needs it as a bearer token when set. */
  metricsToken: string | undefined;
}

/**
 * PostgreSQL's verdicts on input the API let through: a data exception (class 22: out of range, invalid
 * text) or a program limit (class 54) is the request's fault, a 400 naming the database's reason; an
 * integrity violation (class 23) a 409. Anything else stays a 500.
 */
function fromDatabaseError(err: unknown): RuncastError | undefined {
  const code = (err as { code?: unknown }).code;
  if (typeof code !== "string" || !/^[0-9A-Z]{5}$/.test(code)) return undefined;
  const message = err instanceof Error ? err.message : String(err);
  if (code.startsWith("22") || code.startsWith("54")) return new RuncastError(400, "invalid_input", `the database refused a value of this request: ${message}`);
  if (code.startsWith("23")) return new RuncastError(409, "conflict", `the database refused this change: ${message}`);
  if (code === ILLEGAL_TRANSITION) return new RuncastError(409, "illegal_transition", message);
  return undefined;
}

/** A NUL byte anywhere in the URL (`%00`) is a 400 naming the path or the query parameter that holds it. */
const refuseNulInUrl: MiddlewareHandler<AuthEnv> = async (c, next) => {
  const url = c.env.incoming.url ?? "";
  if (/%00|\u0000/i.test(url)) {
    const q = url.indexOf("?");
    const path = q < 0 ? url : url.slice(0, q);
    let field = "path";
    if (!/%00|\u0000/i.test(path)) {
      for (const [k, v] of new URLSearchParams(url.slice(q + 1))) {
        if (k.includes("\u0000") || v.includes("\u0000")) {
          field = k.replaceAll("\u0000", "");
          break;
        }
      }
    }
    throw badRequest("invalid_text", `the ${field === "path" ? "URL path" : `${field} parameter`} contains a NUL byte`, field);
  }
  await next();
};

/** Builds the HTTP handler (a plain fetch-style app); node.ts binds it to a port. */
export function buildApp(deps: AppDeps): Hono<AuthEnv> {
  const app = new Hono<AuthEnv>();

  app.use("*", observeRequests(deps.metrics, deps.log));
  app.use("*", corsMiddleware());

  app.onError((err, c) => {
    const known = err instanceof RuncastError ? err : fromDatabaseError(err);
    if (known) {
      for (const [k, v] of Object.entries(known.headers)) c.header(k, v);
      c.header("cache-control", "no-store");
      return c.json(known.toJSON(), known.status as 400);
    }
    const requestId = randomUUID();
    deps.log("error", "unhandled error", { requestId, method: c.req.method, path: c.req.path, error: err instanceof Error ? err.stack : String(err) });
    return c.json(
      {
        error: {
          code: "internal_error",
          message: `internal error (request ${requestId}): the server logged the cause under this request id; try again, and report the id to the operator if it persists`,
        },
      },
      500,
    );
  });

  app.notFound((c) =>
    c.json({ error: { code: "route_not_found", message: `no route for ${c.req.method} ${c.req.path}: check the method and the path against the HTTP API in the README` } }, 404),
  );

  app.get("/healthz", async (c) => {
    let database = "reachable";
    try {
      await deps.pool.query("SELECT 1");
    } catch {
      database = "unreachable";
    }
    let lag: SlotLag = { bytes: null, lagging: false };
    if (database === "reachable") lag = await deps.slots.lag().catch(() => lag);
    const replication = !deps.sync.streaming ? "not streaming" : lag.lagging ? "lagging" : "streaming";
    const ok = database === "reachable" && replication === "streaming";
    const eventLoopDelayMs = Math.round(deps.loopDelay.maxMs * 10) / 10;
    return c.json({ ok, database, replication, replicationLagBytes: lag.bytes, eventLoopDelayMs }, ok ? 200 : 503);
  });

  const limit = bodyLimit({
    maxSize: deps.maxBodyBytes,
    onError: () => {
      // The rest of the body is never read, so the connection cannot carry another request: say so, or a
      // keep-alive client would send its next request on a socket about to close.
      throw new RuncastError(413, "payload_too_large", `the request body is larger than the ${deps.maxBodyBytes} byte limit: send a smaller body (the SDK uploads large payloads as packets)`, { field: "body", headers: { connection: "close" } });
    },
  });
  app.use("/packets/*", refuseNulInUrl);
  for (const prefix of ["/api/*", "/realtime/*", "/v1/*"]) {
    app.use(prefix, refuseNulInUrl);
    // Only requests that may carry a body are measured (reading `body` builds a whole Fetch request).
    app.use(prefix, (c, next) => (c.req.method === "GET" || c.req.method === "HEAD" ? next() : limit(c, next)));
    app.use(prefix, authenticate(deps.keys, deps.revocations));
  }

  const feeds = {
    pool: deps.pool,
    registry: deps.sync.registry,
    limiter: deps.limiter,
    longPollMs: deps.longPollMs,
    sseMaxUnsentBytes: deps.sseMaxUnsentBytes,
    shapeTables: deps.shapeTables,
    shapeEnvironments: deps.shapeEnvironments,
    liveSubscriber: (route: string, transport: "long_poll" | "sse") => deps.metrics.subscriberHeld(route, transport),
  };
  app.route("/", metricsRoutes(deps.metrics, deps.metricsToken));
  app.route("/", runRoutes(deps.engine, deps.keys));
  app.route("/", environmentRoutes(deps.engine));
  app.route("/", batchRoutes(deps.engine, deps.keys));
  app.route("/", workerRoutes(deps.engine, deps.shutdown));
  app.route("/", metadataRoutes(deps.engine));
  app.route("/", keyRoutes(deps.pool, deps.keys, deps.revocations));
  app.route("/", authRoutes());
  app.route("/", packetRoutes(deps.pool, deps.keys.box));
  app.route("/", packetStoreRoutes(deps.pool, deps.keys.box));
  app.route("/", dashboardRoutes());
  app.route("/", runFeedRoutes(feeds));
  app.route("/", shapeRoutes(feeds));
  return app;
}
