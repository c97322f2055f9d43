/**
 * Shape log offsets (`<commit LSN>_<op index>` in decimal, as Electric writes them).
 * A response never splits a transaction, so an offset always ends a whole transaction and
 * comparing by LSN alone is exact. That also makes the `<global_last_seen_lsn>_0` offsets the
 * Electric client builds in SSE mode mean "after that transaction" (SPEC.md O2).
 */
export type RequestOffset = { kind: "start" } | { kind: "now" } | { kind: "at"; lsn: bigint; text: string };

/** Before any real log entry: a new shape's offset and the end of a snapshot. */
export const BEFORE_LOG = "0_inf";

const OFFSET = /^(\d{1,20})_(\d{1,10}|inf)$/;

/** Parses the `offset` query parameter; null when malformed. */
export function parseOffset(text: string): RequestOffset | null {
  if (text === "-1") return { kind: "start" };
  if (text === "now") return { kind: "now" };
  const m = OFFSET.exec(text);
  if (!m) return null;
  return { kind: "at", lsn: BigInt(m[1] as string), text };
}

export function formatOffset(lsn: bigint, op: number): string {
  return `${lsn}_${op}`;
}
