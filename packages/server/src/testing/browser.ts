import { existsSync } from "node:fs";
import type { Browser, Page } from "playwright-core";

/** Debian's chromium, which the browser tests drive through playwright-core. */
export const CHROMIUM = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].find((p) => existsSync(p));

/** The `skip` option of a browser test: false when Chromium is there, else the reason, said in the test report. */
export const SKIP_WITHOUT_CHROMIUM: false | string = CHROMIUM ? false : "Debian's chromium is not installed (apt-get install chromium): the browser tests need it";

/** A headless Chromium (the caller closes it). */
export async function launchChromium(): Promise<Browser> {
  const { chromium } = await import("playwright-core");
  return chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
}

/** A new page that records console errors, page errors and the realtime requests it makes. */
export async function watchedPage(browser: Browser): Promise<{ page: Page; errors: string[]; requests: string[] }> {
  const page = await browser.newPage();
  const errors: string[] = [];
  const requests: string[] = [];
  page.on("console", (m) => {
    if (m.type() === "error") errors.push(m.text());
  });
  page.on("pageerror", (e) => errors.push(e.message));
  page.on("request", (r) => {
    if (r.url().includes("/realtime/")) requests.push(r.url());
  });
  return { page, errors, requests };
}
