import type pg from "pg";
import { withTransaction } from "../db/transaction.ts";
import { RuncastError, badRequest, notFound } from "../errors.ts";
import { checkAttempt } from "./metadata.ts";
import { NOW } from "./sql.ts";
import { MAX_TAGS, validateTags } from "./trigger-options.ts";

/**
 * The tags of a `POST /api/v1/runs/:id/tags` body (`"t"` or `["t1","t2"]`), deduplicated in order.
 * Each tag is 1..128 characters (validateTags); the total count is checked against the run's tags.
 */
export function parseTagsBody(raw: unknown): string[] {
  if (raw === undefined || raw === null) throw badRequest("invalid_tags", "tags is required: a string or an array of strings", "tags");
  const list = typeof raw === "string" ? [raw] : raw;
  if (!Array.isArray(list)) throw badRequest("invalid_tags", "tags must be a string or an array of strings", "tags");
  // One tag at a time, so the error names its index; the count limit is checked later, as a 422.
  list.forEach((t, i) => validateTags([t], `tags[${i}]`));
  return [...new Set(list as string[])];
}

/**
 * Adds tags to a run (existing ones are skipped; order kept) under a row lock. More than MAX_TAGS in
 * total is a 422 `too_many_tags`. Returns how many were new; a change bumps updated_at.
 */
export async function addTags(pool: pg.Pool, envId: string, runId: string, tags: readonly string[], attemptId?: string): Promise<number> {
  return withTransaction(pool, async (client) => {
    const { rows } = await client.query<{ tags: string[] }>("SELECT tags FROM runs WHERE id = $1 AND env_id = $2 FOR UPDATE", [runId, envId]);
    const row = rows[0];
    if (!row) throw notFound("run_not_found", `no run with id ${JSON.stringify(runId)} in this environment: check the id, and that the key or token is of the run's environment (dev and prod are separate)`);
    // Written from inside the run: fenced by its attempt, like metadata.
    if (attemptId !== undefined) await checkAttempt(client, runId, attemptId);
    const existing = new Set(row.tags);
    const fresh = tags.filter((t) => !existing.has(t));
    if (!fresh.length) return 0;
    const total = existing.size + fresh.length;
    if (total > MAX_TAGS) {
      throw new RuncastError(
        422,
        "too_many_tags",
        `run ${runId} has ${existing.size} tags; adding ${fresh.length} more would make ${total}, and a run can have at most ${MAX_TAGS}`,
        { field: "tags" },
      );
    }
    await client.query(`UPDATE runs SET tags = tags || $2::text[], updated_at = ${NOW} WHERE id = $1`, [runId, fresh]);
    return fresh.length;
  });
}
