/**
 * Our own syntax trees. `RawExpr` is what parse.ts makes of the PostgreSQL parse tree (names resolved to the
 * supported constructs, nothing typed yet); `Expr` is the typed tree check.ts builds, which evaluate.ts runs and
 * render.ts prints back as SQL. Only these two files and parse.ts know node shapes.
 */
import type { Value } from "./pg-values.ts";

/** Supported scalar types, by pg_type.typname. varchar is read as text. */
export type BaseType = "int2" | "int4" | "int8" | "numeric" | "float4" | "float8" | "text" | "bool" | "date" | "timestamp" | "timestamptz" | "uuid" | "jsonb";

/** pg_type.typname -> supported type; varchar is read as text. */
const BASE_TYPES: Record<string, BaseType> = {
  int2: "int2", int4: "int4", int8: "int8", numeric: "numeric", float4: "float4", float8: "float8",
  text: "text", varchar: "text", bool: "bool", date: "date", timestamp: "timestamp", timestamptz: "timestamptz",
  uuid: "uuid", jsonb: "jsonb",
};

export function baseTypeOf(typname: string): BaseType | undefined {
  return Object.hasOwn(BASE_TYPES, typname) ? BASE_TYPES[typname] : undefined;
}

export interface SqlType {
  readonly base: BaseType;
  /** Any number of dimensions: PostgreSQL does not enforce attndims. */
  readonly array: boolean;
}

export type CompareOp = "=" | "<>" | "<" | "<=" | ">" | ">=";
export type ArithOp = "+" | "-" | "*" | "/";
export type ArrayOp = "@>" | "<@" | "&&";
export type BoolTestKind = "true" | "false" | "unknown";
export type FuncName = "lower" | "upper" | "length";

export type RawConst =
  /** Integer or decimal literal as written (ival printed, or fval text with underscores / 0x prefixes). */
  | { kind: "number"; text: string }
  /** Quoted string: an "unknown"-typed literal, typed by context. */
  | { kind: "string"; text: string }
  | { kind: "bool"; value: boolean }
  | { kind: "null" };

export interface TypeRef {
  base: BaseType;
  array: boolean;
  /** Spelling of the type, for messages. */
  name: string;
}

export type RawExpr =
  | { kind: "column"; name: string }
  | { kind: "const"; value: RawConst }
  | { kind: "param"; index: number }
  | { kind: "and" | "or"; args: RawExpr[] }
  | { kind: "not"; arg: RawExpr }
  | { kind: "compare"; op: CompareOp; left: RawExpr; right: RawExpr }
  | { kind: "distinct"; negated: boolean; left: RawExpr; right: RawExpr }
  | { kind: "quantified"; op: CompareOp; all: boolean; left: RawExpr; right: RawExpr }
  | { kind: "in"; negated: boolean; left: RawExpr; items: RawExpr[] }
  | { kind: "between"; negated: boolean; symmetric: boolean; arg: RawExpr; low: RawExpr; high: RawExpr }
  | { kind: "like"; negated: boolean; caseInsensitive: boolean; left: RawExpr; pattern: RawExpr }
  | { kind: "nullTest"; negated: boolean; arg: RawExpr }
  | { kind: "boolTest"; test: BoolTestKind; negated: boolean; arg: RawExpr }
  | { kind: "arith"; op: ArithOp; left: RawExpr; right: RawExpr }
  | { kind: "unary"; op: "+" | "-"; arg: RawExpr }
  | { kind: "concat"; left: RawExpr; right: RawExpr }
  | { kind: "arrayOp"; op: ArrayOp; left: RawExpr; right: RawExpr }
  | { kind: "func"; name: FuncName; args: RawExpr[] }
  | { kind: "coalesce"; args: RawExpr[] }
  | { kind: "cast"; arg: RawExpr; type: TypeRef }
  | { kind: "array"; elements: RawExpr[] };

/**
 * How two operands of a comparison are compared, once both have been brought to comparable types:
 * "int" (int2/int4/int8, which PostgreSQL compares across widths without casts), "numeric" (exact decimal),
 * "float" (doubles; float4 values are exact in a double), "text" (code points: the "C" collation), "timestamp"
 * (date compared with timestamp as midnight, like date_cmp_timestamp), and the rest by their own type.
 */
export type Domain = "int" | "numeric" | "float" | "text" | "bool" | "date" | "timestamp" | "timestamptz" | "uuid" | "jsonb";

export type Expr =
  | { kind: "column"; type: SqlType; name: string }
  | { kind: "const"; type: SqlType; value: Value }
  | { kind: "param"; type: SqlType; index: number; value: Value }
  | { kind: "and" | "or"; type: SqlType; args: Expr[] }
  | { kind: "not"; type: SqlType; arg: Expr }
  | { kind: "compare"; type: SqlType; op: CompareOp; domain: Domain; left: Expr; right: Expr }
  | { kind: "distinct"; type: SqlType; negated: boolean; domain: Domain; left: Expr; right: Expr }
  /** `left op ANY/ALL (right)`, right an array. */
  | { kind: "quantified"; type: SqlType; op: CompareOp; all: boolean; domain: Domain; left: Expr; right: Expr }
  | { kind: "arrayOp"; type: SqlType; op: ArrayOp; domain: Domain; left: Expr; right: Expr }
  | { kind: "like"; type: SqlType; negated: boolean; caseInsensitive: boolean; left: Expr; pattern: Expr }
  | { kind: "nullTest"; type: SqlType; negated: boolean; arg: Expr }
  | { kind: "boolTest"; type: SqlType; test: BoolTestKind; negated: boolean; arg: Expr }
  | { kind: "arith"; type: SqlType; op: ArithOp; left: Expr; right: Expr }
  | { kind: "negate"; type: SqlType; arg: Expr }
  | { kind: "concat"; type: SqlType; left: Expr; right: Expr }
  | { kind: "func"; type: SqlType; name: FuncName; arg: Expr }
  | { kind: "coalesce"; type: SqlType; args: Expr[] }
  /** `silent`: a conversion PostgreSQL does inside a cross-type operator; evaluated but not printed. */
  | { kind: "cast"; type: SqlType; arg: Expr; silent: boolean }
  | { kind: "array"; type: SqlType; elements: Expr[] };

export const BOOL: SqlType = { base: "bool", array: false };
export const TEXT: SqlType = { base: "text", array: false };
export const INT4: SqlType = { base: "int4", array: false };

export function scalar(base: BaseType): SqlType {
  return { base, array: false };
}

export function arrayOf(t: SqlType): SqlType {
  return { base: t.base, array: true };
}

export function elementOf(t: SqlType): SqlType {
  return { base: t.base, array: false };
}

export function sameType(a: SqlType, b: SqlType): boolean {
  return a.base === b.base && a.array === b.array;
}

export function typeName(t: SqlType): string {
  return t.array ? `${t.base}[]` : t.base;
}
