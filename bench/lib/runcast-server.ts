import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes, randomInt } from "node:crypto";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EXIT_WITH_PARENT, GC_ON_SIGNAL_FLAGS, OutputTail, REPO_ROOT, exited, onCleanup, sleep, stopChild, track } from "./procs.ts";

/**
 * Where the server's sources are: this checkout, unless RUNCAST_BENCH_SERVER_ROOT names another one (an
 * exported commit, to compare versions; it needs a node_modules, e.g. a symlink to this one's).
 */
export function serverRoot(): string {
  return process.env.RUNCAST_BENCH_SERVER_ROOT || REPO_ROOT;
}

export interface RuncastServerOptions {
  databaseUrl: string;
  /** RUNCAST_MAX_SUBSCRIPTIONS */
  maxSubscriptions: number;
  /** RUNCAST_LONG_POLL_MS: long enough that no held request times out during a measurement. */
  longPollMs: number;
  /**
   * RUNCAST_NODE_ID (names the replication slot; "bench" when omitted). null: not set, so the node picks a
   * random id, as every node of a cluster does by default (several servers on one database).
   */
  nodeId?: string | null;
  /** Write a V8 CPU profile of the server to this folder when it stops (node --cpu-prof). */
  cpuProfDir?: string;
  /** Extra node flags for the server process. */
  nodeFlags?: string[];
  /** Let the bench trigger full GCs with SIGUSR2 (for memory readings). */
  gcOnSignal?: boolean;
  /** More environment for the server (e.g. RUNCAST_SHAPE_LOG_BYTES). */
  env?: Record<string, string>;
}

export interface RuncastServer {
  url: string;
  port: number;
  /** The server's own process (node running the CLI): its RSS and CPU are the server's. */
  pid: number;
  secretKey: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** The server key of this bench run's servers (random per run, like a deployment's shared RUNCAST_SERVER_KEY). */
const BENCH_SERVER_KEY = randomBytes(32).toString("base64");

/** A secret key of the documented form: `tr_dev_` and 24 letters or digits. */
export function benchSecretKey(): string {
  const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  let key = "tr_dev_";
  for (let i = 0; i < 24; i++) key += alphabet[randomInt(alphabet.length)];
  return key;
}

/**
 * Starts `runcast start` as a child process over `databaseUrl` on 127.0.0.1 and waits for /healthz.
 * Its own process, so its RSS is its own.
 */
export async function startRuncastServer(opts: RuncastServerOptions): Promise<RuncastServer> {
  const port = await freePort();
  const secretKey = benchSecretKey();
  const dataDir = mkdtempSync(join(tmpdir(), "runcast-bench-node-"));
  const flags = [...(opts.nodeFlags ?? [])];
  if (opts.cpuProfDir) flags.push("--cpu-prof", `--cpu-prof-dir=${opts.cpuProfDir}`);
  if (opts.gcOnSignal) flags.push(...GC_ON_SIGNAL_FLAGS);
  // The CLI entry (`runcast`): the server is started the way users start it, `runcast start`.
  const bin = join(serverRoot(), "packages", "server", "bin", "runcast.js");
  if (!existsSync(bin)) throw new Error(`no Runcast CLI at ${bin} (RUNCAST_BENCH_SERVER_ROOT=${process.env.RUNCAST_BENCH_SERVER_ROOT ?? ""})`);
  const child = track(
    spawn(process.execPath, [...flags, "--import", EXIT_WITH_PARENT, bin, "start", "--port", String(port)], {
      cwd: serverRoot(),
      env: {
        ...withoutNodeId(process.env),
        DATABASE_URL: opts.databaseUrl,
        RUNCAST_SECRET_KEY: secretKey,
        // Every server of one bench run shares the database, so they share its server key too.
        RUNCAST_SERVER_KEY: BENCH_SERVER_KEY,
        RUNCAST_HOST: "127.0.0.1",
        RUNCAST_DATA_DIR: dataDir,
        RUNCAST_MAX_SUBSCRIPTIONS: String(opts.maxSubscriptions),
        RUNCAST_LONG_POLL_MS: String(opts.longPollMs),
        ...(opts.nodeId === null ? {} : { RUNCAST_NODE_ID: opts.nodeId ?? "bench" }),
        ...opts.env,
      },
      stdio: ["ignore", "pipe", "pipe"],
    }),
  );
  // Always drained: a full pipe would stall the server.
  const output = new OutputTail();
  child.on("error", (err) => output.push(`could not start the server: ${err.message}\n`));
  child.stdout?.on("data", (c: Buffer) => output.push(c));
  child.stderr?.on("data", (c: Buffer) => output.push(c));
  const url = `http://127.0.0.1:${port}`;
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    unregister();
    await stopChild(child, 20_000);
    rmSync(dataDir, { recursive: true, force: true });
  };
  const unregister = onCleanup(stop);
  try {
    await waitHealthy(url, child, output);
  } catch (err) {
    await stop();
    throw err;
  }
  return { url, port, pid: child.pid as number, secretKey, child, stop };
}

export interface RuncastWorker {
  pid: number;
  child: ChildProcess;
  stop(): Promise<void>;
}

/**
 * Starts `runcast worker --tasks <tasksDir>` as a child process for the server at `url` and waits until it says
 * it is ready. Its output is always drained (a full pipe would stall it); the last of it is in start-up errors.
 */
export async function startRuncastWorker(opts: { url: string; secretKey: string; tasksDir: string; concurrency: number }): Promise<RuncastWorker> {
  const bin = join(serverRoot(), "packages", "server", "bin", "runcast.js");
  const child = track(
    spawn(process.execPath, ["--import", EXIT_WITH_PARENT, bin, "worker", "--tasks", opts.tasksDir, "--concurrency", String(opts.concurrency)], {
      env: { ...process.env, RUNCAST_API_URL: opts.url, RUNCAST_SECRET_KEY: opts.secretKey },
      stdio: ["ignore", "pipe", "pipe"],
    }),
  );
  const output = new OutputTail();
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    unregister();
    await stopChild(child, 10_000);
  };
  const unregister = onCleanup(stop);
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout?.on("data", (d: Buffer) => {
      output.push(d);
      if (d.toString().includes("worker ready")) resolve();
    });
    child.stderr?.on("data", (d: Buffer) => output.push(d));
    child.once("error", (err) => reject(new Error(`could not start the worker: ${err.message}`)));
    child.once("exit", (code) => reject(new Error(`the worker exited (${code}):\n${output}`)));
  });
  try {
    await ready;
  } catch (err) {
    await stop();
    throw err;
  }
  return { pid: child.pid as number, child, stop };
}

function withoutNodeId(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const { RUNCAST_NODE_ID: _nodeId, ...rest } = env;
  return rest;
}

async function waitHealthy(url: string, child: ChildProcess, output: OutputTail): Promise<void> {
  const deadline = Date.now() + 90_000;
  for (;;) {
    if (exited(child) || child.pid === undefined) throw new Error(`the Runcast server exited during start-up (code ${child.exitCode}):\n${output}`);
    try {
      const res = await fetch(`${url}/healthz`);
      await res.arrayBuffer();
      if (res.status === 200) return;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) throw new Error(`the Runcast server did not become healthy within 90 s:\n${output}`);
    await sleep(100);
  }
}
