import type pg from "pg";
import { withTransaction } from "../db/transaction.ts";
import { RUN_STATUSES } from "../engine/run-state.ts";

export interface RunCounts {
  /** Runs by environment (slug) and status; every status of every environment, zeros included. */
  byStatus: { environment: string; status: string; runs: number }[];
  /** QUEUED runs by environment and queue; every known queue, zeros included. */
  queued: { environment: string; queue: string; runs: number }[];
}

/**
 * A scrape counts every run, which reads the whole runs table (no index covers all statuses, and one would slow
 * every status change): counts are shared by the scrapes within `maxAgeMs` (so a client polling /metrics in a
 * loop costs one count per interval), concurrent scrapes wait for the same query, and the query is cancelled
 * past `timeoutMs`.
 */
export class RunCounter {
  readonly #pool: pg.Pool;
  readonly #maxAgeMs: number;
  readonly #timeoutMs: number;
  #last: { at: number; counts: RunCounts } | undefined;
  #pending: Promise<RunCounts> | undefined;

  constructor(pool: pg.Pool, opts: { maxAgeMs?: number; timeoutMs?: number } = {}) {
    this.#pool = pool;
    this.#maxAgeMs = opts.maxAgeMs ?? 2_000;
    this.#timeoutMs = opts.timeoutMs ?? 5_000;
  }

  async counts(): Promise<RunCounts> {
    if (this.#last && Date.now() - this.#last.at < this.#maxAgeMs) return this.#last.counts;
    this.#pending ??= this.#query()
      .then((counts) => {
        this.#last = { at: Date.now(), counts };
        return counts;
      })
      .finally(() => (this.#pending = undefined));
    return this.#pending;
  }

  async #query(): Promise<RunCounts> {
    return withTransaction(this.#pool, async (client) => {
      await client.query(`SET LOCAL statement_timeout = ${Math.round(this.#timeoutMs)}`);
      const envs = await client.query<{ id: string; slug: string }>("SELECT id, slug FROM environments ORDER BY slug");
      const byStatus = await client.query<{ env_id: string; status: string; runs: string }>(
        "SELECT env_id, status, count(*)::text AS runs FROM runs GROUP BY env_id, status",
      );
      const queued = await client.query<{ env_id: string; queue: string; runs: string }>(
        `SELECT env_id, queue, sum(runs)::text AS runs FROM (
           SELECT env_id, name AS queue, 0 AS runs FROM queues
           UNION ALL
           SELECT env_id, queue, count(*) FROM runs WHERE status = 'QUEUED' GROUP BY env_id, queue
         ) q GROUP BY env_id, queue`,
      );
      const slug = new Map(envs.rows.map((e) => [e.id, e.slug]));
      const counted = new Map<string, number>();
      for (const r of byStatus.rows) counted.set(`${r.env_id}\u0000${r.status}`, Number(r.runs));
      const statuses = new Set<string>(RUN_STATUSES);
      for (const r of byStatus.rows) statuses.add(r.status);
      return {
        byStatus: envs.rows.flatMap((e) => [...statuses].map((status) => ({ environment: e.slug, status, runs: counted.get(`${e.id}\u0000${status}`) ?? 0 }))),
        queued: queued.rows.map((r) => ({ environment: slug.get(r.env_id) ?? r.env_id, queue: r.queue, runs: Number(r.runs) })),
      };
    });
  }
}
