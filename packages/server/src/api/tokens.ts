import type { Context } from "hono";
import { signPublicToken } from "../auth/jwt.ts";
import type { KeyStore } from "../auth/keys.ts";
import type { AuthEnv } from "../auth/middleware.ts";
import type { Principal } from "../auth/principal.ts";
import { scopesAllow, type Resource } from "../auth/scopes.ts";
import type { TriggerToken } from "../engine/trigger.ts";
import { RuncastError } from "../errors.ts";

/** Public access tokens handed out with trigger and batch responses live this long. */
export const ISSUED_TOKEN_TTL = "1h";

/** What the engine needs to know about a public token that triggers (nothing for a secret key). */
export function triggerToken(principal: Principal): { token?: TriggerToken } {
  if (principal.kind !== "public") return {};
  return { token: { hash: principal.tokenHash, oneTimeUse: principal.oneTimeUse, expiresAt: principal.expiresAt } };
}

/**
 * Signs a read token for what the caller just triggered and sets the x-trigger-jwt headers (trigger-wire
 * §2.1, §2.2). It is signed with the key behind the request (a secret key, or the key that signed the caller's
 * public token), so revoking that key ends both.
 */
export async function issueToken(c: Context<AuthEnv>, keys: KeyStore, principal: Principal, scopes: string[]): Promise<string> {
  let secret: string;
  if (principal.kind === "secret") secret = principal.secretKey;
  else {
    const own = (await keys.signingKeys(principal.envId)).find((k) => k.id === principal.keyId);
    secret = (own ?? (await keys.signingKey(principal.envId))).secret;
  }
  const token = await signPublicToken(secret, { sub: principal.envId, scopes }, ISSUED_TOKEN_TTL);
  c.header("x-trigger-jwt", token);
  c.header("x-trigger-jwt-claims", JSON.stringify({ sub: principal.envId, pub: true, scopes }));
  return token;
}

/**
 * An idempotency key that finds an existing run or batch: a public token gets it (and a read token for it)
 * only when the same token made it or its own scopes read it. Otherwise knowing a key would widen a
 * trigger-only token into a reader of someone else's run.
 */
export function refuseForeignCached(principal: Principal, madeBy: string | null | undefined, resources: readonly Resource[]): void {
  if (principal.kind !== "public") return;
  if (madeBy === principal.tokenHash || scopesAllow(principal.scopes, "read", resources)) return;
  throw new RuncastError(
    403,
    "idempotency_key_taken",
    "this idempotency key belongs to a run triggered with another credential, which this public access token may not read",
    { field: "options.idempotencyKey" },
  );
}
