import { createContext, createElement, useCallback, useContext, useEffect, useMemo, useRef, useState, useSyncExternalStore, type ReactNode } from "react";
import {
  runs as runsApi,
  tasks,
  type AnyTask,
  type ClientConfig,
  type RealtimeRun,
  type RealtimeRunSkipColumn,
  type RunHandle,
  type RunStatus,
  type TaskIdentifier,
  type TaskOutput,
  type TaskPayload,
  type TriggerOptions,
} from "@runcast/sdk";
import { EMPTY, existingFeed, feedFor, type FeedSnapshot } from "./feeds.ts";

/** Defaults for every hook below it: where the server is and which token to use. */
export interface RuncastConfig {
  baseURL?: string;
  accessToken?: string;
}

const RuncastContext = createContext<RuncastConfig>({});

/** `<RuncastProvider baseURL="…" accessToken={token}>`: hooks below it use these unless they pass their own. */
export function RuncastProvider(props: RuncastConfig & { children?: ReactNode }): ReactNode {
  const { baseURL, accessToken, children } = props;
  const value = useMemo(() => ({ ...(baseURL ? { baseURL } : {}), ...(accessToken ? { accessToken } : {}) }), [baseURL, accessToken]);
  return createElement(RuncastContext.Provider, { value }, children);
}

export interface RealtimeOptions extends RuncastConfig {
  /** `false` holds the subscription back (e.g. until a token is there). Default true. */
  enabled?: boolean;
  /** Columns never sent (e.g. payload and output of big runs). */
  skipColumns?: RealtimeRunSkipColumn[];
  /** Re-render at most this often (ms); the latest state is always what renders. */
  throttleInMs?: number;
}

function useConfig(opts: RuncastConfig): ClientConfig {
  const ctx = useContext(RuncastContext);
  const baseURL = opts.baseURL ?? ctx.baseURL;
  const accessToken = opts.accessToken ?? ctx.accessToken;
  return useMemo(() => ({ ...(baseURL ? { baseURL } : {}), ...(accessToken ? { accessToken } : {}) }), [baseURL, accessToken]);
}

/** A stable text for a list given as a new array on every render: the same items mean the same feed. */
const listKey = (v: readonly string[] | undefined) => (v ? [...v].sort().join(",") : "");

/** What a hook watches: the feed's identity, and how to open it the first time. */
interface FeedSpec {
  key: string;
  open: Parameters<typeof feedFor>[1];
}

/**
 * Watches a shared feed: re-renders when it changes (at most every `throttleInMs`), stops watching on unmount.
 * The feed is only looked up or opened when a component mounts: server rendering sees the empty state and
 * registers nothing.
 */
function useFeed(spec: FeedSpec | undefined, throttleInMs: number | undefined): { snap: FeedSnapshot; stop: () => void } {
  const subscribe = useCallback(
    (onChange: () => void) => {
      if (!spec) return () => {};
      let timer: ReturnType<typeof setTimeout> | undefined;
      let last = 0;
      const notify = () => {
        const wait = throttleInMs ? last + throttleInMs - Date.now() : 0;
        if (wait <= 0) {
          last = Date.now();
          onChange();
        } else if (!timer) {
          timer = setTimeout(() => {
            timer = undefined;
            last = Date.now();
            onChange();
          }, wait);
        }
      };
      const unwatch = feedFor(spec.key, spec.open).watch(notify);
      return () => {
        if (timer) clearTimeout(timer);
        unwatch();
      };
    },
    [spec, throttleInMs],
  );
  const get = useCallback(() => (spec ? existingFeed(spec.key)?.snapshot : undefined) ?? EMPTY, [spec]);
  const snap = useSyncExternalStore(subscribe, get, () => EMPTY);
  const stop = useCallback(() => {
    if (spec) existingFeed(spec.key)?.stop();
  }, [spec]);
  return { snap, stop };
}

export interface UseRealtimeRunResult<T extends AnyTask> {
  run: RealtimeRun<T> | undefined;
  error: Error | undefined;
  /** Stops the subscription (for every component watching this run). */
  stop: () => void;
}

/**
 * One run, live: its current state first, then every change. The subscription ends when the run finishes
 * (nothing keeps fetching); `onComplete` fires once, with the final state. Components watching the same run
 * share one connection.
 */
export function useRealtimeRun<T extends AnyTask = AnyTask>(
  runId: string | undefined,
  options: RealtimeOptions & { onComplete?: (run: RealtimeRun<T>, error?: Error) => void } = {},
): UseRealtimeRunResult<T> {
  const config = useConfig(options);
  const skip = listKey(options.skipColumns);
  const enabled = options.enabled !== false && !!runId;
  const spec = useMemo((): FeedSpec | undefined => {
    if (!enabled || !runId) return undefined;
    return {
      key: `run|${config.baseURL ?? ""}|${config.accessToken ?? ""}|${runId}|${skip}`,
      open: (hooks) => runsApi.subscribeToRun(runId, { ...config, ...hooks, ...(skip ? { skipColumns: skip.split(",") as RealtimeRunSkipColumn[] } : {}) }),
    };
  }, [enabled, runId, config, skip]);
  const { snap, stop } = useFeed(spec, options.throttleInMs);
  const run = snap.last as RealtimeRun<T> | undefined;
  const onComplete = useRef(options.onComplete);
  onComplete.current = options.onComplete;
  const completed = useRef<string | undefined>(undefined);
  useEffect(() => {
    if (!run?.finishedAt || completed.current === run.id) return;
    completed.current = run.id;
    onComplete.current?.(run, snap.error);
  }, [run, snap.error]);
  return { run, error: snap.error, stop };
}

export interface UseRealtimeRunsResult<T extends AnyTask> {
  /** Oldest first (by creation), each in its latest state. */
  runs: RealtimeRun<T>[];
  error: Error | undefined;
  stop: () => void;
}

function sortedRuns<T extends AnyTask>(snap: FeedSnapshot): RealtimeRun<T>[] {
  return ([...snap.runs.values()] as RealtimeRun<T>[]).sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime() || (a.id < b.id ? -1 : 1));
}

/**
 * Every run carrying all of `tags`, live, runs triggered later included. A new array literal on every render is
 * the same subscription (no reconnect loop).
 */
export function useRealtimeRunsWithTag<T extends AnyTask = AnyTask>(
  tags: string | string[],
  options: RealtimeOptions & { createdAt?: string } = {},
): UseRealtimeRunsResult<T> {
  const config = useConfig(options);
  const tagKey = listKey(typeof tags === "string" ? [tags] : tags);
  const skip = listKey(options.skipColumns);
  const createdAt = options.createdAt;
  const enabled = options.enabled !== false && tagKey !== "";
  const spec = useMemo((): FeedSpec | undefined => {
    if (!enabled) return undefined;
    return {
      key: `tags|${config.baseURL ?? ""}|${config.accessToken ?? ""}|${tagKey}|${createdAt ?? ""}|${skip}`,
      open: (hooks) =>
        runsApi.subscribeToRunsWithTag(tagKey.split(","), {
          ...config,
          ...hooks,
          ...(createdAt ? { createdAt } : {}),
          ...(skip ? { skipColumns: skip.split(",") as RealtimeRunSkipColumn[] } : {}),
        }),
    };
  }, [enabled, config, tagKey, createdAt, skip]);
  const { snap, stop } = useFeed(spec, options.throttleInMs);
  const list = useMemo(() => sortedRuns<T>(snap), [snap]);
  return { runs: list, error: snap.error, stop };
}

/**
 * The environment's recent runs, live (the newest 1,000 within `createdAt`, then every new one), optionally only
 * some statuses or tasks: a dashboard's list. Needs a token that reads all runs (`read:runs`).
 */
export function useRealtimeRuns<T extends AnyTask = AnyTask>(
  options: RealtimeOptions & { createdAt?: string; status?: RunStatus[]; taskIdentifier?: string[] } = {},
): UseRealtimeRunsResult<T> {
  const config = useConfig(options);
  const statusKey = listKey(options.status);
  const taskKey = listKey(options.taskIdentifier);
  const skip = listKey(options.skipColumns);
  const createdAt = options.createdAt;
  const enabled = options.enabled !== false;
  const spec = useMemo((): FeedSpec | undefined => {
    if (!enabled) return undefined;
    return {
      key: `env|${config.baseURL ?? ""}|${config.accessToken ?? ""}|${statusKey}|${taskKey}|${createdAt ?? ""}|${skip}`,
      open: (hooks) =>
        runsApi.subscribeToRuns({
          ...config,
          ...hooks,
          ...(createdAt ? { createdAt } : {}),
          ...(statusKey ? { status: statusKey.split(",") as RunStatus[] } : {}),
          ...(taskKey ? { taskIdentifier: taskKey.split(",") } : {}),
          ...(skip ? { skipColumns: skip.split(",") as RealtimeRunSkipColumn[] } : {}),
        }),
    };
  }, [enabled, config, statusKey, taskKey, createdAt, skip]);
  const { snap, stop } = useFeed(spec, options.throttleInMs);
  const list = useMemo(() => sortedRuns<T>(snap), [snap]);
  return { runs: list, error: snap.error, stop };
}

/** Every run of a batch, live. */
export function useRealtimeBatch<T extends AnyTask = AnyTask>(batchId: string | undefined, options: RealtimeOptions = {}): UseRealtimeRunsResult<T> {
  const config = useConfig(options);
  const skip = listKey(options.skipColumns);
  const enabled = options.enabled !== false && !!batchId;
  const spec = useMemo((): FeedSpec | undefined => {
    if (!enabled || !batchId) return undefined;
    return {
      key: `batch|${config.baseURL ?? ""}|${config.accessToken ?? ""}|${batchId}|${skip}`,
      open: (hooks) => runsApi.subscribeToBatch(batchId, { ...config, ...hooks, ...(skip ? { skipColumns: skip.split(",") as RealtimeRunSkipColumn[] } : {}) }),
    };
  }, [enabled, batchId, config, skip]);
  const { snap, stop } = useFeed(spec, options.throttleInMs);
  const list = useMemo(() => sortedRuns<T>(snap), [snap]);
  return { runs: list, error: snap.error, stop };
}

export interface UseTaskTriggerResult<T extends AnyTask> {
  /** Triggers a run (with the hook's token, e.g. one from `auth.createTriggerPublicToken`). */
  submit: (payload: TaskPayload<T>, options?: TriggerOptions) => Promise<RunHandle<TaskIdentifier<T>, TaskPayload<T>, TaskOutput<T>> | undefined>;
  isLoading: boolean;
  handle: RunHandle<TaskIdentifier<T>, TaskPayload<T>, TaskOutput<T>> | undefined;
  error: Error | undefined;
}

/** Triggers a task from the browser: `useTaskTrigger<typeof myTask>("my-task", { accessToken: triggerToken })`. */
export function useTaskTrigger<T extends AnyTask = AnyTask>(id: TaskIdentifier<T>, options: RuncastConfig = {}): UseTaskTriggerResult<T> {
  const config = useConfig(options);
  const [state, setState] = useState<{ isLoading: boolean; handle?: RunHandle<TaskIdentifier<T>, TaskPayload<T>, TaskOutput<T>>; error?: Error }>({ isLoading: false });
  const submit = useCallback(
    async (payload: TaskPayload<T>, triggerOptions?: TriggerOptions) => {
      setState((s) => ({ ...s, isLoading: true }));
      try {
        const handle = await tasks.trigger<T>(id, payload, triggerOptions, config);
        setState({ isLoading: false, handle });
        return handle;
      } catch (err) {
        setState((s) => ({ ...s, isLoading: false, error: err instanceof Error ? err : new Error(String(err)) }));
        return undefined;
      }
    },
    [id, config],
  );
  return { submit, isLoading: state.isLoading, handle: state.handle, error: state.error };
}

/** Triggers a task, then watches the run it made with the handle's own read token. */
export function useRealtimeTaskTrigger<T extends AnyTask = AnyTask>(
  id: TaskIdentifier<T>,
  options: RealtimeOptions & { onComplete?: (run: RealtimeRun<T>, error?: Error) => void } = {},
): UseTaskTriggerResult<T> & UseRealtimeRunResult<T> {
  const trigger = useTaskTrigger<T>(id, options);
  const handle = trigger.handle;
  const watched = useRealtimeRun<T>(handle?.id, {
    ...options,
    ...(handle?.publicAccessToken ? { accessToken: handle.publicAccessToken } : {}),
    enabled: options.enabled !== false && !!handle,
  });
  return { ...trigger, ...watched, error: trigger.error ?? watched.error };
}
