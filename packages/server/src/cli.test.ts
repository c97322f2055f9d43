import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { generateSecretKey } from "./auth/keys.ts";
import { freePort } from "./db/embedded.ts";
import { postgresOf } from "./testing/cli-process.ts";
import { TEST_DIR_PREFIX } from "./testing/pg.ts";

const BIN = fileURLToPath(new URL("../bin/runcast.js", import.meta.url));
const EXAMPLES = fileURLToPath(new URL("../../../examples/tasks", import.meta.url));

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
    assert.equal(first.output().split(first.key).length - 1, 1, `the key is printed once (the banner):\n${first.output()}`);
    assert.match(first.output(), new RegExp(`QUEUED\\s+hello\\s+${id}[\\s\\S]*COMPLETED\\s+hello\\s+${id}`), "the live log shows the run");
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

test("runcast --help lists the commands and the exit codes; every command has --help with examples", async () => {
  const help = async (args: string[]) => {
    const child = spawn(process.execPath, [BIN, ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    const code = await new Promise<number | null>((r) => child.once("exit", (c) => r(c)));
    return { code, out };
  };
  const root = await help(["--help"]);
  assert.equal(root.code, 0);
  for (const cmd of ["dev", "start", "worker", "trigger", "runs", "cancel", "keys"]) assert.match(root.out, new RegExp(`\\n  ${cmd}\\b`));
  assert.match(root.out, /Exit codes:\n {2}0 .*\n {2}1 .*\n {2}2 .*\n {2}3 .*\n {2}4 /);
  for (const cmd of [["dev"], ["start"], ["worker"], ["trigger"], ["runs", "list"], ["runs", "watch"], ["cancel"], ["keys", "list"], ["keys", "create"], ["keys", "revoke"]]) {
    const sub = await help([...cmd, "--help"]);
    assert.equal(sub.code, 0, cmd.join(" "));
    assert.match(sub.out, /Examples:\n {2}# .*\n {2}\$ (\S+=\S+ )*runcast /, `${cmd.join(" ")} --help has examples`);
  }
  assert.equal((await help(["no-such-command"])).code, 2, "an unknown command is a usage error");
});

/** `runcast start` until healthy; returns everything it printed, then stops it (SIGTERM). */
async function startOutput(dataDir: string, env: Record<string, string>): Promise<string> {
  const port = await freePort();
  const child = spawn(process.execPath, [BIN, "start", "--port", String(port), "--data-dir", dataDir], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, RUNCAST_SECRET_KEY: "", RUNCAST_SERVER_KEY: "", DATABASE_URL: "", ...env },
  });
  let out = "";
  child.stdout.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr.on("data", (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
  const deadline = Date.now() + 60_000;
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`runcast start exited: ${out}`);
      if (await fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.ok, () => false)) break;
      if (Date.now() > deadline) throw new Error(`runcast start did not become healthy: ${out}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    // Let it print everything it prints at start (the banner comes once the server listens).
    await new Promise((r) => setTimeout(r, 300));
  } finally {
    child.kill("SIGTERM");
    await exited;
  }
  return out;
}

test("runcast start, the production command, never prints a secret key; keys at rest need the server key", async () => {
  const root = mkdtempSync(join(tmpdir(), TEST_DIR_PREFIX));
  chmodSync(root, 0o755);
  const dataDir = join(root, "data");
  try {
    const generated = await startOutput(dataDir, {});
    const saved = readFileSync(join(dataDir, "secret-key"), "utf8").trim();
    assert.match(saved, /^tr_dev_[0-9a-zA-Z]{24}$/);
    assert.equal(statSync(join(dataDir, "secret-key")).mode & 0o777, 0o600);
    assert.equal(statSync(join(dataDir, "server-key")).mode & 0o777, 0o600, "the generated server key is private");
    assert.ok(!generated.includes(saved), `the generated key was printed:\n${generated}`);
    assert.ok(!generated.includes(saved.slice("tr_dev_".length)), "no part of it either");
    assert.match(generated, /Secret key\s+in .*secret-key \(not shown\)/);
    assert.match(generated, /\$RUNCAST_SECRET_KEY/, "the example commands name the variable instead");
    const configured = generateSecretKey("prod");
    const withKey = await startOutput(dataDir, { RUNCAST_SECRET_KEY: configured });
    assert.ok(!withKey.includes(configured.slice("tr_prod_".length)), `the configured key was printed:\n${withKey}`);
    assert.match(withKey, /from RUNCAST_SECRET_KEY \(not shown\)/);
    // Another server key cannot open the keys sealed with the first: the node refuses to start, saying why.
    await assert.rejects(startOutput(dataDir, { RUNCAST_SERVER_KEY: Buffer.alloc(32, 9).toString("base64") }), /sealed with another server key/);
    await assert.rejects(startOutput(dataDir, { RUNCAST_SERVER_KEY: "too-short" }), /RUNCAST_SERVER_KEY must be 32 random bytes/);
    // A guessable key would let anyone holding a public token find it offline.
    await assert.rejects(startOutput(dataDir, { RUNCAST_SECRET_KEY: "tr_prod_password" }), /RUNCAST_SECRET_KEY is refused: .*24/);
    await assert.rejects(startOutput(dataDir, { RUNCAST_SECRET_KEY: `tr_prod_${"ab".repeat(12)}` }), /RUNCAST_SECRET_KEY is refused: .*random/);
    assert.deepEqual(postgresOf(join(dataDir, "postgres")), []);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
