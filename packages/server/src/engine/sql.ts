/** `now()` as a UTC `timestamp`: how every runs/attempts timestamp is written. */
export const NOW = "(now() AT TIME ZONE 'UTC')";

/** A JS Date as the UTC `timestamp` text PostgreSQL expects for our columns. */
export function utcTimestamp(d: Date): string {
  return d.toISOString().replace("T", " ").replace("Z", "");
}
