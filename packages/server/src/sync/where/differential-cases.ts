/**
 * Table, rows and clauses for differential.test.ts. Rows mix NULLs, unicode, mixed case and edge values
 * (integer extremes, NaN, infinities, -0, denormals, BC dates, arrays with NULLs and quoting, jsonb duplicates).
 */

export interface TestColumn {
  name: string;
  type: string;
  dims: number;
  sqlType: string;
}

export const COLUMNS: TestColumn[] = [
  { name: "id", type: "int4", dims: 0, sqlType: "int4" },
  { name: "i2", type: "int2", dims: 0, sqlType: "int2" },
  { name: "i4", type: "int4", dims: 0, sqlType: "int4" },
  { name: "i8", type: "int8", dims: 0, sqlType: "int8" },
  { name: "n", type: "numeric", dims: 0, sqlType: "numeric" },
  { name: "f4", type: "float4", dims: 0, sqlType: "float4" },
  { name: "f8", type: "float8", dims: 0, sqlType: "float8" },
  { name: "name", type: "text", dims: 0, sqlType: "text" },
  { name: "Title", type: "varchar", dims: 0, sqlType: "varchar(40)" },
  { name: "b", type: "bool", dims: 0, sqlType: "bool" },
  { name: "d", type: "date", dims: 0, sqlType: "date" },
  { name: "ts", type: "timestamp", dims: 0, sqlType: "timestamp" },
  { name: "tstz", type: "timestamptz", dims: 0, sqlType: "timestamptz" },
  { name: "u", type: "uuid", dims: 0, sqlType: "uuid" },
  { name: "j", type: "jsonb", dims: 0, sqlType: "jsonb" },
  { name: "tags", type: "text", dims: 1, sqlType: "text[]" },
  { name: "vtags", type: "varchar", dims: 1, sqlType: "varchar[]" },
  { name: "nums", type: "int4", dims: 1, sqlType: "int4[]" },
];

const PICKS: Record<string, (string | null)[]> = {
  i2: [null, "0", "1", "-1", "32767", "-32768", "7", "100"],
  i4: [null, "0", "3", "5", "-7", "2147483647", "-2147483648", "10", "50", "2"],
  i8: [null, "9007199254740993", "9007199254740992", "-9223372036854775808", "9223372036854775807", "0", "42"],
  n: [null, "1.5", "1.50", "0.1", "-0.5", "NaN", "Infinity", "-Infinity", "123456789.123456789", "0", "2.5", "-1.5", "0.3333", "1e-20"],
  f4: [null, "0.1", "0.5", "1e-40", "NaN", "Infinity", "-0", "3.4028235e38", "2.5", "16777217"],
  f8: [null, "0.1", "0.30000000000000004", "NaN", "-Infinity", "1e308", "5e-324", "-0", "2.5", "3.5", "1e10"],
  name: [null, "alice", "Alice", "bob", "Émile", "éa", "zoë", "😀smile", "a_b", "a%b", "ΣΑΣ", "İstanbul", "", " space", "b", "B", "ａ", "\u{10000}x", "\uffffx", "a\\b"],
  Title: [null, "Hello", "World", "hello world", "HELLO", "x", "Ärger"],
  b: [null, "true", "false"],
  d: [null, "2026-01-01", "2025-12-31", "infinity", "-infinity", "0044-03-15 BC", "2026-03-01", "2026-02-28"],
  ts: [null, "2026-03-01 12:00:00", "2026-03-01 12:00:00.000001", "infinity", "2026-03-01 00:00:00", "2026-02-28 23:59:59.999999", "1999-12-31 23:59:59"],
  tstz: [null, "2026-01-01 10:00:00.123+00", "2026-01-01 12:00:00+02", "2026-01-01 09:59:59+00", "-infinity", "2026-01-01 10:00:00.123-05:30"],
  u: [null, "A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a12", "00000000-0000-0000-0000-000000000000", "ffffffff-ffff-ffff-ffff-ffffffffffff"],
  j: [null, '{"a": 1}', '{"a": 1.0}', '{"a": 1, "a": 2}', "[1, 2]", '"str"', "null", '{"b": [1, {"c": null}]}', "1", "1.0", '{"a": 2}'],
  tags: [null, "{}", "{red}", "{red,blue}", "{red,NULL}", '{"a b","c\\"d"}', "{Red,green}", "{blue,green,red}", "{NULL}"],
  vtags: [null, "{}", "{red}", "{red,blue}", "{x,NULL}"],
  nums: [null, "{}", "{1,2,3}", "{1,NULL}", "{{1,2},{3,4}}", "[0:1]={1,2}", "{5}", "{3}"],
};

/** mulberry32: a small deterministic generator, so failures reproduce. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function generateRows(count: number): Record<string, string | null>[] {
  const rnd = random(20260601);
  const pick = <T>(xs: T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const rows: Record<string, string | null>[] = [];
  for (let id = 1; id <= count; id++) {
    const row: Record<string, string | null> = { id: String(id) };
    for (const [col, values] of Object.entries(PICKS)) row[col] = pick(values);
    // Some fresh values besides the fixed edge cases.
    if (rnd() < 0.3) row.i4 = String(Math.floor(rnd() * 200) - 100);
    if (rnd() < 0.3) row.n = (rnd() * 10 - 5).toFixed(Math.floor(rnd() * 4));
    if (rnd() < 0.2) row.f8 = String(rnd() * 10);
    rows.push(row);
  }
  return rows;
}

export interface Case {
  where: string;
  params?: string[];
  /** The client's text means something else in a non-"C" collation; only the printed SQL is compared. */
  collationDependent?: boolean;
  /** PostgreSQL raises on some row; matches() must throw for one too. */
  pgError?: boolean;
  minMatches?: number;
}

export const CASES: Case[] = [
  { where: "i4 = 5", minMatches: 1 },
  { where: "i4 <> 5 AND i4 >= -7" },
  { where: "i8 > 9007199254740992", minMatches: 1 },
  { where: "i2 * 2 + 1 > 100 OR i2 - 1 < -30000", minMatches: 1 },
  { where: "i2 + i4 > 100", pgError: true },
  { where: "i4 / 2 = 1 OR i4 / -3 > 5 OR - (i2 + 0) < -100", minMatches: 1 },
  { where: "- i4 < -2000000000", pgError: true },
  { where: "n = 1.5", minMatches: 1 },
  { where: "n > 0.1 AND n < 100" },
  { where: "n / 3 > 0.333 OR n * 2 - 1 >= i4" },
  { where: "n = 'NaN' OR n > 1e20", minMatches: 1 },
  { where: "n::int4 = 2", pgError: true },
  { where: "f8 = 0.1 OR f8 > 'Infinity'" },
  { where: "f4 = 0.1", minMatches: 0 },
  { where: "f4 IN (0.1, 0.5)", minMatches: 1 },
  { where: "f4 = '0.1' OR f4 < f8" },
  { where: "f8 + 1 > 2 OR f4 / 4 < 0.2", minMatches: 1 },
  { where: "f8 / 2 < 1.3", pgError: true },
  { where: "f8::int4 = 2 OR i8 / 7 > 1000", pgError: true },
  { where: "i4 * 1000000 > 5", pgError: true },
  { where: "name = 'alice' OR name = $1", params: ["Émile"], minMatches: 1 },
  { where: "name < 'b'", collationDependent: true, minMatches: 1 },
  { where: "name BETWEEN 'B' AND 'z' OR name > 'ΣΑ'", collationDependent: true },
  { where: "name >= '\uffff'", collationDependent: true },
  { where: "name LIKE 'a%' OR name LIKE '%\\_%'", minMatches: 1 },
  { where: "name NOT LIKE '%e%' AND name LIKE '_%'" },
  { where: "name ILIKE 'AL%' OR name ILIKE 'é%'", collationDependent: true, minMatches: 1 },
  { where: "lower(name) = 'alice' OR upper(\"Title\") LIKE 'HELLO%'", collationDependent: true, minMatches: 2 },
  { where: "length(name) > 5 OR name || '!' = 'bob!'" },
  { where: "coalesce(name, 'none') = 'none'", minMatches: 1 },
  { where: "\"Title\" IN ('Hello', 'World', 'x')", minMatches: 1 },
  { where: "\"Title\" NOT IN ('Hello', 'World')" },
  { where: "i4 IN (1, 2, 3, NULL) OR i4 NOT IN (5, NULL)", minMatches: 1 },
  { where: "i4 IN (5, i2, 2.5)" },
  { where: "b OR b IS UNKNOWN", minMatches: 1 },
  { where: "NOT b OR (b IS NOT TRUE AND b = 'f')" },
  { where: "(i4 > 10) IS FALSE OR i4 IS DISTINCT FROM NULL" },
  { where: "i4 BETWEEN SYMMETRIC 50 AND 10 OR i2 NOT BETWEEN 0 AND 100" },
  { where: "d > '2026-01-01' OR d = $1", params: ["0044-03-15 BC"], minMatches: 1 },
  { where: "ts >= '2026-03-01 12:00' OR d < ts", minMatches: 1 },
  { where: "tstz BETWEEN $1 AND $2", params: ["2026-01-01 10:00:00+00", "2026-01-01 15:30:00.123"], minMatches: 1 },
  { where: "u = $1 OR u > 'f0000000-0000-0000-0000-000000000000'", params: ["a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"], minMatches: 1 },
  { where: "j = '{\"a\": 1}' OR j IS DISTINCT FROM '[1, 2]'", minMatches: 1 },
  { where: "j = '1' OR j = $1", params: ['{"b": [1, {"c": null}]}'], minMatches: 1 },
  { where: "tags @> ARRAY['red'] OR tags && '{green}'", minMatches: 1 },
  { where: "tags <@ ARRAY['red','green','blue'] OR 'red' = ANY(tags)", minMatches: 1 },
  { where: "'red' <> ALL(tags) OR tags = '{red,blue}'" },
  { where: "vtags @> '{red}' OR 'x' = ANY(vtags)", minMatches: 1 },
  { where: "nums @> '{1}' OR 3 = ANY(nums) OR i4 = ANY(nums)", minMatches: 1 },
  { where: "nums = '{1,2}' OR nums = '[0:1]={1,2}' OR nums = ARRAY[i4, 2]" },
  { where: "CAST(i4 AS text) LIKE '1%' OR i8::numeric / 7 > 1000" },
  { where: "t.\"Title\" = 'Ärger' OR \"Title\" IS NULL", minMatches: 1 },
  { where: "i4 > ALL(ARRAY[i2, 3]) AND f8 < ANY('{1, 2.5, NaN}')" },
  { where: "i8 > $1 AND i2 <= $2", params: ["-1", "10"] },
  // W6: parts that can raise run left to right, only where the other conjuncts are TRUE; constant folding as the
  // planner's decides what runs at all.
  { where: "1 / i4 > 0 OR i4 = 0", pgError: true },
  { where: "i4 = 0 OR 1 / i4 > 0", minMatches: 1 },
  { where: "i4 <> 0 AND 100 / i4 > 3", minMatches: 1 },
  { where: "100 / i4 > 3 AND i4 <> 0", minMatches: 1 },
  { where: "(i4 = 0 AND 1 / i4 > 0) OR (i4 = 0 AND i2 > 0)", pgError: true },
  { where: "(i4 <> 0 AND 1 / i4 > 0) OR (i4 = 0 AND i2 > 0)", minMatches: 1 },
  { where: "1 / (i4 - i4) > 0 OR true", minMatches: 200 },
  { where: "i4 = 5 OR (false AND 1 / 0 = 1)", minMatches: 1 },
  { where: "coalesce(NULL, 2, 1 / 0) = i4", minMatches: 1 },
  { where: "i4 * i4 * i4 > 0 OR i4 IS NULL", pgError: true },
  { where: "i4 IS NOT NULL AND i4 * i4 * i4 > 0", pgError: true },
  { where: "- i4 > 0 OR i4 = 1", pgError: true },
  { where: "n * n * n * n * n * n * n * n > 0 AND n / 7 < 1" },
  { where: "f8 * 1e300 > 1 OR f8 IS NULL", pgError: true },
  { where: "name LIKE \"Title\" OR \"Title\" LIKE name" },
  // Lists of 9 or more constants are hashed (numeric keys ignore trailing zeros; NaN = NaN and -0 = 0 for floats).
  { where: "n IN (1.500, 0.10, 2.5, 0, 'NaN', 'Infinity', -0.5, 7, 8, 9)", minMatches: 1 },
  { where: "f8 IN (0.1, 'NaN', 0, 2.5, 3.5, 1e10, 7, 8, 9, 10) OR f4 NOT IN (0.5, 2.5, 'NaN', 0, 1, 2, 3, 4, 5, NULL)", minMatches: 1 },
  { where: "name NOT IN ('alice', 'bob', 'B', 'b', 'zoë', 'a_b', '', ' space', 'ａ')", collationDependent: false, minMatches: 1 },
  { where: "u = ANY($1) OR j = ANY(ARRAY['1', '\"str\"', 'null', '{\"a\": 1.0}', '[1, 2]', '2', '3', '4', '5']::jsonb[])", params: ["{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11,00000001-0000-0000-0000-000000000000,00000002-0000-0000-0000-000000000000,00000003-0000-0000-0000-000000000000,00000004-0000-0000-0000-000000000000,00000005-0000-0000-0000-000000000000,00000006-0000-0000-0000-000000000000,00000007-0000-0000-0000-000000000000,00000008-0000-0000-0000-000000000000,NULL}"], minMatches: 1 },
];
