// Pure tests of one shape's state machine: transactions in, messages out (SPEC.md invariants).
import { test } from "node:test";
import assert from "node:assert/strict";
import type { Change, Relation, Row, Transaction } from "./changes.ts";
import { identityProjection, type Projection } from "./projection.ts";
import { DeliveredXids } from "./recent.ts";
import { Shape, type ShapeSpec } from "./shape.ts";
import type { TableInfo } from "./table-info.ts";

const relation: Relation = {
  id: 42,
  schema: "public",
  name: "t",
  replicaIdentity: "f",
  columns: [
    { name: "id", typeOid: 23, typeMod: -1, isKey: true },
    { name: "n", typeOid: 23, typeMod: -1, isKey: false },
    { name: "s", typeOid: 25, typeMod: -1, isKey: false },
  ],
};
const table: TableInfo = {
  oid: 42,
  kind: "r",
  persistence: "p",
  schema: "public",
  name: "t",
  columns: [
    { name: "id", type: "int4", dims: 0, notNull: true, pkIndex: 0 },
    { name: "n", type: "int4", dims: 0, notNull: true },
    { name: "s", type: "text", dims: 0, notNull: false },
  ],
  keyColumns: ["id"],
};

/** Where clause `n > 0`, written by hand so this test needs no parser. */
const positive = { sql: "n > 0", params: [], columns: ["n"], matches: (r: Row) => Number(r.n) > 0 };

function shape(opts: Partial<ShapeSpec> = {}, logBytes = 1 << 20): Shape {
  const spec: ShapeSpec = { table, projection: identityProjection(table, table.columns), where: positive, replica: "default", log: "full", ...opts };
  return new Shape("h-1", "k", spec, { logBytes });
}

let lsn = 100n;
function tx(changes: Change[], xid = 900): Transaction {
  lsn += 10n;
  return { xid, commitLsn: lsn, commitTime: new Date(), changes };
}
const row = (id: number, n: number, s: string | null = "x"): Row => ({ id: String(id), n: String(n), s });
const ins = (r: Row): Change => ({ kind: "insert", relation, new: r });
const upd = (old: Row, r: Row): Change => ({ kind: "update", relation, old, new: r });
const del = (old: Row): Change => ({ kind: "delete", relation, old });
type Message = { key: string; value: Row; old_value?: Row; headers: Record<string, unknown> };
const messages = (s: Shape, after = 0n): Message[] =>
  s.log.readAfter(after, "0_inf").chunks.flatMap((c) => JSON.parse(`[${c.json.toString()}]`) as Message[]);
const ops = (s: Shape, after = 0n) => messages(s, after).map((m) => [m.headers.operation, m.value]);

test("rows moving into and out of the where clause become inserts and deletes (SPEC W1)", () => {
  const s = shape();
  s.finishSnapshot([row(1, 5)], { xmin: 1n, xmax: 2n, xip: new Set() }, 50n);
  s.apply(tx([upd(row(1, 5), row(1, -1))])); // leaves
  s.apply(tx([upd(row(2, -1), row(2, 3))])); // enters
  s.apply(tx([upd(row(3, -1), row(3, -2))])); // stays out: nothing
  s.apply(tx([upd(row(2, 3), row(2, 4, "y"))])); // stays in: update with key + changed columns
  s.apply(tx([upd(row(2, 4, "y"), row(2, 4, "y"))])); // no selected column changed: nothing
  assert.deepEqual(ops(s), [
    ["delete", { id: "1" }],
    ["insert", { id: "2", n: "3", s: "x" }],
    ["update", { id: "2", n: "4", s: "y" }],
  ]);
  assert.deepEqual([...s.rows.values()], [{ id: "2", n: "4", s: "y" }]);
});

test("replica=full updates carry the whole row and the old values of what changed", () => {
  const s = shape({ replica: "full" });
  s.finishSnapshot([row(1, 5, "a")], { xmin: 1n, xmax: 2n, xip: new Set() }, 50n);
  s.apply(tx([upd(row(1, 5, "a"), row(1, 5, "b"))]));
  const [m] = messages(s);
  assert.deepEqual(m?.value, { id: "1", n: "5", s: "b" });
  assert.deepEqual(m?.old_value, { s: "a" });
});

test("transactions visible in the snapshot are skipped, others applied (SPEC C1)", () => {
  const s = shape();
  // Snapshot: xids < 100 and 100..109 except 105 were committed when it was taken.
  const snap = { xmin: 100n, xmax: 110n, xip: new Set([105n]) };
  s.apply(tx([ins(row(1, 1))], 99)); // buffered while snapshotting, visible → skipped
  s.apply(tx([ins(row(2, 1))], 105)); // in progress at snapshot time → applied
  s.finishSnapshot([row(1, 1)], snap, lsn + 1000n);
  s.apply(tx([ins(row(3, 1))], 104)); // committed before the snapshot → skipped
  s.apply(tx([ins(row(4, 1))], 112)); // started after → applied
  assert.deepEqual(ops(s).map(([op, v]) => [op, (v as Row).id]), [
    ["insert", "2"],
    ["insert", "4"],
  ]);
  assert.deepEqual([...s.rows.keys()].length, 3);
});

test("reads never split a transaction and the last message of each is marked (SPEC O1)", () => {
  const s = shape();
  s.finishSnapshot([], { xmin: 1n, xmax: 2n, xip: new Set() }, 50n);
  s.apply(tx([ins(row(1, 1)), ins(row(2, 1)), ins(row(3, 1))]));
  const first = lsn;
  s.apply(tx([ins(row(4, 1))]));
  const all = messages(s);
  assert.deepEqual(all.map((m) => [m.headers.lsn, m.headers.op_position, m.headers.last ?? false]), [
    [String(first), 0, false],
    [String(first), 2, false],
    [String(first), 4, true],
    [String(lsn), 0, true],
  ]);
  assert.deepEqual(messages(s, first).map((m) => m.value.id), ["4"]);
  // The SSE bytes of a chunk are the same messages, one event each.
  const [chunk] = s.log.readAfter(0n, "0_inf").chunks;
  assert.equal(chunk!.sse.toString(), messages(s).slice(0, 3).map((m) => `data: ${JSON.stringify(m)}\n\n`).join(""));
});

test("the log keeps a byte budget, drops the oldest transactions first; a reader behind them must refetch (SPEC L2)", () => {
  const s = shape({}, 2_000);
  s.finishSnapshot([], { xmin: 1n, xmax: 2n, xip: new Set() }, 50n);
  const start = lsn;
  for (let i = 1; i <= 25; i++) s.apply(tx([ins(row(i, 1))]));
  assert.ok(s.log.bytes <= 2_000, `log holds ${s.log.bytes} bytes`);
  assert.ok(s.log.length < 25 && s.log.length > 1);
  assert.equal(s.log.isBehind(start), true);
  assert.equal(s.log.isBehind(s.lastLsn), false);
  // Whatever a reader at the trimmed position gets next starts right after it: no gap for readers not behind.
  const kept = messages(s, s.log.trimmedLsn).map((m) => Number(m.value.id));
  assert.deepEqual(kept, Array.from({ length: kept.length }, (_, i) => 26 - kept.length + i));
  assert.equal(s.rows.size, 25, "the materialised rows keep everything");
});

test("the newest transaction is never dropped, even when it alone is bigger than the budget (SPEC L2)", () => {
  const s = shape({}, 1_000);
  s.finishSnapshot([], { xmin: 1n, xmax: 2n, xip: new Set() }, 50n);
  s.apply(tx([ins(row(1, 1))]));
  const before = lsn;
  s.apply(tx(Array.from({ length: 200 }, (_, i) => ins(row(100 + i, 1, "y".repeat(100))))));
  assert.ok(s.log.bytes > 1_000, "the big transaction is held whole");
  assert.equal(messages(s, before).length, 200);
  assert.equal(s.log.isBehind(before), false, "a reader right before it reads it whole");
  s.apply(tx([ins(row(2, 1))]));
  assert.equal(s.log.isBehind(before), true, "once a newer one arrives it may go, and its readers refetch");
  assert.deepEqual(messages(s, s.log.trimmedLsn).map((m) => m.value.id), ["2"]);
});

test("changes_only shapes keep no rows and decide membership from the replicated rows (SPEC L4)", () => {
  const s = shape({ log: "changes_only" });
  s.finishSnapshot([row(9, 9)], { xmin: 1n, xmax: 2n, xip: new Set() }, 50n);
  s.apply(tx([ins(row(1, 1)), ins(row(2, -1))]));
  s.apply(tx([upd(row(1, 1), row(1, 2))]));
  s.apply(tx([upd(row(1, 2), row(1, -2))]));
  s.apply(tx([del(row(2, -1))]));
  assert.equal(s.rows.size, 0);
  assert.deepEqual(ops(s), [
    ["insert", { id: "1", n: "1", s: "x" }],
    ["update", { id: "1", n: "2" }],
    ["delete", { id: "1" }],
  ]);
});

test("a projection renames and maps columns once, when the chunk is encoded (SPEC P1)", () => {
  const projection: Projection = {
    id: "test",
    columns: [
      { name: "ID", schema: { type: "text" }, sources: ["id"], value: (r) => `run_${r.id}`, key: true },
      { name: "state", schema: { type: "text" }, sources: ["n"], value: (r) => (Number(r.n) > 1 ? "BIG" : "SMALL") },
    ],
  };
  let calls = 0;
  const counted: Projection = { ...projection, columns: projection.columns.map((c) => ({ ...c, value: (r: Row) => (calls++, c.value(r)) })) };
  const s = shape({ projection: counted });
  assert.equal(s.schemaHeader, JSON.stringify({ ID: { type: "text" }, state: { type: "text" } }));
  s.finishSnapshot([row(1, 1)], { xmin: 1n, xmax: 2n, xip: new Set() }, 50n);
  s.apply(tx([upd(row(1, 1), row(1, 5))]));
  s.apply(tx([upd(row(1, 5), row(1, 6, "z"))])); // projected output unchanged: nothing
  assert.deepEqual(ops(s), [["update", { ID: "run_1", state: "BIG" }]]);
  const afterApply = calls;
  for (let i = 0; i < 50; i++) s.log.readAfter(0n, "0_inf");
  assert.equal(calls, afterApply, "reading never projects again");
  assert.deepEqual([...s.rows.values()], [{ ID: "run_1", state: "BIG" }]);
});

test("hand-off: a snapshot that lists as running a transaction delivered before the shape existed is taken again (SPEC C2)", () => {
  const delivered = new DeliveredXids(1000);
  // Delivered by the stream (its commit record is in the WAL) while its backend is still in the ProcArray.
  delivered.add(299, 200n);
  delivered.add(300, 210n);
  const registeredAt = 210n;
  delivered.add(302, 220n); // delivered after registration: the shape buffered it
  // The snapshot sees 299 but lists 300 as running: it misses 300, which no buffer holds.
  assert.equal(delivered.missedBy({ xmin: 300n, xmax: 303n, xip: new Set([300n]) }, registeredAt), true);
  // 302 running for the snapshot is fine: it is in the shape's buffer and applied after the snapshot.
  assert.equal(delivered.missedBy({ xmin: 301n, xmax: 303n, xip: new Set([302n]) }, registeredAt), false);
  // A transaction still running (never delivered) is simply not missed.
  assert.equal(delivered.missedBy({ xmin: 303n, xmax: 305n, xip: new Set([304n]) }, registeredAt), false);
});

test("deletes of rows in the shape are deletes; of rows outside it, nothing", () => {
  const s = shape();
  s.finishSnapshot([row(1, 1)], { xmin: 1n, xmax: 2n, xip: new Set() }, 50n);
  s.apply(tx([del(row(1, 1)), del(row(2, -5))]));
  assert.deepEqual(ops(s), [["delete", { id: "1" }]]);
  assert.equal(s.rows.size, 0);
});

test("truncate invalidates the shape and marks it for its waiters", () => {
  const s = shape();
  s.finishSnapshot([row(1, 1)], { xmin: 1n, xmax: 2n, xip: new Set() }, 50n);
  let told = 0;
  s.wait(() => told++);
  s.apply(tx([{ kind: "truncate", relations: [relation] }]));
  assert.equal(s.state, "invalid");
  assert.equal(told, 0, "nobody is woken from inside ingestion (SPEC D1)");
  assert.equal(s.dirty, true);
  s.wake(() => {});
  assert.equal(told, 1);
});

test("a key change is a delete of the old key and an insert of the new one", () => {
  const s = shape();
  s.finishSnapshot([row(1, 1)], { xmin: 1n, xmax: 2n, xip: new Set() }, 50n);
  s.apply(tx([upd(row(1, 1), row(7, 1))]));
  assert.deepEqual(ops(s), [
    ["delete", { id: "1" }],
    ["insert", { id: "7", n: "1", s: "x" }],
  ]);
});
