import { test } from "node:test";
import assert from "node:assert/strict";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { freePort } from "../db/embedded.ts";
import { HAS_SCRIPT, plainText, postgresOf, runCli, startCliInPty } from "../testing/cli-process.ts";
import { TEST_DIR_PREFIX } from "../testing/pg.ts";

const SDK = fileURLToPath(new URL("../../../sdk", import.meta.url));

/** A task file as a user writes one; `version` is what the edit changes. */
const taskFile = (version: number | string) => `import { existsSync } from "node:fs";
import { metadata, task } from "@runcast/sdk";

const VERSION = ${version};

/** Returns the code's version; with a gate, only once the gate file exists (so it can be caught running). */
export const ver = task({
  id: "ver",
  run: async (payload: { gate?: string } | null, { signal }) => {
    while (payload?.gate && !existsSync(payload.gate)) {
      signal.throwIfAborted();
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    return { version: VERSION };
  },
});

/** Reports its progress in metadata, step by step. */
export const progress = task({
  id: "progress",
  run: async (payload: { steps: number }) => {
    for (let i = 1; i <= payload.steps; i++) {
      metadata.set("progress", i / payload.steps);
      await metadata.flush();
      await new Promise((resolve) => setTimeout(resolve, 120));
    }
    return { steps: payload.steps };
  },
});
`;

const count = (text: string, part: string) => text.split(part).length - 1;

test(
  "runcast dev in a terminal: the key once, a live coloured log with progress, task files reloaded on change (running runs finish on the old code), clean Ctrl-C",
  { skip: HAS_SCRIPT ? false : "util-linux `script` is not installed", timeout: 180_000 },
  async () => {
    // A user's project: its own folder and package.json, the SDK installed, a task folder.
    const root = mkdtempSync(join(tmpdir(), TEST_DIR_PREFIX));
    chmodSync(root, 0o755);
    const tasksDir = join(root, "tasks");
    const dataDir = join(root, "data");
    mkdirSync(join(root, "node_modules", "@runcast"), { recursive: true });
    symlinkSync(SDK, join(root, "node_modules", "@runcast", "sdk"));
    writeFileSync(join(root, "package.json"), JSON.stringify({ type: "module" }));
    mkdirSync(tasksDir);
    const file = join(tasksDir, "ver.ts");
    writeFileSync(file, taskFile(1));
    const port = await freePort();
    // Commands typed next to it: the key comes from the data dir, as the banner's examples do it.
    const cli = (args: string[]) => runCli([...args, "--api-url", `http://localhost:${port}`, "--data-dir", dataDir], { RUNCAST_SECRET_KEY: "", RUNCAST_API_URL: "" });
    const finalState = async (id: string) => {
      const r = await cli(["runs", "watch", id, "--json"]);
      return JSON.parse(r.stdout.trim().split("\n").at(-1) ?? "{}") as { status: string; output?: unknown };
    };
    const dev = startCliInPty(["dev", "--tasks", tasksDir, "--port", String(port), "--data-dir", dataDir], { RUNCAST_SECRET_KEY: "", DATABASE_URL: "" });
    let stopped = false;
    try {
      await dev.waitFor(/worker ready: progress, ver/, 90_000);
      const key = /Secret key\s+(?:\x1b\[\d+m)*(tr_dev_[0-9a-zA-Z]{24})/.exec(dev.output())?.[1];
      assert.ok(key, `no key in the banner:\n${dev.output()}`);
      // The commands to try come right after the worker's first ready line, maybe in a later read of the terminal.
      await dev.waitFor(/npx runcast trigger/);
      assert.match(plainText(dev.output()), new RegExp(`npx runcast trigger progress --watch --api-url http://localhost:${port} --data-dir ${dataDir}`));

      // The live log: each status in colour, with duration and progress bar; the runs going are redrawn.
      const triggered = await cli(["trigger", "progress", "--payload", '{"steps":5}', "--json"]);
      assert.equal(triggered.code, 0, triggered.stderr);
      const { id } = JSON.parse(triggered.stdout) as { id: string };
      await dev.waitFor(new RegExp(`COMPLETED.*${id}`));
      const raw = dev.output();
      assert.match(raw, new RegExp(`\\x1b\\[32mCOMPLETED\\s*\\x1b\\[39m.*${id}`), "COMPLETED in green on the run's line");
      assert.match(raw, new RegExp(`\\x1b\\[34mEXECUTING`), "EXECUTING in blue");
      assert.match(raw, /\x1b\[2K/, "the runs going are erased and redrawn in place");
      const log = plainText(raw);
      assert.match(log, new RegExp(`\\d\\d:\\d\\d:\\d\\d {2}COMPLETED\\s+progress\\s+${id}\\s+\\d[\\d.]*m?s\\s+██████████ 100%`), log);
      assert.match(log, /EXECUTING\s+progress\s+run_\w+\s+\S+\s+\S+\s+\S+\s+█+░+\s+\d+%/, "the run going, drawn with its bar");

      // A run that is going when the file changes finishes on the code it started with; new runs get the new code.
      const gate = join(root, "gate");
      const held = await cli(["trigger", "ver", "--payload", JSON.stringify({ gate }), "--json"]);
      const heldId = (JSON.parse(held.stdout) as { id: string }).id;
      await dev.waitFor(new RegExp(`EXECUTING.*${heldId}`));
      writeFileSync(file, taskFile(2));
      await dev.waitFor(/worker ready: progress, ver \(reloaded\)/, 60_000);
      assert.match(plainText(dev.output()), /task files changed: reloading\n[\s\S]*1 run finishing on the previous code\n[\s\S]*worker ready: progress, ver \(reloaded\)/);
      const fresh = await cli(["trigger", "ver", "--watch", "--json"]);
      assert.equal(fresh.code, 0, fresh.stdout + fresh.stderr);
      assert.deepEqual(JSON.parse(fresh.stdout.trim().split("\n").at(-1) ?? "{}").output, { version: 2 }, "a new run runs the new code");
      writeFileSync(gate, "");
      const heldEnd = await finalState(heldId);
      assert.equal(heldEnd.status, "COMPLETED");
      assert.deepEqual(heldEnd.output, { version: 1 }, "the running one finished on the old code");

      // Files that do not load leave the worker running the code it has.
      writeFileSync(file, `${taskFile(3)}\nexport const broken = ;\n`);
      await dev.waitFor(/the task files do not load; the worker keeps running the previous code/, 60_000);
      const still = await cli(["trigger", "ver", "--watch", "--json"]);
      assert.deepEqual(JSON.parse(still.stdout.trim().split("\n").at(-1) ?? "{}").output, { version: 2 });

      // Ctrl-C: everything stops, exit 0. The key was printed once in the whole session.
      const code = await dev.interrupt();
      stopped = true;
      const all = dev.output();
      assert.equal(code, 0, plainText(all));
      assert.match(plainText(all), /stopping…/);
      assert.equal(count(all, key), 1, "the secret key appears once (the banner)");
      assert.equal(count(all, key.slice("tr_dev_".length)), 1, "no part of it elsewhere");
      assert.deepEqual(postgresOf(join(dataDir, "postgres")), [], "PostgreSQL stopped");
    } finally {
      if (!stopped) await dev.interrupt();
      rmSync(root, { recursive: true, force: true });
    }
  },
);
