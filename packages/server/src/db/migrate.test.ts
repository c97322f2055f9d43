import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import type pg from "pg";
import { startTestPostgres } from "../testing/pg.ts";
import type { EmbeddedDatabase } from "./embedded.ts";
import { loadMigrations, migrate } from "./migrate.ts";
import { createPool } from "./pool.ts";

let db: EmbeddedDatabase;
let pool: pg.Pool;

before(async () => {
  db = await startTestPostgres();
  pool = createPool(db.url, { max: 12 });
});

after(async () => {
  await pool?.end();
  await db?.stop();
});

test("ten nodes migrating at once apply each file exactly once; re-running is a no-op", async () => {
  const results = await Promise.all(Array.from({ length: 10 }, () => migrate(pool)));
  const all = results.flat();
  const files = loadMigrations().map((m) => m.name);
  assert.deepEqual([...all].sort(), [...files].sort(), "each migration applied by exactly one runner");
  assert.deepEqual(await migrate(pool), []);
  const { rows } = await pool.query<{ n: number }>("SELECT count(*)::int AS n FROM runcast_internal.runcast_migrations");
  assert.equal(rows[0]!.n, files.length);
  const identity = await pool.query<{ relreplident: string }>("SELECT relreplident FROM pg_class WHERE oid = 'runcast_internal.runs'::regclass");
  assert.equal(identity.rows[0]!.relreplident, "f");
});

test("Runcast's tables end in their own schema: created in public by the first files (this pool has no search_path), moved by 0005", async () => {
  const inPublic = await pool.query<{ relname: string }>(
    "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'S')",
  );
  assert.deepEqual(inPublic.rows, [], "nothing of Runcast's is left in public");
  const own = await pool.query<{ relname: string }>(
    "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'runcast_internal' AND c.relkind = 'r' ORDER BY 1",
  );
  assert.deepEqual(
    own.rows.map((r) => r.relname),
    ["api_keys", "attempts", "batches", "environments", "queues", "runcast_ddl_events", "runcast_migrations", "runs", "tasks", "workers"],
  );
  const fn = await pool.query("SELECT 1 FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'runcast_internal' AND p.proname = 'runcast_ddl_event'");
  assert.equal(fn.rowCount, 1);
});
