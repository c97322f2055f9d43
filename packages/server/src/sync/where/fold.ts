/**
 * Constant folding as PostgreSQL's planner does it (eval_const_expressions in src/backend/optimizer/util/clauses.c,
 * read for facts), because it decides which subexpressions are ever evaluated and so which rows raise errors (W6):
 *   - a subexpression without columns is computed once (params are constants to the planner: node-postgres sends
 *     them with the unnamed statement, planned with their values); if that raises, the query fails whatever the
 *     rows, so the clause is rejected; otherwise it becomes a constant;
 *   - a strict operator, function or cast with a constant NULL input is NULL without evaluating its other inputs
 *     (`(i8 + id) >= NULL` never overflows);
 *   - AND and OR are simplified argument by argument, left to right (simplify_and_arguments): a constant FALSE
 *     (AND) or TRUE (OR) decides the whole expression and the arguments after it are not even folded; constant
 *     TRUE (AND) or FALSE (OR) arguments are dropped; constant NULLs are dropped and one NULL is appended at the end;
 *     a single remaining argument replaces the AND/OR;
 *   - COALESCE drops constant NULL arguments and everything after the first non-null constant.
 * The folded tree is only evaluated; the SQL is printed from the unfolded one, which PostgreSQL folds the same way.
 */
import { BOOL, type Expr } from "./ast.ts";
import { meter, type Meter } from "./budget.ts";
import { WhereBudgetError, WhereClauseError, WhereEvaluationError } from "./errors.ts";
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

export function readsColumns(e: Expr): boolean {
  return e.kind === "column" || children(e).some(readsColumns);
}

function constant(e: Expr, value: Value): Expr {
  return { kind: "const", type: e.type, value };
}

export class Folder {
  private readonly m: Meter;

  /** `budget` bounds the work of evaluating every constant part of the clause together. */
  constructor(budget: number) {
    this.m = meter(budget);
  }

  private evaluate(e: Expr): Value {
    try {
      return compileExpr(e)({ row: {}, parsed: new Map(), m: this.m });
    } catch (err) {
      if (err instanceof WhereEvaluationError) throw new WhereClauseError(err.message);
      if (err instanceof WhereBudgetError) {
        throw new WhereClauseError(`the constant parts of the where clause take more than ${err.budget} steps to evaluate`, "budget");
      }
      throw err;
    }
  }

  fold(e: Expr): Expr {
    if (e.kind === "column" || e.kind === "const" || e.kind === "param") return e;
    if (e.kind === "and" || e.kind === "or") return this.boolean(e);
    if (e.kind === "coalesce") return this.coalesce(e);
    const kids = children(e).map((k) => this.fold(k));
    const node = withChildren(e, kids);
    // Folded children without columns are constants, so a node reads columns exactly when a child is not constant.
    if (kids.every((k) => k.kind === "const" || k.kind === "param")) return constant(node, this.evaluate(node));
    if (STRICT.has(node.kind) && kids.some((k) => k.kind === "const" && k.value === null)) return constant(node, null);
    return node;
  }

  private boolean(e: Expr & { kind: "and" | "or" }): Expr {
    const decides = e.kind === "or";
    const args: Expr[] = [];
    let sawNull = false;
    // Arguments still to look at, the next last; a nested AND in an AND (OR in OR) is replaced by its arguments.
    const pending = [...e.args].reverse();
    const folded = new Set<Expr>();
    for (let arg = pending.pop(); arg; arg = pending.pop()) {
      const f = folded.has(arg) ? arg : this.fold(arg);
      if (f.kind === e.kind) {
        for (let i = f.args.length - 1; i >= 0; i--) {
          folded.add(f.args[i]!);
          pending.push(f.args[i]!);
        }
        continue;
      }
      if (f.kind !== "const") {
        args.push(f);
        continue;
      }
      if (f.value === null) sawNull = true;
      else if (f.value === decides) return constant(e, decides);
    }
    if (sawNull) args.push({ kind: "const", type: BOOL, value: null });
    if (args.length === 0) return constant(e, !decides);
    if (args.length === 1) return args[0]!;
    return { ...e, args };
  }

  private coalesce(e: Expr & { kind: "coalesce" }): Expr {
    const args: Expr[] = [];
    for (const arg of e.args) {
      const f = this.fold(arg);
      if (f.kind === "const") {
        if (f.value === null) continue;
        if (args.length === 0) return f;
        args.push(f);
        break;
      }
      args.push(f);
    }
    if (args.length === 0) return constant(e, null);
    if (args.length === 1) return args[0]!;
    return { ...e, args };
  }
}
