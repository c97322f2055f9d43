/**
 * Prints a typed Expr as the SQL the snapshot query runs. Every value is printed with its type, every implicit
 * cast explicitly, every operation parenthesised; identifiers are always quoted. So PostgreSQL executes exactly the
 * operations the evaluator implements, and constants mean the same under any DateStyle, TimeZone (timestamptz
 * constants carry +00) or standard_conforming_strings (text with backslashes is written as an E'' string).
 *
 * Text ordering, ILIKE, lower() and upper() get COLLATE "C": live evaluation compares code points and folds only
 * ASCII letters, which is what the "C" collation does whatever the column's or database's collation is.
 * = and <> (and IN, LIKE, @> ...) are left alone: with deterministic collations they compare bytes anyway, and
 * leaving them lets PostgreSQL use the column's index.
 */
import { typeName, type Expr } from "./ast.ts";
import { formatValue } from "./pg-values.ts";

export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

export function quoteLiteral(text: string): string {
  const body = text.replaceAll("'", "''");
  return text.includes("\\") ? `E'${body.replaceAll("\\", "\\\\")}'` : `'${body}'`;
}

function collateC(sql: string): string {
  return `(${sql} COLLATE "C")`;
}

export function render(e: Expr): string {
  switch (e.kind) {
    case "column":
      return quoteIdent(e.name);
    case "const":
      return e.value === null ? `NULL::${typeName(e.type)}` : `${quoteLiteral(formatValue(e.type, e.value))}::${typeName(e.type)}`;
    case "param":
      return `$${e.index}::${typeName(e.type)}`;
    case "and":
    case "or":
      return `(${e.args.map(render).join(e.kind === "and" ? " AND " : " OR ")})`;
    case "not":
      return `(NOT ${render(e.arg)})`;
    case "compare": {
      const left = e.domain === "text" && e.op !== "=" && e.op !== "<>" ? collateC(render(e.left)) : render(e.left);
      return `(${left} ${e.op} ${render(e.right)})`;
    }
    case "distinct":
      return `(${render(e.left)} IS ${e.negated ? "NOT " : ""}DISTINCT FROM ${render(e.right)})`;
    case "quantified": {
      const left = e.domain === "text" && e.op !== "=" && e.op !== "<>" ? collateC(render(e.left)) : render(e.left);
      return `(${left} ${e.op} ${e.all ? "ALL" : "ANY"} (${render(e.right)}))`;
    }
    case "arrayOp":
      return `(${render(e.left)} ${e.op} ${render(e.right)})`;
    case "like": {
      const op = `${e.negated ? "NOT " : ""}${e.caseInsensitive ? "ILIKE" : "LIKE"}`;
      return `(${e.caseInsensitive ? collateC(render(e.left)) : render(e.left)} ${op} ${render(e.pattern)})`;
    }
    case "nullTest":
      return `(${render(e.arg)} IS ${e.negated ? "NOT " : ""}NULL)`;
    case "boolTest":
      return `(${render(e.arg)} IS ${e.negated ? "NOT " : ""}${e.test.toUpperCase()})`;
    case "arith":
      return `(${render(e.left)} ${e.op} ${render(e.right)})`;
    case "negate":
      return `(- ${render(e.arg)})`;
    case "concat":
      return `(${render(e.left)} || ${render(e.right)})`;
    case "func":
      return e.name === "length" ? `length(${render(e.arg)})` : `${e.name}(${collateC(render(e.arg))})`;
    case "coalesce":
      return `COALESCE(${e.args.map(render).join(", ")})`;
    case "cast":
      return e.silent ? render(e.arg) : `(${render(e.arg)})::${typeName(e.type)}`;
    case "array":
      return `ARRAY[${e.elements.map(render).join(", ")}]::${typeName(e.type)}`;
  }
}
