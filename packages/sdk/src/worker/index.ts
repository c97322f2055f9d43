export { Worker, type WorkerOptions } from "./runtime.ts";
export { loadTasks } from "./load-tasks.ts";
