import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import type pg from "pg";
import { RUNCAST_SCHEMA } from "./schema.ts";

const MIGRATIONS_DIR = fileURLToPath(new URL("../../migrations/", import.meta.url));
/** Arbitrary constant: serialises migration runs of every node sharing one database. */
const MIGRATION_LOCK = 726_352_001;

/** A numbered step: a SQL file, or code (for what SQL alone cannot do, e.g. sealing secrets under the server key). */
export type SqlMigration = { id: number; name: string; sql: string };
export type Migration = SqlMigration | { id: number; name: string; run(client: pg.PoolClient): Promise<void> };

export function loadMigrations(dir = MIGRATIONS_DIR): SqlMigration[] {
  return readdirSync(dir)
    .filter((f) => /^\d{4}_[a-z0-9_]+\.sql$/.test(f))
    .sort()
    .map((f) => ({ id: Number(f.slice(0, 4)), name: f, sql: readFileSync(join(dir, f), "utf8") }));
}

/**
 * Applies the numbered SQL files not applied yet, each in its own transaction, recorded in
 * `runcast_migrations`. An advisory lock makes N nodes starting at once apply each file once;
 * re-running is a no-op. Shipped files are never edited: fixes are new files.
 */
export async function migrate(
  pool: pg.Pool,
  opts: {
    /** The numbered steps; the SQL files by default. */
    migrations?: Migration[];
    /** Code steps, ordered among the files by their numbers. */
    steps?: Migration[];
    /** Run under the same lock after the steps (installing definitions generated from code, e.g. triggers). */
    install?: (client: pg.PoolClient) => Promise<void>;
  } = {},
): Promise<string[]> {
  const migrations = [...(opts.migrations ?? loadMigrations()), ...(opts.steps ?? [])].sort((a, b) => a.id - b.id);
  const install = opts.install;
  const client = await pool.connect();
  const applied: string[] = [];
  try {
    await client.query("SELECT pg_advisory_lock($1)", [MIGRATION_LOCK]);
    // Runcast's schema comes first (its tables are created in it through the pool's search_path); the record of
    // applied migrations moves there from `public` on databases created before the schema existed.
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${RUNCAST_SCHEMA}`);
    await client.query(`DO $$ BEGIN
      IF to_regclass('public.runcast_migrations') IS NOT NULL AND to_regclass('${RUNCAST_SCHEMA}.runcast_migrations') IS NULL THEN
        ALTER TABLE public.runcast_migrations SET SCHEMA ${RUNCAST_SCHEMA};
      END IF; END $$`);
    await client.query(`CREATE TABLE IF NOT EXISTS ${RUNCAST_SCHEMA}.runcast_migrations (
      id integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
    const done = new Set((await client.query<{ id: number }>(`SELECT id FROM ${RUNCAST_SCHEMA}.runcast_migrations`)).rows.map((r) => r.id));
    for (const m of migrations) {
      if (done.has(m.id)) continue;
      await client.query("BEGIN");
      try {
        await client.query(`INSERT INTO ${RUNCAST_SCHEMA}.runcast_migrations (id, name) VALUES ($1, $2)`, [m.id, m.name]);
        // Unqualified names in the files mean Runcast's schema, whatever the pool's search_path.
        await client.query(`SET LOCAL search_path = ${RUNCAST_SCHEMA}`);
        if ("sql" in m) await client.query(m.sql);
        else await m.run(client);
        await client.query("COMMIT");
        applied.push(m.name);
      } catch (err) {
        await client.query("ROLLBACK");
        throw new Error(`migration ${m.name} failed: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    if (install) {
      await client.query("BEGIN");
      try {
        await install(client);
        await client.query("COMMIT");
      } catch (err) {
        await client.query("ROLLBACK");
        throw err;
      }
    }
    await client.query("SELECT pg_advisory_unlock($1)", [MIGRATION_LOCK]);
    client.release();
  } catch (err) {
    // Destroying the connection also drops its session-level advisory lock.
    client.release(true);
    throw err;
  }
  return applied;
}
