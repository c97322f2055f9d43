import type pg from "pg";
import { withTransaction } from "../db/transaction.ts";
import { qualifiedName, quoteIdent, type TableInfo } from "./table-info.ts";

/**
 * The one publication this node's replication stream reads. Tables join it when a shape first needs
 * them (with REPLICA IDENTITY FULL, so updates and deletes carry the old row: needed to see rows leave
 * a where clause and to fill unchanged TOAST values).
 */
export class Publication {
  readonly name: string;
  readonly #pool: pg.Pool;
  readonly #published = new Set<number>();

  constructor(pool: pg.Pool, name: string) {
    this.#pool = pool;
    this.name = name;
  }

  /** Creates the publication when missing (several nodes may race: the loser's duplicate error is fine). */
  async ensureExists(initialTables: string[]): Promise<void> {
    const { rowCount } = await this.#pool.query("SELECT 1 FROM pg_publication WHERE pubname = $1", [this.name]);
    if (rowCount) return;
    try {
      const tables = initialTables.length ? ` FOR TABLE ${initialTables.join(", ")}` : "";
      await this.#pool.query(`CREATE PUBLICATION ${quoteIdent(this.name)}${tables}`);
    } catch (err) {
      if ((err as { code?: string }).code !== "42710") throw err;
    }
  }

  /** Makes sure the table is published with REPLICA IDENTITY FULL. */
  async ensureTable(table: TableInfo): Promise<void> {
    if (this.#published.has(table.oid)) return;
    const { rows } = await this.#pool.query<{ published: boolean; identity: string }>(
      `SELECT EXISTS (SELECT 1 FROM pg_publication_rel pr JOIN pg_publication p ON p.oid = pr.prpubid
                      WHERE p.pubname = $1 AND pr.prrelid = $2) AS published,
              (SELECT relreplident FROM pg_class WHERE oid = $2)::text AS identity`,
      [this.name, table.oid],
    );
    const state = rows[0];
    if (!state?.published || state.identity !== "f") {
      // One transaction: REPLICA IDENTITY takes an ACCESS EXCLUSIVE lock, so every write that commits
      // after this is decoded with the table already in the publication.
      await withTransaction(this.#pool, async (client) => {
        // Tells the schema-change event trigger (migration 0003) that this ALTER changes no columns.
        await client.query("SET LOCAL runcast.internal_ddl = 'on'");
        if (state?.identity !== "f") await client.query(`ALTER TABLE ${qualifiedName(table)} REPLICA IDENTITY FULL`);
        if (!state?.published) {
          try {
            await client.query("SAVEPOINT add_table");
            await client.query(`ALTER PUBLICATION ${quoteIdent(this.name)} ADD TABLE ${qualifiedName(table)}`);
          } catch (err) {
            // 42710: another node added it between our check and now.
            if ((err as { code?: string }).code !== "42710") throw err;
            await client.query("ROLLBACK TO SAVEPOINT add_table");
          }
        }
      });
    }
    this.#published.add(table.oid);
  }

  /** Forget cached state for a table (after a schema change it may have been dropped and recreated). */
  forget(oid: number): void {
    this.#published.delete(oid);
  }
}
