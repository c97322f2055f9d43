/**
 * Adapter to libpg-query, the PostgreSQL 17 parser (src/backend/parser/gram.y via libpg_query) compiled to WASM.
 * This is the one file that knows the library and its parse-tree shape; it turns the tree into our RawExpr and
 * rejects every node type it does not list.
 *
 * The clause is parsed as `SELECT 1 WHERE runcast_where_guard(<where>)`. Requiring the WHERE to be exactly one
 * plain call of that (unknown) function with one argument proves the text is one complete expression: input such as
 * `true) OR (1=1` parses inside `SELECT 1 WHERE (<where>)` but not as a single argument, and `;`, comments or
 * trailing clauses (ORDER BY, UNION, ...) change the statement shape and are refused.
 */
import { loadModule, parseSync, type A_Const, type A_Expr, type FuncCall, type Node, type TypeName } from "libpg-query";
import { baseTypeOf, type ArithOp, type CompareOp, type FuncName, type RawConst, type RawExpr, type TypeRef } from "./ast.ts";
import { WhereClauseError, unsupported } from "./errors.ts";
import { WHERE_LIMITS } from "./limits.ts";
import { prescan } from "./prescan.ts";

// The WASM module must be instantiated before parseSync; top-level await keeps compileWhere synchronous.
await loadModule();

const GUARD = "runcast_where_guard";
const PREFIX = `SELECT 1 WHERE ${GUARD}(`;
const { maxDepth: MAX_DEPTH, maxNodes: MAX_NODES } = WHERE_LIMITS;

const COMPARE_OPS = new Set(["=", "<>", "<", "<=", ">", ">="]);
const ARITH_OPS = new Set(["+", "-", "*", "/"]);
const ARRAY_OPS = new Set(["@>", "<@", "&&"]);
const FUNCS = new Set(["lower", "upper", "length"]);
const SQL_VALUE_FUNCTIONS: Record<string, string> = {
  SVFOP_CURRENT_DATE: "current_date", SVFOP_CURRENT_TIME: "current_time", SVFOP_CURRENT_TIME_N: "current_time",
  SVFOP_CURRENT_TIMESTAMP: "current_timestamp", SVFOP_CURRENT_TIMESTAMP_N: "current_timestamp",
  SVFOP_LOCALTIME: "localtime", SVFOP_LOCALTIME_N: "localtime", SVFOP_LOCALTIMESTAMP: "localtimestamp",
  SVFOP_LOCALTIMESTAMP_N: "localtimestamp", SVFOP_CURRENT_ROLE: "current_role", SVFOP_CURRENT_USER: "current_user",
  SVFOP_USER: "user", SVFOP_SESSION_USER: "session_user", SVFOP_CURRENT_CATALOG: "current_catalog",
  SVFOP_CURRENT_SCHEMA: "current_schema",
};

function tag(node: Node): string {
  return Object.keys(node)[0] ?? "?";
}

function strings(nodes: Node[] | undefined): string[] | undefined {
  const out: string[] = [];
  for (const n of nodes ?? []) {
    if (!("String" in n)) return undefined;
    out.push(n.String.sval ?? "");
  }
  return out;
}

/** Operator or function name, allowing only the pg_catalog qualifier. */
function catalogName(nodes: Node[] | undefined): string | undefined {
  const parts = strings(nodes);
  if (!parts || parts.length === 0 || parts.length > 2) return undefined;
  if (parts.length === 2 && parts[0] !== "pg_catalog") return undefined;
  return parts[parts.length - 1];
}

function syntaxError(message: string): WhereClauseError {
  return new WhereClauseError(message);
}

function notOneExpression(): WhereClauseError {
  return syntaxError("the where clause must be a single expression");
}

/** Refuses text whose parse tree could be too deep or too large before the parser sees it (W10, prescan.ts). */
function checkSize(where: string): void {
  const scan = prescan(where);
  if (scan.depth > MAX_DEPTH) throw new WhereClauseError(`the where clause nests parentheses more than ${MAX_DEPTH} levels deep`, "nesting depth");
  if (scan.operators > WHERE_LIMITS.maxOperators) {
    throw new WhereClauseError(`the where clause has more than ${WHERE_LIMITS.maxOperators} operators`, "operator count");
  }
  if (scan.operands > WHERE_LIMITS.maxOperands) {
    throw new WhereClauseError(`the where clause has more than ${WHERE_LIMITS.maxOperands} operands`, "operand count");
  }
}

/**
 * The single argument of the guard call in a parse of PREFIX + where + ")", or a WhereClauseError. `printed` is
 * SQL printed by render.ts from an accepted clause: its size follows from the clause's checked limits, and its
 * typed constants and full parentheses would trip the client-text limits, so those are not applied.
 */
function guardedArgument(where: string, printed: boolean): Node {
  if (!printed) checkSize(where);
  let tree: { stmts?: { stmt?: Node }[] };
  try {
    tree = parseSync(`${PREFIX}${where})`);
  } catch (e) {
    // libpg_query's message is PostgreSQL's, e.g. `syntax error at or near ";"`.
    throw syntaxError(e instanceof Error ? e.message : String(e));
  }
  const select = tree.stmts?.length === 1 ? tree.stmts[0]?.stmt : undefined;
  if (!select || !("SelectStmt" in select)) throw notOneExpression();
  const s = select.SelectStmt;
  const extra = Object.keys(s).filter((k) => !["targetList", "whereClause", "limitOption", "op"].includes(k));
  if (extra.length > 0 || s.op !== "SETOP_NONE" || s.limitOption !== "LIMIT_OPTION_DEFAULT" || s.targetList?.length !== 1) {
    throw notOneExpression();
  }
  const w = s.whereClause;
  const call = w && "FuncCall" in w ? w.FuncCall : undefined;
  const callKeys = call ? Object.keys(call).filter((k) => !["funcname", "args", "funcformat", "location"].includes(k)) : [];
  const name = strings(call?.funcname);
  const arg = call?.args?.[0];
  if (!call || callKeys.length > 0 || name?.length !== 1 || name[0] !== GUARD || call.args?.length !== 1 || !arg || call.funcformat !== "COERCE_EXPLICIT_CALL") {
    throw notOneExpression();
  }
  if ("NamedArgExpr" in arg) throw notOneExpression();
  return arg;
}

/**
 * Parses a where clause into RawExpr. Throws WhereClauseError for syntax errors and unsupported constructs.
 * `printed`: see guardedArgument (the node and depth limits of the conversion then do not apply either).
 */
export function parseWhere(where: string, printed = false): RawExpr {
  nodes = printed ? -Infinity : 0;
  depthLimit = printed ? Infinity : MAX_DEPTH;
  return convert(guardedArgument(where, printed), 0);
}

/**
 * Whether SQL we printed ourselves (compile.ts, which may add a CASE this module does not convert) is one complete
 * expression: the same single-expression proof parseWhere applies to the client's text.
 */
export function isOneExpression(sql: string): boolean {
  try {
    guardedArgument(sql, true);
    return true;
  } catch (e) {
    if (e instanceof WhereClauseError) return false;
    throw e;
  }
}

/** Nodes made by the current parseWhere, and the depth it allows (W10). */
let nodes = 0;
let depthLimit: number = MAX_DEPTH;

function convert(node: Node, depth: number): RawExpr {
  if (depth > depthLimit) throw new WhereClauseError(`the where clause is nested more than ${MAX_DEPTH} levels deep`, "nesting depth");
  if (++nodes > MAX_NODES) throw new WhereClauseError(`the where clause has more than ${MAX_NODES} nodes`, "node count");
  const d = depth + 1;
  if ("ColumnRef" in node) {
    const fields = node.ColumnRef.fields ?? [];
    const names = strings(fields);
    if (!names) throw unsupported("column reference", "*");
    if (names.length > 3) throw syntaxError(`improper qualified name (too many dotted names): ${names.join(".")}`);
    // A table (or schema.table) qualifier is dropped: the clause only ever reads the shape's one table.
    return { kind: "column", name: names[names.length - 1]! };
  }
  if ("A_Const" in node) return { kind: "const", value: constant(node.A_Const) };
  if ("ParamRef" in node) return { kind: "param", index: node.ParamRef.number ?? 0 };
  if ("BoolExpr" in node) {
    const args = (node.BoolExpr.args ?? []).map((a) => convert(a, d));
    if (node.BoolExpr.boolop === "NOT_EXPR") return { kind: "not", arg: args[0]! };
    return { kind: node.BoolExpr.boolop === "AND_EXPR" ? "and" : "or", args };
  }
  if ("A_Expr" in node) return expression(node.A_Expr, d);
  if ("NullTest" in node) {
    return { kind: "nullTest", negated: node.NullTest.nulltesttype === "IS_NOT_NULL", arg: convert(node.NullTest.arg!, d) };
  }
  if ("BooleanTest" in node) {
    const t = node.BooleanTest.booltesttype ?? "IS_TRUE";
    const test = t.endsWith("TRUE") ? "true" : t.endsWith("FALSE") ? "false" : "unknown";
    return { kind: "boolTest", test, negated: t.startsWith("IS_NOT_"), arg: convert(node.BooleanTest.arg!, d) };
  }
  if ("TypeCast" in node) return { kind: "cast", arg: convert(node.TypeCast.arg!, d), type: typeRef(node.TypeCast.typeName) };
  if ("FuncCall" in node) return call(node.FuncCall, d);
  if ("CoalesceExpr" in node) return { kind: "coalesce", args: (node.CoalesceExpr.args ?? []).map((a) => convert(a, d)) };
  if ("A_ArrayExpr" in node) return { kind: "array", elements: (node.A_ArrayExpr.elements ?? []).map((a) => convert(a, d)) };
  if ("CollateClause" in node) {
    const coll = strings(node.CollateClause.collname);
    const name = coll && (coll.length === 1 || (coll.length === 2 && coll[0] === "pg_catalog")) ? coll[coll.length - 1] : undefined;
    // Live evaluation always compares text by code point; "C" and "POSIX" say exactly that.
    if (name !== "C" && name !== "POSIX") throw unsupported("collation", coll?.join("."), 'only "C" is supported');
    return convert(node.CollateClause.arg!, d);
  }
  if ("SubLink" in node) throw unsupported("subquery");
  if ("SQLValueFunction" in node) {
    throw unsupported("function", SQL_VALUE_FUNCTIONS[node.SQLValueFunction.op ?? ""] ?? "SQL value function");
  }
  if ("MinMaxExpr" in node) throw unsupported("function", node.MinMaxExpr.op === "IS_GREATEST" ? "greatest()" : "least()");
  if ("CaseExpr" in node) throw unsupported("expression", "CASE");
  if ("A_Indirection" in node) throw unsupported("expression", "subscript or field selection");
  if ("RowExpr" in node) throw unsupported("expression", "row constructor");
  throw unsupported("expression", tag(node));
}

function constant(c: A_Const): RawConst {
  if (c.isnull) return { kind: "null" };
  if (c.ival) return { kind: "number", text: String(c.ival.ival ?? 0) };
  if (c.fval) return { kind: "number", text: c.fval.fval ?? "0" };
  if (c.boolval) return { kind: "bool", value: c.boolval.boolval ?? false };
  if (c.sval) return { kind: "string", text: c.sval.sval ?? "" };
  throw unsupported("constant", c.bsval ? "bit string" : "?");
}

function operatorName(e: A_Expr): string {
  const name = catalogName(e.name);
  if (name === undefined) throw unsupported("operator", strings(e.name)?.join(".") ?? "?");
  return name;
}

function expression(e: A_Expr, d: number): RawExpr {
  const op = operatorName(e);
  const left = e.lexpr ? convert(e.lexpr, d) : undefined;
  const rightNode = e.rexpr;
  const list = (): RawExpr[] => {
    if (!rightNode || !("List" in rightNode)) throw syntaxError("expected a list");
    return (rightNode.List.items ?? []).map((x) => convert(x, d));
  };
  const right = (): RawExpr => convert(rightNode!, d);
  switch (e.kind) {
    case "AEXPR_OP":
      if (!left) {
        if (op === "+" || op === "-") return { kind: "unary", op, arg: right() };
        throw unsupported("operator", `prefix ${op}`);
      }
      if (COMPARE_OPS.has(op)) return { kind: "compare", op: op as CompareOp, left, right: right() };
      if (ARITH_OPS.has(op)) return { kind: "arith", op: op as ArithOp, left, right: right() };
      if (ARRAY_OPS.has(op)) return { kind: "arrayOp", op: op as "@>" | "<@" | "&&", left, right: right() };
      if (op === "||") return { kind: "concat", left, right: right() };
      throw unsupported("operator", op);
    case "AEXPR_OP_ANY":
    case "AEXPR_OP_ALL":
      if (!COMPARE_OPS.has(op)) throw unsupported("operator", `${op} ${e.kind === "AEXPR_OP_ANY" ? "ANY" : "ALL"}`);
      return { kind: "quantified", op: op as CompareOp, all: e.kind === "AEXPR_OP_ALL", left: left!, right: right() };
    case "AEXPR_DISTINCT":
    case "AEXPR_NOT_DISTINCT":
      return { kind: "distinct", negated: e.kind === "AEXPR_NOT_DISTINCT", left: left!, right: right() };
    case "AEXPR_IN":
      return { kind: "in", negated: op === "<>", left: left!, items: list() };
    case "AEXPR_LIKE":
    case "AEXPR_ILIKE": {
      if (rightNode && "FuncCall" in rightNode) throw unsupported("LIKE", "ESCAPE", "only the default escape character (backslash) is supported");
      return { kind: "like", negated: op.startsWith("!"), caseInsensitive: e.kind === "AEXPR_ILIKE", left: left!, pattern: right() };
    }
    case "AEXPR_BETWEEN":
    case "AEXPR_NOT_BETWEEN":
    case "AEXPR_BETWEEN_SYM":
    case "AEXPR_NOT_BETWEEN_SYM": {
      const [low, high] = list();
      return {
        kind: "between", negated: e.kind.includes("NOT"), symmetric: e.kind.endsWith("SYM"), arg: left!, low: low!, high: high!,
      };
    }
    case "AEXPR_SIMILAR":
      throw unsupported("operator", "SIMILAR TO");
    case "AEXPR_NULLIF":
      throw unsupported("function", "nullif()");
    default:
      throw unsupported("operator", op);
  }
}

function call(f: FuncCall, d: number): RawExpr {
  const name = catalogName(f.funcname);
  const shown = `${strings(f.funcname)?.join(".") ?? "?"}()`;
  if (f.over) throw unsupported("window function", shown);
  if (f.agg_star || f.agg_distinct || f.agg_order || f.agg_filter || f.agg_within_group) throw unsupported("aggregate", shown);
  if (name === undefined || !FUNCS.has(name) || f.funcformat !== "COERCE_EXPLICIT_CALL") throw unsupported("function", shown);
  if (f.func_variadic) throw unsupported("function", shown, "VARIADIC");
  const args = (f.args ?? []).map((a) => {
    if ("NamedArgExpr" in a) throw unsupported("function", shown, "named arguments");
    return convert(a, d);
  });
  if (args.length !== 1) throw new WhereClauseError(`function ${name}() takes exactly one argument`);
  return { kind: "func", name: name as FuncName, args };
}

function typeRef(t: TypeName | undefined): TypeRef {
  const names = strings(t?.names) ?? [];
  const shown = names.filter((n, i) => !(i === 0 && n === "pg_catalog" && names.length > 1)).join(".");
  // Names are after the grammar's own mapping (integer -> pg_catalog.int4, double precision -> float8, ...).
  const base = names.length === 1 || (names.length === 2 && names[0] === "pg_catalog") ? baseTypeOf(names[names.length - 1]!) : undefined;
  if (!t || base === undefined || t.setof || t.pct_type) throw unsupported("type", shown || "?");
  if (t.typmods && t.typmods.length > 0) throw unsupported("type modifier", shown, "cast without (n) or (p,s)");
  return { base, array: (t.arrayBounds?.length ?? 0) > 0, name: shown + (t.arrayBounds?.length ? "[]" : "") };
}
