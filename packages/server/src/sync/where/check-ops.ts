/**
 * Type checking of operators, functions, casts and array constructors (see check.ts for the shared rules).
 * IN lists follow transformAExprIn: two or more items without column references become `= ANY (ARRAY[...])` over
 * their common type with the left side, the rest become separate comparisons (this is why, in PostgreSQL,
 * `real_col IN (0.1, 0.2)` compares as real but `real_col IN (0.1)` as double precision).
 */
import { BOOL, INT4, TEXT, arrayOf, elementOf, sameType, typeName, type ArithOp, type ArrayOp, type CompareOp, type Expr, type FuncName, type RawExpr, type SqlType } from "./ast.ts";
import type { Checker } from "./check.ts";
import { WhereClauseError, unsupported } from "./errors.ts";
import { hasTrailingEscape } from "./like.ts";
import { WHERE_LIMITS } from "./limits.ts";
import { caster } from "./pg-casts.ts";
import { planArith, planCompare } from "./resolve.ts";

/** A string literal, NULL or parameter whose type comes from context. */
export interface Unknown {
  kind: "unknown";
  text: string | null;
  param?: number;
}

export type Checked = Expr | Unknown;

export function isUnknown(c: Checked): c is Unknown {
  return c.kind === "unknown";
}

const NUMERIC_TYPES = new Set(["int2", "int4", "int8", "numeric", "float4", "float8"]);

function castTo(e: Expr, to: SqlType | undefined, silent: boolean): Expr {
  if (!to || sameType(e.type, to)) return e;
  if (!caster(e.type, to, true)) throw new WhereClauseError(`cannot convert ${typeName(e.type)} to ${typeName(to)}`);
  return { kind: "cast", type: to, arg: e, silent };
}

/** Gives unknown operands the other side's type (both unknown: text, as PostgreSQL resolves `'a' = 'b'`). */
function unify(ch: Checker, l: Checked, r: Checked): [Expr, Expr] {
  if (isUnknown(l) && isUnknown(r)) return [ch.coerce(l, TEXT, "implicit"), ch.coerce(r, TEXT, "implicit")];
  if (isUnknown(l)) return [ch.coerce(l, (r as Expr).type, "implicit"), r as Expr];
  if (isUnknown(r)) return [l, ch.coerce(r, l.type, "implicit")];
  return [l, r];
}

function compareTyped(op: CompareOp, left: Expr, right: Expr): Expr {
  const plan = planCompare(left.type, op, right.type);
  return {
    kind: "compare", type: BOOL, op, domain: plan.domain,
    left: castTo(left, plan.left, plan.silent), right: castTo(right, plan.right, plan.silent),
  };
}

export function compare(ch: Checker, op: CompareOp, l: Checked, r: Checked): Expr {
  const [left, right] = unify(ch, l, r);
  return compareTyped(op, left, right);
}

export function distinct(ch: Checker, negated: boolean, l: Checked, r: Checked): Expr {
  const c = compare(ch, "=", l, r) as Expr & { kind: "compare" };
  return { kind: "distinct", type: BOOL, negated, domain: c.domain, left: c.left, right: c.right };
}

export function quantified(ch: Checker, op: CompareOp, all: boolean, l: Checked, r: Checked): Expr {
  let left: Expr;
  let right: Expr;
  if (isUnknown(r)) {
    left = isUnknown(l) ? ch.coerce(l, TEXT, "implicit") : l;
    if (left.type.array) throw unsupported("operator", `${op} ${all ? "ALL" : "ANY"}`, "the left side must not be an array");
    right = ch.coerce(r, arrayOf(left.type), "implicit");
  } else {
    if (!r.type.array) throw new WhereClauseError(`op ${all ? "ALL" : "ANY"} (array) requires array on right side`);
    right = r;
    left = isUnknown(l) ? ch.coerce(l, elementOf(r.type), "implicit") : l;
  }
  const plan = planCompare(left.type, op, elementOf(right.type));
  return {
    kind: "quantified", type: BOOL, op, all, domain: plan.domain,
    left: castTo(left, plan.left, plan.silent), right: castTo(right, plan.right && arrayOf(plan.right), plan.silent),
  };
}

function containsColumn(raw: RawExpr): boolean {
  if (raw.kind === "column") return true;
  return Object.values(raw).some((v) =>
    Array.isArray(v) ? v.some((x) => typeof x === "object" && x !== null && "kind" in x && containsColumn(x as RawExpr))
      : typeof v === "object" && v !== null && "kind" in v && containsColumn(v as RawExpr));
}

export function inList(ch: Checker, raw: RawExpr & { kind: "in" }): Expr {
  const op: CompareOp = raw.negated ? "<>" : "=";
  const constants = raw.items.filter((i) => !containsColumn(i));
  let rest = raw.items;
  const parts: Expr[] = [];
  if (constants.length > 1) {
    const left = ch.check(raw.left);
    const items = constants.map((i) => ch.check(i));
    const type = ch.common([left, ...items], "IN");
    if (type.array) throw unsupported("IN list", "of arrays");
    const array: Expr = { kind: "array", type: arrayOf(type), elements: items.map((i) => ch.coerce(i, type, "implicit")) };
    parts.push(quantified(ch, op, raw.negated, isUnknown(left) ? ch.coerce(left, type, "implicit") : left, array));
    rest = raw.items.filter((i) => containsColumn(i));
  }
  for (const item of rest) parts.push(compare(ch, op, ch.check(raw.left), ch.check(item)));
  if (parts.length === 1) return parts[0]!;
  return { kind: raw.negated ? "and" : "or", type: BOOL, args: parts };
}

/** transformAExprBetween: `a BETWEEN x AND y` is `a >= x AND a <= y`; SYMMETRIC also tries y..x. */
export function expandBetween(raw: RawExpr & { kind: "between" }): RawExpr {
  const cmp = (op: CompareOp, right: RawExpr): RawExpr => ({ kind: "compare", op, left: raw.arg, right });
  const range = (lo: RawExpr, hi: RawExpr): RawExpr =>
    raw.negated ? { kind: "or", args: [cmp("<", lo), cmp(">", hi)] } : { kind: "and", args: [cmp(">=", lo), cmp("<=", hi)] };
  if (!raw.symmetric) return range(raw.low, raw.high);
  return { kind: raw.negated ? "and" : "or", args: [range(raw.low, raw.high), range(raw.high, raw.low)] };
}

function textOperand(ch: Checker, c: Checked, what: string): Expr {
  const e = isUnknown(c) ? ch.coerce(c, TEXT, "implicit") : c;
  if (!sameType(e.type, TEXT)) throw unsupported(what, `on ${typeName(e.type)}`, "cast the operand to text");
  return e;
}

export function like(ch: Checker, negated: boolean, caseInsensitive: boolean, l: Checked, p: Checked): Expr {
  const what = caseInsensitive ? "ILIKE" : "LIKE";
  const left = textOperand(ch, l, what);
  const pattern = textOperand(ch, p, what);
  if ((pattern.kind === "const" || pattern.kind === "param") && typeof pattern.value === "string") {
    if (hasTrailingEscape(pattern.value)) throw new WhereClauseError("LIKE pattern must not end with escape character");
    if (pattern.value.length > WHERE_LIMITS.maxLikePattern) {
      throw new WhereClauseError(`${what} pattern is longer than ${WHERE_LIMITS.maxLikePattern} characters`, "LIKE pattern length");
    }
  }
  return { kind: "like", type: BOOL, negated, caseInsensitive, left, pattern };
}

export function arith(ch: Checker, op: ArithOp, l: Checked, r: Checked): Expr {
  if (isUnknown(l) && isUnknown(r)) throw new WhereClauseError(`operator is not unique: unknown ${op} unknown`);
  const [left, right] = unify(ch, l, r);
  const plan = planArith(left.type, op, right.type);
  return { kind: "arith", type: plan.result, op, left: castTo(left, plan.left, false), right: castTo(right, plan.right, false) };
}

export function unary(op: "+" | "-", c: Checked): Expr {
  if (isUnknown(c)) throw new WhereClauseError(`operator is not unique: ${op} unknown`);
  if (c.type.array || !NUMERIC_TYPES.has(c.type.base)) throw new WhereClauseError(`operator does not exist: ${op} ${typeName(c.type)}`);
  return op === "+" ? c : { kind: "negate", type: c.type, arg: c };
}

export function concat(ch: Checker, l: Checked, r: Checked): Expr {
  return { kind: "concat", type: TEXT, left: textOperand(ch, l, "operator ||"), right: textOperand(ch, r, "operator ||") };
}

export function arrayOp(ch: Checker, op: ArrayOp, l: Checked, r: Checked): Expr {
  if (isUnknown(l) && isUnknown(r)) throw new WhereClauseError(`operator is not unique: unknown ${op} unknown`);
  const [left, right] = unify(ch, l, r);
  if (!left.type.array || !sameType(left.type, right.type)) {
    throw new WhereClauseError(`operator does not exist: ${typeName(left.type)} ${op} ${typeName(right.type)}`);
  }
  const plan = planCompare(elementOf(left.type), "=", elementOf(right.type));
  return { kind: "arrayOp", type: BOOL, op, domain: plan.domain, left, right };
}

export function func(ch: Checker, name: FuncName, args: Checked[]): Expr {
  const arg = textOperand(ch, args[0]!, `function ${name}()`);
  return { kind: "func", type: name === "length" ? INT4 : TEXT, name, arg };
}

/** `x::type`, `CAST(x AS type)`. A literal or param is read directly as the type. */
export function cast(ch: Checker, raw: RawExpr, to: SqlType): Expr {
  if (raw.kind === "array" && to.array) return array(ch, raw.elements, elementOf(to));
  const c = ch.check(raw);
  if (isUnknown(c)) return ch.coerce(c, to, "explicit");
  if (sameType(c.type, to)) return c;
  if (!caster(c.type, to, false)) {
    throw new WhereClauseError(`unsupported cast from ${typeName(c.type)} to ${typeName(to)}`, `${typeName(c.type)}::${typeName(to)}`);
  }
  return { kind: "cast", type: to, arg: c, silent: false };
}

/** ARRAY[...]: elements coerced to their common type, or to `element` when the constructor is cast. */
export function array(ch: Checker, elements: RawExpr[], element: SqlType | undefined): Expr {
  if (elements.some((e) => e.kind === "array")) throw unsupported("expression", "multidimensional ARRAY[...]");
  const checked = elements.map((e) => ch.check(e));
  if (!element && checked.length === 0) throw new WhereClauseError("cannot determine type of empty array");
  const type = element ?? ch.common(checked, "ARRAY");
  if (type.array) throw unsupported("expression", "ARRAY[...] of arrays");
  return { kind: "array", type: arrayOf(type), elements: checked.map((c) => ch.coerce(c, type, element ? "explicit" : "implicit")) };
}
