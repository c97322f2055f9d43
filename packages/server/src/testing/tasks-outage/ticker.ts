import { metadata, task } from "@runcast/sdk";

/** Ticks `ticks` times, `everyMs` apart, writing its progress each time: a run that is busy while the database goes away. */
export const ticker = task({
  id: "ticker",
  retry: { maxAttempts: 3 },
  run: async (payload: { ticks: number; everyMs: number }) => {
    for (let i = 1; i <= payload.ticks; i++) {
      await new Promise((resolve) => setTimeout(resolve, payload.everyMs));
      metadata.set("tick", i);
    }
    return { ticks: payload.ticks };
  },
});
