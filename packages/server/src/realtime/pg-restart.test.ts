// PostgreSQL restarts while runs execute and subscribers listen: the server and the worker reconnect by
// themselves, every subscriber carries on (or starts over cleanly) and sees its run finish, every run finishes.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { runs, type RunStatus } from "@runcast/sdk";
import { startEmbeddedPostgres, type EmbeddedDatabase } from "../db/embedded.ts";
import { TEST_DIR_PREFIX } from "../testing/pg.ts";
import { spawnServer, type ServerProcess } from "../testing/server-process.ts";
import { spawnWorker, type WorkerProcess } from "../testing/worker-process.ts";

const TASKS = fileURLToPath(new URL("../testing/tasks-outage/", import.meta.url));
const RUNS = 4;

test("PostgreSQL restarted while runs execute and subscribers listen: everything reconnects and every run finishes", async () => {
  const dir = mkdtempSync(join(tmpdir(), TEST_DIR_PREFIX));
  let db: EmbeddedDatabase | undefined = await startEmbeddedPostgres({ dir });
  const port = db.port;
  let server: ServerProcess | undefined;
  let worker: WorkerProcess | undefined;
  const controller = new AbortController();
  try {
    const srv = await spawnServer(db.url);
    server = srv;
    worker = spawnWorker(srv.url, srv.secretKey, TASKS);
    await worker.ready;
    const config = { baseURL: srv.url, secretKey: srv.secretKey };
    const ids: string[] = [];
    for (let i = 0; i < RUNS; i++) {
      const res = await fetch(`${srv.url}/api/v1/tasks/ticker/trigger`, {
        method: "POST",
        headers: { authorization: `Bearer ${srv.secretKey}`, "content-type": "application/json" },
        body: JSON.stringify({ payload: { ticks: 20, everyMs: 150 } }),
      });
      assert.equal(res.status, 200);
      ids.push(((await res.json()) as { id: string }).id);
    }
    const seen = ids.map(() => [] as RunStatus[]);
    const subscriptions = ids.map(async (id, i) => {
      for await (const run of runs.subscribeToRun(id, { baseURL: srv.url, accessToken: srv.secretKey, signal: controller.signal })) {
        if (seen[i]?.at(-1) !== run.status) seen[i]?.push(run.status);
      }
    });
    // Once every run executes, the database goes away for a moment.
    const deadline = Date.now() + 20_000;
    while (!seen.every((s) => s.includes("EXECUTING"))) {
      if (Date.now() > deadline) assert.fail(`runs never all executed: ${JSON.stringify(seen)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    await db.stop();
    db = undefined;
    await new Promise((r) => setTimeout(r, 1_500));
    db = await startEmbeddedPostgres({ dir, port });

    const stuck = async () => {
      const now = await Promise.all(ids.map((id) => runs.retrieve(id, config).then((r) => r.status, (e: Error) => e.message)));
      return new Error(
        `subscribers did not all see their run finish: ${JSON.stringify(seen)}; the runs are ${JSON.stringify(now)}\nserver: ${srv.output().slice(-3000)}\nworker: ${worker?.output().slice(-2000)}`,
      );
    };
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all(subscriptions),
      new Promise((_, reject) => (timer = setTimeout(() => void stuck().then(reject, reject), 60_000))),
    ]).finally(() => clearTimeout(timer));
    for (const [i, statuses] of seen.entries()) {
      assert.equal(statuses.at(-1), "COMPLETED", `run ${ids[i]}: ${statuses.join(" → ")}`);
      assert.equal(statuses.filter((s) => s === "COMPLETED").length, 1, `run ${ids[i]} finished once: ${statuses.join(" → ")}`);
    }
    for (const id of ids) {
      const run = await runs.retrieve(id, config);
      assert.equal(run.status, "COMPLETED");
      assert.deepEqual(run.output, { ticks: 20 });
    }
    const health = await fetch(`${srv.url}/healthz`);
    assert.equal(health.status, 200, "the server streams again");
  } finally {
    controller.abort();
    worker?.child.kill("SIGTERM");
    await worker?.exited;
    await server?.stop();
    await db?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
