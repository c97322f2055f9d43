import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import pg from "pg";
import { startEmbeddedPostgres, type EmbeddedDatabase } from "../db/embedded.ts";

/**
 * Prefix of every test database folder. It carries the id of the test run (set by scripts/run-tests.mjs),
 * which sweeps its own leftovers with it.
 */
export const TEST_DIR_PREFIX = `runcast-test-${process.env.RUNCAST_TEST_RUN ?? "manual"}-`;

/**
 * The server key of test nodes (RUNCAST_SERVER_KEY): every node a test starts on one database shares it,
 * as a deployment's nodes do. A fixed test value, sealing only throw-away keys.
 */
export const TEST_SERVER_KEY = Buffer.alloc(32, 7).toString("base64");

/**
 * A throw-away database for one test file: an embedded PostgreSQL (wal_level=logical) on a free port in
 * a temporary folder, removed by `stop()`. With RUNCAST_TEST_DATABASE_URL set (a superuser URL of a
 * PostgreSQL ≥ 14 with wal_level=logical), a fresh database on that server instead, dropped by `stop()`
 * together with the replication slots the test left in it: the suite then proves Runcast on that server.
 */
export async function startTestPostgres(): Promise<EmbeddedDatabase> {
  const external = process.env.RUNCAST_TEST_DATABASE_URL;
  if (external) return createExternalTestDatabase(external);
  const dir = mkdtempSync(join(tmpdir(), TEST_DIR_PREFIX));
  return startEmbeddedPostgres({ dir, ephemeral: true });
}

async function createExternalTestDatabase(adminUrl: string): Promise<EmbeddedDatabase> {
  const name = `runcast_test_${randomBytes(6).toString("hex")}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    port: Number(url.port || 5432),
    dataDir: "",
    async stop() {
      const c = new pg.Client({ connectionString: adminUrl });
      await c.connect();
      try {
        await c.query("SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE database = $1 AND NOT active", [name]);
        await c.query(`DROP DATABASE ${name} WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}
