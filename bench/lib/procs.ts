import { fork, type ChildProcess } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { fileURLToPath } from "node:url";
import { dirname, join, resolve } from "node:path";

/** The repository root (bench/ lives directly under it). */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");

/** Preloaded into children that have no IPC channel: they stop themselves when the bench process dies. */
export const EXIT_WITH_PARENT = fileURLToPath(new URL("./exit-with-parent.mjs", import.meta.url));

/** Node flags that let the bench trigger a full GC in a server it measures (SIGUSR2; see gc-on-signal.mjs). */
export const GC_ON_SIGNAL_FLAGS = ["--expose-gc", "--import", fileURLToPath(new URL("./gc-on-signal.mjs", import.meta.url))];

type Cleanup = () => Promise<void> | void;

const cleanups: Cleanup[] = [];
const children = new Set<ChildProcess>();
let cleaning: Promise<void> | undefined;

/** Registers something to undo at the end (last registered runs first); returns an unregister function. */
export function onCleanup(fn: Cleanup): () => void {
  cleanups.push(fn);
  return () => {
    const i = cleanups.indexOf(fn);
    if (i >= 0) cleanups.splice(i, 1);
  };
}

/** Stops every tracked child and runs the cleanups. Idempotent. */
export function cleanupAll(): Promise<void> {
  cleaning ??= (async () => {
    while (cleanups.length) {
      const fn = cleanups.pop() as Cleanup;
      try {
        await fn();
      } catch (err) {
        process.stderr.write(`cleanup: ${err instanceof Error ? err.message : String(err)}\n`);
      }
    }
    await Promise.all([...children].map((c) => stopChild(c, 5_000)));
  })();
  return cleaning;
}

/**
 * Ctrl-C, SIGTERM, an uncaught error or an unhandled rejection: stop everything this process started,
 * then exit. Call once from a CLI entry point.
 */
let exiting = false;

/** True once an interrupt or a fatal error started the shutdown: late errors from dying children are expected then. */
export function isExiting(): boolean {
  return exiting;
}

export function installExitHandlers(): void {
  const exit = (code: number, why: string) => {
    if (exiting) return;
    exiting = true;
    process.stderr.write(`\n${why}: stopping PostgreSQL, servers and generators…\n`);
    const force = setTimeout(() => process.exit(code), 40_000);
    force.unref();
    void cleanupAll().finally(() => process.exit(code));
  };
  process.on("SIGINT", () => exit(130, "interrupted"));
  process.on("SIGTERM", () => exit(143, "terminated"));
  process.on("uncaughtException", (err) => {
    if (exiting) return;
    process.stderr.write(`${err.stack ?? err.message}\n`);
    exit(1, "uncaught error");
  });
  process.on("unhandledRejection", (err) => {
    if (exiting) return;
    process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    exit(1, "unhandled rejection");
  });
}

/** Tracks a child so cleanupAll() stops it. */
export function track(child: ChildProcess): ChildProcess {
  children.add(child);
  child.once("exit", () => children.delete(child));
  return child;
}

export function exited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

/** SIGTERM, then SIGKILL after `ms`. */
export async function stopChild(child: ChildProcess, ms: number): Promise<void> {
  // A child that never started (spawn failed) has no pid and never emits 'exit'.
  if (exited(child) || child.pid === undefined) return;
  const gone = new Promise<void>((r) => child.once("exit", () => r()));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), ms);
  await gone;
  clearTimeout(timer);
}

/** Forks a TypeScript child (through tsx) with an IPC channel, tracked for cleanup. */
export function forkTs(file: string, args: string[] = [], extraExecArgv: string[] = []): ChildProcess {
  const child = fork(file, args, {
    cwd: REPO_ROOT,
    execArgv: ["--import", "tsx", ...extraExecArgv],
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  return track(child);
}

/** Resident set size of a process, KiB (VmRSS), and its peak (VmHWM). */
export function readMemory(pid: number): { rssKb: number; hwmKb: number } {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? Number.NaN);
  return { rssKb: field("VmRSS"), hwmKb: field("VmHWM") };
}

/** A reading of a server's memory after forced full GCs, KiB. */
export interface SettledMemory {
  /** VmRSS after the GCs. */
  rssKb: number;
  hwmKb: number;
  /** VmRSS just before the GCs. */
  rawRssKb: number;
  /** V8 heap in use plus memory held outside it (Buffers, native), after the GCs: what the process retains. */
  heapKb: number;
}

/**
 * Memory after two full garbage collections (the process must run with GC_ON_SIGNAL_FLAGS, whose preload
 * answers SIGUSR2 with a GC and a process.memoryUsage() file) and a quiet moment.
 */
export async function readMemoryAfterGc(pid: number): Promise<SettledMemory> {
  const raw = readMemory(pid);
  const file = join(tmpdir(), `runcast-bench-mem-${pid}.json`);
  rmSync(file, { force: true });
  for (let i = 0; i < 2; i++) {
    process.kill(pid, "SIGUSR2");
    await sleep(150);
  }
  await waitQuiet([pid], { maxMs: 5_000 });
  let usage: { heapUsed: number; external: number } | undefined;
  for (let i = 0; i < 50 && !usage; i++) {
    try {
      usage = JSON.parse(readFileSync(file, "utf8")) as { heapUsed: number; external: number };
    } catch {
      await sleep(20);
    }
  }
  rmSync(file, { force: true });
  return { ...readMemory(pid), rawRssKb: raw.rssKb, heapKb: usage ? Math.round((usage.heapUsed + usage.external) / 1024) : Number.NaN };
}

/** Clock ticks per second of /proc/<pid>/stat (USER_HZ, 100 on Linux). */
const TICKS_PER_SECOND = 100;

/** CPU time (user + system) a process has used so far, ms; NaN once it is gone. */
export function readCpuMs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the command name (which may hold spaces) start at ") ".
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    return ((utime + stime) * 1000) / TICKS_PER_SECOND;
  } catch {
    return Number.NaN;
  }
}

export function sumCpuMs(pids: readonly number[]): number {
  let total = 0;
  for (const pid of pids) total += readCpuMs(pid);
  return total;
}

/**
 * Waits until the processes stop using CPU: less than `busyMs` of CPU over each of `quietWindows`
 * consecutive `windowMs` windows (so a server has finished taking in what was sent). Gives up after `maxMs`
 * and returns false.
 */
export async function waitQuiet(
  pids: readonly number[],
  opts: { windowMs?: number; busyMs?: number; quietWindows?: number; maxMs?: number } = {},
): Promise<boolean> {
  const windowMs = opts.windowMs ?? 200;
  const busyMs = opts.busyMs ?? 10;
  const need = opts.quietWindows ?? 2;
  const deadline = Date.now() + (opts.maxMs ?? 20_000);
  let last = sumCpuMs(pids);
  let quiet = 0;
  while (Date.now() < deadline) {
    await sleep(windowMs);
    const cpu = sumCpuMs(pids);
    quiet = cpu - last <= busyMs ? quiet + 1 : 0;
    last = cpu;
    if (quiet >= need) return true;
  }
  return false;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Keeps the last `max` characters a child wrote, for error messages. */
export class OutputTail {
  #text = "";
  constructor(private readonly max = 8_000) {}
  push(chunk: Buffer | string): void {
    this.#text = (this.#text + chunk.toString()).slice(-this.max);
  }
  toString(): string {
    return this.#text;
  }
}
