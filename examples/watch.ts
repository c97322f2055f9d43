// Triggers the hello task and prints every state of the run as it happens.
// Run with the dev server up: RUNCAST_SECRET_KEY=tr_dev_… npx tsx examples/watch.ts
import { runs, tasks } from "@runcast/sdk";
import type { hello } from "./tasks/hello.ts";

const handle = await tasks.trigger<typeof hello>("hello", { name: "x" });
for await (const run of runs.subscribeToRun<typeof hello>(handle.id)) {
  const progress = typeof run.metadata?.progress === "number" ? ` ${Math.round(run.metadata.progress * 100)}%` : "";
  console.log(run.status + progress, run.output?.msg ?? "");
}
