import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { Command } from "commander";
import { configure, RuncastApiError } from "@runcast/sdk";
import { CliError, EXIT, toCliError, usageError } from "./errors.ts";

/** Flags every command that talks to a server takes. */
export interface ClientFlags {
  apiUrl?: string;
  secretKey?: string;
  dataDir?: string;
  json?: boolean;
}

export interface Client {
  baseURL: string;
  secretKey: string;
}

export const DEFAULT_API_URL = "http://localhost:3030";

/** Adds the connection flags and --json to a command that talks to a server. */
export function withClientFlags(cmd: Command): Command {
  return cmd
    .option("--api-url <url>", `the server (RUNCAST_API_URL, default ${DEFAULT_API_URL})`)
    .option("--secret-key <key>", "a secret key (RUNCAST_SECRET_KEY; prefer the variable, flags show in ps)")
    .option("--data-dir <dir>", "with no key and a local server: use the dev key of this `runcast dev` data dir (RUNCAST_DATA_DIR, default .runcast)")
    .option("--json", "machine-readable output on stdout, without colours");
}

const LOOPBACK = new Set(["localhost", "127.0.0.1", "[::1]", "::1"]);

/**
 * Where the server is and which key to use: flags, then RUNCAST_API_URL / RUNCAST_SECRET_KEY, then (only for
 * a server on this machine) the dev key `runcast dev` keeps in its data dir, so that commands typed next to
 * it need no setup. The key never leaves for another host that way. The SDK is configured with the result.
 */
export function connect(flags: ClientFlags, env: NodeJS.ProcessEnv = process.env): Client {
  const raw = flags.apiUrl ?? (env.RUNCAST_API_URL || DEFAULT_API_URL);
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw usageError("invalid_api_url", `--api-url / RUNCAST_API_URL must be an http(s) URL, got ${JSON.stringify(raw)}`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw usageError("invalid_api_url", `--api-url / RUNCAST_API_URL must be an http(s) URL, got ${JSON.stringify(raw)}`);
  }
  const baseURL = url.toString().replace(/\/+$/, "");
  let secretKey = flags.secretKey || env.RUNCAST_SECRET_KEY || undefined;
  if (!secretKey && LOOPBACK.has(url.hostname)) {
    const file = resolve(flags.dataDir ?? (env.RUNCAST_DATA_DIR || ".runcast"), "secret-key");
    if (existsSync(file)) secretKey = readFileSync(file, "utf8").trim() || undefined;
  }
  if (!secretKey) {
    throw new CliError(
      EXIT.auth,
      "no_secret_key",
      "no secret key: set RUNCAST_SECRET_KEY (or pass --secret-key); next to a local `runcast dev` its dev key is used, from ./.runcast or --data-dir",
    );
  }
  configure({ baseURL, secretKey });
  return { baseURL, secretKey };
}

/**
 * A JSON call to a management route the SDK has no function for (keys, tasks); errors are the SDK's
 * RuncastApiError, so every command reports them alike.
 */
export async function callApi<T>(client: Client, method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(`${client.baseURL}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${client.secretKey}`,
      accept: "application/json",
      ...(body !== undefined ? { "content-type": "application/json" } : {}),
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  if (!res.ok) throw await RuncastApiError.fromResponse(res);
  return (await res.json()) as T;
}

/** Commander's collector for repeatable flags (`--tag a --tag b`); no default, so help shows none. */
export const collect = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), value];

/** "Examples:" help text, shown after a command's options: `[what it does, the command]`. */
export function examples(lines: [string, string][]): string {
  return `\nExamples:\n${lines.map(([what, cmd]) => `  # ${what}\n  $ ${cmd}`).join("\n")}\n`;
}

/** Connects (flags, environment, data dir), runs `fn`, and reports its failure as the CliError it maps to. */
export async function withClient<T>(flags: ClientFlags, fn: (client: Client) => Promise<T>): Promise<T> {
  const client = connect(flags);
  try {
    return await fn(client);
  } catch (err) {
    throw toCliError(err, client.baseURL);
  }
}
