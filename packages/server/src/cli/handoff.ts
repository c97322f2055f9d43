/**
 * The messages between `runcast dev` and the worker processes it runs (over the IPC channel of
 * `runcast worker --handoff`), so that a worker with reloaded task files takes over without a run lost:
 *
 *   new worker: loads the task files       → "loaded" (or "load-failed": the old worker keeps running)
 *   dev → old worker: "drain"              → "draining" once it takes no new runs (its running ones go on)
 *   dev → new worker: "go"                 → registers, takes runs → "ready"
 *
 * The old worker exits once its runs finished on the code they started with.
 */
export type WorkerMessage =
  | { type: "loaded"; tasks: string[] }
  | { type: "load-failed"; message: string }
  | { type: "ready"; tasks: string[] }
  | { type: "draining"; running: number };

export type DevMessage = { type: "go" } | { type: "drain" };

export function isWorkerMessage(m: unknown): m is WorkerMessage {
  return typeof m === "object" && m !== null && typeof (m as { type?: unknown }).type === "string";
}

export function isDevMessage(m: unknown): m is DevMessage {
  const type = typeof m === "object" && m !== null ? (m as { type?: unknown }).type : undefined;
  return type === "go" || type === "drain";
}
