import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "../db/embedded.ts";
import { TEST_TASKS_DIR } from "../testing/node.ts";
import { TEST_DIR_PREFIX } from "../testing/pg.ts";
import { HAS_SCRIPT, plainText, runCli, startCli, startCliInPty } from "../testing/cli-process.ts";
import { useServerProcess } from "../testing/server-process.ts";
import { spawnWorker, type WorkerProcess } from "../testing/worker-process.ts";

// The client commands as a user runs them: real `runcast` processes against `runcast start` and `runcast
// worker` processes over a real PostgreSQL; their output, JSON and exit codes (cli/errors.ts EXIT).

let worker: WorkerProcess | undefined;
const emptyDir = mkdtempSync(join(tmpdir(), TEST_DIR_PREFIX));
const setup = useServerProcess(
  {},
  {
    async setup() {
      worker = spawnWorker(setup.server.url, setup.server.secretKey, TEST_TASKS_DIR);
      await worker.ready;
    },
    async teardown() {
      if (worker && worker.child.exitCode === null) {
        worker.child.kill("SIGTERM");
        await worker.exited;
      }
      rmSync(emptyDir, { recursive: true, force: true });
    },
  },
);

/** The server and key, as a user in another folder sets them (no dev data dir to fall back on). */
const env = () => ({ RUNCAST_API_URL: setup.server.url, RUNCAST_SECRET_KEY: setup.server.secretKey, RUNCAST_DATA_DIR: emptyDir });

const uniqueTag = (name: string) => `${name}_${Math.random().toString(36).slice(2, 10)}`;

interface RunLine {
  id: string;
  status: string;
  taskIdentifier: string;
  tags: string[];
  output?: unknown;
  metadata?: Record<string, unknown>;
}

test("trigger --json, then runs list finds the run by tag and status, as JSON and as a table", async () => {
  const tag = uniqueTag("list");
  const t = await runCli(["trigger", "echo", "--payload", '{"value":"hi"}', "--tag", tag, "--json", "--watch"], env());
  assert.equal(t.code, 0, t.stderr);
  const lines = t.stdout.trim().split("\n").map((l) => JSON.parse(l) as RunLine);
  const handle = lines[0] as unknown as { id: string; publicAccessToken: string };
  assert.match(handle.id, /^run_/);
  assert.ok(handle.publicAccessToken, "the JSON has the run's read token for scripts that hand it on");
  const last = lines.at(-1);
  assert.equal(last?.status, "COMPLETED", t.stdout);
  assert.deepEqual(last?.output, { echoed: "hi" });
  assert.equal(t.stderr, "", "nothing but JSON lines when --json");

  const list = await runCli(["runs", "list", "--tag", tag, "--status", "completed", "--json"], env());
  assert.equal(list.code, 0, list.stderr);
  const found = JSON.parse(list.stdout) as RunLine[];
  assert.deepEqual(
    found.map((r) => [r.id, r.status, r.taskIdentifier]),
    [[handle.id, "COMPLETED", "echo"]],
  );
  const none = await runCli(["runs", "list", "--tag", tag, "--status", "FAILED", "--json"], env());
  assert.deepEqual(JSON.parse(none.stdout), []);

  const table = await runCli(["runs", "list", "--tag", tag], env());
  assert.equal(table.code, 0, table.stderr);
  assert.match(table.stdout, /STATUS\s+TASK\s+RUN/);
  assert.match(table.stdout, new RegExp(`COMPLETED\\s+echo\\s+${handle.id}`));
  assert.doesNotMatch(table.stdout, /\x1b\[/, "no colours when piped");
});

test("trigger --watch prints the run's states, its progress and output, and exits by its outcome", async () => {
  const ok = await runCli(["trigger", "stepper", "--payload", '{"steps":4,"stepMs":60}', "--watch"], env());
  assert.equal(ok.code, 0, ok.stdout + ok.stderr);
  assert.match(ok.stdout, /✔ triggered stepper: run_\w+/);
  assert.match(ok.stdout, /COMPLETED\s+stepper\s+run_\w+\s+\S+\s+██████████ 100%/, ok.stdout);
  assert.match(ok.stdout, /EXECUTING\s+stepper .*█████░░░░░\s+50%/, "progress lines on the way");
  assert.match(ok.stdout, /output {2}\{"steps":4\}/);

  const failed = await runCli(["trigger", "failing", "--watch"], env());
  assert.equal(failed.code, 1, "a watched run that FAILED exits 1");
  assert.match(failed.stdout, /FAILED\s+failing/);
  assert.match(failed.stdout, /error {3}\S*Error: /);
});

test("trigger refuses bad input with exit code 2 and a message naming the flag; an unknown task is a clear failure", async () => {
  const badJson = await runCli(["trigger", "echo", "--payload", "{value: 1}"], env());
  assert.equal(badJson.code, 2);
  assert.match(badJson.stderr, /--payload is not valid JSON/);
  assert.equal(badJson.stdout, "");

  const badJsonJson = await runCli(["trigger", "echo", "--payload", "nope", "--json"], env());
  assert.equal(badJsonJson.code, 2);
  const err = JSON.parse(badJsonJson.stderr) as { error: { code: string; message: string; exitCode: number } };
  assert.equal(err.error.code, "invalid_payload");
  assert.equal(err.error.exitCode, 2);

  const unknown = await runCli(["trigger", "no-such-task"], env());
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /no task "no-such-task" in this environment \(known tasks: .*echo.*\)/);
  assert.match(unknown.stderr, /--force/);

  const forced = await runCli(["trigger", "no-such-task", "--force", "--json"], env());
  assert.equal(forced.code, 0, forced.stderr);
  const { id } = JSON.parse(forced.stdout) as { id: string };
  const waiting = await runCli(["runs", "list", "--task", "no-such-task", "--json"], env());
  assert.equal((JSON.parse(waiting.stdout) as RunLine[]).find((r) => r.id === id)?.status, "WAITING_FOR_DEPLOY");

  const badId = await runCli(["trigger", "bad id!"], { ...env() });
  assert.equal(badId.code, 1, "the task check finds no such task before the server would refuse the id");

  const unknownOption = await runCli(["trigger", "echo", "--paylod", "{}"], env());
  assert.equal(unknownOption.code, 2);
  assert.match(unknownOption.stderr, /unknown option '--paylod'/);
  const missing = await runCli(["trigger"], env());
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /missing required argument 'task'/);
  const tooMany = await runCli(["trigger", "echo", ...Array.from({ length: 11 }, (_, i) => ["--tag", `t${i}`]).flat()], env());
  assert.equal(tooMany.code, 2);
  assert.match(tooMany.stderr, /--tag: at most 10 tags/);
});

test("runs list: bad --status or --limit is exit 2 naming the flag; --limit bounds the list", async () => {
  const badStatus = await runCli(["runs", "list", "--status", "DONE"], env());
  assert.equal(badStatus.code, 2);
  assert.match(badStatus.stderr, /--status: "DONE" is not a run status; use one of WAITING_FOR_DEPLOY/);
  for (const limit of ["0", "-3", "1.5", "x", "1001"]) {
    const r = await runCli(["runs", "list", "--limit", limit], env());
    assert.equal(r.code, 2, `--limit ${limit}`);
    assert.match(r.stderr, /--limit must be a whole number from 1 to 1000/);
  }
  const since = await runCli(["runs", "watch", "--since", "soon"], env());
  assert.equal(since.code, 2);
  assert.match(since.stderr, /--since must be a duration such as 30m, 6h or 7d, got "soon"/);
  const unknownJson = await runCli(["runs", "list", "--colour", "--json"], env());
  assert.equal(unknownJson.code, 2);
  assert.deepEqual(JSON.parse(unknownJson.stderr), { error: { code: "unknown_option", message: "unknown option '--colour'", exitCode: 2 } }, "usage errors are JSON too under --json");
  const tag = uniqueTag("limit");
  for (let i = 0; i < 3; i++) assert.equal((await runCli(["trigger", "echo", "--payload", '{"value":"x"}', "--tag", tag, "--json"], env())).code, 0);
  const two = await runCli(["runs", "list", "--tag", tag, "--limit", "2", "--json"], env());
  assert.equal((JSON.parse(two.stdout) as RunLine[]).length, 2);
});

test("cancel: a running run is canceled (exit 0); a finished one is reported (exit 1); an unknown one is not found", async () => {
  const started = await runCli(["trigger", "sleeper", "--payload", '{"ms":60000}', "--json"], env());
  const { id } = JSON.parse(started.stdout) as { id: string };
  const canceled = await runCli(["cancel", id, "--json"], env());
  assert.equal(canceled.code, 0, canceled.stderr);
  assert.deepEqual(JSON.parse(canceled.stdout), { id, taskIdentifier: "sleeper", status: "CANCELED", canceled: true });

  const done = await runCli(["trigger", "echo", "--payload", '{"value":"x"}', "--watch", "--json"], env());
  const doneId = (JSON.parse(done.stdout.split("\n")[0] ?? "") as { id: string }).id;
  const late = await runCli(["cancel", doneId], env());
  assert.equal(late.code, 1);
  assert.match(late.stdout, new RegExp(`${doneId} had already finished \\(COMPLETED\\): nothing to cancel`));

  const unknown = await runCli(["cancel", "run_doesnotexist000000000"], env());
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /runcast: .*run_doesnotexist000000000/);
});

test("keys: list by prefix, create (the secret shown once), revoke by prefix; the revoked key is refused with exit 4", async () => {
  const created = await runCli(["keys", "create", "--name", "cli-test", "--json"], env());
  assert.equal(created.code, 0, created.stderr);
  const key = JSON.parse(created.stdout) as { id: string; prefix: string; secretKey: string; name: string; environment: string };
  assert.match(key.secretKey, /^tr_dev_[0-9a-zA-Z]{24}$/);
  assert.equal(key.name, "cli-test");

  const human = await runCli(["keys", "create"], env());
  assert.equal(human.code, 0);
  assert.match(human.stdout, /created key key_\w+ in dev\n\n {2}tr_dev_[0-9a-zA-Z]{24}\n\n {2}It is shown this once/);

  const listed = await runCli(["keys"], env());
  assert.equal(listed.code, 0, listed.stderr);
  assert.match(listed.stdout, new RegExp(`${key.prefix}…\\s+${key.id}\\s+cli-test\\s+dev\\s+\\S+ ago\\s+active`));
  assert.ok(!listed.stdout.includes(key.secretKey) && !listed.stdout.includes(setup.server.secretKey), "lists never show a secret");

  const withNew = { ...env(), RUNCAST_SECRET_KEY: key.secretKey };
  assert.equal((await runCli(["runs", "list", "--limit", "1"], withNew)).code, 0, "the new key works");
  const revoked = await runCli(["keys", "revoke", `${key.prefix}…`, "--json"], env());
  assert.equal(revoked.code, 0, revoked.stderr);
  assert.equal((JSON.parse(revoked.stdout) as { id: string; revokedAt: string | null }).id, key.id);
  const refused = await runCli(["runs", "list"], withNew);
  assert.equal(refused.code, 4, refused.stderr);
  assert.match(refused.stderr, /check RUNCAST_SECRET_KEY or --secret-key/);

  const again = await runCli(["keys", "revoke", "tr_dev_zzzz"], env());
  assert.equal(again.code, 1);
  assert.match(again.stderr, /no key with the id or prefix "tr_dev_zzzz"/);
});

test("no key, a wrong key, and a server that is not there: exit codes 4, 4 and 3, saying what to do", async () => {
  const noKey = await runCli(["runs", "list"], { ...env(), RUNCAST_SECRET_KEY: "" });
  assert.equal(noKey.code, 4);
  assert.match(noKey.stderr, /no secret key: set RUNCAST_SECRET_KEY/);
  const wrong = await runCli(["runs", "list", "--secret-key", "tr_dev_000000000000000000000000"], env());
  assert.equal(wrong.code, 4);
  const port = await freePort();
  const down = await runCli(["runs", "list", "--api-url", `http://127.0.0.1:${port}`, "--json"], env());
  assert.equal(down.code, 3);
  assert.equal((JSON.parse(down.stderr) as { error: { code: string } }).error.code, "server_unreachable");
  const badUrl = await runCli(["runs", "list", "--api-url", "ftp://x"], env());
  assert.equal(badUrl.code, 2);
  assert.match(badUrl.stderr, /--api-url \/ RUNCAST_API_URL must be an http\(s\) URL/);
});

test("runs watch RUN_ID follows one run to its end and exits by its outcome; RUN_ID and --tag together is a usage error", async () => {
  const started = await runCli(["trigger", "stepper", "--payload", '{"steps":3,"stepMs":100}', "--json"], env());
  const { id } = JSON.parse(started.stdout) as { id: string };
  const watched = await runCli(["runs", "watch", id, "--json"], env());
  assert.equal(watched.code, 0, watched.stderr);
  const states = watched.stdout.trim().split("\n").map((l) => JSON.parse(l) as RunLine);
  assert.ok(states.every((s) => s.id === id));
  assert.equal(states.at(-1)?.status, "COMPLETED");

  const both = await runCli(["runs", "watch", id, "--tag", "x"], env());
  assert.equal(both.code, 2);
  assert.match(both.stderr, /a RUN_ID or filters/);
  const missing = await runCli(["runs", "watch", "run_doesnotexist000000000"], env());
  assert.equal(missing.code, 1);
});

test("runs watch --tag, piped: a line per change, new runs included, until Ctrl-C (exit 0)", async () => {
  const tag = uniqueTag("watch");
  const trigger = async () => {
    const t = await runCli(["trigger", "stepper", "--payload", '{"steps":2,"stepMs":50}', "--tag", tag, "--json"], env());
    return (JSON.parse(t.stdout) as { id: string }).id;
  };
  const before = await trigger();
  const view = startCli(["runs", "watch", "--tag", tag], env());
  try {
    // A run from before shows as it is now; once it is there the feed is live, and a new run shows each change.
    await view.waitFor(new RegExp(`\\s${before}`));
    const id = await trigger();
    await view.waitFor(new RegExp(`COMPLETED\\s+stepper\\s+${id}`));
    assert.match(view.output(), new RegExp(`\\d\\d:\\d\\d:\\d\\d {2}(QUEUED|EXECUTING)\\s+stepper\\s+${id}`));
  } finally {
    assert.equal(await view.interrupt(), 0, view.output());
  }
});

test("runs watch in a terminal: a table redrawn in place, statuses in colour, progress bars; Ctrl-C ends it (exit 0)", { skip: HAS_SCRIPT ? false : "util-linux `script` is not installed" }, async () => {
  const tag = uniqueTag("pty");
  const view = startCliInPty(["runs", "watch", "--tag", tag], env());
  try {
    await view.waitFor(/no runs yet/);
    const t = await runCli(["trigger", "stepper", "--payload", '{"steps":5,"stepMs":150}', "--tag", tag, "--json"], env());
    const { id } = JSON.parse(t.stdout) as { id: string };
    await view.waitFor(new RegExp(`COMPLETED.*${id}`));
    const raw = view.output();
    assert.match(raw, /\x1b\[32mCOMPLETED/, "COMPLETED in green");
    assert.match(raw, /\x1b\[34mEXECUTING/, "EXECUTING in blue");
    // log-update moves the cursor up and erases lines to redraw the table where it was.
    assert.match(raw, /\x1b\[\d*A/, "the cursor goes back up to redraw");
    assert.match(raw, /\x1b\[2K/, "lines are erased and drawn again");
    const text = plainText(raw);
    assert.match(text, new RegExp(`Runs tagged ${tag}\\s+1 · live · Ctrl-C to stop`));
    assert.match(text, /STATUS\s+TASK\s+RUN\s+CREATED\s+DURATION\s+TAGS\s+PROGRESS/);
    assert.match(text, /█+░+\s+\d+%/, "a progress bar while it runs");
    assert.match(text, /██████████ 100%/);
  } finally {
    assert.equal(await view.interrupt(), 0, plainText(view.output()));
  }
});
