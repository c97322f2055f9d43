import { Hono, type Context } from "hono";
import type pg from "pg";
import type { SecretBox } from "../auth/server-key.ts";
import type { AuthEnv } from "../auth/middleware.ts";
import { authorize, requireSecret } from "../auth/principal.ts";
import { runResources } from "../auth/run-resources.ts";
import { getRun } from "../engine/runs.ts";
import { RuncastError, badRequest, notFound } from "../errors.ts";

/**
 * Packets: payloads of 128 KiB and more, which the official SDK uploads before triggering (trigger-wire §2.1,
 * §8.12). Runcast keeps them in PostgreSQL and hands out its own signed URLs (no blob store to run): the API
 * routes sign, `/packets/…` serves the signed URLs without credentials, as a store's presigned URLs do.
 */
export const STORE_TYPE = "application/store";
/** Signed URLs work this long. */
const URL_TTL_S = 3600;
/** Largest packet accepted. */
export const MAX_PACKET_BYTES = 32 * 1024 * 1024;
const PATH = /^[A-Za-z0-9._\-/]{1,500}$/;

function checkPath(path: string): string {
  if (!PATH.test(path) || path.split("/").some((p) => p === ".." || p === "")) {
    throw badRequest("invalid_packet_path", "a packet path is 1 to 500 letters, digits and . _ - /", "path");
  }
  return path;
}

const signedPart = (method: "GET" | "PUT", envId: string, path: string, expires: number) => `${method}\n${envId}\n${path}\n${expires}`;

/** A URL that lets its holder PUT or GET one packet of one environment for an hour. */
export function signedPacketUrl(box: SecretBox, origin: string, method: "GET" | "PUT", envId: string, path: string): string {
  const expires = Math.floor(Date.now() / 1000) + URL_TTL_S;
  const signature = box.sign(signedPart(method, envId, path, expires));
  return `${origin}/packets/${encodeURIComponent(envId)}/${path.split("/").map(encodeURIComponent).join("/")}?expires=${expires}&signature=${signature}`;
}

/** Where this server is reached from, as the caller reached it. */
export const originOf = (c: Context) => new URL(c.req.url).origin;

/** The packet a run's payload or output names (`application/store`), or null when it is inline. */
export function storedPath(value: unknown, type: unknown): string | null {
  return type === STORE_TYPE && typeof value === "string" ? value : null;
}

/** Routes under the API prefix (authenticated): sign URLs for uploads, and for reading a run's packets. */
export function packetRoutes(pool: pg.Pool, box: SecretBox): Hono<AuthEnv> {
  const app = new Hono<AuthEnv>();

  app.put("/api/v2/packets/:path{.+}", (c) => {
    const principal = c.get("principal");
    const path = checkPath(c.req.param("path"));
    return c.json({ presignedUrl: signedPacketUrl(box, originOf(c), "PUT", principal.envId, path), storagePath: path });
  });

  app.get("/api/v1/packets/:path{.+}", (c) => {
    const principal = c.get("principal");
    requireSecret(principal);
    const path = checkPath(c.req.param("path"));
    return c.json({ presignedUrl: signedPacketUrl(box, originOf(c), "GET", principal.envId, path) });
  });

  app.get("/api/v1/runs/:runId/packets/:field", async (c) => {
    const principal = c.get("principal");
    const field = c.req.param("field");
    if (field !== "payload" && field !== "output") throw notFound("packet_not_found", "a run's packets are its payload and its output");
    const run = await getRun(pool, principal.envId, c.req.param("runId"));
    authorize(principal, "read", runResources(run));
    const path = field === "payload" ? storedPath(run.payload, run.payload_type) : storedPath(run.output, run.output_type);
    if (!path) throw notFound("packet_not_found", `this run's ${field} is not a stored packet`);
    return c.json({ presignedUrl: signedPacketUrl(box, originOf(c), "GET", principal.envId, path) });
  });

  return app;
}

/** The signed URLs themselves: no credentials, only a valid signature that has not expired. */
export function packetStoreRoutes(pool: pg.Pool, box: SecretBox): Hono<AuthEnv> {
  const app = new Hono<AuthEnv>();

  const check = (c: Context, method: "GET" | "PUT") => {
    const envId = c.req.param("env") ?? "";
    const path = checkPath(c.req.param("path") ?? "");
    const expires = Number(c.req.query("expires"));
    const signature = c.req.query("signature") ?? "";
    if (!Number.isInteger(expires) || !box.verify(signedPart(method, envId, path, expires), signature)) {
      throw new RuncastError(403, "invalid_signature", "this packet URL is not one Runcast signed (or not for this method)");
    }
    if (expires < Date.now() / 1000) throw new RuncastError(403, "expired_signature", "this packet URL has expired");
    return { envId, path };
  };

  app.put("/packets/:env/:path{.+}", async (c) => {
    const { envId, path } = check(c, "PUT");
    const declared = Number(c.req.header("content-length") ?? "0");
    if (declared > MAX_PACKET_BYTES) throw new RuncastError(413, "payload_too_large", `a packet may hold at most ${MAX_PACKET_BYTES} bytes`);
    const data = Buffer.from(await c.req.arrayBuffer());
    if (data.length > MAX_PACKET_BYTES) throw new RuncastError(413, "payload_too_large", `a packet may hold at most ${MAX_PACKET_BYTES} bytes`);
    const type = (c.req.header("content-type") ?? "application/json").split(";")[0]?.trim() || "application/json";
    await pool.query(
      `INSERT INTO packets (env_id, path, data, data_type) VALUES ($1, $2, $3, $4)
       ON CONFLICT (env_id, path) DO UPDATE SET data = EXCLUDED.data, data_type = EXCLUDED.data_type`,
      [envId, path, data, type],
    );
    return c.body(null, 200);
  });

  app.get("/packets/:env/:path{.+}", async (c) => {
    const { envId, path } = check(c, "GET");
    const { rows } = await pool.query<{ data: Buffer | null; data_type: string | null }>("SELECT data, data_type FROM packets WHERE env_id = $1 AND path = $2", [
      envId,
      path,
    ]);
    const row = rows[0];
    if (!row?.data) throw notFound("packet_not_found", "no packet was uploaded to this URL");
    return new Response(new Uint8Array(row.data), { status: 200, headers: { "content-type": row.data_type ?? "application/json", "cache-control": "private, max-age=3600" } });
  });

  return app;
}
