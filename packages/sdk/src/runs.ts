import { resolveConfig, type ClientConfig } from "./config.ts";
import { apiRequest } from "./http.ts";
import { STORE_TYPE, fetchPacket, loadPacket } from "./io.ts";
import { runFromRow } from "./realtime/run-row.ts";
import { shapeEvents } from "./realtime/shape-stream.ts";
import { listRuns, replayRun } from "./runs-list.ts";
import type { AnyTask, RealtimeRun, RetrievedRun, RunHandle, RunStatus } from "./types.ts";

export interface SubscribeOptions {
  /** End the iteration when the run finishes (default true). */
  stopOnCompletion?: boolean;
  signal?: AbortSignal;
  /** Credentials for this subscription (e.g. the handle's publicAccessToken). */
  accessToken?: string;
  baseURL?: string;
  /** Columns never sent (e.g. `["payload", "output"]` for big runs); a token's own skipColumns win. */
  skipColumns?: RealtimeRunSkipColumn[];
  /** A run left the feed (deleted, or no longer matching its filter): for views that list runs. */
  onRemove?: (runId: string) => void;
  /** The server restarted the feed (it is sent whole again): for views that keep the runs they were given. */
  onReset?: () => void;
  /**
   * The subscription caught up: every change committed so far has been yielded. Called after the initial
   * snapshot, then after each batch of live changes: for views that draw once the snapshot is in, or that
   * report only what happens from now on.
   */
  onUpToDate?: () => void;
}

/** Columns of the realtime wire a subscription may leave out (trigger-wire §3.3). */
export type RealtimeRunSkipColumn =
  | "startedAt"
  | "delayUntil"
  | "queuedAt"
  | "expiredAt"
  | "completedAt"
  | "number"
  | "isTest"
  | "usageDurationMs"
  | "costInCents"
  | "baseCostInCents"
  | "ttl"
  | "payload"
  | "payloadType"
  | "metadata"
  | "output"
  | "outputType"
  | "runTags"
  | "error";

export interface TagSubscribeOptions extends Omit<SubscribeOptions, "stopOnCompletion"> {
  /** How far back the feed starts: `"1h"`, `"7d"`… at most 30 days (default 24 hours). */
  createdAt?: string;
  /** Only runs in these statuses (runs leaving them leave the feed). A Runcast addition, filtered by the server. */
  status?: RunStatus | RunStatus[];
  /** Only runs of these tasks. A Runcast addition, filtered by the server. */
  taskIdentifier?: string | string[];
}

/** A feed URL with its query: the route's own parameters plus skipColumns. */
function feedUrl(base: string, query: Record<string, string | string[] | undefined>): string {
  const url = new URL(base);
  for (const [k, v] of Object.entries(query)) {
    const list = v === undefined ? [] : Array.isArray(v) ? v : [v];
    if (list.length) url.searchParams.set(k, list.join(","));
  }
  return url.toString();
}

/** An async iterable of run states that can also be stopped from outside. */
export interface RunSubscription<T = AnyTask> extends AsyncIterable<RealtimeRun<T>> {
  unsubscribe(): void;
}

/** Packets (big payloads and outputs) of a subscription's runs, fetched once per run and path. */
function packetCache(baseURL: string | undefined) {
  const cache = new Map<string, Promise<unknown>>();
  return {
    load(runId: string, path: string, field: "payload" | "output", token: string | undefined): Promise<unknown> {
      const key = `${runId}\u0000${field}\u0000${path}`;
      let p = cache.get(key);
      if (!p) {
        p = loadPacket(runId, field, { ...(token ? { accessToken: token } : {}), ...(baseURL ? { baseURL } : {}) });
        cache.set(key, p);
        p.catch(() => cache.delete(key));
      }
      return p;
    },
  };
}

function subscription<T>(url: string, opts: SubscribeOptions, endWhen: (run: RealtimeRun) => boolean): RunSubscription<T> {
  const controller = new AbortController();
  const onAbort = () => controller.abort();
  opts.signal?.addEventListener("abort", onAbort, { once: true });
  const { token } = resolveConfig({
    ...(opts.accessToken ? { accessToken: opts.accessToken } : {}),
    ...(opts.baseURL ? { baseURL: opts.baseURL } : {}),
  });
  const packets = packetCache(opts.baseURL);
  async function* iterate(): AsyncGenerator<RealtimeRun<T>> {
    const rows = new Map<string, Record<string, unknown>>();
    try {
      for await (const event of shapeEvents({ url, token, signal: controller.signal })) {
        if (event.type === "must-refetch") {
          rows.clear();
          opts.onReset?.();
          continue;
        }
        if (event.type === "up-to-date") {
          opts.onUpToDate?.();
          continue;
        }
        if (event.type !== "change") continue;
        const { key, operation, value } = event.change;
        if (operation === "delete") {
          const gone = rows.get(key);
          rows.delete(key);
          const id = gone?.friendlyId ?? gone?.id;
          if (typeof id === "string") opts.onRemove?.(id);
          continue;
        }
        const row = operation === "insert" ? value : { ...rows.get(key), ...value };
        rows.set(key, row);
        // Every committed change is yielded, in order: intermediate statuses are never merged away.
        const run = runFromRow(row);
        if (row.payloadType === STORE_TYPE && typeof row.payload === "string") run.payload = await packets.load(run.id, row.payload, "payload", token);
        if (run.status === "COMPLETED" && row.outputType === STORE_TYPE && typeof row.output === "string") {
          run.output = await packets.load(run.id, row.output, "output", token);
        }
        yield run as RealtimeRun<T>;
        if (endWhen(run)) return;
      }
    } finally {
      opts.signal?.removeEventListener("abort", onAbort);
      controller.abort();
    }
  }
  return {
    [Symbol.asyncIterator]: () => iterate(),
    unsubscribe: () => controller.abort(),
  };
}

/** The runs feed (`/realtime/v1/runs`): by tags, or the whole environment when there are none. */
function feed<T>(tags: string | string[], options: TagSubscribeOptions): RunSubscription<T> {
  const { baseURL } = resolveConfig(options.baseURL ? { baseURL: options.baseURL } : undefined);
  const url = feedUrl(`${baseURL}/realtime/v1/runs`, {
    tags,
    createdAt: options.createdAt,
    status: options.status,
    taskIdentifier: options.taskIdentifier,
    skipColumns: options.skipColumns,
  });
  return subscription<T>(url, options, () => false);
}

/** Read, cancel and watch runs. */
export const runs = {
  list: listRuns,
  replay: replayRun,

  async retrieve<T extends AnyTask = AnyTask>(id: string | RunHandle, config?: ClientConfig): Promise<RetrievedRun<T>> {
    const runId = typeof id === "string" ? id : id.id;
    const { body } = await apiRequest<Record<string, unknown>>(`/api/v3/runs/${encodeURIComponent(runId)}`, config ? { config } : {});
    // Big payloads and outputs are kept as packets on the server: fetched from the signed URL it gives.
    if (typeof body.payloadPresignedUrl === "string") body.payload = await fetchPacket(body.payloadPresignedUrl);
    if (typeof body.outputPresignedUrl === "string") body.output = await fetchPacket(body.outputPresignedUrl);
    const d = (v: unknown) => (typeof v === "string" ? new Date(v) : undefined);
    return {
      ...body,
      createdAt: d(body.createdAt),
      updatedAt: d(body.updatedAt),
      queuedAt: d(body.queuedAt),
      startedAt: d(body.startedAt),
      finishedAt: d(body.finishedAt),
      delayedUntil: d(body.delayedUntil),
      expiredAt: d(body.expiredAt),
    } as unknown as RetrievedRun<T>;
  },

  async cancel(id: string | RunHandle, config?: ClientConfig): Promise<{ id: string }> {
    const runId = typeof id === "string" ? id : id.id;
    const { body } = await apiRequest<{ id: string }>(`/api/v2/runs/${encodeURIComponent(runId)}/cancel`, {
      method: "POST",
      ...(config ? { config } : {}),
    });
    return body;
  },

  /**
   * Every state of one run as it changes, starting with its current state. Ends by itself when the
   * run finishes (unless `stopOnCompletion: false`); throws on an unknown run or a refused token.
   */
  subscribeToRun<T extends AnyTask = AnyTask>(id: string | RunHandle, options: SubscribeOptions = {}): RunSubscription<T> {
    const runId = typeof id === "string" ? id : id.id;
    const { baseURL } = resolveConfig(options.baseURL ? { baseURL: options.baseURL } : undefined);
    const stop = options.stopOnCompletion ?? true;
    const url = feedUrl(`${baseURL}/realtime/v1/runs/${encodeURIComponent(runId)}`, { skipColumns: options.skipColumns });
    return subscription<T>(url, options, (run) => stop && !!run.finishedAt);
  },

  /**
   * Every run carrying all of `tags` (one tag or several), each run's current state first, then every change,
   * runs triggered later included. For a union of tasks (`subscribeToRunsWithTag<typeof a | typeof b>`) each
   * run is typed by its `taskIdentifier`. Stays open until the caller stops it.
   */
  subscribeToRunsWithTag<T extends AnyTask = AnyTask>(tags: string | string[], options: TagSubscribeOptions = {}): RunSubscription<T> {
    return feed<T>(tags, options);
  },

  /**
   * The environment's recent runs (the newest 1,000 within `createdAt`, then every new one), optionally only some
   * statuses or tasks: what a dashboard or a live CLI view shows. Needs a secret key or a token that reads all runs.
   */
  subscribeToRuns<T extends AnyTask = AnyTask>(options: TagSubscribeOptions = {}): RunSubscription<T> {
    return feed<T>([], options);
  },

  /**
   * Every change to every run of a batch (each run's current state first). Stays open until the
   * caller stops it (`break`, `unsubscribe()` or `signal`).
   */
  subscribeToBatch<T extends AnyTask = AnyTask>(batchId: string | { batchId: string }, options: Omit<SubscribeOptions, "stopOnCompletion"> = {}): RunSubscription<T> {
    const id = typeof batchId === "string" ? batchId : batchId.batchId;
    const { baseURL } = resolveConfig(options.baseURL ? { baseURL: options.baseURL } : undefined);
    return subscription<T>(feedUrl(`${baseURL}/realtime/v1/batches/${encodeURIComponent(id)}`, { skipColumns: options.skipColumns }), options, () => false);
  },
};
