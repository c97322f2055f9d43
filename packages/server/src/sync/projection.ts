import type { Row } from "./changes.ts";
import type { ColumnInfo, TableInfo } from "./table-info.ts";

/**
 * What a shape's messages carry: output columns computed from the table's row. The generic `/v1/shape`
 * serves the table's own columns (the identity projection); a front door may rename columns, map values and
 * leave columns out. A projection is part of the shape's identity and is applied once per change, when the
 * change is encoded, never per reader (SPEC.md P1).
 */
export interface ProjectedColumn {
  /** Name in the output. */
  readonly name: string;
  /** Its `electric-schema` entry (`{ type, dims?, pk_index? }`). */
  readonly schema: Readonly<Record<string, unknown>>;
  /** Table columns its value is computed from. */
  readonly sources: readonly string[];
  /** Its value, from a table row in PostgreSQL text form; text or null, as the Electric protocol sends values. */
  value(row: Row): string | null;
  /** Sent in every update and delete message, like a primary key column. */
  readonly key?: boolean;
}

export interface Projection {
  /** Identifies the projection in shape keys: two projections with one id must project alike. */
  readonly id: string;
  readonly columns: readonly ProjectedColumn[];
}

export function columnSchema(c: ColumnInfo): Record<string, unknown> {
  return { type: c.type, ...(c.dims ? { dims: c.dims } : {}), ...(c.pkIndex !== undefined ? { pk_index: c.pkIndex } : {}) };
}

/** The table's own columns (all, or the selected ones), values unchanged. */
export function identityProjection(table: TableInfo, selected: readonly ColumnInfo[]): Projection {
  return {
    id: `columns:${JSON.stringify(selected.map((c) => c.name))}`,
    columns: selected.map((c) => ({
      name: c.name,
      schema: columnSchema(c),
      sources: [c.name],
      value: (row: Row) => row[c.name] ?? null,
      key: table.keyColumns.includes(c.name),
    })),
  };
}

/** Every table column a projection reads. */
export function projectionSources(p: Projection): Set<string> {
  const out = new Set<string>();
  for (const c of p.columns) for (const s of c.sources) out.add(s);
  return out;
}

/** The `electric-schema` header of a projection. */
export function schemaHeader(p: Projection): string {
  const schema: Record<string, Readonly<Record<string, unknown>>> = {};
  for (const c of p.columns) schema[c.name] = c.schema;
  return JSON.stringify(schema);
}
