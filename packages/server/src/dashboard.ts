import { existsSync, readFileSync } from "node:fs";
import { join, normalize } from "node:path";
import { fileURLToPath } from "node:url";
import { Hono } from "hono";
import type { AuthEnv } from "./auth/middleware.ts";

/** The built dashboard (scripts/build-dashboard.mjs, run at install and by `npm start` when stale). */
export const DASHBOARD_DIR = fileURLToPath(new URL("../dashboard-dist/", import.meta.url));

const TYPES: Record<string, string> = { html: "text/html; charset=utf-8", js: "text/javascript", css: "text/css", svg: "image/svg+xml", png: "image/png" };

const NOT_BUILT = `<!doctype html><meta charset="utf-8"><title>Runcast</title>
<h1>The dashboard is not built</h1><p>Run <code>npm run build</code> (or <code>npm install</code>, which builds it) in the repository, then reload.</p>`;

/**
 * Serves the dashboard: `/` is the page; `/assets/*` are its files (names carry a content hash, so they are
 * cached for good). Files are read once and kept.
 */
export function dashboardRoutes(dir = DASHBOARD_DIR): Hono<AuthEnv> {
  const app = new Hono<AuthEnv>();
  const cache = new Map<string, Buffer>();
  const read = (rel: string): Buffer | undefined => {
    const hit = cache.get(rel);
    if (hit) return hit;
    const file = normalize(join(dir, rel));
    if (!file.startsWith(dir) || !existsSync(file)) return undefined;
    const data = readFileSync(file);
    cache.set(rel, data);
    return data;
  };
  app.get("/", (c) => {
    const page = read("index.html");
    if (!page) return c.html(NOT_BUILT, 503);
    return c.body(new Uint8Array(page), 200, { "content-type": TYPES.html ?? "text/html", "cache-control": "no-cache" });
  });
  app.get("/assets/:file", (c) => {
    const name = c.req.param("file");
    const data = /^[\w.-]+$/.test(name) ? read(join("assets", name)) : undefined;
    if (!data) return c.json({ error: { code: "not_found", message: `no dashboard asset ${name}` } }, 404);
    const ext = name.slice(name.lastIndexOf(".") + 1);
    return c.body(new Uint8Array(data), 200, { "content-type": TYPES[ext] ?? "application/octet-stream", "cache-control": "public, max-age=31536000, immutable" });
  });
  return app;
}
