/**
 * PostgreSQL `numeric` as an exact decimal: `mant / 10^scale`, where `scale` is the display scale (dscale) that
 * PostgreSQL keeps and prints ("1.50" has scale 2). Special values NaN, Infinity, -Infinity as in PostgreSQL 14+.
 * Semantics follow src/backend/utils/adt/numeric.c: NaN equals NaN and sorts above everything (numeric_cmp),
 * + - * are exact, / rounds half away from zero at the scale chosen by select_div_scale.
 */
import { WhereEvaluationError } from "./errors.ts";

export type Numeric =
  | { readonly kind: "finite"; readonly mant: bigint; readonly scale: number }
  | { readonly kind: "nan" }
  | { readonly kind: "inf"; readonly negative: boolean };

const NAN: Numeric = { kind: "nan" };
const POS_INF: Numeric = { kind: "inf", negative: false };
const NEG_INF: Numeric = { kind: "inf", negative: true };
/** numeric.c NUMERIC_MIN_SIG_DIGITS, NUMERIC_MAX_DISPLAY_SCALE, DEC_DIGITS. */
const MIN_SIG_DIGITS = 16;
const MAX_DISPLAY_SCALE = 1000;
const DEC_DIGITS = 4;
/** Input limits we accept for literals; PostgreSQL's own are larger but we reject rather than guess. */
const MAX_INPUT_EXPONENT = 1000;
const MAX_INPUT_DIGITS = 1000;

const pow10Cache: bigint[] = [];
export function pow10(n: number): bigint {
  if (n < 64) return (pow10Cache[n] ??= 10n ** BigInt(n));
  return 10n ** BigInt(n);
}

export function finite(mant: bigint, scale: number): Numeric {
  return { kind: "finite", mant, scale };
}

export function numericFromBigInt(v: bigint): Numeric {
  return finite(v, 0);
}

const DECIMAL = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/;
const SPECIAL = /^([+-]?)(infinity|inf)$/i;

/**
 * Parses numeric text. `strict` (client input) applies size limits; output text from PostgreSQL is read without them.
 * Returns undefined when the text is not a plain decimal, NaN or Infinity (PostgreSQL accepts more, e.g. spaces and
 * underscores; those are rejected here rather than interpreted).
 */
export function parseNumeric(text: string, strict: boolean): Numeric | undefined {
  if (/^nan$/i.test(text)) return NAN;
  const special = SPECIAL.exec(text);
  if (special) return special[1] === "-" ? NEG_INF : POS_INF;
  const m = DECIMAL.exec(text);
  if (!m) return undefined;
  const intPart = m[2] ?? "";
  const fracPart = m[3] ?? "";
  if (intPart.length + fracPart.length === 0) return undefined;
  const exp = m[4] === undefined ? 0 : Number(m[4]);
  if (strict && (Math.abs(exp) > MAX_INPUT_EXPONENT || intPart.length + fracPart.length > MAX_INPUT_DIGITS)) return undefined;
  let mant = BigInt(intPart + fracPart || "0");
  let scale = fracPart.length - exp;
  if (scale < 0) {
    mant *= pow10(-scale);
    scale = 0;
  }
  if (strict && scale > MAX_DISPLAY_SCALE) return undefined;
  return finite(m[1] === "-" ? -mant : mant, scale);
}

export function formatNumeric(n: Numeric): string {
  if (n.kind === "nan") return "NaN";
  if (n.kind === "inf") return n.negative ? "-Infinity" : "Infinity";
  const neg = n.mant < 0n;
  const digits = (neg ? -n.mant : n.mant).toString().padStart(n.scale + 1, "0");
  const cut = digits.length - n.scale;
  const body = n.scale === 0 ? digits : `${digits.slice(0, cut)}.${digits.slice(cut)}`;
  return neg && n.mant !== 0n ? `-${body}` : body;
}

function rescale(n: { mant: bigint; scale: number }, scale: number): bigint {
  return n.mant * pow10(scale - n.scale);
}

/** numeric_cmp: -Infinity < finite < Infinity < NaN; NaN = NaN. */
export function compareNumeric(a: Numeric, b: Numeric): number {
  const rank = (x: Numeric) => (x.kind === "nan" ? 2 : x.kind === "inf" ? (x.negative ? -1 : 1) : 0);
  const ra = rank(a);
  const rb = rank(b);
  if (ra !== rb || ra !== 0) return Math.sign(ra - rb);
  if (a.kind !== "finite" || b.kind !== "finite") return 0;
  const s = Math.max(a.scale, b.scale);
  const x = rescale(a, s);
  const y = rescale(b, s);
  return x < y ? -1 : x > y ? 1 : 0;
}

function sign(n: Numeric): number {
  if (n.kind === "inf") return n.negative ? -1 : 1;
  if (n.kind === "finite") return n.mant < 0n ? -1 : n.mant > 0n ? 1 : 0;
  return 0;
}

export function negateNumeric(n: Numeric): Numeric {
  if (n.kind === "nan") return n;
  if (n.kind === "inf") return n.negative ? POS_INF : NEG_INF;
  return finite(-n.mant, n.scale);
}

export function addNumeric(a: Numeric, b: Numeric): Numeric {
  if (a.kind === "nan" || b.kind === "nan") return NAN;
  if (a.kind === "inf") return b.kind === "inf" && b.negative !== a.negative ? NAN : a;
  if (b.kind === "inf") return b;
  const s = Math.max(a.scale, b.scale);
  return finite(rescale(a, s) + rescale(b, s), s);
}

export function subNumeric(a: Numeric, b: Numeric): Numeric {
  return addNumeric(a, negateNumeric(b));
}

export function mulNumeric(a: Numeric, b: Numeric): Numeric {
  if (a.kind === "nan" || b.kind === "nan") return NAN;
  if (a.kind === "inf" || b.kind === "inf") {
    const s = sign(a) * sign(b);
    return s === 0 ? NAN : s < 0 ? NEG_INF : POS_INF;
  }
  return finite(a.mant * b.mant, a.scale + b.scale);
}

/** Weight (in base-10000 digits, aligned on the decimal point) and value of the first non-zero NBASE digit. */
function nbaseLead(n: { mant: bigint; scale: number }): { weight: number; first: number } {
  const abs = n.mant < 0n ? -n.mant : n.mant;
  if (abs === 0n) return { weight: 0, first: 0 };
  const exp10 = abs.toString().length - 1 - n.scale; // |n| in [10^exp10, 10^(exp10+1))
  const weight = Math.floor(exp10 / DEC_DIGITS);
  const shift = n.scale + weight * DEC_DIGITS; // first = floor(|n| / 10000^weight) = floor(abs / 10^shift)
  const first = shift >= 0 ? abs / pow10(shift) : abs * pow10(-shift);
  return { weight, first: Number(first) };
}

/** numeric.c select_div_scale. */
function divScale(a: { mant: bigint; scale: number }, b: { mant: bigint; scale: number }): number {
  const x = nbaseLead(a);
  const y = nbaseLead(b);
  let qweight = x.weight - y.weight;
  if (x.first <= y.first) qweight--;
  let rscale = MIN_SIG_DIGITS - qweight * DEC_DIGITS;
  rscale = Math.max(rscale, a.scale, b.scale, 0);
  return Math.min(rscale, MAX_DISPLAY_SCALE);
}

/** Rounds num/den (den > 0) to an integer, half away from zero. */
function roundDiv(num: bigint, den: bigint): bigint {
  const neg = num < 0n;
  const abs = neg ? -num : num;
  const q = (abs * 2n + den) / (den * 2n);
  return neg ? -q : q;
}

export function divNumeric(a: Numeric, b: Numeric): Numeric {
  if (a.kind === "nan" || b.kind === "nan") return NAN;
  if (a.kind === "inf") {
    if (b.kind === "inf") return NAN;
    const s = sign(b);
    if (s === 0) throw new WhereEvaluationError("division by zero");
    return s > 0 ? a : negateNumeric(a);
  }
  if (b.kind === "inf") return finite(0n, 0);
  if (b.mant === 0n) throw new WhereEvaluationError("division by zero");
  const rscale = divScale(a, b);
  // a/b = (a.mant / 10^a.scale) / (b.mant / 10^b.scale); scaled by 10^rscale.
  let num = a.mant * pow10(rscale + b.scale);
  let den = b.mant * pow10(a.scale);
  if (den < 0n) {
    num = -num;
    den = -den;
  }
  return finite(roundDiv(num, den), rscale);
}

/** numeric -> integer: round half away from zero (numeric_int8 via round_var). */
export function numericToBigInt(n: Numeric, typeName: string): bigint {
  if (n.kind === "nan") throw new WhereEvaluationError(`cannot convert NaN to ${typeName}`);
  if (n.kind === "inf") throw new WhereEvaluationError(`cannot convert infinity to ${typeName}`);
  return roundDiv(n.mant, pow10(n.scale));
}

/** numeric -> float8 goes through the text form and strtod in PostgreSQL; Number() rounds the same way. */
export function numericToFloat8(n: Numeric): number {
  if (n.kind === "nan") return NaN;
  if (n.kind === "inf") return n.negative ? -Infinity : Infinity;
  return Number(formatNumeric(n));
}

export function isIntegral(n: Numeric): boolean {
  return n.kind === "finite" && n.mant % pow10(n.scale) === 0n;
}
