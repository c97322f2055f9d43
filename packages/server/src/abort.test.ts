import { test } from "node:test";
import assert from "node:assert/strict";
import { getEventListeners } from "node:events";
import { linkedSignal } from "./abort.ts";

test("a linked signal aborts with any of its sources and, once disposed, leaves no listener on a long-lived one", () => {
  const shutdown = new AbortController();
  const before = getEventListeners(shutdown.signal, "abort").length;
  for (let i = 0; i < 1000; i++) {
    const request = new AbortController();
    const { signal, dispose } = linkedSignal(request.signal, shutdown.signal);
    if (i % 2) request.abort();
    assert.equal(signal.aborted, i % 2 === 1);
    dispose();
  }
  assert.equal(getEventListeners(shutdown.signal, "abort").length, before, "nothing piles up on the long-lived signal");
  const { signal } = linkedSignal(new AbortController().signal, shutdown.signal);
  shutdown.abort();
  assert.equal(signal.aborted, true);
  const late = linkedSignal(shutdown.signal);
  assert.equal(late.signal.aborted, true, "an already aborted source aborts it at once");
});
