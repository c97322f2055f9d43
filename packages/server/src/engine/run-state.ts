import { FINAL_STATUSES as FINAL, RUN_STATUSES, V2_STATUS, type RunStatus } from "@runcast/sdk";
import { badRequest } from "../errors.ts";

/** The statuses are part of the SDK's public types; the engine stores them as they are in runs.status. */
export { RUN_STATUSES, type RunStatus };

export const FINAL_STATUSES: ReadonlySet<RunStatus> = new Set(FINAL);

export function isFinal(status: string): boolean {
  return FINAL_STATUSES.has(status as RunStatus);
}

/**
 * How a failed attempt ends, as reported by a worker: the task threw (`error`), the worker was shut
 * down (`interrupted`), maxDuration passed (`timed_out`), the worker or task process died (`crashed`),
 * or Runcast itself could not run it (`system`: task missing from the worker, output not serialisable).
 */
export type FailureKind = "error" | "interrupted" | "timed_out" | "crashed" | "system";

/** The status a run takes after a failed attempt, given whether a retry is allowed. */
export function statusAfterFailure(kind: FailureKind, canRetry: boolean): RunStatus {
  switch (kind) {
    case "interrupted":
      return "INTERRUPTED";
    case "timed_out":
      return "TIMED_OUT";
    case "system":
      return "SYSTEM_FAILURE";
    case "crashed":
      return canRetry ? "REATTEMPTING" : "CRASHED";
    case "error":
      return canRetry ? "REATTEMPTING" : "FAILED";
  }
}

export interface RetryPolicy {
  maxAttempts: number;
  factor: number;
  minTimeoutInMs: number;
  maxTimeoutInMs: number;
  randomize: boolean;
}

export const DEFAULT_RETRY: RetryPolicy = { maxAttempts: 1, factor: 2, minTimeoutInMs: 1000, maxTimeoutInMs: 60_000, randomize: false };

/** Backoff before attempt `nextAttempt` (2 = the first retry). `random` is in [0, 1). */
export function retryDelayMs(policy: RetryPolicy, nextAttempt: number, random: number): number {
  const base = policy.minTimeoutInMs * Math.pow(policy.factor, Math.max(0, nextAttempt - 2));
  const jittered = policy.randomize ? base * (1 + random) : base;
  return Math.round(Math.min(policy.maxTimeoutInMs, jittered));
}

/** Runcast statuses each v2 name stands for (DEQUEUED has no Runcast counterpart: an executing run). */
const FROM_V2: Record<string, RunStatus[]> = { DEQUEUED: ["EXECUTING"] };
for (const s of RUN_STATUSES) (FROM_V2[V2_STATUS[s]] ??= []).push(s);

/**
 * A status filter in either vocabulary (`COMPLETED`, `WAITING`, `PENDING_VERSION`, `FROZEN`…), as the statuses
 * it covers; an unknown name is a 400 naming the field.
 */
export function statusFilter(names: readonly string[], field: string): RunStatus[] {
  const out = new Set<RunStatus>();
  for (const name of names) {
    if ((RUN_STATUSES as readonly string[]).includes(name)) out.add(name as RunStatus);
    else if (FROM_V2[name]) for (const s of FROM_V2[name]) out.add(s);
    else {
      const known = [...new Set([...RUN_STATUSES, ...Object.keys(FROM_V2)])].join(", ");
      throw badRequest("invalid_filter", `${field} must be among ${known}; got ${JSON.stringify(name)}`, field);
    }
  }
  return [...out];
}
