/**
 * Text forms and value semantics, with expected results taken from PostgreSQL 17 (`SELECT <expr>`).
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { WhereEvaluationError } from "./errors.ts";
import { asciiLower, like } from "./like.ts";
import { formatArrayText, parseArrayText } from "./pg-array.ts";
import { dateToTimestamp, dateToTimestampForComparison, END_TIMESTAMP, formatDate, formatTimestamp, MIN_TIMESTAMP, parseDate, parseTimestamp, timestampToDate, TS_INFINITY } from "./pg-datetime.ts";
import { compareFloat, floatArith, floatToBigInt, parseFloat4, parseFloat8 } from "./pg-float.ts";
import { parseJsonb } from "./pg-jsonb.ts";
import { addNumeric, compareNumeric, divNumeric, formatNumeric, mulNumeric, numericKey, numericToBigInt, parseNumeric, subNumeric, type Numeric } from "./pg-numeric.ts";
import { compareText } from "./pg-values.ts";

const num = (s: string): Numeric => parseNumeric(s, true)!;
/** Row text (no literal limits). */
const row = (s: string): Numeric => parseNumeric(s, false)!;

describe("numeric", () => {
  test("parse keeps the display scale, like numeric_in", () => {
    assert.equal(formatNumeric(num("1.50")), "1.50");
    assert.equal(formatNumeric(num("1.50e1")), "15.0");
    assert.equal(formatNumeric(num("1e-3")), "0.001");
    assert.equal(formatNumeric(num("-0.00")), "0.00");
    assert.equal(formatNumeric(num(".5")), "0.5");
    assert.equal(formatNumeric(num("Infinity")), "Infinity");
    assert.equal(formatNumeric(num("nan")), "NaN");
    for (const bad of ["", ".", "1e", " 1", "1 ", "1_000", "0x10", "e5", "1e5000"]) assert.equal(parseNumeric(bad, true), undefined, bad);
  });

  test("division picks the scale of select_div_scale and rounds half away from zero", () => {
    const cases: [string, string, string][] = [
      ["7.0", "3", "2.3333333333333333"],
      ["1", "3", "0.33333333333333333333"],
      ["10000", "3.0", "3333.3333333333333333"],
      ["1", "7.000000", "0.14285714285714285714"],
      ["123456789.123", "0.0007", "176366841604.28571429"],
      ["0.001", "3", "0.00033333333333333333"],
      ["0.0", "3", "0.00000000000000000000"],
      ["-2", "3", "-0.66666666666666666667"],
      ["NaN", "0", "NaN"],
      ["1", "Infinity", "0"],
    ];
    for (const [a, b, want] of cases) assert.equal(formatNumeric(divNumeric(num(a), num(b))), want, `${a} / ${b}`);
    assert.throws(() => divNumeric(num("Infinity"), num("0")), WhereEvaluationError);
    assert.throws(() => divNumeric(num("1"), num("0.00")), /division by zero/);
    assert.equal(formatNumeric(mulNumeric(num("1.5"), num("2.25"))), "3.375");
  });

  test("multiplication is exact up to scale 16383, then rounds half away from zero (numeric_mul)", () => {
    const a = row(`0.${"1".repeat(10000)}`);
    const p = mulNumeric(a, a);
    assert.equal(p.kind === "finite" && p.scale, 16383);
    // 0.111...1 (10000 ones) squared: digits 1 2 3 ... up to position 16383, rounded at the last kept digit.
    const exact = (10n ** 10000n - 1n) / 9n;
    const full = (exact * exact).toString().padStart(20000, "0");
    const kept = BigInt(full.slice(0, 16383)) + (full.charCodeAt(16383) >= 53 ? 1n : 0n);
    assert.equal(formatNumeric(p), `0.${kept.toString().padStart(16383, "0")}`);
    assert.equal(formatNumeric(mulNumeric(row(`0.${"0".repeat(16382)}1`), num("0.5"))), `0.${"0".repeat(16382)}1`, "half rounds away from zero");
    assert.equal(formatNumeric(mulNumeric(row(`0.${"0".repeat(16382)}1`), num("0.4"))), `0.${"0".repeat(16383)}`);
    assert.equal(formatNumeric(mulNumeric(row(`-0.${"0".repeat(16382)}1`), num("0.5"))), `-0.${"0".repeat(16382)}1`);
    assert.equal(formatNumeric(mulNumeric(num("-1.5"), num("0"))), "0.0", "no negative zero");
  });

  test("results with more than 131072 digits before the point overflow (make_result's weight limit)", () => {
    const max = row("9".repeat(131072));
    assert.equal(formatNumeric(addNumeric(max, num("0.4"))).length, 131074);
    assert.throws(() => addNumeric(max, num("1")), /value overflows numeric format/);
    assert.throws(() => subNumeric(num("-1"), max), /value overflows numeric format/);
    assert.throws(() => mulNumeric(row(`1${"0".repeat(65536)}`), row(`1${"0".repeat(65536)}`)), /value overflows numeric format/);
    assert.equal(formatNumeric(mulNumeric(row(`1${"0".repeat(65535)}`), row(`1${"0".repeat(65536)}`))).length, 131072);
    assert.throws(() => mulNumeric(row(`1${"0".repeat(131071)}`), num("10")), /value overflows numeric format/);
    assert.throws(() => divNumeric(row(`1${"0".repeat(131071)}`), num("0.1")), /value overflows numeric format/);
    assert.equal(formatNumeric(divNumeric(row(`1${"0".repeat(131070)}`), num("0.1"))), `1${"0".repeat(131071)}.0`, "scale max(16 - 4 * qweight, 1)");
  });

  test("division scale is at most 1000, at least the inputs' (select_div_scale)", () => {
    const q = divNumeric(num("1"), row(`0.${"0".repeat(2000)}1`));
    assert.equal(q.kind === "finite" && q.scale, 1000);
    const r = divNumeric(row(`1.${"0".repeat(5000)}`), num("3"));
    assert.equal(r.kind === "finite" && r.scale, 1000);
    assert.equal(formatNumeric(divNumeric(num("2"), num("3"))), "0.66666666666666666667");
  });

  test("add and subtract are exact and linear on long digit strings; comparison and hashing ignore trailing zeros", () => {
    const a = row(`${"9".repeat(60000)}.${"9".repeat(60)}`);
    const b = row(`0.${"0".repeat(59)}1`);
    assert.equal(formatNumeric(addNumeric(a, b)), `1${"0".repeat(60000)}.${"0".repeat(60)}`);
    assert.equal(formatNumeric(subNumeric(b, a)), `-${"9".repeat(60000)}.${"9".repeat(59)}8`);
    assert.equal(compareNumeric(num("1.50"), num("1.5")), 0);
    assert.equal(compareNumeric(num("-2"), num("-10")), 1);
    assert.equal(compareNumeric(num("0.001"), num("0.0009")), 1);
    assert.equal(numericKey(num("1.50")), numericKey(num("1.5")));
    assert.notEqual(numericKey(num("150")), numericKey(num("1.5")));
  });

  test("to integer rounds half away from zero", () => {
    assert.equal(numericToBigInt(num("2.5"), "bigint"), 3n);
    assert.equal(numericToBigInt(num("-2.5"), "integer"), -3n);
    assert.equal(numericToBigInt(num("2.49"), "integer"), 2n);
    assert.throws(() => numericToBigInt(num("NaN"), "integer"), /cannot convert NaN to integer/);
  });
});

describe("float", () => {
  test("float4 input rounds the decimal once, like strtof", () => {
    // Via a double this lands exactly on the midpoint between 1 and the next float4 and would round to even (1).
    assert.equal(parseFloat4("1.00000005960464477539062500000000001"), 1.0000001192092896);
    assert.equal(parseFloat4("1.000000059604644775390625"), 1);
    assert.equal(parseFloat4("0.1"), Math.fround(0.1));
    assert.equal(parseFloat4("1.6777216e+07"), 16777216);
    assert.equal(parseFloat4("1e39"), undefined);
    assert.equal(parseFloat4("1e-50"), undefined);
    assert.equal(parseFloat4("1e-40"), Math.fround(1e-40));
  });

  test("float8 input and PostgreSQL's NaN ordering", () => {
    assert.equal(parseFloat8("1e+21"), 1e21);
    assert.ok(Object.is(parseFloat8("-0"), -0));
    assert.equal(parseFloat8("-Infinity"), -Infinity);
    assert.equal(parseFloat8("1e400"), undefined);
    assert.equal(parseFloat8("0x10"), undefined);
    assert.equal(compareFloat(NaN, NaN), 0);
    assert.equal(compareFloat(NaN, Infinity), 1);
    assert.equal(compareFloat(-0, 0), 0);
  });

  test("arithmetic raises where float.h does; float -> int uses rint", () => {
    assert.throws(() => floatArith("*", 1e308, 10, false), /overflow/);
    assert.throws(() => floatArith("*", 1e-308, 1e-308, false), /underflow/);
    assert.throws(() => floatArith("/", 1, 0, false), /division by zero/);
    assert.ok(Number.isNaN(floatArith("/", NaN, 0, false)));
    assert.equal(floatArith("+", Infinity, 1, false), Infinity);
    assert.throws(() => floatArith("*", 3e38, 10, true), /overflow/);
    assert.equal(floatToBigInt(2.5, 32, "integer"), 2n);
    assert.equal(floatToBigInt(3.5, 32, "integer"), 4n);
    assert.equal(floatToBigInt(-2.5, 32, "integer"), -2n);
    assert.throws(() => floatToBigInt(2147483648, 32, "integer"), /integer out of range/);
  });
});

describe("arrays", () => {
  test("array_in: quoting, escapes, NULL, whitespace, nesting and bounds", () => {
    assert.deepEqual(parseArrayText(' { a , "b c" , NULL, "NULL", x\\"y, "\\\\" } '), {
      dims: [6], lbounds: [1], items: ["a", "b c", null, "NULL", 'x"y', "\\"],
    });
    assert.deepEqual(parseArrayText("{{1,2},{3,4}}"), { dims: [2, 2], lbounds: [1, 1], items: ["1", "2", "3", "4"] });
    assert.deepEqual(parseArrayText("[0:1]={7,8}"), { dims: [2], lbounds: [0], items: ["7", "8"] });
    assert.deepEqual(parseArrayText("{}"), { dims: [], lbounds: [], items: [] });
    assert.deepEqual(parseArrayText("{{}}"), { dims: [], lbounds: [], items: [] });
    assert.deepEqual(parseArrayText('{""}'), { dims: [1], lbounds: [1], items: [""] });
    for (const bad of ["", "{", "{a", "{a,}", "{,a}", "{a,{b}}", "{{1},{2,3}}", '{"a"b}', "{}x", "[1:3]={1,2}", "{a b\"c}"]) {
      assert.equal(parseArrayText(bad), undefined, bad);
    }
  });

  test("array_out quotes what needs quoting", () => {
    const text = formatArrayText({ dims: [6], lbounds: [1], items: ["a b", "NULL", "", 'x"y', "x\\y", null] });
    assert.equal(text, '{"a b","NULL","","x\\"y","x\\\\y",NULL}');
    assert.deepEqual(parseArrayText(text)!.items, ["a b", "NULL", "", 'x"y', "x\\y", null]);
    assert.equal(formatArrayText({ dims: [2], lbounds: [0], items: ["1", "2"] }), "[0:1]={1,2}");
  });
});

describe("date and timestamp", () => {
  test("ISO forms, BC years, infinities, offsets", () => {
    assert.equal(formatDate(parseDate("0044-03-15 BC")!), "0044-03-15 BC");
    assert.equal(formatDate(parseDate("10000-01-01")!), "10000-01-01");
    assert.equal(parseDate("2024-02-30"), undefined);
    assert.equal(parseDate("-infinity"), -Infinity);
    assert.equal(parseTimestamp("2026-01-01 12:00:00+02", true), parseTimestamp("2026-01-01 10:00:00Z", true));
    assert.equal(parseTimestamp("2026-01-01 10:00:00+05:30:15", true), parseTimestamp("2026-01-01 04:29:45", true));
    assert.equal(formatTimestamp(parseTimestamp("0044-03-15 10:00:00.5+00 BC", true)!, true), "0044-03-15 10:00:00.5+00 BC");
    assert.equal(formatTimestamp(parseTimestamp("2026-03-01T12:00", false)!, false), "2026-03-01 12:00:00");
    assert.equal(parseTimestamp("infinity", true), TS_INFINITY);
    for (const bad of ["2026-01-01 10:00+02", "2026-01-01 24:00", "2026-01-01 10:00:60", "now", "2026-1-1", "2026-01-01 10:00:00.1234567"]) {
      assert.equal(parseTimestamp(bad, false), undefined, bad);
    }
  });
});

describe("date and timestamp range edges", () => {
  test("timestamps are microseconds since 2000-01-01 and stay below 'infinity' up to the last valid one", () => {
    assert.equal(parseTimestamp("2000-01-01 00:00:00", false), 0n);
    const last = parseTimestamp("294276-12-31 23:59:59.999999", false)!;
    assert.equal(last, END_TIMESTAMP - 1n);
    assert.equal(END_TIMESTAMP, 9223371331200000000n);
    assert.ok(last < TS_INFINITY);
    // With microseconds since 1970 these would pass the int64 maximum ('infinity').
    assert.ok(parseTimestamp("294247-01-10 04:00:54.775808", false)! < last);
    assert.equal(parseTimestamp("294277-01-01 00:00:00", false), undefined);
    assert.equal(parseTimestamp("294277-01-01 00:30:00+01", true), END_TIMESTAMP - 1_800_000_000n, "the offset is applied before the range check");
    assert.equal(parseTimestamp("294276-12-31 23:30:00-01", true), undefined);
    assert.equal(parseTimestamp("4714-11-24 00:00:00 BC", false), MIN_TIMESTAMP);
    assert.equal(MIN_TIMESTAMP, -211813488000000000n);
    assert.equal(parseTimestamp("4714-11-23 23:59:59.999999 BC", false), undefined);
    assert.equal(parseTimestamp("4714-11-23 23:00:00-02 BC", true), MIN_TIMESTAMP + 3_600_000_000n);
    assert.equal(formatTimestamp(last, false), "294276-12-31 23:59:59.999999");
    assert.equal(formatTimestamp(MIN_TIMESTAMP, true), "4714-11-24 00:00:00+00 BC");
  });

  test("date -> timestamp raises past 294276; date/timestamp comparison orders such dates between the last timestamp and 'infinity'", () => {
    assert.equal(dateToTimestamp(parseDate("294276-12-31")!), END_TIMESTAMP - 86_400_000_000n);
    assert.throws(() => dateToTimestamp(parseDate("294277-01-01")!), /date out of range for timestamp/);
    const far = dateToTimestampForComparison(parseDate("5874897-12-31")!);
    assert.ok(far > END_TIMESTAMP - 1n && far < TS_INFINITY);
    assert.equal(dateToTimestampForComparison(Infinity), TS_INFINITY);
    assert.equal(timestampToDate(END_TIMESTAMP - 1n), parseDate("294276-12-31"));
    assert.equal(parseDate("5874898-01-01"), undefined);
    assert.equal(parseDate("4714-11-23 BC"), undefined);
    assert.equal(parseDate("99999999999-01-01"), undefined, "absurd years are refused, not computed");
  });
});

describe("jsonb", () => {
  test("equality after jsonb normalisation", () => {
    const eq = (a: string, b: string) => parseJsonb(a, true)! === parseJsonb(b, true)!;
    assert.ok(eq('{"a": 1, "b": [true, null]}', '{"b":[true,null],"a":1.00}'));
    assert.ok(eq('{"a": 1, "a": 2}', '{"a": 2}'));
    assert.ok(!eq("[1, 2]", "[2, 1]"));
    assert.ok(!eq("[1]", "1"));
    assert.ok(eq('"\\u00e9"', '"é"'));
    for (const bad of ['"\\u0000"', '"\\ud800"', "{'a': 1}", "[1,]", "01", "1 2", "NaN"]) assert.equal(parseJsonb(bad, true), undefined, bad);
  });

  test("constants are printed as jsonb_out prints (keys by byte length, then bytes); row text is only number-normalised", () => {
    assert.equal(parseJsonb('{"bb":1,"a":2,"é":3,"b":{"z":[1,2.50,{}],"y":[]}}', true), '{"a": 2, "b": {"y": [], "z": [1, 2.5, {}]}, "bb": 1, "é": 3}');
    assert.equal(parseJsonb('"\\u001f\\u00e9/\\\\\\"\\t"', true), '"\\u001fé/\\\\\\"\\t"');
    assert.equal(parseJsonb("[1e2, -0, 0.0e0, 1.000, -1.5e-3]", true), "[100, 0, 0, 1, -0.0015]");
    assert.equal(parseJsonb('{"a": 1.50, "s": "1.50"}', false), '{"a": 1.5, "s": "1.50"}');
    assert.equal(parseJsonb("[1, 2]", false), "[1, 2]");
  });
});

describe("text and LIKE", () => {
  test("code point order, not UTF-16 order", () => {
    assert.equal(compareText("\u{10000}", "\uffff"), 1);
    assert.equal(compareText("B", "a"), -1);
    assert.equal(compareText("ab", "a"), 1);
  });

  test("LIKE matches per character and raises like MatchText", () => {
    assert.ok(like("a😀c", "a_c"));
    assert.ok(like("a%", "a\\%"));
    assert.ok(!like("ab", "a\\%"));
    assert.ok(like("anything", "%"));
    assert.ok(like("", "%%"));
    assert.ok(!like("", "_"));
    assert.ok(like("xaby", "%a_y"));
    assert.ok(!like("a", "a\\"), "PostgreSQL answers false when the text ends first");
    assert.throws(() => like("ab", "a\\"), /must not end with escape character/);
    assert.equal(asciiLower("ÉCOLE"), "École");
  });
});
