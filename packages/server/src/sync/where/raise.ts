/**
 * Which parts of a checked clause can raise an error in PostgreSQL for some row (SPEC.md W6, W12): integer, float
 * and numeric arithmetic (overflow, division by zero, "value overflows numeric format"), integer negation (of the
 * minimum value), casts that narrow or convert (numeric/float to integer, numeric to float, float8 to float4, date to
 * timestamp), and LIKE/ILIKE whose pattern is not a constant (a pattern ending in a lone backslash raises; constant
 * patterns are checked when compiling). Comparisons, containment, ANY/ALL, IS, COALESCE, ||, lower, upper, length
 * and the silent date/timestamp conversion inside comparisons never raise.
 */
import type { Expr } from "./ast.ts";
import { children } from "./fold.ts";
import { castCanRaise } from "./pg-casts.ts";
import { isIntType } from "./pg-values.ts";

export function canRaise(e: Expr): boolean {
  switch (e.kind) {
    case "arith":
      return true;
    case "negate":
      if (isIntType(e.type.base)) return true;
      break;
    case "cast":
      if (castCanRaise(e.arg.type, e.type, e.silent)) return true;
      break;
    case "like":
      if (e.pattern.kind !== "const" && e.pattern.kind !== "param") return true;
      break;
    default:
      break;
  }
  return children(e).some(canRaise);
}
