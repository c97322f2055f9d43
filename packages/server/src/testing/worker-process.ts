import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";

const BIN = fileURLToPath(new URL("../../bin/runcast.js", import.meta.url));

export interface WorkerProcess {
  child: ChildProcess;
  /** Resolves once the worker printed that it registered its tasks. */
  ready: Promise<void>;
  exited: Promise<number | null>;
  output: () => string;
}

/** `runcast worker` in its own process, as users run it; tests kill it to simulate crashes. */
export function spawnWorker(url: string, secretKey: string, tasksDir: string): WorkerProcess {
  const child = spawn(process.execPath, [BIN, "worker", "--tasks", tasksDir], {
    env: { ...process.env, RUNCAST_API_URL: url, RUNCAST_SECRET_KEY: secretKey },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      if (out.includes("worker ready")) resolve();
    });
    child.stderr!.on("data", (d: Buffer) => (out += d.toString()));
    child.once("exit", (code) => reject(new Error(`worker exited early (${code}): ${out}`)));
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return { child, ready, exited, output: () => out };
}
