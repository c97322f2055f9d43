/**
 * Random where clauses over the differential table (differential-cases.ts), for differential.test.ts: mixes of
 * numeric types and literal forms, text operators, NULLs, arrays, casts and boolean structure, so that type
 * resolution is compared with PostgreSQL on many more shapes than the hand-written cases.
 */

export interface FuzzClause {
  where: string;
  /**
   * Only the printed SQL can be compared: the clause orders or case-folds text (collation-dependent in the
   * client's text), or gives varchar[] a text[] operand (PostgreSQL has no such operator; the printed SQL casts).
   */
  printedOnly: boolean;
}

const NUMERIC_COLUMNS = ["i2", "i4", "i8", "n", "f4", "f8", "id"];
const NUMBER_LITERALS = ["0", "1", "-1", "2.5", "1.50", "0.1", "-7", "3000000000", "1e3", "'5'", "'0.5'", "NULL", "2147483647", "-0.0", "'NaN'", "100"];
const TEXT_COLUMNS = ["name", '"Title"'];
const TEXT_LITERALS = ["'alice'", "'b'", "'B'", "''", "'Émile'", "'zoë'", "'a_b'", "'Hello'", "NULL", "'😀smile'", "'a\\b'"];
const PATTERNS = ["'a%'", "'%e%'", "'_'", "'%\\_%'", "'%'", "'H%o'", "'%😀%'", "'a\\\\b'", "''"];
const TYPES = ["int2", "int4", "int8", "numeric", "float4", "float8"];

export function fuzzClauses(count: number, seed: number): FuzzClause[] {
  let a = seed;
  const rnd = (): number => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const pick = <T>(xs: T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  let printedOnly = false;

  const num = (depth: number): string => {
    const r = rnd();
    if (depth <= 0 || r < 0.45) return pick(NUMERIC_COLUMNS);
    if (r < 0.65) return pick(NUMBER_LITERALS.filter((l) => !l.startsWith("'") && l !== "NULL"));
    if (r < 0.85) return `(${num(depth - 1)} ${pick(["+", "-", "*", "/"])} ${num(depth - 1)})`;
    if (r < 0.93) return `${num(depth - 1)}::${pick(TYPES)}`;
    return `coalesce(${num(depth - 1)}, ${pick(NUMBER_LITERALS.filter((l) => l !== "NULL"))})`;
  };

  const text = (depth: number): string => {
    const r = rnd();
    if (depth <= 0 || r < 0.5) return pick(TEXT_COLUMNS);
    if (r < 0.65) return pick(TEXT_LITERALS.filter((l) => l !== "NULL"));
    if (r < 0.8) return `${text(depth - 1)} || ${text(depth - 1)}`;
    if (r < 0.9) {
      printedOnly = true;
      return `${pick(["lower", "upper"])}(${text(depth - 1)})`;
    }
    return `coalesce(${text(depth - 1)}, ${pick(TEXT_LITERALS)})`;
  };

  const pred = (depth: number): string => {
    const r = rnd();
    if (depth > 0 && r < 0.2) return `(${pred(depth - 1)} ${pick(["AND", "OR"])} ${pred(depth - 1)})`;
    if (depth > 0 && r < 0.25) return `NOT (${pred(depth - 1)})`;
    if (depth > 0 && r < 0.3) return `(${pred(depth - 1)}) IS ${pick(["", "NOT "])}${pick(["TRUE", "FALSE", "UNKNOWN"])}`;
    const kind = pick(["num", "num", "num", "text", "like", "in", "between", "null", "array", "any", "bool", "time"]);
    switch (kind) {
      case "num":
        return `${num(2)} ${pick(["=", "<>", "<", "<=", ">", ">="])} ${rnd() < 0.6 ? pick(NUMBER_LITERALS) : num(1)}`;
      case "text": {
        const op = pick(["=", "<>", "<", ">=", "IS DISTINCT FROM"]);
        if (op === "<" || op === ">=") printedOnly = true;
        return `${text(2)} ${op} ${rnd() < 0.7 ? pick(TEXT_LITERALS) : text(1)}`;
      }
      case "like": {
        const op = pick(["LIKE", "NOT LIKE", "ILIKE", "NOT ILIKE"]);
        if (op.includes("ILIKE")) printedOnly = true;
        return `${text(1)} ${op} ${pick(PATTERNS)}`;
      }
      case "in":
        return rnd() < 0.5
          ? `${num(1)} ${pick(["IN", "NOT IN"])} (${Array.from({ length: 1 + Math.floor(rnd() * 3) }, () => (rnd() < 0.8 ? pick(NUMBER_LITERALS) : pick(NUMERIC_COLUMNS))).join(", ")})`
          : `${text(1)} ${pick(["IN", "NOT IN"])} (${Array.from({ length: 1 + Math.floor(rnd() * 3) }, () => pick(TEXT_LITERALS)).join(", ")})`;
      case "between":
        return `${num(1)} ${pick(["BETWEEN", "NOT BETWEEN", "BETWEEN SYMMETRIC"])} ${pick(NUMBER_LITERALS)} AND ${pick(NUMBER_LITERALS)}`;
      case "null":
        return `${pick([...NUMERIC_COLUMNS, ...TEXT_COLUMNS, "b", "d", "tags", "j"])} IS ${pick(["", "NOT "])}NULL`;
      case "array":
        return pick([
          `tags ${pick(["@>", "<@", "&&"])} ${pick(["'{red}'", "ARRAY['red', 'blue']", "'{}'", "ARRAY['green', NULL]", "'{\"a b\"}'"])}`,
          `nums ${pick(["@>", "<@", "&&", "=", "<>"])} ${pick(["'{1}'", "ARRAY[1, 2, 3]", "'{}'", "ARRAY[i4, 2]", "'[0:1]={1,2}'"])}`,
          `vtags ${pick(["@>", "&&"])} '{red}'`,
        ]);
      case "any":
        return pick([
          `${pick(["'red'", "name", "'blue'"])} ${pick(["= ANY", "<> ALL", "= ALL"])}(tags)`,
          `${num(1)} ${pick(["= ANY", "<> ALL", "< ANY", ">= ALL"])}(${pick(["nums", "'{1,2,NULL}'", "ARRAY[1.5, 2]", "ARRAY[i2, 3]"])})`,
        ]);
      case "bool":
        return pick(["b", "NOT b", "b = 'f'", "b IS NOT TRUE", "b <> true", "coalesce(b, false)"]);
      default:
        return pick([
          `d ${pick(["<", ">=", "="])} ${pick(["'2026-01-01'", "ts", "'infinity'", "'0044-03-15 BC'"])}`,
          `ts ${pick(["<", ">"])} ${pick(["'2026-03-01 12:00:00.0000005'", "'2026-03-01 12:00'", "d"])}`,
          `tstz ${pick(["<", ">=", "="])} ${pick(["'2026-01-01 10:00:00.123+00'", "'2026-01-01 12:00'", "'-infinity'"])}`,
          `u ${pick(["=", "<"])} ${pick(["'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11'", "'f0000000-0000-0000-0000-000000000000'"])}`,
          `j ${pick(["=", "<>"])} ${pick(["'{\"a\": 1.0}'", "'[1,2]'", "'1'", "'null'"])}`,
        ]);
    }
  };

  const out: FuzzClause[] = [];
  for (let i = 0; i < count; i++) {
    printedOnly = false;
    const where = pred(3);
    out.push({ where, printedOnly });
  }
  return out;
}
