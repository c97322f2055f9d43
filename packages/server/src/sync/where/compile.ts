/**
 * compileWhere: a shape's where clause + params -> the SQL its snapshot runs and a pure evaluator for live changes
 * that agrees with it (see SPEC.md in this folder for the invariants and the reasons).
 */
import type { Expr } from "./ast.ts";
import { Checker, type ColumnInfo } from "./check.ts";
import { WhereClauseError } from "./errors.ts";
import { compileOutcomes, evaluate, type Row } from "./evaluate.ts";
import { fold } from "./fold.ts";
import { parseWhere } from "./parse.ts";
import { formatDate } from "./pg-datetime.ts";
import { render } from "./render.ts";

export type { ColumnInfo } from "./check.ts";
export { WhereClauseError, WhereEvaluationError } from "./errors.ts";

export interface CompiledWhere {
  /**
   * The SQL to embed as `WHERE (<sql>)`, with placeholders $1..$n unchanged. It is not the client's text: it is
   * printed from the checked tree (typed constants and casts, COLLATE "C" where text order matters, quoted
   * identifiers) and was itself parsed and checked again before being returned.
   */
  sql: string;
  /** Values for $1..$n, in order, as the client gave them. */
  params: string[];
  /**
   * Pure evaluation over a row in PostgreSQL text form (column -> text or null). True only when the clause is TRUE.
   * Throws WhereEvaluationError only when the answer depends on a part PostgreSQL raises an error for on this row
   * (overflow, division by zero, ...) or on a column missing from the row; the snapshot query would fail likewise.
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

const MAX_WHERE_LENGTH = 64 * 1024;

function paramList(params: Record<string, string> | string[]): string[] {
  if (Array.isArray(params)) {
    params.forEach((v, i) => {
      if (typeof v !== "string") throw new WhereClauseError(`value for $${i + 1} must be a string`);
    });
    return [...params];
  }
  const list: string[] = [];
  for (const [key, value] of Object.entries(params)) {
    if (!/^[1-9]\d{0,4}$/.test(key)) throw new WhereClauseError(`invalid parameter name "${key}": expected 1, 2, ...`);
    if (typeof value !== "string") throw new WhereClauseError(`value for $${key} must be a string`);
    list[Number(key) - 1] = value;
  }
  for (let i = 0; i < list.length; i++) {
    if (list[i] === undefined) throw new WhereClauseError(`missing value for $${i + 1}: parameters must be numbered 1..n without gaps`);
  }
  return list;
}

/** Parse and type-check. */
function analyse(where: string, params: string[], columns: ColumnInfo[]): { expr: Expr; checker: Checker } {
  const checker = new Checker(columns, params);
  const expr = checker.coerce(checker.check(parseWhere(where)), { base: "bool", array: false }, "implicit", "WHERE");
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

/** Throws WhereClauseError naming the offending part. */
export function compileWhere(where: string, params: Record<string, string> | string[], columns: ColumnInfo[]): CompiledWhere {
  if (typeof where !== "string" || where.trim() === "") throw new WhereClauseError("the where clause is empty");
  if (where.length > MAX_WHERE_LENGTH) throw new WhereClauseError(`the where clause is longer than ${MAX_WHERE_LENGTH} characters`);
  if (where.includes("\u0000")) throw new WhereClauseError("the where clause contains a NUL character");
  const values = paramList(params);
  const { expr, checker } = analyse(where, values, columns);
  for (let i = 1; i <= values.length; i++) {
    if (!checker.paramsUsed.has(i)) throw new WhereClauseError(`parameter $${i} is given but not used in the where clause`);
  }
  const folded = fold(expr);
  const sql = render(expr);
  // The SQL handed out is what was validated: it must parse and check back to itself.
  if (render(analyse(sql, values, columns).expr) !== sql) {
    throw new WhereClauseError("the where clause could not be printed back faithfully", "round trip");
  }
  const outcomes = compileOutcomes(folded);
  const equality = findEquality(folded);
  return {
    sql,
    params: values,
    matches: (row: Row) => evaluate(outcomes, row),
    columns: [...checker.columnsUsed],
    ...(equality && { equality }),
  };
}
