/**
 * Many deadlines on one timer: thousands of held long-polls cost one interval, not one timer each (a
 * Timeout object per request, and timer-list work on every answer). Entries fire within `tickMs` after
 * their time.
 */
export class Deadlines {
  readonly #tickMs: number;
  readonly #buckets = new Map<number, Set<() => void>>();
  #timer: NodeJS.Timeout | undefined;

  constructor(tickMs = 100) {
    this.#tickMs = tickMs;
  }

  /** Runs `fn` at about `at` (ms since the epoch) unless cancelled with the returned function. */
  add(at: number, fn: () => void): () => void {
    const slot = Math.ceil(at / this.#tickMs);
    let bucket = this.#buckets.get(slot);
    if (!bucket) this.#buckets.set(slot, (bucket = new Set()));
    bucket.add(fn);
    this.#timer ??= setInterval(() => this.#fire(), this.#tickMs).unref();
    const b = bucket;
    return () => {
      b.delete(fn);
    };
  }

  #fire(): void {
    const now = Math.floor(Date.now() / this.#tickMs);
    for (const [slot, bucket] of this.#buckets) {
      if (slot > now) continue;
      this.#buckets.delete(slot);
      for (const fn of bucket) fn();
    }
    if (this.#buckets.size === 0 && this.#timer) {
      clearInterval(this.#timer);
      this.#timer = undefined;
    }
  }
}

/** The process's held long-polls. */
export const longPollDeadlines = new Deadlines();
