import type { Resource } from "./scopes.ts";

/** The fields of a runs row that decide who may read it. */
export interface RunAccessFields {
  id: string;
  task_identifier: string;
  tags?: unknown;
  batch_id?: unknown;
}

/** A run can be read with a scope naming it, its task, one of its tags, or its batch (trigger-wire §3.1). */
export function runResources(run: RunAccessFields): Resource[] {
  const tags = Array.isArray(run.tags) ? (run.tags as string[]) : [];
  return [
    { type: "runs", id: run.id },
    { type: "tasks", id: run.task_identifier },
    ...tags.map((t) => ({ type: "tags", id: t })),
    ...(typeof run.batch_id === "string" ? [{ type: "batch", id: run.batch_id }] : []),
  ];
}
