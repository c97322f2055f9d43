import type pg from "pg";
import { randomToken } from "../random-token.ts";
/** Accepted unchanged by the official Trigger.dev SDK. */
export const SECRET_KEY_PATTERN = /^tr_(dev|stg|prod|preview)_[0-9a-zA-Z_]{8,}$/;

export function generateSecretKey(): string {
  return `tr_dev_${randomToken(24)}`;
}

export interface Environment {
  id: string;
  slug: string;
}

/**
 * Makes sure the dev environment exists and that `secretKey` (when given) is one of its keys.
 * Returns the environment and a key to print: the given one, or the newest active one, or a new one.
 */
export async function ensureDevEnvironment(pool: pg.Pool, secretKey?: string): Promise<{ env: Environment; secretKey: string }> {
  const env: Environment = { id: "env_dev", slug: "dev" };
  await pool.query("INSERT INTO environments (id, slug) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING", [env.id, env.slug]);
  if (secretKey) {
    if (!SECRET_KEY_PATTERN.test(secretKey)) {
      throw new Error("RUNCAST_SECRET_KEY must look like tr_dev_ followed by letters or digits");
    }
    await pool.query(
      "INSERT INTO api_keys (secret_key, env_id) VALUES ($1, $2) ON CONFLICT (secret_key) DO UPDATE SET revoked_at = NULL",
      [secretKey, env.id],
    );
    return { env, secretKey };
  }
  const existing = await pool.query<{ secret_key: string }>(
    "SELECT secret_key FROM api_keys WHERE env_id = $1 AND revoked_at IS NULL ORDER BY created_at DESC LIMIT 1",
    [env.id],
  );
  const found = existing.rows[0]?.secret_key;
  if (found) return { env, secretKey: found };
  const created = generateSecretKey();
  await pool.query("INSERT INTO api_keys (secret_key, env_id) VALUES ($1, $2)", [created, env.id]);
  return { env, secretKey: created };
}

interface CachedKey {
  envId: string | null;
  at: number;
}

/** Looks secret keys up with a short cache, so auth costs no query on the hot path. */
export class KeyStore {
  readonly #pool: pg.Pool;
  readonly #cache = new Map<string, CachedKey>();
  readonly #envKeys = new Map<string, { keys: string[]; at: number }>();
  readonly #inFlight = new Map<string, Promise<unknown>>();
  readonly #ttlMs: number;

  constructor(pool: pg.Pool, ttlMs = 5_000) {
    this.#pool = pool;
    this.#ttlMs = ttlMs;
  }

  /** The environment a key belongs to, or null when unknown or revoked. */
  async envForKey(key: string, now = Date.now()): Promise<string | null> {
    const hit = this.#cache.get(key);
    if (hit && now - hit.at < this.#ttlMs) return hit.envId;
    // A burst of requests after the entry expired shares one query.
    return this.#once(`key:${key}`, async () => {
      const { rows } = await this.#pool.query<{ env_id: string }>(
        "SELECT env_id FROM api_keys WHERE secret_key = $1 AND revoked_at IS NULL",
        [key],
      );
      const envId = rows[0]?.env_id ?? null;
      if (this.#cache.size > 10_000) this.#cache.clear();
      this.#cache.set(key, { envId, at: now });
      return envId;
    });
  }

  /** Runs `load` unless a call with the same name is in flight, whose result is shared. */
  #once<T>(name: string, load: () => Promise<T>): Promise<T> {
    const pending = this.#inFlight.get(name) as Promise<T> | undefined;
    if (pending) return pending;
    const p = load().finally(() => this.#inFlight.delete(name));
    this.#inFlight.set(name, p);
    return p;
  }

  /** The signing key of an environment (its newest active secret key). */
  async keysForEnv(envId: string, now = Date.now()): Promise<string[]> {
    // Cached like envForKey: a held realtime request with a public token costs no query.
    const hit = this.#envKeys.get(envId);
    if (hit && now - hit.at < this.#ttlMs) return hit.keys;
    return this.#once(`env:${envId}`, async () => {
      const { rows } = await this.#pool.query<{ secret_key: string }>(
        "SELECT secret_key FROM api_keys WHERE env_id = $1 AND revoked_at IS NULL ORDER BY created_at DESC",
        [envId],
      );
      const keys = rows.map((r) => r.secret_key);
      if (this.#envKeys.size > 10_000) this.#envKeys.clear();
      this.#envKeys.set(envId, { keys, at: now });
      return keys;
    });
  }
}
