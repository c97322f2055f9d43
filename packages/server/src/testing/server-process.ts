import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before } from "node:test";
import { fileURLToPath } from "node:url";
import type pg from "pg";
import { generateSecretKey } from "../auth/keys.ts";
import { createPool } from "../db/pool.ts";
import { startTestPostgres, TEST_DIR_PREFIX, TEST_SERVER_KEY } from "./pg.ts";
import { freePort, type EmbeddedDatabase } from "../db/embedded.ts";

const BIN = fileURLToPath(new URL("../../bin/runcast.js", import.meta.url));

export interface ServerProcess {
  url: string;
  secretKey: string;
  child: ChildProcess;
  /** Resident memory of the server process, bytes (from /proc). */
  rss(): number;
  output(): string;
  stop(): Promise<void>;
}


/**
 * `runcast start` in its own process over `databaseUrl`, as operators run it, so that tests measure the
 * server alone (its memory, its responsiveness) and not their own clients. `stop()` sends SIGTERM and waits.
 */
export async function spawnServer(databaseUrl: string, env: Record<string, string> = {}): Promise<ServerProcess> {
  const port = await freePort();
  const secretKey = generateSecretKey();
  const dataDir = mkdtempSync(join(tmpdir(), TEST_DIR_PREFIX));
  const child = spawn(process.execPath, [BIN, "start", "--port", String(port), "--data-dir", dataDir], {
    env: {
      ...process.env,
      DATABASE_URL: databaseUrl,
      RUNCAST_SECRET_KEY: secretKey,
      RUNCAST_SERVER_KEY: TEST_SERVER_KEY,
      RUNCAST_HOST: "127.0.0.1",
      RUNCAST_NODE_ID: `proc_${port}`,
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout?.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr?.on("data", (d: Buffer) => (out += d.toString()));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(dataDir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) {
      await stop();
      throw new Error(`runcast start exited (${child.exitCode}): ${out}`);
    }
    const ok = await fetch(`${url}/healthz`).then((r) => r.ok, () => false);
    if (ok) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`runcast start did not become healthy in 30 s: ${out}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    secretKey,
    child,
    rss: () => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, "utf8"))?.[1] ?? 0) * 1024,
    output: () => out,
    stop,
  };
}

export interface ServerWithDatabase {
  readonly server: ServerProcess;
  /** A pool as an application's own, for user tables. */
  readonly sql: pg.Pool;
}

/**
 * The set-up of tests that measure the server alone: `before` starts a throw-away PostgreSQL, `runcast
 * start` over it in its own process (with `env`) and an application pool, then runs `setup`; `after`
 * runs `teardown` and stops them all. Read `.server` / `.sql` inside tests.
 */
export function useServerProcess(env: Record<string, string>, hooks: { setup?(sql: pg.Pool): Promise<void>; teardown?(): Promise<void> } = {}): ServerWithDatabase {
  let db: EmbeddedDatabase | undefined;
  let server: ServerProcess | undefined;
  let sql: pg.Pool | undefined;
  before(async () => {
    db = await startTestPostgres();
    server = await spawnServer(db.url, env);
    sql = createPool(db.url, { max: 4 });
    await hooks.setup?.(sql);
  });
  after(async () => {
    await hooks.teardown?.();
    await sql?.end();
    await server?.stop();
    await db?.stop();
  });
  return {
    get server() {
      if (!server) throw new Error("the server is not started yet (use it inside tests)");
      return server;
    },
    get sql() {
      if (!sql) throw new Error("the server is not started yet (use it inside tests)");
      return sql;
    },
  };
}
