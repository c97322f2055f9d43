import { resolve } from "node:path";
import { Command, Option } from "commander";
import { startBanner } from "./banner.ts";
import { examples } from "./client.ts";
import { usageError } from "./errors.ts";
import { isDevMessage, type WorkerMessage } from "./handoff.ts";

/** Runs `stop` once on SIGINT/SIGTERM (or SIGHUP: the terminal closed), then exits with its code. */
export function onShutdown(stop: () => Promise<number>): void {
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
  process.on("SIGHUP", handler);
}

/** --port as a number, or a usage error naming the flag. */
export function parsePort(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1 || n > 65_535) throw usageError("invalid_port", `--port must be a port number (1 to 65535), got ${JSON.stringify(value)}`);
  return value;
}

export function startCommand(): Command {
  return new Command("start")
    .description("server only (production); uses DATABASE_URL or the embedded PostgreSQL")
    .option("--port <n>", "HTTP port (PORT, default 3030)")
    .option("--data-dir <dir>", "embedded database and local state (RUNCAST_DATA_DIR, default .runcast)")
    .addHelpText(
      "after",
      examples([
        ["a node over your PostgreSQL, with the key workers and clients use", "DATABASE_URL=postgres://… RUNCAST_SECRET_KEY=tr_prod_… runcast start --port 8080"],
      ]),
    )
    .action(async (opts: { port?: string; dataDir?: string }) => {
      const port = parsePort(opts.port);
      const [{ configFromEnv }, { createLogger, loggerOptionsFromEnv }, { startNode }] = await Promise.all([import("../config.ts"), import("../log.ts"), import("../node.ts")]);
      const log = createLogger(loggerOptionsFromEnv());
      const config = configFromEnv({ ...(port ? { port } : {}), ...(opts.dataDir ? { dataDir: opts.dataDir } : {}) });
      const node = await startNode(config, log);
      process.stdout.write(startBanner(node, { dataDir: config.dataDir, keyFromEnv: !!config.secretKey }) + "\n");
      onShutdown(async () => {
        await node.close();
        return 0;
      });
    });
}

export function workerCommand(): Command {
  return new Command("worker")
    .description("worker only: runs the tasks in DIR for the server at RUNCAST_API_URL with RUNCAST_SECRET_KEY")
    .option("--tasks <dir>", "task folder (RUNCAST_TASKS)", process.env.RUNCAST_TASKS ?? "examples/tasks")
    .option("--concurrency <n>", "runs executed at once (RUNCAST_WORKER_CONCURRENCY)", process.env.RUNCAST_WORKER_CONCURRENCY ?? "10")
    // runcast dev's side of a reload (handoff.ts): not for people.
    .addOption(new Option("--handoff").hideHelp())
    .addHelpText("after", examples([["a worker for a remote server", "RUNCAST_API_URL=https://runcast.example.com RUNCAST_SECRET_KEY=tr_prod_… runcast worker --tasks ./tasks"]]))
    .action(async (opts: { tasks: string; concurrency: string; handoff?: boolean }) => {
      const concurrency = Number(opts.concurrency);
      if (!Number.isInteger(concurrency) || concurrency <= 0) throw usageError("invalid_concurrency", `--concurrency must be a positive integer, got ${JSON.stringify(opts.concurrency)}`);
      const tasksDir = resolve(opts.tasks);
      const { createLogger, loggerOptionsFromEnv } = await import("../log.ts");
      const log = createLogger({ ...loggerOptionsFromEnv(), base: { component: "worker" } });
      const { Worker, loadTasks } = await import("@runcast/sdk/worker");
      const send = (m: WorkerMessage) => process.send?.(m);
      if (opts.handoff) {
        if (!process.send) throw usageError("handoff_without_dev", "--handoff is runcast dev's own flag");
        // Load first: task files that do not load leave the worker before it (still running) any run.
        try {
          send({ type: "loaded", tasks: [...(await loadTasks(tasksDir)).keys()] });
        } catch (err) {
          const message = err instanceof Error ? err.message : String(err);
          log("error", "the task files do not load", { error: err instanceof Error ? (err.stack ?? message) : message });
          // Exits once the message is out (a half-loaded task module may hold timers that keep the process up).
          const failed: WorkerMessage = { type: "load-failed", message };
          process.send(failed, () => process.exit(1));
          return;
        }
        const go = await new Promise<boolean>((resolveGo) => {
          process.on("message", (m) => isDevMessage(m) && m.type === "go" && resolveGo(true));
          process.once("disconnect", () => resolveGo(false));
        });
        if (!go) return;
      }
      // The worker runtime reports only what went wrong (a failed request it retries, a hook that threw).
      const worker = new Worker({ tasksDir, concurrency, log: (m) => log("warn", m) });
      const ids = await worker.start();
      if (opts.handoff) {
        send({ type: "ready", tasks: ids });
        process.on("message", (m) => {
          if (!isDevMessage(m) || m.type !== "drain") return;
          void worker.drain(() => send({ type: "draining", running: worker.running })).then(() => process.exit(0), onFatal);
        });
        // runcast dev went away without a word: stop as on SIGTERM.
        process.once("disconnect", () => void worker.stop().then(() => process.exit(0), onFatal));
      } else {
        process.stdout.write(`  worker ready: ${ids.length ? ids.join(", ") : "no tasks found"}\n`);
      }
      onShutdown(async () => {
        await worker.stop();
        return 0;
      });
      // A task's error that escapes it (thrown from a timer, a rejection nobody awaits) would kill the
      // process silently; report the runs it held as crashed first, then exit non-zero.
      let crashing = false;
      function onFatal(err: unknown) {
        log("error", "uncaught error in a task; the worker reports its runs as crashed and exits", { error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
        if (crashing) return;
        crashing = true;
        const timer = setTimeout(() => process.exit(1), 10_000);
        void worker.crash(err).finally(() => {
          clearTimeout(timer);
          process.exit(1);
        });
      }
      process.on("uncaughtException", onFatal);
      process.on("unhandledRejection", onFatal);
      await worker.done();
    });
}
