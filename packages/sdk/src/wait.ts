import { setLongTimeout } from "./timers.ts";
import { requireRun } from "./run-context.ts";

export interface WaitDuration {
  seconds?: number;
  minutes?: number;
  hours?: number;
  days?: number;
}

function ms(d: WaitDuration): number {
  const total = (d.seconds ?? 0) * 1000 + (d.minutes ?? 0) * 60_000 + (d.hours ?? 0) * 3_600_000 + (d.days ?? 0) * 86_400_000;
  if (!Number.isFinite(total) || total < 0) throw new Error("wait.for needs a non-negative duration");
  return total;
}

/**
 * Runs `body` with the run FROZEN: it waits without counting against its queue's concurrency or its
 * worker's slots, and is EXECUTING again afterwards. Used by waits and by triggerAndWait.
 */
export async function whileWaiting<T>(fn: string, body: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const run = requireRun(fn);
  await run.setWaiting(true);
  try {
    return await body(run.signal);
  } finally {
    if (!run.signal.aborted) await run.setWaiting(false);
  }
}

function sleep(msToWait: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const t = setLongTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, msToWait);
    const onAbort = () => {
      t.clear();
      reject(signal.reason);
    };
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

/** Pauses a running task. The run shows FROZEN while it waits. */
export const wait = {
  for(duration: WaitDuration): Promise<void> {
    const total = ms(duration);
    return whileWaiting("wait.for", (signal) => sleep(total, signal));
  },
  until(options: { date: Date }): Promise<void> {
    return whileWaiting("wait.until", (signal) => sleep(Math.max(0, options.date.getTime() - Date.now()), signal));
  },
};
