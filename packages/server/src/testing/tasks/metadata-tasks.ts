import { metadata, tags, task } from "@runcast/sdk";

/**
 * Reports progress through metadata and tags. It first marks itself `stage: "ready"` and waits until
 * `go: true` is written from outside (metadata.updateRun), so a test's subscriber is live before
 * the steps start and can see every one of them.
 */
export const metadataProgress = task({
  id: "metadata-progress",
  run: async (payload: { steps: number }, { signal }) => {
    // Metadata given at trigger time is visible at once.
    const sawInitial = metadata.get("stage") === "queued";
    metadata.set("stage", "ready").set("sawInitial", sawInitial);
    await metadata.flush();
    while (metadata.get("go") !== true) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      signal.throwIfAborted();
      await metadata.refresh();
    }
    metadata.set("wrapped", "a").append("wrapped", "b");
    for (let i = 1; i <= payload.steps; i++) {
      metadata.set("progress", i / payload.steps).increment("count").append("log", `step ${i}`);
      if (i === 2) await tags.add(["progress_started", "meta_test"]);
      await metadata.flush();
    }
    metadata.remove("log", "step 1");
    metadata.decrement("count", 3).increment("count");
    // This run has no parent: parent and root writes land on the run itself.
    metadata.parent.set("parentNote", "from the child");
    metadata.root.increment("rootCount", 3);
    metadata.del("go");
    // Not flushed here: the end of the attempt sends it before the run completes.
    metadata.set("stage", "done");
    return { count: metadata.get("count"), current: metadata.current() };
  },
});

/** Writes once without flushing, then runs until aborted: only the buffer's timer can send the write. */
export const metadataTimer = task({
  id: "metadata-timer",
  run: async (payload: { beat: number }, { signal }) => {
    metadata.set("beat", payload.beat);
    await new Promise((_resolve, reject) => {
      if (signal.aborted) reject(signal.reason);
      signal.addEventListener("abort", () => reject(signal.reason), { once: true });
    });
  },
});

/** The last tick `last-words` wrote before its abort signal fired, by run id (read by tests in this process). */
export const lastTicks = new Map<string, number>();

/** Writes a tick into its metadata every 20 ms until canceled: the final flush must carry the last one. */
export const lastWords = task({
  id: "last-words",
  run: async (_: Record<string, never>, { ctx, signal }) => {
    metadata.set("state", "started");
    await metadata.flush();
    for (let tick = 1; !signal.aborted; tick++) {
      metadata.set("tick", tick);
      lastTicks.set(ctx.run.id, tick);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  },
});
