import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { freePort } from "./db/embedded.ts";
import { TEST_DIR_PREFIX } from "./testing/pg.ts";

const BIN = fileURLToPath(new URL("../bin/runcast.js", import.meta.url));
const EXAMPLES = fileURLToPath(new URL("../../../examples/tasks", import.meta.url));

function postgresOf(dataDir: string): number[] {
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

/** Starts `runcast dev`, waits for its banner, returns the printed key and a stop function (SIGINT, like Ctrl-C). */
async function dev(dataDir: string, port: number) {
  const child = spawn(process.execPath, [BIN, "dev", "--tasks", EXAMPLES, "--port", String(port), "--data-dir", dataDir], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, RUNCAST_SECRET_KEY: "", DATABASE_URL: "" },
  });
  let out = "";
  child.stdout.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr.on("data", (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
  const deadline = Date.now() + 60_000;
  while (!/worker ready/.test(out)) {
    if (child.exitCode !== null) throw new Error(`runcast dev exited: ${out}`);
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`runcast dev did not become ready: ${out}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  const key = /Secret key\s+(tr_dev_\w+)/.exec(out)?.[1];
  assert.ok(key, `no secret key in the banner: ${out}`);
  assert.match(out, new RegExp(`http://localhost:${port}`));
  return {
    key,
    output: () => out,
    async stop() {
      child.kill("SIGINT");
      return exited;
    },
  };
}

test("runcast dev: banner, a run end to end, clean Ctrl-C, and a second start reuses the data", async () => {
  const root = mkdtempSync(join(tmpdir(), TEST_DIR_PREFIX));
  chmodSync(root, 0o755);
  const dataDir = join(root, "data");
  try {
    const port = await freePort();
    const first = await dev(dataDir, port);
    const health = await fetch(`http://127.0.0.1:${port}/healthz`);
    assert.equal(health.status, 200);
    const res = await fetch(`http://127.0.0.1:${port}/api/v1/tasks/hello/trigger`, {
      method: "POST",
      headers: { authorization: `Bearer ${first.key}`, "content-type": "application/json" },
      body: JSON.stringify({ payload: { name: "cli", delayMs: 10 } }),
    });
    assert.equal(res.status, 200);
    const { id } = (await res.json()) as { id: string };
    let status = "";
    const deadline = Date.now() + 30_000;
    while (status !== "COMPLETED" && Date.now() < deadline) {
      const r = await fetch(`http://127.0.0.1:${port}/api/v3/runs/${id}`, { headers: { authorization: `Bearer ${first.key}` } });
      status = ((await r.json()) as { status: string }).status;
      if (status !== "COMPLETED") await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(status, "COMPLETED");
    const url = readFileSync(join(dataDir, "postgres.url"), "utf8");
    assert.match(url, /^postgres:\/\//);
    assert.equal(statSync(join(dataDir, "postgres.url")).mode & 0o777, 0o600);
    assert.equal(await first.stop(), 0, first.output());
    assert.deepEqual(postgresOf(join(dataDir, "postgres")), [], "postgres still running after Ctrl-C");
    assert.equal(existsSync(join(dataDir, "postgres", "postmaster.pid")), false, "stale postmaster.pid left behind");

    const second = await dev(dataDir, port);
    assert.equal(second.key, first.key, "the second start should reuse the saved key and data");
    const again = await fetch(`http://127.0.0.1:${port}/api/v3/runs/${id}`, { headers: { authorization: `Bearer ${second.key}` } });
    assert.equal(((await again.json()) as { status: string }).status, "COMPLETED");
    assert.equal(await second.stop(), 0, second.output());
    assert.deepEqual(postgresOf(join(dataDir, "postgres")), []);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test("runcast --help lists the commands", async () => {
  const child = spawn(process.execPath, [BIN, "--help"], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout.on("data", (d: Buffer) => (out += d.toString()));
  const code = await new Promise<number | null>((r) => child.once("exit", (c) => r(c)));
  assert.equal(code, 0);
  for (const cmd of ["dev", "start", "worker"]) assert.match(out, new RegExp(`\\b${cmd}\\b`));
});
