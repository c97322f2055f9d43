/**
 * Wake-ups for held dequeue requests, per environment. A generation counter closes the race between
 * "queried, found nothing" and "started waiting": a waiter that saw generation g returns at once
 * when a wake-up happened after g.
 */
export class Wakeups {
  readonly #generation = new Map<string, number>();
  readonly #waiters = new Map<string, Set<() => void>>();

  generation(key: string): number {
    return this.#generation.get(key) ?? 0;
  }

  wake(key: string): void {
    this.#generation.set(key, this.generation(key) + 1);
    const set = this.#waiters.get(key);
    if (!set) return;
    this.#waiters.delete(key);
    for (const resolve of set) resolve();
  }

  /** Resolves on the next wake-up after `seen`, on timeout, or on abort. */
  wait(key: string, seen: number, timeoutMs: number, signal?: AbortSignal): Promise<void> {
    if (this.generation(key) !== seen || signal?.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      let set = this.#waiters.get(key);
      if (!set) this.#waiters.set(key, (set = new Set()));
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", done);
        this.#waiters.get(key)?.delete(done);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      signal?.addEventListener("abort", done, { once: true });
      set.add(done);
    });
  }

  /** Releases every waiter (shutdown). */
  wakeAll(): void {
    for (const key of [...this.#waiters.keys()]) this.wake(key);
  }
}
