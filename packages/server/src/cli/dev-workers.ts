import { spawn, type ChildProcess } from "node:child_process";
import { watch, type FSWatcher } from "node:fs";
import { createInterface } from "node:readline";
import { isWorkerMessage, type DevMessage, type WorkerMessage } from "./handoff.ts";

/** Worker restarts tolerated within a minute before `runcast dev` stops restarting a crashing worker. */
const MAX_WORKER_RESTARTS_PER_MINUTE = 5;
/** A draining worker that does not say it stopped taking runs within this long is stopped (its runs INTERRUPTED). */
const DRAIN_ACK_MS = 10_000;
/** Saves come in bursts (an editor writes, renames, touches): one reload per burst. */
const RELOAD_DEBOUNCE_MS = 150;

type Exit = { type: "exit"; code: number | null; signal: NodeJS.Signals | null };

/** A `runcast worker --handoff` process and what it says. */
class WorkerChild {
  readonly proc: ChildProcess;
  readonly exited: Promise<Exit>;

  constructor(args: string[], env: NodeJS.ProcessEnv, print: (line: string) => void) {
    this.proc = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe", "ipc"], env });
    this.exited = new Promise((resolve) => this.proc.once("exit", (code, signal) => resolve({ type: "exit", code, signal })));
    // A process that cannot start, or a message to one that just went away: said, never a crash of runcast dev.
    this.proc.on("error", (err) => print(`  worker process: ${err.message}`));
    // Lines the worker and its tasks print go through runcast dev's output, so they never cut its live view.
    for (const stream of [this.proc.stdout, this.proc.stderr]) {
      if (stream) createInterface({ input: stream, crlfDelay: Infinity }).on("line", print);
    }
  }

  get alive(): boolean {
    return this.proc.exitCode === null && this.proc.signalCode === null;
  }

  send(m: DevMessage): void {
    if (this.alive && this.proc.connected) this.proc.send(m);
  }

  /** The next message of one of these types, or the exit if the worker exits first. */
  next<T extends WorkerMessage["type"]>(...types: T[]): Promise<Extract<WorkerMessage, { type: T }> | Exit> {
    return new Promise((resolve) => {
      const onMessage = (m: unknown) => {
        if (!isWorkerMessage(m) || !(types as string[]).includes(m.type)) return;
        this.proc.off("message", onMessage);
        resolve(m as Extract<WorkerMessage, { type: T }>);
      };
      this.proc.on("message", onMessage);
      void this.exited.then((exit) => {
        this.proc.off("message", onMessage);
        resolve(exit);
      });
    });
  }

  /** SIGTERM (the worker interrupts its runs and exits 0), SIGKILL if it hangs. */
  async stop(ms: number): Promise<void> {
    if (!this.alive) return;
    this.proc.kill("SIGTERM");
    const timer = setTimeout(() => this.proc.kill("SIGKILL"), ms);
    await this.exited;
    clearTimeout(timer);
  }
}

/**
 * The worker processes of `runcast dev`: one current worker running the task files, restarted when it
 * crashes, and replaced when the task files change. A replacement loads the files first (files that do not
 * load leave the current worker running); then the current worker drains (takes no new runs, finishes its
 * running ones on the code they started with) and the new one starts taking runs. So new attempts run the new
 * code, running attempts finish on the old, and nothing is interrupted.
 */
export class DevWorkers {
  readonly #args: string[];
  readonly #tasksDir: string;
  readonly #env: NodeJS.ProcessEnv;
  readonly #print: (line: string) => void;
  readonly #children = new Set<WorkerChild>();
  #current: WorkerChild | undefined;
  #stopping = false;
  #busy = false;
  #again = false;
  /** Why the next worker starts, for the line that says it is ready. */
  #why: "" | " (reloaded)" | " (restarted)" = "";
  readonly #crashes: number[] = [];
  #watcher: FSWatcher | undefined;
  #debounce: NodeJS.Timeout | undefined;
  #restart: NodeJS.Timeout | undefined;

  readonly #onReady: ((tasks: string[]) => void) | undefined;

  constructor(opts: { tasksDir: string; env: NodeJS.ProcessEnv; print: (line: string) => void; onReady?: (tasks: string[]) => void }) {
    this.#onReady = opts.onReady;
    // The same entry point and loader flags as this process: `runcast worker` under whatever started `runcast dev`.
    this.#args = [...process.execArgv, process.argv[1] ?? "", "worker", "--tasks", opts.tasksDir, "--handoff"];
    this.#tasksDir = opts.tasksDir;
    this.#env = opts.env;
    this.#print = opts.print;
  }

  /** Starts the first worker (resolves once it takes runs, or once it failed to load) and watches the folder. */
  async start(): Promise<void> {
    this.#watch(this.#tasksDir);
    await this.#serialised();
  }

  /** The task files changed: a new worker takes over (one at a time; changes meanwhile make one more). */
  reload(): void {
    if (this.#stopping) return;
    this.#print("  task files changed: reloading");
    this.#why = " (reloaded)";
    void this.#serialised();
  }

  /** Stops every worker process (their runs are INTERRUPTED, per SIGTERM) and the folder watch. */
  async stop(): Promise<void> {
    this.#stopping = true;
    this.#watcher?.close();
    clearTimeout(this.#debounce);
    clearTimeout(this.#restart);
    await Promise.all([...this.#children].map((c) => c.stop(10_000)));
  }

  #watch(dir: string): void {
    try {
      this.#watcher = watch(dir, { recursive: true }, (_event, file) => {
        // Editor swap and backup files, dot folders and dependencies are not task code.
        const name = typeof file === "string" ? file : "";
        if (name.split(/[\\/]/).some((part) => part.startsWith(".") || part === "node_modules") || /(~|\.swp|\.tmp)$/.test(name)) return;
        clearTimeout(this.#debounce);
        this.#debounce = setTimeout(() => this.reload(), RELOAD_DEBOUNCE_MS);
      });
      this.#watcher.on("error", (err) => this.#print(`  watching the task files failed (${err.message}); restart runcast dev to reload them`));
    } catch (err) {
      this.#print(`  cannot watch the task files (${err instanceof Error ? err.message : String(err)}); restart runcast dev to reload them`);
    }
  }

  async #serialised(): Promise<void> {
    if (this.#busy) {
      this.#again = true;
      return;
    }
    this.#busy = true;
    try {
      do {
        this.#again = false;
        await this.#takeOver();
      } while (this.#again && !this.#stopping);
    } finally {
      this.#busy = false;
    }
  }

  /** A new worker with the task files as they are now takes over from the current one (handoff.ts). */
  async #takeOver(): Promise<void> {
    if (this.#stopping) return;
    const next = new WorkerChild(this.#args, this.#env, this.#print);
    this.#children.add(next);
    void next.exited.then(() => this.#children.delete(next));
    const loaded = await next.next("loaded", "load-failed");
    if (loaded.type !== "loaded") {
      await next.exited;
      if (!this.#stopping) {
        this.#print(`  the task files do not load; ${this.#current ? "the worker keeps running the previous code" : "waiting for them to change"}`);
      }
      return;
    }
    const old = this.#current;
    this.#current = undefined;
    if (old?.alive) {
      old.send({ type: "drain" });
      const ack = await Promise.race([old.next("draining"), new Promise<"late">((r) => setTimeout(() => r("late"), DRAIN_ACK_MS).unref())]);
      if (ack === "late") await old.stop(10_000);
      else if (ack.type === "draining" && ack.running > 0) {
        this.#print(`  ${ack.running} run${ack.running === 1 ? "" : "s"} finishing on the previous code`);
      }
    }
    if (this.#stopping) return;
    this.#current = next;
    this.#supervise(next);
    next.send({ type: "go" });
    const ready = await next.next("ready");
    if (ready.type === "ready") {
      this.#print(`  worker ready: ${ready.tasks.length ? ready.tasks.join(", ") : "no tasks found"}${this.#why}`);
      this.#onReady?.(ready.tasks);
    }
  }

  /** A current worker that dies (a task crashed the process) is started again, unless it keeps dying. */
  #supervise(child: WorkerChild): void {
    void child.exited.then(({ code, signal }) => {
      if (this.#stopping || child !== this.#current) return;
      this.#current = undefined;
      const now = Date.now();
      this.#crashes.push(now);
      while (this.#crashes.length && (this.#crashes[0] ?? now) < now - 60_000) this.#crashes.shift();
      if (this.#crashes.length > MAX_WORKER_RESTARTS_PER_MINUTE) {
        this.#print(`  the worker keeps exiting (${this.#crashes.length} times in a minute); not restarting it until the task files change`);
        return;
      }
      const delay = Math.min(30_000, 500 * 2 ** (this.#crashes.length - 1));
      this.#print(`  worker exited (${signal ?? `code ${code}`}); restarting it in ${delay} ms`);
      this.#restart = setTimeout(() => {
        this.#why = " (restarted)";
        void this.#serialised();
      }, delay);
    });
  }
}
