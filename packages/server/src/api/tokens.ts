import type { Context } from "hono";
import { signPublicToken } from "../auth/jwt.ts";
import type { KeyStore } from "../auth/keys.ts";
import type { AuthEnv } from "../auth/middleware.ts";
import type { Principal } from "../auth/principal.ts";
import { runResources } from "../auth/run-resources.ts";
import { scopesAllow } from "../auth/scopes.ts";
import type { TriggerToken } from "../engine/trigger.ts";

/** Public access tokens handed out with trigger and batch responses live this long. */
export const ISSUED_TOKEN_TTL = "1h";

/** What the engine needs to know about a public token that triggers (nothing for a secret key). */
export function triggerToken(principal: Principal): { token?: TriggerToken } {
  if (principal.kind !== "public") return {};
  const scopes = principal.scopes;
  return {
    token: {
      hash: principal.tokenHash,
      oneTimeUse: principal.oneTimeUse,
      expiresAt: principal.expiresAt,
      mayRead: (t) => scopesAllow(scopes, "read", t.kind === "run" ? runResources(t) : [{ type: "batch", id: t.id }]),
    },
  };
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
