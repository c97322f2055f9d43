import { Hono } from "hono";
import type { AuthEnv } from "../auth/middleware.ts";
import { requireSecret } from "../auth/principal.ts";
import { badRequest } from "../errors.ts";
import type { LogMode, ReplicaMode } from "../sync/shape.ts";
import type { ShapeDefinition } from "../sync/shapes.ts";
import type { FeedDeps } from "./run-feeds.ts";
import { PARAM } from "./protocol.ts";
import { parseShapeQuery, serveShape } from "./serve-shape.ts";

/** Parses `columns`: comma-separated, each optionally double-quoted (quotes keep case, bare names are lowercased). */
export function parseColumns(raw: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < raw.length) {
    if (raw[i] === '"') {
      let name = "";
      i++;
      for (;;) {
        if (i >= raw.length) throw badRequest("invalid_columns", "unterminated quoted name in columns", PARAM.columns);
        if (raw[i] === '"') {
          if (raw[i + 1] === '"') {
            name += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        name += raw[i++];
      }
      out.push(name);
    } else {
      const end = raw.indexOf(",", i);
      const name = raw.slice(i, end < 0 ? raw.length : end).trim();
      if (!name) throw badRequest("invalid_columns", "empty column name in columns", PARAM.columns);
      out.push(name.toLowerCase());
      i = end < 0 ? raw.length : end;
    }
    while (raw[i] === " ") i++;
    if (i < raw.length) {
      if (raw[i] !== ",") throw badRequest("invalid_columns", `unexpected ${JSON.stringify(raw[i])} in columns`, PARAM.columns);
      i++;
    }
  }
  return out;
}

/** `params[1]=a&params[2]=b` → `{ "1": "a", "2": "b" }` */
function parseWhereParams(params: URLSearchParams): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of params) {
    const m = /^params\[(\d+)\]$/.exec(k);
    if (m) out[m[1] as string] = v;
  }
  return out;
}

/** The Electric front door: `GET /v1/shape` for any table (secret key only). */
export function shapeRoutes(deps: FeedDeps): Hono<AuthEnv> {
  const app = new Hono<AuthEnv>();

  app.get("/v1/shape", async (c) => {
    const principal = c.get("principal");
    requireSecret(principal);
    const params = new URL(c.req.url).searchParams;
    const table = params.get(PARAM.table);
    if (!table) throw badRequest("missing_table", "the table parameter is required", PARAM.table);
    const replica = params.get(PARAM.replica) ?? "default";
    if (replica !== "default" && replica !== "full") throw badRequest("invalid_replica", "replica must be default or full", PARAM.replica);
    const log = params.get(PARAM.log) ?? "full";
    if (log !== "full" && log !== "changes_only") throw badRequest("invalid_log", "log must be full or changes_only", PARAM.log);
    const columns = params.get(PARAM.columns);
    const def: ShapeDefinition = {
      table,
      params: parseWhereParams(params),
      replica: replica as ReplicaMode,
      log: log as LogMode,
    };
    const where = params.get(PARAM.where);
    if (where) def.where = where;
    if (columns) def.columns = parseColumns(columns);
    return serveShape(def, parseShapeQuery(params), {
      registry: deps.registry,
      limiter: deps.limiter,
      envId: principal.envId,
      longPollMs: deps.longPollMs,
      signal: AbortSignal.any([c.req.raw.signal, deps.shutdown]),
    });
  });

  return app;
}
