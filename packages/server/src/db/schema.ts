/**
 * Runcast's own tables live in this schema, apart from user tables: `/v1/shape` never serves or alters
 * anything in it, and Runcast's connections find its tables through `search_path` (db/pool.ts).
 */
export const RUNCAST_SCHEMA = "runcast_internal";
