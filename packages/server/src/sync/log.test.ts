import { test } from "node:test";
import assert from "node:assert/strict";
import { Chunk, LogMemory, ShapeLog } from "./log.ts";

let lsn = 100n;
const chunk = (text = "x") => {
  lsn += 10n;
  return new Chunk(lsn, `${lsn}_0`, [JSON.stringify({ key: String(lsn), value: { text } })]);
};

test("a chunk owns its bytes: not a slice of the shared pool slab, which a kept chunk would pin whole (SPEC L2)", () => {
  const c = chunk();
  assert.ok(c.json.length < 100);
  assert.equal(c.json.buffer.byteLength, c.json.length, "its JSON is not a view into a bigger buffer");
  assert.equal(c.sse.buffer.byteLength, c.sse.length, "nor its SSE form");
  assert.equal(c.sse.toString(), `data: ${c.json.toString()}\n\n`);
  assert.equal(c.sse.length, c.sseLength);
  assert.ok(c.bytes > c.json.length + c.sse.length, "it counts its own objects too");
});

test("every log of a node shares one budget: the node's oldest chunks go first, whichever log holds them, and each log keeps its newest (SPEC L2)", () => {
  const one = chunk().bytes;
  const memory = new LogMemory(one * 10);
  const logs = Array.from({ length: 4 }, () => new ShapeLog(Number.MAX_SAFE_INTEGER, memory));
  const first = logs.map((log) => {
    const c = chunk();
    log.append(c);
    return c;
  });
  // 40 more chunks round-robin: the node holds at most 10 chunks' worth; the oldest went first.
  for (let i = 0; i < 40; i++) (logs[i % 4] as ShapeLog).append(chunk());
  assert.ok(memory.bytes <= memory.budget, `${memory.bytes} ≤ ${memory.budget}`);
  assert.equal(memory.bytes, logs.reduce((n, l) => n + l.bytes, 0), "the node's count is the sum of its logs'");
  for (const [i, log] of logs.entries()) {
    assert.equal(log.holds(first[i] as Chunk), false);
    assert.equal(log.isBehind((first[i] as Chunk).lsn - 1n), true, "a reader from before it must refetch");
    assert.ok(log.length >= 2 && log.length <= 3, `log ${i} keeps its newest ${log.length}`);
  }
  // A log that stops getting changes keeps its newest chunk however much the others write.
  const quiet = logs[0] as ShapeLog;
  const newest = quiet.last as Chunk;
  for (let i = 0; i < 100; i++) (logs[1 + (i % 3)] as ShapeLog).append(chunk());
  assert.equal(quiet.length, 1);
  assert.equal(quiet.last, newest);
  assert.equal(quiet.isBehind(newest.lsn), false, "a reader that has it reads on");
  assert.ok(memory.bytes <= memory.budget + one);
});

test("a log's own budget and a released log give their bytes back to the node's count", () => {
  const memory = new LogMemory(Number.MAX_SAFE_INTEGER);
  const small = new ShapeLog(chunk().bytes * 3, memory);
  const other = new ShapeLog(Number.MAX_SAFE_INTEGER, memory);
  for (let i = 0; i < 50; i++) {
    small.append(chunk());
    other.append(chunk());
  }
  assert.equal(small.length, 3);
  assert.equal(memory.bytes, small.bytes + other.bytes);
  other.release();
  assert.equal(memory.bytes, small.bytes);
});

test("chunks replayed into a log (taking over another node's reader) count against the node's budget (SPEC H3)", () => {
  const memory = new LogMemory(Number.MAX_SAFE_INTEGER);
  const log = new ShapeLog(Number.MAX_SAFE_INTEGER, memory);
  const from = lsn;
  const replayed = [chunk(), chunk(), chunk()];
  const upTo = lsn;
  log.append(chunk());
  log.append(chunk());
  log.replaceUpTo(upTo, from, replayed);
  assert.equal(log.length, 5);
  assert.equal(log.isBehind(from), false);
  assert.equal(memory.bytes, log.bytes);
  assert.equal(log.readAfter(from, "x").chunks[0], replayed[0]);
});
