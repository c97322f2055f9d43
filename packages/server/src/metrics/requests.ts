import type { Context, MiddlewareHandler } from "hono";
import { matchedRoutes } from "hono/route";
import type { AuthEnv } from "../auth/middleware.ts";
import type { Logger } from "../log.ts";
import type { NodeMetrics } from "./node-metrics.ts";

/** The route label of a request no route answers (any path maps to it, so labels stay few). */
export const UNMATCHED_ROUTE = "unmatched";

/**
 * The route pattern a request was routed to (`/api/v3/runs/:runId`), never its path: ids and names in paths would
 * make a label value per run. Middleware entries (`app.use`) are skipped; a request matching no route is `unmatched`.
 */
export function routeOf(c: Context): string {
  for (const r of matchedRoutes(c)) if (r.method !== "ALL") return r.path;
  return UNMATCHED_ROUTE;
}

/** Whether a shape request asks to be held until the next change (`live` present and not `false`, as serve-shape reads it). */
function isLive(c: Context): boolean {
  const live = c.req.query("live");
  return live !== undefined && live !== "false";
}

/**
 * Times every request until its response ended (held long-polls and SSE streams included: they write to the raw
 * response long after the handler returned), for the latency histogram and, at debug level, one log line per
 * request: method, route, path, status, duration. Never the query string (signed packet URLs carry signatures
 * there) and never headers (the Authorization header holds the secret key).
 */
export function observeRequests(metrics: NodeMetrics, log: Logger): MiddlewareHandler<AuthEnv> {
  return async (c, next) => {
    const res = c.env?.outgoing;
    if (!res) return next();
    const started = performance.now();
    const method = c.req.method;
    const route = routeOf(c);
    const live = isLive(c);
    const path = c.req.path;
    res.once("close", () => {
      const ms = performance.now() - started;
      // Headers never sent: the client left (or the node stopped) before the request was answered.
      const status = res.headersSent ? res.statusCode : undefined;
      metrics.requestEnded(method, route, status, live, ms / 1000);
      if (log.enabled?.("debug") ?? true) {
        log("debug", "request", { method, route, path, status: status ?? null, durationMs: Math.round(ms * 10) / 10, ...(live ? { live } : {}) });
      }
    });
    await next();
  };
}
