/**
 * A second table for differential.test.ts: few rows, each built to hit a limit (LIKE patterns that recurse deeply
 * or end in a lone backslash, numerics at the weight and scale limits, timestamps and dates at the edges of their
 * ranges, integer extremes, zeros to divide by, deep jsonb), and clauses over them. These are compared with
 * PostgreSQL row by row, errors included (W2, W6): for each row, PostgreSQL's answer is TRUE, FALSE or an error, and
 * `matches()` must give the same (WhereEvaluationError for an error).
 */
import type { TestColumn } from "./differential-cases.ts";

export const HOSTILE_COLUMNS: TestColumn[] = [
  { name: "id", type: "int4", dims: 0, sqlType: "int4" },
  { name: "s", type: "text", dims: 0, sqlType: "text" },
  { name: "p", type: "text", dims: 0, sqlType: "text" },
  { name: "n", type: "numeric", dims: 0, sqlType: "numeric" },
  { name: "m", type: "numeric", dims: 0, sqlType: "numeric" },
  { name: "x", type: "int4", dims: 0, sqlType: "int4" },
  { name: "y", type: "int8", dims: 0, sqlType: "int8" },
  { name: "f", type: "float8", dims: 0, sqlType: "float8" },
  { name: "d", type: "date", dims: 0, sqlType: "date" },
  { name: "ts", type: "timestamp", dims: 0, sqlType: "timestamp" },
  { name: "tz", type: "timestamptz", dims: 0, sqlType: "timestamptz" },
  { name: "a", type: "int4", dims: 1, sqlType: "int4[]" },
  { name: "j", type: "jsonb", dims: 0, sqlType: "jsonb" },
];

const digits = (d: string, n: number) => d.repeat(n);

/** Rows as inserted (read back as text by the test); unset columns are NULL. */
export const HOSTILE_ROWS: Record<string, string>[] = [
  // LIKE: MatchText recursing once per `%` (20,000 deep); a pattern that backtracks; lone trailing backslashes
  // reached or not reached by the matcher.
  { s: digits("%a", 20000), p: digits("%a", 20000), x: "1" },
  { s: `${digits("a", 3000)}b`, p: "%a%a%a%a%a%a%c", x: "2" },
  { s: "ab", p: "a\\", x: "0" },
  { s: "abc", p: "a\\" },
  { s: "xyz", p: "%\\" },
  { s: "", p: "\\" },
  { s: "a%b_c", p: "a\\%b\\_%" },
  { s: "x", p: "%_%_\\" },
  { s: "\u{1F600}a\u{1F600}", p: "_a_" },
  // numeric: long fractions (products pass the display scale cap of 16383), magnitudes at the weight limit (131072
  // digits before the point: products and sums overflow it by one digit or stay just inside), the smallest
  // scale-16383 value, NaN and infinities. Big values have few non-zero base-10000 digits, so PostgreSQL's
  // schoolbook multiplication of them stays fast.
  { n: `0.${digits("1234567890", 100)}`, m: `1${digits("0", 65536)}`, y: "9223372036854775807" },
  { n: `1${digits("0", 131071)}`, m: `0.${digits("0", 16382)}1`, x: "0", y: "-9223372036854775808" },
  { n: `9${digits("0", 131071)}.4`, m: "0.1", f: "1e308" },
  { n: `9${digits("0", 65535)}`, m: `0.${digits("3", 9000)}`, f: "-0" },
  { n: `4${digits("9", 7)}${digits("0", 131064)}`, m: `2${digits("0", 7)}1`, x: "5" },
  { n: "1.5", m: "-0.5", x: "-2147483648", f: "NaN" },
  { n: "NaN", m: "0", x: "2147483647", f: "Infinity" },
  { n: "Infinity", m: "-Infinity", x: "7" },
  { n: `0.${digits("7", 8000)}`, m: `0.${digits("3", 8000)}`, x: "3" },
  // date and timestamp at the edges: the last valid timestamp, the first date past the timestamp range, the last
  // date, the first valid timestamp and date (4714-11-24 BC), and around the point where microseconds since 1970
  // would pass the int64 maximum (294247-01-10).
  { d: "294276-12-31", ts: "294276-12-31 23:59:59.999999", tz: "294276-12-31 23:59:59.999999+00" },
  { d: "294277-01-01", ts: "infinity", tz: "infinity" },
  { d: "5874897-12-31", ts: "294247-01-10 04:00:54.775808", tz: "294247-01-10 04:00:54.775807+00" },
  { d: "4714-11-24 BC", ts: "4714-11-24 00:00:00 BC", tz: "4714-11-24 00:00:00+00 BC" },
  { d: "infinity", ts: "-infinity", tz: "-infinity" },
  { d: "-infinity", ts: "2000-01-01 00:00:00", tz: "2000-01-01 00:00:00+00" },
  // arrays with extreme bounds and six dimensions; deep jsonb.
  { a: "[2147483646:2147483646]={1}", j: `${"[".repeat(3000)}1${"]".repeat(3000)}` },
  { a: "[-2147483648:-2147483647]={1,2}", j: '{"a": 1.50, "b": [2.0, {}]}' },
  { a: "{{{{{{1}}}}}}", j: '{"a": 1.5, "b": [2, {}]}' },
  { j: '{"bb": 1, "a": 2, "é": 3, "ab": "\\u001f\\\\ \\"x\\"", "é1": [1.0, -0.50]}' },
];

/** Clauses compared row by row. Each can raise on some row, or is at a range edge. */
export const HOSTILE_CASES: string[] = [
  "s LIKE p",
  "s NOT LIKE p",
  "s LIKE s",
  "p LIKE s",
  "s ILIKE p",
  "p ILIKE '%A%'",
  "s LIKE p OR x = 1",
  "x = 1 OR s LIKE p",
  "n * n * n * n > 0",
  "n * m > 0",
  "m * m > 1",
  "n * m * m * m > 0",
  "m * m > 0",
  "m * 0.5 > 0 AND m * 0.4 = 0",
  "n * n * n * n <> (n * n) * (n * n)",
  "n + n > 0",
  "n - m < 0",
  "n * 10 > 0",
  "n / m > 0",
  "m / n < 1",
  "n::float8 > 0",
  "n::int4 > 0",
  "n::int8 = y",
  "1 / x > 0 OR s IS NULL",
  "s IS NULL OR 1 / x > 0",
  "x <> 0 AND 10 / x > 1",
  "10 / x > 1 AND x <> 0",
  "(x = 0 AND 1 / x > 0) OR (x = 0 AND s IS NULL)",
  "(1 / x > 0 AND s IS NULL) OR (1 / x > 0 AND s IS NOT NULL)",
  "- x > 0",
  "x + 1 > 0 OR x - 1 < 0",
  "y + 1 > 0",
  "- y < 0",
  "x::int2 > 0",
  "f::int4 > 0",
  "f * f > 0",
  "f::float4 > 0",
  "coalesce(1 / x, 0) > 0",
  "x IN (1 / x, 2)",
  "NOT (10 / x > 1) IS TRUE",
  "(10 / x > 1) IS UNKNOWN OR x IS NULL",
  "d::timestamp > '2000-01-01'",
  "d < ts",
  "d > ts",
  "d = ts",
  "d >= ANY(ARRAY[ts])",
  "coalesce(d, ts) > '2000-01-01'",
  "d IN (ts, '2000-01-01'::timestamp)",
  "ts > '294276-12-31 23:59:59.999998'",
  "ts::date > d",
  "tz > '294276-12-31 23:59:59.999998+00'",
  "tz < '294247-01-10 04:00:54.775808+00'",
  "ts < '294247-01-10 04:00:54.775808'",
  "a = '[2147483646:2147483646]={1}'",
  "a @> '{1}' AND a <> '{1}'",
  "1 = ANY(a)",
  "j = '[[[1]]]' OR j = '{\"a\": 1.5, \"b\": [2.00, {}]}'",
  "j <> '{\"b\": [2], \"a\": 1.5000}'",
  "j = '{\"é1\": [1, -0.5], \"ab\": \"\\u001f\\\\ \\\"x\\\"\", \"é\": 3, \"a\": 2.0, \"bb\": 1}'",
  "j = ANY(ARRAY['{\"a\": 1.5, \"b\": [2.0, {}]}'::jsonb, '[[1]]', '1', '2', '3', '4', '5', '6', '7', '8'])",
];
