import { RuncastError } from "../errors.ts";

/**
 * Concurrent live requests (long-poll or SSE) per environment (RUNCAST_MAX_SUBSCRIPTIONS), of which one
 * public token holds at most RUNCAST_MAX_SUBSCRIPTIONS_PER_TOKEN. In-process; with REDIS_URL the counts of
 * every node are shared (redis-limits.ts).
 */
export interface SubscriptionLimiter {
  /**
   * Takes a slot or throws 429; the returned function gives it back (idempotent). `token` names the public
   * token holding it (its hash), undefined for a secret key.
   */
  acquire(envId: string, token?: string): () => void;
}

const tooMany = (message: string) => new RuncastError(429, "too_many_subscriptions", message, { headers: { "retry-after": "1" } });

export class LocalSubscriptionLimiter implements SubscriptionLimiter {
  readonly #max: number;
  readonly #maxPerToken: number;
  readonly #counts = new Map<string, number>();

  constructor(max: number, maxPerToken = max) {
    this.#max = max;
    this.#maxPerToken = Math.min(max, maxPerToken);
  }

  /** Live subscriptions of an environment (or `envId\0token`) held on this node. */
  held(envId: string): number {
    return this.#counts.get(envId) ?? 0;
  }

  /** This node's counts, by environment and by `envId\0token`. */
  get counts(): ReadonlyMap<string, number> {
    return this.#counts;
  }

  /** Held on the other nodes (none here; the Redis-backed limiter knows them). */
  protected elsewhere(_name: string): number {
    return 0;
  }

  /** Said in a 429: where the count comes from. */
  protected get scope(): string {
    return "";
  }

  acquire(envId: string, token?: string): () => void {
    const n = this.held(envId) + this.elsewhere(envId);
    if (n >= this.#max) {
      throw tooMany(`this environment already holds ${n} live subscriptions${this.scope}; the limit is ${this.#max} (RUNCAST_MAX_SUBSCRIPTIONS): stop subscriptions you no longer read, or raise the limit`);
    }
    const tokenSlot = token === undefined ? undefined : `${envId}\u0000${token}`;
    if (tokenSlot !== undefined) {
      const t = (this.#counts.get(tokenSlot) ?? 0) + this.elsewhere(tokenSlot);
      if (t >= this.#maxPerToken) {
        throw tooMany(`this public access token already holds ${t} live subscriptions${this.scope}; one token may hold at most ${this.#maxPerToken} (RUNCAST_MAX_SUBSCRIPTIONS_PER_TOKEN): stop subscriptions this page no longer reads, or give each page its own token`);
      }
      this.#counts.set(tokenSlot, (this.#counts.get(tokenSlot) ?? 0) + 1);
    }
    this.#counts.set(envId, (this.#counts.get(envId) ?? 0) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#decrement(envId);
      if (tokenSlot !== undefined) this.#decrement(tokenSlot);
    };
  }

  #decrement(name: string): void {
    const left = (this.#counts.get(name) ?? 0) - 1;
    if (left <= 0) this.#counts.delete(name);
    else this.#counts.set(name, left);
  }
}
