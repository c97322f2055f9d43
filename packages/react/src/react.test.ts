// @runcast/react in a real headless Chromium against a real Runcast server and worker: hooks update live, share
// connections, survive re-renders with new array literals, fire onComplete once, stop fetching when a run
// finishes, leak nothing under StrictMode; and the official @trigger.dev/react-hooks shows a Runcast run finish.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { extname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { auth, tasks } from "@runcast/sdk";
import type { Browser, Page } from "playwright-core";
import { SKIP_WITHOUT_CHROMIUM, launchChromium, watchedPage } from "../../server/src/testing/browser.ts";
import { useNodeWithWorker } from "../../server/src/testing/node.ts";
import type { stepper } from "../../server/src/testing/tasks/compat.ts";

const skip = SKIP_WITHOUT_CHROMIUM;
const PAGE_DIR = fileURLToPath(new URL("./test-page/", import.meta.url));
/** React 18 (test-only workspace packages/react-18-check): the hooks page is built a second time against it. */
const REACT_18 = fileURLToPath(new URL("../../react-18-check/node_modules/", import.meta.url));
/** The hooks page under each React major: its path on the test site. */
const REACTS = [
  { major: "19", path: "" },
  { major: "18", path: "r18/" },
] as const;

const env = useNodeWithWorker();
let browser: Browser | undefined;
let site: Server | undefined;
let siteUrl = "";
let outDir = "";

before(async () => {
  if (skip) return;
  const { build, defaultClientConditions } = await import("vite");
  // The page bundles @runcast/sdk from its sources (the workspace's export condition), like the dashboard.
  const conditions = ["@runcast/source", ...defaultClientConditions];
  outDir = mkdtempSync(join(tmpdir(), "runcast-react-page-"));
  await build({
    root: PAGE_DIR,
    configFile: false,
    logLevel: "warn",
    resolve: { conditions },
    build: { outDir, emptyOutDir: true, rollupOptions: { input: { index: join(PAGE_DIR, "index.html"), official: join(PAGE_DIR, "official.html") } } },
  });
  await build({
    root: PAGE_DIR,
    base: "/r18/",
    configFile: false,
    logLevel: "warn",
    resolve: {
      conditions,
      alias: [
        { find: /^react-dom(\/.*)?$/, replacement: `${REACT_18}react-dom$1` },
        { find: /^react(\/.*)?$/, replacement: `${REACT_18}react$1` },
      ],
    },
    build: { outDir: join(outDir, "r18"), emptyOutDir: true, rollupOptions: { input: { index: join(PAGE_DIR, "index.html") } } },
  });
  const types: Record<string, string> = { ".html": "text/html", ".js": "text/javascript", ".css": "text/css" };
  site = createServer((req, res) => {
    const path = new URL(req.url ?? "/", "http://x").pathname;
    if (path === "/favicon.ico") {
      res.writeHead(204).end();
      return;
    }
    const file = join(outDir, path === "/" ? "index.html" : path);
    if (!file.startsWith(outDir) || !existsSync(file)) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { "content-type": types[extname(file)] ?? "application/octet-stream" }).end(readFileSync(file));
  });
  await new Promise<void>((r) => site?.listen(0, "127.0.0.1", r));
  siteUrl = `http://127.0.0.1:${(site.address() as { port: number }).port}`;
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await new Promise<void>((r) => (site ? site.close(() => r()) : r()));
  if (outDir) rmSync(outDir, { recursive: true, force: true });
});

/** A page of the test site, failing the test on any console error; counts the realtime requests it makes. */
async function open(path: string, query: Record<string, string>): Promise<{ page: Page; requests: string[]; errors: string[] }> {
  const { page, errors, requests } = await watchedPage(browser as Browser);
  await page.goto(`${siteUrl}/${path}?${new URLSearchParams({ base: env.node.url, ...query })}`);
  return { page, requests, errors };
}

for (const react of REACTS) {
  test(`React ${react.major}: useRealtimeRun: two components on one run share a connection, see progress, fire onComplete once, then stop fetching`, { skip }, async () => {
    // Delayed, so that the page is watching before the steps start.
    const handle = await tasks.trigger<typeof stepper>("stepper", { steps: 6, stepMs: 200 }, { delay: "2s" });
    const token = await auth.createPublicToken({ scopes: { read: { runs: [handle.id] } } });
    const { page, requests, errors } = await open(`${react.path}index.html`, { run: handle.id, token });
    assert.equal((await page.evaluate(() => document.body.dataset.react))?.split(".")[0], react.major);
    const progress = new Set<string>();
    const deadline = Date.now() + 20_000;
    for (;;) {
      const [status, p] = await page.locator('[data-testid="run-a"]').evaluate((el) => [el.getAttribute("data-status"), el.getAttribute("data-progress")]);
      if (p) progress.add(p);
      if (status === "COMPLETED") break;
      assert.ok(Date.now() < deadline, `the run did not reach COMPLETED in the page (last: ${status})`);
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(await page.locator('[data-testid="run-b"]').getAttribute("data-status"), "COMPLETED");
    assert.ok(progress.size >= 2, `the progress bar moved: ${[...progress].join(", ")}`);
    await page.waitForTimeout(300);
    const completions = await page.evaluate(() => (window as unknown as { __runcast: { completions: string[] } }).__runcast.completions);
    assert.deepEqual(completions.sort(), [`a:${handle.id}:COMPLETED`, `b:${handle.id}:COMPLETED`], "onComplete fired once per component");
    const initial = requests.filter((u) => u.includes("offset=-1"));
    assert.equal(initial.length, 1, `one connection for two components (StrictMode included): ${initial.join(" ")}`);
    const before = requests.length;
    await page.waitForTimeout(1_500);
    assert.equal(requests.length, before, "nothing is fetched after the run finished");
    await page.evaluate(() => (window as unknown as { __runcast: { unmount(): void } }).__runcast.unmount());
    await page.waitForTimeout(300);
    assert.equal(await page.evaluate(() => (window as unknown as { __runcast: { openFeeds(): number } }).__runcast.openFeeds()), 0, "no subscription left after unmount");
    assert.deepEqual(errors, []);
    await page.close();
  });

  test(`React ${react.major}: useRealtimeRunsWithTag: a new array literal on every render keeps one subscription; later runs appear and complete`, { skip }, async () => {
    const tag = `react${react.major}_${Date.now().toString(36)}`;
    const first = await tasks.trigger<typeof stepper>("stepper", { steps: 1 }, { tags: [tag] });
    const token = await auth.createPublicToken({ scopes: { read: { tags: [tag] } } });
    const { page, requests, errors } = await open(`${react.path}index.html`, { tag, token });
    await page.locator(`[data-id="${first.id}"][data-status="COMPLETED"]`).waitFor({ timeout: 20_000 });
    const later = await tasks.trigger<typeof stepper>("stepper", { steps: 2 }, { tags: [tag] });
    await page.locator(`[data-id="${later.id}"][data-status="COMPLETED"]`).waitFor({ timeout: 20_000 });
    const ticks = Number(await page.locator('[data-testid="tag-runs"]').getAttribute("data-ticks"));
    assert.ok(ticks >= 5, `the component re-rendered several times with new arrays (${ticks})`);
    const starts = requests.filter((u) => u.includes("offset=-1"));
    assert.equal(starts.length, 1, `re-renders with new arrays did not resubscribe: ${starts.length} starts`);
    assert.equal(await page.locator("[data-id]").count(), 2);
    assert.deepEqual(errors, []);
    await page.close();
  });
}

test("useRealtimeBatch shows every run of a batch; useRealtimeTaskTrigger triggers with a one-time token and watches the run", { skip }, async () => {
  const batch = await tasks.batchTrigger<typeof stepper>("stepper", [{ payload: { steps: 1 } }, { payload: { steps: 2 } }]);
  const token = await auth.createPublicToken({ scopes: { read: { batch: [batch.batchId] } } });
  const { page, errors } = await open("index.html", { batch: batch.batchId, token });
  await page.locator('[data-testid="batch-runs"] [data-status="COMPLETED"]').nth(1).waitFor({ timeout: 20_000 });
  assert.equal(await page.locator('[data-testid="batch-runs"] [data-id]').count(), 2);
  await page.close();
  const once = await auth.createTriggerPublicToken<typeof stepper>("stepper");
  const trig = await open("index.html", { trigger: "stepper", token: once });
  await trig.page.getByRole("button", { name: "trigger" }).click();
  await trig.page.locator('[data-testid="trigger"][data-status="COMPLETED"]').waitFor({ timeout: 20_000 });
  assert.match((await trig.page.locator('[data-testid="trigger"]').getAttribute("data-run")) ?? "", /^run_/);
  assert.deepEqual([...errors, ...trig.errors], []);
  await trig.page.close();
});

test("the official @trigger.dev/react-hooks useRealtimeRun shows a Runcast run reaching COMPLETED", { skip }, async () => {
  const handle = await tasks.trigger<typeof stepper>("stepper", { steps: 2 });
  const { page, errors } = await open("official.html", { run: handle.id, token: handle.publicAccessToken });
  await page.locator('[data-testid="official"][data-status="COMPLETED"]').waitFor({ timeout: 20_000 });
  assert.equal(await page.locator('[data-testid="official"]').getAttribute("data-output"), JSON.stringify({ steps: 2 }));
  assert.deepEqual(errors, []);
  await page.close();
});
