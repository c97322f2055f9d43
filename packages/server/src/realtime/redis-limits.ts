import { createClient } from "redis";
import { LocalSubscriptionLimiter } from "./limits.ts";

/** Keys of the counts: one hash per node, `name → count`, expiring unless the node keeps it fresh. */
const PREFIX = "runcast:subscriptions:";
/** How often a node publishes its counts and reads the others'. */
const SYNC_MS = 250;
/** A node's counts vanish this long after it last published them (it died). */
const TTL_MS = 3_000;

export interface SharedLimiterOptions {
  max: number;
  maxPerToken: number;
  url: string;
  /** This node's name (its slot's): names its hash. */
  node: string;
  log: (level: "info" | "warn", msg: string, fields?: Record<string, unknown>) => void;
}

/**
 * The subscription limits counted over every node (REDIS_URL). Each node keeps its own counts, as the local
 * limiter does, and publishes them to Redis every 250 ms (a hash that expires 3 s after its last refresh, so a
 * node that dies stops counting); it reads the other nodes' hashes at the same pace and a request is refused
 * when this node's count plus theirs reaches the limit. `acquire` stays synchronous: no Redis round trip on a
 * request's path. The price is that nodes see each other's new subscriptions up to a quarter of a second late,
 * so a burst across nodes can pass the limit by what arrives in that time. If Redis is unreachable the node
 * counts alone (as without Redis) and says so in its log.
 */
export class SharedSubscriptionLimiter extends LocalSubscriptionLimiter {
  readonly #opts: SharedLimiterOptions;
  readonly #client: ReturnType<typeof createClient>;
  readonly #key: string;
  #others = new Map<string, number>();
  #timer: NodeJS.Timeout | undefined;
  #syncing: Promise<void> | undefined;
  #healthy = true;

  constructor(opts: SharedLimiterOptions) {
    super(opts.max, opts.maxPerToken);
    this.#opts = opts;
    this.#key = `${PREFIX}${opts.node}`;
    this.#client = createClient({ url: opts.url, socket: { connectTimeout: 5_000, reconnectStrategy: (retries) => Math.min(100 * 2 ** retries, 5_000) } });
    this.#client.on("error", (err: unknown) => this.#unhealthy(err));
  }

  protected override elsewhere(name: string): number {
    return this.#others.get(name) ?? 0;
  }

  protected override get scope(): string {
    return " across all nodes";
  }

  async start(): Promise<void> {
    await this.#client.connect();
    await this.#sync();
    this.#timer = setInterval(() => {
      this.#syncing ??= this.#sync()
        .catch((err: unknown) => this.#unhealthy(err))
        .finally(() => (this.#syncing = undefined));
    }, SYNC_MS);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.#syncing;
    try {
      await this.#client.del(this.#key);
    } finally {
      this.#client.destroy();
    }
  }

  async #sync(): Promise<void> {
    const counts: Record<string, string> = {};
    for (const [name, n] of this.counts) counts[name] = String(n);
    const tx = this.#client.multi().del(this.#key);
    if (Object.keys(counts).length) tx.hSet(this.#key, counts);
    await tx.pExpire(this.#key, TTL_MS).exec();
    const others = new Map<string, number>();
    for await (const keys of this.#client.scanIterator({ MATCH: `${PREFIX}*`, COUNT: 100 })) {
      for (const key of keys) {
        if (key === this.#key) continue;
        for (const [name, n] of Object.entries(await this.#client.hGetAll(key))) others.set(name, (others.get(name) ?? 0) + Number(n));
      }
    }
    this.#others = others;
    if (!this.#healthy) {
      this.#healthy = true;
      this.#opts.log("info", "subscription limits are shared through Redis again");
    }
  }

  #unhealthy(err: unknown): void {
    if (!this.#healthy) return;
    this.#healthy = false;
    // What other nodes held is no longer known: count this node's own alone until Redis answers.
    this.#others = new Map();
    this.#opts.log("warn", "Redis is unreachable: subscription limits count this node's subscriptions only until it is back", {
      error: err instanceof Error ? err.message : String(err),
    });
  }
}
