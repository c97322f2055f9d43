/**
 * W9: every evaluation of `matches()` has a step budget. Running out throws WhereBudgetError, which is not a
 * WhereEvaluationError; the budget only ever turns an answer into WhereBudgetError, never into another answer; the
 * work (and time) of one evaluation is bounded whatever the row; cheap clauses spend almost nothing.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { DEFAULT_STEP_BUDGET, WhereBudgetError, WhereClauseError, WhereEvaluationError, compileWhere, type ColumnInfo, type CompiledWhere } from "./index.ts";
import { HOSTILE_CASES, HOSTILE_COLUMNS, HOSTILE_ROWS } from "./differential-hostile.ts";

const COLUMNS: ColumnInfo[] = [
  { name: "id", type: "int4", dims: 0 },
  { name: "status", type: "text", dims: 0 },
  { name: "s", type: "text", dims: 0 },
  { name: "n", type: "numeric", dims: 0 },
  { name: "tags", type: "text", dims: 1 },
  { name: "nums", type: "int4", dims: 1 },
  { name: "j", type: "jsonb", dims: 0 },
];

type Row = Record<string, string | null>;
const EMPTY: Row = Object.fromEntries(COLUMNS.map((c) => [c.name, null]));

function outcome(compiled: CompiledWhere, row: Row): string {
  try {
    return String(compiled.matches(row));
  } catch (e) {
    if (e instanceof WhereBudgetError) return "budget";
    if (e instanceof WhereEvaluationError) return "error";
    throw e;
  }
}

describe("step budget (W9)", () => {
  test("WhereBudgetError is its own error class, not a WhereEvaluationError", () => {
    const compiled = compileWhere("s LIKE '%a%a%a%a%c'", [], COLUMNS);
    let caught: unknown;
    try {
      compiled.matches({ ...EMPTY, s: "a".repeat(200_000) });
    } catch (e) {
      caught = e;
    }
    assert.ok(caught instanceof WhereBudgetError, String(caught));
    assert.ok(!(caught instanceof WhereEvaluationError));
    assert.equal(caught.name, "WhereBudgetError");
    assert.equal(caught.code, "where_budget_exceeded");
    assert.equal(caught.budget, DEFAULT_STEP_BUDGET);
  });

  test("the budget is per evaluation and can be set per compile", () => {
    const row = { ...EMPTY, s: "a".repeat(Math.ceil(DEFAULT_STEP_BUDGET * 1.5)) };
    const where = "s LIKE '%a%a%c'";
    assert.throws(() => compileWhere(where, [], COLUMNS).matches(row), WhereBudgetError);
    const generous = compileWhere(where, [], COLUMNS, { stepBudget: DEFAULT_STEP_BUDGET * 4 });
    assert.equal(generous.matches(row), false);
    assert.equal(generous.matches(row), false, "a second evaluation starts with the whole budget again");
    const small = compileWhere(where, [], COLUMNS, { stepBudget: 1000 });
    assert.equal(small.matches({ ...EMPTY, s: "ab" }), false);
    assert.throws(() => small.matches({ ...EMPTY, s: "a".repeat(2000) }), (e) => e instanceof WhereBudgetError && e.budget === 1000);
    assert.throws(() => compileWhere(where, [], COLUMNS, { stepBudget: 0 }), TypeError);
  });

  test("cheap clauses spend a few dozen steps", () => {
    const cheap: [string, string[], Row][] = [
      ["id = $1", ["5"], { id: "5" }],
      ["tags @> ARRAY['a', 'b']", [], { tags: "{x,a,b,c}" }],
      ["status IN ('new', 'open', 'closed')", [], { status: "open" }],
      ["status IN ('a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j')", [], { status: "j" }],
      ["id = $1 AND status <> 'closed' AND tags && '{urgent}'", ["7"], { id: "7", status: "new", tags: "{urgent}" }],
      ["n > 1.5 AND j = '{\"a\": 1}'", [], { n: "2.25", j: '{"a": 1}' }],
      // A long param list is hashed once when compiling, as PostgreSQL hashes constant arrays of 9 or more.
      ["id = ANY($1)", [`{${Array.from({ length: 5000 }, (_, i) => i).join(",")}}`], { id: "4999" }],
      ["status <> ALL($1)", [`{${Array.from({ length: 5000 }, (_, i) => `s${i}`).join(",")}}`], { status: "x" }],
    ];
    for (const [where, params, row] of cheap) {
      assert.equal(compileWhere(where, params, COLUMNS, { stepBudget: 300 }).matches({ ...EMPTY, ...row }), true, where);
    }
  });

  test("50 shapes multiplying a long numeric column answer an INSERT in bounded time (it took 13.6 s)", () => {
    const n = `0.${"7".repeat(1000)}`;
    const shapes = Array.from({ length: 50 }, (_, i) => compileWhere(`${Array.from({ length: 12 + (i % 8) }, () => "n").join(" * ")} > 0`, [], COLUMNS));
    const start = performance.now();
    const outcomes = shapes.map((s) => outcome(s, { ...EMPTY, n }));
    const ms = performance.now() - start;
    assert.ok(outcomes.every((o) => o === "budget" || o === "true"), outcomes.join());
    assert.ok(outcomes.includes("budget"));
    assert.ok(ms < 2000, `${ms.toFixed(0)} ms`);
  });

  test("on hostile rows the budget only turns answers into WhereBudgetError, within bounded time", () => {
    const columns: ColumnInfo[] = HOSTILE_COLUMNS.map(({ name, type, dims }) => ({ name, type, dims }));
    const rows: Row[] = HOSTILE_ROWS.map((r) => Object.fromEntries(columns.map((c) => [c.name, r[c.name] ?? null])));
    let budgetErrors = 0;
    let slowest = 0;
    for (const where of HOSTILE_CASES) {
      const exact = compileWhere(where, [], columns, { stepBudget: 1e10 });
      const bounded = compileWhere(where, [], columns);
      for (const row of rows) {
        const start = performance.now();
        const got = outcome(bounded, row);
        slowest = Math.max(slowest, performance.now() - start);
        if (got === "budget") budgetErrors++;
        else assert.equal(got, outcome(exact, row), `${where} on ${JSON.stringify(row).slice(0, 80)}`);
      }
    }
    assert.ok(budgetErrors > 10, `only ${budgetErrors} evaluations ran out of budget`);
    // About 2 ms of work at most; the bound leaves room for a loaded machine and a cold JIT.
    assert.ok(slowest < 100, `slowest evaluation ${slowest.toFixed(1)} ms`);
  });

  test("constant parts are folded within 16 times the budget, or the clause is refused", () => {
    const literal = `'0.${"7".repeat(900)}'::numeric`;
    const where = `${Array.from({ length: 60 }, () => literal).join(" * ")} > n`;
    assert.throws(
      () => compileWhere(where, [], COLUMNS),
      (e) => e instanceof WhereClauseError && e.unsupported === "budget" && /constant parts/.test(e.message),
    );
    assert.ok(compileWhere(where, [], COLUMNS, { stepBudget: 1e8 }).sql.length > 0);
  });

  test("a clause too large for its budget is refused when compiling", () => {
    const where = Array.from({ length: 300 }, (_, i) => `id = ${i}`).join(" OR ");
    assert.equal(compileWhere(where, [], COLUMNS).matches({ ...EMPTY, id: "299" }), true);
    assert.throws(() => compileWhere(where, [], COLUMNS, { stepBudget: 1000 }), (e) => e instanceof WhereClauseError && e.unsupported === "budget");
  });
});
