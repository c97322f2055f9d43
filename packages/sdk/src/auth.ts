import { SignJWT } from "jose";
import { resolveConfig, type ClientConfig } from "./config.ts";
import { apiRequest } from "./http.ts";
import type { AnyTask, TaskIdentifier } from "./types.ts";

/** Issuer and audience of public access tokens (those of Trigger.dev's tokens, so both SDKs' tokens work). */
const ISSUER = "https://id.trigger.dev";
const AUDIENCE = "https://api.trigger.dev";

/** Ids a scope names: every one (`true`), one, or several. */
type ScopeIds = true | string | string[];

/** What a public token may do, per action and resource type (`{ read: { tags: ["user_1"] } }`). */
export interface PublicTokenScopes {
  read?: { runs?: ScopeIds; tasks?: ScopeIds; tags?: ScopeIds; batch?: ScopeIds };
  write?: { runs?: ScopeIds; tasks?: ScopeIds; batch?: ScopeIds };
  trigger?: { tasks?: ScopeIds };
  batchTrigger?: { tasks?: ScopeIds };
}

export interface PublicTokenOptions {
  scopes?: PublicTokenScopes;
  /** `"15m"`, `"1h"`, `"7d"` (at most 30 days), unix seconds, or a Date. Default 15 minutes. */
  expirationTime?: string | number | Date;
  /** Columns a realtime subscription with this token never receives (e.g. `["payload", "output"]`). */
  realtime?: { skipColumns?: string[] };
}

/** `{ read: { runs: ["a"], tags: true } }` → `["read:runs:a", "read:tags"]` (the scope grammar of trigger-wire §2.8). */
export function flattenScopes(scopes: PublicTokenScopes): string[] {
  const out: string[] = [];
  for (const [action, types] of Object.entries(scopes)) {
    for (const [type, ids] of Object.entries((types ?? {}) as Record<string, ScopeIds | undefined>)) {
      if (ids === undefined) continue;
      if (ids === true) out.push(`${action}:${type}`);
      else for (const id of Array.isArray(ids) ? ids : [ids]) out.push(`${action}:${type}:${id}`);
    }
  }
  return out;
}

let claimsCache: { key: string; claims: Promise<Record<string, unknown>> } | undefined;

/** The claims the server puts in tokens of this key's environment (`{ sub, pub: true }`), asked once per key. */
function environmentClaims(config?: ClientConfig): Promise<Record<string, unknown>> {
  const { token, baseURL } = resolveConfig(config);
  if (!token?.startsWith("tr_")) {
    return Promise.reject(new Error("minting public access tokens needs a secret key (configure({ secretKey }) or RUNCAST_SECRET_KEY)"));
  }
  const cacheKey = `${baseURL} ${token}`;
  if (claimsCache?.key !== cacheKey) {
    const claims = apiRequest<Record<string, unknown>>("/api/v1/auth/jwt/claims", { method: "POST", ...(config ? { config } : {}) }).then((r) => r.body);
    claims.catch(() => (claimsCache = undefined));
    claimsCache = { key: cacheKey, claims };
  }
  return claimsCache.claims;
}

async function mint(scopes: string[], opts: PublicTokenOptions & { oneTimeUse?: boolean }, defaultExpiry: string, config?: ClientConfig): Promise<string> {
  const claims = await environmentClaims(config);
  const { token } = resolveConfig(config);
  const expiry = opts.expirationTime ?? defaultExpiry;
  return new SignJWT({
    ...claims,
    pub: true,
    scopes,
    ...(opts.realtime ? { realtime: opts.realtime } : {}),
    ...(opts.oneTimeUse ? { otu: true } : {}),
  })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setIssuedAt()
    .setJti(globalThis.crypto.randomUUID())
    .setExpirationTime(expiry instanceof Date ? Math.floor(expiry.getTime() / 1000) : expiry)
    .sign(new TextEncoder().encode(token));
}

/** A token that (batch-)triggers some tasks: single use unless `multipleUse`. */
function taskToken(
  action: "trigger" | "batchTrigger",
  task: string | string[],
  options: Omit<PublicTokenOptions, "scopes"> & { multipleUse?: boolean },
  config?: ClientConfig,
): Promise<string> {
  const ids = Array.isArray(task) ? task : [task];
  return mint(ids.map((id) => `${action}:tasks:${id}`), { ...options, oneTimeUse: !options.multipleUse }, "15m", config);
}

/**
 * Public access tokens for browsers and other code that must not hold the secret key. Minted here, with the
 * secret key, like Trigger.dev's SDK does; the server checks them with the same key.
 */
export const auth = {
  /** A token that may do what `scopes` names (read runs, tags, batches, tasks…). Default lifetime 15 minutes. */
  createPublicToken(options: PublicTokenOptions = {}, config?: ClientConfig): Promise<string> {
    return mint(flattenScopes(options.scopes ?? {}), options, "15m", config);
  },

  /** A token that triggers `task` (one of them, or several ids), once unless `multipleUse`. Default lifetime 15 minutes. */
  createTriggerPublicToken<T extends AnyTask = AnyTask>(
    task: TaskIdentifier<T> | TaskIdentifier<T>[],
    options: Omit<PublicTokenOptions, "scopes"> & { multipleUse?: boolean } = {},
    config?: ClientConfig,
  ): Promise<string> {
    return taskToken("trigger", task, options, config);
  },

  /** A token that batch-triggers `task`, once unless `multipleUse`. */
  createBatchTriggerPublicToken<T extends AnyTask = AnyTask>(
    task: TaskIdentifier<T> | TaskIdentifier<T>[],
    options: Omit<PublicTokenOptions, "scopes"> & { multipleUse?: boolean } = {},
    config?: ClientConfig,
  ): Promise<string> {
    return taskToken("batchTrigger", task, options, config);
  },
};
