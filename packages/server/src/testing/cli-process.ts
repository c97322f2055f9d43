import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

export const BIN = fileURLToPath(new URL("../../bin/runcast.js", import.meta.url));

/** The test's environment without colour settings of its own (the CLI decides by its output), plus `extra`. */
function cliEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra };
  for (const name of ["NO_COLOR", "FORCE_COLOR"]) if (!(name in extra)) delete env[name];
  return env;
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `runcast <args>` as a user runs it, to the end (killed past `timeoutMs`): exit code and both streams. */
export function runCli(args: string[], env: Record<string, string> = {}, timeoutMs = 60_000): Promise<CliResult> {
  const child = spawn(process.execPath, [BIN, ...args], { env: cliEnv(env), stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
  return new Promise((resolve) =>
    child.once("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    }),
  );
}

/** A long-running `runcast <args>` (a live view): its output so far, and a way to stop it like Ctrl-C. */
export interface CliProcess {
  output(): string;
  /** Resolves once the output matches, or fails with the output so far past `timeoutMs`. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<void>;
  exited: Promise<number | null>;
  /** SIGINT, as Ctrl-C does; SIGKILL if it has not exited 20 s later. */
  interrupt(): Promise<number | null>;
}

function waitForOutput(output: () => string, exitedEarly: () => boolean, pattern: RegExp, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const check = () => {
      if (pattern.test(output())) return resolve();
      if (exitedEarly()) return reject(new Error(`the process exited before printing ${pattern}:\n${output()}`));
      if (Date.now() > deadline) return reject(new Error(`timed out after ${timeoutMs} ms waiting for ${pattern} in:\n${output()}`));
      setTimeout(check, 20);
    };
    check();
  });
}

/** A child's stdout and stderr together, waits on them, and its exit code once its pipes are closed. */
function collectOutput(child: ChildProcess): Pick<CliProcess, "output" | "waitFor" | "exited"> {
  let out = "";
  child.stdout?.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr?.on("data", (d: Buffer) => (out += d.toString()));
  return {
    output: () => out,
    waitFor: (pattern, timeoutMs = 30_000) => waitForOutput(() => out, () => child.exitCode !== null, pattern, timeoutMs),
    exited: new Promise<number | null>((resolve) => child.once("close", (code) => resolve(code))),
  };
}

export function startCli(args: string[], env: Record<string, string> = {}): CliProcess {
  const child = spawn(process.execPath, [BIN, ...args], { env: cliEnv(env), stdio: ["ignore", "pipe", "pipe"] });
  const { output, waitFor, exited } = collectOutput(child);
  return {
    output,
    waitFor,
    exited,
    async interrupt() {
      if (child.exitCode === null) child.kill("SIGINT");
      const timer = setTimeout(() => child.kill("SIGKILL"), 20_000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}

/** util-linux `script` runs a command under a pseudo-terminal; the pty tests need it (Debian: bsdutils / util-linux). */
export const HAS_SCRIPT = spawnSync("script", ["--version"], { stdio: "ignore" }).status === 0;

const shellQuote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** Terminal escape sequences and carriage returns taken out: the text a person reads. */
export const plainText = (s: string): string =>
  s
    // eslint-disable-next-line no-control-regex
    .replace(/\x1b\[[0-9;?]*[ -/]*[@-~]/g, "")
    .replace(/\r/g, "");

/** Pids of every process below `pid` (from /proc), deepest last. */
function descendants(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const ppid = Number(/^\d+ \(.*\) \S (\d+)/.exec(readFileSync(`/proc/${d}/stat`, "utf8"))?.[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(d)]);
    } catch {
      // Gone meanwhile.
    }
  }
  const out: number[] = [];
  const walk = (p: number) => {
    for (const c of children.get(p) ?? []) {
      out.push(c);
      walk(c);
    }
  };
  walk(pid);
  return out;
}

export interface PtyProcess extends CliProcess {
  /** Types into the terminal ("\x03" is Ctrl-C). */
  write(text: string): void;
}

/**
 * `runcast <args>` in a pseudo-terminal of `cols`×`rows` (through `script`), as in a person's terminal:
 * colours on, live views redrawn in place. `interrupt()` types Ctrl-C; whatever is still running 20 s
 * later is stopped with SIGTERM, then SIGKILL.
 */
export function startCliInPty(args: string[], env: Record<string, string> = {}, size = { cols: 120, rows: 30 }): PtyProcess {
  const command = `stty cols ${size.cols} rows ${size.rows}; exec ${[process.execPath, BIN, ...args].map(shellQuote).join(" ")}`;
  const child = spawn("script", ["-qfec", command, "/dev/null"], {
    env: cliEnv({ TERM: "xterm-256color", ...env }),
    stdio: ["pipe", "pipe", "pipe"],
  });
  const { output, waitFor, exited } = collectOutput(child);
  return {
    output,
    waitFor,
    exited,
    write: (text) => void child.stdin.write(text),
    async interrupt() {
      if (child.exitCode === null) child.stdin.write("\x03");
      const escalate = (signal: NodeJS.Signals) => {
        for (const pid of [...(child.pid ? descendants(child.pid) : []), child.pid ?? 0].reverse()) {
          try {
            if (pid) process.kill(pid, signal);
          } catch {
            // Already gone.
          }
        }
      };
      const term = setTimeout(() => escalate("SIGTERM"), 20_000);
      const kill = setTimeout(() => escalate("SIGKILL"), 30_000);
      const code = await exited;
      clearTimeout(term);
      clearTimeout(kill);
      return code;
    },
  };
}

/** PostgreSQL processes whose command line names `dataDir` (a test checks that a command stopped its database). */
export function postgresOf(dataDir: string): number[] {
  return readdirSync("/proc")
    .filter((d) => /^\d+$/.test(d))
    .filter((pid) => {
      try {
        const cmd = readFileSync(`/proc/${pid}/cmdline`, "utf8");
        return cmd.includes("postgres") && cmd.includes(dataDir);
      } catch {
        return false;
      }
    })
    .map(Number);
}
