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

/** Pauses a running task. The run shows FROZEN while it waits; the wait is kept by the server (any length). */
export const wait = {
  for(duration: WaitDuration): Promise<void> {
    const until = new Date(Date.now() + ms(duration));
    return requireRun("wait.for").wait({ kind: "duration", until: until.toISOString() });
  },
  until(options: { date: Date }): Promise<void> {
    return requireRun("wait.until").wait({ kind: "duration", until: options.date.toISOString() });
  },
};
