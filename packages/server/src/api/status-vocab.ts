import { V2_STATUS, type RunStatus } from "@runcast/sdk";
import type { Context } from "hono";

/** The API version the official SDK sends (trigger-wire §3.1): with it, responses speak its 13 statuses. */
export const CURRENT_API_VERSION = "2025-07-16";

/** Which status vocabulary a caller reads: the official SDK's (v2), or the seed docs' 14 (`@runcast/sdk`, plain HTTP). */
export type StatusVocabulary = "v2" | "runcast";

export function vocabularyOf(c: Context): StatusVocabulary {
  return c.req.header("x-trigger-api-version") === CURRENT_API_VERSION ? "v2" : "runcast";
}

/** A run's status as the caller's vocabulary names it. */
export function statusIn(vocabulary: StatusVocabulary, status: RunStatus): string {
  return vocabulary === "v2" ? V2_STATUS[status] : status;
}
