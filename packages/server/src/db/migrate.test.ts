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
  const { rows } = await pool.query<{ n: number }>("SELECT count(*)::int AS n FROM runcast_migrations");
  assert.equal(rows[0]!.n, files.length);
  const identity = await pool.query<{ relreplident: string }>("SELECT relreplident FROM pg_class WHERE oid = 'runs'::regclass");
  assert.equal(identity.rows[0]!.relreplident, "f");
});
