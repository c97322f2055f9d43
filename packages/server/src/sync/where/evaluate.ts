/**
 * Compiles a typed Expr into closures over a row in PostgreSQL text form. Values: SQL three-valued logic, null is
 * "unknown"; where PostgreSQL raises for a row (overflow, division by zero, ...) the value closure throws
 * WhereEvaluationError. Boolean structure (AND, OR, NOT, IS ...) is evaluated as sets of possible outcomes
 * (outcomes.ts), so an error only surfaces when the row's result depends on it.
 */
import { typeName, type Expr, type SqlType } from "./ast.ts";
import { WhereEvaluationError } from "./errors.ts";
import { asciiLower, asciiUpper, like } from "./like.ts";
import { caster } from "./pg-casts.ts";
import { floatArith } from "./pg-float.ts";
import { addNumeric, divNumeric, mulNumeric, negateNumeric, subNumeric, type Numeric } from "./pg-numeric.ts";
import { arrayContains, arraysEqual, compareIn, intArith, isIntType, parseValue, type PgArray, type Value } from "./pg-values.ts";
import { ANY, FALSE, NULL, TRUE, andOutcomes, notOutcomes, orOutcomes, outcomeOf, testOutcomes, valueOf } from "./outcomes.ts";

export type Row = Record<string, string | null>;

interface Ctx {
  row: Row;
  parsed: Map<string, Value>;
  /** The first error met, raised if the result turns out to depend on it. */
  error?: WhereEvaluationError;
}

export type Evaluator = (ctx: Ctx) => Value;
type OutcomeEvaluator = (ctx: Ctx) => number;

function readColumn(ctx: Ctx, name: string, type: SqlType): Value {
  const cached = ctx.parsed.get(name);
  if (cached !== undefined) return cached;
  const text = ctx.row[name];
  if (text === undefined) throw new WhereEvaluationError(`row has no value for column "${name}"`);
  const v = text === null ? null : parseValue(type, text, false);
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
    case "or":
    case "not":
    case "nullTest":
    case "boolTest": {
      const outcomes = compileOutcomes(e);
      return (ctx) => {
        const v = valueOf(outcomes(ctx));
        if (v === undefined) throw ctx.error ?? new WhereEvaluationError("evaluation failed");
        return v;
      };
    }
    case "compare": {
      const [l, r] = [compileExpr(e.left), compileExpr(e.right)];
      const array = e.left.type.array;
      return (ctx) => {
        const a = l(ctx);
        const b = r(ctx);
        if (a === null || b === null) return null;
        if (array) return arraysEqual(e.domain, a as PgArray, b as PgArray) === (e.op === "=");
        return testCompare(e.op, compareIn(e.domain, a, b));
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
        else same = array ? arraysEqual(e.domain, a as PgArray, b as PgArray) : compareIn(e.domain, a, b) === 0;
        return same === e.negated;
      };
    }
    case "quantified": {
      const [l, r] = [compileExpr(e.left), compileExpr(e.right)];
      return (ctx) => {
        const a = l(ctx);
        const arr = r(ctx) as PgArray | null;
        if (arr === null) return null;
        if (arr.items.length === 0) return e.all;
        if (a === null) return null;
        let sawNull = false;
        for (const item of arr.items) {
          if (item === null) {
            sawNull = true;
            continue;
          }
          if (testCompare(e.op, compareIn(e.domain, a, item)) !== e.all) return !e.all;
        }
        return sawNull ? null : e.all;
      };
    }
    case "arrayOp": {
      const [l, r] = [compileExpr(e.left), compileExpr(e.right)];
      const equal = (a: Value, b: Value) => compareIn(e.domain, a, b) === 0;
      return (ctx) => {
        const a = l(ctx) as PgArray | null;
        const b = r(ctx) as PgArray | null;
        if (a === null || b === null) return null;
        if (e.op === "@>") return arrayContains(equal, a, b, true);
        if (e.op === "<@") return arrayContains(equal, b, a, true);
        return arrayContains(equal, b, a, false);
      };
    }
    case "like": {
      const [l, p] = [compileExpr(e.left), compileExpr(e.pattern)];
      return (ctx) => {
        const text = l(ctx) as string | null;
        const pattern = p(ctx) as string | null;
        if (text === null || pattern === null) return null;
        const m = e.caseInsensitive ? like(asciiLower(text), asciiLower(pattern)) : like(text, pattern);
        return m !== e.negated;
      };
    }
    case "arith": {
      const [l, r] = [compileExpr(e.left), compileExpr(e.right)];
      const base = e.type.base;
      return (ctx) => {
        const a = l(ctx);
        const b = r(ctx);
        if (a === null || b === null) return null;
        if (isIntType(base)) return intArith(e.op, a as bigint, b as bigint, base);
        if (base === "numeric") {
          const fn = { "+": addNumeric, "-": subNumeric, "*": mulNumeric, "/": divNumeric }[e.op];
          return fn(a as Numeric, b as Numeric);
        }
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
        const a = l(ctx);
        const b = r(ctx);
        return a === null || b === null ? null : (a as string) + (b as string);
      };
    }
    case "func": {
      const arg = compileExpr(e.arg);
      const fn = e.name === "lower" ? asciiLower : e.name === "upper" ? asciiUpper : (s: string) => BigInt(Array.from(s).length);
      return (ctx) => {
        const v = arg(ctx);
        return v === null ? null : fn(v as string);
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
      const run = caster(e.arg.type, e.type, false);
      if (!run) throw new Error(`no cast from ${typeName(e.arg.type)} to ${typeName(e.type)}`);
      return (ctx) => {
        const v = arg(ctx);
        return v === null ? null : run(v);
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

/** The set of outcomes a boolean expression can have on the row (see outcomes.ts). */
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

/** Runs a compiled clause: true only when the clause is TRUE; throws when that depends on a failed part. */
export function evaluate(outcomes: OutcomeEvaluator, row: Row): boolean {
  const ctx: Ctx = { row, parsed: new Map() };
  const m = outcomes(ctx);
  if (m === TRUE) return true;
  if (!(m & TRUE)) return false;
  throw ctx.error ?? new WhereEvaluationError("evaluation failed");
}
