/**
 * W1, W5: what is refused, with a message naming the offending part. Injection attempts must not get through the
 * single-expression check.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { compileWhere, WhereClauseError, type ColumnInfo } from "./index.ts";

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
