import { Hono } from "hono";
import type pg from "pg";
import { createKey, listKeys, revokeKey, type KeyStore } from "../auth/keys.ts";
import type { AuthEnv } from "../auth/middleware.ts";
import { requireSecret } from "../auth/principal.ts";
import type { Revocations } from "../auth/revocations.ts";
import { badRequest } from "../errors.ts";
import { readJson } from "./json-body.ts";

const MAX_NAME_LENGTH = 100;

function parseName(raw: unknown): string | null {
  if (raw === undefined || raw === null) return null;
  if (typeof raw !== "string" || raw.length === 0 || raw.length > MAX_NAME_LENGTH || /[\u0000-\u001f\u007f]/.test(raw)) {
    throw badRequest("invalid_name", `name must be a string of 1 to ${MAX_NAME_LENGTH} printable characters`, "name");
  }
  return raw;
}

/**
 * Key management, per environment: a secret key lists, creates and revokes the keys of its own environment
 * (never another's). A new key's secret is in the creation response only; lists show prefixes. Revocation
 * is for good and ends the requests made with the key, or with tokens it signed, on every node.
 */
export function keyRoutes(pool: pg.Pool, keys: KeyStore, revocations: Revocations): Hono<AuthEnv> {
  const app = new Hono<AuthEnv>();

  app.get("/api/v1/keys", async (c) => {
    const principal = c.get("principal");
    requireSecret(principal);
    return c.json({ data: await listKeys(pool, principal.envId) });
  });

  app.post("/api/v1/keys", async (c) => {
    const principal = c.get("principal");
    requireSecret(principal);
    const body = await readJson(c);
    const { key, secretKey } = await createKey(pool, keys.box, principal.envId, parseName(body.name));
    keys.forget();
    c.header("cache-control", "no-store");
    return c.json({ ...key, secretKey }, 201);
  });

  app.post("/api/v1/keys/:keyId/revoke", async (c) => {
    const principal = c.get("principal");
    requireSecret(principal);
    // This request may use the key it revokes: it is answered, not cut off. It stops being tracked before the
    // revocation commits, since the replication stream may bring the change back before this handler resumes.
    c.get("untrack")();
    const key = await revokeKey(pool, principal.envId, c.req.param("keyId"));
    revocations.revoked(key.id);
    return c.json(key);
  });

  return app;
}
