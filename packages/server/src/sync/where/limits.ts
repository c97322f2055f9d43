/**
 * Compile-time bounds on a where clause and its params (SPEC.md W10). Each is checked before the work it bounds
 * and refused with a WhereClauseError naming it, which the HTTP layer turns into a 400.
 */
import { MAX_ARRAY_DIMS } from "./pg-array.ts";
import { MAX_CONSTANT_JSON_DEPTH } from "./pg-jsonb.ts";
import { MAX_LITERAL_DIGITS } from "./pg-numeric.ts";

export const WHERE_LIMITS = Object.freeze({
  /** Characters of the clause text. */
  maxLength: 64 * 1024,
  /** Operators in the clause text (prescan.ts), checked before parsing: each can add a level to the parse tree. */
  maxOperators: 1000,
  /** Operands (columns, constants, params) in the clause text, checked before parsing. */
  maxOperands: 10_000,
  /** Nesting of parentheses and brackets in the clause text, and of the parsed expression. */
  maxDepth: 200,
  /** Nodes of the parsed expression, and of the checked one (BETWEEN SYMMETRIC and IN lists repeat operands). */
  maxNodes: 10_000,
  maxCheckedNodes: 50_000,
  /** Characters of a constant or param LIKE/ILIKE pattern. */
  maxLikePattern: 1000,
  /** Digits of a numeric literal, and the size of its exponent and scale. */
  maxNumericDigits: MAX_LITERAL_DIGITS,
  /** Nesting of a jsonb constant or param. */
  maxJsonDepth: MAX_CONSTANT_JSON_DEPTH,
  /** Dimensions of an array constant (PostgreSQL's own limit). */
  maxArrayDims: MAX_ARRAY_DIMS,
  /** Number of params, and characters of each. */
  maxParams: 100,
  maxParamLength: 64 * 1024,
});
