// The dashboard served at `/`, driven in headless Chromium against a real server and worker: login, runs moving
// live without reload, a progress bar, the timeline, the trigger form, cancel, workers and queues.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { tasks } from "@runcast/sdk";
import type { Browser, Page } from "playwright-core";
import { DASHBOARD_DIR } from "./dashboard.ts";
import { SKIP_WITHOUT_CHROMIUM, launchChromium, watchedPage } from "./testing/browser.ts";
import { useNodeWithWorker } from "./testing/node.ts";
import type { stepper } from "./testing/tasks/compat.ts";
import type { sleeper } from "./testing/tasks/basic.ts";

const skip = SKIP_WITHOUT_CHROMIUM;
const env = useNodeWithWorker();
let browser: Browser | undefined;

before(async () => {
  if (skip) return;
  // `npm install` builds the dashboard (prepare); a checkout edited since is rebuilt here.
  const script = fileURLToPath(new URL("../../../scripts/build-dashboard.mjs", import.meta.url));
  execFileSync(process.execPath, [script, "--if-stale"], { stdio: "inherit" });
  assert.ok(existsSync(join(DASHBOARD_DIR, "index.html")), "the dashboard is built");
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
});

async function loggedIn(): Promise<{ page: Page; errors: string[] }> {
  const { page, errors } = await watchedPage(browser as Browser);
  await page.goto(`${env.node.url}/`);
  await page.getByLabel("Secret key").fill(env.node.secretKey);
  await page.getByRole("button", { name: "Log in" }).click();
  await page.locator("table.runs").waitFor({ timeout: 15_000 });
  return { page, errors };
}

test("login, then runs triggered from code appear and move to COMPLETED without reload; the run page shows progress and a timeline", { skip }, async () => {
  const { page, errors } = await loggedIn();
  const handle = await tasks.trigger<typeof stepper>("stepper", { steps: 6, stepMs: 250 }, { tags: ["dash"] });
  const row = page.locator(`tr[data-run="${handle.id}"]`);
  await row.waitFor({ timeout: 15_000 });
  await page.locator(`tr[data-run="${handle.id}"][data-status="COMPLETED"]`).waitFor({ timeout: 20_000 });
  assert.match(await row.innerText(), /stepper/);
  assert.match(await row.innerText(), /dash/);

  const next = await tasks.trigger<typeof stepper>("stepper", { steps: 8, stepMs: 300 }, { delay: "1s" });
  await page.goto(`${env.node.url}/#/runs/${next.id}`);
  const bar = page.getByRole("progressbar");
  await bar.waitFor({ timeout: 20_000 });
  const seen = new Set<string>();
  const deadline = Date.now() + 20_000;
  while (!(await page.locator(`.run[data-status="COMPLETED"]`).count())) {
    const v = await bar.getAttribute("aria-valuenow").catch(() => null);
    if (v) seen.add(v);
    assert.ok(Date.now() < deadline, "the run page did not reach COMPLETED");
    await page.waitForTimeout(50);
  }
  assert.ok(seen.size >= 2, `the progress bar advanced: ${[...seen].join(", ")}`);
  await page.locator('.timeline li[data-status="COMPLETED"]').waitFor({ timeout: 10_000 });
  const timeline = await page.locator(".timeline li").evaluateAll((els) => els.map((e) => e.getAttribute("data-status")));
  assert.deepEqual(timeline, ["DELAYED", "QUEUED", "EXECUTING", "COMPLETED"]);
  const screenshot = process.env.RUNCAST_DASHBOARD_SCREENSHOT;
  if (screenshot) {
    await tasks.trigger<typeof stepper>("stepper", { steps: 40, stepMs: 500 }, { tags: ["long", "demo"] });
    await tasks.trigger("nobody-runs-this", {}, { tags: ["waiting"] });
    await page.goto(`${env.node.url}/#/`);
    await page.locator('tr[data-status="EXECUTING"]').first().waitFor({ timeout: 10_000 });
    await page.locator(`tr[data-run="${next.id}"][data-status="COMPLETED"]`).waitFor({ timeout: 10_000 });
    mkdirSync(dirname(screenshot), { recursive: true });
    await page.screenshot({ path: screenshot, fullPage: false });
  }
  assert.deepEqual(errors, []);
  await page.close();
});

test("the trigger form validates JSON and starts a run with its payload; cancel stops a running one; workers and queues are listed", { skip }, async () => {
  const { page, errors } = await loggedIn();
  await page.getByLabel("Task").last().selectOption("inspect");
  const payload = page.getByLabel("Payload (JSON)");
  await payload.fill("{ not json");
  await page.getByText("Not valid JSON").waitFor();
  assert.equal(await page.getByRole("button", { name: "Trigger" }).isDisabled(), true);
  await payload.fill('{"value": "from the form"}');
  await page.getByRole("button", { name: "Trigger" }).click();
  await page.locator('.run[data-status="COMPLETED"]').waitFor({ timeout: 20_000 });
  assert.match(await page.locator(".run").innerText(), /from the form/);

  const long = await tasks.trigger<typeof sleeper>("sleeper", { ms: 60_000 });
  await page.goto(`${env.node.url}/#/runs/${long.id}`);
  await page.locator('.run[data-status="EXECUTING"]').waitFor({ timeout: 20_000 });
  await page.getByRole("button", { name: "Cancel" }).click();
  await page.locator('.run[data-status="CANCELED"]').waitFor({ timeout: 20_000 });

  await page.goto(`${env.node.url}/#/workers`);
  await page.locator("table.workers tr[data-worker]").first().waitFor({ timeout: 10_000 });
  assert.match(await page.locator("table.workers").innerText(), /stepper/);
  assert.ok((await page.locator("table.queues tr[data-queue]").count()) > 0);
  assert.deepEqual(errors, []);
  await page.close();
});

test("1,000 runs on screen: all render, and a change to one still shows within moments", { skip }, async () => {
  const items = Array.from({ length: 1000 }, (_, i) => ({ task: "nobody-runs-this", payload: { i }, options: { tags: ["bulk"] } }));
  const res = await fetch(`${env.node.url}/api/v1/batches`, {
    method: "POST",
    headers: { authorization: `Bearer ${env.node.secretKey}`, "content-type": "application/json" },
    body: JSON.stringify({ items }),
  });
  assert.equal(res.status, 200);
  const { runs: made } = (await res.json()) as { runs: { id: string }[] };
  const { page, errors } = await loggedIn();
  await page.getByLabel("Tag").fill("bulk");
  await page.locator('table.runs[data-count="1000"]').waitFor({ timeout: 30_000 });
  const target = made[500]?.id ?? "";
  const started = Date.now();
  await fetch(`${env.node.url}/api/v2/runs/${target}/cancel`, { method: "POST", headers: { authorization: `Bearer ${env.node.secretKey}` } });
  await page.locator(`tr[data-run="${target}"][data-status="CANCELED"]`).waitFor({ timeout: 10_000 });
  process.stdout.write(`# with 1,000 runs on screen, a cancel showed in the list after ${Date.now() - started} ms\n`);
  // Filters: status within the tag's runs, then the environment's feed by status and by task.
  await page.getByLabel("Status").selectOption("CANCELED");
  await page.locator('table.runs[data-count="1"]').waitFor({ timeout: 10_000 });
  await page.getByLabel("Tag").fill("");
  await page.getByLabel("Status").selectOption("COMPLETED");
  await page.locator("table.runs tr[data-run]").first().waitFor({ timeout: 10_000 });
  const statuses = await page.locator("table.runs tr[data-run]").evaluateAll((rows) => rows.map((r) => r.getAttribute("data-status")));
  assert.ok(statuses.length > 0 && statuses.every((st) => st === "COMPLETED"), JSON.stringify(statuses));
  await page.getByLabel("Status").selectOption("");
  await page.getByLabel("Task").first().selectOption("inspect");
  await page.waitForFunction(() => {
    const rows = [...document.querySelectorAll("table.runs tr[data-run] td:nth-child(3)")];
    return rows.length > 0 && rows.every((td) => td.textContent === "inspect");
  }, undefined, { timeout: 10_000 });
  assert.deepEqual(errors, []);
  await page.close();
});

test("a wrong key is refused at login; logging out forgets the key", { skip }, async () => {
  const { page, errors } = await watchedPage(browser as Browser);
  await page.goto(`${env.node.url}/`);
  await page.getByLabel("Secret key").fill(`tr_dev_${"x".repeat(24)}`);
  await page.getByRole("button", { name: "Log in" }).click();
  await page.getByText("That key is not valid").waitFor({ timeout: 10_000 });
  await page.getByLabel("Secret key").fill(env.node.secretKey);
  await page.getByRole("button", { name: "Log in" }).click();
  await page.getByRole("button", { name: "Log out" }).click();
  await page.getByLabel("Secret key").waitFor();
  assert.equal(await page.evaluate(() => sessionStorage.length), 0);
  // The refused login logs a 401 in the console; nothing else may.
  assert.deepEqual(errors.filter((e) => !/401/.test(e)), []);
  await page.close();
});
