import { Hono } from "hono";
import type { AuthEnv } from "../auth/middleware.ts";
import { requireSecret } from "../auth/principal.ts";
import type { Engine } from "../engine/engine.ts";
import { getMetadata, updateMetadata } from "../engine/metadata.ts";
import { parseMetadataUpdate } from "../engine/metadata-ops.ts";
import { addTags, parseTagsBody } from "../engine/tags.ts";
import { readJson } from "./json-body.ts";

/**
 * Run metadata and tags (specs/trigger-wire.md §2.6, §2.7). Secret keys only: public access tokens
 * read metadata and tags through the realtime feeds, and never write them.
 */
export function metadataRoutes(engine: Engine): Hono<AuthEnv> {
  const app = new Hono<AuthEnv>();

  app.put("/api/v1/runs/:runId/metadata", async (c) => {
    const principal = c.get("principal");
    requireSecret(principal);
    const update = parseMetadataUpdate(await readJson(c));
    const metadata = await updateMetadata(engine.pool, principal.envId, c.req.param("runId"), update);
    return c.json({ metadata });
  });

  app.get("/api/v1/runs/:runId/metadata", async (c) => {
    const principal = c.get("principal");
    requireSecret(principal);
    return c.json({ metadata: await getMetadata(engine.pool, principal.envId, c.req.param("runId")) });
  });

  app.post("/api/v1/runs/:runId/tags", async (c) => {
    const principal = c.get("principal");
    requireSecret(principal);
    const body = await readJson(c);
    const tags = parseTagsBody(body.tags);
    const attemptId = typeof body.attemptId === "string" ? body.attemptId : undefined;
    const added = await addTags(engine.pool, principal.envId, c.req.param("runId"), tags, attemptId);
    return c.json({ message: added ? `Successfully set ${added} new tags.` : "No new tags to add" });
  });

  return app;
}
