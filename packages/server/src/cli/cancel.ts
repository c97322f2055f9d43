import { Command } from "commander";
import { runs } from "@runcast/sdk";
import { examples, withClient, withClientFlags, type ClientFlags } from "./client.ts";
import { EXIT } from "./errors.ts";
import { liveOutput } from "./live.ts";
import { paintStatus } from "./render.ts";

/**
 * Cancels a run (and its children still going); a running attempt's abort signal fires. A run that had
 * already finished stays as it finished: that is reported, with exit code 1, since nothing was canceled.
 */
async function cancel(runId: string, flags: ClientFlags): Promise<void> {
  const json = !!flags.json;
  await withClient(flags, async () => {
    await runs.cancel(runId);
    const run = await runs.retrieve(runId);
    const canceled = run.status === "CANCELED";
    if (!canceled) process.exitCode = EXIT.failed;
    if (json) {
      process.stdout.write(`${JSON.stringify({ id: run.id, taskIdentifier: run.taskIdentifier, status: run.status, canceled })}\n`);
      return;
    }
    const out = liveOutput(process.stdout);
    const c = out.colors;
    if (canceled) out.print(`${c.green("✔")} canceled ${c.bold(run.taskIdentifier)} ${run.id}`);
    else out.print(`${c.yellow("!")} ${run.id} had already finished (${paintStatus(c, run.status)}): nothing to cancel`);
  });
}

export function cancelCommand(): Command {
  return withClientFlags(
    new Command("cancel")
      .description("cancel a run that has not finished (its children too); exit 1 if it had already finished")
      .argument("<run-id>", "the run to cancel"),
  )
    .addHelpText("after", examples([["cancel a run", "runcast cancel run_cm3x9a2b0000"]]))
    .action(cancel);
}
