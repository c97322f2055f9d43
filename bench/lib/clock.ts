/**
 * One clock for every bench process: milliseconds since the Unix epoch with sub-millisecond
 * resolution (performance.timeOrigin + performance.now()). timeOrigin is taken from the wall clock when
 * a process starts, so two processes can disagree by a little; the orchestrator measures each child's
 * offset over IPC (`estimateOffset`) and converts the child's timestamps with it.
 */
export function now(): number {
  return performance.timeOrigin + performance.now();
}

export interface ClockSample {
  /** Parent time when the ping left. */
  sent: number;
  /** Child time when it answered. */
  child: number;
  /** Parent time when the answer came back. */
  received: number;
}

export interface ClockOffset {
  /** child clock − parent clock, ms: subtract it from a child timestamp to get parent time. */
  offsetMs: number;
  /** Round trip of the sample used; the offset is known to within half of it. */
  rttMs: number;
}

/** NTP-style estimate from the sample with the shortest round trip. */
export function estimateOffset(samples: readonly ClockSample[]): ClockOffset {
  let best: ClockSample | undefined;
  for (const s of samples) if (!best || s.received - s.sent < best.received - best.sent) best = s;
  if (!best) throw new Error("no clock samples");
  return { offsetMs: best.child - (best.sent + best.received) / 2, rttMs: best.received - best.sent };
}
