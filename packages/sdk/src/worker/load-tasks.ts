import { readdirSync, statSync } from "node:fs";
import { extname, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { taskDefinition, type TaskDefinition } from "../task.ts";

const TASK_FILE = new Set([".ts", ".mts", ".js", ".mjs", ".tsx"]);

function listFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    if (name.startsWith(".") || name === "node_modules") continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...listFiles(p));
    else if (TASK_FILE.has(extname(name)) && !/\.(test|spec|d)\.[cm]?[jt]sx?$/.test(name)) out.push(p);
  }
  return out;
}

/**
 * Imports every module in the folder (TypeScript loads through the runtime's loader, no build step)
 * and collects every exported task. Two tasks with one id are an error.
 */
export async function loadTasks(dir: string): Promise<Map<string, TaskDefinition<string, unknown, unknown>>> {
  const tasks = new Map<string, TaskDefinition<string, unknown, unknown>>();
  for (const file of listFiles(resolve(dir))) {
    const mod = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
    for (const value of Object.values(mod)) {
      const def = taskDefinition(value);
      if (!def) continue;
      const existing = tasks.get(def.id);
      if (existing && existing !== def) throw new Error(`two tasks share the id "${def.id}" (second one in ${file})`);
      tasks.set(def.id, def);
    }
  }
  return tasks;
}
