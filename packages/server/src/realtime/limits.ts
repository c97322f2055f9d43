import { RuncastError } from "../errors.ts";

/**
 * Concurrent live requests (long-poll or SSE) per environment (RUNCAST_MAX_SUBSCRIPTIONS).
 * In-process; a Redis-backed twin with the same interface serves several nodes.
 */
export interface SubscriptionLimiter {
  /** Takes a slot or throws 429; the returned function gives it back (idempotent). */
  acquire(envId: string): () => void;
}

export class LocalSubscriptionLimiter implements SubscriptionLimiter {
  readonly #max: number;
  readonly #counts = new Map<string, number>();

  constructor(max: number) {
    this.#max = max;
  }

  held(envId: string): number {
    return this.#counts.get(envId) ?? 0;
  }

  acquire(envId: string): () => void {
    const n = this.held(envId);
    if (n >= this.#max) {
      throw new RuncastError(
        429,
        "too_many_subscriptions",
        `this environment already holds ${n} live subscriptions; the limit is ${this.#max} (RUNCAST_MAX_SUBSCRIPTIONS)`,
        { headers: { "retry-after": "1" } },
      );
    }
    this.#counts.set(envId, n + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = this.held(envId) - 1;
      if (left <= 0) this.#counts.delete(envId);
      else this.#counts.set(envId, left);
    };
  }
}
