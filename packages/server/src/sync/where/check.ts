/**
 * Type checking: RawExpr -> typed Expr. Mirrors PostgreSQL's parse analysis for the supported subset:
 * string literals, NULL and $n params are "unknown" until context gives them a type (parsed then, so a bad
 * literal or param value is a compile-time error), a param keeps the type deduced at its first use
 * (PostgreSQL's "inconsistent types deduced for parameter"), implicit casts become explicit `cast` nodes.
 */
import { BOOL, TEXT, baseTypeOf, sameType, scalar, typeName, type Expr, type RawConst, type RawExpr, type SqlType } from "./ast.ts";
import * as ops from "./check-ops.ts";
import { isUnknown, type Checked, type Unknown } from "./check-ops.ts";
import { WhereClauseError, unsupported } from "./errors.ts";
import { WHERE_LIMITS } from "./limits.ts";
import { caster } from "./pg-casts.ts";
import { MAX_LITERAL_DIGITS, numericFromBigInt, parseNumeric } from "./pg-numeric.ts";
import { INT_RANGES, parseValue, type Value } from "./pg-values.ts";
import { commonType } from "./resolve.ts";

export interface ColumnInfo {
  name: string;
  /** pg_type.typname of the element type. */
  type: string;
  /** 0 for scalars, >= 1 for arrays. */
  dims: number;
}


function shorten(s: string): string {
  return s.length > 60 ? `${s.slice(0, 60)}...` : s;
}

/** The limits of constant input (W10) that a refused value of this type may have crossed. */
function inputHint(t: SqlType): string {
  const parts: string[] = [];
  if (t.array) parts.push(`arrays have at most ${WHERE_LIMITS.maxArrayDims} dimensions and int32 bounds`);
  if (t.base === "numeric" || t.base === "jsonb") {
    parts.push(`numbers have at most ${MAX_LITERAL_DIGITS} digits and an exponent and scale of at most ${MAX_LITERAL_DIGITS}`);
  }
  if (t.base === "jsonb") parts.push(`jsonb nests at most ${WHERE_LIMITS.maxJsonDepth} levels`);
  return parts.length ? ` (${parts.join("; ")})` : "";
}

export class Checker {
  /** Columns read, in order of first use. */
  readonly columnsUsed: string[] = [];
  readonly paramsUsed = new Set<number>();
  private readonly paramTypes = new Map<number, { type: SqlType; value: Value }>();
  private readonly columns: Map<string, ColumnInfo>;
  private readonly seen = new Set<string>();
  /** Nodes checked so far: BETWEEN SYMMETRIC and IN lists check their operand several times (W10). */
  private checked = 0;

  /** `maxNodes`: the checked-node bound (W10); printed SQL, whose size follows from an accepted clause, has none. */
  constructor(
    columns: ColumnInfo[],
    private readonly params: string[],
    private readonly maxNodes: number = WHERE_LIMITS.maxCheckedNodes,
  ) {
    this.columns = new Map(columns.map((c) => [c.name, c]));
  }

  check(raw: RawExpr): Checked {
    if (++this.checked > this.maxNodes) {
      throw new WhereClauseError(`the where clause expands to more than ${WHERE_LIMITS.maxCheckedNodes} nodes`, "node count");
    }
    switch (raw.kind) {
      case "column":
        return this.column(raw.name);
      case "const":
        return this.constant(raw.value);
      case "param":
        return this.param(raw.index);
      case "and":
      case "or": {
        // Flattened like PostgreSQL's makeAndExpr/makeOrExpr, so printed SQL parses back to the same tree.
        const args = raw.args.map((a) => this.bool(a, raw.kind.toUpperCase()));
        return { kind: raw.kind, type: BOOL, args: args.flatMap((a) => (a.kind === raw.kind ? a.args : [a])) };
      }
      case "not":
        return { kind: "not", type: BOOL, arg: this.bool(raw.arg, "NOT") };
      case "nullTest":
        return { kind: "nullTest", type: BOOL, negated: raw.negated, arg: this.typed(this.check(raw.arg)) };
      case "boolTest":
        return { kind: "boolTest", type: BOOL, test: raw.test, negated: raw.negated, arg: this.bool(raw.arg, "IS TRUE/FALSE/UNKNOWN") };
      case "between":
        return this.check(ops.expandBetween(raw));
      case "compare":
        return ops.compare(this, raw.op, this.check(raw.left), this.check(raw.right));
      case "distinct":
        return ops.distinct(this, raw.negated, this.check(raw.left), this.check(raw.right));
      case "quantified":
        return ops.quantified(this, raw.op, raw.all, this.check(raw.left), this.check(raw.right));
      case "in":
        return ops.inList(this, raw);
      case "like":
        return ops.like(this, raw.negated, raw.caseInsensitive, this.check(raw.left), this.check(raw.pattern));
      case "arith":
        return ops.arith(this, raw.op, this.check(raw.left), this.check(raw.right));
      case "unary":
        return ops.unary(raw.op, this.check(raw.arg));
      case "concat":
        return ops.concat(this, this.check(raw.left), this.check(raw.right));
      case "arrayOp":
        return ops.arrayOp(this, raw.op, this.check(raw.left), this.check(raw.right));
      case "func":
        return ops.func(this, raw.name, raw.args.map((a) => this.check(a)));
      case "coalesce": {
        const args = raw.args.map((a) => this.check(a));
        const type = this.common(args, "COALESCE");
        return { kind: "coalesce", type, args: args.map((a) => this.coerce(a, type, "implicit")) };
      }
      case "cast":
        return ops.cast(this, raw.arg, { base: raw.type.base, array: raw.type.array });
      case "array":
        return ops.array(this, raw.elements, undefined);
    }
  }

  private column(name: string): Expr {
    const info = this.columns.get(name);
    if (!info) throw new WhereClauseError(`unknown column "${name}"`);
    const base = baseTypeOf(info.type);
    if (!base) throw unsupported("type", info.type, `column "${name}"`);
    if (!this.seen.has(name)) {
      this.seen.add(name);
      this.columnsUsed.push(name);
    }
    const type: SqlType = { base, array: info.dims > 0 };
    const expr: Expr = { kind: "column", type, name };
    // varchar[] has no operators of its own; printing the cast lets @> & && accept text[] operands.
    return type.array && info.type === "varchar" ? { kind: "cast", type, arg: expr, silent: false } : expr;
  }

  private constant(c: RawConst): Checked {
    switch (c.kind) {
      case "null":
        return { kind: "unknown", text: null };
      case "string":
        return { kind: "unknown", text: c.text };
      case "bool":
        return { kind: "const", type: BOOL, value: c.value };
      case "number":
        return numberConstant(c.text);
    }
  }

  private param(index: number): Checked {
    if (!Number.isInteger(index) || index < 1 || index > this.params.length) throw new WhereClauseError(`missing value for $${index}`);
    this.paramsUsed.add(index);
    const known = this.paramTypes.get(index);
    if (known) return { kind: "param", type: known.type, index, value: known.value };
    return { kind: "unknown", text: this.params[index - 1]!, param: index };
  }

  /** Gives an unknown its type from context (parsing the literal or param), or casts a typed expression. */
  coerce(c: Checked, to: SqlType, mode: "implicit" | "explicit" | "silent", context?: string): Expr {
    if (isUnknown(c)) return this.fromUnknown(c, to);
    if (sameType(c.type, to)) return c;
    const cast = caster(c.type, to, mode !== "explicit");
    if (!cast) {
      if (context) throw new WhereClauseError(`argument of ${context} must be type ${typeName(to)}, not type ${typeName(c.type)}`);
      throw new WhereClauseError(`cannot convert ${typeName(c.type)} to ${typeName(to)}`);
    }
    return { kind: "cast", type: to, arg: c, silent: mode === "silent" };
  }

  private fromUnknown(u: Unknown, to: SqlType): Expr {
    if (u.text === null) return { kind: "const", type: to, value: null };
    const value = parseValue(to, u.text, true);
    if (u.param !== undefined) {
      if (value === undefined) throw new WhereClauseError(`invalid value for $${u.param}: "${shorten(u.text)}" is not a valid ${typeName(to)}${inputHint(to)}`);
      this.paramTypes.set(u.param, { type: to, value });
      return { kind: "param", type: to, index: u.param, value };
    }
    if (value === undefined) throw new WhereClauseError(`invalid input syntax for type ${typeName(to)}: "${shorten(u.text)}"${inputHint(to)}`);
    return { kind: "const", type: to, value };
  }

  /** An expression where no context types an unknown: literals become text, params are an error (as in PostgreSQL). */
  typed(c: Checked): Expr {
    if (!isUnknown(c)) return c;
    if (c.param !== undefined) throw new WhereClauseError(`could not determine data type of parameter $${c.param}`);
    return this.fromUnknown(c, TEXT);
  }

  bool(raw: RawExpr, context: string): Expr {
    return this.coerce(this.check(raw), BOOL, "implicit", context);
  }

  /** select_common_type: the type all inputs are coerced to (COALESCE, IN lists, ARRAY[...]). */
  common(args: Checked[], context: string): SqlType {
    return commonType(args.filter((a): a is Expr => !isUnknown(a)).map((a) => a.type), context);
  }
}

/** Integer literals are int4, else int8, else numeric (make_const); others numeric. `1_000` and `0x1F` included. */
function numberConstant(written: string): Expr {
  const text = written.replaceAll("_", "");
  if (text.replace(/^[+-]?(0[xob])?/i, "").replace(".", "").replace(/e[+-]?\d+$/i, "").length > MAX_LITERAL_DIGITS) {
    throw new WhereClauseError(`numeric literal has more than ${MAX_LITERAL_DIGITS} digits`, "numeric literal");
  }
  const radix = /^([+-]?)(0[xob][0-9a-f]+)$/i.exec(text);
  if (radix || /^[+-]?\d+$/.test(text)) {
    const v = radix ? (radix[1] === "-" ? -BigInt(radix[2]!) : BigInt(radix[2]!)) : BigInt(text);
    for (const base of ["int4", "int8"] as const) {
      if (v >= INT_RANGES[base].min && v <= INT_RANGES[base].max) return { kind: "const", type: scalar(base), value: v };
    }
    if (v.toString().length > MAX_LITERAL_DIGITS) {
      throw new WhereClauseError(`numeric literal has more than ${MAX_LITERAL_DIGITS} digits`, "numeric literal");
    }
    return { kind: "const", type: scalar("numeric"), value: numericFromBigInt(v) };
  }
  const n = parseNumeric(text, true);
  if (!n) {
    throw new WhereClauseError(
      `numeric literal "${shorten(written)}" is not supported: at most ${MAX_LITERAL_DIGITS} digits, with an exponent and scale of at most ${MAX_LITERAL_DIGITS}`,
      "numeric literal",
    );
  }
  return { kind: "const", type: scalar("numeric"), value: n };
}
