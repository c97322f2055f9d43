/**
 * date, timestamp and timestamptz in PostgreSQL's ISO text form (DateStyle ISO, as the sync sessions set it), held
 * as PostgreSQL holds them (src/include/datatype/timestamp.h, read for facts):
 *   - a date is a day number (days since 1970-01-01 here; +-Infinity for 'infinity');
 *   - a timestamp is microseconds since 2000-01-01 00:00 (PostgreSQL's epoch) as a bigint, so every valid value is
 *     the int64 PostgreSQL stores, and 'infinity'/'-infinity' are the int64 extremes (DT_NOEND/DT_NOBEGIN), above and
 *     below every finite timestamp (with the Unix epoch, timestamps after 294247 would pass the int64 maximum).
 * Valid timestamps lie in [MIN_TIMESTAMP, END_TIMESTAMP): 4714-11-24 00:00 BC to 294276-12-31 23:59:59.999999 (UTC
 * for timestamptz), checked after applying a UTC offset, as tm2timestamp's final IS_VALID_TIMESTAMP does. Dates lie
 * in 4714-11-24 BC .. 5874897-12-31. timestamp (without time zone) is wall-clock time counted as if it were UTC;
 * timestamptz is an instant. The proleptic Gregorian calendar is used for all years; year N BC is astronomical
 * year 1 - N.
 */
import { WhereEvaluationError } from "./errors.ts";

export const TS_INFINITY = 2n ** 63n - 1n;
export const TS_NEG_INFINITY = -(2n ** 63n);
const US_PER_DAY = 86_400_000_000n;

/** days_from_civil (H. Hinnant's algorithm), valid for any astronomical year. */
export function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

export function civilFromDays(days: number): { year: number; month: number; day: number } {
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  return { year: yoe + era * 400 + (month <= 2 ? 1 : 0), month, day };
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

/** Day number of 2000-01-01, PostgreSQL's epoch (POSTGRES_EPOCH_JDATE). */
const EPOCH_DAY = daysFromCivil(2000, 1, 1);
/** PostgreSQL's ranges: dates from 4714-11-24 BC to 5874897-12-31, timestamps up to 294276-12-31 23:59:59.999999. */
const MIN_DAY = daysFromCivil(-4713, 11, 24);
const END_DAY = daysFromCivil(5874898, 1, 1);
/** The first day whose midnight is not a valid timestamp (TIMESTAMP_END_JULIAN). */
const TIMESTAMP_END_DAY = daysFromCivil(294277, 1, 1);
/** MIN_TIMESTAMP and END_TIMESTAMP: -211813488000000000 and 9223371331200000000. */
export const MIN_TIMESTAMP = BigInt(MIN_DAY - EPOCH_DAY) * US_PER_DAY;
export const END_TIMESTAMP = BigInt(TIMESTAMP_END_DAY - EPOCH_DAY) * US_PER_DAY;

const DATE_TIME =
  /^(\d{4,7})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?(Z|[+-]\d{2}(?::?\d{2}(?::\d{2})?)?)?)?( BC)?$/;

interface Parts {
  days: number;
  micros: bigint; // time of day
  hasTime: boolean;
  offsetSeconds: number | undefined;
}

function parseParts(text: string): Parts | undefined {
  const m = DATE_TIME.exec(text);
  if (!m) return undefined;
  const yearText = Number(m[1]);
  if (yearText < 1) return undefined;
  const year = m[9] ? 1 - yearText : yearText;
  const month = Number(m[2]);
  const day = Number(m[3]);
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined;
  const hasTime = m[4] !== undefined;
  const h = Number(m[4] ?? 0);
  const min = Number(m[5] ?? 0);
  const s = Number(m[6] ?? 0);
  if (h > 23 || min > 59 || s > 59) return undefined;
  const frac = BigInt((m[7] ?? "").padEnd(6, "0"));
  const micros = BigInt(h * 3600 + min * 60 + s) * 1_000_000n + frac;
  return { days: daysFromCivil(year, month, day), micros, hasTime, offsetSeconds: parseOffset(m[8]) };
}

function parseOffset(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (text === "Z") return 0;
  const digits = text.slice(1).replaceAll(":", "");
  const h = Number(digits.slice(0, 2));
  const m = Number(digits.slice(2, 4) || 0);
  const s = Number(digits.slice(4, 6) || 0);
  if (h > 15 || m > 59 || s > 59) return Number.NaN;
  return (text[0] === "-" ? -1 : 1) * (h * 3600 + m * 60 + s);
}

function infinity(text: string): 1 | -1 | undefined {
  const t = text.toLowerCase();
  return t === "infinity" || t === "+infinity" ? 1 : t === "-infinity" ? -1 : undefined;
}

/** `YYYY-MM-DD[ BC]`, `infinity`, `-infinity`. */
export function parseDate(text: string): number | undefined {
  const inf = infinity(text);
  if (inf !== undefined) return inf * Infinity;
  const p = parseParts(text);
  if (!p || p.hasTime || p.days < MIN_DAY || p.days >= END_DAY) return undefined;
  return p.days;
}

/**
 * ISO timestamp text. A UTC offset is required to be absent for timestamp (PostgreSQL would silently drop it) and
 * is optional for timestamptz, where its absence means UTC: the sync sessions run with TimeZone=UTC.
 */
export function parseTimestamp(text: string, withZone: boolean): bigint | undefined {
  const inf = infinity(text);
  if (inf !== undefined) return inf > 0 ? TS_INFINITY : TS_NEG_INFINITY;
  const p = parseParts(text);
  if (!p) return undefined;
  if (p.offsetSeconds !== undefined && (!withZone || Number.isNaN(p.offsetSeconds))) return undefined;
  const us = BigInt(p.days - EPOCH_DAY) * US_PER_DAY + p.micros - BigInt(p.offsetSeconds ?? 0) * 1_000_000n;
  if (us < MIN_TIMESTAMP || us >= END_TIMESTAMP) return undefined;
  return us;
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, "0");
}

function formatDay(days: number): { text: string; bc: boolean } {
  const { year, month, day } = civilFromDays(days);
  const bc = year <= 0;
  return { text: `${pad(bc ? 1 - year : year, 4)}-${pad(month, 2)}-${pad(day, 2)}`, bc };
}

export function formatDate(days: number): string {
  if (!Number.isFinite(days)) return days > 0 ? "infinity" : "-infinity";
  const d = formatDay(days);
  return d.bc ? `${d.text} BC` : d.text;
}

/** PostgreSQL's ISO output; timestamptz values are shown in UTC (`+00`). */
export function formatTimestamp(us: bigint, withZone: boolean): string {
  if (us === TS_INFINITY) return "infinity";
  if (us === TS_NEG_INFINITY) return "-infinity";
  let days = us / US_PER_DAY;
  let rest = us % US_PER_DAY;
  if (rest < 0n) {
    days -= 1n;
    rest += US_PER_DAY;
  }
  const d = formatDay(Number(days) + EPOCH_DAY);
  const secs = Number(rest / 1_000_000n);
  const frac = Number(rest % 1_000_000n);
  const time = `${pad(Math.floor(secs / 3600), 2)}:${pad(Math.floor(secs / 60) % 60, 2)}:${pad(secs % 60, 2)}`;
  const fraction = frac === 0 ? "" : `.${pad(frac, 6).replace(/0+$/, "")}`;
  return `${d.text} ${time}${fraction}${withZone ? "+00" : ""}${d.bc ? " BC" : ""}`;
}

/** date -> timestamp (date2timestamp): raises for dates whose midnight is past the timestamp range. */
export function dateToTimestamp(days: number): bigint {
  if (days === Infinity) return TS_INFINITY;
  if (days === -Infinity) return TS_NEG_INFINITY;
  if (days >= TIMESTAMP_END_DAY) throw new WhereEvaluationError("date out of range for timestamp");
  return BigInt(days - EPOCH_DAY) * US_PER_DAY;
}

/**
 * A date as a timestamp inside PostgreSQL's cross-type date/timestamp comparisons (date_cmp_timestamp), which never
 * raise: a date past the timestamp range sorts after every finite timestamp and before 'infinity'. END_TIMESTAMP is
 * such a value (it is not a valid timestamp itself, so no real timestamp equals it).
 */
export function dateToTimestampForComparison(days: number): bigint {
  if (Number.isFinite(days) && days >= TIMESTAMP_END_DAY) return END_TIMESTAMP;
  return dateToTimestamp(days);
}

/** timestamp -> date keeps the calendar day (floor for times before midnight). */
export function timestampToDate(us: bigint): number {
  if (us === TS_INFINITY) return Infinity;
  if (us === TS_NEG_INFINITY) return -Infinity;
  const days = us / US_PER_DAY;
  return Number(us % US_PER_DAY < 0n ? days - 1n : days) + EPOCH_DAY;
}
