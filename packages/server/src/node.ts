import { serve, type ServerType } from "@hono/node-server";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { AddressInfo } from "node:net";
import type { Server } from "node:http";
import type pg from "pg";
import { buildApp } from "./app.ts";
import { bootstrapKey, checkServerKey, KeyStore, sealOldKeys } from "./auth/keys.ts";
import { Revocations } from "./auth/revocations.ts";
import { loadServerKey, SecretBox } from "./auth/server-key.ts";
import type { NodeConfig } from "./config.ts";
import { startEmbeddedPostgres, type EmbeddedDatabase } from "./db/embedded.ts";
import { migrate } from "./db/migrate.ts";
import { RUNCAST_SCHEMA } from "./db/schema.ts";
import { createPool } from "./db/pool.ts";
import { Engine } from "./engine/engine.ts";
import { installTransitionRules } from "./engine/transitions.ts";
import type { Logger } from "./log.ts";
import { LoopDelay } from "./loop-delay.ts";
import { NodeMetrics } from "./metrics/node-metrics.ts";
import { RunCounter } from "./metrics/run-counts.ts";
import { LocalSubscriptionLimiter } from "./realtime/limits.ts";
import { SharedSubscriptionLimiter } from "./realtime/redis-limits.ts";
import { dropSlot } from "./sync/replication.ts";
import { SLOT_PREFIX, SlotKeeper } from "./sync/slot-keeper.ts";
import { SyncService } from "./sync/sync-service.ts";

export interface RunningNode {
  url: string;
  port: number;
  /** The key the node started with (RUNCAST_SECRET_KEY, or the dev environment's); never printed by `start`. */
  secretKey: string;
  envId: string;
  /** RUNCAST_SECRET_KEY names a key revoked earlier: it stays revoked. */
  secretKeyRevoked: boolean;
  keys: KeyStore;
  revocations: Revocations;
  databaseUrl: string;
  embedded: boolean;
  pool: pg.Pool;
  sync: SyncService;
  engine: Engine;
  /** Every route the HTTP API answers (method and path pattern), e.g. for tests that go through all of them. */
  routes: { method: string; path: string }[];
  close(): Promise<void>;
}

/**
 * Starts one server node: database (embedded unless DATABASE_URL), migrations, the replication stream,
 * the run engine and the HTTP server. `close()` releases everything in reverse order.
 */
export async function startNode(config: NodeConfig, log: Logger): Promise<RunningNode> {
  const cleanups: (() => Promise<void> | void)[] = [];
  const close = async () => {
    for (const fn of cleanups.reverse()) {
      try {
        await fn();
      } catch (err) {
        log("warn", "error while shutting down", { error: err instanceof Error ? err.message : String(err) });
      }
    }
    cleanups.length = 0;
  };
  try {
    let db: EmbeddedDatabase | undefined;
    let databaseUrl = config.databaseUrl;
    mkdirSync(config.dataDir, { recursive: true });
    const serverKey = loadServerKey(config.serverKey, config.dataDir);
    const box = new SecretBox(serverKey.key);
    if (!databaseUrl) {
      db = await startEmbeddedPostgres({ dir: config.dataDir, log: (line) => log("debug", line.trim(), { component: "postgres" }) });
      cleanups.push(() => db?.stop());
      databaseUrl = db.url;
    }
    const pool = createPool(databaseUrl, { max: 20, searchPath: RUNCAST_SCHEMA });
    cleanups.push(() => pool.end());
    const applied = await migrate(pool, { steps: [sealOldKeys(box)], install: installTransitionRules });
    if (applied.length) log("info", "migrations applied", { migrations: applied });
    await checkServerKey(pool, box);
    if (serverKey.source === "file" && !db) {
      log("warn", "RUNCAST_SERVER_KEY is unset: secret keys are sealed with the server key in this node's data dir; give every node the same RUNCAST_SERVER_KEY");
    }
    const keyFile = join(config.dataDir, "secret-key");
    const remembered = existsSync(keyFile) ? readFileSync(keyFile, "utf8").trim() : undefined;
    const { envId, secretKey, revoked, generated } = await bootstrapKey(pool, box, config.secretKey, remembered);
    if (revoked) log("warn", "RUNCAST_SECRET_KEY was revoked; it stays revoked and requests with it are refused");
    if (!config.secretKey) writeFileSync(keyFile, secretKey + "\n", { mode: 0o600 });
    if (generated) log("info", "generated a secret key for the dev environment", { file: keyFile });

    const shutdown = new AbortController();
    cleanups.push(() => shutdown.abort());
    const slotName = `${SLOT_PREFIX}${config.nodeId}`;
    // The node's row exists before its slot does, so no other node ever takes the new slot for a dead one's.
    const slots = new SlotKeeper(pool, { slot: slotName, ttlMs: config.slotTtlMs, maxLagBytes: config.maxReplicationLagBytes, log: (level, msg, fields) => log(level, msg, { component: "sync", ...fields }) });
    await slots.start();
    // Run after the stream stopped (cleanups run in reverse): a node that stops cleanly leaves no slot behind.
    cleanups.push(async () => {
      await slots.stop();
      await dropSlot(databaseUrl, slotName);
    });
    const sync = new SyncService(pool, {
      connectionString: databaseUrl,
      slotName,
      publicationName: "runcast",
      // Runs feed the realtime routes; keys are followed so that a revocation on any node reaches every node.
      tables: [
        { schema: RUNCAST_SCHEMA, name: "runs" },
        { schema: RUNCAST_SCHEMA, name: "secret_keys" },
      ],
      schema: RUNCAST_SCHEMA,
      registry: {
        idleMs: 5 * 60_000,
        logBytes: config.shapeLogBytes,
        logsTotalBytes: config.shapeLogsTotalBytes,
        windowBytes: config.handoffWindowBytes,
        snapshotTimeoutMs: config.snapshotTimeoutMs,
        onShapeFailure: (shape, err) =>
          log("warn", "shape invalidated by a failure; its readers start over", {
            component: "sync",
            table: `${shape.spec.table.schema}.${shape.spec.table.name}`,
            error: err instanceof Error ? err.message : String(err),
          }),
      },
      log: (msg) => log("warn", msg, { component: "sync" }),
    });
    await sync.start();
    cleanups.push(() => sync.stop());
    const engine = new Engine(pool, {
      leaseMs: config.leaseMs,
      workerTimeoutMs: config.workerTimeoutMs,
      retentionMs: config.retentionMs,
      rates: { centsPerSecond: config.costCentsPerSecond, baseCentsPerAttempt: config.baseCostCents },
    });
    engine.start();
    cleanups.push(() => engine.stop());
    const keys = new KeyStore(pool, box);
    const revocations = new Revocations(keys);
    const runCounter = new RunCounter(pool);
    const metrics = new NodeMetrics(
      {
        shapes: () => sync.registry.size,
        memory: () => ({
          logs: sync.registry.logMemory.bytes,
          logsBudget: config.shapeLogsTotalBytes,
          window: sync.registry.window.bytes,
          windowBudget: config.handoffWindowBytes,
        }),
        streaming: () => sync.streaming,
        replicationLagBytes: async () => (await slots.lag()).bytes,
        runCounts: () => runCounter.counts(),
      },
      log,
    );
    sync.onTransaction((tx) => metrics.transactionApplied(tx.commitTime, tx.changes));
    // Runs queued by any node reach this node's held dequeue requests through the replication stream, and
    // keys revoked on any node end this node's requests made with them.
    sync.onTransaction((tx) => {
      const queued = new Set<string>();
      const canceled = new Set<string>();
      for (const ch of tx.changes) {
        if (ch.kind === "truncate" || ch.kind === "delete" || ch.relation.schema !== RUNCAST_SCHEMA) continue;
        if (ch.relation.name === "secret_keys") {
          if (ch.new.revoked_at && ch.new.id) revocations.revoked(ch.new.id);
          else keys.forget(); // a new key: tokens it signs verify at once
          continue;
        }
        if (ch.relation.name !== "runs") continue;
        const env = ch.new.env_id;
        if (!env) continue;
        // A newly queued run, or a run leaving EXECUTING (a queue slot freed): held dequeues look again.
        if (ch.new.status === "QUEUED") queued.add(env);
        else if (ch.kind === "update" && ch.old?.status === "EXECUTING" && ch.new.status !== "EXECUTING") queued.add(env);
        if (ch.new.status === "CANCELED") canceled.add(env);
      }
      if (queued.size) engine.notifyQueued(queued);
      if (canceled.size) engine.notifyCanceled(canceled);
    });

    let limiter = new LocalSubscriptionLimiter(config.maxSubscriptions, config.maxSubscriptionsPerToken);
    if (config.redisUrl) {
      const shared = new SharedSubscriptionLimiter({
        max: config.maxSubscriptions,
        maxPerToken: config.maxSubscriptionsPerToken,
        url: config.redisUrl,
        node: slotName,
        log: (level, msg, fields) => log(level, msg, { component: "limits", ...fields }),
      });
      try {
        await shared.start();
      } catch (err) {
        // The URL may hold a password: only the reason is said.
        throw new Error(`could not connect to REDIS_URL: ${err instanceof Error ? err.message : String(err)}`);
      }
      cleanups.push(() => shared.stop());
      limiter = shared;
    }
    const loopDelay = new LoopDelay();
    cleanups.push(() => loopDelay.stop());
    const app = buildApp({
      pool,
      engine,
      sync,
      keys,
      revocations,
      limiter,
      log,
      longPollMs: config.longPollMs,
      maxBodyBytes: config.maxBodyBytes,
      sseMaxUnsentBytes: config.sseMaxUnsentBytes,
      shapeTables: config.shapeTables,
      shapeEnvironments: config.shapeEnvironments,
      loopDelay,
      slots,
      shutdown: shutdown.signal,
      metrics,
      metricsToken: config.metricsToken,
    });
    const server: ServerType = await new Promise((resolve, reject) => {
      const s = serve({ fetch: app.fetch, port: config.port, hostname: config.host }, () => resolve(s));
      s.once("error", reject);
    });
    cleanups.push(
      () =>
        new Promise<void>((resolve) => {
          shutdown.abort();
          const http = server as Server;
          http.close(() => resolve());
          // Held long-polls were aborted above; idle keep-alive sockets must not hold the close open.
          http.closeAllConnections?.();
        }),
    );
    const port = (server.address() as AddressInfo).port;
    return {
      url: `http://localhost:${port}`,
      port,
      secretKey,
      envId,
      secretKeyRevoked: revoked,
      keys,
      revocations,
      databaseUrl,
      embedded: !!db,
      pool,
      sync,
      engine,
      routes: [...new Map(app.routes.filter((r) => r.method !== "ALL").map((r) => [`${r.method} ${r.path}`, { method: r.method, path: r.path }])).values()],
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}
