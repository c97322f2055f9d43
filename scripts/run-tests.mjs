// Runs every *.test.ts file under packages/ and examples/ with node's test runner (through tsx), on the
// sources: the "@runcast/source" export condition resolves @runcast/sdk and @runcast/react to their src/.
// Node 20's --test does not expand globs, so the files are listed here.
import { readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawn } from "node:child_process";

const roots = ["packages", "examples"];
const files = [];
function walk(dir) {
  for (const name of readdirSync(dir)) {
    if (name === "node_modules" || name.startsWith(".")) continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p);
    else if (name.endsWith(".test.ts") || name.endsWith(".test.tsx")) files.push(p);
  }
}
for (const r of roots) walk(r);
const only = process.argv.slice(2);
const selected = only.length ? files.filter((f) => only.some((o) => f.includes(o))) : files;
selected.sort();
// Test databases of this run live in folders tagged with its id, so the leftover sweep below never
// touches another suite running at the same time.
const runId = `${process.pid}${Date.now().toString(36)}`;
const child = spawn(
  process.execPath,
  ["--conditions=@runcast/source", "--import", "tsx", "--test", "--test-concurrency=2", "--test-timeout=240000", ...selected],
  { stdio: ["inherit", "pipe", "inherit"], env: { ...process.env, RUNCAST_TEST_RUN: runId } },
);

// Node 20 reports a test file whose process died before reporting its tests (e.g. a crash in a
// `before` hook) as a single passing entry named after the file. Count those as failures.
const silent = [];
let pending = "";
child.stdout.on("data", (chunk) => {
  process.stdout.write(chunk);
  pending += chunk.toString();
  const lines = pending.split("\n");
  pending = lines.pop() ?? "";
  for (const line of lines) {
    const m = /^ok \d+ - (.+\.test\.tsx?)$/.exec(line);
    if (m) silent.push(m[1]);
  }
});

child.on("exit", (code, signal) => {
  const leaked = sweepLeftovers();
  if (leaked) console.error(`run-tests: stopped ${leaked} leftover postgres process(es) a test did not stop`);
  if (silent.length) {
    console.error(`run-tests: ${silent.length} test file(s) ended without reporting any test (crashed while starting):`);
    for (const f of silent) console.error(`  ${f}`);
    process.exit(1);
  }
  process.exit(code ?? (signal ? 1 : 0));
});

/**
 * Safety net for crashed test processes: a postgres started from a runcast-test-* folder that is still
 * running after the suite is killed, and its folder removed. A healthy run finds nothing.
 */
function sweepLeftovers() {
  let n = 0;
  for (const pid of readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
    let cmd = "";
    try {
      cmd = readFileSync(`/proc/${pid}/cmdline`, "utf8");
    } catch {
      continue;
    }
    if (cmd.includes("postgres") && cmd.includes(`/runcast-test-${runId}-`) && !cmd.includes("node")) {
      try {
        process.kill(Number(pid), "SIGKILL");
        n++;
      } catch {
        // Already gone.
      }
    }
  }
  for (const d of readdirSync(tmpdir()).filter((d) => d.startsWith(`runcast-test-${runId}-`))) {
    if (n) rmSync(`${tmpdir()}/${d}`, { recursive: true, force: true });
  }
  return n;
}
