import type { ClientConfig } from "./config.ts";
import { apiRequest } from "./http.ts";
import type { RetrievedRun, RunHandle, RunStatus } from "./types.ts";

export interface ListRunsQuery {
  status?: RunStatus | RunStatus[];
  taskIdentifier?: string | string[];
  /** Runs having any of these tags (as Trigger.dev's runs.list). */
  tag?: string | string[];
  /** Runs of this batch only. */
  batch?: string;
  /** Created at or after this time. */
  from?: Date | number;
  /** Created at or before this time. */
  to?: Date | number;
  /** Created within this long before now: "1h", "7d". */
  period?: string;
  /** Runs per page, 1 to 100 (default 25). */
  limit?: number;
  /** `pagination.next` of the previous page. */
  cursor?: string;
}

/** A run as runs.list returns it (the retrieve shape) plus its environment. */
export type RunListItem = RetrievedRun & { env: { id: string; name: string } };

export interface RunListPage {
  /** Newest first. */
  data: RunListItem[];
  pagination: { next?: string };
}

/**
 * A page of runs that can also be iterated with `for await` over every following page:
 * `const { data } = await runs.list(q)` or `for await (const run of runs.list(q))`.
 */
export type RunListResult = Promise<RunListPage> & AsyncIterable<RunListItem>;

const DATE_FIELDS = ["createdAt", "updatedAt", "queuedAt", "startedAt", "finishedAt", "delayedUntil", "expiredAt"] as const;

function reviveRun(body: Record<string, unknown>): RunListItem {
  const run: Record<string, unknown> = { ...body };
  for (const k of DATE_FIELDS) run[k] = typeof body[k] === "string" ? new Date(body[k] as string) : undefined;
  return run as unknown as RunListItem;
}

function toList(v: string | string[] | undefined): string | undefined {
  if (v === undefined) return undefined;
  const list = (Array.isArray(v) ? v : [v]).filter((s) => s.length > 0);
  return list.length ? list.join(",") : undefined;
}

const epochMs = (v: Date | number) => String(v instanceof Date ? v.getTime() : v);

/** The `GET /api/v1/runs` query string (trigger-wire.md §2.5 parameter names). */
export function listRunsSearch(q: ListRunsQuery): string {
  const p = new URLSearchParams();
  const set = (k: string, v: string | undefined) => {
    if (v !== undefined) p.set(k, v);
  };
  set("filter[status]", toList(q.status));
  set("filter[taskIdentifier]", toList(q.taskIdentifier));
  set("filter[tag]", toList(q.tag));
  set("filter[batch]", q.batch);
  set("filter[createdAt][from]", q.from === undefined ? undefined : epochMs(q.from));
  set("filter[createdAt][to]", q.to === undefined ? undefined : epochMs(q.to));
  set("filter[createdAt][period]", q.period);
  set("page[size]", q.limit === undefined ? undefined : String(q.limit));
  set("page[after]", q.cursor);
  const s = p.toString();
  return s ? `?${s}` : "";
}

async function fetchPage(q: ListRunsQuery, config?: ClientConfig): Promise<RunListPage> {
  const { body } = await apiRequest<{ data: Record<string, unknown>[]; pagination: { next?: string } }>(
    `/api/v1/runs${listRunsSearch(q)}`,
    config ? { config } : {},
  );
  return { data: body.data.map(reviveRun), pagination: body.pagination.next ? { next: body.pagination.next } : {} };
}

/**
 * runs.list: one page, newest first; iterate it to walk every page. The first request starts at once;
 * iterating awaits that same request, so it is never sent twice.
 */
export function listRuns(query: ListRunsQuery = {}, config?: ClientConfig): RunListResult {
  const first = fetchPage(query, config);
  async function* all(): AsyncGenerator<RunListItem> {
    let page = await first;
    for (;;) {
      yield* page.data;
      if (!page.pagination.next) return;
      page = await fetchPage({ ...query, cursor: page.pagination.next }, config);
    }
  }
  return Object.assign(first, { [Symbol.asyncIterator]: all });
}

/** runs.replay: a new run of the same task with the original's payload, tags and metadata. */
export async function replayRun(id: string | RunHandle, config?: ClientConfig): Promise<{ id: string; publicAccessToken: string }> {
  const runId = typeof id === "string" ? id : id.id;
  const { body } = await apiRequest<{ id: string; publicAccessToken: string }>(`/api/v1/runs/${encodeURIComponent(runId)}/replay`, {
    method: "POST",
    // A retried replay could create two runs.
    retry: false,
    ...(config ? { config } : {}),
  });
  return body;
}
