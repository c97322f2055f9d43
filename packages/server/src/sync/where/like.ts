/**
 * LIKE with the default escape character (backslash), with the semantics of PostgreSQL's MatchText
 * (src/backend/utils/adt/like_match.c, read for facts): `%` matches any run, `_` exactly one character, `\x` the
 * character x. MatchText recurses once per `%` it tries; here the same search runs iteratively, with an explicit
 * stack of the `%` positions being tried, so no pattern can exhaust the JavaScript stack (W11). The order in which
 * text positions are tried, the "abort" shortcut (once a `%` has scanned to the end of the text, no earlier `%` can
 * do better) and the points where a pattern ending in a lone backslash raises "LIKE pattern must not end with escape
 * character" are MatchText's, so the answer and the error are PostgreSQL's for every input.
 *
 * Strings are matched as UTF-16 code units, as MatchText matches UTF-8 bytes: literal characters compare unit by
 * unit, and `_` and the `%` scan step over whole characters (a surrogate pair is one character). Every loop
 * iteration costs one step of the meter.
 */
import { UNMETERED, charge, linearCost, type Meter } from "./budget.ts";
import { WhereEvaluationError } from "./errors.ts";

const TRUE = 1;
const FALSE = 0;
const ABORT = -1;

const BACKSLASH = 0x5c;
const PERCENT = 0x25;
const UNDERSCORE = 0x5f;

function trailingEscape(): never {
  throw new WhereEvaluationError("LIKE pattern must not end with escape character");
}

/** The index after the character starting at `i`. */
function nextChar(t: string, i: number): number {
  const c = t.charCodeAt(i);
  return c >= 0xd800 && c <= 0xdbff && i + 1 < t.length ? i + 2 : i + 1;
}

function match(t: string, p: string, m: Meter): number {
  const tn = t.length;
  const pn = p.length;
  // Steps are counted in a local and charged when the meter would run out, and at the end.
  const limit = m.left;
  let steps = 0;
  /** Each `%` being tried: the text position of the current attempt, the pattern position after it, its first unit. */
  const frames: number[] = [];
  let ti = 0;
  let pi = 0;
  outer: for (;;) {
    let r: number;
    // One call of MatchText(t[ti..], p[pi..]), up to where it would recurse.
    body: {
      while (ti < tn && pi < pn) {
        if (++steps > limit) charge(m, steps);
        const c = p.charCodeAt(pi);
        if (c === BACKSLASH) {
          pi++;
          if (pi >= pn) trailingEscape();
          if (p.charCodeAt(pi) !== t.charCodeAt(ti)) {
            r = FALSE;
            break body;
          }
        } else if (c === PERCENT) {
          pi++;
          while (pi < pn) {
            const d = p.charCodeAt(pi);
            if (d === PERCENT) pi++;
            else if (d === UNDERSCORE) {
              if (ti >= tn) {
                r = ABORT;
                break body;
              }
              ti = nextChar(t, ti);
              pi++;
            } else break;
          }
          if (pi >= pn) {
            r = TRUE;
            break body;
          }
          let first = p.charCodeAt(pi);
          if (first === BACKSLASH) {
            if (pi + 1 >= pn) trailingEscape();
            first = p.charCodeAt(pi + 1);
          }
          while (ti < tn && t.charCodeAt(ti) !== first) {
            if (++steps > limit) charge(m, steps);
            ti = nextChar(t, ti);
          }
          if (ti >= tn) {
            r = ABORT;
            break body;
          }
          frames.push(ti, pi, first);
          continue outer;
        } else if (c === UNDERSCORE) {
          ti = nextChar(t, ti);
          pi++;
          continue;
        } else if (c !== t.charCodeAt(ti)) {
          r = FALSE;
          break body;
        }
        ti++;
        pi++;
      }
      if (ti < tn) r = FALSE;
      else {
        while (pi < pn && p.charCodeAt(pi) === PERCENT) pi++;
        r = pi >= pn ? TRUE : ABORT;
      }
    }
    // Return r to the `%` that made this attempt. TRUE and ABORT end every enclosing attempt; FALSE lets it try
    // the next text position that starts with its first pattern unit, or end with ABORT at the end of the text.
    if (r !== FALSE || frames.length === 0) {
      charge(m, steps);
      return r;
    }
    const top = frames.length - 3;
    const first = frames[top + 2]!;
    let next = nextChar(t, frames[top]!);
    while (next < tn && t.charCodeAt(next) !== first) {
      if (++steps > limit) charge(m, steps);
      next = nextChar(t, next);
    }
    if (next >= tn) {
      charge(m, steps);
      return ABORT;
    }
    frames[top] = next;
    ti = next;
    pi = frames[top + 1]!;
  }
}

/** `text LIKE pattern`; throws where PostgreSQL raises. */
export function like(text: string, pattern: string, m: Meter = UNMETERED): boolean {
  return match(text, pattern, m) === TRUE;
}

/** Whether a constant pattern can raise at run time (ends in an unpaired backslash); such patterns are rejected. */
export function hasTrailingEscape(pattern: string): boolean {
  const found = /\\+$/.exec(pattern);
  return found !== null && found[0].length % 2 === 1;
}

const NON_ASCII = /[^\x00-\x7f]/;

/** Maps ASCII letters with `delta` (+32 lower, -32 upper) in a string that has other characters: a step per unit. */
function foldAscii(s: string, from: number, to: number, delta: number, m: Meter): string {
  charge(m, s.length);
  const parts: string[] = [];
  const chunk = new Array<number>(Math.min(s.length, 4096));
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    chunk[n++] = c >= from && c <= to ? c + delta : c;
    if (n === chunk.length) {
      parts.push(String.fromCharCode(...chunk));
      n = 0;
    }
  }
  if (n > 0) parts.push(String.fromCharCode(...chunk.slice(0, n)));
  return parts.join("");
}

/** lower()/upper() under the "C" collation change only ASCII letters. */
export function asciiLower(s: string, m: Meter = UNMETERED): string {
  charge(m, linearCost(s.length));
  if (!NON_ASCII.test(s)) return s.toLowerCase();
  return foldAscii(s, 65, 90, 32, m);
}

export function asciiUpper(s: string, m: Meter = UNMETERED): string {
  charge(m, linearCost(s.length));
  if (!NON_ASCII.test(s)) return s.toUpperCase();
  return foldAscii(s, 97, 122, -32, m);
}
