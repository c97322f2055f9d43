import { Hono } from "hono";
import type { AuthEnv } from "../auth/middleware.ts";
import { slugOf } from "../auth/keys.ts";
import { requireSecret } from "../auth/principal.ts";
import { RUNCAST_SCHEMA } from "../db/schema.ts";
import { RuncastError, badRequest } from "../errors.ts";
import type { LogMode, ReplicaMode } from "../sync/shape.ts";
import type { ShapeDefinition } from "../sync/shapes.ts";
import type { TableInfo, TableName } from "../sync/table-info.ts";
import { queryOf } from "./cors.ts";
import { serveContext, type FeedDeps } from "./run-feeds.ts";
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

/** PostgreSQL's identifier length limit (NAMEDATALEN - 1 bytes). */
const MAX_IDENTIFIER_BYTES = 63;
const BARE_IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_$]*$/;

/**
 * Parses `table` as PostgreSQL reads a (schema-qualified) table name, without resolving it through any
 * search_path: `items` is `public.items`, bare names are lowercased, `"My Table"` keeps its case. Anything
 * else (an OID, an expression, three parts) is a 400.
 */
export function parseTableName(raw: string): TableName {
  const parts: string[] = [];
  let i = 0;
  const bad = (why: string) => badRequest("invalid_table", `table ${JSON.stringify(raw.slice(0, 200))} is not a table name: ${why}`, PARAM.table);
  while (i <= raw.length) {
    let name: string;
    if (raw[i] === '"') {
      name = "";
      i++;
      for (;;) {
        if (i >= raw.length) throw bad("unterminated quoted identifier");
        if (raw[i] === '"') {
          if (raw[i + 1] !== '"') break;
          name += '"';
          i += 2;
          continue;
        }
        name += raw[i++];
      }
      i++;
      if (name === "") throw bad("empty quoted identifier");
    } else {
      const end = raw.indexOf(".", i);
      const bare = raw.slice(i, end < 0 ? raw.length : end);
      if (!BARE_IDENTIFIER.test(bare)) throw bad(bare === "" ? "empty name" : `${JSON.stringify(bare)} is not an identifier (quote it)`);
      name = bare.toLowerCase();
      i += bare.length;
    }
    if (Buffer.byteLength(name) > MAX_IDENTIFIER_BYTES) throw bad(`names are at most ${MAX_IDENTIFIER_BYTES} bytes`);
    parts.push(name);
    if (i >= raw.length) break;
    if (raw[i] !== ".") throw bad(`unexpected ${JSON.stringify(raw[i])}`);
    i++;
  }
  if (parts.length > 2) throw bad("at most schema.table");
  const [first, second] = parts as [string, string | undefined];
  return second === undefined ? { schema: "public", name: first } : { schema: first, name: second };
}

/** Schemas `/v1/shape` never serves: Runcast's own and PostgreSQL's. */
function isReservedSchema(schema: string): boolean {
  return schema === RUNCAST_SCHEMA || schema === "information_schema" || schema.startsWith("pg_");
}

/** What the Electric front door may serve (SPEC.md A1): plain, logged user tables, optionally from an allow-list. */
export function shapeTablePolicy(allowList: readonly string[]): { name(t: TableName): void; table(t: TableInfo): void } {
  const allowed = new Set(allowList.map((t) => {
    const n = parseTableName(t);
    return `${n.schema}.${n.name}`;
  }));
  const refuse = (t: TableName, why: string) =>
    badRequest("table_not_allowed", `table ${JSON.stringify(`${t.schema}.${t.name}`)} cannot be served: ${why}`, PARAM.table);
  return {
    name(t) {
      if (isReservedSchema(t.schema)) throw refuse(t, "system and Runcast tables are not served through /v1/shape");
      if (allowed.size && !allowed.has(`${t.schema}.${t.name}`)) throw refuse(t, "it is not in RUNCAST_SHAPE_TABLES");
    },
    table(t) {
      if (t.kind !== "r" && t.kind !== "p") throw refuse(t, "it is not a table (views, sequences and other relations are not served)");
      if (t.persistence !== "p") throw refuse(t, "unlogged and temporary tables are not replicated");
    },
  };
}

/** The Electric front door: `GET /v1/shape` for user tables (secret key only). */
export function shapeRoutes(deps: FeedDeps): Hono<AuthEnv> {
  const app = new Hono<AuthEnv>();
  const policy = shapeTablePolicy(deps.shapeTables);

  app.get("/v1/shape", async (c) => {
    const principal = c.get("principal");
    requireSecret(principal);
    // User tables belong to no environment: an operator names the environments whose keys may read them.
    if (deps.shapeEnvironments.length && !deps.shapeEnvironments.includes(slugOf(principal.envId))) {
      throw new RuncastError(
        403,
        "environment_not_allowed",
        `keys of the ${slugOf(principal.envId)} environment may not read tables through /v1/shape (RUNCAST_SHAPE_ENVIRONMENTS=${deps.shapeEnvironments.join(",")})`,
      );
    }
    const params = queryOf(c);
    const query = parseShapeQuery(params);
    const rawTable = params.get(PARAM.table);
    if (!rawTable) throw badRequest("missing_table", "the table parameter is required", PARAM.table);
    const table = parseTableName(rawTable);
    policy.name(table);
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
      allow: policy.table,
    };
    const where = params.get(PARAM.where);
    if (where) def.where = where;
    if (columns) def.columns = parseColumns(columns);
    return serveShape(def, query, serveContext(deps, c));
  });

  return app;
}
