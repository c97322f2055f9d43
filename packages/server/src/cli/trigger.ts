import { Command } from "commander";
import { tasks } from "@runcast/sdk";
import { callApi, collect, examples, withClient, withClientFlags, type Client, type ClientFlags } from "./client.ts";
import { CliError, EXIT, usageError } from "./errors.ts";
import { liveOutput } from "./live.ts";
import { followRun, interruptible, runExitCode } from "./watch.ts";

interface TriggerFlags extends ClientFlags {
  payload?: string;
  tag?: string[];
  watch?: boolean;
  force?: boolean;
}

interface TaskInfo {
  id: string;
  connected: boolean;
}

/** --payload as JSON, or a usage error naming the flag and where the JSON breaks. */
export function parsePayload(text: string | undefined): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw usageError("invalid_payload", `--payload is not valid JSON (${err instanceof Error ? err.message : String(err)}); quote it for the shell: --payload '{"name":"world"}'`);
  }
}

/**
 * A task no worker ever registered would get a run that waits in WAITING_FOR_DEPLOY: most likely a typo,
 * so it is refused unless --force. A registered task with no worker connected right now is only a note.
 */
async function checkTask(client: Client, taskId: string, force: boolean, note: (text: string) => void): Promise<void> {
  if (force) return;
  const { data } = await callApi<{ data: TaskInfo[] }>(client, "GET", "/api/v1/tasks");
  const known = data.find((t) => t.id === taskId);
  if (!known) {
    const list = data.length ? `known tasks: ${data.map((t) => t.id).join(", ")}` : "no worker has registered any task yet";
    throw new CliError(
      EXIT.failed,
      "task_not_found",
      `no task "${taskId}" in this environment (${list}). Check the id, or start a worker with it; --force triggers it anyway (the run waits in WAITING_FOR_DEPLOY until a worker runs it)`,
    );
  }
  if (!known.connected) note(`note: no worker runs "${taskId}" right now; the run waits in WAITING_FOR_DEPLOY until one connects`);
}

async function trigger(taskId: string, flags: TriggerFlags): Promise<void> {
  const payload = parsePayload(flags.payload);
  const tags = flags.tag ?? [];
  if (tags.length > 10) throw usageError("too_many_tags", `--tag: at most 10 tags, got ${tags.length}`);
  const json = !!flags.json;
  const out = liveOutput(process.stdout, { colors: !json });
  const c = out.colors;
  await withClient(flags, async (client) => {
    await checkTask(client, taskId, !!flags.force, (text) => process.stderr.write(`${text}\n`));
    const handle = await tasks.trigger(taskId, payload, tags.length ? { tags } : undefined);
    if (json) process.stdout.write(`${JSON.stringify({ id: handle.id, taskIdentifier: taskId, isCached: handle.isCached, publicAccessToken: handle.publicAccessToken })}\n`);
    else out.print(`${c.green("✔")} triggered ${c.bold(taskId)}: ${handle.id}${handle.isCached ? c.dim(" (an earlier run, by its idempotency key)") : ""}`);
    if (!flags.watch) {
      if (!json) out.print(c.dim(`  follow it: runcast runs watch ${handle.id}`));
      return;
    }
    const stop = interruptible();
    try {
      const last = await followRun(handle.id, out, { json, signal: stop.signal });
      process.exitCode = runExitCode(last);
    } finally {
      stop.dispose();
    }
  });
}

export function triggerCommand(): Command {
  return withClientFlags(
    new Command("trigger")
      .description("trigger a run of a task; with --watch, follow it until it finishes")
      .argument("<task>", "the task id")
      .option("--payload <json>", "the run's payload, as JSON")
      .option("--tag <tag>", "a tag for the run (repeat for more, up to 10)", collect)
      .option("--watch", "follow the run live until it finishes; exit 0 if it COMPLETED, 1 otherwise")
      .option("--force", "trigger even when no worker ever registered the task (the run waits in WAITING_FOR_DEPLOY)"),
  )
    .addHelpText(
      "after",
      examples([
        ["trigger hello and follow it until it finishes", `runcast trigger hello --payload '{"name":"world"}' --watch`],
        ["with tags, from a script: the run id from JSON", `runcast trigger resize --payload '{"url":"a.png"}' --tag user_1 --tag images --json | jq -r .id`],
      ]),
    )
    .action(trigger);
}
