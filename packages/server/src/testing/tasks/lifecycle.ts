import { metadata, task, wait } from "@runcast/sdk";
import { echo, sleeper } from "./basic.ts";

/** Runs whose abort signal fired, by id (read by tests in the same process). */
export const aborted = new Set<string>();

/** Fails its first attempt, succeeds on the retry. */
export const flaky = task({
  id: "flaky",
  retry: { maxAttempts: 2, minTimeoutInMs: 200, factor: 1 },
  run: async (_: Record<string, never>, { ctx }) => {
    if (ctx.attempt.number === 1) throw new Error("first attempt fails");
    return { attempt: ctx.attempt.number };
  },
});

/** Always throws. */
export const broken = task({
  id: "broken",
  run: async () => {
    throw new RangeError("this task always fails");
  },
});

/** Waits (FROZEN) between two steps. */
export const waiter = task({
  id: "waiter",
  run: async (payload: { seconds: number }) => {
    await wait.for({ seconds: payload.seconds });
    return { waited: payload.seconds };
  },
});

/** Triggers a child and waits for it. */
export const parent = task({
  id: "parent",
  run: async (payload: { value: string }) => {
    const result = await echo.triggerAndWait({ value: payload.value });
    return { child: result.unwrap().echoed, childId: result.id };
  },
});

/** Waits on a child that runs for a minute (cancel must reach the child). */
export const patient = task({
  id: "patient",
  run: async (_: Record<string, never>) => {
    const result = await sleeper.triggerAndWait({ ms: 60_000 });
    return { childOk: result.ok };
  },
});

/** Exceeds its maxDuration. */
export const slowpoke = task({
  id: "slowpoke",
  maxDuration: 1,
  run: async (_: Record<string, never>, { signal }) => {
    await new Promise((_resolve, reject) => signal.addEventListener("abort", () => reject(signal.reason)));
  },
});

/** Returns something JSON cannot hold: Runcast cannot store it (SYSTEM_FAILURE). */
export const unstorable = task({
  id: "unstorable",
  run: async () => ({ big: 10n }),
});

/** Runs until canceled; records that its abort signal fired. */
export const cancellable = task({
  id: "cancellable",
  run: async (_: Record<string, never>, { signal, ctx }) => {
    await new Promise((_resolve, reject) =>
      signal.addEventListener("abort", () => {
        aborted.add(ctx.run.id);
        reject(signal.reason);
      }),
    );
  },
});

let running = 0;
/** Highest number of `limited` runs seen executing at once in this process. */
export const limitedStats = { max: 0, done: 0 };

/** At most 3 at once, whatever the number of workers. */
export const limited = task({
  id: "limited",
  queue: { concurrencyLimit: 3 },
  run: async (payload: { ms: number }) => {
    running++;
    limitedStats.max = Math.max(limitedStats.max, running);
    await new Promise((r) => setTimeout(r, payload.ms));
    running--;
    limitedStats.done++;
    return { ok: true };
  },
});

/** Fans out a batch of echo runs and waits for all of them. */
export const fanout = task({
  id: "fanout",
  run: async (payload: { n: number }) => {
    const result = await echo.batchTriggerAndWait(Array.from({ length: payload.n }, (_, i) => ({ payload: { value: `v${i}` } })));
    return { echoed: result.runs.map((r) => r.unwrap().echoed), batchId: result.id };
  },
});

/** Hook calls of `hooked` runs, by run id (read by tests in the same process). */
export const hookCalls = new Map<string, string[]>();
const record = (id: string, call: string) => hookCalls.set(id, [...(hookCalls.get(id) ?? []), call]);

/** Exercises onStart / onSuccess / onFailure; metadata written in a hook reaches the run. */
export const hooked = task({
  id: "hooked",
  onStart: (_payload: { fail: boolean }, { ctx }) => record(ctx.run.id, "start"),
  onSuccess: (_payload, output, { ctx }) => {
    record(ctx.run.id, `success:${output.ok}`);
    metadata.set("hook", "success");
  },
  onFailure: (_payload, error, { ctx }) => record(ctx.run.id, `failure:${error instanceof Error ? error.message : String(error)}`),
  run: async (payload: { fail: boolean }) => {
    if (payload.fail) throw new Error("asked to fail");
    return { ok: true };
  },
});

let pausing = 0;
/** Highest number of `pausing` runs seen executing (outside their wait) at once in this process. */
export const pausingStats = { max: 0 };

/** One at a time: works, waits, works again (the wait must not let two execute together). */
export const pausingTask = task({
  id: "pausing",
  queue: { concurrencyLimit: 1 },
  run: async (payload: { waitSeconds: number }) => {
    const work = async () => {
      pausing++;
      pausingStats.max = Math.max(pausingStats.max, pausing);
      await new Promise((r) => setTimeout(r, 150));
      pausing--;
    };
    await work();
    await wait.for({ seconds: payload.waitSeconds });
    await work();
    return { ok: true };
  },
});
