/**
 * Casts between supported types (pg_cast), run on non-null values. `implicit` marks the casts PostgreSQL applies by
 * itself when resolving operators (castcontext 'i'); the others need an explicit `::type` or CAST. Casts from text
 * to other types are only allowed on constants (checked when compiling), since their run-time parse rules are wide.
 * Casts that depend on session settings (anything to/from timestamptz, float and date/time to text) are absent.
 */
import type { BaseType, SqlType } from "./ast.ts";
import { ELEMENT_COMPARE_STEPS, UNMETERED, charge, decimalConversionCost, type Meter } from "./budget.ts";
import { WhereEvaluationError } from "./errors.ts";
import { dateToTimestamp, dateToTimestampForComparison, timestampToDate } from "./pg-datetime.ts";
import { decimalToFloat4, float8ToFloat4, floatToBigInt } from "./pg-float.ts";
import { formatNumeric, isZero, numericFromBigInt, numericToBigInt, numericToFloat8, type Numeric } from "./pg-numeric.ts";
import { INT_RANGES, isIntType, type PgArray, type Value } from "./pg-values.ts";

/** Converts one non-null value; `m` is charged for work that grows with the value. */
export type Caster = (v: Value, m?: Meter) => Value;

interface CastRule {
  implicit: boolean;
  run: Caster;
}

const NUMERIC_ORDER: BaseType[] = ["int2", "int4", "int8", "numeric", "float4", "float8"];

function toInt(target: "int2" | "int4" | "int8"): (v: bigint) => bigint {
  const r = INT_RANGES[target];
  return (v) => {
    if (v < r.min || v > r.max) throw new WhereEvaluationError(`${r.name} out of range`);
    return v;
  };
}

function checkedFloat8(n: Numeric, m: Meter): number {
  const x = numericToFloat8(n, m);
  if (n.kind === "finite" && (!Number.isFinite(x) || (x === 0 && !isZero(n)))) {
    throw new WhereEvaluationError(`"${formatNumeric(n)}" is out of range for type double precision`);
  }
  return x;
}

function checkedFloat4(text: string, asDouble: number, nonZero: boolean): number {
  const f = decimalToFloat4(text, asDouble);
  if ((Number.isFinite(asDouble) && !Number.isFinite(f)) || (f === 0 && nonZero)) {
    throw new WhereEvaluationError(`"${text}" is out of range for type real`);
  }
  return f;
}

function rule(from: BaseType, to: BaseType): CastRule | undefined {
  const fromNum = NUMERIC_ORDER.indexOf(from);
  const toNum = NUMERIC_ORDER.indexOf(to);
  // Widening among numeric types is implicit, except float4 -> numeric which is not a cast PostgreSQL applies alone.
  const implicit = fromNum >= 0 && toNum > fromNum;
  if (isIntType(from)) {
    if (isIntType(to)) return { implicit, run: (v) => toInt(to)(v as bigint) };
    if (to === "numeric") return { implicit, run: (v) => numericFromBigInt(v as bigint) };
    if (to === "float8") return { implicit, run: (v) => Number(v as bigint) };
    if (to === "float4") return { implicit, run: (v) => checkedFloat4(String(v), Number(v as bigint), false) };
    if (to === "text") return { implicit: false, run: (v) => String(v) };
    if (to === "bool" && from === "int4") return { implicit: false, run: (v) => v !== 0n };
    return undefined;
  }
  if (from === "numeric") {
    if (isIntType(to)) return { implicit: false, run: (v) => toInt(to)(numericToBigInt(v as Numeric, INT_RANGES[to].name)) };
    if (to === "float8") return { implicit, run: (v, m = UNMETERED) => checkedFloat8(v as Numeric, m) };
    if (to === "float4") {
      return {
        implicit,
        run: (v, m = UNMETERED) => {
          const n = v as Numeric;
          const text = formatNumeric(n, m);
          // Rounding to float4 may compare the decimal with a float4 midpoint exactly, as a BigInt.
          if (text.length > 100) charge(m, decimalConversionCost(text.length));
          return n.kind === "finite" ? checkedFloat4(text, Number(text), !isZero(n)) : numericToFloat8(n);
        },
      };
    }
    if (to === "text") return { implicit: false, run: (v, m = UNMETERED) => formatNumeric(v as Numeric, m) };
    return undefined;
  }
  if (from === "float4" || from === "float8") {
    if (isIntType(to)) return { implicit: false, run: (v) => floatToBigInt(v as number, to === "int2" ? 16 : to === "int4" ? 32 : 64, INT_RANGES[to].name) };
    if (to === "float8") return { implicit, run: (v) => v };
    if (to === "float4") return { implicit: false, run: (v) => float8ToFloat4(v as number) };
    return undefined;
  }
  if (from === "bool" && to === "int4") return { implicit: false, run: (v) => (v ? 1n : 0n) };
  if (from === "bool" && to === "text") return { implicit: false, run: (v) => (v ? "true" : "false") };
  if (from === "uuid" && to === "text") return { implicit: false, run: (v) => v };
  if (from === "date" && to === "timestamp") return { implicit: true, run: (v) => dateToTimestamp(v as number) };
  if (from === "timestamp" && to === "date") return { implicit: false, run: (v) => timestampToDate(v as bigint) };
  return undefined;
}

/**
 * The function converting a non-null value of `from` into `to`, or undefined when no such cast is supported
 * (with `implicitOnly`, when PostgreSQL would not apply it on its own). `silent` is the conversion done inside a
 * cross-type comparison operator rather than by a cast: date -> timestamp then never raises (date_cmp_timestamp).
 */
export function caster(from: SqlType, to: SqlType, implicitOnly: boolean, silent = false): Caster | undefined {
  if (from.array !== to.array) return undefined;
  let run: Caster;
  if (from.base === to.base) run = (v) => v;
  else if (silent && from.base === "date" && to.base === "timestamp") run = (v) => dateToTimestampForComparison(v as number);
  else {
    const r = rule(from.base, to.base);
    if (!r || (implicitOnly && !r.implicit)) return undefined;
    run = r.run;
  }
  if (!from.array) return run;
  return (v, m = UNMETERED) => {
    const a = v as PgArray;
    charge(m, a.items.length * ELEMENT_COMPARE_STEPS);
    return { dims: a.dims, lbounds: a.lbounds, items: a.items.map((x) => (x === null ? null : run(x, m))) };
  };
}

/** Whether the cast can raise for some input (W12): narrowing, float and numeric conversions, date -> timestamp. */
export function castCanRaise(from: SqlType, to: SqlType, silent: boolean): boolean {
  if (from.base === to.base) return false;
  if (silent) return false;
  if (isIntType(from.base)) {
    if (isIntType(to.base)) return NUMERIC_ORDER.indexOf(to.base) < NUMERIC_ORDER.indexOf(from.base);
    return false; // to numeric, float4, float8, text, bool
  }
  if (from.base === "numeric") return to.base !== "text";
  if (from.base === "float4" || from.base === "float8") return !(from.base === "float4" && to.base === "float8");
  if (from.base === "date" && to.base === "timestamp") return true;
  return false;
}

export function implicitlyCastable(from: BaseType, to: BaseType): boolean {
  return from === to || rule(from, to)?.implicit === true;
}
