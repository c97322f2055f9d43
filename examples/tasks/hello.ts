import { task } from "@runcast/sdk";

/** Says hello after a short pause, so a subscriber sees QUEUED, EXECUTING, then COMPLETED. */
export const hello = task({
  id: "hello",
  retry: { maxAttempts: 3 },
  maxDuration: 60,
  run: async (payload: { name: string; delayMs?: number }, { signal }) => {
    await new Promise((resolve) => setTimeout(resolve, payload.delayMs ?? 500));
    signal.throwIfAborted();
    return { msg: `hi ${payload.name}` };
  },
});
