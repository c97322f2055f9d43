/**
 * Compiles a typed Expr into closures over a row in PostgreSQL text form. Values: SQL three-valued logic, null is
 * "unknown"; where PostgreSQL raises for a row (overflow, division by zero, ...) the closure throws
 * WhereEvaluationError; when the row's evaluation would take more than its budget, WhereBudgetError.
 *
 * Two ways of evaluating boolean structure (SPEC.md W6):
 *   - `compileExpr` evaluates as PostgreSQL's executor does: AND and OR take their arguments left to right and stop
 *     at the first FALSE (AND) or TRUE (OR); every other node evaluates all its inputs (COALESCE stops at the first
 *     non-null). Used where the printed SQL forces this order (clauses that can raise) and for constant folding.
 *   - `compileOutcomes` evaluates AND, OR, NOT and IS as sets of possible outcomes (outcomes.ts), for clauses
 *     nothing in which can raise: there the order does not matter, and a row missing a column still gets an answer
 *     when the other arguments decide it.
 */
import { typeName, type Expr, type SqlType } from "./ast.ts";
import { COLUMN_READ_STEPS, ELEMENT_COMPARE_STEPS, charge, meter, type Meter } from "./budget.ts";
import { WhereEvaluationError } from "./errors.ts";
import { asciiLower, asciiUpper, like } from "./like.ts";
import { caster } from "./pg-casts.ts";
import { floatArith } from "./pg-float.ts";
import { codePointLength } from "./pg-text.ts";
import { addNumeric, divNumeric, mulNumeric, negateNumeric, subNumeric, type Numeric } from "./pg-numeric.ts";
import { arrayContains, arraysEqual, compareIn, equalIn, hashKey, intArith, isIntType, parseValue, type PgArray, type Value } from "./pg-values.ts";
import { ANY, FALSE, NULL, TRUE, andOutcomes, notOutcomes, orOutcomes, outcomeOf, testOutcomes } from "./outcomes.ts";

export type Row = Record<string, string | null>;

export interface Ctx {
  row: Row;
  parsed: Map<string, Value>;
  m: Meter;
  /** The first error met by compileOutcomes, raised if the result turns out to depend on it. */
  error?: WhereEvaluationError;
}

/** A context for one evaluation; `prepaid` steps of the budget are already spent (the clause's size, W9). */
export function newCtx(row: Row, budget: number, prepaid = 0): Ctx {
  const m = meter(budget);
  m.left -= prepaid;
  return { row, parsed: new Map(), m };
}

export type Evaluator = (ctx: Ctx) => Value;
export type OutcomeEvaluator = (ctx: Ctx) => number;

function readColumn(ctx: Ctx, name: string, type: SqlType): Value {
  const cached = ctx.parsed.get(name);
  if (cached !== undefined) return cached;
  const text = ctx.row[name];
  if (text === undefined) throw new WhereEvaluationError(`row has no value for column "${name}"`);
  charge(ctx.m, COLUMN_READ_STEPS);
  const v = text === null ? null : parseValue(type, text, false, ctx.m);
  if (v === undefined) throw new WhereEvaluationError(`column "${name}" holds text that is not a valid ${typeName(type)}`);
  ctx.parsed.set(name, v);
  return v;
}

function testCompare(op: string, c: number): boolean {
  switch (op) {
    case "=":
      return c === 0;
    case "<>":
      return c !== 0;
    case "<":
      return c < 0;
    case "<=":
      return c <= 0;
    case ">":
      return c > 0;
    default:
      return c >= 0;
  }
}

/** Constant (or param) arrays at least this long are searched through a hash set by `= ANY` and `<> ALL`, as PostgreSQL does from 9. */
const HASHED_ARRAY_MIN = 9;

function quantified(e: Expr & { kind: "quantified" }): Evaluator {
  const [l, r] = [compileExpr(e.left), compileExpr(e.right)];
  const equality = e.op === "=" || e.op === "<>";
  const hashable = (e.op === "=" && !e.all) || (e.op === "<>" && e.all);
  const constant = e.right.kind === "const" || e.right.kind === "param" ? (e.right.value as PgArray | null) : null;
  if (hashable && constant && constant.items.length >= HASHED_ARRAY_MIN) {
    const keys = new Set(constant.items.filter((x) => x !== null).map((x) => hashKey(e.domain, x)));
    const sawNull = constant.items.includes(null);
    // x = ANY: true if found, else NULL if the array has a NULL, else false; x <> ALL is its negation.
    return (ctx) => {
      const a = l(ctx);
      if (a === null) return null;
      if (keys.has(hashKey(e.domain, a))) return !e.all;
      return sawNull ? null : e.all;
    };
  }
  return (ctx) => {
    const a = l(ctx);
    const arr = r(ctx) as PgArray | null;
    if (arr === null) return null;
    if (arr.items.length === 0) return e.all;
    if (a === null) return null;
    charge(ctx.m, arr.items.length * ELEMENT_COMPARE_STEPS);
    let sawNull = false;
    for (const item of arr.items) {
      if (item === null) {
        sawNull = true;
        continue;
      }
      const holds = equality ? equalIn(e.domain, a, item, ctx.m) === (e.op === "=") : testCompare(e.op, compareIn(e.domain, a, item, ctx.m));
      if (holds !== e.all) return !e.all;
    }
    return sawNull ? null : e.all;
  };
}


export function compileExpr(e: Expr): Evaluator {
  switch (e.kind) {
    case "column":
      return (ctx) => readColumn(ctx, e.name, e.type);
    case "const":
    case "param": {
      const v = e.value;
      return () => v;
    }
    case "and":
    case "or": {
      // ExecEvalAnd / ExecEvalOr: left to right, stop at the deciding value, NULL if any input was NULL.
      const args = e.args.map(compileExpr);
      const decides = e.kind === "or";
      return (ctx) => {
        let sawNull = false;
        for (const a of args) {
          const v = a(ctx);
          if (v === null) sawNull = true;
          else if (v === decides) return decides;
        }
        return sawNull ? null : !decides;
      };
    }
    case "not": {
      const arg = compileExpr(e.arg);
      return (ctx) => {
        const v = arg(ctx);
        return v === null ? null : !v;
      };
    }
    case "boolTest": {
      const arg = compileExpr(e.arg);
      const want = e.test === "true" ? true : e.test === "false" ? false : null;
      return (ctx) => (arg(ctx) === want) !== e.negated;
    }
    case "nullTest": {
      const arg = compileExpr(e.arg);
      return (ctx) => (arg(ctx) === null) !== e.negated;
    }
    case "compare": {
      const [l, r] = [compileExpr(e.left), compileExpr(e.right)];
      const array = e.left.type.array;
      const equality = e.op === "=" || e.op === "<>";
      return (ctx) => {
        const a = l(ctx);
        const b = r(ctx);
        if (a === null || b === null) return null;
        if (array) return arraysEqual(e.domain, a as PgArray, b as PgArray, ctx.m) === (e.op === "=");
        if (equality) return equalIn(e.domain, a, b, ctx.m) === (e.op === "=");
        return testCompare(e.op, compareIn(e.domain, a, b, ctx.m));
      };
    }
    case "distinct": {
      const [l, r] = [compileExpr(e.left), compileExpr(e.right)];
      const array = e.left.type.array;
      return (ctx) => {
        const a = l(ctx);
        const b = r(ctx);
        let same: boolean;
        if (a === null || b === null) same = a === b;
        else same = array ? arraysEqual(e.domain, a as PgArray, b as PgArray, ctx.m) : equalIn(e.domain, a, b, ctx.m);
        return same === e.negated;
      };
    }
    case "quantified":
      return quantified(e);
    case "arrayOp": {
      const [l, r] = [compileExpr(e.left), compileExpr(e.right)];
      return (ctx) => {
        const a = l(ctx) as PgArray | null;
        const b = r(ctx) as PgArray | null;
        if (a === null || b === null) return null;
        if (e.op === "@>") return arrayContains(e.domain, a, b, true, ctx.m);
        if (e.op === "<@") return arrayContains(e.domain, b, a, true, ctx.m);
        return arrayContains(e.domain, b, a, false, ctx.m);
      };
    }
    case "like": {
      const l = compileExpr(e.left);
      const fold = e.caseInsensitive;
      if (e.pattern.kind === "const" || e.pattern.kind === "param") {
        const raw = e.pattern.value as string | null;
        const pattern = raw !== null && fold ? asciiLower(raw) : raw;
        return (ctx) => {
          const text = l(ctx) as string | null;
          if (text === null || pattern === null) return null;
          return like(fold ? asciiLower(text, ctx.m) : text, pattern, ctx.m) !== e.negated;
        };
      }
      const p = compileExpr(e.pattern);
      return (ctx) => {
        const text = l(ctx) as string | null;
        const pattern = p(ctx) as string | null;
        if (text === null || pattern === null) return null;
        const m = fold ? like(asciiLower(text, ctx.m), asciiLower(pattern, ctx.m), ctx.m) : like(text, pattern, ctx.m);
        return m !== e.negated;
      };
    }
    case "arith": {
      const [l, r] = [compileExpr(e.left), compileExpr(e.right)];
      const base = e.type.base;
      const numeric = { "+": addNumeric, "-": subNumeric, "*": mulNumeric, "/": divNumeric }[e.op];
      return (ctx) => {
        const a = l(ctx);
        const b = r(ctx);
        if (a === null || b === null) return null;
        if (isIntType(base)) return intArith(e.op, a as bigint, b as bigint, base);
        if (base === "numeric") return numeric(a as Numeric, b as Numeric, ctx.m);
        return floatArith(e.op, a as number, b as number, base === "float4");
      };
    }
    case "negate": {
      const arg = compileExpr(e.arg);
      const base = e.type.base;
      return (ctx) => {
        const v = arg(ctx);
        if (v === null) return null;
        if (isIntType(base)) return intArith("-", 0n, v as bigint, base);
        if (base === "numeric") return negateNumeric(v as Numeric);
        return -(v as number);
      };
    }
    case "concat": {
      const [l, r] = [compileExpr(e.left), compileExpr(e.right)];
      return (ctx) => {
        const a = l(ctx) as string | null;
        const b = r(ctx) as string | null;
        if (a === null || b === null) return null;
        charge(ctx.m, (a.length + b.length) >> 4);
        return a + b;
      };
    }
    case "func": {
      const arg = compileExpr(e.arg);
      const fn = e.name === "lower" ? asciiLower : e.name === "upper" ? asciiUpper : (s: string, m: Meter) => BigInt(codePointLength(s, m));
      return (ctx) => {
        const v = arg(ctx);
        return v === null ? null : fn(v as string, ctx.m);
      };
    }
    case "coalesce": {
      const args = e.args.map(compileExpr);
      return (ctx) => {
        for (const a of args) {
          const v = a(ctx);
          if (v !== null) return v;
        }
        return null;
      };
    }
    case "cast": {
      const arg = compileExpr(e.arg);
      const run = caster(e.arg.type, e.type, false, e.silent);
      if (!run) throw new Error(`no cast from ${typeName(e.arg.type)} to ${typeName(e.type)}`);
      return (ctx) => {
        const v = arg(ctx);
        return v === null ? null : run(v, ctx.m);
      };
    }
    case "array": {
      const elements = e.elements.map(compileExpr);
      return (ctx) => {
        const items = elements.map((el) => el(ctx));
        return items.length === 0 ? { dims: [], lbounds: [], items } : { dims: [items.length], lbounds: [1], items };
      };
    }
  }
}

/** The set of outcomes a boolean expression can have on the row (see outcomes.ts); for clauses that cannot raise. */
export function compileOutcomes(e: Expr): OutcomeEvaluator {
  switch (e.kind) {
    case "and":
    case "or": {
      const args = e.args.map(compileOutcomes);
      const isAnd = e.kind === "and";
      const decided = isAnd ? FALSE : TRUE;
      return (ctx) => {
        let acc = isAnd ? TRUE : FALSE;
        for (const a of args) {
          acc = isAnd ? andOutcomes(acc, a(ctx)) : orOutcomes(acc, a(ctx));
          if (acc === decided) break;
        }
        return acc;
      };
    }
    case "not": {
      const arg = compileOutcomes(e.arg);
      return (ctx) => notOutcomes(arg(ctx));
    }
    case "boolTest": {
      const arg = compileOutcomes(e.arg);
      return (ctx) => testOutcomes(arg(ctx), e.test, e.negated);
    }
    case "nullTest": {
      const isNull = e.negated ? FALSE : TRUE;
      const notNull = e.negated ? TRUE : FALSE;
      if (e.arg.type.base === "bool" && !e.arg.type.array) {
        const arg = compileOutcomes(e.arg);
        return (ctx) => {
          const m = arg(ctx);
          return (m & NULL ? isNull : 0) | (m & (TRUE | FALSE) ? notNull : 0);
        };
      }
      const arg = compileExpr(e.arg);
      return (ctx) => {
        try {
          return arg(ctx) === null ? isNull : notNull;
        } catch (err) {
          if (!(err instanceof WhereEvaluationError)) throw err;
          ctx.error ??= err;
          return isNull | notNull;
        }
      };
    }
    default: {
      const value = compileExpr(e);
      return (ctx) => {
        try {
          return outcomeOf(value(ctx) as boolean | null);
        } catch (err) {
          if (!(err instanceof WhereEvaluationError)) throw err;
          ctx.error ??= err;
          return ANY;
        }
      };
    }
  }
}

/** Whether a set of outcomes is exactly TRUE; throws the error it depends on when TRUE is only one possibility. */
export function outcomeIsTrue(ctx: Ctx, outcomes: number): boolean {
  if (outcomes === TRUE) return true;
  if (!(outcomes & TRUE)) return false;
  throw ctx.error ?? new WhereEvaluationError("evaluation failed");
}
