import { after, before, test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import pg from "pg";
import { freePort, type EmbeddedDatabase } from "../db/embedded.ts";
import { startTestPostgres } from "../testing/pg.ts";
import { parseLsn, type Change, type Relation, type Transaction } from "./changes.ts";
import { dropSlot, ReplicationStream, SESSION_OPTIONS } from "./replication.ts";

const PUBLICATION = "runcast_test";
let db: EmbeddedDatabase | undefined;
let sql: pg.Client | undefined;

function url(): string {
  assert.ok(db, "database not started");
  return db.url;
}

async function query(text: string, values: unknown[] = []): Promise<pg.QueryResult> {
  assert.ok(sql, "database not started");
  return sql.query(text, values);
}

before(async () => {
  db = await startTestPostgres();
  sql = new pg.Client({ connectionString: db.url, options: SESSION_OPTIONS });
  await sql.connect();
  await sql.query(`
    create table items (id int primary key, name text, flag bool, at timestamp, at_tz timestamptz, doc jsonb, tags text[], note text);
    create table docs (id int primary key, body text, n int);
    alter table docs replica identity full;
    create table plain_docs (id int primary key, body text, n int);
    create table evolving (id int primary key, a text);
    create table unpublished (id serial primary key);
    create publication ${PUBLICATION} for table items, docs, plain_docs, evolving;
  `);
});

after(async () => {
  await sql?.end();
  await db?.stop();
});

/** Polls `cond` until it holds; fails with `what` at the deadline. */
async function until(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

interface Harness {
  stream: ReplicationStream;
  txs: Transaction[];
  relationChanges: { before: Relation; after: Relation }[];
  errors: Error[];
  /** Waits until `n` transactions arrived; a stream error fails at once. */
  waitForTxs(n: number): Promise<void>;
}

/** Starts a stream on `slotName`; the test stops it (and then drops the slot) when it ends. */
async function openStream(t: TestContext, slotName: string, statusIntervalMs = 50): Promise<Harness> {
  const txs: Transaction[] = [];
  const relationChanges: Harness["relationChanges"] = [];
  const errors: Error[] = [];
  const stream = new ReplicationStream({
    connectionString: url(),
    slotName,
    publicationName: PUBLICATION,
    statusIntervalMs,
    onTransaction: (tx) => txs.push(tx),
    onRelationChanged: (before, after) => relationChanges.push({ before, after }),
    onError: (err) => errors.push(err),
  });
  // Registered before start so a failed start still releases what it opened; after-hooks run in reverse.
  t.after(() => dropSlot(url(), slotName));
  t.after(() => stream.stop());
  await stream.start();
  assert.equal(stream.streaming, true);
  return {
    stream,
    txs,
    relationChanges,
    errors,
    waitForTxs: (n) =>
      until(`${n} transactions on ${slotName}`, () => {
        if (errors[0]) throw errors[0];
        return txs.length >= n;
      }),
  };
}

async function confirmedFlush(slotName: string): Promise<bigint> {
  const { rows } = await query("select confirmed_flush_lsn::text as lsn from pg_replication_slots where slot_name = $1", [slotName]);
  const lsn = rows[0]?.lsn;
  assert.equal(typeof lsn, "string", `slot ${slotName} has no confirmed_flush_lsn`);
  return parseLsn(lsn);
}

function rows(tx: Transaction | undefined): unknown[] {
  assert.ok(tx, "missing transaction");
  return tx.changes.map((c: Change) => {
    if (c.kind === "truncate") return { kind: c.kind, tables: c.relations.map((r) => r.name) };
    if (c.kind === "insert") return { kind: c.kind, table: c.relation.name, new: c.new };
    if (c.kind === "delete") return { kind: c.kind, table: c.relation.name, old: c.old };
    return { kind: c.kind, table: c.relation.name, new: c.new, ...(c.old ? { old: c.old } : {}) };
  });
}

function assertCommitOrder(txs: Transaction[]): void {
  for (let i = 1; i < txs.length; i++) {
    assert.ok(txs[i]!.commitLsn > txs[i - 1]!.commitLsn, "commit LSNs must increase");
  }
}

test("each commit arrives as one Transaction, in commit order, with values in UTC text form", async (t) => {
  const h = await openStream(t, "slot_basic");
  await query(`insert into items values
    (1, 'one', true, '2026-01-01 10:00:00.123', '2026-01-01 12:00:00.5+02', '{"b": [1, "x"], "a": null}', '{a,"b c",NULL}', null)`);
  await query("update items set name = 'uno', flag = false where id = 1");
  await query("delete from items where id = 1");
  await query("insert into items (id, name) values (2, 'two')");
  await query("truncate items");
  await h.waitForTxs(5);

  const inserted = {
    id: "1",
    name: "one",
    flag: "t",
    at: "2026-01-01 10:00:00.123",
    at_tz: "2026-01-01 10:00:00.5+00",
    doc: '{"a": null, "b": [1, "x"]}',
    tags: '{a,"b c",NULL}',
    note: null,
  };
  assert.deepEqual(rows(h.txs[0]), [{ kind: "insert", table: "items", new: inserted }]);
  // Default replica identity and an unchanged key: no old row.
  assert.deepEqual(rows(h.txs[1]), [{ kind: "update", table: "items", new: { ...inserted, name: "uno", flag: "f" } }]);
  // The old key tuple carries only the key; the other columns are not reported as NULL.
  assert.deepEqual(rows(h.txs[2]), [{ kind: "delete", table: "items", old: { id: "1" } }]);
  assert.deepEqual(rows(h.txs[3]), [
    { kind: "insert", table: "items", new: { id: "2", name: "two", flag: null, at: null, at_tz: null, doc: null, tags: null, note: null } },
  ]);
  assert.deepEqual(rows(h.txs[4]), [{ kind: "truncate", tables: ["items"] }]);
  assert.equal(h.txs.length, 5);
  assertCommitOrder(h.txs);
  assert.equal(h.stream.lastCommitLsn, h.txs[4]!.commitLsn);

  const first = h.txs[0]!;
  assert.ok(Math.abs(first.commitTime.getTime() - Date.now()) < 60_000, "commit time is now-ish");
  assert.ok(first.xid > 0);
  const relation = first.changes[0]!.kind === "insert" ? first.changes[0]!.relation : undefined;
  assert.equal(relation?.schema, "public");
  assert.equal(relation?.replicaIdentity, "d");
  assert.deepEqual(relation?.columns.filter((c) => c.isKey).map((c) => c.name), ["id"]);
  assert.equal(relation?.columns.find((c) => c.name === "flag")?.typeOid, 16);
  assert.deepEqual(h.relationChanges, []);
  assert.deepEqual(h.errors, []);
});

test("a multi-statement transaction arrives whole, after one that committed first", async (t) => {
  const h = await openStream(t, "slot_multi");
  const other = new pg.Client({ connectionString: url(), options: SESSION_OPTIONS });
  await other.connect();
  t.after(() => other.end());
  await query("begin");
  await query("insert into items (id, name) values (10, 'a')");
  await other.query("insert into items (id, name) values (20, 'other')");
  await query("insert into items (id, name) values (11, 'b')");
  await query("update items set name = 'a2' where id = 10");
  await query("delete from items where id = 11");
  await query("commit");
  await h.waitForTxs(2);

  assert.deepEqual(rows(h.txs[0]).map((c) => (c as { new: { id: string } }).new.id), ["20"]);
  const whole = h.txs[1]!;
  assert.deepEqual(
    whole.changes.map((c) => c.kind),
    ["insert", "insert", "update", "delete"],
  );
  assert.deepEqual(rows(whole)[3], { kind: "delete", table: "items", old: { id: "11" } });
  assertCommitOrder(h.txs);
  await query("truncate items");
});

test("unchanged TOASTed values are filled from the old row under REPLICA IDENTITY FULL, else left out", async (t) => {
  const h = await openStream(t, "slot_toast");
  // ~64 kB of hex: far above the 2 kB TOAST threshold even after compression.
  const body = "select string_agg(md5(i::text), '') as body from generate_series(1, 2000) i";
  await query(`insert into docs values (1, (${body}), 1)`);
  await query(`insert into plain_docs values (1, (${body}), 1)`);
  await query("update docs set n = 2 where id = 1");
  await query("update plain_docs set n = 2 where id = 1");
  await h.waitForTxs(4);

  const { rows: expected } = await query(body);
  const text = expected[0].body as string;
  assert.equal(text.length, 64_000);
  const [, , full, plain] = h.txs.map((tx) => tx.changes[0]);
  assert.equal(full?.kind, "update");
  assert.equal(plain?.kind, "update");
  if (full?.kind !== "update" || plain?.kind !== "update") return;
  assert.equal(full.relation.replicaIdentity, "f");
  assert.equal(full.new.body, text, "filled from the old tuple");
  assert.equal(full.new.n, "2");
  assert.equal(full.old?.body, text);
  assert.equal(full.old?.n, "1");
  // Without an old tuple the unchanged value is not known: the key is absent, not null.
  assert.deepEqual(plain.new, { id: "1", n: "2" });
  assert.equal(plain.old, undefined);
  assert.deepEqual(h.errors, []);
});

test("a schema change reports the relation's before and after shapes", async (t) => {
  const h = await openStream(t, "slot_schema");
  await query("insert into evolving values (1, 'x')");
  await query("alter table evolving add column b int");
  await query("insert into evolving values (2, 'y', 5)");
  await h.waitForTxs(2);

  assert.equal(h.relationChanges.length, 1);
  const change = h.relationChanges[0]!;
  assert.deepEqual(change.before.columns.map((c) => c.name), ["id", "a"]);
  assert.deepEqual(change.after.columns.map((c) => c.name), ["id", "a", "b"]);
  assert.equal(change.after.columns[2]?.typeOid, 23);
  assert.deepEqual(rows(h.txs[0]), [{ kind: "insert", table: "evolving", new: { id: "1", a: "x" } }]);
  assert.deepEqual(rows(h.txs[1]), [{ kind: "insert", table: "evolving", new: { id: "2", a: "y", b: "5" } }]);
});

test("a new stream on the slot replays exactly what was not acknowledged", async (t) => {
  const slot = "slot_ack";
  const first = await openStream(t, slot);
  for (const id of [31, 32, 33]) await query("insert into items (id, name) values ($1, 'ack')", [id]);
  await first.waitForTxs(3);
  const [tx1, tx2, tx3] = first.txs;
  assert.ok(tx1 && tx2 && tx3);
  first.stream.acknowledge(tx2.commitLsn);
  await first.stream.stop();
  await first.stream.stop(); // idempotent
  assert.equal(first.stream.streaming, false);
  // A clean stop ends START_REPLICATION, so the slot is free for the next stream at once.
  const { rows: slotRows } = await query("select active from pg_replication_slots where slot_name = $1", [slot]);
  assert.equal(slotRows[0]?.active, false);

  const second = await openStream(t, slot);
  await query("insert into items (id, name) values (34, 'ack')");
  await second.waitForTxs(2);
  // Delivery is in commit order, so had tx1 or tx2 been replayed they would come first.
  assert.deepEqual(second.txs.map((tx) => tx.commitLsn), [tx3.commitLsn, second.txs[1]!.commitLsn]);
  assert.deepEqual(rows(second.txs[0]), rows(tx3));
  second.stream.acknowledge(second.stream.lastCommitLsn);
  await query("truncate items");
});

test("confirmed_flush_lsn follows acknowledgements only, and advances over idle WAL once all is acknowledged", async (t) => {
  const slot = "slot_confirm";
  const h = await openStream(t, slot);
  await query("insert into items (id, name) values (41, 'c')");
  await query("insert into items (id, name) values (42, 'c')");
  await h.waitForTxs(2);
  const [tx1, tx2] = h.txs;
  assert.ok(tx1 && tx2);
  assert.ok((await confirmedFlush(slot)) < tx1.commitLsn, "nothing confirmed before an acknowledgement");

  h.stream.acknowledge(tx1.commitLsn);
  await until("confirmed_flush_lsn past the acknowledged commit", async () => (await confirmedFlush(slot)) > tx1.commitLsn);
  // Two more status updates processed by the server, none of which may confirm the unacknowledged tx2.
  for (let i = 0; i < 2; i++) {
    const { rows: r } = await query(
      "select reply_time from pg_stat_replication where pid = (select active_pid from pg_replication_slots where slot_name = $1)",
      [slot],
    );
    const seen = r[0]?.reply_time as Date;
    await until("another standby status update", async () => {
      const { rows: now } = await query(
        "select reply_time > $2 as newer from pg_stat_replication where pid = (select active_pid from pg_replication_slots where slot_name = $1)",
        [slot, seen],
      );
      return now[0]?.newer === true;
    });
  }
  assert.ok((await confirmedFlush(slot)) <= tx2.commitLsn, "an unacknowledged transaction is never confirmed");

  h.stream.acknowledge(tx2.commitLsn);
  const { rows: lsnRows } = await query("select pg_current_wal_lsn()::text as lsn");
  const idleFrom = parseLsn(lsnRows[0].lsn as string);
  await query("insert into unpublished default values");
  await until("confirmed_flush_lsn past WAL that carried no published change", async () => (await confirmedFlush(slot)) > idleFrom);
  assert.deepEqual(h.errors, []);
  await query("truncate items");
});

test("losing the connection reports one error and stops the stream", async (t) => {
  const slot = "slot_lost";
  const h = await openStream(t, slot);
  await query("select pg_terminate_backend(active_pid) from pg_replication_slots where slot_name = $1", [slot]);
  await until("the stream error", () => h.errors.length > 0);
  assert.equal(h.errors.length, 1);
  assert.equal(h.stream.streaming, false);
  await h.stream.stop();
});

test("start() rejects when the server is unreachable, and stop() still resolves", async () => {
  const port = await freePort();
  const errors: Error[] = [];
  const stream = new ReplicationStream({
    connectionString: `postgres://nobody@127.0.0.1:${port}/postgres`,
    slotName: "slot_unreachable",
    publicationName: PUBLICATION,
    onTransaction: () => assert.fail("no transaction expected"),
    onError: (err) => errors.push(err),
  });
  try {
    await assert.rejects(stream.start(), /ECONNREFUSED/);
    assert.equal(stream.streaming, false);
    assert.deepEqual(errors, [], "a failed start is reported by start(), not onError");
    await assert.rejects(stream.start(), /already called/);
  } finally {
    await stream.stop();
  }
});
