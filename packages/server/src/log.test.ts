import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import pg from "pg";
import type { EmbeddedDatabase } from "./db/embedded.ts";
import { createLogger, redactSecrets } from "./log.ts";
import { startTestPostgres } from "./testing/pg.ts";
import { spawnServer, type ServerProcess } from "./testing/server-process.ts";

const BIN = fileURLToPath(new URL("../bin/runcast.js", import.meta.url));

let db: EmbeddedDatabase;
const databases: string[] = [];
before(async () => {
  db = await startTestPostgres();
});
after(async () => {
  if (databases.length) {
    const admin = new pg.Client({ connectionString: db.url });
    await admin.connect();
    try {
      for (const name of databases) {
        await admin.query("SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE database = $1 AND NOT active", [name]);
        await admin.query(`DROP DATABASE ${name} WITH (FORCE)`);
      }
    } finally {
      await admin.end();
    }
  }
  await db?.stop();
});

/**
 * A new database on the test server: a node starting on it applies the migrations and makes a dev key, which it
 * says at info level, so every start has lines to filter.
 */
async function freshDatabase(): Promise<string> {
  const name = `runcast_log_${databases.length}`;
  const admin = new pg.Client({ connectionString: db.url });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  databases.push(name);
  const url = new URL(db.url);
  url.pathname = `/${name}`;
  return url.toString();
}

interface Line {
  level: string;
  time: string;
  msg: string;
  [field: string]: unknown;
}

/** The JSON log lines of a server's output (its banner, on stdout, is text). */
function jsonLines(output: string): Line[] {
  return output
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as Line);
}

/** Runs `fn` against `runcast start` with `env`, stops it, and returns everything it printed. */
async function withServer(env: Record<string, string>, fn: (server: ServerProcess) => Promise<void> = async () => {}): Promise<string> {
  const server = await spawnServer(await freshDatabase(), env);
  try {
    await fn(server);
  } finally {
    await server.stop();
  }
  return server.output();
}

test("LOG_LEVEL=debug: one JSON line per request with method, route, path, status and duration; no key or token in any line", async () => {
  let secretKey = "";
  let token = "";
  let runId = "";
  const output = await withServer({ LOG_LEVEL: "debug" }, async (server) => {
    secretKey = server.secretKey;
    const res = await fetch(`${server.url}/api/v1/tasks/log-test/trigger`, {
      method: "POST",
      headers: { authorization: `Bearer ${secretKey}`, "content-type": "application/json" },
      body: JSON.stringify({ payload: { hello: "logs" } }),
    });
    assert.equal(res.status, 200);
    ({ id: runId, publicAccessToken: token } = (await res.json()) as { id: string; publicAccessToken: string });
    // A token in the query string (as some clients send it) and in the header, and a key in a path.
    assert.equal((await fetch(`${server.url}/api/v3/runs/${runId}?token=${token}`, { headers: { authorization: `Bearer ${token}` } })).status, 200);
    assert.equal((await fetch(`${server.url}/api/v3/runs/${secretKey}`, { headers: { authorization: `Bearer ${secretKey}` } })).status, 404);
    assert.equal((await fetch(`${server.url}/api/v3/runs/${runId}`, { headers: { authorization: "Bearer tr_dev_notavalidkey00000000000000" } })).status, 401);
  });
  assert.ok(!output.includes(secretKey), `the secret key is in the output:\n${output}`);
  assert.ok(!output.includes(secretKey.slice("tr_dev_".length)), "no part after its prefix either");
  assert.ok(!output.includes(token.split(".")[2] as string), "nor the public token's signature");
  assert.ok(!output.includes("notavalidkey"), "nor a wrong key someone sent");

  const lines = jsonLines(output);
  for (const l of lines) {
    assert.ok(["debug", "info", "warn", "error"].includes(l.level), `a level name: ${JSON.stringify(l)}`);
    assert.ok(!Number.isNaN(Date.parse(l.time)), `an ISO time: ${l.time}`);
  }
  const requests = lines.filter((l) => l.msg === "request");
  const trigger = requests.find((l) => l.route === "/api/v1/tasks/:taskId/trigger");
  assert.ok(trigger, `a line for the trigger request:\n${output}`);
  assert.equal(trigger.level, "debug");
  assert.equal(trigger.method, "POST");
  assert.equal(trigger.path, "/api/v1/tasks/log-test/trigger");
  assert.equal(trigger.status, 200);
  assert.equal(typeof trigger.durationMs, "number");
  const retrieve = requests.filter((l) => l.route === "/api/v3/runs/:runId");
  assert.deepEqual(retrieve.map((l) => l.status), [200, 404, 401]);
  for (const l of requests) {
    assert.ok(!String(l.path).includes("?"), `no query string in ${JSON.stringify(l)}`);
    assert.equal(Object.keys(l).some((k) => /header|authorization/i.test(k)), false, `no headers in ${JSON.stringify(l)}`);
  }
  assert.equal(retrieve[1]?.path, "/api/v3/runs/tr_dev_[redacted]", "a key in a path is blanked out");
});

test("LOG_LEVEL filters: info by default, nothing below warn at warn; JSON lines on a pipe", async () => {
  // On a new database, without RUNCAST_SECRET_KEY, the node applies its migrations and makes a dev key, and says so at info.
  const info = jsonLines(await withServer({ RUNCAST_SECRET_KEY: "" }, async (server) => void (await fetch(`${server.url}/healthz`))));
  assert.ok(info.some((l) => l.level === "info" && l.msg === "migrations applied"), JSON.stringify(info));
  assert.ok(info.some((l) => l.level === "info" && l.msg === "generated a secret key for the dev environment"), JSON.stringify(info));
  assert.equal(info.filter((l) => l.level === "debug").length, 0, "no debug lines (no request lines) at info");

  const warn = await withServer({ RUNCAST_SECRET_KEY: "", LOG_LEVEL: "WARN" }, async (server) => void (await fetch(`${server.url}/healthz`)));
  assert.deepEqual(
    jsonLines(warn).filter((l) => l.level === "info" || l.level === "debug"),
    [],
  );
  assert.ok(!warn.includes("generated a secret key") && !warn.includes("migrations applied"), warn);
});

test("LOG_FORMAT=pretty: readable lines instead of JSON", async () => {
  const output = await withServer({ RUNCAST_SECRET_KEY: "", LOG_FORMAT: "pretty" });
  const line = output.split("\n").find((l) => l.includes("generated a secret key for the dev environment"));
  assert.ok(line, output);
  assert.ok(!line.trimStart().startsWith("{"), `not JSON: ${line}`);
  assert.match(line, /INFO/);
  assert.equal(jsonLines(output).length, 0);
});

test("a LOG_LEVEL or LOG_FORMAT that is not one of the names stops the command at once, saying which are", async () => {
  for (const [name, value, expected] of [
    ["LOG_LEVEL", "verbose", /LOG_LEVEL must be one of debug, info, warn, error, got "verbose"/],
    ["LOG_FORMAT", "xml", /LOG_FORMAT must be json or pretty, got "xml"/],
  ] as const) {
    // Every command reads LOG_LEVEL; LOG_FORMAT goes through the same function.
    const commands = name === "LOG_LEVEL" ? [["start"], ["dev", "--tasks", "/nonexistent"], ["worker", "--tasks", "/nonexistent"]] : [["start"]];
    for (const command of commands) {
      const child = spawn(process.execPath, [BIN, ...command], {
        stdio: ["ignore", "pipe", "pipe"],
        env: { ...process.env, [name]: value, DATABASE_URL: "postgres://127.0.0.1:1/none" },
      });
      let out = "";
      child.stdout.on("data", (d: Buffer) => (out += d.toString()));
      child.stderr.on("data", (d: Buffer) => (out += d.toString()));
      const code = await new Promise<number | null>((r) => child.once("exit", (c) => r(c)));
      assert.equal(code, 1, `${command} with ${name}=${value}: ${out}`);
      assert.match(out, expected);
    }
  }
});

test("redactSecrets blanks out keys, tokens and connection passwords wherever they are in a text", () => {
  const key = "tr_prod_AbCdEfGhIjKlMnOpQrStUvWx";
  const jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJlbnZfZGV2In0.c2lnbmF0dXJlLWJ5dGVz";
  const text = `key ${key}, token=${jwt}, url postgres://runcast:s3cr%40t@db:5432/runcast`;
  const out = redactSecrets(text);
  assert.equal(out, "key tr_prod_[redacted], token=[redacted token], url postgres://runcast:[redacted]@db:5432/runcast");
  assert.equal(redactSecrets("run run_abc queued on task/echo"), "run run_abc queued on task/echo", "ordinary text is kept");
});

test("lines handed to a live view: each formatted line, whole and without its newline, levels and redaction kept (runcast dev prints them above its run view)", async () => {
  const key = "tr_dev_AbCdEfGhIjKlMnOpQrStUvWx";
  for (const format of ["json", "pretty"] as const) {
    const lines: string[] = [];
    const log = createLogger({ level: "warn", format, lines: (line) => lines.push(line) });
    log("info", "not shown at warn");
    log("warn", `a warning about ${key}`, { component: "sync" });
    log("error", "an error");
    // pino-pretty hands its lines on through a stream: give it a turn.
    await new Promise((r) => setTimeout(r, 50));
    const all = lines.join("\n");
    assert.ok(lines.length >= 2 && lines.every((l) => l && !l.includes("\n")), `${format}: whole lines ${JSON.stringify(lines)}`);
    assert.match(all, /a warning about tr_dev_\[redacted\]/);
    assert.match(all, /an error/);
    assert.doesNotMatch(all, /not shown|AbCdEf/);
    // JSON: a line per entry; pretty: its fields on lines of their own under the entry.
    if (format === "json") assert.deepEqual(lines.map((l) => (JSON.parse(l) as { level: string }).level), ["warn", "error"]);
    else assert.ok(lines.some((l) => l.includes("component")), "pretty shows the fields");
  }
});
