/**
 * Operator and common-type resolution for the supported types, matching what PostgreSQL's parser picks
 * (src/backend/parser/parse_oper.c, parse_coerce.c select_common_type) for these cases:
 *   - int2/int4/int8 compare and compute across widths with no cast (int48eq, int24pl, ...), result the wider type;
 *   - int with numeric: the int is cast to numeric;
 *   - any float involved: float4 with float4 stays float4, float4 with float8 uses the cross-type operators, and an
 *     int or numeric operand is cast to float8 (float48eq/float84eq win on the preferred-type rule);
 *   - date with timestamp compares with date_cmp_timestamp (date read as midnight);
 *   - timestamptz with date or timestamp depends on the session TimeZone and is rejected.
 * Returned plans name the casts to insert; the evaluator then compares values of one domain.
 */
import { scalar, typeName, type ArithOp, type BaseType, type Domain, type SqlType } from "./ast.ts";
import { WhereClauseError, unsupported } from "./errors.ts";
import { implicitlyCastable } from "./pg-casts.ts";
import { domainOf, isIntType } from "./pg-values.ts";

const NUMERIC_RANK: Partial<Record<BaseType, number>> = { int2: 0, int4: 1, int8: 2, numeric: 3, float4: 4, float8: 5 };
const DATETIME_RANK: Partial<Record<BaseType, number>> = { date: 0, timestamp: 1, timestamptz: 2 };

export interface ComparePlan {
  domain: Domain;
  /** Cast for the left/right operand, when one is needed. */
  left?: SqlType;
  right?: SqlType;
  /** The cast is done inside PostgreSQL's cross-type operator: evaluate it, do not print it. */
  silent: boolean;
}

function isNumeric(t: SqlType): boolean {
  return !t.array && NUMERIC_RANK[t.base] !== undefined;
}

function isFloat(base: BaseType): boolean {
  return base === "float4" || base === "float8";
}

function noOperator(l: SqlType, op: string, r: SqlType): WhereClauseError {
  return new WhereClauseError(`operator does not exist: ${typeName(l)} ${op} ${typeName(r)}`);
}

function timeZoneDependent(l: SqlType, op: string, r: SqlType): WhereClauseError {
  return unsupported("comparison", `${typeName(l)} ${op} ${typeName(r)}`, "its result depends on the session TimeZone; compare timestamptz with timestamptz");
}

/** Comparison operators (= <> < <= > >=, and IS DISTINCT FROM as "="). */
export function planCompare(l: SqlType, op: string, r: SqlType): ComparePlan {
  const equality = op === "=" || op === "<>";
  if (l.array || r.array) {
    if (!l.array || !r.array || l.base !== r.base) throw noOperator(l, op, r);
    if (!equality) throw unsupported("operator", op, `arrays only support = and <> here (${typeName(l)})`);
    return { domain: domainOf(l.base), silent: false };
  }
  if (isNumeric(l) && isNumeric(r)) {
    if (isIntType(l.base) && isIntType(r.base)) return { domain: "int", silent: false };
    if (!isFloat(l.base) && !isFloat(r.base)) {
      const numeric = scalar("numeric");
      return { domain: "numeric", silent: false, ...(l.base !== "numeric" && { left: numeric }), ...(r.base !== "numeric" && { right: numeric }) };
    }
    const float8 = scalar("float8");
    return { domain: "float", silent: false, ...(!isFloat(l.base) && { left: float8 }), ...(!isFloat(r.base) && { right: float8 }) };
  }
  const ld = DATETIME_RANK[l.base];
  const rd = DATETIME_RANK[r.base];
  if (ld !== undefined && rd !== undefined) {
    if (ld === rd) return { domain: domainOf(l.base), silent: false };
    if (ld === 2 || rd === 2) throw timeZoneDependent(l, op, r);
    const ts = scalar("timestamp");
    return { domain: "timestamp", silent: true, ...(ld === 0 && { left: ts }), ...(rd === 0 && { right: ts }) };
  }
  if (l.base !== r.base) throw noOperator(l, op, r);
  if (l.base === "jsonb" && !equality) throw unsupported("operator", op, "jsonb only supports = and <> here");
  return { domain: domainOf(l.base), silent: false };
}

export interface ArithPlan {
  result: SqlType;
  left?: SqlType;
  right?: SqlType;
}

export function planArith(l: SqlType, op: ArithOp, r: SqlType): ArithPlan {
  if (!isNumeric(l) || !isNumeric(r)) throw unsupported("operator", `${typeName(l)} ${op} ${typeName(r)}`);
  if (isIntType(l.base) && isIntType(r.base)) {
    return { result: NUMERIC_RANK[l.base]! >= NUMERIC_RANK[r.base]! ? l : r };
  }
  if (!isFloat(l.base) && !isFloat(r.base)) {
    const numeric = scalar("numeric");
    return { result: numeric, ...(l.base !== "numeric" && { left: numeric }), ...(r.base !== "numeric" && { right: numeric }) };
  }
  const float8 = scalar("float8");
  if (isFloat(l.base) && isFloat(r.base)) return { result: l.base === "float4" && r.base === "float4" ? l : float8 };
  return { result: float8, ...(!isFloat(l.base) && { left: float8 }), ...(!isFloat(r.base) && { right: float8 }) };
}

function category(t: SqlType): string {
  if (t.array) return `array:${t.base}`;
  if (NUMERIC_RANK[t.base] !== undefined) return "numeric";
  if (DATETIME_RANK[t.base] !== undefined) return "datetime";
  return t.base;
}

/** select_common_type over typed inputs (unknown-typed inputs are left out by the caller; all unknown means text). */
export function commonType(types: SqlType[], context: string): SqlType {
  const first = types[0];
  if (!first) return scalar("text");
  let best = first;
  for (const t of types.slice(1)) {
    if (category(t) !== category(best)) throw new WhereClauseError(`${context} types ${typeName(best)} and ${typeName(t)} cannot be matched`);
    if (t.array) continue;
    const rank = NUMERIC_RANK[t.base] ?? DATETIME_RANK[t.base];
    const bestRank = NUMERIC_RANK[best.base] ?? DATETIME_RANK[best.base];
    if (rank !== undefined && bestRank !== undefined && rank > bestRank) best = t;
  }
  if (category(best) === "datetime" && best.base === "timestamptz" && types.some((t) => t.base !== "timestamptz")) {
    throw timeZoneDependent(types.find((t) => t.base !== "timestamptz")!, context, best);
  }
  if (!types.every((t) => implicitlyCastable(t.base, best.base))) {
    throw new WhereClauseError(`${context} types cannot be matched: ${types.map(typeName).join(", ")}`);
  }
  return best;
}
