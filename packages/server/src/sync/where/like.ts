/**
 * LIKE with the default escape character (backslash), matching per character (code point) like
 * src/backend/utils/adt/like_match.c MatchText: `%` matches any run, `_` exactly one character, `\x` the character x.
 * The control flow mirrors MatchText (including its "abort" shortcut), so that the error for a pattern ending in a
 * lone backslash is raised in exactly the cases where PostgreSQL raises it.
 */
import { WhereEvaluationError } from "./errors.ts";

const TRUE = 1;
const FALSE = 0;
const ABORT = -1;

function trailingEscape(): never {
  throw new WhereEvaluationError("LIKE pattern must not end with escape character");
}

function match(t: string[], ti: number, p: string[], pi: number): number {
  while (ti < t.length && pi < p.length) {
    const c = p[pi]!;
    if (c === "\\") {
      pi++;
      if (pi >= p.length) trailingEscape();
      if (p[pi] !== t[ti]) return FALSE;
    } else if (c === "%") {
      pi++;
      while (pi < p.length) {
        if (p[pi] === "%") pi++;
        else if (p[pi] === "_") {
          if (ti >= t.length) return ABORT;
          ti++;
          pi++;
        } else break;
      }
      if (pi >= p.length) return TRUE;
      let first = p[pi]!;
      if (first === "\\") {
        if (pi + 1 >= p.length) trailingEscape();
        first = p[pi + 1]!;
      }
      for (; ti < t.length; ti++) {
        if (t[ti] === first) {
          const r = match(t, ti, p, pi);
          if (r !== FALSE) return r;
        }
      }
      return ABORT;
    } else if (c !== "_" && c !== t[ti]) {
      return FALSE;
    }
    ti++;
    pi++;
  }
  if (ti < t.length) return FALSE;
  while (pi < p.length && p[pi] === "%") pi++;
  return pi >= p.length ? TRUE : ABORT;
}

/** `text LIKE pattern`; throws where PostgreSQL raises. */
export function like(text: string, pattern: string): boolean {
  return match(Array.from(text), 0, Array.from(pattern), 0) === TRUE;
}

/** Whether a constant pattern can raise at run time (ends in an unpaired backslash); such patterns are rejected. */
export function hasTrailingEscape(pattern: string): boolean {
  const m = /\\+$/.exec(pattern);
  return m !== null && m[0].length % 2 === 1;
}

/** lower()/upper() under the "C" collation change only ASCII letters. */
export function asciiLower(s: string): string {
  return s.replace(/[A-Z]+/g, (x) => x.toLowerCase());
}

export function asciiUpper(s: string): string {
  return s.replace(/[a-z]+/g, (x) => x.toUpperCase());
}
