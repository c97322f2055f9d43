import { createHash } from "node:crypto";
import type pg from "pg";
import type { Migration } from "../db/migrate.ts";
import { withTransaction } from "../db/transaction.ts";
import { RuncastError, badRequest, notFound } from "../errors.ts";
import { randomToken } from "../random-token.ts";
import type { SecretBox } from "./server-key.ts";

/** Accepted unchanged by the official Trigger.dev SDK; the slug names the key's environment. */
export const SECRET_KEY_PATTERN = /^tr_(dev|stg|prod|preview)_[0-9a-zA-Z_]{8,}$/;
/** Environments a key can belong to (the slugs the official SDK's key format allows). */
export const ENVIRONMENT_SLUGS = ["dev", "stg", "prod", "preview"] as const;
export type EnvironmentSlug = (typeof ENVIRONMENT_SLUGS)[number];

export const envIdOf = (slug: string) => `env_${slug}`;
export const slugOf = (envId: string) => envId.replace(/^env_/, "");

/**
 * Why a key chosen by an operator (RUNCAST_SECRET_KEY) is too weak to sign public tokens with, or null. Tokens
 * handed to browsers are HMACs under the key, so a guessable key can be found offline: it must carry at least
 * 24 random-looking letters or digits after its prefix, like the keys Runcast makes.
 */
export function weakKeyProblem(secret: string): string | null {
  const m = /^tr_(?:dev|stg|prod|preview)_(?:sk_)?([0-9a-zA-Z]*)$/.exec(secret);
  if (!m) return "it must look like tr_dev_ (or tr_prod_, …) followed by letters or digits";
  const body = m[1] ?? "";
  if (body.length < 24) return `it must have at least 24 random letters or digits after the prefix (it has ${body.length})`;
  if (new Set(body).size < 12) return "its letters and digits do not look random (too few different characters)";
  return null;
}

export function generateSecretKey(slug: EnvironmentSlug = "dev"): string {
  return `tr_${slug}_${randomToken(24)}`;
}

/** How a key is found: its sha256 (keys are 24 random letters and digits, so no salt or stretching is needed). */
export const keyHash = (secret: string) => createHash("sha256").update(secret, "utf8").digest("hex");

/** `tr_dev_AbCd`: the environment and four characters, enough to tell keys apart in a list. */
export function keyPrefix(secret: string): string {
  const m = /^(tr_[a-z]+_)(.*)$/.exec(secret);
  return m ? `${m[1]}${(m[2] ?? "").slice(0, 4)}` : secret.slice(0, 4);
}

export interface KeyInfo {
  id: string;
  environment: string;
  name: string | null;
  prefix: string;
  createdAt: string;
  revokedAt: string | null;
}

interface KeyRow {
  id: string;
  env_id: string;
  name: string | null;
  prefix: string;
  created_at: Date;
  revoked_at: Date | null;
}

const keyInfo = (r: KeyRow): KeyInfo => ({
  id: r.id,
  environment: slugOf(r.env_id),
  name: r.name,
  prefix: r.prefix,
  createdAt: r.created_at.toISOString(),
  revokedAt: r.revoked_at?.toISOString() ?? null,
});

const KEY_COLUMNS = "id, env_id, name, prefix, created_at, revoked_at";

async function insertKey(db: pg.ClientBase | pg.Pool, box: SecretBox, envId: string, secret: string, name: string | null): Promise<KeyRow> {
  const id = `key_${randomToken(20).toLowerCase()}`;
  await db.query("INSERT INTO environments (id, slug) VALUES ($1, $2) ON CONFLICT DO NOTHING", [envId, slugOf(envId)]);
  const { rows } = await db.query<KeyRow>(
    `INSERT INTO secret_keys (id, env_id, name, prefix, key_hash, sealed) VALUES ($1, $2, $3, $4, $5, $6) RETURNING ${KEY_COLUMNS}`,
    [id, envId, name, keyPrefix(secret), keyHash(secret), box.seal(secret, id)],
  );
  return rows[0] as KeyRow;
}

/** Creates a key in an environment. The secret is returned here once; afterwards only its prefix is shown. */
export async function createKey(pool: pg.Pool, box: SecretBox, envId: string, name: string | null): Promise<{ key: KeyInfo; secretKey: string }> {
  const slug = slugOf(envId);
  if (!(ENVIRONMENT_SLUGS as readonly string[]).includes(slug)) throw badRequest("invalid_environment", `no environment ${JSON.stringify(slug)}`, "environment");
  const secretKey = generateSecretKey(slug as EnvironmentSlug);
  return { key: keyInfo(await insertKey(pool, box, envId, secretKey, name)), secretKey };
}

/** The environment's keys, newest first, revoked ones included (they stay, so they can never come back). */
export async function listKeys(pool: pg.Pool, envId: string): Promise<KeyInfo[]> {
  const { rows } = await pool.query<KeyRow>(`SELECT ${KEY_COLUMNS} FROM secret_keys WHERE env_id = $1 ORDER BY created_at DESC, id`, [envId]);
  return rows.map(keyInfo);
}

/** Revokes a key of the environment for good (idempotent). */
export async function revokeKey(pool: pg.Pool, envId: string, keyId: string): Promise<KeyInfo> {
  const { rows } = await pool.query<KeyRow>(
    `UPDATE secret_keys SET revoked_at = coalesce(revoked_at, now() AT TIME ZONE 'UTC') WHERE id = $1 AND env_id = $2 RETURNING ${KEY_COLUMNS}`,
    [keyId, envId],
  );
  const row = rows[0];
  if (!row) throw notFound("key_not_found", `no key with id ${JSON.stringify(keyId)} in this environment`);
  return keyInfo(row);
}

/** Refuses to start with a server key other than the one the database's keys are sealed with. */
export async function checkServerKey(pool: pg.Pool, box: SecretBox): Promise<void> {
  await pool.query("INSERT INTO settings (name, value) VALUES ('server_key_fingerprint', $1) ON CONFLICT (name) DO NOTHING", [box.fingerprint]);
  const { rows } = await pool.query<{ value: string }>("SELECT value FROM settings WHERE name = 'server_key_fingerprint'");
  if (rows[0]?.value !== box.fingerprint) {
    throw new Error(
      "this database's secret keys are sealed with another server key: give every node the same RUNCAST_SERVER_KEY " +
        "(the first node keeps a generated one in its data dir, file server-key)",
    );
  }
}

/** Name of the dev keys nodes make for themselves when no key is configured. */
const GENERATED_NAME = "generated";

export interface BootstrapResult {
  envId: string;
  secretKey: string;
  /** The configured key was revoked earlier: it stays revoked (requests with it get 401). */
  revoked: boolean;
  /** A new key was generated (no key configured and none active in the dev environment). */
  generated: boolean;
}

/**
 * The key a node starts with. A configured key (RUNCAST_SECRET_KEY) is registered in the environment its
 * prefix names, unless it was revoked: revocation is never undone. Without one, the key the data dir
 * remembers (`remembered`), or the dev key made by an earlier start, or a new one.
 */
export async function bootstrapKey(pool: pg.Pool, box: SecretBox, configured: string | undefined, remembered?: string): Promise<BootstrapResult> {
  if (configured !== undefined) {
    const m = SECRET_KEY_PATTERN.exec(configured);
    const weak = weakKeyProblem(configured);
    if (!m || weak) throw new Error(`RUNCAST_SECRET_KEY is refused: ${weak ?? "it does not look like a secret key"}`);
    const envId = envIdOf(m[1] as string);
    return withTransaction(pool, async (client) => {
      // Two nodes starting with one new key: the second waits here and finds the first one's row.
      await client.query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", [`runcast-key:${keyHash(configured)}`]);
      const { rows } = await client.query<{ env_id: string; revoked_at: Date | null }>("SELECT env_id, revoked_at FROM secret_keys WHERE key_hash = $1", [
        keyHash(configured),
      ]);
      const row = rows[0];
      if (row) return { envId: row.env_id, secretKey: configured, revoked: row.revoked_at !== null, generated: false };
      await insertKey(client, box, envId, configured, "RUNCAST_SECRET_KEY");
      return { envId, secretKey: configured, revoked: false, generated: false };
    });
  }
  const envId = envIdOf("dev");
  // The key this data dir saved last time, if it still works: a restart keeps the key people copied.
  if (remembered) {
    const { rows } = await pool.query("SELECT 1 FROM secret_keys WHERE key_hash = $1 AND env_id = $2 AND revoked_at IS NULL", [keyHash(remembered), envId]);
    if (rows.length) return { envId, secretKey: remembered, revoked: false, generated: false };
  }
  // Otherwise a key made this way before (never one made through the API: that one was shown once, to its owner).
  const { rows } = await pool.query<{ id: string; sealed: string }>(
    "SELECT id, sealed FROM secret_keys WHERE env_id = $1 AND name = $2 AND revoked_at IS NULL ORDER BY created_at DESC, id",
    [envId, GENERATED_NAME],
  );
  for (const r of rows) {
    const secret = box.open(r.sealed, r.id);
    if (secret) return { envId, secretKey: secret, revoked: false, generated: false };
  }
  const created = await createKey(pool, box, envId, GENERATED_NAME);
  return { envId, secretKey: created.secretKey, revoked: false, generated: true };
}

/** Migration 12: the keys of the old `api_keys` table (kept in clear) are sealed into `secret_keys`, then that table is dropped. */
export function sealOldKeys(box: SecretBox | undefined): Migration {
  return {
    id: 12,
    name: "0012_seal_old_keys (code)",
    async run(client) {
      const { rows } = await client.query<{ secret_key: string; env_id: string; created_at: Date; revoked_at: Date | null }>(
        "SELECT secret_key, env_id, created_at, revoked_at FROM api_keys ORDER BY created_at",
      );
      if (rows.length && !box) throw new Error("sealing the existing secret keys needs the server key");
      for (const r of rows) {
        if (!box || !SECRET_KEY_PATTERN.test(r.secret_key)) continue;
        const row = await insertKey(client, box, r.env_id, r.secret_key, "migrated");
        await client.query("UPDATE secret_keys SET created_at = $2, revoked_at = $3 WHERE id = $1", [row.id, r.created_at, r.revoked_at]);
      }
      // Dropping the table (not just the column) removes its files, dead row versions included.
      await client.query("DROP TABLE api_keys");
    },
  };
}

/** The environment and key a request's secret key stands for. */
export interface KeyLookup {
  envId: string;
  keyId: string;
}

/** A signing key of an environment (an active secret key), with its id. */
export interface SigningKey {
  id: string;
  secret: string;
}

/**
 * Looks secret keys up with a short cache, so auth costs no query on the hot path. A revocation seen on
 * any node reaches every node through the replication stream and clears the cache at once (`forget`); the
 * short lifetime of entries bounds staleness if that signal were missed.
 */
export class KeyStore {
  readonly #pool: pg.Pool;
  readonly #box: SecretBox;
  readonly #byHash = new Map<string, { found: KeyLookup | null; at: number }>();
  readonly #unknown = new Map<string, { found: KeyLookup | null; at: number }>();
  readonly #byEnv = new Map<string, { keys: SigningKey[]; at: number }>();
  readonly #inFlight = new Map<string, Promise<unknown>>();
  readonly #ttlMs: number;
  readonly #reloadedAt = new Map<string, number>();
  #generation = 0;

  constructor(pool: pg.Pool, box: SecretBox, ttlMs = 5_000) {
    this.#pool = pool;
    this.#box = box;
    this.#ttlMs = ttlMs;
  }

  get box(): SecretBox {
    return this.#box;
  }

  /** The environment and id of a secret key, or null when unknown or revoked. */
  async lookup(secret: string, now = Date.now()): Promise<KeyLookup | null> {
    const hash = keyHash(secret);
    const hit = this.#byHash.get(hash) ?? this.#unknown.get(hash);
    if (hit && now - hit.at < this.#ttlMs) return hit.found;
    return this.#once(`key:${hash}`, async (generation) => {
      const { rows } = await this.#pool.query<{ env_id: string; id: string }>(
        "SELECT env_id, id FROM secret_keys WHERE key_hash = $1 AND revoked_at IS NULL",
        [hash],
      );
      const row = rows[0];
      const found = row ? { envId: row.env_id, keyId: row.id } : null;
      if (generation === this.#generation) {
        // Unknown keys are remembered apart: a flood of made-up keys never pushes the real ones out.
        const cache = found ? this.#byHash : this.#unknown;
        if (cache.size > 10_000) cache.clear();
        cache.set(hash, { found, at: now });
      }
      return found;
    });
  }

  /**
   * The environment's active keys, newest first: public tokens are signed with the first and verified with any.
   * `fresh` reloads them (a token signed by a key created a moment ago, maybe on another node), at most once a
   * second per environment.
   */
  async signingKeys(envId: string, opts: { fresh?: boolean } = {}, now = Date.now()): Promise<SigningKey[]> {
    // A token naming no environment there can be costs no query.
    if (!(ENVIRONMENT_SLUGS as readonly string[]).includes(slugOf(envId)) || !envId.startsWith("env_")) return [];
    const hit = this.#byEnv.get(envId);
    let reload = !hit || now - hit.at >= this.#ttlMs;
    if (!reload && opts.fresh && now - (this.#reloadedAt.get(envId) ?? 0) >= 1_000) {
      reload = true;
      if (this.#reloadedAt.size > 10_000) this.#reloadedAt.clear();
      this.#reloadedAt.set(envId, now);
    }
    if (hit && !reload) return hit.keys;
    return this.#once(`env:${envId}`, async (generation) => {
      const { rows } = await this.#pool.query<{ id: string; sealed: string }>(
        "SELECT id, sealed FROM secret_keys WHERE env_id = $1 AND revoked_at IS NULL ORDER BY created_at DESC, id",
        [envId],
      );
      const keys: SigningKey[] = [];
      for (const r of rows) {
        const secret = this.#box.open(r.sealed, r.id);
        if (secret) keys.push({ id: r.id, secret });
      }
      if (generation === this.#generation) {
        if (this.#byEnv.size > 10_000) this.#byEnv.clear();
        this.#byEnv.set(envId, { keys, at: now });
      }
      return keys;
    });
  }

  /** The key public tokens of the environment are signed with; 503 when it has none left. */
  async signingKey(envId: string): Promise<SigningKey> {
    const key = (await this.signingKeys(envId))[0];
    if (!key) throw new RuncastError(503, "no_signing_key", "this environment has no active secret key to sign public tokens with: create one (POST /api/v1/keys) or start a node with RUNCAST_SECRET_KEY set to a key of this environment");
    return key;
  }

  /** Drops every cached answer (a key was revoked); lookups in flight do not store theirs. */
  forget(): void {
    this.#generation++;
    this.#byHash.clear();
    this.#unknown.clear();
    this.#byEnv.clear();
    this.#inFlight.clear();
  }

  /** Runs `load` unless a call with the same name is in flight, whose result is shared. */
  #once<T>(name: string, load: (generation: number) => Promise<T>): Promise<T> {
    const pending = this.#inFlight.get(name) as Promise<T> | undefined;
    if (pending) return pending;
    const p = load(this.#generation).finally(() => {
      if (this.#inFlight.get(name) === p) this.#inFlight.delete(name);
    });
    this.#inFlight.set(name, p);
    return p;
  }
}
