/**
 * Constant folding as PostgreSQL's planner does it (eval_const_expressions), because it decides which
 * subexpressions are ever evaluated and so which rows raise errors (W6):
 *   - a subexpression without columns is computed once (params are constants to the planner: node-postgres
 *     sends them with the unnamed statement, planned with their values); if that raises, the query fails whatever
 *     the rows, so the clause is rejected; otherwise it becomes a constant;
 *   - a strict operator, function or cast with a constant NULL input is NULL without evaluating its other inputs
 *     (`(i8 + id) >= NULL` never overflows).
 * The folded tree is only evaluated; the SQL is printed from the unfolded one so that every $n stays in it.
 */
import type { Expr } from "./ast.ts";
import { WhereClauseError, WhereEvaluationError } from "./errors.ts";
import { compileExpr } from "./evaluate.ts";
import type { Value } from "./pg-values.ts";

export function children(e: Expr): Expr[] {
  switch (e.kind) {
    case "column":
    case "const":
    case "param":
      return [];
    case "and":
    case "or":
    case "coalesce":
      return e.args;
    case "array":
      return e.elements;
    case "like":
      return [e.left, e.pattern];
    case "not":
    case "nullTest":
    case "boolTest":
    case "negate":
    case "func":
    case "cast":
      return [e.arg];
    default:
      return [e.left, e.right];
  }
}

function withChildren(e: Expr, kids: Expr[]): Expr {
  switch (e.kind) {
    case "column":
    case "const":
    case "param":
      return e;
    case "and":
    case "or":
    case "coalesce":
      return { ...e, args: kids };
    case "array":
      return { ...e, elements: kids };
    case "like":
      return { ...e, left: kids[0]!, pattern: kids[1]! };
    case "not":
    case "nullTest":
    case "boolTest":
    case "negate":
    case "func":
    case "cast":
      return { ...e, arg: kids[0]! };
    default:
      return { ...e, left: kids[0]!, right: kids[1]! };
  }
}

/** OpExpr/FuncExpr nodes: strict, so a NULL input makes them NULL. (ANY/ALL, IS DISTINCT, AND/OR, ... are not.) */
const STRICT = new Set<Expr["kind"]>(["compare", "arrayOp", "like", "arith", "negate", "concat", "func", "cast"]);

function readsColumns(e: Expr): boolean {
  return e.kind === "column" || children(e).some(readsColumns);
}

function evaluateConstant(e: Expr): Value {
  try {
    return compileExpr(e)({ row: {}, parsed: new Map() });
  } catch (err) {
    if (err instanceof WhereEvaluationError) throw new WhereClauseError(err.message);
    throw err;
  }
}

export function fold(e: Expr): Expr {
  const kids = children(e).map(fold);
  const node = withChildren(e, kids);
  if (node.kind === "column" || node.kind === "const" || node.kind === "param") return node;
  if (!readsColumns(node)) return { kind: "const", type: node.type, value: evaluateConstant(node) };
  if (STRICT.has(node.kind) && kids.some((k) => k.kind === "const" && k.value === null)) {
    return { kind: "const", type: node.type, value: null };
  }
  return node;
}
