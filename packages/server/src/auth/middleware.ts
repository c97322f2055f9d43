import type { HttpBindings } from "@hono/node-server";
import type { MiddlewareHandler } from "hono";
import { RuncastError } from "../errors.ts";
import type { KeyStore } from "./keys.ts";
import { TokenError, unverifiedSubject, verifyPublicToken } from "./jwt.ts";
import type { Principal } from "./principal.ts";

/** Handlers read the principal; shape routes also write to the raw Node response (`c.env.outgoing`). */
export type AuthEnv = { Variables: { principal: Principal }; Bindings: HttpBindings };

const unauthorized = (message: string) => new RuncastError(401, "unauthorized", message);

/**
 * Resolves `Authorization: Bearer <secret key | public JWT>` into a typed principal.
 * Handlers read `c.get("principal")` and never look at the header again.
 */
export function authenticate(keys: KeyStore): MiddlewareHandler<AuthEnv> {
  return async (c, next) => {
    const header = c.env.incoming.headers.authorization;
    const match = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
    const token = match?.[1];
    if (!token) throw unauthorized("missing Authorization: Bearer <secret key or public access token> header");
    if (token.startsWith("tr_")) {
      const envId = await keys.envForKey(token);
      if (!envId) throw unauthorized("invalid or revoked secret key");
      c.set("principal", { kind: "secret", envId, secretKey: token });
      return next();
    }
    const envId = unverifiedSubject(token);
    if (!envId) throw unauthorized("the bearer token is neither a secret key nor a public access token");
    try {
      const claims = await verifyPublicToken(token, await keys.keysForEnv(envId));
      const principal: Principal = { kind: "public", envId, scopes: claims.scopes };
      if (claims.realtime?.skipColumns) principal.skipColumns = claims.realtime.skipColumns;
      c.set("principal", principal);
    } catch (err) {
      if (err instanceof TokenError) throw unauthorized(err.message);
      throw err;
    }
    return next();
  };
}
