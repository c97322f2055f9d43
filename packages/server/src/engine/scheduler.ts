import type pg from "pg";
import { withTransaction } from "../db/transaction.ts";
import { RuncastError } from "../errors.ts";
import { failLockedAttempt, type CostRates } from "./attempts.ts";
import { FINAL_STATUSES } from "./run-state.ts";
import { setTransitionReason } from "./transitions.ts";
import { completeDueWaitpoints } from "./waitpoints.ts";
import { NOW } from "./sql.ts";

/** Longest sleep between sweeps when nothing is due sooner (a due time set by another node is seen by then). */
const MAX_IDLE_MS = 5_000;
const SWEEP_LIMIT = 500;
/** Finished runs deleted per statement, and statements per sweep (retention stays in small batches). */
const RETENTION_BATCH = 200;
const RETENTION_BATCHES_PER_SWEEP = 10;
const FINAL_SQL = [...FINAL_STATUSES].map((s) => `'${s}'`).join(",");

/**
 * Time-driven transitions: DELAYED/REATTEMPTING runs whose time has come become QUEUED, so do FROZEN runs
 * whose wait is over (waitpoints), waiting runs
 * whose ttl ran out become EXPIRED, and attempts whose lease expired are failed as crashed (retried
 * while attempts remain). Rather than polling on an interval, it sleeps until the next due time in the
 * database (capped), and `nudge()` wakes it when this node schedules something sooner.
 */
/** Retention and the cleanup of spent keys run at most this often. */
const HOUSEKEEPING_EVERY_MS = 5_000;

export class Scheduler {
  readonly #pool: pg.Pool;
  readonly #rates: CostRates;
  readonly #onQueued: (envIds: string[]) => void;
  readonly #log: (msg: string) => void;
  readonly #retentionMs: number;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #again = false;
  #stopped = false;
  #lastHousekeeping = 0;

  constructor(
    pool: pg.Pool,
    rates: CostRates,
    onQueued: (envIds: string[]) => void,
    opts: { retentionMs?: number; log?: (msg: string) => void } = {},
  ) {
    this.#retentionMs = opts.retentionMs ?? 0;
    this.#pool = pool;
    this.#rates = rates;
    this.#onQueued = onQueued;
    this.#log = opts.log ?? ((m) => process.emitWarning(m));
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
    const resumed = await completeDueWaitpoints(this.#pool, SWEEP_LIMIT);
    const retried = await this.#expireLeases();
    await this.#deleteOldRuns();
    const envs = new Set([...queued.rows.map((r) => r.env_id), ...retried, ...resumed]);
    if (envs.size) this.#onQueued([...envs]);
    const { rows } = await this.#pool.query<{ ms: number | null }>(
      `SELECT (extract(epoch FROM (least(
          (SELECT min(available_at) FROM runs WHERE status IN ('DELAYED', 'REATTEMPTING')),
          (SELECT min(ttl_expires_at) FROM runs WHERE ttl_expires_at IS NOT NULL AND status IN ('QUEUED', 'WAITING_FOR_DEPLOY')),
          (SELECT min(lease_expires_at) FROM attempts WHERE status = 'EXECUTING'),
          (SELECT min(resume_at) FROM waitpoints WHERE status = 'WAITING' AND kind = 'duration')
        ) - ${NOW})) * 1000)::float8 AS ms`,
    );
    const ms = rows[0]?.ms;
    return ms === null || ms === undefined ? MAX_IDLE_MS : Math.max(0, Math.ceil(ms));
  }

  /**
   * Retention: finished runs older than the retention age are deleted in small batches (their attempts and
   * history with them). Subscribers see the deletes like any other change.
   */
  async #deleteOldRuns(): Promise<void> {
    // Housekeeping, not timing: at most every few seconds, however often the scheduler is nudged.
    if (Date.now() - this.#lastHousekeeping < HOUSEKEEPING_EVERY_MS) return;
    this.#lastHousekeeping = Date.now();
    // Ids of applied metadata flushes are needed only while the flush may be retried.
    await this.#pool.query(`DELETE FROM metadata_batches WHERE at < ${NOW} - interval '1 hour'`);
    // A used one-time token is refused for its expiry anyway once it has expired.
    await this.#pool.query(`DELETE FROM used_tokens WHERE expires_at < ${NOW} - interval '5 minutes'`);
    // A request is retried for minutes at most; its key is kept a day.
    await this.#pool.query(`DELETE FROM request_keys WHERE created_at < ${NOW} - interval '1 day'`);
    if (!(this.#retentionMs > 0)) return;
    // Packets (big payloads) live as long as the runs that name them may.
    await this.#pool.query(`DELETE FROM packets WHERE created_at < ${NOW} - make_interval(secs => $1::float8 / 1000)`, [this.#retentionMs]);
    for (let batch = 0; batch < RETENTION_BATCHES_PER_SWEEP; batch++) {
      const { rowCount } = await this.#pool.query(
        `WITH old AS (
           SELECT id FROM runs WHERE finished_at < ${NOW} - make_interval(secs => $1::float8 / 1000)
             AND status IN (${FINAL_SQL})
           ORDER BY finished_at LIMIT ${RETENTION_BATCH} FOR UPDATE SKIP LOCKED
         ), gone_attempts AS (
           DELETE FROM attempts WHERE run_id IN (SELECT id FROM old)
         )
         DELETE FROM runs WHERE id IN (SELECT id FROM old)`,
        [this.#retentionMs],
      );
      if ((rowCount ?? 0) < RETENTION_BATCH) return;
    }
  }

  /**
   * Attempts whose lease expired are failed as crashed, each in its own transaction, taking the run's lock
   * first (the lock order of every transition) and skipping runs another transaction holds (the next sweep
   * takes them). A row that fails is logged and its run closed as CRASHED, so no run stays EXECUTING, holding
   * its queue's slot, because of one bad row.
   */
  async #expireLeases(): Promise<string[]> {
    const envs: string[] = [];
    const { rows } = await this.#pool.query<{ id: string; run_id: string; env_id: string }>(
      `SELECT a.id, a.run_id, r.env_id FROM attempts a JOIN runs r ON r.id = a.run_id
       WHERE a.status = 'EXECUTING' AND a.lease_expires_at <= ${NOW}
       ORDER BY a.lease_expires_at LIMIT ${SWEEP_LIMIT}`,
    );
    for (const row of rows) {
      try {
        const done = await withTransaction(this.#pool, async (client) => {
          const locked = await client.query("SELECT 1 FROM runs WHERE id = $1 FOR UPDATE SKIP LOCKED", [row.run_id]);
          if (!locked.rowCount) return false;
          const still = await client.query(
            `SELECT 1 FROM attempts WHERE id = $1 AND status = 'EXECUTING' AND lease_expires_at <= ${NOW} FOR UPDATE`,
            [row.id],
          );
          if (!still.rowCount) return false; // heartbeat or completion won meanwhile
          await setTransitionReason(client, "lease expired: the worker stopped heartbeating");
          await client.query("SAVEPOINT lease");
          try {
            await failLockedAttempt(
              client,
              { envId: row.env_id, runId: row.run_id, attemptId: row.id },
              { name: "WorkerLost", message: "the worker stopped heartbeating (it crashed or lost its connection)" },
              "crashed",
              this.#rates,
              Math.random(),
            );
          } catch (err) {
            if (!(err instanceof RuncastError && err.code === "lease_lost")) throw err;
            // The run moved on meanwhile (canceled, finished): just close the attempt.
            await client.query("ROLLBACK TO SAVEPOINT lease");
            await client.query(`UPDATE attempts SET status = 'LOST', finished_at = ${NOW} WHERE id = $1`, [row.id]);
          }
          return true;
        });
        if (done) envs.push(row.env_id);
      } catch (err) {
        this.#log(`lease sweep failed for run ${row.run_id}: ${err instanceof Error ? err.message : String(err)}; closing it as CRASHED`);
        await this.#pool
          .query(
            `WITH a AS (UPDATE attempts SET status = 'LOST', finished_at = ${NOW} WHERE id = $1)
             UPDATE runs SET status = 'CRASHED', finished_at = ${NOW},
               error = jsonb_build_object('name', 'WorkerLost', 'message', 'the worker stopped heartbeating')
             WHERE id = $2 AND status IN ('EXECUTING', 'FROZEN')`,
            [row.id, row.run_id],
          )
          .catch((e: unknown) => this.#log(`could not close run ${row.run_id}: ${e instanceof Error ? e.message : String(e)}; retried at the next sweep`));
        envs.push(row.env_id);
      }
    }
    return envs;
  }
}
