import { Hono } from "hono";
import { MAX_TOKEN_LIFETIME_S, signPublicToken } from "../auth/jwt.ts";
import type { AuthEnv } from "../auth/middleware.ts";
import { requireSecret } from "../auth/principal.ts";
import { parseDuration } from "../engine/duration.ts";
import { badRequest } from "../errors.ts";
import { readJson } from "./json-body.ts";

const SCOPE = /^(read|write|trigger|batchTrigger):[A-Za-z]+(:.+)?$|^admin$/;

/** An expiry as the official SDK sends it: a duration ("1h") or unix seconds; at most MAX_TOKEN_LIFETIME_S ahead. */
function parseExpiry(raw: unknown, nowS: number): number {
  if (raw === undefined || raw === null) return nowS + 15 * 60;
  let at: number | undefined;
  if (typeof raw === "number" && Number.isFinite(raw)) at = Math.floor(raw);
  else if (typeof raw === "string") {
    const ms = parseDuration(raw);
    if (ms !== null) at = nowS + Math.ceil(ms / 1000);
  }
  if (at === undefined || !Number.isFinite(at)) throw badRequest("invalid_expiration", 'expirationTime must be a duration such as "15m" or "1h", or unix seconds', "expirationTime");
  if (at <= nowS) throw badRequest("invalid_expiration", "expirationTime is in the past", "expirationTime");
  if (at > nowS + MAX_TOKEN_LIFETIME_S) throw badRequest("invalid_expiration", `a public token may live at most ${MAX_TOKEN_LIFETIME_S / 86_400} days`, "expirationTime");
  return at;
}

/**
 * Public token minting (trigger-wire §2.8). The SDKs mint tokens locally with the secret key and only ask for
 * the environment's claims; `public-tokens` mints on the server for callers that prefer it. Secret keys only.
 */
export function authRoutes(): Hono<AuthEnv> {
  const app = new Hono<AuthEnv>();

  app.post("/api/v1/auth/jwt/claims", (c) => {
    const principal = c.get("principal");
    requireSecret(principal);
    return c.json({ sub: principal.envId, pub: true });
  });

  app.post("/api/v1/auth/public-tokens", async (c) => {
    const principal = c.get("principal");
    requireSecret(principal);
    const body = await readJson(c);
    const scopes = body.scopes;
    if (!Array.isArray(scopes) || scopes.length === 0 || !scopes.every((s): s is string => typeof s === "string" && s.length <= 300 && SCOPE.test(s))) {
      throw badRequest("invalid_scopes", "scopes must be a non-empty array of scopes such as read:runs:run_123 or trigger:tasks:my-task", "scopes");
    }
    const nowS = Math.floor(Date.now() / 1000);
    const exp = parseExpiry(body.expirationTime, nowS);
    const realtime = body.realtime;
    let skipColumns: string[] | undefined;
    if (realtime !== undefined && realtime !== null) {
      const skip = (realtime as { skipColumns?: unknown }).skipColumns;
      if (typeof realtime !== "object" || (skip !== undefined && (!Array.isArray(skip) || !skip.every((s) => typeof s === "string")))) {
        throw badRequest("invalid_realtime", "realtime must be { skipColumns?: string[] }", "realtime");
      }
      skipColumns = skip as string[] | undefined;
    }
    const token = await signPublicToken(
      principal.secretKey,
      { sub: principal.envId, scopes, ...(body.oneTimeUse === true ? { otu: true } : {}), ...(skipColumns ? { realtime: { skipColumns } } : {}) },
      exp,
    );
    c.header("cache-control", "no-store");
    return c.json({ token });
  });

  return app;
}
