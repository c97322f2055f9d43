import { test } from "node:test";
import assert from "node:assert/strict";
import { colorsFor, formatDuration, progressBar, progressOf, type RunView } from "./render.ts";
import { RunLog } from "./views.ts";

test("colours: on in a terminal, off when piped, with NO_COLOR (any non-empty value) or TERM=dumb; FORCE_COLOR turns them on", () => {
  const on = (tty: boolean, env: NodeJS.ProcessEnv) => colorsFor({ isTTY: tty }, env).green("x") !== "x";
  assert.equal(on(true, {}), true);
  assert.equal(on(false, {}), false);
  assert.equal(on(true, { NO_COLOR: "1" }), false);
  assert.equal(on(true, { NO_COLOR: "" }), true, "an empty NO_COLOR is unset (no-color.org)");
  assert.equal(on(true, { TERM: "dumb" }), false);
  assert.equal(on(false, { FORCE_COLOR: "1" }), true);
  assert.equal(on(true, { FORCE_COLOR: "0" }), false);
  assert.equal(on(false, { FORCE_COLOR: "1", NO_COLOR: "1" }), false, "NO_COLOR wins");
});

test("progress: a metadata number 0..1 (or a percent), anything else means no bar; the bar has ten cells", () => {
  assert.equal(progressOf({ metadata: { progress: 0.25 } }), 0.25);
  assert.equal(progressOf({ metadata: { progress: 40 } }), 0.4);
  for (const progress of [undefined, "0.5", -1, 101, Number.NaN, null]) assert.equal(progressOf({ metadata: { progress } }), undefined, String(progress));
  assert.equal(progressOf({ metadata: undefined }), undefined);
  const plain = colorsFor({ isTTY: false }, {});
  assert.equal(progressBar(plain, 0.5), "█████░░░░░  50%");
  assert.equal(progressBar(plain, 1), "██████████ 100%");
  assert.equal(progressBar(plain, 0), "░░░░░░░░░░   0%");
});

test("durations read as people say them", () => {
  assert.deepEqual([450, 2_340, 65_000, 3_600_000 + 120_000].map(formatDuration), ["450ms", "2.3s", "1m 05s", "1h 02m"]);
});

test("the run log prints a line per new status, and per 10 % of progress, not per metadata write", () => {
  const log = new RunLog(colorsFor({ isTTY: false }, {}), { progressLines: true });
  const run = (status: RunView["status"], progress?: number): RunView => ({
    id: "run_1",
    taskIdentifier: "resize",
    status,
    createdAt: new Date(0),
    startedAt: status === "QUEUED" ? undefined : new Date(1_000),
    finishedAt: status === "COMPLETED" ? new Date(3_500) : undefined,
    tags: [],
    metadata: progress === undefined ? undefined : { progress },
  });
  const states = [run("QUEUED"), run("EXECUTING"), run("EXECUTING", 0.11), run("EXECUTING", 0.12), run("EXECUTING", 0.14), run("EXECUTING", 0.21), run("COMPLETED", 1)];
  const lines = states.map((s) => log.line(s, 2_000)).filter((l): l is string => l !== undefined);
  assert.equal(lines.length, 5, lines.join("\n"));
  assert.match(lines[0] ?? "", /QUEUED\s+resize\s+run_1$/);
  assert.match(lines[2] ?? "", /EXECUTING\s+resize\s+run_1\s+1\.0s\s+█░░░░░░░░░\s+11%/);
  assert.match(lines[4] ?? "", /COMPLETED\s+resize\s+run_1\s+2\.5s\s+██████████ 100%/);
  assert.equal(log.line(run("COMPLETED", 1)), undefined, "the same state again prints nothing");
});
