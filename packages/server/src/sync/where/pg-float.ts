/**
 * float4 / float8 as JS numbers (a float4 is held as the double with the same value).
 * Semantics follow src/include/utils/float.h: NaN equals NaN and sorts above everything; arithmetic raises
 * "value out of range: overflow/underflow" and "division by zero" where PostgreSQL does.
 * Row text is read as PostgreSQL prints it with extra_float_digits >= 1 (the default), i.e. shortest exact form.
 */
import { WhereEvaluationError } from "./errors.ts";

const FLOAT_TEXT = /^([+-]?)(\d+\.?\d*|\.\d+)(?:[eE]([+-]?\d+))?$/;
const FLOAT_SPECIAL = /^([+-]?)(infinity|inf|nan)$/i;

function parseDouble(text: string): { value: number; zeroDigits: boolean } | undefined {
  const special = FLOAT_SPECIAL.exec(text);
  if (special) {
    const word = special[2]!.toLowerCase();
    if (word === "nan") return { value: NaN, zeroDigits: false };
    return { value: special[1] === "-" ? -Infinity : Infinity, zeroDigits: false };
  }
  const m = FLOAT_TEXT.exec(text);
  if (!m) return undefined;
  return { value: Number(text), zeroDigits: !/[1-9]/.test(m[2]!) };
}

/** float8in on plain decimal text; undefined when invalid or out of range (PostgreSQL raises for those). */
export function parseFloat8(text: string): number | undefined {
  const d = parseDouble(text);
  if (!d) return undefined;
  if (!FLOAT_SPECIAL.test(text) && (!Number.isFinite(d.value) || (d.value === 0 && !d.zeroDigits))) return undefined;
  return d.value;
}

/** float4in: the decimal rounded once to the nearest float4 (ties to even), like strtof. */
export function parseFloat4(text: string): number | undefined {
  const d = parseDouble(text);
  if (!d) return undefined;
  if (FLOAT_SPECIAL.test(text)) return d.value;
  const f = decimalToFloat4(text, d.value);
  if (!Number.isFinite(f) || (f === 0 && !d.zeroDigits)) return undefined;
  return f;
}

const view = new DataView(new ArrayBuffer(8));

function nextFloat4(f: number, up: boolean): number {
  view.setFloat32(0, f);
  let bits = view.getUint32(0);
  if (f === 0) bits = up ? 1 : 0x80000001;
  else if (f > 0 === up) bits += 1;
  else bits -= 1;
  view.setUint32(0, bits);
  return view.getFloat32(0);
}

/** Exact value of a finite double as mant * 2^exp. */
function doubleParts(x: number): { mant: bigint; exp: number } {
  view.setFloat64(0, x);
  const hi = view.getUint32(0);
  const lo = view.getUint32(4);
  const biased = (hi >>> 20) & 0x7ff;
  let mant = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
  if (biased !== 0) mant |= 1n << 52n;
  const exp = (biased === 0 ? 1 : biased) - 1075;
  return { mant: x < 0 ? -mant : mant, exp };
}

/** Exact value of decimal text as mant * 10^exp. */
function decimalParts(text: string): { mant: bigint; exp: number } {
  const m = FLOAT_TEXT.exec(text)!;
  const [intPart, fracPart = ""] = m[2]!.split(".");
  const mant = BigInt((intPart ?? "") + fracPart || "0");
  return { mant: m[1] === "-" ? -mant : mant, exp: Number(m[3] ?? 0) - fracPart.length };
}

function compareExact(dec: { mant: bigint; exp: number }, bin: { mant: bigint; exp: number }): number {
  let a = dec.mant;
  let b = bin.mant;
  if (dec.exp >= 0) a *= 10n ** BigInt(dec.exp);
  else b *= 10n ** BigInt(-dec.exp);
  if (bin.exp >= 0) b *= 2n ** BigInt(bin.exp);
  else a *= 2n ** BigInt(-bin.exp);
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Math.fround(Number(text)) rounds twice (decimal -> double -> float). That differs from one rounding only when
 * the double lands exactly on a midpoint between two float4 values; then compare the decimal with it exactly.
 */
export function decimalToFloat4(text: string, asDouble: number): number {
  const f = Math.fround(asDouble);
  if (f === asDouble || !Number.isFinite(f)) return f;
  const other = nextFloat4(f, asDouble > f);
  const mid = (f + other) / 2;
  if (mid !== asDouble) return f;
  const c = compareExact(decimalParts(text), doubleParts(mid));
  if (c === 0) return f; // a true tie: fround already chose the even neighbour
  return c > 0 === other > f ? other : f;
}

/** float8_cmp_internal. */
export function compareFloat(a: number, b: number): number {
  if (Number.isNaN(a)) return Number.isNaN(b) ? 0 : 1;
  if (Number.isNaN(b)) return -1;
  return a < b ? -1 : a > b ? 1 : 0;
}

export type FloatOp = "+" | "-" | "*" | "/";

/** float8_pl/mi/mul/div (and the float4 versions when `single`), with PostgreSQL's range checks. */
export function floatArith(op: FloatOp, a: number, b: number, single: boolean): number {
  if (op === "/" && b === 0 && !Number.isNaN(a)) throw new WhereEvaluationError("division by zero");
  let r = op === "+" ? a + b : op === "-" ? a - b : op === "*" ? a * b : a / b;
  if (single) r = Math.fround(r);
  const infiniteInput = op === "/" ? !Number.isFinite(a) : !Number.isFinite(a) || !Number.isFinite(b);
  if ((r === Infinity || r === -Infinity) && !infiniteInput) throw new WhereEvaluationError("value out of range: overflow");
  if (r === 0 && a !== 0) {
    if ((op === "*" && b !== 0) || (op === "/" && Number.isFinite(b))) throw new WhereEvaluationError("value out of range: underflow");
  }
  return r;
}

/** rint(): round half to even. */
function roundHalfEven(x: number): number {
  const f = Math.floor(x);
  const diff = x - f;
  if (diff < 0.5) return f;
  if (diff > 0.5) return f + 1;
  return f % 2 === 0 ? f : f + 1;
}

/** float -> int2/int4/int8 (ftoi4, dtoi8, ...): rint then range check. */
export function floatToBigInt(x: number, bits: 16 | 32 | 64, typeName: string): bigint {
  const limit = 2 ** (bits - 1);
  const r = Number.isFinite(x) ? roundHalfEven(x) : NaN;
  if (Number.isNaN(r) || r < -limit || r >= limit) throw new WhereEvaluationError(`${typeName} out of range`);
  return BigInt(r);
}

/** float8 -> float4 (float8_to_float4 checks both overflow and underflow). */
export function float8ToFloat4(x: number): number {
  const r = Math.fround(x);
  if (!Number.isFinite(r) && Number.isFinite(x)) throw new WhereEvaluationError("value out of range: overflow");
  if (r === 0 && x !== 0) throw new WhereEvaluationError("value out of range: underflow");
  return r;
}

/** Text that float4in/float8in read back as exactly `x`. */
export function formatFloat(x: number): string {
  if (Object.is(x, -0)) return "-0";
  if (Number.isNaN(x)) return "NaN";
  return String(x);
}
