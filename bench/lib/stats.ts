/** Latency summary in milliseconds. */
export interface Summary {
  n: number;
  min: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

/** Nearest-rank percentile of sorted values (p in 0..100). */
export function percentile(sorted: readonly number[], p: number): number {
  if (!sorted.length) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1] as number;
}

export function summarize(values: Iterable<number>): Summary {
  const sorted = Float64Array.from(values).sort();
  const list = Array.from(sorted);
  let sum = 0;
  for (const v of list) sum += v;
  return {
    n: list.length,
    min: list.length ? (list[0] as number) : Number.NaN,
    p50: percentile(list, 50),
    p90: percentile(list, 90),
    p99: percentile(list, 99),
    max: list.length ? (list[list.length - 1] as number) : Number.NaN,
    mean: list.length ? sum / list.length : Number.NaN,
  };
}

/** a / b rounded to 2 decimals (NaN when either is missing). */
export function ratio(a: number, b: number): number {
  if (!Number.isFinite(a) || !Number.isFinite(b) || b === 0) return Number.NaN;
  return Math.round((a / b) * 100) / 100;
}

/** Rounds every number in a summary to microseconds, for readable JSON. */
export function rounded(s: Summary): Summary {
  const r = (v: number) => Math.round(v * 1000) / 1000;
  return { n: s.n, min: r(s.min), p50: r(s.p50), p90: r(s.p90), p99: r(s.p99), max: r(s.max), mean: r(s.mean) };
}
