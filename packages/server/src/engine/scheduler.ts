import type pg from "pg";
import { withTransaction } from "../db/transaction.ts";
import { failLockedAttempt, type CostRates } from "./attempts.ts";
import { NOW } from "./sql.ts";

/** Longest sleep between sweeps when nothing is due sooner (a due time set by another node is seen by then). */
const MAX_IDLE_MS = 5_000;
const SWEEP_LIMIT = 500;

/**
 * Time-driven transitions: DELAYED/REATTEMPTING runs whose time has come become QUEUED, waiting runs
 * whose ttl ran out become EXPIRED, and attempts whose lease expired are failed as crashed (retried
 * while attempts remain). Rather than polling on an interval, it sleeps until the next due time in the
 * database (capped), and `nudge()` wakes it when this node schedules something sooner.
 */
export class Scheduler {
  readonly #pool: pg.Pool;
  readonly #rates: CostRates;
  readonly #onQueued: (envIds: string[]) => void;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #again = false;
  #stopped = false;

  constructor(pool: pg.Pool, rates: CostRates, onQueued: (envIds: string[]) => void) {
    this.#pool = pool;
    this.#rates = rates;
    this.#onQueued = onQueued;
  }

  start(): void {
    this.nudge();
  }

  /** Run a sweep now (or right after the current one). */
  nudge(): void {
    if (this.#stopped) return;
    if (this.#running) {
      this.#again = true;
      return;
    }
    clearTimeout(this.#timer);
    this.#running = this.#sweepAndSleep().finally(() => {
      this.#running = undefined;
      if (this.#again) {
        this.#again = false;
        this.nudge();
      }
    });
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#running;
    clearTimeout(this.#timer);
  }

  async #sweepAndSleep(): Promise<void> {
    let wait = MAX_IDLE_MS;
    try {
      wait = await this.sweep();
    } catch (err) {
      // A failed sweep (database restarting) is retried after the idle period.
      process.emitWarning(`scheduler sweep failed: ${err instanceof Error ? err.message : String(err)}`);
    }
    if (this.#stopped) return;
    this.#timer = setTimeout(() => this.nudge(), Math.max(0, Math.min(wait, MAX_IDLE_MS)));
    this.#timer.unref();
  }

  /** One pass over every due transition; returns milliseconds until the next known due time. */
  async sweep(): Promise<number> {
    const queued = await this.#pool.query<{ env_id: string }>(
      `UPDATE runs SET status = 'QUEUED', queued_at = ${NOW}, updated_at = ${NOW}, available_at = NULL
       WHERE id IN (SELECT id FROM runs WHERE status IN ('DELAYED', 'REATTEMPTING') AND available_at <= ${NOW}
                    ORDER BY available_at LIMIT ${SWEEP_LIMIT} FOR UPDATE SKIP LOCKED)
       RETURNING env_id`,
    );
    await this.#pool.query(
      `UPDATE runs SET status = 'EXPIRED', expired_at = ${NOW}, finished_at = ${NOW}, updated_at = ${NOW},
         ttl_expires_at = NULL,
         error = jsonb_build_object('name', 'Expired', 'message', 'the run was not started within its ttl (' || ttl || ')')
       WHERE id IN (SELECT id FROM runs WHERE status IN ('QUEUED', 'WAITING_FOR_DEPLOY') AND ttl_expires_at <= ${NOW}
                    LIMIT ${SWEEP_LIMIT} FOR UPDATE SKIP LOCKED)`,
    );
    const retried = await this.#expireLeases();
    const envs = new Set([...queued.rows.map((r) => r.env_id), ...retried]);
    if (envs.size) this.#onQueued([...envs]);
    const { rows } = await this.#pool.query<{ ms: number | null }>(
      `SELECT (extract(epoch FROM (least(
          (SELECT min(available_at) FROM runs WHERE status IN ('DELAYED', 'REATTEMPTING')),
          (SELECT min(ttl_expires_at) FROM runs WHERE ttl_expires_at IS NOT NULL AND status IN ('QUEUED', 'WAITING_FOR_DEPLOY')),
          (SELECT min(lease_expires_at) FROM attempts WHERE status = 'EXECUTING')
        ) - ${NOW})) * 1000)::float8 AS ms`,
    );
    const ms = rows[0]?.ms;
    return ms === null || ms === undefined ? MAX_IDLE_MS : Math.max(0, Math.ceil(ms));
  }

  async #expireLeases(): Promise<string[]> {
    const envs: string[] = [];
    await withTransaction(this.#pool, async (client) => {
      const { rows } = await client.query<{ id: string; run_id: string; env_id: string }>(
        `SELECT a.id, a.run_id, r.env_id FROM attempts a JOIN runs r ON r.id = a.run_id
         WHERE a.status = 'EXECUTING' AND a.lease_expires_at <= ${NOW}
         LIMIT ${SWEEP_LIMIT} FOR UPDATE OF a SKIP LOCKED`,
      );
      for (const row of rows) {
        await client.query("SAVEPOINT lease");
        try {
          await failLockedAttempt(
            client,
            { runId: row.run_id, attemptId: row.id },
            { name: "WorkerLost", message: "the worker stopped heartbeating (it crashed or lost its connection)" },
            "crashed",
            this.#rates,
            Math.random(),
          );
          envs.push(row.env_id);
        } catch {
          // The run moved on meanwhile (canceled): just close the attempt.
          await client.query("ROLLBACK TO SAVEPOINT lease");
          await client.query(`UPDATE attempts SET status = 'LOST', finished_at = ${NOW} WHERE id = $1`, [row.id]);
        }
      }
    });
    return envs;
  }
}
