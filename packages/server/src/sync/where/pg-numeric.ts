/**
 * PostgreSQL `numeric`, exactly, with PostgreSQL 17's limits (src/backend/utils/adt/numeric.c, read for facts).
 *
 * A finite value is kept as its decimal digits: `digits` (no leading zeros, "" for zero) scaled by 10^-scale, where
 * `scale` is the display scale (dscale) PostgreSQL keeps and prints ("1.50" is digits "150", scale 2). Comparing,
 * printing, reading text, adding and subtracting are linear in the digits; multiplication and division go through
 * BigInt (trailing zeros kept aside) and are charged to the meter (decimal <-> BigInt conversion is quadratic in
 * V8). Special values NaN, Infinity, -Infinity as in PostgreSQL 14+.
 *
 * Rules implemented (numeric.c):
 *   - `+` and `-` are exact at scale max(dscale1, dscale2) (add_var / sub_var);
 *   - `*` is exact at scale dscale1 + dscale2, then rounded half away from zero to NUMERIC_DSCALE_MAX (16383) when
 *     larger (numeric_mul_opt_error: mul_var with the full rscale, then round_var);
 *   - `/` rounds half away from zero at select_div_scale's scale: at least NUMERIC_MIN_SIG_DIGITS (16) significant
 *     digits, no less than either input's dscale, at most NUMERIC_MAX_DISPLAY_SCALE (1000);
 *   - every result goes through make_result, which raises "value overflows numeric format" when the weight (in
 *     base-10000 digits) exceeds 32767, i.e. when the value has more than 131072 digits before the decimal point;
 *   - NaN equals NaN and sorts above everything (numeric_cmp); x / 0 raises "division by zero" (also Inf / 0).
 */
import { NUMERIC_OP_STEPS, UNMETERED, bigIntProductCost, charge, decimalConversionCost, linearCost, type Meter } from "./budget.ts";
import { WhereEvaluationError } from "./errors.ts";

export type Numeric =
  | { readonly kind: "finite"; readonly neg: boolean; readonly digits: string; readonly scale: number }
  | { readonly kind: "nan" }
  | { readonly kind: "inf"; readonly negative: boolean };

type Finite = Numeric & { kind: "finite" };

const NAN: Numeric = { kind: "nan" };
const POS_INF: Numeric = { kind: "inf", negative: false };
const NEG_INF: Numeric = { kind: "inf", negative: true };

/** numeric.c: NUMERIC_MIN_SIG_DIGITS, NUMERIC_MAX_DISPLAY_SCALE, NUMERIC_DSCALE_MAX, DEC_DIGITS. */
const MIN_SIG_DIGITS = 16;
const MAX_DISPLAY_SCALE = 1000;
export const NUMERIC_DSCALE_MAX = 0x3fff;
const DEC_DIGITS = 4;
/** NUMERIC_WEIGHT_MAX (32767) + 1 base-10000 digits before the decimal point, in decimal digits. */
export const NUMERIC_MAX_INTEGER_DIGITS = (32767 + 1) * DEC_DIGITS;

/** Client literals: at most this many digits, and an exponent and scale of at most this size (W10). */
export const MAX_LITERAL_DIGITS = 1000;

/** Non-finite, or finite with digits already free of leading zeros. */
function make(neg: boolean, digits: string, scale: number): Finite {
  return { kind: "finite", neg: digits === "" ? false : neg, digits, scale };
}

function stripLeadingZeros(s: string): string {
  let i = 0;
  while (i < s.length && s.charCodeAt(i) === 48) i++;
  return i === 0 ? s : s.slice(i);
}

export function numericFromBigInt(v: bigint, scale = 0, m: Meter = UNMETERED): Numeric {
  const neg = v < 0n;
  const abs = neg ? -v : v;
  if (abs === 0n) return make(false, "", scale);
  if (abs < 0x20000000000000n) return make(neg, String(abs), scale);
  const text = abs.toString();
  charge(m, decimalConversionCost(text.length));
  return make(neg, text, scale);
}

/** Digits without their trailing zeros, and how many there were (large values are often sparse: 10^131071). */
function splitZeros(digits: string): { core: string; zeros: number } {
  let end = digits.length;
  while (end > 0 && digits.charCodeAt(end - 1) === 48) end--;
  return { core: digits.slice(0, end), zeros: digits.length - end };
}

/** Digits (no trailing zeros needed) * 10^pad as a BigInt (unsigned). */
function toBigInt(digits: string, pad: number, m: Meter): bigint {
  if (digits === "") return 0n;
  const text = pad > 0 ? digits + "0".repeat(pad) : digits;
  charge(m, decimalConversionCost(text.length));
  return BigInt(text);
}

/** A BigInt's decimal digits followed by `zeros` zeros. */
function toDigits(v: bigint, zeros: number, m: Meter): string {
  const text = v < 0x20000000000000n ? String(v) : v.toString();
  charge(m, decimalConversionCost(text.length) + linearCost(zeros));
  return zeros > 0 && text !== "0" ? text + "0".repeat(zeros) : text;
}

/** Chunks of decimal digits added or subtracted as Numbers (sums stay below 2^53). */
const CHUNK = 14;
const CHUNK_BASE = 10 ** CHUNK;

/** |A| + |B| or |A| - |B| (A >= B) on digit strings of equal length: linear, no BigInt. */
function addDigits(a: string, b: string, subtract: boolean, m: Meter): string {
  charge(m, a.length >> 1);
  const parts: string[] = [];
  let carry = 0;
  for (let end = a.length; end > 0; end -= CHUNK) {
    const start = Math.max(0, end - CHUNK);
    let v = Number(a.slice(start, end)) + (subtract ? -1 : 1) * (Number(b.slice(start, end)) + (subtract ? carry : 0)) + (subtract ? 0 : carry);
    const width = end - start;
    const base = width === CHUNK ? CHUNK_BASE : 10 ** width;
    if (subtract) {
      carry = v < 0 ? 1 : 0;
      if (v < 0) v += base;
    } else {
      carry = v >= base ? 1 : 0;
      if (v >= base) v -= base;
    }
    parts.push(String(v).padStart(width, "0"));
  }
  if (carry && !subtract) parts.push("1");
  return stripLeadingZeros(parts.reverse().join(""));
}

const DECIMAL = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/;
const SPECIAL = /^([+-]?)(infinity|inf)$/i;

/**
 * Parses numeric text. `strict` (client input) applies the literal limits: at most MAX_LITERAL_DIGITS digits, as
 * written and once the exponent is applied, and an exponent and scale of at most that size, far inside what
 * numeric_in accepts. Row text (PostgreSQL's output) is read without them. Returns undefined for text that is not a
 * plain decimal, NaN or Infinity (numeric_in accepts more, e.g. surrounding spaces and underscores; those are
 * refused rather than interpreted), and for values numeric_in would refuse as too large.
 */
export function parseNumeric(text: string, strict: boolean, m: Meter = UNMETERED): Numeric | undefined {
  charge(m, NUMERIC_OP_STEPS + linearCost(text.length));
  if (/^nan$/i.test(text)) return NAN;
  const special = SPECIAL.exec(text);
  if (special) return special[1] === "-" ? NEG_INF : POS_INF;
  const match = DECIMAL.exec(text);
  if (!match) return undefined;
  const intPart = match[2] ?? "";
  const fracPart = match[3] ?? "";
  if (intPart.length + fracPart.length === 0) return undefined;
  const expText = match[4];
  if (expText !== undefined && expText.replace(/^[+-]?0*/, "").length > 7) return undefined;
  const exp = expText === undefined ? 0 : Number(expText);
  const limit = strict ? MAX_LITERAL_DIGITS : NUMERIC_MAX_INTEGER_DIGITS + NUMERIC_DSCALE_MAX;
  if (Math.abs(exp) > limit || (strict && intPart.length + fracPart.length > MAX_LITERAL_DIGITS)) return undefined;
  let digits = stripLeadingZeros(intPart + fracPart);
  let scale = fracPart.length - exp;
  if (scale < 0) {
    if (digits !== "") digits += "0".repeat(-scale);
    scale = 0;
  }
  if (scale > (strict ? MAX_LITERAL_DIGITS : NUMERIC_DSCALE_MAX)) return undefined;
  // A literal's printed form (render.ts) must itself be a literal: at most MAX_LITERAL_DIGITS digits written.
  if (strict && Math.max(digits.length, scale + 1) > MAX_LITERAL_DIGITS) return undefined;
  if (digits.length - scale > NUMERIC_MAX_INTEGER_DIGITS) return undefined;
  return make(match[1] === "-", digits, scale);
}

export function formatNumeric(n: Numeric, m: Meter = UNMETERED): string {
  if (n.kind === "nan") return "NaN";
  if (n.kind === "inf") return n.negative ? "-Infinity" : "Infinity";
  charge(m, linearCost(n.digits.length + n.scale));
  const digits = n.digits.padStart(n.scale + 1, "0");
  const cut = digits.length - n.scale;
  const body = n.scale === 0 ? digits : `${digits.slice(0, cut)}.${digits.slice(cut)}`;
  return n.neg ? `-${body}` : body;
}

export function isZero(n: Numeric): boolean {
  return n.kind === "finite" && n.digits === "";
}

function sign(n: Numeric): number {
  if (n.kind === "inf") return n.negative ? -1 : 1;
  if (n.kind === "finite") return n.digits === "" ? 0 : n.neg ? -1 : 1;
  return 0;
}

/** |a| vs |b| for finite non-zero values. */
function compareMagnitude(a: Finite, b: Finite, m: Meter): number {
  const ea = a.digits.length - a.scale;
  const eb = b.digits.length - b.scale;
  if (ea !== eb) return ea < eb ? -1 : 1;
  const n = Math.max(a.digits.length, b.digits.length);
  charge(m, linearCost(n));
  const x = a.digits.length === n ? a.digits : a.digits.padEnd(n, "0");
  const y = b.digits.length === n ? b.digits : b.digits.padEnd(n, "0");
  return x === y ? 0 : x < y ? -1 : 1;
}

/** numeric_cmp: -Infinity < finite < Infinity < NaN; NaN = NaN. */
export function compareNumeric(a: Numeric, b: Numeric, m: Meter = UNMETERED): number {
  const rank = (x: Numeric) => (x.kind === "nan" ? 2 : x.kind === "inf" ? (x.negative ? -1 : 1) : 0);
  const ra = rank(a);
  const rb = rank(b);
  if (ra !== rb || ra !== 0) return Math.sign(ra - rb);
  const sa = sign(a);
  const sb = sign(b);
  if (sa !== sb) return sa < sb ? -1 : 1;
  if (sa === 0) return 0;
  return sa * compareMagnitude(a as Finite, b as Finite, m);
}

/** A key equal for exactly the values numeric_eq calls equal (for hashing IN lists). */
export function numericKey(n: Numeric): string {
  if (n.kind !== "finite") return formatNumeric(n);
  if (n.digits === "") return "0";
  let end = n.digits.length;
  while (end > 1 && n.digits.charCodeAt(end - 1) === 48) end--;
  return `${n.neg ? "-" : ""}${n.digits.slice(0, end)}e${n.digits.length - n.scale}`;
}

export function negateNumeric(n: Numeric): Numeric {
  if (n.kind === "nan") return n;
  if (n.kind === "inf") return n.negative ? POS_INF : NEG_INF;
  return make(!n.neg, n.digits, n.scale);
}

/** make_result's range check: the weight must fit in int16. */
function checked(n: Finite): Finite {
  if (n.digits.length - n.scale > NUMERIC_MAX_INTEGER_DIGITS) throw new WhereEvaluationError("value overflows numeric format");
  return n;
}

export function addNumeric(a: Numeric, b: Numeric, m: Meter = UNMETERED): Numeric {
  charge(m, NUMERIC_OP_STEPS);
  if (a.kind === "nan" || b.kind === "nan") return NAN;
  if (a.kind === "inf") return b.kind === "inf" && b.negative !== a.negative ? NAN : a;
  if (b.kind === "inf") return b;
  const s = Math.max(a.scale, b.scale);
  if (a.digits === "" || b.digits === "") {
    const x = a.digits === "" ? b : a;
    if (x.digits === "") return make(false, "", s);
    charge(m, linearCost(x.digits.length + s));
    return checked(make(x.neg, x.digits + "0".repeat(s - x.scale), s));
  }
  // Both at scale s, as digit strings of one length; then add the magnitudes, or subtract the smaller.
  const len = Math.max(a.digits.length + s - a.scale, b.digits.length + s - b.scale);
  charge(m, linearCost(2 * len));
  const x = (a.digits + "0".repeat(s - a.scale)).padStart(len, "0");
  const y = (b.digits + "0".repeat(s - b.scale)).padStart(len, "0");
  if (a.neg === b.neg) return checked(make(a.neg, addDigits(x, y, false, m), s));
  if (x === y) return make(false, "", s);
  return x > y ? checked(make(a.neg, addDigits(x, y, true, m), s)) : checked(make(b.neg, addDigits(y, x, true, m), s));
}

export function subNumeric(a: Numeric, b: Numeric, m: Meter = UNMETERED): Numeric {
  return addNumeric(a, negateNumeric(b), m);
}

/**
 * Drops the last `k` digits of `digits` (k > 0), rounding half away from zero (round_var): up when the first
 * dropped digit is 5 or more.
 */
function roundOff(digits: string, k: number, m: Meter): string {
  if (k >= digits.length) return k === digits.length && digits.charCodeAt(0) >= 53 ? "1" : "";
  charge(m, linearCost(digits.length));
  const kept = digits.slice(0, digits.length - k);
  if (digits.charCodeAt(digits.length - k) < 53) return stripLeadingZeros(kept);
  let i = kept.length - 1;
  while (i >= 0 && kept.charCodeAt(i) === 57) i--;
  if (i < 0) return "1" + "0".repeat(kept.length);
  return kept.slice(0, i) + String.fromCharCode(kept.charCodeAt(i) + 1) + "0".repeat(kept.length - i - 1);
}

export function mulNumeric(a: Numeric, b: Numeric, m: Meter = UNMETERED): Numeric {
  charge(m, NUMERIC_OP_STEPS);
  if (a.kind === "nan" || b.kind === "nan") return NAN;
  if (a.kind === "inf" || b.kind === "inf") {
    const s = sign(a) * sign(b);
    return s === 0 ? NAN : s < 0 ? NEG_INF : POS_INF;
  }
  const scale = a.scale + b.scale;
  if (a.digits === "" || b.digits === "") return make(false, "", Math.min(scale, NUMERIC_DSCALE_MAX));
  const x = splitZeros(a.digits);
  const y = splitZeros(b.digits);
  charge(m, bigIntProductCost(x.core.length, y.core.length));
  const digits = toDigits(toBigInt(x.core, 0, m) * toBigInt(y.core, 0, m), x.zeros + y.zeros, m);
  const neg = a.neg !== b.neg;
  if (scale <= NUMERIC_DSCALE_MAX) return checked(make(neg, digits, scale));
  return checked(make(neg, roundOff(digits, scale - NUMERIC_DSCALE_MAX, m), NUMERIC_DSCALE_MAX));
}

/** Weight (base-10000 digits, aligned on the decimal point) and first base-10000 digit of a value; 0, 0 for zero. */
function nbaseLead(n: Finite): { weight: number; first: number } {
  if (n.digits === "") return { weight: 0, first: 0 };
  const e = n.digits.length - n.scale; // |n| is in [10^(e-1), 10^e)
  const weight = Math.floor((e - 1) / DEC_DIGITS);
  const width = e - weight * DEC_DIGITS; // decimal digits of the first base-10000 digit, 1..4
  const first = Number(n.digits.slice(0, width).padEnd(width, "0"));
  return { weight, first };
}

/** numeric.c select_div_scale. */
function divScale(a: Finite, b: Finite): number {
  const x = nbaseLead(a);
  const y = nbaseLead(b);
  let qweight = x.weight - y.weight;
  if (x.first <= y.first) qweight--;
  let rscale = MIN_SIG_DIGITS - qweight * DEC_DIGITS;
  rscale = Math.max(rscale, a.scale, b.scale, 0);
  return Math.min(rscale, MAX_DISPLAY_SCALE);
}

/** Rounds num/den (both > 0) to an integer, half away from zero. */
function roundDiv(num: bigint, den: bigint): bigint {
  return (num * 2n + den) / (den * 2n);
}

export function divNumeric(a: Numeric, b: Numeric, m: Meter = UNMETERED): Numeric {
  charge(m, NUMERIC_OP_STEPS);
  if (a.kind === "nan" || b.kind === "nan") return NAN;
  if (a.kind === "inf") {
    if (b.kind === "inf") return NAN;
    const s = sign(b);
    if (s === 0) throw new WhereEvaluationError("division by zero");
    return s > 0 ? a : negateNumeric(a);
  }
  if (b.kind === "inf") return make(false, "", 0);
  if (b.digits === "") throw new WhereEvaluationError("division by zero");
  const rscale = divScale(a, b);
  if (a.digits === "") return make(false, "", rscale);
  // |a|/|b| * 10^rscale = (a.digits * 10^(rscale + b.scale)) / (b.digits * 10^a.scale); cancel the common power.
  const x = splitZeros(a.digits);
  const y = splitZeros(b.digits);
  const numExp = x.zeros + rscale + b.scale;
  const denExp = y.zeros + a.scale;
  const common = Math.min(numExp, denExp);
  const numPad = numExp - common;
  const denPad = denExp - common;
  charge(m, bigIntProductCost(x.core.length + numPad, y.core.length + denPad));
  const q = roundDiv(toBigInt(x.core, numPad, m), toBigInt(y.core, denPad, m));
  return checked(make(a.neg !== b.neg, q === 0n ? "" : toDigits(q, 0, m), rscale));
}

/** numeric -> int2/int4/int8: round half away from zero (round_var to 0), then the caller's range check. */
export function numericToBigInt(n: Numeric, typeName: string): bigint {
  if (n.kind === "nan") throw new WhereEvaluationError(`cannot convert NaN to ${typeName}`);
  if (n.kind === "inf") throw new WhereEvaluationError(`cannot convert infinity to ${typeName}`);
  const e = n.digits.length - n.scale;
  if (e > 20) throw new WhereEvaluationError(`${typeName} out of range`);
  if (e < 0 || n.digits === "") return 0n;
  const int = e === 0 ? 0n : BigInt(n.digits.slice(0, e));
  const up = n.scale > 0 && n.digits.charCodeAt(e) >= 53 ? 1n : 0n;
  const abs = int + up;
  return n.neg ? -abs : abs;
}

/** numeric -> float8 goes through the text form and strtod in PostgreSQL; Number() rounds the same way. */
export function numericToFloat8(n: Numeric, m: Meter = UNMETERED): number {
  if (n.kind === "nan") return NaN;
  if (n.kind === "inf") return n.negative ? -Infinity : Infinity;
  return Number(formatNumeric(n, m));
}
