import type pg from "pg";
import { withTransaction } from "../db/transaction.ts";
import type { Row } from "./changes.ts";
import { projectionSources } from "./projection.ts";
import type { ShapeSpec } from "./shape.ts";
import { parseSnapshot, type SnapshotXids } from "./visibility.ts";
import { parseLsn } from "./changes.ts";
import { qualifiedName, quoteIdent } from "./table-info.ts";

export interface TakenSnapshot {
  rows: Row[];
  xids: SnapshotXids;
  /** WAL insert position read after the snapshot: every transaction it sees committed at or before it. */
  lsn: bigint;
}

/**
 * A column's value in the text form pgoutput sends (the type's output function). bool is the one
 * type whose `::text` cast (true/false) differs from its output function (t/f).
 */
function textOf(col: { name: string; type: string; dims: number }): string {
  const id = quoteIdent(col.name);
  if (col.type === "bool" && col.dims === 0) return `CASE WHEN ${id} THEN 't' WHEN NOT ${id} THEN 'f' END`;
  return `${id}::text`;
}

/**
 * Reads the shape's rows in a REPEATABLE READ transaction together with the snapshot's xids, so the
 * live log can skip exactly the transactions the rows already reflect (SPEC.md C1). Every column the
 * where clause or the key needs is read, not only the selected ones.
 */
export async function takeSnapshot(pool: pg.Pool, spec: ShapeSpec, withRows: boolean, timeoutMs: number): Promise<TakenSnapshot> {
  return withTransaction(pool, async (client) => {
    await client.query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY");
    await client.query(`SET LOCAL statement_timeout = ${Math.max(1, Math.floor(timeoutMs))}`);
    // The transaction's snapshot is taken by this first statement, before its target list is evaluated, so
    // the insert position read here is past the commit record of every transaction the snapshot sees.
    // (The write position, pg_current_wal_lsn(), can lag behind it.)
    const head = await client.query<{ snap: string; lsn: string }>(
      "SELECT pg_current_snapshot()::text AS snap, pg_current_wal_insert_lsn()::text AS lsn",
    );
    const first = head.rows[0];
    if (!first) throw new Error("snapshot query returned no row");
    let rows: Row[] = [];
    if (withRows) {
      const needed = new Set([...projectionSources(spec.projection), ...spec.table.keyColumns]);
      const cols = spec.table.columns.filter((c) => needed.has(c.name));
      const select = cols.map((c) => `${textOf(c)} AS ${quoteIdent(c.name)}`).join(", ");
      const where = spec.where ? ` WHERE (${spec.where.sql})` : "";
      const result = await client.query<Row>({
        text: `SELECT ${select} FROM ${qualifiedName(spec.table)}${where}`,
        values: spec.where?.params ?? [],
        // Every value is read as text already; keep node-postgres from parsing anything.
        types: { getTypeParser: () => (v: string) => v },
      });
      rows = result.rows;
    }
    return { rows, xids: parseSnapshot(first.snap), lsn: parseLsn(first.lsn) };
  });
}
