// Type inference is part of the product: `npm test` type-checks this file (tsc) before running it,
// so a regression in inference fails the suite.
import { test } from "node:test";
import { expectTypeOf } from "expect-type";
import { auth, runs, task, tasks, type RealtimeRun, type RunHandle, type TaskOutput, type TaskPayload } from "./index.ts";

const hello = task({
  id: "hello",
  run: async (payload: { name: string }) => ({ msg: `hi ${payload.name}` }),
});

const count = task({
  id: "count",
  run: (payload: { n: number }) => payload.n * 2,
});

test("task() infers id, payload and output", () => {
  expectTypeOf(hello.id).toEqualTypeOf<"hello">();
  expectTypeOf<TaskPayload<typeof hello>>().toEqualTypeOf<{ name: string }>();
  expectTypeOf<TaskOutput<typeof hello>>().toEqualTypeOf<{ msg: string }>();
  expectTypeOf<TaskOutput<typeof count>>().toEqualTypeOf<number>();
});

test("tasks.trigger<typeof task> checks the id and the payload", () => {
  const trigger = () => tasks.trigger<typeof hello>("hello", { name: "x" });
  expectTypeOf(trigger).returns.resolves.toEqualTypeOf<RunHandle<"hello", { name: string }, { msg: string }>>();
  // @ts-expect-error wrong payload shape
  void (() => tasks.trigger<typeof hello>("hello", { nom: "x" }));
  // @ts-expect-error wrong task id
  void (() => tasks.trigger<typeof hello>("bye", { name: "x" }));
  // @ts-expect-error task.trigger checks its payload too
  void (() => hello.trigger({ name: 1 }));
});

test("subscribeToRun<typeof task> types payload and output", () => {
  const read = async () => {
    for await (const run of runs.subscribeToRun<typeof hello>("run_x")) {
      expectTypeOf(run.payload).toEqualTypeOf<{ name: string }>();
      expectTypeOf(run.output).toEqualTypeOf<{ msg: string } | undefined>();
      expectTypeOf(run.taskIdentifier).toEqualTypeOf<"hello">();
      expectTypeOf(run.createdAt).toEqualTypeOf<Date>();
      expectTypeOf(run.finishedAt).toEqualTypeOf<Date | undefined>();
    }
  };
  void read;
});

test("a union of tasks gives runs discriminated by taskIdentifier", () => {
  const narrow = (run: RealtimeRun<typeof hello | typeof count>) => {
    if (run.taskIdentifier === "hello") expectTypeOf(run.output).toEqualTypeOf<{ msg: string } | undefined>();
    else expectTypeOf(run.output).toEqualTypeOf<number | undefined>();
  };
  void narrow;
});

test("subscribeToRunsWithTag<typeof a | typeof b> yields runs discriminated by taskIdentifier", () => {
  const read = async () => {
    for await (const run of runs.subscribeToRunsWithTag<typeof hello | typeof count>("user_1", { createdAt: "7d", status: ["COMPLETED"] })) {
      if (run.taskIdentifier === "hello") {
        expectTypeOf(run.payload).toEqualTypeOf<{ name: string }>();
        expectTypeOf(run.output).toEqualTypeOf<{ msg: string } | undefined>();
      } else {
        expectTypeOf(run.taskIdentifier).toEqualTypeOf<"count">();
        expectTypeOf(run.output).toEqualTypeOf<number | undefined>();
      }
    }
    for await (const run of runs.subscribeToBatch<typeof count>("batch_x", { skipColumns: ["payload"] })) {
      expectTypeOf(run.output).toEqualTypeOf<number | undefined>();
    }
  };
  void read;
  // @ts-expect-error a column that does not exist cannot be skipped
  void (() => runs.subscribeToRun("run_x", { skipColumns: ["payloads"] }));
});

test("auth.createTriggerPublicToken checks the task id of a typed task", () => {
  expectTypeOf(auth.createTriggerPublicToken<typeof hello>).parameter(0).toEqualTypeOf<"hello" | "hello"[]>();
  expectTypeOf(auth.createPublicToken).returns.resolves.toEqualTypeOf<string>();
});
