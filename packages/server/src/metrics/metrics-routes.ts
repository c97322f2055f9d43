import { createHash, timingSafeEqual } from "node:crypto";
import { Hono } from "hono";
import type { AuthEnv } from "../auth/middleware.ts";
import { RuncastError } from "../errors.ts";
import type { NodeMetrics } from "./node-metrics.ts";

const digest = (s: string) => createHash("sha256").update(s).digest();

/**
 * `GET /metrics`: this node's metrics in Prometheus text format. Open by default, like /healthz: it shows counts,
 * durations and labels (environment slugs, statuses, queue names, route patterns), never a key, token or id.
 * With RUNCAST_METRICS_TOKEN set, scrapers must send `Authorization: Bearer <that token>`; secret keys do not
 * open it (a scraper needs no power over runs).
 */
export function metricsRoutes(metrics: NodeMetrics, token: string | undefined): Hono<AuthEnv> {
  const app = new Hono<AuthEnv>();
  const expected = token === undefined ? undefined : digest(token);
  app.get("/metrics", async (c) => {
    if (expected) {
      const given = /^Bearer\s+(\S+)\s*$/i.exec(c.req.header("authorization") ?? "")?.[1];
      // Compared as digests: equal lengths for timingSafeEqual, and no timing hint about the token's length.
      if (!given || !timingSafeEqual(digest(given), expected)) {
        throw new RuncastError(
          401,
          "metrics_token_required",
          "this node's /metrics needs Authorization: Bearer <RUNCAST_METRICS_TOKEN>; configure the scraper with the token the node was started with",
          { headers: { "www-authenticate": 'Bearer realm="metrics"' } },
        );
      }
    }
    const body = await metrics.render();
    return c.body(body, 200, { "content-type": metrics.contentType, "cache-control": "no-store" });
  });
  return app;
}
