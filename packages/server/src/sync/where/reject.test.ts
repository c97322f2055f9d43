/**
 * W1, W5: what is refused, with a message naming the offending part. Injection attempts must not get through the
 * single-expression check. W10: the bounds on a clause and its params, and hostile input that must only ever be
 * refused with a WhereClauseError (never a crash, a stack overflow or a long parse).
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { compileWhere, WHERE_LIMITS, WhereClauseError, WhereEvaluationError, type ColumnInfo } from "./index.ts";

const COLUMNS: ColumnInfo[] = [
  { name: "id", type: "int4", dims: 0 },
  { name: "name", type: "text", dims: 0 },
  { name: "Title", type: "varchar", dims: 0 },
  { name: "ts", type: "timestamp", dims: 0 },
  { name: "tz", type: "timestamptz", dims: 0 },
  { name: "d", type: "date", dims: 0 },
  { name: "j", type: "jsonb", dims: 0 },
  { name: "tags", type: "text", dims: 1 },
  { name: "iv", type: "interval", dims: 0 },
];

function rejects(where: string, message: string | RegExp, part?: string, params: string[] = []): void {
  assert.throws(
    () => compileWhere(where, params, COLUMNS),
    (e: unknown) => {
      assert.ok(e instanceof WhereClauseError, `${where}: ${String(e)}`);
      if (typeof message === "string") assert.equal(e.message, message, where);
      else assert.match(e.message, message, where);
      if (part !== undefined) assert.equal(e.unsupported, part, where);
      return true;
    },
  );
}

test("input that would change the statement around the clause is refused (W1)", () => {
  rejects("true) OR (1=1; DROP TABLE x; --", 'syntax error at or near ";"');
  rejects("true) OR (1=1", "the where clause must be a single expression");
  rejects("id = 1; DROP TABLE t", 'syntax error at or near ";"');
  rejects("id = 1 -- comment", "syntax error at end of input");
  rejects("id = 1 /* comment", /unterminated \/\* comment/);
  rejects("id = 1) UNION SELECT 1 WHERE (true", /syntax error|single expression/);
  rejects("id = 1) ORDER BY (id", "the where clause must be a single expression");
  rejects("id), (1", /syntax error at or near ","/);
  rejects("id = 1 'unterminated", /unterminated quoted string/);
  rejects("id = = 1", 'syntax error at or near "="');
  rejects("", "the where clause is empty");
  rejects("   ", "the where clause is empty");
});

test("non-deterministic, unknown and set-returning functions, aggregates and windows (W5)", () => {
  rejects("now() > tz", 'unsupported function "now()"', "now()");
  rejects("random() < 0.5", 'unsupported function "random()"', "random()");
  rejects("pg_catalog.now() > tz", 'unsupported function "pg_catalog.now()"', "pg_catalog.now()");
  rejects("current_timestamp > tz", 'unsupported function "current_timestamp"', "current_timestamp");
  rejects("d = current_date", 'unsupported function "current_date"', "current_date");
  rejects("foo(id) = 1", 'unsupported function "foo()"', "foo()");
  rejects("public.lower(name) = 'x'", 'unsupported function "public.lower()"', "public.lower()");
  rejects("greatest(id, 1) = 1", 'unsupported function "greatest()"', "greatest()");
  rejects("nullif(id, 1) IS NULL", 'unsupported function "nullif()"', "nullif()");
  rejects("tz AT TIME ZONE 'UTC' > ts", 'unsupported function "pg_catalog.timezone()"');
  rejects("count(*) > 1", 'unsupported aggregate "count()"', "count()");
  rejects("row_number() OVER () > 1", 'unsupported window function "row_number()"', "row_number()");
  rejects("id IN (SELECT 1)", "unsupported subquery", "subquery");
  rejects("EXISTS (SELECT 1)", "unsupported subquery", "subquery");
  rejects("CASE WHEN id = 1 THEN true END", 'unsupported expression "CASE"', "CASE");
});

test("unknown columns, unsupported types, operators and casts (W5)", () => {
  rejects("foo = 1", 'unknown column "foo"');
  rejects("Title = 'x'", 'unknown column "title"');
  rejects("iv IS NULL", 'unsupported type "interval": column "iv"', "interval");
  rejects("id::interval IS NULL", 'unsupported type "interval"', "interval");
  rejects("name::varchar(3) = 'a'", /unsupported type modifier "varchar"/);
  rejects("name::int4 = 1", "unsupported cast from text to int4", "text::int4");
  rejects("name ~ 'a'", 'unsupported operator "~"', "~");
  rejects("j -> 'a' = '1'", 'unsupported operator "->"', "->");
  rejects("name SIMILAR TO 'a'", 'unsupported operator "SIMILAR TO"');
  rejects("name LIKE 'a' ESCAPE '!'", /unsupported LIKE "ESCAPE"/);
  rejects("tags[1] = 'a'", 'unsupported expression "subscript or field selection"');
  rejects("(id, name) = (1, 'a')", 'unsupported expression "row constructor"');
  rejects(`name COLLATE "en_US" < 'a'`, 'unsupported collation "en_US": only "C" is supported', "en_US");
  rejects("j < '{}'", /unsupported operator "<": jsonb only supports = and <>/);
  rejects("tags < '{a}'", /unsupported operator "<": arrays only support = and <>/);
  rejects("ts > tz", /unsupported comparison "timestamp > timestamptz": its result depends on the session TimeZone/);
  rejects("d = tz", /depends on the session TimeZone/);
  rejects("name = 1", "operator does not exist: text = int4");
  rejects("tags @> ARRAY[1]", "operator does not exist: text[] @> int4[]");
  rejects("'{a}' @> '{a}'", "operator is not unique: unknown @> unknown");
  rejects("ARRAY[] = tags", "cannot determine type of empty array");
  rejects("id", "argument of WHERE must be type bool, not type int4");
  rejects("id AND true", "argument of AND must be type bool, not type int4");
  rejects(`${Array.from({ length: 300 }, () => "1").join(" + ")} = id`, "the where clause is nested more than 200 levels deep", "nesting depth");
});

test("bad literals and constant errors are compile-time errors (W5, W6)", () => {
  rejects("id = 'abc'", 'invalid input syntax for type int4: "abc"');
  rejects("id = ' 5'", 'invalid input syntax for type int4: " 5"');
  rejects("ts > 'now'", 'invalid input syntax for type timestamp: "now"');
  rejects("d = 'today'", 'invalid input syntax for type date: "today"');
  rejects("ts = '2026-01-01 10:00+02'", /invalid input syntax for type timestamp/);
  rejects("j = '{\"a\": }'", /invalid input syntax for type jsonb/);
  rejects("tags = '{a,{b}}'", /invalid input syntax for type text\[\]/);
  rejects("name LIKE 'a\\'", "LIKE pattern must not end with escape character");
  rejects("id = 1 / 0", "division by zero");
  rejects("id > 2147483647 + 1", "integer out of range");
  rejects("id = 300::int2 * 200::int2", "smallint out of range");
});

test("params must be $1..$n, each given and used, each valid for its type (W7)", () => {
  rejects("id = $2", "missing value for $2", undefined, ["1"]);
  rejects("id = $1", "parameter $2 is given but not used in the where clause", undefined, ["1", "2"]);
  rejects("id = $1", 'invalid value for $1: "one" is not a valid int4', undefined, ["one"]);
  rejects("$1 IS NULL", "could not determine data type of parameter $1", undefined, ["1"]);
  rejects("$1 + $1 = 2", "operator is not unique: unknown + unknown", undefined, ["1"]);
  assert.throws(() => compileWhere("id = $1", { one: "1" }, COLUMNS), /invalid parameter name "one"/);
  assert.throws(() => compileWhere("id = $1 AND id = $3", { "1": "1", "3": "3" }, COLUMNS), /missing value for \$2/);
});

describe("compile-time bounds (W10)", () => {
  const bounded = (where: string, part: string, message: RegExp, params: string[] = []) => rejects(where, message, part, params);

  test("each bound is a WhereClauseError naming what is too big", () => {
    bounded(`id = 1 ${" ".repeat(WHERE_LIMITS.maxLength)}`, "length", /the where clause is longer than 65536 characters/);
    bounded(Array.from({ length: 1001 }, (_, i) => `id=${i}`).join(" OR "), "operator count", /more than 1000 operators/);
    bounded(`id IN (${Array.from({ length: 10_001 }, () => "1").join(",")})`, "operand count", /more than 10000 operands/);
    bounded(`${"(".repeat(201)}id = 1${")".repeat(201)}`, "nesting depth", /nests parentheses more than 200 levels deep/);
    bounded(`${"NOT ".repeat(300)}id = 1`, "nesting depth", /nested more than 200 levels deep/);
    bounded(`id IN (${[...Array.from({ length: 9000 }, () => "1"), ...Array.from({ length: 990 }, () => "NOT true")].join(",")})`, "node count", /more than 10000 nodes/);
    let bomb = "id";
    for (let k = 0; k < 12; k++) bomb = `((${bomb}) BETWEEN SYMMETRIC 1 AND 2)::int4`;
    bounded(`${bomb} = 1`, "node count", /expands to more than 50000 nodes/);
    bounded(`name LIKE '${"a".repeat(1001)}'`, "LIKE pattern length", /LIKE pattern is longer than 1000 characters/);
    bounded("name ILIKE $1", "LIKE pattern length", /ILIKE pattern is longer than 1000 characters/, ["%".repeat(1001)]);
    bounded(`id = ${"9".repeat(1001)}`, "numeric literal", /numeric literal has more than 1000 digits/);
    bounded(`id = 0x${"f".repeat(1000)}`, "numeric literal", /numeric literal has more than 1000 digits/);
    bounded("id = 1e1001", "numeric literal", /at most 1000 digits, with an exponent and scale of at most 1000/);
    rejects(`'${"9".repeat(1001)}'::numeric = id`, /invalid input syntax for type numeric: .*numbers have at most 1000 digits/);
    rejects("'1e-1001'::numeric = id", /numbers have at most 1000 digits and an exponent and scale of at most 1000/);
    bounded("id = $1", "parameter count", /more than 100 parameters/, Array.from({ length: 101 }, () => "1"));
    assert.throws(() => compileWhere("id = $1", { "101": "1" }, COLUMNS), /more than 100 parameters/);
    bounded("name = $1", "length", /the value for \$1 is longer than 65536 characters/, ["x".repeat(WHERE_LIMITS.maxParamLength + 1)]);
    rejects("name = 'a\u0000'", /contains a NUL character/);
    rejects("name = $1", /the value for \$1 contains a NUL character/, undefined, ["a\u0000"]);
    rejects("name = '\ud800'", /unpaired UTF-16 surrogate/);
    rejects("name = $1", /unpaired UTF-16 surrogate/, undefined, ["\udc00x"]);
  });

  test("array constants beyond PostgreSQL's 6 dimensions or int32 bounds are WhereClauseErrors, not crashes", () => {
    const ints: ColumnInfo[] = [{ name: "a", type: "int4", dims: 1 }];
    const refused = (literal: string) =>
      assert.throws(() => compileWhere(`a = '${literal}'`, [], ints), (e) => e instanceof WhereClauseError && /invalid input syntax for type int4\[\]/.test(e.message), literal);
    refused("{{{{{{{1}}}}}}}");
    refused(`${"{".repeat(10_000)}1${"}".repeat(10_000)}`);
    refused("[2147483647:2147483647]={1}");
    refused("[2147483648:2147483648]={1}");
    refused("[-2147483649:-2147483649]={1}");
    refused("[3:1]={1}");
    refused(" [1:1]={1}");
    assert.ok(compileWhere("a = '{{{{{{1}}}}}}'", [], ints));
    assert.ok(compileWhere("a = '[2147483646:2147483646]={1}'", [], ints));
    assert.ok(compileWhere("a = '[-2147483648:-2147483648]={1}'", [], ints));
    // From a row (which PostgreSQL cannot have produced): WhereEvaluationError, not a crash.
    const compiled = compileWhere("a @> '{1}'", [], ints);
    for (const text of ["{{{{{{{1}}}}}}}", `${"{".repeat(10_000)}1${"}".repeat(10_000)}`, "[2147483647:2147483647]={1}"]) {
      assert.throws(() => compiled.matches({ a: text }), WhereEvaluationError);
    }
  });

  test("jsonb constants nest at most 100 levels; rows nest as deep as PostgreSQL allows", () => {
    const json: ColumnInfo[] = [{ name: "j", type: "jsonb", dims: 0 }];
    assert.throws(() => compileWhere(`j = '${"[".repeat(101)}${"]".repeat(101)}'`, [], json), /jsonb nests at most 100 levels/);
    const compiled = compileWhere(`j = '${"[".repeat(100)}${"]".repeat(100)}'`, [], json);
    assert.equal(compiled.matches({ j: `${"[".repeat(100)}${"]".repeat(100)}` }), true);
    assert.equal(compiled.matches({ j: `${"[".repeat(50_000)}${"]".repeat(50_000)}` }), false);
  });

  test("10,000 nested parentheses, NOTs, ORs or unary minuses are refused quickly, before parsing", () => {
    const n = 10_000;
    const hostile = [
      `${"(".repeat(n)}id = 1${")".repeat(n)}`,
      `${"NOT ".repeat(n)}true`,
      `${"- ".repeat(n)}id = 1`,
      `${"(id = 1 OR ".repeat(n / 2)}id = 2${")".repeat(n / 2)}`,
      Array.from({ length: 7000 }, (_, i) => `id=${i}`).join(" OR "),
      `${Array.from({ length: 5000 }, () => "1").join("+")} = id`,
      `id${"::int4".repeat(n / 2)} = 1`,
      `${"lower(".repeat(n / 2)}name${")".repeat(n / 2)} = 'a'`,
      `ARRAY[${"ARRAY[".repeat(n / 2)}1${"]".repeat(n / 2)}] = tags`,
    ];
    for (const where of hostile) {
      const start = performance.now();
      assert.throws(() => compileWhere(where, [], COLUMNS), WhereClauseError, where.slice(0, 40));
      assert.ok(performance.now() - start < 1000, where.slice(0, 40));
    }
  });

  test("the deepest accepted clause compiles and evaluates from a deep caller stack", () => {
    // 100 negations of ((id + 1) + 1) ... nested 90 deep: id + 90, an even number of times negated.
    const where = `${"- ".repeat(100)}${"(".repeat(90)}id${" + 1)".repeat(90)} = 91`;
    const deep = (k: number): boolean => (k === 0 ? compileWhere(where, [], COLUMNS).matches({ id: "1" }) : deep(k - 1));
    assert.equal(deep(3000), true);
  });

  test("random garbage, NUL bytes, huge numbers and deep nesting only ever raise WhereClauseError", () => {
    let seed = 5;
    const rnd = () => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed / 0x7fffffff;
    };
    const pick = <T>(xs: T[]): T => xs[Math.floor(rnd() * xs.length)]!;
    const atoms = [
      "id", "name", "ts", "tz", "d", "j", "tags", "1", "-1", "1e999", "9".repeat(400), `0x${"f".repeat(900)}`, "'x'", "NULL",
      "'{{{{{{{1}}}}}}}'", "'[2147483647:2147483647]={1}'", "'294277-01-01'", "'9999999-01-01'", "'NaN'", "'\\'", "E'\\\\'",
      "'{\"a\": 1}'", "$$x$$", "U&'\\0041'", "'\u0000'", "'\ud800'", "(SELECT 1)", "now()", "ARRAY[1,2]", "'1e-999'",
    ];
    const ops = ["=", "<", "+", "*", "/", "||", "@>", "LIKE", "AND", "OR", "::int4", "::numeric", "::timestamp", "::int4[]", "IS NULL"];
    const expr = (depth: number): string => {
      const r = rnd();
      if (depth <= 0 || r < 0.3) return pick(atoms);
      if (r < 0.4) return `(${expr(depth - 1)})`;
      if (r < 0.5) return `NOT ${expr(depth - 1)}`;
      const op = pick(ops);
      return op.startsWith("::") || op === "IS NULL" ? `${expr(depth - 1)} ${op}` : `${expr(depth - 1)} ${op} ${expr(depth - 1)}`;
    };
    const garbage = () => Array.from({ length: Math.floor(rnd() * 40) }, () => String.fromCharCode(Math.floor(rnd() * (rnd() < 0.8 ? 128 : 0x10000)))).join("");
    let accepted = 0;
    for (let i = 0; i < 3000; i++) {
      const where = rnd() < 0.2 ? garbage() : rnd() < 0.2 ? expr(3) + garbage() : expr(4);
      try {
        compileWhere(where, [], COLUMNS);
        accepted++;
      } catch (e) {
        assert.ok(e instanceof WhereClauseError, `${JSON.stringify(where)}: ${String(e)}`);
      }
    }
    assert.ok(accepted > 50, `only ${accepted} accepted: the generator tests little`);
  });
});
