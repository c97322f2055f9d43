import { task } from "@runcast/sdk";

/** Does nothing: end-to-end run throughput measures Runcast, not the task. */
export const noop = task({ id: "noop", run: async (payload: { i: number }) => ({ i: payload.i }) });
