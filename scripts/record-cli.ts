// Records the terminal sessions shown in the README from real runs of the CLI (asciinema v2 files under docs/),
// and draws a picture of each (SVG):
//   docs/cli-dev.cast, .svg       `runcast dev` with the example tasks: banner, the live log of runs, Ctrl-C
//                                 (the picture: the moment with the most progress on screen)
//   docs/cli-commands.cast, .svg  trigger --watch, runs watch, runs list and keys, typed in another terminal
// Each command runs for real under a pseudo-terminal (util-linux `script`), in a throw-away project folder
// whose tasks are a copy of examples/tasks. The dev key is masked in the files.
//
//   node --import tsx scripts/record-cli.ts        (play one: asciinema play docs/cli-dev.cast)
import { spawn, type ChildProcess } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Screen } from "./cast-svg.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const BIN = join(ROOT, "packages/server/bin/runcast.js");
const COLS = 110;
const ROWS = 30;

type Event = [number, "o", string];

/** A recording: output events at times in seconds. */
class Cast {
  readonly events: Event[] = [];
  out(at: number, text: string): void {
    this.events.push([Math.round(at * 1000) / 1000, "o", text]);
  }
  file(title: string): string {
    const header = { version: 2, width: COLS, height: ROWS, title, env: { TERM: "xterm-256color", SHELL: "/bin/bash" } };
    return [JSON.stringify(header), ...this.events.map((e) => JSON.stringify(e))].join("\n") + "\n";
  }
}

function freePort(preferred: number): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once("error", () => {
      const any = createServer();
      any.listen(0, "127.0.0.1", () => {
        const port = (any.address() as { port: number }).port;
        any.close(() => resolve(port));
      });
    });
    s.listen(preferred, "0.0.0.0", () => s.close(() => resolve(preferred)));
  });
}

const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

interface Pty {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

/** `runcast <args>` under a pseudo-terminal in `cwd`; every chunk it prints goes to `onChunk`. */
function pty(args: string[], cwd: string, env: NodeJS.ProcessEnv, onChunk: (text: string) => void): Pty {
  const command = `stty cols ${COLS} rows ${ROWS}; exec ${[process.execPath, BIN, ...args].map(quote).join(" ")}`;
  const child = spawn("script", ["-qfec", command, "/dev/null"], { cwd, env: { ...env, TERM: "xterm-256color" }, stdio: ["pipe", "pipe", "inherit"] });
  let out = "";
  child.stdout!.on("data", (d: Buffer) => {
    out += d.toString();
    onChunk(d.toString());
  });
  return { child, output: () => out, exited: new Promise((r) => child.once("close", (code) => r(code))) };
}

async function until(check: () => boolean, what: string, ms = 90_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** `runcast <args>` without a terminal, off camera (runs triggered for the live view): what it printed. */
function quiet(args: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = spawn(process.execPath, [BIN, ...args], { cwd, env, stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    c.stdout.on("data", (d: Buffer) => (out += d.toString()));
    c.once("close", (code) => (code === 0 ? resolve(out) : reject(new Error(`runcast ${args.join(" ")} exited ${code}`))));
  });
}

async function main(): Promise<void> {
  const project = mkdtempSync(join(tmpdir(), "runcast-recording-"));
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of ["NO_COLOR", "FORCE_COLOR", "RUNCAST_SECRET_KEY", "DATABASE_URL", "RUNCAST_DATA_DIR", "RUNCAST_TASKS"]) delete env[name];
  let dev: Pty | undefined;
  try {
    // A user's project: package.json, the SDK, the example tasks.
    writeFileSync(join(project, "package.json"), JSON.stringify({ type: "module" }));
    mkdirSync(join(project, "node_modules", "@runcast"), { recursive: true });
    symlinkSync(join(ROOT, "packages/sdk"), join(project, "node_modules", "@runcast", "sdk"));
    cpSync(join(ROOT, "examples/tasks"), join(project, "tasks"), { recursive: true });
    const port = await freePort(3030);
    const clientEnv = { ...env, ...(port === 3030 ? {} : { RUNCAST_API_URL: `http://localhost:${port}` }) };

    const devCast = new Cast();
    const devStart = performance.now();
    const devClock = () => (performance.now() - devStart) / 1000;
    devCast.out(0, `$ runcast dev --tasks tasks\r\n`);
    dev = pty(["dev", "--tasks", "tasks", "--port", String(port)], project, env, (t) => devCast.out(devClock(), t));
    const running = dev;
    await until(() => /worker ready/.test(running.output()), "runcast dev");

    // The other terminal: commands typed one after the other, their real output at its real pace.
    const cmdCast = new Cast();
    let clock = 0.5;
    const type = async (line: string) => {
      cmdCast.out(clock, "\x1b[1;32m$\x1b[0m ");
      for (const ch of line) {
        clock += 0.035;
        cmdCast.out(clock, ch);
      }
      clock += 0.3;
      cmdCast.out(clock, "\r\n");
    };
    const run = async (line: string, args: string[], whileRunning?: (p: Pty) => Promise<void>) => {
      await type(line);
      const start = performance.now();
      const base = clock;
      const p = pty(args, project, clientEnv, (t) => cmdCast.out(base + (performance.now() - start) / 1000, t));
      if (whileRunning) await whileRunning(p);
      await p.exited;
      clock = base + (performance.now() - start) / 1000 + 1.2;
    };

    await run(`runcast trigger hello --payload '{"name":"world","delayMs":2500}' --watch`, ["trigger", "hello", "--payload", '{"name":"world","delayMs":2500}', "--watch"]);
    await run("runcast runs watch --tag demo", ["runs", "watch", "--tag", "demo"], async (p) => {
      await until(() => /live/.test(p.output()), "the live view");
      await sleep(600);
      for (const [name, ms] of [["ada", 3000], ["grace", 4500], ["linus", 2000]] as const) {
        await quiet(["trigger", "hello", "--payload", JSON.stringify({ name, delayMs: ms }), "--tag", "demo", "--tag", `user_${name}`], project, clientEnv);
        await sleep(400);
      }
      for (let done = 0; done < 3; await sleep(200)) {
        done = (JSON.parse(await quiet(["runs", "list", "--tag", "demo", "--status", "COMPLETED", "--json"], project, clientEnv)) as unknown[]).length;
      }
      await sleep(1500);
      p.child.stdin!.write("\x03");
    });
    await run("runcast runs list --limit 5", ["runs", "list", "--limit", "5"]);
    await run("runcast keys", ["keys"]);
    cmdCast.out(clock, "\x1b[1;32m$\x1b[0m ");

    await sleep(1000);
    devCast.out(devClock(), "^C");
    running.child.stdin!.write("\x03");
    await running.exited;
    dev = undefined;

    // The dev key of this throw-away database, masked all the same.
    const mask = (text: string) => text.replace(/tr_dev_[0-9A-Za-z]{24}/g, `tr_dev_${"x".repeat(24)}`).replace(/tr_dev_[0-9A-Za-z]{4}…/g, "tr_dev_xxxx…");
    for (const e of [...devCast.events, ...cmdCast.events]) e[2] = mask(e[2]);
    writeFileSync(join(ROOT, "docs/cli-dev.cast"), devCast.file("runcast dev"));
    writeFileSync(join(ROOT, "docs/cli-commands.cast"), cmdCast.file("runcast trigger, runs watch, runs list, keys"));

    // runcast dev at its busiest moment: the most progress bar cells on screen.
    let best = { cells: -1, upTo: 0 };
    for (let upTo = 1; upTo <= devCast.events.length; upTo++) {
      const screen = new Screen(COLS);
      for (const e of devCast.events.slice(0, upTo)) screen.write(e[2]);
      const cells = (screen.text().match(/[█░]/g) ?? []).length;
      if (cells > best.cells) best = { cells, upTo };
    }
    const devScreen = new Screen(COLS);
    for (const e of devCast.events.slice(0, best.upTo)) devScreen.write(e[2]);
    writeFileSync(join(ROOT, "docs/cli-dev.svg"), devScreen.svg({ title: "runcast dev" }));
    const cmdScreen = new Screen(COLS);
    for (const e of cmdCast.events) cmdScreen.write(e[2]);
    writeFileSync(join(ROOT, "docs/cli-commands.svg"), cmdScreen.svg({ title: "runcast trigger · runs watch · runs list · keys" }));
    process.stdout.write("wrote docs/cli-dev.cast, docs/cli-dev.svg, docs/cli-commands.cast, docs/cli-commands.svg\n");
  } finally {
    if (dev) {
      dev.child.stdin!.write("\x03");
      await dev.exited;
    }
    rmSync(project, { recursive: true, force: true });
  }
}

await main();
