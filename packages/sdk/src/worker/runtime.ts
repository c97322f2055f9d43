import { STORE_TYPE, loadPacket, storedPayload } from "../io.ts";
import { AsyncLocalStorage } from "node:async_hooks";
import { hostname } from "node:os";
import type { ClientConfig } from "../config.ts";
import { RuncastApiError } from "../errors.ts";
import { apiRequest, backoffDelay, sleep } from "../http.ts";
import type { TaskDefinition } from "../task.ts";
import type { TaskContext, TaskRunParams } from "../types.ts";
import { setLongTimeout, type LongTimer } from "../timers.ts";
import { loadTasks } from "./load-tasks.ts";
import { installRunScopeProvider, type RunScope, type Waitpoint } from "../run-context.ts";

const scopes = new AsyncLocalStorage<RunScope>();
installRunScopeProvider(() => scopes.getStore());

export interface WorkerOptions {
  tasksDir: string;
  config?: ClientConfig;
  /** Runs executed at once by this worker. */
  concurrency?: number;
  name?: string;
  log?: (msg: string) => void;
}

interface DequeuedRun {
  id: string;
  attemptId: string;
  /** Handed back after a wait: the waiting attempt continues. */
  resume?: boolean;
  attemptNumber: number;
  taskIdentifier: string;
  payload: unknown;
  /** How the payload is encoded (JSON, or superjson when the official Trigger.dev SDK triggered the run). */
  payloadType?: string;
  tags: string[];
  maxDuration: number | null;
  isTest: boolean;
  createdAt: string;
  batchId: string | null;
  parentRunId: string | null;
  rootRunId: string | null;
}

/** Consecutive failed dequeue calls tolerated (server restarting) before the worker gives up. */
const MAX_DEQUEUE_FAILURES = 60;

type EndKind = "interrupted" | "timed_out" | "canceled" | "crashed";
const END_NAMES: Record<EndKind, string> = {
  interrupted: "WorkerInterrupted",
  timed_out: "MaxDurationExceeded",
  canceled: "RunCanceled",
  crashed: "WorkerCrashed",
};

class AttemptEnded extends Error {
  readonly kind: EndKind;
  constructor(kind: EndKind, message: string) {
    super(message);
    this.name = END_NAMES[kind];
    this.kind = kind;
  }
}

/** Runcast could not run the task (missing from this worker, output not serialisable): SYSTEM_FAILURE. */
class SystemFailure extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SystemFailure";
  }
}

/**
 * A worker: registers its tasks, takes runs over HTTP (held dequeue), runs them with heartbeats,
 * reports the outcome. `stop()` aborts running attempts (their signal fires), reports them
 * INTERRUPTED and unregisters. `drain()` takes no new runs and lets the running ones finish (on the
 * code they started with), which is how `runcast dev` hands over to a worker with reloaded task files.
 */
export class Worker {
  readonly #opts: WorkerOptions;
  readonly #stopping = new AbortController();
  /** Aborted when the worker takes no more runs: on stop, or when it drains. Ends the held dequeue. */
  readonly #taking = new AbortController();
  #closing: Promise<void> | undefined;
  #draining: Promise<void> | undefined;
  /** While draining: looks whether only waiting runs are left (called when a run ends or starts waiting). */
  #idleCheck: (() => void) | undefined;
  readonly #active = new Map<string, { controller: AbortController; done: Promise<void> }>();
  #workerId: string | undefined;
  #leaseMs = 30_000;
  #loop: Promise<void> | undefined;
  #watcher: Promise<void> | undefined;
  #slotFreed: (() => void) | undefined;
  /** Runs waiting (FROZEN): they keep their place in #active but not a concurrency slot. */
  readonly #waiting = new Set<string>();
  /** How each waiting run continues when the server hands it back (dequeue `resume`). */
  readonly #resumes = new Map<string, () => void>();
  /** Aborted when the set of active runs changes, so the held events request is re-sent with the new set. */
  #activeChanged = new AbortController();

  constructor(opts: WorkerOptions) {
    this.#opts = opts;
  }

  get id(): string | undefined {
    return this.#workerId;
  }

  /** Runs this worker holds: executing, or waiting (FROZEN) to continue here. */
  get running(): number {
    return this.#active.size;
  }

  #log(msg: string): void {
    this.#opts.log?.(msg);
  }

  async start(): Promise<string[]> {
    const tasks = await loadTasks(this.#opts.tasksDir);
    const concurrency = this.#opts.concurrency ?? 10;
    const { body } = await apiRequest<{ workerId: string; leaseMs: number }>("/api/v1/workers", {
      method: "POST",
      body: {
        name: this.#opts.name ?? `${hostname()}:${process.pid}`,
        concurrency,
        tasks: [...tasks.values()].map((t) => ({
          id: t.id,
          ...(t.queue?.name ? { queue: t.queue.name } : {}),
          ...(t.queue?.concurrencyLimit ? { concurrencyLimit: t.queue.concurrencyLimit } : {}),
          ...(t.retry ? { retry: t.retry } : {}),
          ...(t.maxDuration ? { maxDuration: t.maxDuration } : {}),
        })),
      },
      ...this.#cfg(),
    });
    this.#workerId = body.workerId;
    this.#leaseMs = body.leaseMs;
    this.#loop = this.#run(tasks, concurrency);
    this.#watcher = this.#watchLostRuns();
    return [...tasks.keys()];
  }

  /** Resolves when the worker has stopped (after stop() or drain(), or when it gave up reaching the server). */
  async done(): Promise<void> {
    await this.#loop;
    await this.#draining;
  }

  /** Graceful shutdown: running attempts are aborted and reported INTERRUPTED. */
  stop(): Promise<void> {
    return this.#shutdown(new AttemptEnded("interrupted", "the worker was shut down while the run executed"));
  }

  /**
   * The process is going down on an error no task caught (an exception thrown from a timer, an
   * unhandled rejection): its running attempts are reported crashed (retried while attempts remain)
   * instead of waiting for their leases to expire.
   */
  crash(error: unknown): Promise<void> {
    const detail = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    return this.#shutdown(new AttemptEnded("crashed", `the worker process crashed on an uncaught error (${detail})`));
  }

  /**
   * Takes no new runs (the held dequeue ends at once; `onStoppedTaking` is called once no new attempt can
   * start here) and waits for the running attempts to finish on the code they started with, then unregisters.
   * A run waiting on a waitpoint (FROZEN) would come back through this worker's dequeue, which has ended: it is
   * interrupted once it is the only kind left. `stop()` during a drain interrupts every run at once, as usual.
   */
  drain(onStoppedTaking?: () => void): Promise<void> {
    this.#draining ??= this.#drain(onStoppedTaking);
    return this.#draining;
  }

  async #drain(onStoppedTaking?: () => void): Promise<void> {
    this.#taking.abort();
    this.#slotFreed?.();
    await this.#loop;
    onStoppedTaking?.();
    await new Promise<void>((resolve) => {
      this.#idleCheck = () => {
        if ([...this.#active.keys()].some((id) => !this.#waiting.has(id))) return;
        this.#idleCheck = undefined;
        resolve();
      };
      this.#idleCheck();
    });
    await this.#shutdown(new AttemptEnded("interrupted", "the worker's task files were reloaded while the run waited"));
  }

  #shutdown(reason: AttemptEnded): Promise<void> {
    this.#closing ??= this.#close(reason);
    return this.#closing;
  }

  async #close(reason: AttemptEnded): Promise<void> {
    this.#stopping.abort();
    this.#taking.abort();
    for (const { controller } of this.#active.values()) controller.abort(reason);
    await Promise.all([...this.#active.values()].map((a) => a.done));
    this.#activeChanged.abort();
    await this.#loop;
    await this.#watcher;
    if (this.#workerId) {
      await apiRequest(`/api/v1/workers/${this.#workerId}/stop`, { method: "POST", retry: false, ...this.#cfg() }).catch((err: unknown) =>
        this.#log(`could not unregister: ${err instanceof Error ? err.message : String(err)}`),
      );
    }
  }

  #cfg(): { config?: ClientConfig } {
    return this.#opts.config ? { config: this.#opts.config } : {};
  }

  async #run(tasks: Map<string, TaskDefinition<string, unknown, unknown>>, concurrency: number): Promise<void> {
    let failures = 0;
    const signal = this.#taking.signal;
    while (!signal.aborted) {
      const free = concurrency - (this.#active.size - this.#waiting.size);
      if (free <= 0) {
        await new Promise<void>((resolve) => (this.#slotFreed = resolve));
        continue;
      }
      let runs: DequeuedRun[];
      try {
        const { body } = await apiRequest<{ runs: DequeuedRun[] }>(`/api/v1/workers/${this.#workerId}/dequeue`, {
          method: "POST",
          body: { maxRuns: free, waitMs: 20_000 },
          signal,
          retry: false,
          ...this.#cfg(),
        });
        runs = body.runs;
        failures = 0;
      } catch (err) {
        if (signal.aborted) break;
        if (err instanceof RuncastApiError && err.status < 500 && err.status !== 429) throw err;
        if (++failures > MAX_DEQUEUE_FAILURES) throw err;
        this.#log(`dequeue failed (${err instanceof Error ? err.message : String(err)}); retrying`);
        await sleep(backoffDelay(failures, 200, 5_000), signal);
        continue;
      }
      for (const run of runs) {
        if (run.resume) {
          const resume = this.#resumes.get(run.id);
          if (resume) resume();
          else this.#abandon(run);
          continue;
        }
        const def = tasks.get(run.taskIdentifier);
        const controller = new AbortController();
        const done = this.#execute(run, def, controller).finally(() => {
          this.#active.delete(run.id);
          this.#waiting.delete(run.id);
          this.#activeChanged.abort();
          this.#slotFreed?.();
          this.#idleCheck?.();
        });
        this.#active.set(run.id, { controller, done });
        this.#activeChanged.abort();
      }
    }
  }

  /**
   * Keeps one held request open listing the runs this worker executes; the server answers at once
   * when one of them is canceled (or its lease lost), and that run's abort signal fires.
   */
  async #watchLostRuns(): Promise<void> {
    const stopping = this.#stopping.signal;
    let failures = 0;
    while (!stopping.aborted) {
      const changed = (this.#activeChanged = new AbortController());
      const runIds = [...this.#active.keys()];
      if (runIds.length === 0) {
        await new Promise<void>((resolve) => changed.signal.addEventListener("abort", () => resolve(), { once: true }));
        continue;
      }
      // Not AbortSignal.any: in Node 20 it keeps every combined signal reachable from the long-lived `stopping`.
      const request = new AbortController();
      const abort = () => request.abort();
      stopping.addEventListener("abort", abort, { once: true });
      changed.signal.addEventListener("abort", abort, { once: true });
      try {
        const { body } = await apiRequest<{ lost: string[] }>(`/api/v1/workers/${this.#workerId}/events`, {
          method: "POST",
          body: { runIds, waitMs: 20_000 },
          signal: request.signal,
          retry: false,
          ...this.#cfg(),
        });
        failures = 0;
        for (const id of body.lost) {
          this.#active.get(id)?.controller.abort(new AttemptEnded("canceled", "the run was canceled or its lease was lost"));
        }
      } catch (err) {
        if (stopping.aborted || changed.signal.aborted) continue;
        failures++;
        this.#log(`watching runs failed (${err instanceof Error ? err.message : String(err)}); retrying`);
        await sleep(backoffDelay(Math.min(failures, 6), 200, 5_000), stopping);
      } finally {
        stopping.removeEventListener("abort", abort);
      }
    }
  }

  /**
   * The run waits on a server-held waitpoint. While FROZEN it holds no slot here (the dequeue loop may take
   * other runs) and its maxDuration is paused; the server hands it back through this worker's dequeue
   * (`resume`) once the waitpoint completed and its queue had room.
   */
  async #wait(runId: string, path: string, waitpoint: Waitpoint, timer: { pause(): void; resume(): void }, signal: AbortSignal): Promise<void> {
    const { body } = await apiRequest<{ waiting: boolean }>(`${path}/wait`, {
      method: "POST",
      body: { workerId: this.#workerId, waitpoint },
      ...this.#cfg(),
    });
    if (!body.waiting) return;
    timer.pause();
    this.#waiting.add(runId);
    this.#slotFreed?.();
    this.#idleCheck?.();
    try {
      await new Promise<void>((resolve, reject) => {
        if (signal.aborted) return reject(signal.reason);
        this.#resumes.set(runId, resolve);
        signal.addEventListener("abort", () => reject(signal.reason), { once: true });
      });
    } finally {
      this.#resumes.delete(runId);
      this.#waiting.delete(runId);
    }
    timer.resume();
  }

  /** A run handed back for a wait this worker no longer holds: its attempt is over (retried or CRASHED). */
  #abandon(run: DequeuedRun): void {
    const path = `/api/v1/runs/${encodeURIComponent(run.id)}/attempts/${encodeURIComponent(run.attemptId)}`;
    apiRequest(`${path}/fail`, {
      method: "POST",
      body: { workerId: this.#workerId, kind: "crashed", error: { name: "WaitLost", message: "the worker no longer held the waiting attempt" } },
      ...this.#cfg(),
    }).catch((err: unknown) => this.#log(`abandoning ${run.id} failed: ${String(err)}`));
  }

  async #execute(run: DequeuedRun, def: TaskDefinition<string, unknown, unknown> | undefined, controller: AbortController): Promise<void> {
    const path = `/api/v1/runs/${encodeURIComponent(run.id)}/attempts/${encodeURIComponent(run.attemptId)}`;
    const report = (what: "complete" | "fail", body: Record<string, unknown>) =>
      apiRequest(`${path}/${what}`, { method: "POST", body: { workerId: this.#workerId, ...body }, ...this.#cfg() }).catch((err: unknown) => {
        // 409: the lease was lost (canceled, or expired and handed on): the outcome is no longer ours to report.
        if (!(err instanceof RuncastApiError && err.status === 409)) this.#log(`reporting ${what} for ${run.id} failed: ${String(err)}`);
      });
    const heartbeat = setInterval(() => {
      apiRequest(`${path}/heartbeat`, { method: "POST", body: { workerId: this.#workerId }, retry: false, ...this.#cfg() }).catch((err: unknown) => {
        if (err instanceof RuncastApiError && err.status === 409) controller.abort(new AttemptEnded("canceled", "the run was canceled or its lease was lost"));
      });
    }, Math.max(200, Math.floor(this.#leaseMs / 3)));
    // maxDuration counts execution only: the timer is paused while the run waits.
    let left = run.maxDuration ? run.maxDuration * 1000 : undefined;
    let armedAt = 0;
    let timeout: LongTimer | undefined;
    const timer = {
      resume: () => {
        if (left === undefined || timeout) return;
        armedAt = Date.now();
        timeout = setLongTimeout(() => controller.abort(new AttemptEnded("timed_out", `the run exceeded its maxDuration of ${run.maxDuration} s`)), left);
      },
      pause: () => {
        if (left === undefined || !timeout) return;
        timeout.clear();
        timeout = undefined;
        left = Math.max(0, left - (Date.now() - armedAt));
      },
    };
    timer.resume();
    const ctx: TaskContext = {
      run: {
        id: run.id,
        tags: run.tags,
        isTest: run.isTest,
        createdAt: new Date(`${run.createdAt.replace(" ", "T")}Z`),
        ...(run.batchId ? { batchId: run.batchId } : {}),
        ...(run.parentRunId ? { parentRunId: run.parentRunId } : {}),
      },
      attempt: { number: run.attemptNumber, id: run.attemptId },
      task: { id: run.taskIdentifier },
    };
    const params: TaskRunParams = { ctx, signal: controller.signal };
    let scopeOf: RunScope | undefined;
    const finish = async () => {
      for (const fn of scopeOf?.finishers ?? []) {
        try {
          await fn();
        } catch (err) {
          this.#log(`finishing ${run.id} failed: ${err instanceof Error ? err.message : String(err)}`);
        }
      }
    };
    try {
      if (!def) throw new SystemFailure(`this worker has no task "${run.taskIdentifier}"`);
      run.payload =
        run.payloadType === STORE_TYPE ? await loadPacket(run.id, "payload", this.#opts.config) : storedPayload(run.payload, run.payloadType);
      const scope: RunScope = {
        runId: run.id,
        attemptId: run.attemptId,
        workerId: this.#workerId ?? "",
        parentRunId: run.parentRunId ?? undefined,
        rootRunId: run.rootRunId ?? undefined,
        config: this.#opts.config,
        signal: controller.signal,
        services: new Map<string, unknown>([["metadata.initial", (run as { metadata?: unknown }).metadata]]),
        finishers: [],
        wait: (waitpoint) => this.#wait(run.id, path, waitpoint, timer, controller.signal),
      };
      scopeOf = scope;
      const output = await scopes.run(scope, () =>
        raceAbort(async () => {
          await def.onStart?.(run.payload, params);
          return def.run(run.payload, params);
        }, controller.signal),
      );
      await scopes.run(scope, async () => def.onSuccess?.(run.payload, output, params));
      let serialised: unknown;
      try {
        serialised = output === undefined ? null : JSON.parse(JSON.stringify(output));
      } catch (err) {
        throw new SystemFailure(`the task's output cannot be stored as JSON: ${err instanceof Error ? err.message : String(err)}`);
      }
      await finish();
      await report("complete", { output: serialised });
    } catch (err) {
      const ended = controller.signal.aborted && controller.signal.reason instanceof AttemptEnded ? controller.signal.reason : undefined;
      if (ended?.kind === "canceled") {
        // The outcome is the server's (CANCELED); what the task wrote last still goes out (final flushes).
        await finish();
        return;
      }
      const error = ended ?? err;
      try {
        const hook = def?.onFailure;
        if (hook) await (scopeOf ? scopes.run(scopeOf, async () => hook(run.payload, error, params)) : hook(run.payload, error, params));
      } catch (hookErr) {
        this.#log(`onFailure of ${run.taskIdentifier} threw: ${hookErr instanceof Error ? hookErr.message : String(hookErr)}`);
      }
      const e = error instanceof Error ? error : new Error(String(error));
      await finish();
      await report("fail", {
        kind: ended?.kind ?? (error instanceof SystemFailure ? "system" : "error"),
        error: { name: e.name, message: e.message, ...(e.stack ? { stack: e.stack } : {}) },
      });
    } finally {
      clearInterval(heartbeat);
      timeout?.clear();
    }
  }
}

/** Runs `fn`, but settles as soon as `signal` aborts (the task may ignore its signal). */
function raceAbort<T>(fn: () => Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    fn().then(
      (v) => {
        signal.removeEventListener("abort", onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(e);
      },
    );
  });
}
