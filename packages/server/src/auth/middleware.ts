import type { HttpBindings } from "@hono/node-server";
import type { MiddlewareHandler } from "hono";
import { RuncastError } from "../errors.ts";
import type { KeyStore } from "./keys.ts";
import { TokenError, unverifiedSubject, verifyPublicToken } from "./jwt.ts";
import type { Principal } from "./principal.ts";
import type { Revocations } from "./revocations.ts";

/** Handlers read the principal; shape routes also write to the raw Node response (`c.env.outgoing`). */
export type AuthEnv = {
  /** `untrack` stops tracking the request under its key (a request revoking its own key is answered first). */
  Variables: { principal: Principal; untrack: () => void };
  Bindings: HttpBindings;
};

const unauthorized = (message: string) => new RuncastError(401, "unauthorized", message);

/**
 * Resolves `Authorization: Bearer <secret key | public JWT>` into a typed principal.
 * Handlers read `c.get("principal")` and never look at the header again. Every request is tracked
 * under the secret key behind it, so that revoking the key ends it (`Revocations`).
 */
export function authenticate(keys: KeyStore, revocations: Revocations): MiddlewareHandler<AuthEnv> {
  return async (c, next) => {
    const principal = await resolvePrincipal(keys, c.env.incoming.headers.authorization);
    c.set("principal", principal);
    const res = c.env.outgoing;
    const forget = revocations.track(principal.keyId, () => res.destroy());
    res.once("close", forget);
    c.set("untrack", forget);
    return next();
  };
}

async function resolvePrincipal(keys: KeyStore, header: string | undefined): Promise<Principal> {
  const match = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
  const token = match?.[1];
  if (!token) throw unauthorized("missing Authorization: Bearer <secret key or public access token> header");
  if (token.startsWith("tr_")) {
    const found = await keys.lookup(token);
    if (!found) throw unauthorized("invalid or revoked secret key: send a current secret key of this environment (GET /api/v1/keys lists them by prefix; a revoked key stays revoked)");
    return { kind: "secret", envId: found.envId, keyId: found.keyId, secretKey: token };
  }
  const envId = unverifiedSubject(token);
  if (!envId) throw unauthorized("the bearer token is neither a secret key (tr_dev_…, tr_prod_…) nor a public access token (a JWT from auth.createPublicToken or a trigger's publicAccessToken)");
  try {
    let v;
    try {
      v = await verifyPublicToken(token, await keys.signingKeys(envId));
    } catch (err) {
      // Maybe signed by a key newer than the cached ones: look once more (rate-limited by the store).
      if (!(err instanceof TokenError && err.reason === "invalid")) throw err;
      v = await verifyPublicToken(token, await keys.signingKeys(envId, { fresh: true }));
    }
    const principal: Principal = {
      kind: "public",
      envId,
      keyId: v.keyId,
      scopes: v.claims.scopes,
      tokenHash: v.tokenHash,
      oneTimeUse: v.claims.otu === true,
      expiresAt: v.expiresAt,
    };
    if (v.claims.realtime?.skipColumns) principal.skipColumns = v.claims.realtime.skipColumns;
    return principal;
  } catch (err) {
    if (err instanceof TokenError) throw unauthorized(err.message);
    throw err;
  }
}
