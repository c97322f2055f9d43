import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startEmbeddedPostgres, type EmbeddedDatabase } from "../db/embedded.ts";

/**
 * Prefix of every test database folder. It carries the id of the test run (set by scripts/run-tests.mjs),
 * which sweeps its own leftovers with it.
 */
export const TEST_DIR_PREFIX = `runcast-test-${process.env.RUNCAST_TEST_RUN ?? "manual"}-`;

/**
 * Starts a throw-away embedded PostgreSQL (wal_level=logical) on a free port in a temporary folder.
 * `stop()` shuts it down and removes the folder. One per test file.
 */
export async function startTestPostgres(): Promise<EmbeddedDatabase> {
  const dir = mkdtempSync(join(tmpdir(), TEST_DIR_PREFIX));
  return startEmbeddedPostgres({ dir, ephemeral: true });
}
