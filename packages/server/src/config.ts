import { randomBytes } from "node:crypto";
import { resolve } from "node:path";

/** Everything a node needs to know, read once from flags and the environment (DESIGN.md contract). */
export interface NodeConfig {
  port: number;
  host: string;
  /** Folder for the embedded database and local state. */
  dataDir: string;
  /** External PostgreSQL; the embedded one is started when unset. */
  databaseUrl: string | undefined;
  /** The dev environment's secret key; generated and saved in the data dir when unset. */
  secretKey: string | undefined;
  /** 32 bytes (base64 or hex) sealing the secret keys at rest; every node shares it. Generated into the data dir when unset. */
  serverKey: string | undefined;
  /** Concurrent held live requests per environment. */
  maxSubscriptions: number;
  /** Of those, at most this many held by one public token. */
  maxSubscriptionsPerToken: number;
  /** REDIS_URL: the subscription limits count every node's subscriptions (counted per node when unset). */
  redisUrl: string | undefined;
  /** How long a live long-poll is held before answering "still up to date". */
  longPollMs: number;
  /** A worker lease lasts this long without a heartbeat. */
  leaseMs: number;
  /** A worker not heard from for this long counts as gone (new runs of its tasks wait for a deployment). */
  workerTimeoutMs: number;
  /** Finished runs are deleted this long after finishing (0 keeps them forever). */
  retentionMs: number;
  /** Name of this node, used for its replication slot (`runcast_<node id>`): random per process unless RUNCAST_NODE_ID names it. */
  nodeId: string;
  /** A replication slot not streaming whose node has not been heard of for this long is dropped (sync/SPEC.md N1). */
  slotTtlMs: number;
  /** Past this many bytes behind the WAL, /healthz answers 503 "lagging" and the node logs a warning. */
  maxReplicationLagBytes: number;
  /** Largest accepted request body, bytes. */
  maxBodyBytes: number;
  /** Byte budget of each shape's log, kept for resuming readers (sync/SPEC.md L2). */
  shapeLogBytes: number;
  /** Byte budget all shape logs of the node share: past it, the node's oldest chunks go first (L2). */
  shapeLogsTotalBytes: number;
  /** Byte budget of the recent transactions kept to take over readers another node served (H3). */
  handoffWindowBytes: number;
  /** Snapshot queries of new shapes are cancelled after this long. */
  snapshotTimeoutMs: number;
  /** An SSE reader stalled for a second with more than this many bytes waiting for it is cut off (B1). */
  sseMaxUnsentBytes: number;
  /** Tables `/v1/shape` may serve (`schema.table`); every user table when empty. */
  shapeTables: string[];
  /** Environments (slugs) whose keys may use `/v1/shape`; every one when empty. */
  shapeEnvironments: string[];
  /** RUNCAST_METRICS_TOKEN: when set, `GET /metrics` needs `Authorization: Bearer <token>`; open when unset. */
  metricsToken: string | undefined;
  /** Pricing behind costInCents / baseCostInCents. */
  costCentsPerSecond: number;
  baseCostCents: number;
}

function numberFrom(value: string | undefined, fallback: number, name: string): number {
  if (value === undefined || value === "") return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new Error(`${name} must be a non-negative number, got "${value}"`);
  return n;
}

function intFrom(value: string | undefined, fallback: number, name: string): number {
  if (value === undefined || value === "") return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${name} must be a positive integer, got "${value}"`);
  return n;
}

/**
 * RUNCAST_NODE_ID, or a random id: every node of a cluster gets its own replication slot without a setting.
 * A restarted node makes a new slot; the old one is dropped a TTL later by whichever node is alive.
 */
function nodeIdFrom(value: string | undefined): string {
  if (value === undefined || value === "") return `n${randomBytes(6).toString("hex")}`;
  if (!/^[a-z0-9_]{1,40}$/i.test(value)) throw new Error(`RUNCAST_NODE_ID must be 1 to 40 letters, digits or underscores, got "${value}"`);
  return value.toLowerCase();
}

/** A bearer token for /metrics: a guessable one would open it to anyone, so it must look random enough. */
function metricsTokenFrom(value: string | undefined): string | undefined {
  if (value === undefined || value === "") return undefined;
  if (value.length < 16 || !/^[\x21-\x7e]+$/.test(value)) {
    throw new Error("RUNCAST_METRICS_TOKEN must be at least 16 printable characters without spaces (e.g. the output of: openssl rand -hex 16)");
  }
  return value;
}

export function configFromEnv(
  flags: { port?: string | number; dataDir?: string } = {},
  env: NodeJS.ProcessEnv = process.env,
): NodeConfig {
  const maxSubscriptions = intFrom(env.RUNCAST_MAX_SUBSCRIPTIONS, 100, "RUNCAST_MAX_SUBSCRIPTIONS");
  return {
    port: intFrom(flags.port !== undefined ? String(flags.port) : env.PORT, 3030, "port"),
    host: env.RUNCAST_HOST ?? "0.0.0.0",
    dataDir: resolve(flags.dataDir ?? env.RUNCAST_DATA_DIR ?? ".runcast"),
    databaseUrl: env.DATABASE_URL || undefined,
    secretKey: env.RUNCAST_SECRET_KEY || undefined,
    serverKey: env.RUNCAST_SERVER_KEY || undefined,
    maxSubscriptions,
    // A public token sits in a browser: one page may hold several feeds, but not the whole environment's share.
    maxSubscriptionsPerToken: intFrom(env.RUNCAST_MAX_SUBSCRIPTIONS_PER_TOKEN, Math.max(1, Math.ceil(maxSubscriptions / 4)), "RUNCAST_MAX_SUBSCRIPTIONS_PER_TOKEN"),
    redisUrl: env.REDIS_URL || undefined,
    longPollMs: intFrom(env.RUNCAST_LONG_POLL_MS, 20_000, "RUNCAST_LONG_POLL_MS"),
    leaseMs: intFrom(env.RUNCAST_LEASE_MS, 30_000, "RUNCAST_LEASE_MS"),
    workerTimeoutMs: intFrom(env.RUNCAST_WORKER_TIMEOUT_MS, 60_000, "RUNCAST_WORKER_TIMEOUT_MS"),
    retentionMs: numberFrom(env.RUNCAST_RUN_RETENTION_DAYS, 30, "RUNCAST_RUN_RETENTION_DAYS") * 86_400_000,
    nodeId: nodeIdFrom(env.RUNCAST_NODE_ID),
    slotTtlMs: intFrom(env.RUNCAST_SLOT_TTL_SECONDS, 120, "RUNCAST_SLOT_TTL_SECONDS") * 1000,
    maxReplicationLagBytes: Math.round(numberFrom(env.RUNCAST_MAX_REPLICATION_LAG_MB, 256, "RUNCAST_MAX_REPLICATION_LAG_MB") * 1024 * 1024),
    maxBodyBytes: intFrom(env.RUNCAST_MAX_BODY_BYTES, 3 * 1024 * 1024, "RUNCAST_MAX_BODY_BYTES"),
    shapeLogBytes: intFrom(env.RUNCAST_SHAPE_LOG_BYTES, 16 * 1024 * 1024, "RUNCAST_SHAPE_LOG_BYTES"),
    shapeLogsTotalBytes: intFrom(env.RUNCAST_SHAPE_LOGS_TOTAL_BYTES, 256 * 1024 * 1024, "RUNCAST_SHAPE_LOGS_TOTAL_BYTES"),
    handoffWindowBytes: intFrom(env.RUNCAST_HANDOFF_WINDOW_BYTES, 16 * 1024 * 1024, "RUNCAST_HANDOFF_WINDOW_BYTES"),
    snapshotTimeoutMs: intFrom(env.RUNCAST_SNAPSHOT_TIMEOUT_MS, 30_000, "RUNCAST_SNAPSHOT_TIMEOUT_MS"),
    sseMaxUnsentBytes: intFrom(env.RUNCAST_SSE_MAX_UNSENT_BYTES, 8 * 1024 * 1024, "RUNCAST_SSE_MAX_UNSENT_BYTES"),
    shapeTables: (env.RUNCAST_SHAPE_TABLES ?? "").split(",").map((t) => t.trim()).filter(Boolean),
    shapeEnvironments: (env.RUNCAST_SHAPE_ENVIRONMENTS ?? "").split(",").map((t) => t.trim()).filter(Boolean),
    metricsToken: metricsTokenFrom(env.RUNCAST_METRICS_TOKEN),
    // Defaults in the order of magnitude of a small cloud machine.
    costCentsPerSecond: numberFrom(env.RUNCAST_COST_CENTS_PER_SECOND, 0.0017, "RUNCAST_COST_CENTS_PER_SECOND"),
    baseCostCents: numberFrom(env.RUNCAST_BASE_COST_CENTS, 0.0025, "RUNCAST_BASE_COST_CENTS"),
  };
}
