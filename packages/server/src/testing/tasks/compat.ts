import { metadata, task } from "@runcast/sdk";

/** Reports `progress` (0 to 1) in metadata, one flushed step every `stepMs`, then returns how many steps it took. */
export const stepper = task({
  id: "stepper",
  run: async (payload: { steps: number; stepMs?: number }) => {
    for (let i = 1; i <= payload.steps; i++) {
      metadata.set("progress", i / payload.steps);
      await metadata.flush();
      await new Promise((resolve) => setTimeout(resolve, payload.stepMs ?? 30));
    }
    return { steps: payload.steps };
  },
});

/** Returns what it was given, with the type of a Date field: superjson payloads from the official SDK arrive revived. */
export const inspect = task({
  id: "inspect",
  run: async (payload: { at?: Date; blob?: string; value?: string }) => ({
    atIsDate: payload.at instanceof Date,
    at: payload.at instanceof Date ? payload.at.toISOString() : null,
    blobLength: payload.blob?.length ?? 0,
    value: payload.value ?? null,
  }),
});
