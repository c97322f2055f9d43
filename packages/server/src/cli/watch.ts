import { runs, RUN_STATUSES, type RealtimeRun, type RunStatus } from "@runcast/sdk";
import { EXIT, usageError, type ExitCode } from "./errors.ts";
import type { LiveOutput } from "./live.ts";
import { isFinal, RunBoard, RunLog } from "./views.ts";

/** Runs a feed view keeps (newest first): a view left open for days stays bounded. */
const MAX_BOARD_RUNS = 1000;

/**
 * An AbortSignal for Ctrl-C (and SIGTERM): the first one ends the view cleanly; a second one exits at once.
 * `dispose()` gives the signals back.
 */
export function interruptible(): { signal: AbortSignal; interrupted: () => boolean; dispose: () => void } {
  const controller = new AbortController();
  const onSignal = () => {
    if (controller.signal.aborted) process.exit(EXIT.interrupted);
    controller.abort();
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  return {
    signal: controller.signal,
    interrupted: () => controller.signal.aborted,
    dispose: () => {
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
    },
  };
}

/** `--status` values (repeatable, comma-separated, any case) as run statuses, or a usage error naming the flag. */
export function parseStatuses(values: string[]): RunStatus[] {
  const out: RunStatus[] = [];
  for (const v of values.flatMap((s) => s.split(","))) {
    const s = v.trim().toUpperCase();
    if (!s) continue;
    if (!(RUN_STATUSES as readonly string[]).includes(s)) {
      throw usageError("invalid_status", `--status: ${JSON.stringify(v)} is not a run status; use one of ${RUN_STATUSES.join(", ")}`);
    }
    out.push(s as RunStatus);
  }
  return out;
}

/** A JSON value on one line, cut to `max` characters for people (scripts use --json). */
function compactJson(value: unknown, max = 2000): string {
  const text = JSON.stringify(value) ?? "undefined";
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** The exit code a watched run ends with: 0 once COMPLETED, 1 for any other end, 130 when Ctrl-C came first. */
export function runExitCode(run: RealtimeRun | undefined): ExitCode {
  if (!run || !isFinal(run)) return EXIT.interrupted;
  return run.status === "COMPLETED" ? EXIT.ok : EXIT.failed;
}

/**
 * Follows one run until it finishes: in a terminal a line redrawn in place (status, duration, progress);
 * piped, a line per change; with --json, each state as a JSON line. Then its output or error.
 * Resolves with the last state seen (not final when stopped by `signal`).
 */
export async function followRun(id: string, out: LiveOutput, opts: { json: boolean; signal: AbortSignal }): Promise<RealtimeRun | undefined> {
  const c = out.colors;
  const board = new RunBoard();
  const log = new RunLog(c, { progressLines: true });
  const frame = () => board.render(c, { now: Date.now(), maxRows: 1, indent: "  " });
  const tick = out.tty && !opts.json ? setInterval(() => out.draw(frame), 1000) : undefined;
  let last: RealtimeRun | undefined;
  try {
    for await (const run of runs.subscribeToRun(id, { signal: opts.signal, skipColumns: ["payload"] })) {
      last = run;
      if (opts.json) process.stdout.write(`${JSON.stringify(run)}\n`);
      else if (out.tty) {
        board.update(run);
        out.draw(frame);
      } else {
        const line = log.line(run);
        if (line) out.print(line);
      }
    }
  } finally {
    clearInterval(tick);
    out.done();
  }
  if (!opts.json && last && isFinal(last)) {
    if (last.status === "COMPLETED" && last.output !== undefined) out.print(`  ${c.dim("output")}  ${compactJson(last.output)}`);
    if (last.status !== "COMPLETED" && last.error) out.print(`  ${c.dim("error")}   ${c.red(last.error.name ? `${last.error.name}: ${last.error.message}` : last.error.message)}`);
  }
  return last;
}

export interface FeedOptions {
  tags: string[];
  statuses: RunStatus[];
  tasks: string[];
  since: string | undefined;
  json: boolean;
  signal: AbortSignal;
}

/**
 * The environment's runs (or those carrying all of `tags`) live until `signal`: in a terminal a table redrawn
 * in place, newest first; piped, a line per change; with --json, each state as a JSON line.
 */
export async function watchFeed(out: LiveOutput, opts: FeedOptions): Promise<void> {
  const c = out.colors;
  const board = new RunBoard();
  const log = new RunLog(c, { progressLines: true });
  let live = false;
  const what = [
    opts.tags.length ? `tagged ${opts.tags.join(" + ")}` : "",
    opts.statuses.length ? `in ${opts.statuses.join(", ")}` : "",
    opts.tasks.length ? `of ${opts.tasks.join(", ")}` : "",
  ].filter(Boolean);
  const frame = () => [
    `${c.bold(`Runs${what.length ? ` ${what.join(", ")}` : ""}`)}  ${c.dim(`${board.runs.size} · live · Ctrl-C to stop`)}`,
    ...(board.runs.size ? board.render(c, { now: Date.now(), maxRows: out.rows() - 3 }) : [c.dim("no runs yet: they show up here as they are triggered")]),
  ];
  const tick = out.tty && !opts.json
    ? setInterval(() => {
        if (live && board.active().length) out.draw(frame);
      }, 1000)
    : undefined;
  const options = {
    signal: opts.signal,
    skipColumns: ["payload" as const, "output" as const],
    ...(opts.since ? { createdAt: opts.since } : {}),
    ...(opts.statuses.length ? { status: opts.statuses } : {}),
    ...(opts.tasks.length ? { taskIdentifier: opts.tasks } : {}),
    onUpToDate: () => {
      live = true;
      if (out.tty && !opts.json) out.draw(frame);
    },
    onReset: () => board.clear(),
    onRemove: (id: string) => board.remove(id),
  };
  try {
    const feed = opts.tags.length ? runs.subscribeToRunsWithTag(opts.tags, options) : runs.subscribeToRuns(options);
    for await (const run of feed) {
      if (opts.json) process.stdout.write(`${JSON.stringify(run)}\n`);
      else if (out.tty) {
        board.update(run);
        board.trim(MAX_BOARD_RUNS);
        if (live) out.draw(frame);
      } else {
        const line = log.line(run);
        if (line) out.print(line);
      }
    }
  } finally {
    clearInterval(tick);
    out.done();
  }
}
