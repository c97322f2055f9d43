/**
 * Text order of the "C" collation: code point order, which is the byte order of UTF-8 (W4). JavaScript's `<`
 * compares UTF-16 units, which differs only where a surrogate (a code point >= U+10000) meets a unit in
 * U+E000..U+FFFF at the first difference; when either string has no unit at or above U+D800 that cannot happen and
 * the native comparison is used.
 */
import { UNMETERED, charge, linearCost, type Meter } from "./budget.ts";

const HIGH_UNITS = /[\ud800-\uffff]/;

export function compareText(a: string, b: string, m: Meter = UNMETERED): number {
  if (a === b) return 0;
  charge(m, linearCost(a.length + b.length));
  if (!HIGH_UNITS.test(a) || !HIGH_UNITS.test(b)) return a < b ? -1 : 1;
  const n = Math.min(a.length, b.length);
  charge(m, n);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    const xs = x >= 0xd800 && x <= 0xdfff;
    const ys = y >= 0xd800 && y <= 0xdfff;
    if (xs === ys) return x < y ? -1 : 1;
    return xs ? 1 : -1; // a surrogate (code point >= U+10000) sorts after any other BMP unit
  }
  return a.length < b.length ? -1 : 1;
}

/** length(): code points, not UTF-16 units. */
export function codePointLength(s: string, m: Meter = UNMETERED): number {
  charge(m, linearCost(s.length));
  const lows = s.replace(/[^\udc00-\udfff]+/g, "").length;
  return s.length - lows;
}
