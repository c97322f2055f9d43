/**
 * W2: for every clause, the rows PostgreSQL returns for `SELECT id FROM t WHERE (<sql>)` are exactly the rows
 * `matches()` accepts, over ~200 rows read back as text. Where the client's own text has the same meaning in
 * PostgreSQL (no collation-dependent part), it is run too (W4 explains the exceptions). W6: when PostgreSQL raises,
 * the evaluator throws for some row.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import pg from "pg";
import { startTestPostgres } from "../../testing/pg.ts";
import type { EmbeddedDatabase } from "../../db/embedded.ts";
import { compileWhere, WhereClauseError, WhereEvaluationError, type ColumnInfo, type CompiledWhere } from "./index.ts";
import { CASES, COLUMNS, generateRows } from "./differential-cases.ts";
import { fuzzClauses } from "./differential-fuzz.ts";

const columns: ColumnInfo[] = COLUMNS.map(({ name, type, dims }) => ({ name, type, dims }));
const quote = (name: string) => `"${name.replaceAll('"', '""')}"`;

describe("where clauses agree with PostgreSQL 17 (W2)", () => {
  let db: EmbeddedDatabase | undefined;
  let client: pg.Client | undefined;
  let rows: Record<string, string | null>[] = [];
  let icu = false;

  before(async () => {
    db = await startTestPostgres();
    client = new pg.Client({ connectionString: db.url, options: "-c TimeZone=UTC -c DateStyle=ISO,YMD" });
    await client.connect();
    // An ICU collation on `name` makes the database order text differently from code points (W4), if available.
    icu = (await client.query("SELECT 1 FROM pg_collation WHERE collname = 'en-x-icu'")).rowCount === 1;
    const defs = COLUMNS.map((c) => {
      const collate = c.name === "name" && icu ? ' COLLATE "en-x-icu"' : "";
      return `${quote(c.name)} ${c.sqlType}${collate}${c.name === "id" ? " PRIMARY KEY" : ""}`;
    });
    await client.query(`CREATE TABLE t (${defs.join(", ")})`);
    const insert = `INSERT INTO t VALUES (${COLUMNS.map((c, i) => `$${i + 1}::${c.sqlType}`).join(", ")})`;
    for (const row of generateRows(200)) await client.query(insert, COLUMNS.map((c) => row[c.name] ?? null));
    const list = COLUMNS.map((c) => `${quote(c.name)}::text AS ${quote(c.name)}`).join(", ");
    rows = (await client.query<Record<string, string | null>>(`SELECT ${list} FROM t`)).rows;
    assert.equal(rows.length, 200);
    // Snapshot rows print bool as true/false, pgoutput as t/f (protocol notes §2.1): use both.
    for (const r of rows) if (Number(r.id) % 2 === 0 && r.b !== null) r.b = r.b === "true" ? "t" : "f";
  });

  after(async () => {
    await client?.end();
    await db?.stop();
  });

  async function idsFromPostgres(sql: string, params: string[]): Promise<Set<string> | Error> {
    try {
      const r = await client!.query<{ id: string }>(`SELECT id::text AS id FROM t WHERE (${sql})`, params);
      return new Set(r.rows.map((x) => x.id));
    } catch (e) {
      return e as Error;
    }
  }

  function matchingIds(compiled: CompiledWhere): Set<string> {
    return new Set(rows.filter((r) => compiled.matches(r)).map((r) => r.id!));
  }

  for (const c of CASES) {
    test(c.where + (c.params ? `  [${c.params.join(", ")}]` : ""), async () => {
      const compiled = compileWhere(c.where, c.params ?? [], columns);
      const fromPg = await idsFromPostgres(compiled.sql, compiled.params);
      if (fromPg instanceof Error) {
        assert.ok(c.pgError, `PostgreSQL failed on ${compiled.sql}: ${fromPg.message}`);
        assert.ok(rows.some((r) => {
          try {
            compiled.matches(r);
            return false;
          } catch (e) {
            return e instanceof WhereEvaluationError;
          }
        }), `PostgreSQL raised "${fromPg.message}" but no row made matches() throw`);
        return;
      }
      assert.ok(!c.pgError, "expected PostgreSQL to raise an error");
      const ours = matchingIds(compiled);
      assert.deepEqual([...ours].sort(), [...fromPg].sort(), `sql: ${compiled.sql}`);
      if (c.minMatches !== undefined) assert.ok(ours.size >= c.minMatches, `only ${ours.size} rows matched; the case tests little`);
      if (!c.collationDependent) {
        const original = await idsFromPostgres(c.where, compiled.params);
        assert.ok(!(original instanceof Error), `the client's text failed in PostgreSQL: ${String(original)}`);
        assert.deepEqual([...original].sort(), [...ours].sort(), "the client's own text selects other rows");
      }
    });
  }

  test("W4: under the column's ICU collation the client's own text orders differently; the printed SQL does not", async (t) => {
    if (!icu) return t.skip("no ICU collation in this PostgreSQL build");
    for (const where of ["name < 'b'", "lower(name) = 'émile'", "name ILIKE 'É%'"]) {
      const compiled = compileWhere(where, [], columns);
      const original = await idsFromPostgres(where, []);
      const printed = await idsFromPostgres(compiled.sql, []);
      assert.ok(!(original instanceof Error) && !(printed instanceof Error));
      assert.notDeepEqual([...original].sort(), [...printed].sort(), where);
      assert.deepEqual([...printed].sort(), [...matchingIds(compiled)].sort(), where);
    }
  });

  test("400 random clauses", async () => {
    const failures: string[] = [];
    const counts = { compared: 0, rejected: 0, pgErrors: 0 };
    for (const f of fuzzClauses(400, 7)) {
      let compiled: CompiledWhere;
      try {
        compiled = compileWhere(f.where, [], columns);
      } catch (e) {
        if (!(e instanceof WhereClauseError)) throw e;
        counts.rejected++;
        continue;
      }
      const fromPg = await idsFromPostgres(compiled.sql, []);
      if (fromPg instanceof Error) {
        // PostgreSQL raised for some row (overflow, ...); W6 is covered by the hand-written cases.
        counts.pgErrors++;
        continue;
      }
      let ours: Set<string>;
      try {
        ours = matchingIds(compiled);
      } catch (e) {
        failures.push(`${f.where}: matches() threw "${String(e)}" but PostgreSQL did not`);
        continue;
      }
      counts.compared++;
      if ([...ours].sort().join() !== [...fromPg].sort().join()) failures.push(`${f.where}: differs from PostgreSQL on ${compiled.sql}`);
      if (f.printedOnly) continue;
      const original = await idsFromPostgres(f.where, []);
      if (original instanceof Error) failures.push(`${f.where}: accepted, but PostgreSQL rejects the client's text: ${original.message}`);
      else if ([...ours].sort().join() !== [...original].sort().join()) failures.push(`${f.where}: the client's text selects other rows`);
    }
    assert.deepEqual(failures, []);
    assert.ok(counts.compared >= 250, `only ${JSON.stringify(counts)}`);
  });
});
