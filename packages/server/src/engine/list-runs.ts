import type pg from "pg";
import { badRequest } from "../errors.ts";
import type { RunRow } from "./runs.ts";
import type { RunStatus } from "./run-state.ts";
import { utcTimestamp } from "./sql.ts";

export const DEFAULT_PAGE_SIZE = 25;
export const MAX_PAGE_SIZE = 100;

/** A validated runs.list query. Empty lists mean "no filter". */
export interface RunListQuery {
  statuses: RunStatus[];
  taskIdentifiers: string[];
  /** Runs having ANY of these tags (Trigger.dev's `runTags && ARRAY[…]`). */
  tags: string[];
  batchId?: string;
  isTest?: boolean;
  /** Queue names (`task/<id>` for a task's own queue). */
  queues?: string[];
  /** A filter no run can match (e.g. a deployed version): the page is empty. */
  none?: boolean;
  /** Inclusive bounds on created_at. */
  from?: Date;
  to?: Date;
  size: number;
  /** The page after this position (older runs)… */
  after?: RunCursor;
  /** …or the page before it (newer runs). */
  before?: RunCursor;
}

/** Position after which the next page starts: the last row of the previous page. */
export interface RunCursor {
  createdAt: Date;
  id: string;
}

export interface RunListPage {
  runs: (RunRow & { env_name: string })[];
  /** Cursor of the older page (`page[after]`), when there is one. */
  next?: string;
  /** Cursor of the newer page (`page[before]`), when there may be one. */
  previous?: string;
}

/** Opaque to clients: base64url of `[created_at epoch ms, id]`. */
export function encodeCursor(c: RunCursor): string {
  return Buffer.from(JSON.stringify([c.createdAt.getTime(), c.id])).toString("base64url");
}

export function decodeCursor(text: string, field = "page[after]"): RunCursor {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(text, "base64url").toString("utf8"));
  } catch {
    value = undefined;
  }
  if (!Array.isArray(value) || value.length !== 2 || !Number.isSafeInteger(value[0]) || typeof value[1] !== "string") {
    throw badRequest("invalid_cursor", `${field} is not a cursor this server handed out`, field);
  }
  return { createdAt: new Date(value[0] as number), id: value[1] };
}

/**
 * One page of an environment's runs, newest first. Keyset pagination on (created_at DESC, id DESC)
 * (index runs_env_created), so runs created while a caller walks the pages never shift or repeat rows:
 * they land before the first page.
 */
export async function listRuns(pool: pg.Pool, envId: string, q: RunListQuery): Promise<RunListPage> {
  const params: unknown[] = [envId];
  const where = ["r.env_id = $1"];
  const param = (v: unknown) => {
    params.push(v);
    return `$${params.length}`;
  };
  if (q.statuses.length) where.push(`r.status = ANY (${param(q.statuses)}::text[])`);
  if (q.taskIdentifiers.length) where.push(`r.task_identifier = ANY (${param(q.taskIdentifiers)}::text[])`);
  if (q.tags.length) where.push(`r.tags && ${param(q.tags)}::text[]`);
  if (q.batchId) where.push(`r.batch_id = ${param(q.batchId)}`);
  if (q.isTest !== undefined) where.push(`r.is_test = ${param(q.isTest)}`);
  if (q.queues?.length) where.push(`r.queue = ANY (${param(q.queues)}::text[])`);
  if (q.none) where.push("false");
  if (q.from) where.push(`r.created_at >= ${param(utcTimestamp(q.from))}::timestamp`);
  if (q.to) where.push(`r.created_at <= ${param(utcTimestamp(q.to))}::timestamp`);
  if (q.after) where.push(`(r.created_at, r.id) < (${param(utcTimestamp(q.after.createdAt))}::timestamp, ${param(q.after.id)})`);
  if (q.before) where.push(`(r.created_at, r.id) > (${param(utcTimestamp(q.before.createdAt))}::timestamp, ${param(q.before.id)})`);
  // A page before a cursor is read upwards from it (the nearest newer runs), then put newest first.
  const order = q.before ? "ASC" : "DESC";
  const { rows } = await pool.query<RunRow & { env_name: string }>(
    `SELECT r.*, e.slug AS env_name FROM runs r JOIN environments e ON e.id = r.env_id
     WHERE ${where.join(" AND ")}
     ORDER BY r.created_at ${order}, r.id ${order}
     LIMIT ${param(q.size + 1)}`,
    params,
  );
  const more = rows.length > q.size;
  const runs = rows.slice(0, q.size);
  if (q.before) runs.reverse();
  const page: RunListPage = { runs };
  const first = runs[0];
  const last = runs.at(-1);
  const cursor = (r: RunRow) => encodeCursor({ createdAt: r.created_at as Date, id: r.id });
  if (q.before) {
    if (last) page.next = cursor(last);
    if (more && first) page.previous = cursor(first);
  } else {
    if (more && last) page.next = cursor(last);
    if (q.after && first) page.previous = cursor(first);
  }
  return page;
}
