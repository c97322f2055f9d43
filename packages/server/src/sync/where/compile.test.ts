/**
 * Operators one by one, with SQL NULL semantics (W3), params (W7), `equality` (W8), `columns`, printed SQL (W1)
 * and run-time errors (W6). Differences from PostgreSQL are checked in differential.test.ts.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { compileWhere, WhereClauseError, WhereEvaluationError, type ColumnInfo } from "./index.ts";

const COLUMNS: ColumnInfo[] = [
  { name: "id", type: "int4", dims: 0 },
  { name: "i2", type: "int2", dims: 0 },
  { name: "big", type: "int8", dims: 0 },
  { name: "n", type: "numeric", dims: 0 },
  { name: "f4", type: "float4", dims: 0 },
  { name: "f8", type: "float8", dims: 0 },
  { name: "name", type: "text", dims: 0 },
  { name: "Title", type: "varchar", dims: 0 },
  { name: "ok", type: "bool", dims: 0 },
  { name: "d", type: "date", dims: 0 },
  { name: "ts", type: "timestamp", dims: 0 },
  { name: "tz", type: "timestamptz", dims: 0 },
  { name: "u", type: "uuid", dims: 0 },
  { name: "j", type: "jsonb", dims: 0 },
  { name: "tags", type: "text", dims: 1 },
  { name: "nums", type: "int4", dims: 1 },
];

type Row = Record<string, string | null>;
const EMPTY: Row = Object.fromEntries(COLUMNS.map((c) => [c.name, null]));

function matches(where: string, row: Row, params: string[] = []): boolean {
  return compileWhere(where, params, COLUMNS).matches({ ...EMPTY, ...row });
}

/** Asserts which rows match, each row given as a partial row. */
function check(where: string, cases: [Row, boolean][], params: string[] = []): void {
  const compiled = compileWhere(where, params, COLUMNS);
  for (const [row, want] of cases) {
    assert.equal(compiled.matches({ ...EMPTY, ...row }), want, `${where} on ${JSON.stringify(row)}`);
  }
}

describe("comparisons (W3)", () => {
  test("= <> != < <= > >= with NULL on either side are never true", () => {
    for (const op of ["=", "<>", "!=", "<", "<=", ">", ">="]) {
      check(`id ${op} 5`, [[{ id: null }, false]]);
      check(`NOT (id ${op} 5)`, [[{ id: null }, false]]);
      check(`id ${op} NULL`, [[{ id: "5" }, false]]);
    }
    check("id = 5", [[{ id: "5" }, true], [{ id: "6" }, false]]);
    check("id <> 5", [[{ id: "5" }, false], [{ id: "6" }, true]]);
    check("id < 5", [[{ id: "4" }, true], [{ id: "5" }, false]]);
    check("id <= 5", [[{ id: "5" }, true], [{ id: "6" }, false]]);
    check("id > 5", [[{ id: "6" }, true], [{ id: "5" }, false]]);
    check("id >= 5", [[{ id: "5" }, true], [{ id: "4" }, false]]);
  });

  test("int8 and numeric compare exactly", () => {
    check("big > 9007199254740992", [[{ big: "9007199254740993" }, true], [{ big: "9007199254740992" }, false]]);
    check("n = 1.5", [[{ n: "1.50" }, true], [{ n: "1.5000000000000000001" }, false]]);
    check("n > 0.1", [[{ n: "0.10000000000000000001" }, true], [{ n: "0.1" }, false]]);
    check("id = 1.0", [[{ id: "1" }, true]]);
    check("n = 'NaN'", [[{ n: "NaN" }, true], [{ n: "Infinity" }, false]]);
    check("n > 1e300", [[{ n: "NaN" }, true], [{ n: "Infinity" }, true], [{ n: "-Infinity" }, false]]);
  });

  test("floats: NaN equals NaN and sorts last; real against a numeric literal compares as double precision", () => {
    check("f8 = 'NaN'", [[{ f8: "NaN" }, true], [{ f8: "1" }, false]]);
    check("f8 > 'Infinity'", [[{ f8: "NaN" }, true], [{ f8: "Infinity" }, false]]);
    check("f8 = 0.1", [[{ f8: "0.1" }, true]]);
    check("f4 = 0.1", [[{ f4: "0.1" }, false]]);
    check("f4 = '0.1'", [[{ f4: "0.1" }, true]]);
    check("f4 IN (0.1, 0.2)", [[{ f4: "0.1" }, true]]);
    check("f8 = -0.0", [[{ f8: "0" }, true], [{ f8: "-0" }, true]]);
  });

  test("text compares by code point (the C collation)", () => {
    check("name < 'b'", [[{ name: "B" }, true], [{ name: "a" }, true], [{ name: "é" }, false], [{ name: "ba" }, false]]);
    check("name > '\uffff'", [[{ name: "\u{10000}" }, true], [{ name: "\ufffe" }, false]]);
    check("name = 'Émile'", [[{ name: "Émile" }, true], [{ name: "émile" }, false]]);
  });

  test("bool accepts t/f/true/false; uuid is case-insensitive; timestamps compare as instants", () => {
    check("ok = true", [[{ ok: "t" }, true], [{ ok: "true" }, true], [{ ok: "f" }, false]]);
    check("ok", [[{ ok: "t" }, true], [{ ok: "false" }, false], [{ ok: null }, false]]);
    check("ok < true", [[{ ok: "f" }, true], [{ ok: "t" }, false]]);
    check("u = 'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11'", [[{ u: "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11" }, true]]);
    check("tz = '2026-01-01 10:00:00+00'", [[{ tz: "2026-01-01 12:00:00+02" }, true], [{ tz: "2026-01-01 10:00:00.001+00" }, false]]);
    check("tz > '2026-01-01'", [[{ tz: "2026-01-01 00:00:00.000001+00" }, true], [{ tz: "2026-01-01 01:00:00+05:30" }, false]]);
    check("ts >= '2026-03-01 12:00'", [[{ ts: "2026-03-01 12:00:00" }, true], [{ ts: "2026-03-01 11:59:59.999999" }, false]]);
    check("d < ts", [[{ d: "2026-03-01", ts: "2026-03-01 00:00:00.000001" }, true], [{ d: "2026-03-01", ts: "2026-03-01 00:00:00" }, false]]);
    check("d > '0044-03-15 BC'", [[{ d: "0001-01-01" }, true], [{ d: "0100-01-01 BC" }, false], [{ d: "infinity" }, true], [{ d: "-infinity" }, false]]);
  });

  test("IS [NOT] DISTINCT FROM treats NULLs as values", () => {
    check("id IS DISTINCT FROM 5", [[{ id: null }, true], [{ id: "5" }, false], [{ id: "4" }, true]]);
    check("id IS NOT DISTINCT FROM NULL", [[{ id: null }, true], [{ id: "5" }, false]]);
  });

  test("jsonb equality normalises numbers and keys", () => {
    // Row text is jsonb_out's: keys sorted, numbers with their display scale.
    check(`j = '{"b": [1, 2], "a": 1}'`, [[{ j: '{"a": 1.00, "b": [1, 2.0]}' }, true], [{ j: '{"a": 1, "b": [2, 1]}' }, false], [{ j: '{"a": 1}' }, false]]);
  });
});

describe("boolean logic (W3)", () => {
  const rows = (a: string | null, b: string | null): Row => ({ ok: a, name: b === null ? null : b });
  test("AND / OR / NOT follow three-valued logic", () => {
    check("ok AND name = 'x'", [[rows("t", "x"), true], [rows(null, "x"), false], [rows("f", null), false]]);
    check("NOT (ok AND name = 'x')", [[rows("f", null), true], [rows(null, "x"), false], [rows("t", "y"), true]]);
    check("ok OR name = 'x'", [[rows(null, "x"), true], [rows(null, "y"), false], [rows("f", null), false]]);
    check("NOT (ok OR name = 'x')", [[rows("f", "y"), true], [rows(null, "y"), false]]);
  });

  test("IS [NOT] NULL / TRUE / FALSE / UNKNOWN", () => {
    check("ok IS NULL", [[{ ok: null }, true], [{ ok: "f" }, false]]);
    check("ok IS NOT NULL", [[{ ok: null }, false], [{ ok: "f" }, true]]);
    check("ok IS TRUE", [[{ ok: "t" }, true], [{ ok: null }, false]]);
    check("ok IS NOT TRUE", [[{ ok: "f" }, true], [{ ok: null }, true], [{ ok: "t" }, false]]);
    check("ok IS FALSE", [[{ ok: "f" }, true], [{ ok: null }, false]]);
    check("ok IS NOT FALSE", [[{ ok: null }, true], [{ ok: "f" }, false]]);
    check("ok IS UNKNOWN", [[{ ok: null }, true], [{ ok: "t" }, false]]);
    check("ok IS NOT UNKNOWN", [[{ ok: null }, false], [{ ok: "t" }, true]]);
    check("(id > 3) IS FALSE", [[{ id: "1" }, true], [{ id: null }, false]]);
  });
});

describe("IN, BETWEEN, LIKE", () => {
  test("IN and NOT IN with NULLs in the list", () => {
    check("id IN (1, 2, NULL)", [[{ id: "1" }, true], [{ id: "3" }, false], [{ id: null }, false]]);
    check("NOT (id IN (1, 2, NULL))", [[{ id: "3" }, false], [{ id: "1" }, false]]);
    check("id NOT IN (1, 2)", [[{ id: "3" }, true], [{ id: "1" }, false], [{ id: null }, false]]);
    check("id NOT IN (1, NULL)", [[{ id: "3" }, false]]);
    check("id IN (i2, 7)", [[{ id: "4", i2: "4" }, true], [{ id: "7" }, true], [{ id: "5", i2: "4" }, false]]);
  });

  test("BETWEEN, NOT BETWEEN, SYMMETRIC", () => {
    check("id BETWEEN 1 AND 3", [[{ id: "1" }, true], [{ id: "3" }, true], [{ id: "4" }, false], [{ id: null }, false]]);
    check("id BETWEEN 3 AND 1", [[{ id: "2" }, false]]);
    check("id BETWEEN SYMMETRIC 3 AND 1", [[{ id: "2" }, true]]);
    check("id NOT BETWEEN 1 AND 3", [[{ id: "0" }, true], [{ id: "2" }, false]]);
    check("id BETWEEN 1 AND NULL", [[{ id: "5" }, false], [{ id: "0" }, false]]);
    check("NOT (id BETWEEN 1 AND NULL)", [[{ id: "0" }, true], [{ id: "5" }, false]]);
  });

  test("LIKE / ILIKE / NOT LIKE / NOT ILIKE with %, _ and backslash escapes", () => {
    check("name LIKE 'a%'", [[{ name: "abc" }, true], [{ name: "Abc" }, false], [{ name: null }, false]]);
    check("name LIKE '_b_'", [[{ name: "abc" }, true], [{ name: "😀b😀" }, true], [{ name: "abcd" }, false]]);
    check("name LIKE 'a\\%'", [[{ name: "a%" }, true], [{ name: "ab" }, false]]);
    check("name LIKE '%\\_%'", [[{ name: "a_b" }, true], [{ name: "ab" }, false]]);
    check("name ILIKE 'AB%'", [[{ name: "abc" }, true], [{ name: "aBc" }, true]]);
    check("name ILIKE 'é'", [[{ name: "É" }, false], [{ name: "é" }, true]]);
    check("name NOT LIKE 'a%'", [[{ name: "b" }, true], [{ name: "a" }, false], [{ name: null }, false]]);
    check("name NOT ILIKE 'A%'", [[{ name: "b" }, true], [{ name: "a" }, false]]);
    check("name LIKE \"Title\"", [[{ name: "x", Title: "%" }, true], [{ name: "x", Title: "y" }, false]]);
  });
});

describe("arrays", () => {
  test("@>, <@ and && ignore dimensions; NULL elements never match", () => {
    check("tags @> ARRAY['a']", [[{ tags: '{a,"b c"}' }, true], [{ tags: "{b}" }, false], [{ tags: "{}" }, false], [{ tags: null }, false]]);
    check("tags @> '{}'", [[{ tags: "{}" }, true], [{ tags: "{NULL}" }, true]]);
    check("tags @> ARRAY[NULL]", [[{ tags: "{NULL}" }, false]]);
    check("tags <@ '{a,b}'", [[{ tags: "{a,a,b}" }, true], [{ tags: "{a,NULL}" }, false], [{ tags: "{{a},{b}}" }, true]]);
    check("tags && '{x,NULL}'", [[{ tags: "{x}" }, true], [{ tags: "{NULL}" }, false]]);
    check("nums && ARRAY[1, 2]", [[{ nums: "[0:1]={2,3}" }, true], [{ nums: "{3}" }, false]]);
  });

  test("= ANY and <> ALL: empty arrays and NULL elements", () => {
    check("'a' = ANY(tags)", [[{ tags: "{b,a}" }, true], [{ tags: "{b,NULL}" }, false], [{ tags: "{}" }, false], [{ tags: null }, false]]);
    check("NOT ('a' = ANY(tags))", [[{ tags: "{b,NULL}" }, false], [{ tags: "{b}" }, true]]);
    check("'a' <> ALL(tags)", [[{ tags: "{b}" }, true], [{ tags: "{}" }, true], [{ tags: "{b,NULL}" }, false], [{ tags: "{a}" }, false]]);
    check("name = ANY(tags)", [[{ name: null, tags: "{}" }, false], [{ name: null, tags: "{a}" }, false]]);
    check("NOT (name <> ALL(tags))", [[{ name: null, tags: "{}" }, false]]);
    check("id < ANY('{1,5}')", [[{ id: "3" }, true], [{ id: "5" }, false]]);
  });

  test("array literals: quoting, escapes, NULL, nesting, bounds; equality compares shape", () => {
    check(`tags = '{"b c",NULL,"x\\"y",d}'`, [[{ tags: '{"b c",NULL,"x\\"y",d}' }, true], [{ tags: '{"b c",NULL,"x\\"y"}' }, false]]);
    check("tags = ARRAY['NULL', 'a b']", [[{ tags: '{"NULL","a b"}' }, true], [{ tags: '{NULL,"a b"}' }, false]]);
    check("nums = '{1,2}'", [[{ nums: "{1,2}" }, true], [{ nums: "[0:1]={1,2}" }, false], [{ nums: "{{1,2}}" }, false]]);
    check("nums = '{}'", [[{ nums: "{}" }, true]]);
    check("nums = ARRAY[id, 2]", [[{ id: "1", nums: "{1,2}" }, true], [{ id: null, nums: "{NULL,2}" }, true]]);
  });
});

describe("expressions", () => {
  test("arithmetic keeps PostgreSQL's types: integer division truncates, numeric division picks a scale", () => {
    check("id / 2 = 1", [[{ id: "3" }, true], [{ id: "-3" }, false]]);
    check("id / 2 = -1", [[{ id: "-3" }, true]]);
    check("n / 3 = 0.33333333333333333333", [[{ n: "1" }, true]]);
    check("n * 2 - 1 = 2.00", [[{ n: "1.5" }, true]]);
    check("f8 + 1 = 1.1", [[{ f8: "0.1" }, true]]);
    check("- id = 5", [[{ id: "-5" }, true]]);
    check("+id = 5", [[{ id: "5" }, true]]);
    check("id + NULL = 5", [[{ id: "5" }, false]]);
  });

  test("||, lower, upper, length, coalesce", () => {
    check("name || '!' = 'hi!'", [[{ name: "hi" }, true], [{ name: null }, false]]);
    check("lower(name) = 'émile'", [[{ name: "éMILE" }, true], [{ name: "ÉMILE" }, false]]);
    check("upper(name) = 'ABC'", [[{ name: "aBc" }, true]]);
    check("length(name) = 3", [[{ name: "a😀b" }, true], [{ name: "ab" }, false]]);
    check("coalesce(name, \"Title\", 'none') = 'none'", [[{}, true], [{ Title: "t" }, false]]);
  });

  test("casts", () => {
    check("n::int4 = 2", [[{ n: "1.5" }, true], [{ n: "2.5" }, false], [{ n: "-1.5" }, false]]);
    check("n::int4 = 3", [[{ n: "2.5" }, true]]);
    check("f8::int4 = 2", [[{ f8: "2.5" }, true], [{ f8: "1.5" }, true]]);
    check("CAST(id AS text) LIKE '1%'", [[{ id: "12" }, true]]);
    check("id::numeric / 4 = 0.25", [[{ id: "1" }, true]]);
    check("'{1,2}'::int8[] @> ARRAY[big]", [[{ big: "2" }, true]]);
    check("d::timestamp = '2026-01-01 00:00'", [[{ d: "2026-01-01" }, true]]);
  });

  test("identifiers: quoted keep case, unquoted are lowercased, a table qualifier is allowed", () => {
    check(`"Title" = 'a'`, [[{ Title: "a" }, true]]);
    check(`t."Title" = 'a' AND public.t.id = 1`, [[{ Title: "a", id: "1" }, true]]);
    check("ID = 1", [[{ id: "1" }, true]]);
    assert.throws(() => compileWhere("Title = 'a'", [], COLUMNS), /unknown column "title"/);
  });
});

describe("params (W7)", () => {
  test("params are typed by context, like string literals", () => {
    check("id = $1 AND name = $2", [[{ id: "7", name: "x" }, true]], ["7", "x"]);
    check("tz > $1", [[{ tz: "2026-01-01 10:00:01+00" }, true]], ["2026-01-01 12:00:00+02"]);
    check("'a' = ANY($1)", [[{}, true]], ['{b,"a"}']);
    assert.deepEqual(compileWhere("id = $1", { "1": "7" }, COLUMNS).params, ["7"]);
    assert.equal(compileWhere("id = $1 OR $1 = 8", ["7"], COLUMNS).sql, `(("id" = $1::int4) OR ($1::int4 = '8'::int4))`);
    // Folding `$1 + NULL` to NULL happens for evaluation only: the printed SQL must still bind $1.
    assert.equal(compileWhere("$1::int4 + NULL = id", ["5"], COLUMNS).sql, `(($1::int4 + NULL::int4) = "id")`);
  });

  test("bad, missing, unused and untyped params are errors", () => {
    assert.throws(() => compileWhere("id = $1", ["x"], COLUMNS), /invalid value for \$1: "x" is not a valid int4/);
    assert.throws(() => compileWhere("id = $2", ["1"], COLUMNS), /missing value for \$2/);
    assert.throws(() => compileWhere("id = $1", ["1", "2"], COLUMNS), /parameter \$2 is given but not used/);
    assert.throws(() => compileWhere("id = $1", { "2": "1" }, COLUMNS), /missing value for \$1/);
    assert.throws(() => compileWhere("$1 IS NULL", ["1"], COLUMNS), /could not determine data type of parameter \$1/);
    assert.throws(() => compileWhere("id = $1 OR name = $1", ["1"], COLUMNS), /operator does not exist: text = int4/);
    assert.throws(() => compileWhere("tz > $1", ["now"], COLUMNS), /invalid value for \$1/);
  });
});

describe("result fields", () => {
  test("equality is set for col = constant, also inside AND (W8)", () => {
    assert.deepEqual(compileWhere("id = 5", [], COLUMNS).equality, { column: "id", value: "5" });
    assert.deepEqual(compileWhere("name = 'x' AND id > 2", [], COLUMNS).equality, { column: "name", value: "x" });
    assert.deepEqual(compileWhere("$1 = u", ["A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11"], COLUMNS).equality, { column: "u", value: "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11" });
    assert.deepEqual(compileWhere("big = '0042'", [], COLUMNS).equality, { column: "big", value: "42" });
    assert.deepEqual(compileWhere("d = '2026-01-01'", [], COLUMNS).equality, { column: "d", value: "2026-01-01" });
    assert.deepEqual(compileWhere("id = 2 + 3", [], COLUMNS).equality, { column: "id", value: "5" });
    for (const w of ["id = 5 OR id = 6", "n = 1.5", "id = 1.0", "NOT (id = 5)", "id = NULL", "ok = true", "lower(name) = 'x'", "id = i2"]) {
      assert.equal(compileWhere(w, [], COLUMNS).equality, undefined, w);
    }
  });

  test("columns lists what the clause reads; sql is printed from the checked tree (W1)", () => {
    const c = compileWhere(`"Title" = 'a' OR (id > 1 AND "Title" < 'b')`, [], COLUMNS);
    assert.deepEqual(c.columns, ["Title", "id"]);
    assert.equal(c.sql, `(("Title" = 'a'::text) OR (("id" > '1'::int4) AND (("Title" COLLATE "C") < 'b'::text)))`);
    assert.equal(compileWhere("name = 'it''s \\ ok'", [], COLUMNS).sql, `("name" = E'it''s \\\\ ok'::text)`);
    assert.equal(compileWhere("tz >= '2026-01-01 12:00+02'", [], COLUMNS).sql, `("tz" >= '2026-01-01 10:00:00+00'::timestamptz)`);
  });
});

describe("run-time errors (W6)", () => {
  test("a row on which PostgreSQL raises makes matches() throw", () => {
    const c = compileWhere("id * 1000000 > 5", [], COLUMNS);
    assert.throws(() => c.matches({ ...EMPTY, id: "5000" }), (e) => e instanceof WhereEvaluationError && /integer out of range/.test(e.message));
    assert.throws(() => matches("10 / id > 1", { id: "0" }), /division by zero/);
    assert.throws(() => matches("f8 * 2 > 1", { f8: "1e308" }), /overflow/);
    assert.throws(() => matches("n::int4 = 1", { n: "NaN" }), /cannot convert NaN/);
    assert.throws(() => matches("name LIKE \"Title\"", { name: "ab", Title: "a\\" }), /must not end with escape/);
    assert.throws(() => compileWhere("id = 1", [], COLUMNS).matches({ name: "x" }), /row has no value for column "id"/);
  });

  test("a part that can raise runs only when every other top-level conjunct is TRUE, then left to right", () => {
    assert.equal(matches("id <> 0 AND 10 / id > 1", { id: "0" }), false);
    assert.equal(matches("10 / id > 1 AND id <> 0", { id: "0" }), false);
    assert.equal(matches("10 / id > 1 AND id <> 0", { id: "5" }), true);
    // Inside the part that can raise, OR and AND go left to right and stop at the deciding argument, as the
    // executor does with the printed CASE: the division runs first here and raises.
    assert.throws(() => matches("10 / id > 1 OR id = 0", { id: "0" }), /division by zero/);
    assert.equal(matches("id = 0 OR 10 / id > 1", { id: "0" }), true);
    assert.throws(() => matches("10 / id > 1 OR id = 1", { id: "0" }), /division by zero/);
    assert.equal(matches("(id IS NULL OR 10 / id > 1) AND (i2 = 0 AND 1 / i2 > 0)", { id: "0", i2: "1" }), false);
    assert.throws(() => matches("(id IS NULL OR 10 / id > 1) AND (i2 = 0 AND 1 / i2 > 0)", { id: "1", i2: "0" }), /division by zero/);
    assert.equal(
      compileWhere("i2 = 3 AND 10 / id > 1", [], COLUMNS).sql,
      `(("i2" = '3'::int4) AND (CASE WHEN (("i2" = '3'::int4)) IS NOT TRUE THEN false WHEN (('10'::int4 / "id") > '1'::int4) THEN true ELSE false END))`,
    );
    assert.equal(compileWhere("10 / id > 1", [], COLUMNS).sql, `(CASE WHEN (('10'::int4 / "id") > '1'::int4) THEN true ELSE false END)`);
  });

  test("constant folding follows eval_const_expressions: what it never folds cannot fail the clause (W6)", () => {
    assert.ok(compileWhere("id = 5 OR (false AND 1 / 0 = 1)", [], COLUMNS), "arguments after a deciding FALSE are not folded");
    assert.throws(() => compileWhere("(1 / 0 = 1 AND false) OR id = 5", [], COLUMNS), /division by zero/);
    assert.ok(compileWhere("coalesce(NULL, 1, 1 / 0) = id", [], COLUMNS), "COALESCE stops at its first non-null constant");
    assert.throws(() => compileWhere("coalesce(id, 1 / 0) = 1", [], COLUMNS), /division by zero/);
    assert.ok(compileWhere("false AND 1 / 0 = 1", [], COLUMNS));
    // A deciding constant removes the part that could raise: nothing is evaluated per row.
    assert.equal(matches("1 / id > 0 OR true", { id: "0" }), true);
    assert.equal(matches("1 / id > 0 AND NULL", { id: "0" }), false);
    assert.equal(matches("(NULL::int4 + id) / 0 > 1", { id: "0" }), false, "a strict operator with a NULL constant input is NULL");
  });

  test("errors in constant parts are compile-time errors", () => {
    assert.throws(() => compileWhere("id = 1 / 0", [], COLUMNS), (e) => e instanceof WhereClauseError && /division by zero/.test(e.message));
    assert.throws(() => compileWhere("id = 2147483647 + 1", [], COLUMNS), /integer out of range/);
  });
});
