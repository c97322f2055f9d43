/**
 * Text forms and value semantics, with expected results taken from PostgreSQL 17 (`SELECT <expr>`).
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { WhereEvaluationError } from "./errors.ts";
import { asciiLower, like } from "./like.ts";
import { formatArrayText, parseArrayText } from "./pg-array.ts";
import { formatDate, formatTimestamp, parseDate, parseTimestamp, TS_INFINITY } from "./pg-datetime.ts";
import { compareFloat, floatArith, floatToBigInt, parseFloat4, parseFloat8 } from "./pg-float.ts";
import { parseJsonb } from "./pg-jsonb.ts";
import { divNumeric, formatNumeric, mulNumeric, numericToBigInt, parseNumeric, type Numeric } from "./pg-numeric.ts";
import { compareText } from "./pg-values.ts";

const num = (s: string): Numeric => parseNumeric(s, true)!;

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
