/**
 * Values in PostgreSQL text form, per type: parse (row values as PostgreSQL prints them, and client literals/params,
 * `strict`), print, and compare. In-memory forms:
 *   int2/int4/int8 bigint · numeric Numeric · float4/float8 number · text/uuid string (uuid lower-case, hyphenated)
 *   bool boolean · date number (day) · timestamp/timestamptz bigint (microseconds since 2000) · jsonb string
 *   (canonical text, pg-jsonb.ts) · arrays PgArray
 * Literal input is deliberately narrower than PostgreSQL's (no surrounding spaces, no `1_000` or `0x1F` in strings,
 * ISO dates only): anything accepted here means the same to PostgreSQL, the rest is rejected, never guessed.
 */
import type { BaseType, Domain, SqlType } from "./ast.ts";
import { ELEMENT_COMPARE_STEPS, UNMETERED, charge, linearCost, type Meter } from "./budget.ts";
import { WhereEvaluationError } from "./errors.ts";
import { formatArrayText, parseArrayText } from "./pg-array.ts";
import { formatDate, formatTimestamp, parseDate, parseTimestamp } from "./pg-datetime.ts";
import { compareFloat, formatFloat, parseFloat4, parseFloat8 } from "./pg-float.ts";
import { parseJsonb } from "./pg-jsonb.ts";
import { compareNumeric, formatNumeric, numericKey, parseNumeric, type Numeric } from "./pg-numeric.ts";
import { compareText } from "./pg-text.ts";

export { compareText } from "./pg-text.ts";

export interface PgArray {
  dims: number[];
  lbounds: number[];
  items: Value[];
}

export type Value = null | boolean | string | number | bigint | Numeric | PgArray;

export const INT_RANGES: Record<"int2" | "int4" | "int8", { min: bigint; max: bigint; name: string }> = {
  int2: { min: -(2n ** 15n), max: 2n ** 15n - 1n, name: "smallint" },
  int4: { min: -(2n ** 31n), max: 2n ** 31n - 1n, name: "integer" },
  int8: { min: -(2n ** 63n), max: 2n ** 63n - 1n, name: "bigint" },
};

const BOOL_WORDS: Record<string, boolean> = {
  t: true, true: true, y: true, yes: true, on: true, "1": true,
  f: false, false: false, n: false, no: false, off: false, "0": false,
};
const UUID = /^([0-9a-f]{8})-?([0-9a-f]{4})-?([0-9a-f]{4})-?([0-9a-f]{4})-?([0-9a-f]{12})$/i;

export function isIntType(base: BaseType): base is "int2" | "int4" | "int8" {
  return base === "int2" || base === "int4" || base === "int8";
}

/**
 * One non-null scalar from text; undefined if PostgreSQL would reject it (or we would not read it the same way).
 * `m` is charged for reading text whose length is not bounded by the type.
 */
export function parseScalar(base: BaseType, text: string, strict: boolean, m: Meter = UNMETERED): Value | undefined {
  switch (base) {
    case "int2":
    case "int4":
    case "int8": {
      if (text.length > 40 || !/^[+-]?\d+$/.test(text)) return undefined;
      const v = BigInt(text);
      const r = INT_RANGES[base];
      return v < r.min || v > r.max ? undefined : v;
    }
    case "numeric":
      return parseNumeric(text, strict, m);
    case "float4":
      return text.length > 1000 ? undefined : parseFloat4(text);
    case "float8":
      return text.length > 1000 ? undefined : parseFloat8(text);
    case "text":
      return strict && text.includes("\u0000") ? undefined : text;
    case "bool":
      return BOOL_WORDS[text.toLowerCase()];
    case "date":
      return parseDate(text);
    case "timestamp":
    case "timestamptz":
      return parseTimestamp(text, base === "timestamptz");
    case "uuid": {
      const m = UUID.exec(text);
      return m ? m.slice(1).join("-").toLowerCase() : undefined;
    }
    case "jsonb":
      return parseJsonb(text, strict, m);
  }
}

/** A scalar or array value from text. */
export function parseValue(type: SqlType, text: string, strict: boolean, m: Meter = UNMETERED): Value | undefined {
  if (!type.array) return parseScalar(type.base, text, strict, m);
  const a = parseArrayText(text, m);
  if (!a) return undefined;
  const items: Value[] = [];
  for (const item of a.items) {
    if (item === null) {
      items.push(null);
      continue;
    }
    const v = parseScalar(type.base, item, strict, m);
    if (v === undefined) return undefined;
    items.push(v);
  }
  return { dims: a.dims, lbounds: a.lbounds, items };
}

/** Text that PostgreSQL's input function reads back as the same value (its output form where we have one). */
export function formatScalar(base: BaseType, v: Value): string {
  switch (base) {
    case "int2":
    case "int4":
    case "int8":
      return String(v as bigint);
    case "numeric":
      return formatNumeric(v as Numeric);
    case "float4":
    case "float8":
      return formatFloat(v as number);
    case "text":
    case "uuid":
      return v as string;
    case "bool":
      return v ? "true" : "false";
    case "date":
      return formatDate(v as number);
    case "timestamp":
    case "timestamptz":
      return formatTimestamp(v as bigint, base === "timestamptz");
    case "jsonb":
      return v as string;
  }
}

export function formatValue(type: SqlType, v: Value): string {
  if (!type.array) return formatScalar(type.base, v);
  const a = v as PgArray;
  return formatArrayText({ dims: a.dims, lbounds: a.lbounds, items: a.items.map((x) => (x === null ? null : formatScalar(type.base, x))) });
}

function compareBig(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Three-way comparison of two non-null values of a domain (jsonb: 0 when equal, 1 otherwise). */
export function compareIn(domain: Domain, a: Value, b: Value, m: Meter = UNMETERED): number {
  switch (domain) {
    case "int":
    case "timestamp":
    case "timestamptz":
      return compareBig(a as bigint, b as bigint);
    case "numeric":
      return compareNumeric(a as Numeric, b as Numeric, m);
    case "float":
      return compareFloat(a as number, b as number);
    case "date":
      return a === b ? 0 : (a as number) < (b as number) ? -1 : 1;
    case "text":
    case "uuid":
      return compareText(a as string, b as string, m);
    case "bool":
      return a === b ? 0 : a ? 1 : -1;
    case "jsonb":
      return equalIn(domain, a, b, m) ? 0 : 1;
  }
}

/** Equality in a domain: like compareIn(...) === 0, with strings compared natively. */
export function equalIn(domain: Domain, a: Value, b: Value, m: Meter = UNMETERED): boolean {
  if (domain === "text" || domain === "uuid" || domain === "jsonb") {
    charge(m, linearCost(Math.min((a as string).length, (b as string).length)));
    return a === b;
  }
  return compareIn(domain, a, b, m) === 0;
}

/**
 * A key that two non-null values of a domain share exactly when they are equal (SameValueZero on the key). NaN
 * keys equal NaN, and -0 equals 0, as PostgreSQL's float equality says; jsonb values are canonical texts.
 */
export function hashKey(domain: Domain, v: Value): unknown {
  return domain === "numeric" ? numericKey(v as Numeric) : v;
}

/** array_eq: same dimensions and lower bounds, elements equal, NULL elements equal to each other. */
export function arraysEqual(domain: Domain, a: PgArray, b: PgArray, m: Meter = UNMETERED): boolean {
  if (a.dims.length !== b.dims.length || a.dims.some((d, i) => d !== b.dims[i] || a.lbounds[i] !== b.lbounds[i])) return false;
  charge(m, a.items.length * ELEMENT_COMPARE_STEPS);
  return a.items.every((x, i) => {
    const y = b.items[i]!;
    if (x === null || y === null) return x === y;
    return equalIn(domain, x, y, m);
  });
}

export function domainOf(base: BaseType): Domain {
  switch (base) {
    case "int2":
    case "int4":
    case "int8":
      return "int";
    case "float4":
    case "float8":
      return "float";
    default:
      return base;
  }
}

/**
 * array_contain_compare: does every element of `needles` occur in `hay`? (any, for &&). NULL elements never match.
 * Large inputs are matched through a hash set of `hay` where the domain has keys, so the cost is linear.
 */
export function arrayContains(domain: Domain, hay: PgArray, needles: PgArray, all: boolean, m: Meter = UNMETERED): boolean {
  const pairs = hay.items.length * needles.items.length;
  let keys: Set<unknown> | undefined;
  if (pairs > 64) {
    charge(m, (hay.items.length + needles.items.length) * ELEMENT_COMPARE_STEPS);
    keys = new Set();
    for (const h of hay.items) if (h !== null) keys.add(hashKey(domain, h));
  } else charge(m, pairs * ELEMENT_COMPARE_STEPS);
  for (const n of needles.items) {
    if (n === null) {
      if (all) return false;
      continue;
    }
    const found = keys ? keys.has(hashKey(domain, n)) : hay.items.some((h) => h !== null && equalIn(domain, h, n, m));
    if (found && !all) return true;
    if (!found && all) return false;
  }
  return all;
}

/** int2/int4/int8 + - * / in the result type, with PostgreSQL's errors; division truncates toward zero. */
export function intArith(op: string, a: bigint, b: bigint, base: "int2" | "int4" | "int8"): bigint {
  if (op === "/" && b === 0n) throw new WhereEvaluationError("division by zero");
  const r = op === "+" ? a + b : op === "-" ? a - b : op === "*" ? a * b : a / b;
  const range = INT_RANGES[base];
  if (r < range.min || r > range.max) throw new WhereEvaluationError(`${range.name} out of range`);
  return r;
}
