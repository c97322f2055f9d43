import { isAbsolute, relative, resolve } from "node:path";
import { DEFAULT_API_URL } from "./client.ts";
import type { Colors } from "./render.ts";

interface NodeInfo {
  url: string;
  secretKey: string;
  embedded: boolean;
}

/** A path as typed from the current folder: relative below it, absolute elsewhere. */
function here(p: string): string {
  const rel = relative(process.cwd(), p);
  if (rel === "") return ".";
  return rel.startsWith("..") || isAbsolute(rel) ? resolve(p) : rel;
}

/** Single quotes for a shell, when the text needs them. */
const shellWord = (s: string) => (/^[\w./:@=-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);

/**
 * What `runcast dev` prints once it is up. The dev key is shown on one line and nowhere else: the example
 * commands (devTry) find it themselves, since the CLI reads it from the data dir when it talks to a local
 * server. A key of another environment (RUNCAST_SECRET_KEY=tr_prod_…) is never shown.
 */
export function devBanner(c: Colors, node: NodeInfo, opts: { tasksDir: string; dataDir: string }): string {
  const keyLine = node.secretKey.startsWith("tr_dev_") ? c.bold(node.secretKey) : "from RUNCAST_SECRET_KEY (not shown)";
  const label = (s: string) => c.dim(s.padEnd(15));
  return [
    "",
    `  ${c.bold(c.green("Runcast dev is running"))}`,
    "",
    `  ${label("Dashboard, API")}${node.url}`,
    `  ${label("Secret key")}${keyLine}`,
    `  ${label("Database")}${node.embedded ? `embedded PostgreSQL (URL in ${here(resolve(opts.dataDir, "postgres.url"))})` : "DATABASE_URL"}`,
    `  ${label("Tasks")}${here(opts.tasksDir)} ${c.dim("(reloaded when a file changes)")}`,
    "",
  ].join("\n");
}

/**
 * Commands to try, printed once the worker has registered its tasks (the example triggers one of them), with
 * the flags they need to find this server and its key from the current folder.
 */
export function devTry(c: Colors, node: NodeInfo, opts: { dataDir: string; keyFromEnv: boolean; tasks: string[] }): string {
  const flags: string[] = [];
  if (node.url !== DEFAULT_API_URL) flags.push("--api-url", node.url);
  if (!opts.keyFromEnv && resolve(opts.dataDir) !== resolve(".runcast")) flags.push("--data-dir", shellWord(here(opts.dataDir)));
  const tail = flags.length ? ` ${flags.join(" ")}` : "";
  const task = opts.tasks.includes("hello") ? "hello" : opts.tasks[0];
  const lines = ["", `  ${c.dim(`Try, from another terminal in this folder${opts.keyFromEnv ? " (with RUNCAST_SECRET_KEY set)" : ""}:`)}`];
  if (task) lines.push(`    npx runcast trigger ${task}${task === "hello" ? ` --payload '{"name":"world"}'` : ""} --watch${tail}`);
  lines.push(
    `    npx runcast runs watch${tail}`,
    "",
    `  ${c.dim("Runs show up below as they happen. Ctrl-C stops the worker, the server and PostgreSQL.")}`,
    "",
  );
  return lines.join("\n");
}

/** What `runcast start` (production) prints: where the key comes from, never the key. */
export function startBanner(node: NodeInfo, opts: { dataDir: string; keyFromEnv: boolean }): string {
  const keyFile = here(resolve(opts.dataDir, "secret-key"));
  const keyLine = opts.keyFromEnv ? "from RUNCAST_SECRET_KEY (not shown)" : `in ${keyFile} (not shown)`;
  return [
    "",
    "  Runcast is running",
    "",
    `  API            ${node.url}`,
    `  Secret key     ${keyLine}`,
    `  Database       ${node.embedded ? `embedded PostgreSQL (URL in ${here(resolve(opts.dataDir, "postgres.url"))})` : "DATABASE_URL"}`,
    "",
    "  Trigger a run:",
    `    curl -X POST ${node.url}/api/v1/tasks/hello/trigger \\`,
    `      -H "Authorization: Bearer $RUNCAST_SECRET_KEY" -H "Content-Type: application/json" \\`,
    `      -d '{"payload":{"name":"world"}}'`,
    `    npx runcast trigger hello --payload '{"name":"world"}' --api-url ${node.url}`,
    "",
  ].join("\n");
}
