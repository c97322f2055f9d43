import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Command } from "commander";
import { Worker } from "@runcast/sdk/worker";
import { configFromEnv } from "./config.ts";
import { createLogger, loggerOptionsFromEnv } from "./log.ts";
import { startNode, type RunningNode } from "./node.ts";

const BIN = fileURLToPath(new URL("../bin/runcast.js", import.meta.url));

/** Runs `stop` once on SIGINT/SIGTERM, then exits with its code. */
function onShutdown(stop: () => Promise<number>): void {
  let stopping = false;
  const handler = () => {
    if (stopping) return;
    stopping = true;
    stop().then(
      (code) => process.exit(code),
      (err: unknown) => {
        process.stderr.write(`shutdown failed: ${err instanceof Error ? err.message : String(err)}\n`);
        process.exit(1);
      },
    );
  };
  process.on("SIGINT", handler);
  process.on("SIGTERM", handler);
}

/**
 * What `runcast dev` and `runcast start` print once they are up. Only `dev` shows the secret key (a local,
 * throw-away environment); `start`, the production command, says where the key comes from, never the key.
 */
function banner(node: RunningNode, opts: { tasksDir?: string; dataDir: string; showKey: boolean; keyFromEnv: boolean }): string {
  const here = (p: string) => relative(process.cwd(), p) || ".";
  const keyFile = here(resolve(opts.dataDir, "secret-key"));
  const keyLine = opts.showKey ? node.secretKey : opts.keyFromEnv ? "from RUNCAST_SECRET_KEY (not shown)" : `in ${keyFile} (not shown)`;
  const lines = [
    "",
    "  Runcast is running",
    "",
    `  API            ${node.url}`,
    `  Secret key     ${keyLine}`,
    `  Database       ${node.embedded ? `embedded PostgreSQL (URL in ${here(resolve(opts.dataDir, "postgres.url"))})` : "DATABASE_URL"}`,
  ];
  if (opts.tasksDir) lines.push(`  Tasks          ${here(opts.tasksDir)}`);
  const key = opts.showKey ? node.secretKey : "$RUNCAST_SECRET_KEY";
  lines.push(
    "",
    "  Trigger a run:",
    `    curl -X POST ${node.url}/api/v1/tasks/hello/trigger \\`,
    `      -H "Authorization: Bearer ${key}" -H "Content-Type: application/json" \\`,
    `      -d '{"payload":{"name":"world"}}'`,
    "",
    "  Watch it live from code:",
    `    RUNCAST_SECRET_KEY=${key} npx tsx examples/watch.ts`,
    "",
  );
  return lines.join("\n");
}

/** Worker restarts tolerated within a minute before `runcast dev` gives up on a crashing worker. */
const MAX_WORKER_RESTARTS_PER_MINUTE = 5;

function spawnDevWorker(tasksDir: string, env: NodeJS.ProcessEnv): ChildProcess {
  return spawn(process.execPath, [BIN, "worker", "--tasks", tasksDir], { stdio: "inherit", env });
}

async function stopChild(child: ChildProcess, ms: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), ms);
  await exited;
  clearTimeout(timer);
}

const program = new Command("runcast")
  .description("Runcast: background runs that people watch live, on PostgreSQL")
  .showHelpAfterError();

program
  .command("dev")
  .description("server + embedded PostgreSQL (unless DATABASE_URL) + a worker running the tasks in DIR")
  .option("--tasks <dir>", "task folder", process.env.RUNCAST_TASKS ?? "examples/tasks")
  .option("--port <n>", "HTTP port (PORT)")
  .option("--data-dir <dir>", "embedded database and local state (RUNCAST_DATA_DIR)")
  .action(async (opts: { tasks: string; port?: string; dataDir?: string }) => {
    // The dev terminal shows the banner and the runs: the server's own lines from warnings up, unless LOG_LEVEL says otherwise.
    const log = createLogger(loggerOptionsFromEnv(process.env, "warn"));
    const config = configFromEnv(opts);
    const tasksDir = resolve(opts.tasks);
    if (!existsSync(tasksDir)) throw new Error(`task folder ${tasksDir} does not exist`);
    const node = await startNode(config, log);
    if (node.secretKeyRevoked) {
      await node.close();
      throw new Error("RUNCAST_SECRET_KEY was revoked and stays revoked: unset it (a dev key is then found or made) or set a current key");
    }
    const env = { ...process.env, RUNCAST_API_URL: node.url, RUNCAST_SECRET_KEY: node.secretKey };
    let stopping = false;
    let child = spawnDevWorker(tasksDir, env);
    const recentCrashes: number[] = [];
    // A worker that dies (a task crashed the process) is started again, unless it keeps dying.
    const supervise = (c: ChildProcess) =>
      c.on("exit", (code, signal) => {
        if (stopping) return;
        const now = Date.now();
        recentCrashes.push(now);
        while (recentCrashes.length && (recentCrashes[0] ?? now) < now - 60_000) recentCrashes.shift();
        if (recentCrashes.length > MAX_WORKER_RESTARTS_PER_MINUTE) {
          process.stderr.write(`  the worker keeps exiting (${recentCrashes.length} times in a minute); not restarting it. Fix the tasks, then restart runcast dev.\n`);
          return;
        }
        const delay = Math.min(30_000, 500 * 2 ** (recentCrashes.length - 1));
        process.stderr.write(`  worker exited (${signal ?? `code ${code}`}); restarting it in ${delay} ms\n`);
        setTimeout(() => {
          if (stopping) return;
          child = spawnDevWorker(tasksDir, env);
          supervise(child);
        }, delay).unref();
      });
    supervise(child);
    // The dev banner shows a dev key (a local, throw-away environment), never another environment's.
    const showKey = node.secretKey.startsWith("tr_dev_");
    process.stdout.write(banner(node, { tasksDir, dataDir: config.dataDir, showKey, keyFromEnv: !!config.secretKey }) + "\n");
    onShutdown(async () => {
      stopping = true;
      process.stdout.write("\n  stopping…\n");
      await stopChild(child, 10_000);
      await node.close();
      return 0;
    });
  });

program
  .command("start")
  .description("server only (production); uses DATABASE_URL or the embedded PostgreSQL")
  .option("--port <n>", "HTTP port (PORT)")
  .option("--data-dir <dir>", "embedded database and local state (RUNCAST_DATA_DIR)")
  .action(async (opts: { port?: string; dataDir?: string }) => {
    const log = createLogger(loggerOptionsFromEnv());
    const config = configFromEnv(opts);
    const node = await startNode(config, log);
    process.stdout.write(banner(node, { dataDir: config.dataDir, showKey: false, keyFromEnv: !!config.secretKey }) + "\n");
    onShutdown(async () => {
      await node.close();
      return 0;
    });
  });

program
  .command("worker")
  .description("worker only: runs the tasks in DIR for the server at RUNCAST_API_URL with RUNCAST_SECRET_KEY")
  .option("--tasks <dir>", "task folder", process.env.RUNCAST_TASKS ?? "examples/tasks")
  .option("--concurrency <n>", "runs executed at once (RUNCAST_WORKER_CONCURRENCY)", process.env.RUNCAST_WORKER_CONCURRENCY ?? "10")
  .action(async (opts: { tasks: string; concurrency: string }) => {
    const log = createLogger({ ...loggerOptionsFromEnv(), base: { component: "worker" } });
    const concurrency = Number(opts.concurrency);
    if (!Number.isInteger(concurrency) || concurrency <= 0) throw new Error("--concurrency must be a positive integer");
    // The worker runtime reports only what went wrong (a failed request it retries, a hook that threw).
    const worker = new Worker({ tasksDir: resolve(opts.tasks), concurrency, log: (m) => log("warn", m) });
    const ids = await worker.start();
    process.stdout.write(`  worker ready: ${ids.length ? ids.join(", ") : "no tasks found"}\n`);
    onShutdown(async () => {
      await worker.stop();
      return 0;
    });
    // A task's error that escapes it (thrown from a timer, a rejection nobody awaits) would kill the
    // process silently; report the runs it held as crashed first, then exit non-zero.
    let crashing = false;
    const onFatal = (err: unknown) => {
      log("error", "uncaught error in a task; the worker reports its runs as crashed and exits", { error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
      if (crashing) return;
      crashing = true;
      const timer = setTimeout(() => process.exit(1), 10_000);
      void worker.crash(err).finally(() => {
        clearTimeout(timer);
        process.exit(1);
      });
    };
    process.on("uncaughtException", onFatal);
    process.on("unhandledRejection", onFatal);
    await worker.done();
  });

program.parseAsync(process.argv).catch((err: unknown) => {
  process.stderr.write(`runcast: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
