import type { RealtimeRun, RunSubscription, SubscribeOptions } from "@runcast/sdk";

/** What a feed has seen so far: runs by id, in the order they first appeared, and how it ended. */
export interface FeedSnapshot {
  readonly runs: ReadonlyMap<string, RealtimeRun>;
  /** The newest state of the feed's one run (single-run feeds). */
  readonly last: RealtimeRun | undefined;
  readonly error: Error | undefined;
  /** The subscription ended (the run finished, an error, or stopped): nothing is being fetched. */
  readonly done: boolean;
}

export const EMPTY: FeedSnapshot = Object.freeze({ runs: new Map(), last: undefined, error: undefined, done: false });

type Open = (hooks: Pick<SubscribeOptions, "onRemove" | "onReset">) => RunSubscription;

/**
 * One live subscription shared by every component that watches the same thing (same URL, same credentials):
 * several components on one run hold one connection. It starts with its first watcher and stops when the last
 * one leaves, a moment later, so that React StrictMode's unmount-and-remount reuses it instead of reconnecting.
 */
export class Feed {
  readonly #open: Open;
  readonly #listeners = new Set<() => void>();
  #snapshot: FeedSnapshot = EMPTY;
  #subscription: RunSubscription | undefined;
  #stopTimer: ReturnType<typeof setTimeout> | undefined;
  #onIdle: () => void;

  constructor(open: Open, onIdle: () => void) {
    this.#open = open;
    this.#onIdle = onIdle;
  }

  get snapshot(): FeedSnapshot {
    return this.#snapshot;
  }

  /** Adds a watcher; returns the function that removes it. */
  watch(listener: () => void): () => void {
    this.#listeners.add(listener);
    if (this.#stopTimer) {
      clearTimeout(this.#stopTimer);
      this.#stopTimer = undefined;
    }
    if (!this.#subscription && !this.#snapshot.done) this.#start();
    return () => {
      this.#listeners.delete(listener);
      if (this.#listeners.size === 0 && !this.#stopTimer) this.#stopTimer = setTimeout(() => this.stop(), 100);
    };
  }

  /** Ends the subscription for every watcher (their `stop()`), and forgets the feed once nobody watches. */
  stop(): void {
    if (this.#stopTimer) clearTimeout(this.#stopTimer);
    this.#stopTimer = undefined;
    this.#subscription?.unsubscribe();
    this.#subscription = undefined;
    if (!this.#snapshot.done) this.#set({ ...this.#snapshot, done: true });
    if (this.#listeners.size === 0) this.#onIdle();
  }

  #set(next: FeedSnapshot): void {
    this.#snapshot = next;
    for (const l of [...this.#listeners]) l();
  }

  #start(): void {
    const sub = this.#open({
      onRemove: (id) => {
        if (!this.#snapshot.runs.has(id)) return;
        const runs = new Map(this.#snapshot.runs);
        runs.delete(id);
        this.#set({ ...this.#snapshot, runs });
      },
      onReset: () => this.#set({ ...this.#snapshot, runs: new Map() }),
    });
    this.#subscription = sub;
    void (async () => {
      try {
        for await (const run of sub) {
          const runs = new Map(this.#snapshot.runs);
          runs.set(run.id, run as RealtimeRun);
          this.#set({ ...this.#snapshot, runs, last: run as RealtimeRun });
        }
        if (this.#subscription === sub) this.#set({ ...this.#snapshot, done: true });
      } catch (err) {
        if (this.#subscription === sub) this.#set({ ...this.#snapshot, error: err instanceof Error ? err : new Error(String(err)), done: true });
      } finally {
        if (this.#subscription === sub) this.#subscription = undefined;
      }
    })();
  }
}

const feeds = new Map<string, Feed>();

/** The shared feed for `key`, opened with `open` the first time it is watched. */
export function feedFor(key: string, open: Open): Feed {
  let feed = feeds.get(key);
  if (!feed) {
    const created: Feed = new Feed(open, () => {
      if (feeds.get(key) === created) feeds.delete(key);
    });
    feed = created;
    feeds.set(key, feed);
  }
  return feed;
}

/** The feed for `key` if a component watches it (or did a moment ago). */
export function existingFeed(key: string): Feed | undefined {
  return feeds.get(key);
}

/** How many feeds are open (for tests: no subscription leaks). */
export function openFeeds(): number {
  return feeds.size;
}
