import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { startEmbeddedPostgres, type EmbeddedDatabase } from "../../packages/server/src/db/embedded.ts";
import { isExiting, onCleanup } from "./procs.ts";

export type { EmbeddedDatabase };

/** Prefix of the bench's temporary PostgreSQL folders (the test runner's sweep never touches them). */
export const BENCH_DIR_PREFIX = "runcast-bench-";

/**
 * A throw-away embedded PostgreSQL (wal_level=logical) on a free port in a temporary folder, the same way
 * the test suite starts its own (as root it runs as the `postgres` user). Stopped and removed by
 * cleanupAll(), or earlier by `stop()`.
 */
export async function startBenchPostgres(log: (line: string) => void = () => {}): Promise<EmbeddedDatabase> {
  const dir = mkdtempSync(join(tmpdir(), BENCH_DIR_PREFIX));
  const db = await startEmbeddedPostgres({ dir, ephemeral: true, log });
  const unregister = onCleanup(() => db.stop());
  return {
    ...db,
    async stop() {
      unregister();
      await db.stop();
    },
  };
}

/** The bench's user table: a few rows, one of which the benchmarks update. */
export const BENCH_TABLE = "bench_items";

export async function createBenchTable(databaseUrl: string, rows = 10): Promise<void> {
  const client = await connectClient({ connectionString: databaseUrl });
  try {
    await client.query(`CREATE TABLE IF NOT EXISTS ${BENCH_TABLE} (id integer PRIMARY KEY, v text NOT NULL)`);
    await client.query(
      `INSERT INTO ${BENCH_TABLE} (id, v) SELECT i, 'row-' || i FROM generate_series(1, $1) AS i ON CONFLICT (id) DO NOTHING`,
      [rows],
    );
  } finally {
    await client.end();
  }
}

/** The value every benchmark update writes: fixed length, so every fan-out body has the same size. */
export function benchValue(n: number): string {
  return `update-${String(n).padStart(10, "0")}`;
}

/** The one statement every benchmark commits (a single-statement autocommit transaction). */
export const UPDATE_SQL = `UPDATE ${BENCH_TABLE} SET v = $1 WHERE id = 1`;

/** A connected client whose connection errors are reported instead of crashing the process (and are quiet during shutdown). */
export async function connectClient(config: pg.ClientConfig, log: (line: string) => void = (l) => process.stderr.write(l + "\n")): Promise<pg.Client> {
  const client = new pg.Client(config);
  client.on("error", (err) => {
    if (!isExiting()) log(`database connection error: ${err.message}`);
  });
  await client.connect();
  return client;
}
