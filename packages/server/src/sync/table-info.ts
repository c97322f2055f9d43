import type pg from "pg";

export interface ColumnInfo {
  name: string;
  /** Element typname for arrays (`int4` for int4[]), else the typname. */
  type: string;
  dims: number;
  notNull: boolean;
  /** Position in the primary key, when part of it. */
  pkIndex?: number;
}

export interface TableInfo {
  oid: number;
  schema: string;
  name: string;
  columns: ColumnInfo[];
  /** Primary key columns in key order; every column (sorted by name) when the table has none. */
  keyColumns: string[];
}

/**
 * Resolves a `table` parameter (`items`, `public.items`, `"My Table"`) the way PostgreSQL resolves an
 * identifier, and reads its columns. Null when there is no such table.
 */
export async function loadTableInfo(pool: pg.Pool, table: string): Promise<TableInfo | null> {
  let oid: number | null;
  try {
    const r = await pool.query<{ oid: number | null }>("SELECT to_regclass($1)::oid AS oid", [table]);
    oid = r.rows[0]?.oid ?? null;
  } catch {
    // to_regclass rejects malformed names (unbalanced quotes): treat as "no such table".
    return null;
  }
  if (oid === null) return null;
  const rel = await pool.query<{ schema: string; name: string; kind: string }>(
    `SELECT n.nspname AS schema, c.relname AS name, c.relkind AS kind
     FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = $1`,
    [oid],
  );
  const relRow = rel.rows[0];
  if (!relRow || !["r", "p"].includes(relRow.kind)) return null;
  const cols = await pool.query<{ name: string; type: string; dims: number; not_null: boolean; pk: number | null }>(
    `SELECT a.attname AS name,
            CASE WHEN t.typelem <> 0 AND t.typlen = -1 THEN et.typname ELSE t.typname END AS type,
            CASE WHEN t.typelem <> 0 AND t.typlen = -1 THEN greatest(a.attndims, 1) ELSE 0 END AS dims,
            a.attnotnull AS not_null,
            array_position(i.indkey::int2[], a.attnum) - array_lower(i.indkey::int2[], 1) AS pk
     FROM pg_attribute a
     JOIN pg_type t ON t.oid = a.atttypid
     LEFT JOIN pg_type et ON et.oid = t.typelem
     LEFT JOIN pg_index i ON i.indrelid = a.attrelid AND i.indisprimary
     WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped
     ORDER BY a.attnum`,
    [oid],
  );
  const columns: ColumnInfo[] = cols.rows.map((c) => ({
    name: c.name,
    type: c.type,
    dims: c.dims,
    notNull: c.not_null,
    ...(c.pk !== null ? { pkIndex: c.pk } : {}),
  }));
  const pk = columns.filter((c) => c.pkIndex !== undefined).sort((a, b) => (a.pkIndex ?? 0) - (b.pkIndex ?? 0));
  const keyColumns = pk.length ? pk.map((c) => c.name) : columns.map((c) => c.name).sort();
  return { oid, schema: relRow.schema, name: relRow.name, columns, keyColumns };
}

export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

export function qualifiedName(t: { schema: string; name: string }): string {
  return `${quoteIdent(t.schema)}.${quoteIdent(t.name)}`;
}
