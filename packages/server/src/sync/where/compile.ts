/**
 * compileWhere: a shape's where clause + params -> the SQL its snapshot runs and a pure evaluator for live changes
 * that agrees with it (see SPEC.md in this folder for the invariants and the reasons).
 */
import { BOOL, type Expr } from "./ast.ts";
import { DEFAULT_STEP_BUDGET, NODE_STEPS } from "./budget.ts";
import { Checker, type ColumnInfo } from "./check.ts";
import { WhereClauseError } from "./errors.ts";
import { compileExpr, compileOutcomes, newCtx, outcomeIsTrue, type Row } from "./evaluate.ts";
import { Folder, children } from "./fold.ts";
import { WHERE_LIMITS } from "./limits.ts";
import { isOneExpression, parseWhere } from "./parse.ts";
import { formatDate } from "./pg-datetime.ts";
import { canRaise } from "./raise.ts";
import { render } from "./render.ts";

export type { ColumnInfo } from "./check.ts";
export { WhereBudgetError, WhereClauseError, WhereEvaluationError } from "./errors.ts";

export interface CompiledWhere {
  /**
   * The SQL to embed as `WHERE (<sql>)`, with placeholders $1..$n unchanged. It is not the client's text: it is
   * printed from the checked tree (typed constants and casts, COLLATE "C" where text order matters, quoted
   * identifiers) and was itself parsed and checked again before being returned. When the clause can raise an error,
   * the parts that can are wrapped in a CASE that fixes PostgreSQL's evaluation order (SPEC.md W6).
   */
  sql: string;
  /** Values for $1..$n, in order, as the client gave them. */
  params: string[];
  /**
   * Pure evaluation over a row in PostgreSQL text form (column -> text or null). True only when the clause is TRUE.
   * Throws WhereEvaluationError exactly when PostgreSQL raises an error evaluating `sql` on this row (overflow,
   * division by zero, ...), or when the row lacks a column the answer depends on; throws WhereBudgetError when
   * answering would take more than the step budget (SPEC.md W9).
   */
  matches(row: Record<string, string | null>): boolean;
  /** Columns the clause reads, in order of first use. */
  columns: string[];
  /**
   * Set when the clause is `col = <constant or param>`, or an AND containing one, on an int2/int4/int8, text,
   * varchar, uuid or date column: every matching row has exactly this text in `column` (PostgreSQL's output form,
   * DateStyle ISO), so shapes can be indexed by value.
   */
  equality?: { column: string; value: string };
}

export interface CompileOptions {
  /**
   * Work allowed for one call of `matches()`, in steps (budget.ts); DEFAULT_STEP_BUDGET when not given. Constant
   * parts of the clause are evaluated once when compiling, within 16 times this.
   */
  stepBudget?: number;
}

/** Lone surrogates cannot be sent to PostgreSQL as UTF-8 (node-postgres would replace them), so they are refused. */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

function checkText(what: string, text: string): void {
  if (text.length > (what === "the where clause" ? WHERE_LIMITS.maxLength : WHERE_LIMITS.maxParamLength)) {
    const limit = what === "the where clause" ? WHERE_LIMITS.maxLength : WHERE_LIMITS.maxParamLength;
    throw new WhereClauseError(`${what} is longer than ${limit} characters`, "length");
  }
  if (text.includes("\u0000")) throw new WhereClauseError(`${what} contains a NUL character`);
  if (LONE_SURROGATE.test(text)) throw new WhereClauseError(`${what} contains an unpaired UTF-16 surrogate`);
}

function paramList(params: Record<string, string> | string[]): string[] {
  if (params === null || typeof params !== "object") throw new WhereClauseError("params must be a list or an object");
  const tooMany = () => new WhereClauseError(`more than ${WHERE_LIMITS.maxParams} parameters`, "parameter count");
  let list: string[] = [];
  if (Array.isArray(params)) {
    if (params.length > WHERE_LIMITS.maxParams) throw tooMany();
    params.forEach((v, i) => {
      if (typeof v !== "string") throw new WhereClauseError(`value for $${i + 1} must be a string`);
    });
    list = [...params];
  } else {
    const entries = Object.entries(params);
    if (entries.length > WHERE_LIMITS.maxParams) throw tooMany();
    for (const [key, value] of entries) {
      if (!/^[1-9]\d{0,4}$/.test(key)) throw new WhereClauseError(`invalid parameter name "${key}": expected 1, 2, ...`);
      if (Number(key) > WHERE_LIMITS.maxParams) throw tooMany();
      if (typeof value !== "string") throw new WhereClauseError(`value for $${key} must be a string`);
      list[Number(key) - 1] = value;
    }
    for (let i = 0; i < list.length; i++) {
      if (list[i] === undefined) throw new WhereClauseError(`missing value for $${i + 1}: parameters must be numbered 1..n without gaps`);
    }
  }
  list.forEach((v, i) => checkText(`the value for $${i + 1}`, v));
  return list;
}

/** Parse and type-check. */
function analyse(where: string, params: string[], columns: ColumnInfo[], printed: boolean): { expr: Expr; checker: Checker } {
  const checker = new Checker(columns, params, printed ? Infinity : WHERE_LIMITS.maxCheckedNodes);
  const expr = checker.coerce(checker.check(parseWhere(where, printed)), BOOL, "implicit", "WHERE");
  return { expr, checker };
}

function findEquality(e: Expr): { column: string; value: string } | undefined {
  if (e.kind === "and") {
    for (const a of e.args) {
      const found = findEquality(a);
      if (found) return found;
    }
    return undefined;
  }
  if (e.kind !== "compare" || e.op !== "=") return undefined;
  const [col, val] = e.left.kind === "column" ? [e.left, e.right] : [e.right, e.left];
  if (col.kind !== "column" || col.type.array || (val.kind !== "const" && val.kind !== "param") || val.value === null) return undefined;
  if (e.domain === "int" || e.domain === "text" || e.domain === "uuid") return { column: col.name, value: String(val.value) };
  if (e.domain === "date") return { column: col.name, value: formatDate(val.value as number) };
  return undefined;
}

/** What evaluating these trees costs before any data-dependent work: NODE_STEPS per node (W9). */
function sizeCost(trees: Expr[], budget: number): number {
  let nodes = 0;
  const pending = [...trees];
  for (let e = pending.pop(); e; e = pending.pop()) {
    nodes++;
    pending.push(...children(e));
  }
  const cost = nodes * NODE_STEPS;
  if (cost > budget) {
    throw new WhereClauseError(`the where clause is too large to evaluate within its budget of ${budget} steps (${nodes} nodes)`, "budget");
  }
  return cost;
}

function and(args: Expr[]): Expr {
  return args.length === 1 ? args[0]! : { kind: "and", type: BOOL, args };
}

function stepBudget(options: CompileOptions): number {
  const budget = options.stepBudget ?? DEFAULT_STEP_BUDGET;
  if (typeof budget !== "number" || !(budget > 0)) throw new TypeError("stepBudget must be a positive number");
  return budget;
}

/**
 * Throws WhereClauseError naming the offending part. `options.stepBudget` sets the work allowed per evaluation
 * (default DEFAULT_STEP_BUDGET).
 */
export function compileWhere(
  where: string,
  params: Record<string, string> | string[],
  columns: ColumnInfo[],
  options: CompileOptions = {},
): CompiledWhere {
  const budget = stepBudget(options);
  if (typeof where !== "string" || where.trim() === "") throw new WhereClauseError("the where clause is empty");
  checkText("the where clause", where);
  const values = paramList(params);
  const { expr, checker } = analyse(where, values, columns, false);
  for (let i = 1; i <= values.length; i++) {
    if (!checker.paramsUsed.has(i)) throw new WhereClauseError(`parameter $${i} is given but not used in the where clause`);
  }
  const plainSql = render(expr);
  // The SQL handed out is what was validated: it must parse and check back to itself.
  if (render(analyse(plainSql, values, columns, true).expr) !== plainSql) {
    throw new WhereClauseError("the where clause could not be printed back faithfully", "round trip");
  }
  // Constant parts are folded conjunct by conjunct, left to right, as eval_const_expressions simplifies the
  // top-level AND: a conjunct that folds to FALSE makes the clause FALSE and the rest is not folded.
  const folder = new Folder(budget * 16);
  const conjuncts = expr.kind === "and" ? expr.args : [expr];
  const folded: Expr[] = [];
  for (const c of conjuncts) {
    const f = folder.fold(c);
    if (f.kind === "const" && f.value === false) {
      return { params: values, columns: [...checker.columnsUsed], sql: plainSql, matches: () => false };
    }
    folded.push(f);
  }
  const raises = folded.map(canRaise);
  const result = { params: values, columns: [...checker.columnsUsed] };

  if (!raises.includes(true)) {
    // Nothing can raise: any evaluation order gives PostgreSQL's answer (W6).
    const outcomes = compileOutcomes(and(folded));
    const equality = findEquality(and(folded));
    const size = sizeCost(folded, budget);
    return {
      ...result,
      sql: plainSql,
      matches: (row: Row) => {
        const ctx = newCtx(row, budget, size);
        return outcomeIsTrue(ctx, outcomes(ctx));
      },
      ...(equality && { equality }),
    };
  }

  // Some conjuncts can raise (W6): they are evaluated in one CASE, in the order written, and only on rows where
  // every other conjunct is TRUE. The other conjuncts stay plain quals, so PostgreSQL can still use indexes.
  const plain = conjuncts.filter((_, i) => !raises[i]);
  const forced = and(conjuncts.filter((_, i) => raises[i]));
  const guard = plain.length > 0 ? and(plain) : undefined;
  const caseSql = guard
    ? `CASE WHEN (${render(guard)}) IS NOT TRUE THEN false WHEN ${render(forced)} THEN true ELSE false END`
    : `CASE WHEN ${render(forced)} THEN true ELSE false END`;
  const sql = plain.length > 0 ? `(${[...plain.map(render), `(${caseSql})`].join(" AND ")})` : `(${caseSql})`;
  if (!isOneExpression(sql)) throw new WhereClauseError("the where clause could not be printed back faithfully", "round trip");

  // A raising conjunct cannot have folded to a constant; the guard may have (TRUE, or NULL: then never TRUE).
  const foldedGuard = and(folded.filter((_, i) => !raises[i]).concat({ kind: "const", type: BOOL, value: true }));
  const guardOutcomes = compileOutcomes(foldedGuard);
  const forcedValue = compileExpr(and(folded.filter((_, i) => raises[i])));
  const equality = findEquality(foldedGuard);
  const size = sizeCost(folded, budget);
  return {
    ...result,
    sql,
    matches: (row: Row) => {
      const ctx = newCtx(row, budget, size);
      if (!outcomeIsTrue(ctx, guardOutcomes(ctx))) return false;
      return forcedValue(ctx) === true;
    },
    ...(equality && { equality }),
  };
}
