import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { Command } from "commander";
import { runs } from "@runcast/sdk";
import { devBanner, devTry } from "./banner.ts";
import { examples } from "./client.ts";
import { DevWorkers } from "./dev-workers.ts";
import { CliError, EXIT, usageError } from "./errors.ts";
import { liveOutput, type LiveOutput } from "./live.ts";
import { onShutdown, parsePort } from "./serve.ts";
import { isFinal, RunBoard, RunLog } from "./views.ts";

/** Runs drawn live under the log (the rest are counted in a "… more" line). */
const LIVE_ROWS = 8;

/**
 * The session's live log: one line per status a run takes (with its duration, and its progress bar when its
 * metadata has a `progress` number) and, in a terminal, the runs still going drawn under it with their
 * progress, redrawn in place. It reads the environment's run feed from this node, as any client would;
 * runs that were over before the session started are not news and are not printed.
 */
async function sessionLog(node: { url: string; secretKey: string }, out: LiveOutput, signal: AbortSignal): Promise<void> {
  const c = out.colors;
  const log = new RunLog(c, { progressLines: !out.tty });
  const going = new RunBoard();
  let live = false;
  const frame = () => (going.runs.size ? going.render(c, { now: Date.now(), maxRows: Math.min(LIVE_ROWS, out.rows()), indent: "  " }) : []);
  // Durations of running runs tick while the view is up.
  const tick = out.tty
    ? setInterval(() => {
        if (going.runs.size) out.draw(frame);
      }, 1000)
    : undefined;
  try {
    const feed = runs.subscribeToRuns({
      baseURL: node.url,
      accessToken: node.secretKey,
      signal,
      skipColumns: ["payload", "output"],
      onUpToDate: () => {
        live = true;
      },
      onReset: () => {
        // The feed is sent whole again: what was already printed is not printed twice.
        live = false;
        going.clear();
      },
      onRemove: (id) => going.remove(id),
    });
    for await (const run of feed) {
      if (!live) continue;
      if (isFinal(run)) going.remove(run.id);
      else going.update(run);
      const line = log.line(run);
      if (line) out.print(`  ${line}`);
      out.draw(frame);
    }
  } catch (err) {
    if (!signal.aborted) out.print(`  the live run log stopped: ${err instanceof Error ? err.message : String(err)} (the dashboard still shows every run)`);
  } finally {
    clearInterval(tick);
  }
}

async function dev(opts: { tasks: string; port?: string; dataDir?: string }): Promise<void> {
  const port = parsePort(opts.port);
  const { createLogger, loggerOptionsFromEnv } = await import("../log.ts");
  const out = liveOutput(process.stdout);
  // The dev terminal shows the banner and the runs: the server's own lines from warnings up, unless LOG_LEVEL says
  // otherwise. On a terminal they are printed above the live run view, as the worker's lines are, not into it.
  const log = createLogger({ ...loggerOptionsFromEnv(process.env, "warn"), ...(out.tty && process.stderr.isTTY ? { lines: (line: string) => out.print(line) } : {}) });
  const tasksDir = resolve(opts.tasks);
  if (!existsSync(tasksDir)) throw usageError("tasks_not_found", `--tasks: the folder ${tasksDir} does not exist`);
  const [{ configFromEnv }, { startNode }] = await Promise.all([import("../config.ts"), import("../node.ts")]);
  const config = configFromEnv({ ...(port ? { port } : {}), ...(opts.dataDir ? { dataDir: opts.dataDir } : {}) });
  const node = await startNode(config, log);
  if (node.secretKeyRevoked) {
    await node.close();
    throw new CliError(EXIT.auth, "secret_key_revoked", "RUNCAST_SECRET_KEY was revoked and stays revoked: unset it (a dev key is then found or made) or set a current key");
  }
  out.print(devBanner(out.colors, node, { tasksDir, dataDir: config.dataDir }));
  let tried = false;
  const stopLog = new AbortController();
  const logDone = sessionLog(node, out, stopLog.signal);
  const workers = new DevWorkers({
    tasksDir,
    env: { ...process.env, RUNCAST_API_URL: node.url, RUNCAST_SECRET_KEY: node.secretKey },
    print: (line) => out.print(line),
    onReady: (tasks) => {
      if (tried) return;
      tried = true;
      out.print(devTry(out.colors, node, { dataDir: config.dataDir, keyFromEnv: !!config.secretKey, tasks }));
    },
  });
  onShutdown(async () => {
    out.print(`\n  stopping…`);
    await workers.stop();
    stopLog.abort();
    await logDone;
    out.done();
    await node.close();
    return 0;
  });
  await workers.start();
}

export function devCommand(): Command {
  return new Command("dev")
    .description("server + embedded PostgreSQL (unless DATABASE_URL) + a worker running the tasks in DIR, with a live log of runs")
    .option("--tasks <dir>", "task folder; its files are reloaded when they change (RUNCAST_TASKS)", process.env.RUNCAST_TASKS ?? "examples/tasks")
    .option("--port <n>", "HTTP port (PORT, default 3030)")
    .option("--data-dir <dir>", "embedded database and local state (RUNCAST_DATA_DIR, default .runcast)")
    .addHelpText(
      "after",
      examples([
        ["the example tasks on http://localhost:3030", "runcast dev"],
        ["your own tasks, on another port and data folder", "runcast dev --tasks ./tasks --port 4000 --data-dir .runcast-4000"],
        ["with your PostgreSQL instead of the embedded one", "DATABASE_URL=postgres://localhost/app runcast dev --tasks ./tasks"],
      ]),
    )
    .action(dev);
}
