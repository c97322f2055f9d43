import { badRequest } from "../errors.ts";

const UNIT_MS: Record<string, number> = { w: 604_800_000, d: 86_400_000, hr: 3_600_000, h: 3_600_000, m: 60_000, s: 1000 };
const DURATION = /^(\d+(?:w|d|hr|h|m|s))+$/;

/** Parses "30s", "5m", "1h30m", "2d", "1w" into milliseconds; null when malformed. */
export function parseDuration(text: string): number | null {
  if (!DURATION.test(text)) return null;
  let total = 0;
  for (const m of text.matchAll(/(\d+)(w|d|hr|h|m|s)/g)) total += Number(m[1]) * (UNIT_MS[m[2] as string] ?? 0);
  return total;
}

/**
 * A point in time from a duration string, a number of seconds, an ISO date string or a Date.
 * `field` names the option in the 400 error.
 */
export function resolveTime(value: unknown, now: Date, field: string): Date {
  if (value instanceof Date) return value;
  if (typeof value === "number" && Number.isFinite(value) && value >= 0) return new Date(now.getTime() + value * 1000);
  if (typeof value === "string") {
    const ms = parseDuration(value);
    if (ms !== null) return new Date(now.getTime() + ms);
    if (/^\d{4}-\d{2}-\d{2}/.test(value)) {
      const d = new Date(value);
      if (!Number.isNaN(d.getTime())) return d;
    }
  }
  throw badRequest("invalid_duration", `${field} must be a duration like "30s", "5m", "1h" or an ISO date, got ${JSON.stringify(value)}`, field);
}
