import { task } from "@runcast/sdk";

/** Throws from a timer: no try/catch in the task can catch it, the worker process goes down. */
export const exploder = task({
  id: "exploder",
  run: async (_: Record<string, never>, { signal }) => {
    setTimeout(() => {
      throw new Error("boom from a timer");
    }, 50);
    await new Promise((_resolve, reject) => signal.addEventListener("abort", () => reject(signal.reason)));
  },
});
