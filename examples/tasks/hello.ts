import { metadata, task } from "@runcast/sdk";

/** Says hello in a few steps, reporting progress, so a subscriber sees it move live. */
export const hello = task({
  id: "hello",
  retry: { maxAttempts: 3 },
  maxDuration: 60,
  run: async (payload: { name: string; delayMs?: number }, { signal }) => {
    const steps = 4;
    for (let step = 1; step <= steps; step++) {
      await new Promise((resolve) => setTimeout(resolve, (payload.delayMs ?? 500) / steps));
      signal.throwIfAborted();
      metadata.set("progress", step / steps);
    }
    return { msg: `hi ${payload.name}` };
  },
});
