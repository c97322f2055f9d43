import pg from "pg";
import { SESSION_OPTIONS } from "./session.ts";

/**
 * A connection pool whose sessions all speak UTC (Runcast's own pools also set `searchPath` to its schema), so `timestamp` columns (stored in UTC) and their text
 * form mean the same thing on every connection, including the replication one.
 */
export function createPool(connectionString: string, opts: { max?: number; application?: string; searchPath?: string } = {}): pg.Pool {
  const pool = new pg.Pool({
    connectionString,
    max: opts.max ?? 10,
    options: opts.searchPath ? `${SESSION_OPTIONS} -c search_path=${opts.searchPath}` : SESSION_OPTIONS,
    application_name: opts.application ?? "runcast",
  });
  // An idle client losing its connection must not crash the process; the pool replaces it.
  pool.on("error", () => {});
  // Nor may a checked-out one (a transaction between two statements when the database restarts): its next
  // query fails, the caller sees that error, and the pool drops the client when it comes back.
  pool.on("connect", (client) => client.on("error", () => {}));
  return pool;
}

// int8 and numeric stay strings by default in node-postgres; counts we read are small, so parse int8.
pg.types.setTypeParser(20, (v) => Number(v));

// `timestamp` columns hold UTC (see migrations): read them as UTC whatever the process time zone is.
pg.types.setTypeParser(1114, (v) => new Date(`${v.replace(" ", "T")}Z`));
