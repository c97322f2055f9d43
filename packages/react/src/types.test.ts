// The hooks are typed like the SDK: payload and output inferred from the task (type-checked by `npm test`'s tsc).
import { test } from "node:test";
import { expectTypeOf } from "expect-type";
import { task, type RunHandle } from "@runcast/sdk";
import { useRealtimeBatch, useRealtimeRun, useRealtimeRunsWithTag, useRealtimeTaskTrigger, useTaskTrigger } from "./index.ts";

const resize = task({ id: "resize", run: async (payload: { url: string; width: number }) => ({ thumbnail: payload.url, bytes: 1 }) });
const count = task({ id: "count", run: (payload: { n: number }) => payload.n * 2 });

test("useRealtimeRun<typeof task> types payload and output", () => {
  const view = () => {
    const { run } = useRealtimeRun<typeof resize>("run_x", { onComplete: (r) => expectTypeOf(r.output).toEqualTypeOf<{ thumbnail: string; bytes: number } | undefined>() });
    expectTypeOf(run?.payload).toEqualTypeOf<{ url: string; width: number } | undefined>();
    expectTypeOf(run?.taskIdentifier).toEqualTypeOf<"resize" | undefined>();
  };
  void view;
});

test("useRealtimeRunsWithTag and useRealtimeBatch over a union are discriminated by taskIdentifier", () => {
  const view = () => {
    const { runs } = useRealtimeRunsWithTag<typeof resize | typeof count>(["user_1"]);
    for (const run of runs) {
      if (run.taskIdentifier === "count") expectTypeOf(run.output).toEqualTypeOf<number | undefined>();
      else expectTypeOf(run.output).toEqualTypeOf<{ thumbnail: string; bytes: number } | undefined>();
    }
    expectTypeOf(useRealtimeBatch<typeof count>("batch_x").runs[0]?.payload).toEqualTypeOf<{ n: number } | undefined>();
  };
  void view;
});

test("useTaskTrigger and useRealtimeTaskTrigger check the task id and the payload", () => {
  const view = () => {
    const { submit, handle } = useTaskTrigger<typeof resize>("resize");
    expectTypeOf(submit).parameter(0).toEqualTypeOf<{ url: string; width: number }>();
    expectTypeOf(handle).toEqualTypeOf<RunHandle<"resize", { url: string; width: number }, { thumbnail: string; bytes: number }> | undefined>();
    const watched = useRealtimeTaskTrigger<typeof count>("count");
    expectTypeOf(watched.run?.output).toEqualTypeOf<number | undefined>();
    // @ts-expect-error wrong task id
    useTaskTrigger<typeof resize>("resise");
  };
  void view;
});
