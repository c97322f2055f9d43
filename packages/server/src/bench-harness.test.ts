// The benchmark harness on tiny numbers, so that `npm run bench` cannot rot: every part runs against its
// floor and BENCHMARKS.md, the result JSON and the chart are written (figures are not judged here).
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

import { RATE_KINDS } from "../../../bench/latency-rate.ts";

const HARNESS = fileURLToPath(new URL("../../../bench/run.ts", import.meta.url));

test("npm run bench -- --tiny writes BENCHMARKS.md with every section, the result JSON and a latency chart", async () => {
  const out = mkdtempSync(join(tmpdir(), "runcast-bench-tiny-"));
  try {
    await promisify(execFile)(process.execPath, ["--import", "tsx", HARNESS, "--tiny", "--out", out], { timeout: 180_000 });
    const md = readFileSync(join(out, "BENCHMARKS.md"), "utf8");
    for (const heading of ["## 1. Commit → subscriber latency", "## 2. Fan-out", "## 3. Throughput", "## 4. Catch-up"]) assert.ok(md.includes(heading), heading);
    assert.match(md, /within the log budget \(64 MiB\) \| resumed \| 2000 \|/, "a subscriber within the budget reads exactly what it missed");
    assert.match(md, /past it \(a 1024 KiB budget\) \| (409 and resync|resumed) \|/);
    assert.match(md, /trigger calls \(HTTP API → run row\) \| \d+ \|/);
    assert.match(md, /Machine: \d+ ×/);
    assert.match(md, /npm run bench -- --tiny/);
    assert.match(md, /\| Runcast, held \/v1\/shape long-poll \| [\d.]+ \|/);
    assert.match(md, /\| floor: bare node:http \| 40 \|/);
    assert.ok(md.includes("### Under a steady write rate"));
    assert.ok(md.includes("### Run-state changes followed"));
    assert.match(md, /\| Runcast tag feed \(SSE\) \| 500 \| \d+ \| \d+ \| [\d.]+ → [\d.]+ \| [\d.]+ → [\d.]+ \| 0 \|/, "the sync engine follows 500 run changes/s and misses none");
    assert.match(md, /\| floor: pgoutput client \| 500 \| \d+ \| \d+ \| [\d.]+ → [\d.]+ \| [\d.]+ → [\d.]+ \| 0 \|/);
    for (const name of RATE_KINDS.map(([, n]) => n)) {
      for (const rate of [50, 200]) {
        const row = md.split("\n").find((line) => line.startsWith(`| ${rate} | ${name} |`));
        assert.ok(row, `a row for ${name} at ${rate}/s`);
        assert.match(row, /\| [\d.]+ \| [\d.]+ \| [\d.]+ \| [\d.]+ \| [\d–]+ \| 0 \|$/, `${name} at ${rate}/s: figures and no update missed (${row})`);
      }
    }
    const result = JSON.parse(readFileSync(join(out, "bench.json"), "utf8")) as { latency?: { ratioP50: number }; fanout?: unknown[] };
    assert.ok(Number.isFinite(result.latency?.ratioP50));
    assert.equal(result.fanout?.length, 1);
    assert.ok(existsSync(join(out, "latency.svg")));
    assert.match(readFileSync(join(out, "latency.svg"), "utf8"), /^<svg/);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
