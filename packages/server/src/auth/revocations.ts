import type { KeyStore } from "./keys.ts";

/**
 * The requests in progress per secret key (a secret key's own requests, and those of public tokens it
 * signed). When a key is revoked (on this node, or on another: the replication stream brings the change) its
 * requests end at once: held long-polls, SSE streams and worker dequeues included.
 */
export class Revocations {
  readonly #keys: KeyStore;
  readonly #open = new Map<string, Set<() => void>>();

  constructor(keys: KeyStore) {
    this.#keys = keys;
  }

  /** Records a request made with `keyId`; `end` cuts it off. Returns the function that forgets it. */
  track(keyId: string, end: () => void): () => void {
    let set = this.#open.get(keyId);
    if (!set) this.#open.set(keyId, (set = new Set()));
    set.add(end);
    return () => {
      set.delete(end);
      if (!set.size && this.#open.get(keyId) === set) this.#open.delete(keyId);
    };
  }

  /** Requests in progress with this key. */
  open(keyId: string): number {
    return this.#open.get(keyId)?.size ?? 0;
  }

  /** A key was revoked: cached lookups go, and every request made with it ends. Returns how many ended. */
  revoked(keyId: string): number {
    this.#keys.forget();
    const set = this.#open.get(keyId);
    if (!set) return 0;
    this.#open.delete(keyId);
    for (const end of set) end();
    return set.size;
  }
}
