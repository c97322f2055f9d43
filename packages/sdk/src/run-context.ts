import type { ClientConfig } from "./config.ts";

/**
 * What SDK calls made inside a running task (metadata, tags, waits, child triggers) need to know
 * about the run. The worker runtime (node only, `@runcast/sdk/worker`) provides it per async context;
 * this module stays free of node imports so the SDK also loads in browsers.
 */
/** What a run can wait for (the server's waitpoint kinds). */
export type Waitpoint = { kind: "duration"; until: string } | { kind: "run"; runId: string } | { kind: "batch"; batchId: string };

export interface RunScope {
  runId: string;
  attemptId: string;
  workerId: string;
  parentRunId: string | undefined;
  rootRunId: string | undefined;
  config: ClientConfig | undefined;
  signal: AbortSignal;
  /** Per-run state of SDK modules (e.g. the metadata buffer), by module name. */
  services: Map<string, unknown>;
  /** Run by the worker after the task returns or throws, before it reports the outcome (final flushes). */
  finishers: (() => Promise<void>)[];
  /**
   * Waits on a waitpoint held by the server: the run is FROZEN (no worker slot, no queue slot, its
   * maxDuration paused) until the engine completes the waitpoint and the run comes back through its queue.
   */
  wait(waitpoint: Waitpoint): Promise<void>;
}

const PROVIDER = Symbol.for("runcast.runScopeProvider");
type Provider = () => RunScope | undefined;

/** The run the calling code executes in, or undefined outside a task. */
export function currentRun(): RunScope | undefined {
  const provider = (globalThis as { [PROVIDER]?: Provider })[PROVIDER];
  return provider?.();
}

/** Called once by the worker runtime. */
export function installRunScopeProvider(provider: Provider): void {
  (globalThis as { [PROVIDER]?: Provider })[PROVIDER] = provider;
}

/** The current run, or a clear error naming the function that needs one. */
export function requireRun(fn: string): RunScope {
  const run = currentRun();
  if (!run) throw new Error(`${fn} can only be called inside a running task`);
  return run;
}
