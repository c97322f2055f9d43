// Server rendering: importing and rendering the hooks touches no window and opens no connection.
import { test } from "node:test";
import assert from "node:assert/strict";
import { renderToString } from "react-dom/server";
import { RuncastProvider, openFeeds, useRealtimeRun, useRealtimeRunsWithTag } from "./index.ts";

function Page() {
  const { run } = useRealtimeRun("run_ssr", { onComplete: () => assert.fail("nothing completes on the server") });
  const { runs } = useRealtimeRunsWithTag(["a", "b"]);
  return (
    <p>
      {run ? run.status : "waiting"} {runs.length}
    </p>
  );
}

test("hooks render on the server with their empty state, without window and without fetching", () => {
  assert.equal(typeof (globalThis as { window?: unknown }).window, "undefined");
  const realFetch = globalThis.fetch;
  let fetched = 0;
  globalThis.fetch = (async () => {
    fetched++;
    throw new Error("no fetch during server rendering");
  }) as typeof fetch;
  try {
    const html = renderToString(
      <RuncastProvider baseURL="http://127.0.0.1:9" accessToken="token">
        <Page />
      </RuncastProvider>,
    );
    assert.match(html, /waiting/);
    assert.match(html, /0/);
  } finally {
    globalThis.fetch = realFetch;
  }
  assert.equal(fetched, 0);
  assert.equal(openFeeds(), 0, "no subscription was opened");
});
