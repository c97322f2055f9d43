import { task } from "@runcast/sdk";

/** Echoes its payload after `delayMs`. */
export const echo = task({
  id: "echo",
  run: async (payload: { value: string; delayMs?: number }, { signal }) => {
    await new Promise((resolve) => setTimeout(resolve, payload.delayMs ?? 50));
    signal.throwIfAborted();
    return { echoed: payload.value };
  },
});

/** Runs until aborted, or for `ms`: stands in for long work. */
export const sleeper = task({
  id: "sleeper",
  run: async (payload: { ms: number }, { signal }) => {
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(resolve, payload.ms);
      signal.addEventListener("abort", () => {
        clearTimeout(t);
        reject(signal.reason);
      });
    });
    return { slept: payload.ms };
  },
});

/** Always throws. */
export const failing = task({
  id: "failing",
  run: async (payload: { message: string }) => {
    throw new TypeError(payload.message);
  },
});
