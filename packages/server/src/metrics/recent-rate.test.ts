import { test } from "node:test";
import assert from "node:assert/strict";
import { RecentRate } from "./recent-rate.ts";

test("RecentRate: the mean per second over the last whole seconds, forgetting older ones", () => {
  const rate = new RecentRate(10);
  const t0 = 1_000_000_000;
  assert.equal(rate.perSecond(t0), 0);
  rate.add(30, t0 + 100);
  rate.add(20, t0 + 900);
  // The current second is not counted until it is over.
  assert.equal(rate.perSecond(t0 + 950), 0);
  assert.equal(rate.perSecond(t0 + 1_000), 5);
  rate.add(50, t0 + 4_500);
  assert.equal(rate.perSecond(t0 + 5_000), 10);
  // 10 s after the first second, it has left the window; the later one has not.
  assert.equal(rate.perSecond(t0 + 11_000), 5);
  // A slot reused by a later second starts from zero.
  rate.add(7, t0 + 10_200);
  assert.equal(rate.perSecond(t0 + 11_000), 5.7);
  assert.equal(rate.perSecond(t0 + 60_000), 0);
});
