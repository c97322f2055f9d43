import { mkdtempSync, rmSync } from "node:fs";
import { after, before } from "node:test";
import { configure } from "@runcast/sdk";
import { Worker } from "@runcast/sdk/worker";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type pg from "pg";
import { configFromEnv, type NodeConfig } from "../config.ts";
import { createPool } from "../db/pool.ts";
import type { EmbeddedDatabase } from "../db/embedded.ts";
import { silentLogger } from "../log.ts";
import { startNode, type RunningNode } from "../node.ts";
import { startTestPostgres, TEST_DIR_PREFIX, TEST_SERVER_KEY } from "./pg.ts";

export interface TestNode extends RunningNode {
  db: EmbeddedDatabase;
  /** A connection pool as an application's own (default search_path: public), for user tables. */
  userPool: pg.Pool;
  /** Stops the node, then its database. */
  stop(): Promise<void>;
}

/**
 * A full server node on a free port over its own throw-away PostgreSQL (passed as DATABASE_URL,
 * the external-database path). `overrides` adjust the config (short leases, long-poll time…).
 */
export async function startTestNode(overrides: Partial<NodeConfig> = {}, db?: EmbeddedDatabase): Promise<TestNode> {
  const database = db ?? (await startTestPostgres());
  const dataDir = mkdtempSync(join(tmpdir(), TEST_DIR_PREFIX));
  const config: NodeConfig = {
    ...configFromEnv({ port: 1, dataDir }, {}),
    port: 0,
    host: "127.0.0.1",
    databaseUrl: database.url,
    serverKey: TEST_SERVER_KEY,
    // Slot names are per server, not per database: on a shared external server each test database
    // gets its own (stable across a test's restarts of the node).
    nodeId: new URL(database.url).pathname.replace(/\W/g, "").slice(0, 40) || "main",
    ...overrides,
  };
  let node: RunningNode;
  try {
    node = await startNode(config, silentLogger);
  } catch (err) {
    if (!db) await database.stop();
    rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }
  const userPool = createPool(database.url, { max: 25, application: "runcast-test-app" });
  return {
    ...node,
    url: `http://127.0.0.1:${node.port}`,
    db: database,
    userPool,
    async stop() {
      await userPool.end();
      await node.close();
      if (!db) await database.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Waits until `check` returns a truthy value (polled every 10 ms), or fails after `timeoutMs`. */
export async function waitFor<T>(check: () => T | Promise<T>, what: string, timeoutMs = 15_000): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export const TEST_TASKS_DIR = new URL("./tasks/", import.meta.url).pathname;

export interface NodeWithWorker {
  readonly node: TestNode;
  readonly worker: Worker;
}

/**
 * The usual test file set-up: `before` starts a node (and configures the SDK for it) and an in-process
 * worker running the test tasks; `after` stops both. Read `.node` / `.worker` inside tests.
 */
export function useNodeWithWorker(overrides: Partial<NodeConfig> = {}): NodeWithWorker {
  let node: TestNode | undefined;
  let worker: Worker | undefined;
  before(async () => {
    node = await startTestNode(overrides);
    configure({ baseURL: node.url, secretKey: node.secretKey });
    worker = new Worker({ tasksDir: TEST_TASKS_DIR, config: { baseURL: node.url, secretKey: node.secretKey } });
    await worker.start();
  });
  after(async () => {
    await worker?.stop();
    await node?.stop();
  });
  return {
    get node() {
      if (!node) throw new Error("the test node is not started yet (use it inside tests)");
      return node;
    },
    get worker() {
      if (!worker) throw new Error("the test worker is not started yet (use it inside tests)");
      return worker;
    },
  };
}
