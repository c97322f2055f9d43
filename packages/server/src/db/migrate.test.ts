import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import type pg from "pg";
import { startTestPostgres } from "../testing/pg.ts";
import type { EmbeddedDatabase } from "./embedded.ts";
import { sealOldKeys } from "../auth/keys.ts";
import { SecretBox } from "../auth/server-key.ts";
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

/** The steps a node runs: the files and the code step sealing old keys. */
const steps = [sealOldKeys(new SecretBox(Buffer.alloc(32, 1)))];

test("ten nodes migrating at once apply each step exactly once; re-running is a no-op", async () => {
  const results = await Promise.all(Array.from({ length: 10 }, () => migrate(pool, { steps })));
  const all = results.flat();
  const files = [...loadMigrations().map((m) => m.name), ...steps.map((m) => m.name)];
  assert.deepEqual([...all].sort(), [...files].sort(), "each migration applied by exactly one runner");
  assert.deepEqual(await migrate(pool, { steps }), []);
  const { rows } = await pool.query<{ n: number }>("SELECT count(*)::int AS n FROM runcast_internal.runcast_migrations");
  assert.equal(rows[0]!.n, files.length);
  const identity = await pool.query<{ relreplident: string }>("SELECT relreplident FROM pg_class WHERE oid = 'runcast_internal.runs'::regclass");
  assert.equal(identity.rows[0]!.relreplident, "f");
});

test("Runcast's tables are all in their own schema, whatever the pool's search_path (this one has none)", async () => {
  const inPublic = await pool.query<{ relname: string }>(
    "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'S')",
  );
  assert.deepEqual(inPublic.rows, [], "nothing of Runcast's is in public");
  const own = await pool.query<{ relname: string }>(
    "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'runcast_internal' AND c.relkind = 'r' ORDER BY 1",
  );
  assert.deepEqual(
    own.rows.map((r) => r.relname),
    ["attempts", "batch_items", "batches", "environments", "metadata_batches", "nodes", "packets", "queues", "request_keys", "run_events", "runcast_ddl_events", "runcast_migrations", "runs", "secret_keys", "settings", "tasks", "used_tokens", "waitpoints", "workers"],
  );
});

const OLD_KEY = "tr_dev_oldkeyinclear0000000001";
const OLD_REVOKED = "tr_dev_oldkeyinclear0000000002";

test("a database of the earlier layout (Runcast's tables in public) is moved into runcast_internal with its data", async () => {
  const name = `upgrade_test_${process.pid}_${Date.now()}`;
  const admin = createPool(db.url, { max: 1 });
  await admin.query(`CREATE DATABASE ${name}`);
  const url = new URL(db.url);
  url.pathname = `/${name}`;
  const old = createPool(url.toString(), { max: 2 });
  try {
    // What 0001-0004 left behind before the schema existed: tables in public, recorded in public.runcast_migrations.
    const client = await old.connect();
    try {
      await client.query("CREATE TABLE runcast_migrations (id integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())");
      for (const m of loadMigrations().filter((m) => m.id <= 4)) {
        await client.query(m.sql);
        await client.query("INSERT INTO runcast_migrations (id, name) VALUES ($1, $2)", [m.id, m.name]);
      }
      await client.query("INSERT INTO environments (id, slug) VALUES ('env_dev', 'dev')");
      await client.query("INSERT INTO api_keys (secret_key, env_id) VALUES ($1, 'env_dev')", [OLD_KEY]);
      await client.query("INSERT INTO api_keys (secret_key, env_id, revoked_at) VALUES ($1, 'env_dev', now())", [OLD_REVOKED]);
      await client.query("INSERT INTO runs (id, env_id, task_identifier, status, queue) VALUES ('run_old', 'env_dev', 'echo', 'QUEUED', 'task/echo')");
    } finally {
      client.release();
    }
    const box = new SecretBox(Buffer.alloc(32, 2));
    const applied = await migrate(old, { steps: [sealOldKeys(box)] });
    assert.deepEqual(applied, [...loadMigrations(), sealOldKeys(box)].filter((m) => m.id > 4).sort((a, b) => a.id - b.id).map((m) => m.name));
    // The keys kept in clear are sealed; the old table is gone with its files.
    const keys = await old.query<{ id: string; sealed: string; revoked: boolean; row: string }>(
      "SELECT id, sealed, revoked_at IS NOT NULL AS revoked, k::text AS row FROM runcast_internal.secret_keys k ORDER BY created_at",
    );
    assert.deepEqual(keys.rows.map((k) => [box.open(k.sealed, k.id), k.revoked]), [[OLD_KEY, false], [OLD_REVOKED, true]]);
    for (const k of keys.rows) assert.doesNotMatch(k.row, /tr_dev_[A-Za-z0-9]{8}/, "no row holds a key as text");
    assert.equal((await old.query("SELECT to_regclass('runcast_internal.api_keys') AS t")).rows[0].t, null);
    const { rows } = await old.query<{ id: string }>("SELECT id FROM runcast_internal.runs");
    assert.deepEqual(rows.map((r) => r.id), ["run_old"], "the data moved with its table");
    const left = await old.query("SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relkind = 'r'");
    assert.equal(left.rowCount, 0, "nothing of Runcast's is left in public");
    const fn = await old.query("SELECT 1 FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'runcast_internal' AND p.proname = 'runcast_ddl_event'");
    assert.equal(fn.rowCount, 1, "the schema-change trigger's function moved too");
  } finally {
    await old.end();
    await admin.query(`DROP DATABASE ${name} WITH (FORCE)`);
    await admin.end();
  }
});
