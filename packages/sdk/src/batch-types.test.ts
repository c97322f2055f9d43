// Type inference of batches and runs.list: `npm test` type-checks this file (tsc) before running it.
import { test } from "node:test";
import { expectTypeOf } from "expect-type";
import { batch, runs, task, tasks, type BatchHandle, type RetrievedBatch, type RunListItem, type RunListPage } from "./index.ts";

const hello = task({
  id: "hello",
  run: async (payload: { name: string }) => ({ msg: `hi ${payload.name}` }),
});

const count = task({
  id: "count",
  run: (payload: { n: number }) => payload.n * 2,
});

test("tasks.batchTrigger<typeof task> checks the id and every payload", () => {
  const trigger = () => tasks.batchTrigger<typeof hello>("hello", [{ payload: { name: "a" } }, { payload: { name: "b" }, options: { tags: "t" } }]);
  expectTypeOf(trigger).returns.resolves.toEqualTypeOf<BatchHandle<"hello">>();
  expectTypeOf(trigger).returns.resolves.toHaveProperty("runs").items.toHaveProperty("taskIdentifier").toEqualTypeOf<"hello">();
  // @ts-expect-error wrong payload shape in one item
  void (() => tasks.batchTrigger<typeof hello>("hello", [{ payload: { name: "a" } }, { payload: { nom: "b" } }]));
  // @ts-expect-error wrong task id
  void (() => tasks.batchTrigger<typeof hello>("bye", [{ payload: { name: "a" } }]));
  // @ts-expect-error items carry { payload }, not bare payloads
  void (() => tasks.batchTrigger<typeof hello>("hello", [{ name: "a" }]));
  // @ts-expect-error unknown option
  void (() => tasks.batchTrigger<typeof hello>("hello", [{ payload: { name: "a" }, options: { tagz: "x" } }]));
});

test("task.batchTrigger checks its payloads", () => {
  expectTypeOf(() => count.batchTrigger([{ payload: { n: 1 } }])).returns.resolves.toEqualTypeOf<BatchHandle<"count">>();
  // @ts-expect-error n must be a number
  void (() => count.batchTrigger([{ payload: { n: "1" } }]));
  void (() => hello.batchTrigger([{ payload: { name: "x" } }], { idempotencyKey: "k" }));
});

test("batch.trigger over a union of tasks pairs each id with its own payload", () => {
  const trigger = () =>
    batch.trigger<typeof hello | typeof count>([
      { id: "hello", payload: { name: "a" } },
      { id: "count", payload: { n: 2 } },
    ]);
  expectTypeOf(trigger).returns.resolves.toEqualTypeOf<BatchHandle<"hello" | "count">>();
  // @ts-expect-error "count" takes { n: number }, not hello's payload
  void (() => batch.trigger<typeof hello | typeof count>([{ id: "count", payload: { name: "a" } }]));
  // @ts-expect-error not one of the tasks
  void (() => batch.trigger<typeof hello | typeof count>([{ id: "other", payload: { n: 1 } }]));
});

test("batch.retrieve and runs.list are typed", () => {
  expectTypeOf(batch.retrieve).returns.resolves.toEqualTypeOf<RetrievedBatch>();
  expectTypeOf<RetrievedBatch["createdAt"]>().toEqualTypeOf<Date>();
  expectTypeOf<RetrievedBatch["runs"]>().toEqualTypeOf<string[]>();
  const list = () => runs.list({ status: ["COMPLETED", "FAILED"], tag: "t", from: new Date(), to: Date.now(), limit: 10 });
  expectTypeOf(list).returns.resolves.toEqualTypeOf<RunListPage>();
  expectTypeOf<RunListPage["data"][number]>().toEqualTypeOf<RunListItem>();
  expectTypeOf<RunListItem["createdAt"]>().toEqualTypeOf<Date>();
  const iterate = async () => {
    for await (const run of runs.list()) expectTypeOf(run).toEqualTypeOf<RunListItem>();
  };
  void iterate;
  // @ts-expect-error not a run status
  void (() => runs.list({ status: "DONE" }));
  expectTypeOf(runs.replay).returns.resolves.toEqualTypeOf<{ id: string; publicAccessToken: string }>();
});
