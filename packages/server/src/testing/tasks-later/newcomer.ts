import { task } from "@runcast/sdk";

/** A task no worker has registered when the tests trigger it: its worker connects later. */
export const newcomer = task({
  id: "newcomer",
  run: async (payload: { n: number }) => ({ doubled: payload.n * 2 }),
});
