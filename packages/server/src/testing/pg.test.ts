import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import pg from "pg";
import { startTestPostgres } from "./pg.ts";

test("a test database has logical decoding on and is removed on stop", async () => {
  const db = await startTestPostgres();
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  const { rows } = await client.query("show wal_level");
  assert.equal(rows[0].wal_level, "logical");
  await client.end();
  await db.stop();
  assert.equal(existsSync(db.dataDir), false);
});
