import { Command } from "commander";
import { runs, type RunListItem } from "@runcast/sdk";
import { collect, examples, withClient, withClientFlags, type ClientFlags } from "./client.ts";
import { parseDuration } from "../engine/duration.ts";
import { usageError } from "./errors.ts";
import { liveOutput } from "./live.ts";
import { runTable } from "./views.ts";
import { followRun, interruptible, parseStatuses, runExitCode, watchFeed } from "./watch.ts";

const MAX_LIST = 1000;
/** The largest page the server gives (GET /api/v1/runs page[size]). */
const PAGE_SIZE = 100;

interface ListFlags extends ClientFlags {
  status?: string[];
  tag?: string[];
  task?: string[];
  limit: string;
}

interface WatchFlags extends ClientFlags {
  status?: string[];
  tag?: string[];
  task?: string[];
  since?: string;
}

function parseLimit(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1 || n > MAX_LIST) throw usageError("invalid_limit", `--limit must be a whole number from 1 to ${MAX_LIST}, got ${JSON.stringify(value)}`);
  return n;
}

async function list(flags: ListFlags): Promise<void> {
  const statuses = parseStatuses(flags.status ?? []);
  const tags = flags.tag ?? [];
  const taskIds = flags.task ?? [];
  const limit = parseLimit(flags.limit);
  const json = !!flags.json;
  await withClient(flags, async () => {
    const found: RunListItem[] = [];
    const pages = runs.list({
      limit: Math.min(limit, PAGE_SIZE),
      ...(statuses.length ? { status: statuses } : {}),
      ...(tags.length ? { tag: tags } : {}),
      ...(taskIds.length ? { taskIdentifier: taskIds } : {}),
    });
    for await (const run of pages) {
      found.push(run);
      if (found.length >= limit) break;
    }
    if (json) {
      process.stdout.write(`${JSON.stringify(found, null, 2)}\n`);
      return;
    }
    const out = liveOutput(process.stdout);
    if (!found.length) out.print(out.colors.dim("no runs match"));
    else out.print(runTable(out.colors, found, Date.now()).join("\n"));
  });
}

async function watch(runId: string | undefined, flags: WatchFlags): Promise<void> {
  const tags = flags.tag ?? [];
  const taskIds = flags.task ?? [];
  const statuses = parseStatuses(flags.status ?? []);
  if (runId && (tags.length || statuses.length || taskIds.length || flags.since)) {
    throw usageError("run_and_filters", "runs watch takes a RUN_ID or filters (--tag, --status, --task, --since), not both");
  }
  if (flags.since !== undefined && !parseDuration(flags.since)) {
    throw usageError("invalid_since", `--since must be a duration such as 30m, 6h or 7d, got ${JSON.stringify(flags.since)}`);
  }
  const json = !!flags.json;
  const out = liveOutput(process.stdout, { colors: !json });
  await withClient(flags, async () => {
    // Asked first, so that a wrong key, a wrong id or a server that is not there fails at once (a feed retries).
    if (runId) await runs.retrieve(runId);
    else await runs.list({ limit: 1 });
    const stop = interruptible();
    try {
      if (runId) process.exitCode = runExitCode(await followRun(runId, out, { json, signal: stop.signal }));
      else await watchFeed(out, { tags, statuses, tasks: taskIds, since: flags.since, json, signal: stop.signal });
    } finally {
      stop.dispose();
    }
  });
}

export function runsCommand(): Command {
  const cmd = new Command("runs").description("list runs, or watch them live");
  cmd.addCommand(
    withClientFlags(
      new Command("list")
        .description("the environment's runs, newest first")
        .option("--status <status>", "only runs in this status (repeat, or comma-separate, for several)", collect)
        .option("--tag <tag>", "only runs with this tag (repeat: runs with any of them)", collect)
        .option("--task <id>", "only runs of this task (repeat for several)", collect)
        .option("--limit <n>", `at most this many runs (1 to ${MAX_LIST})`, "20"),
    )
      .addHelpText(
        "after",
        examples([
          ["the last 20 runs", "runcast runs list"],
          ["failed runs of a user", "runcast runs list --status FAILED,CRASHED --tag user_1"],
          ["ids of the last 100 runs of a task, for a script", "runcast runs list --task resize --limit 100 --json | jq -r '.[].id'"],
        ]),
      )
      .action(list),
  );
  cmd.addCommand(
    withClientFlags(
      new Command("watch")
        .description("runs live, redrawn in place in a terminal (a line per change when piped): one run until it finishes, or all runs (or those tagged) until Ctrl-C")
        .argument("[run-id]", "follow this run until it finishes; exit 0 if it COMPLETED, 1 otherwise")
        .option("--tag <tag>", "only runs with this tag (repeat: runs with all of them)", collect)
        .option("--status <status>", "only runs in this status (repeat, or comma-separate, for several)", collect)
        .option("--task <id>", "only runs of this task (repeat for several)", collect)
        .option("--since <duration>", "runs created within this long: 30m, 6h, 7d (up to 30d; default 24h)"),
    )
      .addHelpText(
        "after",
        examples([
          ["every run of the environment, live", "runcast runs watch"],
          ["a user's runs", "runcast runs watch --tag user_1"],
          ["one run until it finishes, then its exit code", "runcast runs watch run_cm3x9a2b0000"],
          ["every change as a JSON line, for a script", "runcast runs watch --json | jq -c '{id, status}'"],
        ]),
      )
      .action(watch),
  );
  return cmd;
}
