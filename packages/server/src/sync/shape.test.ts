// Pure tests of one shape's state machine: transactions in, messages out (SPEC.md invariants).
import { test } from "node:test";
import assert from "node:assert/strict";
import type { Change, Relation, Row, Transaction } from "./changes.ts";
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

function shape(opts: Partial<ShapeSpec> = {}, maxEntries = 1000): Shape {
  return new Shape("h-1", "k", { table, columns: table.columns, where: positive, replica: "default", log: "full", ...opts }, { maxEntries, maxResponseBytes: 1 << 20 });
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
const messages = (s: Shape, after = 0n) => s.readAfter(after, "0_inf").messages.map((m) => JSON.parse(m));
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
  assert.deepEqual(m.value, { id: "1", n: "5", s: "b" });
  assert.deepEqual(m.old_value, { s: "a" });
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
});

test("the log is bounded; a reader behind the dropped part must refetch (SPEC L2)", () => {
  const s = shape({}, 10);
  s.finishSnapshot([], { xmin: 1n, xmax: 2n, xip: new Set() }, 50n);
  const start = lsn;
  for (let i = 1; i <= 25; i++) s.apply(tx([ins(row(i, 1))]));
  assert.ok(s.entries.length <= 10);
  assert.equal(s.isBehindLog(start), true);
  assert.equal(s.isBehindLog(s.lastLsn), false);
  assert.equal(s.rows.size, 25, "the materialised rows keep everything");
});

test("deletes of rows in the shape are deletes; of rows outside it, nothing", () => {
  const s = shape();
  s.finishSnapshot([row(1, 1)], { xmin: 1n, xmax: 2n, xip: new Set() }, 50n);
  s.apply(tx([del(row(1, 1)), del(row(2, -5))]));
  assert.deepEqual(ops(s), [["delete", { id: "1" }]]);
  assert.equal(s.rows.size, 0);
});

test("truncate invalidates the shape and tells its listeners", () => {
  const s = shape();
  s.finishSnapshot([row(1, 1)], { xmin: 1n, xmax: 2n, xip: new Set() }, 50n);
  let told = 0;
  s.listen(() => told++);
  s.apply(tx([{ kind: "truncate", relations: [relation] }]));
  assert.equal(s.state, "invalid");
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
