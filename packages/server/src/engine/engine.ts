import type pg from "pg";
import { withTransaction } from "../db/transaction.ts";
import { RuncastError, notFound } from "../errors.ts";
import { completeAttempt, failAttempt, heartbeat, type AttemptRef, type CostRates, type RunError } from "./attempts.ts";
import { registerWait, type WaitSpec } from "./waitpoints.ts";
import { cancelRun } from "./runs.ts";
import { dequeueRuns, type DequeuedRun } from "./dequeue.ts";
import type { FailureKind, RunStatus } from "./run-state.ts";
import { Scheduler } from "./scheduler.ts";
import { insertRun, isIdempotencyRace, useTriggerToken, type TriggerRequest, type TriggerResult } from "./trigger.ts";
import { NOW } from "./sql.ts";
import { setTransitionReason } from "./transitions.ts";
import { Wakeups } from "./wakeups.ts";
import { registerWorker, stopWorker, touchWorker, type WorkerRegistration } from "./workers.ts";

export interface EngineOptions {
  leaseMs: number;
  rates: CostRates;
  /** A worker not heard from for this long (no dequeue, heartbeat or events request) counts as gone. */
  workerTimeoutMs?: number;
  /** Finished runs are deleted this long after they finished (0: kept forever). */
  retentionMs?: number;
}

/** Default of RUNCAST_WORKER_TIMEOUT_MS. */
export const DEFAULT_WORKER_TIMEOUT_MS = 60_000;

/** The run lifecycle: what the HTTP API calls. Owns the scheduler and the dequeue wake-ups. */
export class Engine {
  readonly pool: pg.Pool;
  readonly leaseMs: number;
  readonly rates: CostRates;
  readonly workerTimeoutMs: number;
  readonly #wakeups = new Wakeups();
  readonly #scheduler: Scheduler;

  constructor(pool: pg.Pool, opts: EngineOptions) {
    this.pool = pool;
    this.leaseMs = opts.leaseMs;
    this.rates = opts.rates;
    this.workerTimeoutMs = opts.workerTimeoutMs ?? DEFAULT_WORKER_TIMEOUT_MS;
    this.#scheduler = new Scheduler(pool, this.rates, (envs) => this.notifyQueued(envs), { retentionMs: opts.retentionMs ?? 0 });
  }

  start(): void {
    this.#scheduler.start();
  }

  async stop(): Promise<void> {
    this.#wakeups.wakeAll();
    await this.#scheduler.stop();
  }

  /** Something was scheduled (a delay, a retry): re-read the next due time now. */
  scheduleSoon(): void {
    this.#scheduler.nudge();
  }

  /** Something queued runs in these environments (this node or, via replication, another). */
  notifyQueued(envIds: Iterable<string>): void {
    for (const env of envIds) this.#wakeups.wake(env);
  }

  async trigger(req: TriggerRequest): Promise<TriggerResult> {
    // Two concurrent triggers of one idempotency key: the loser of the insert race retries and finds the winner's run.
    for (let attempt = 0; ; attempt++) {
      try {
        const result = await withTransaction(this.pool, async (client) => {
          // A retried request (same request key) gets the run its first attempt made.
          if (req.requestKey) {
            const { rows } = await client.query<{ id: string; status: RunStatus }>(
              "SELECT r.id, r.status FROM request_keys k JOIN runs r ON r.id = k.run_id WHERE k.key_hash = $1 AND k.env_id = $2",
              [req.requestKey, req.envId],
            );
            const first = rows[0];
            if (first) return { id: first.id, isCached: false, status: first.status, replayed: true };
          }
          await useTriggerToken(client, req.envId, req.token, req.taskId);
          const run = await insertRun(client, req, this.workerTimeoutMs);
          if (req.requestKey) await client.query("INSERT INTO request_keys (key_hash, env_id, run_id) VALUES ($1, $2, $3)", [req.requestKey, req.envId, run.id]);
          return run;
        });
        if (!result.isCached && !("replayed" in result)) {
          if (result.status === "QUEUED") this.notifyQueued([req.envId]);
          // The scheduler has something to do sooner only for a delay or a ttl (a run waiting for a deployment
          // without a ttl waits for a worker, not for time): not one sweep per trigger.
          else if (result.status === "DELAYED" || req.options.ttlMs !== undefined) this.scheduleSoon();
        }
        return result;
      } catch (err) {
        if (attempt < 3 && isIdempotencyRace(err)) continue;
        throw err;
      }
    }
  }

  async registerWorker(envId: string, reg: WorkerRegistration): Promise<{ workerId: string; leaseMs: number }> {
    const { workerId, released } = await registerWorker(this.pool, envId, reg);
    if (released) this.notifyQueued([envId]);
    return { workerId, leaseMs: this.leaseMs };
  }

  async stopWorker(envId: string, workerId: string): Promise<void> {
    await stopWorker(this.pool, envId, workerId);
  }

  /**
   * Hands up to `max` QUEUED runs to the worker, holding the request up to `waitMs` while there are none.
   * Woken at once when runs are queued.
   */
  async dequeue(envId: string, workerId: string, max: number, waitMs: number, signal?: AbortSignal): Promise<DequeuedRun[]> {
    const deadline = Date.now() + waitMs;
    for (;;) {
      const worker = await this.#touch(envId, workerId);
      if (worker.stopped) throw new RuncastError(409, "worker_stopped", `worker ${workerId} has stopped`);
      const seen = this.#wakeups.generation(envId);
      // A client that went away while held gets nothing leased (the runs would wait for their lease to expire).
      if (signal?.aborted) return [];
      const runs = await dequeueRuns(this.pool, { envId, workerId, tasks: worker.tasks, max, leaseMs: this.leaseMs });
      if (runs.length) {
        if (signal?.aborted) {
          await this.#giveBack(envId, runs);
          return [];
        }
        this.#scheduler.nudge();
        return runs;
      }
      const left = deadline - Date.now();
      if (left <= 0 || signal?.aborted) return [];
      // Woken by new runs, and often enough to keep the worker seen while it is held.
      await this.#wakeups.wait(envId, seen, Math.min(left, this.workerTimeoutMs / 3), signal);
    }
  }

  /** The worker, marked seen (releasing runs that waited for it when it had been counted as gone). */
  async #touch(envId: string, workerId: string) {
    const worker = await touchWorker(this.pool, envId, workerId, this.workerTimeoutMs);
    if (!worker) throw notFound("worker_not_found", `worker ${workerId} is not registered in this environment: register it again (POST /api/v1/workers)`);
    if (worker.released) this.notifyQueued([envId]);
    return worker;
  }

  /** Runs leased to a client that went away before it got them go back to their queue at once. */
  async #giveBack(envId: string, runs: DequeuedRun[]): Promise<void> {
    await withTransaction(this.pool, async (client) => {
      for (const r of runs) {
        await client.query("SELECT 1 FROM runs WHERE id = $1 FOR UPDATE", [r.id]);
        await setTransitionReason(client, "given back: the worker left before it received the run");
        // A resumed run keeps its attempt (it still waits in that worker); a fresh one loses the new attempt.
        if (!r.resume) {
          await client.query(`UPDATE attempts SET status = 'LOST', finished_at = ${NOW} WHERE id = $1 AND status = 'EXECUTING'`, [r.attemptId]);
        }
        await client.query(
          `UPDATE runs SET status = 'QUEUED', attempt_number = attempt_number - $2::integer WHERE id = $1 AND status = 'EXECUTING'`,
          [r.id, r.resume ? 0 : 1],
        );
      }
    });
    this.notifyQueued([envId]);
  }

  /** Cancels a run; workers holding it hear about it at once through their held events request. */
  async cancel(envId: string, runId: string): Promise<void> {
    await cancelRun(this.pool, envId, runId);
    this.notifyCanceled([envId]);
  }

  /** Runs in these environments were canceled (here, or on another node: seen through replication). */
  notifyCanceled(envIds: Iterable<string>): void {
    for (const env of envIds) this.#wakeups.wake(`cancel:${env}`);
  }

  /**
   * Held request of a worker listing the runs it executes: answers with those no longer its to run
   * (canceled, or its lease lost), as soon as there are any, or empty after `waitMs`.
   */
  async lostRuns(envId: string, workerId: string, runIds: string[], waitMs: number, signal?: AbortSignal): Promise<string[]> {
    const key = `cancel:${envId}`;
    const deadline = Date.now() + waitMs;
    for (;;) {
      await this.#touch(envId, workerId);
      const seen = this.#wakeups.generation(key);
      const { rows } = await this.pool.query<{ id: string }>(
        `SELECT r.id FROM runs r
         WHERE r.id = ANY ($1::text[]) AND r.env_id = $2
           AND NOT EXISTS (SELECT 1 FROM attempts a WHERE a.run_id = r.id AND a.worker_id = $3 AND a.status = 'EXECUTING'
                           AND r.status IN ('EXECUTING', 'FROZEN', 'QUEUED'))`,
        [runIds, envId, workerId],
      );
      const left = deadline - Date.now();
      if (rows.length || left <= 0 || signal?.aborted) return rows.map((r) => r.id);
      await this.#wakeups.wait(key, seen, Math.min(left, this.workerTimeoutMs / 3), signal);
    }
  }

  /**
   * The run waits on a waitpoint (FROZEN, holding no queue or worker slot) unless what it waits for is there
   * already (false: it keeps executing). A duration wait's due time is taken into the scheduler at once.
   */
  async wait(ref: AttemptRef, spec: WaitSpec): Promise<boolean> {
    const frozen = await registerWait(this.pool, ref, spec);
    if (frozen && spec.kind === "duration") this.#scheduler.nudge();
    return frozen;
  }

  async heartbeat(ref: AttemptRef): Promise<void> {
    await heartbeat(this.pool, ref, this.leaseMs);
    // A worker busy with its runs dequeues nothing: its heartbeats keep it seen.
    await touchWorker(this.pool, ref.envId, ref.workerId, this.workerTimeoutMs);
  }

  complete(ref: AttemptRef, output: unknown, outputType: string): Promise<void> {
    return completeAttempt(this.pool, ref, output, outputType, this.rates);
  }

  async fail(ref: AttemptRef, error: RunError, kind: FailureKind): Promise<RunStatus> {
    const status = await failAttempt(this.pool, ref, error, kind, this.rates);
    if (status === "REATTEMPTING") this.#scheduler.nudge();
    return status;
  }
}
