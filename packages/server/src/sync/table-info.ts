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

/** A table named by schema and name (never resolved through a search_path). */
export interface TableName {
  schema: string;
  name: string;
}

export interface TableInfo extends TableName {
  oid: number;
  /** `r` ordinary, `p` partitioned (only those are shape tables). */
  kind: string;
  /** `p` permanent, `u` unlogged, `t` temporary. */
  persistence: string;
  columns: ColumnInfo[];
  /** Primary key columns in key order; every column (sorted by name) when the table has none. */
  keyColumns: string[];
}

const COLUMNS_SQL = `SELECT a.attname AS name,
        CASE WHEN t.typelem <> 0 AND t.typlen = -1 THEN et.typname ELSE t.typname END AS type,
        CASE WHEN t.typelem <> 0 AND t.typlen = -1 THEN greatest(a.attndims, 1) ELSE 0 END AS dims,
        a.attnotnull AS not_null,
        array_position(i.indkey::int2[], a.attnum) - array_lower(i.indkey::int2[], 1) AS pk
 FROM pg_attribute a
 JOIN pg_type t ON t.oid = a.atttypid
 LEFT JOIN pg_type et ON et.oid = t.typelem
 LEFT JOIN pg_index i ON i.indrelid = a.attrelid AND i.indisprimary
 WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped
 ORDER BY a.attnum`;

/** Reads a table (or any relation: the caller checks `kind`). Null when there is none by that name. */
export async function loadTableInfo(pool: pg.Pool, table: TableName): Promise<TableInfo | null> {
  const rel = await pool.query<{ oid: number; kind: string; persistence: string }>(
    `SELECT c.oid::int8 AS oid, c.relkind::text AS kind, c.relpersistence::text AS persistence
     FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = $2`,
    [table.schema, table.name],
  );
  const r = rel.rows[0];
  if (!r) return null;
  return readColumns(pool, { oid: Number(r.oid), schema: table.schema, name: table.name, kind: r.kind, persistence: r.persistence });
}

/** The table with this oid as it is now (after a possible schema change), or null when it is gone. */
export async function loadTableInfoByOid(pool: pg.Pool, oid: number): Promise<TableInfo | null> {
  const rel = await pool.query<{ schema: string; name: string; kind: string; persistence: string }>(
    `SELECT n.nspname AS schema, c.relname AS name, c.relkind::text AS kind, c.relpersistence::text AS persistence
     FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = $1`,
    [oid],
  );
  const r = rel.rows[0];
  return r ? readColumns(pool, { oid, ...r }) : null;
}

async function readColumns(pool: pg.Pool, rel: Omit<TableInfo, "columns" | "keyColumns">): Promise<TableInfo> {
  const cols = await pool.query<{ name: string; type: string; dims: number; not_null: boolean; pk: number | null }>(COLUMNS_SQL, [rel.oid]);
  const columns: ColumnInfo[] = cols.rows.map((c) => ({
    name: c.name,
    type: c.type,
    dims: c.dims,
    notNull: c.not_null,
    ...(c.pk !== null ? { pkIndex: c.pk } : {}),
  }));
  const pk = columns.filter((c) => c.pkIndex !== undefined).sort((a, b) => (a.pkIndex ?? 0) - (b.pkIndex ?? 0));
  const keyColumns = pk.length ? pk.map((c) => c.name) : columns.map((c) => c.name).sort();
  return { ...rel, columns, keyColumns };
}

/** Same name, same columns (names, types, key): shapes built on `a` are still right for `b`. */
export function sameTableShape(a: TableInfo, b: TableInfo): boolean {
  return a.schema === b.schema && a.name === b.name && JSON.stringify(a.columns) === JSON.stringify(b.columns);
}

export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

export function qualifiedName(t: TableName): string {
  return `${quoteIdent(t.schema)}.${quoteIdent(t.name)}`;
}
