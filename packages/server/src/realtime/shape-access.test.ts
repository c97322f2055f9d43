// What /v1/shape serves (SPEC A1): user tables only; Runcast's own tables, system catalogs, views,
// unlogged tables and anything that is not a plain table name are refused with a 400 before anything is
// altered; bad parameters are 400s naming them; responses vary on the credential.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { startTestNode, type TestNode } from "../testing/node.ts";

let node: TestNode;

before(async () => {
  node = await startTestNode({ shapeTables: [] });
  await node.userPool.query("CREATE TABLE items (id integer PRIMARY KEY, title text)");
  await node.userPool.query("INSERT INTO items VALUES (1, 'a')");
  // A user table with the name of one of Runcast's: it is the user's, and served.
  await node.userPool.query("CREATE TABLE secret_keys (id integer PRIMARY KEY, label text)");
  await node.userPool.query("INSERT INTO secret_keys VALUES (7, 'mine')");
  await node.userPool.query("CREATE UNLOGGED TABLE scratch (id integer PRIMARY KEY)");
  await node.userPool.query("CREATE VIEW item_view AS SELECT * FROM items");
  await node.userPool.query('CREATE SCHEMA "Other"; CREATE TABLE "Other"."Mixed Case" (id integer PRIMARY KEY)');
});

after(async () => {
  await node?.stop();
});

const auth = () => ({ authorization: `Bearer ${node.secretKey}` });

async function shape(query: string): Promise<{ status: number; body: unknown; headers: Headers }> {
  const r = await fetch(`${node.url}/v1/shape?${query}`, { headers: auth() });
  const text = await r.text();
  return { status: r.status, body: text ? JSON.parse(text) : null, headers: r.headers };
}

/** The state a refused request must not have changed: replica identity and publication membership. */
async function tableState(schema: string, name: string) {
  const { rows } = await node.pool.query<{ ident: string; published: boolean }>(
    `SELECT c.relreplident::text AS ident,
            EXISTS (SELECT 1 FROM pg_publication_rel pr WHERE pr.prrelid = c.oid) AS published
     FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = $2`,
    [schema, name],
  );
  return rows[0];
}

test("Runcast's own tables and system catalogs are refused, whatever the spelling, and left unaltered (SPEC A1)", async () => {
  const before = await tableState("runcast_internal", "environments");
  for (const table of [
    "runcast_internal.secret_keys",
    "runcast_internal.runs",
    "runcast_internal.environments",
    "RUNCAST_INTERNAL.workers",
    '"runcast_internal"."batches"',
    "runcast_internal.runcast_migrations",
    "pg_catalog.pg_authid",
    "pg_catalog.pg_class",
    "information_schema.tables",
    "pg_toast.pg_toast_1255",
  ]) {
    const r = await shape(`table=${encodeURIComponent(table)}&offset=-1`);
    assert.equal(r.status, 400, table);
    assert.equal((r.body as { error: { code: string; field: string } }).error.code, "table_not_allowed", table);
    assert.equal((r.body as { error: { field: string } }).error.field, "table");
  }
  assert.deepEqual(await tableState("runcast_internal", "environments"), before, "not altered");
});

test("the user's own table named like one of Runcast's is served; the secret key never leaves (SPEC A1)", async () => {
  const r = await shape("table=secret_keys&offset=-1");
  assert.equal(r.status, 200);
  const values = (r.body as { value?: Record<string, string> }[]).flatMap((m) => (m.value ? [m.value] : []));
  assert.deepEqual(values, [{ id: "7", label: "mine" }]);
  assert.doesNotMatch(JSON.stringify(r.body), /tr_dev_/);
  const quoted = await shape(`table=${encodeURIComponent('"Other"."Mixed Case"')}&offset=-1`);
  assert.equal(quoted.status, 200);
});

test("views, unlogged tables, OIDs and malformed names are 400s naming the table, and nothing is altered (SPEC A1)", async () => {
  const before = await tableState("public", "scratch");
  const { rows } = await node.userPool.query<{ oid: string }>("SELECT 'items'::regclass::oid::text AS oid");
  const cases: [string, string][] = [
    ["scratch", "table_not_allowed"],
    ["item_view", "table_not_allowed"],
    [rows[0]!.oid, "invalid_table"],
    ["items; DROP TABLE items", "invalid_table"],
    ["a.b.c", "invalid_table"],
    ['"unterminated', "invalid_table"],
    ["x".repeat(64), "invalid_table"],
    ["no_such_table", "table_not_found"],
    ["public.", "invalid_table"],
  ];
  for (const [table, code] of cases) {
    const r = await shape(`table=${encodeURIComponent(table)}&offset=-1`);
    assert.equal(r.status, 400, table);
    assert.equal((r.body as { error: { code: string } }).error.code, code, table);
    assert.equal((r.body as { error: { field: string } }).error.field, "table", table);
  }
  assert.deepEqual(await tableState("public", "scratch"), before, "the unlogged table was not altered");
});

test("a refused where clause or column list alters no table (SPEC A1)", async () => {
  await node.userPool.query("CREATE TABLE untouched (id integer PRIMARY KEY, n integer)");
  const before = await tableState("public", "untouched");
  for (const q of ["where=nope%20%3E%201", "where=n%20%3E", "columns=id,missing", "columns=n"]) {
    const r = await shape(`table=untouched&offset=-1&${q}`);
    assert.equal(r.status, 400, q);
  }
  assert.deepEqual(await tableState("public", "untouched"), before);
  assert.equal(before?.published, false);
});

test("NUL bytes anywhere, bad handles and offsets, and subset snapshots are 400s naming the parameter", async () => {
  const ok = await shape("table=items&offset=-1");
  const handle = ok.headers.get("electric-handle")!;
  const cases: [string, string][] = [
    ["table=it%00ems&offset=-1", "table"],
    ["table=items&offset=-1&where=id%20%3E%200%00", "where"],
    ["table=items&offset=-1&columns=id%00", "columns"],
    [`table=items&offset=0_0&handle=${handle}%00`, "handle"],
    ["table=items&offset=-1%00", "offset"],
    ["table=items&offset=-1&params%5B1%5D=a%00", "params[1]"],
    ["table=items&offset=-1&cursor=%00", "cursor"],
    ["table=items&offset=0_0&handle=not-a-handle", "handle"],
    ["table=items&offset=12x", "offset"],
    ["table=items&offset=-1&subset__where=id%3D1", "subset__where"],
    ["table=items&offset=-1&subset__limit=10", "subset__limit"],
  ];
  for (const [q, field] of cases) {
    const r = await shape(q);
    assert.equal(r.status, 400, q);
    assert.equal((r.body as { error: { field: string } }).error.field, field, q);
  }
});

test("RUNCAST_SHAPE_TABLES restricts /v1/shape to the listed tables", async () => {
  const restricted = await startTestNode({ shapeTables: ["items", "other.things"], nodeId: "restricted" }, node.db);
  try {
    const get = async (table: string) => {
      const r = await fetch(`${restricted.url}/v1/shape?table=${table}&offset=-1`, { headers: { authorization: `Bearer ${restricted.secretKey}` } });
      return { status: r.status, body: (await r.json()) as { error?: { code: string } } };
    };
    assert.equal((await get("items")).status, 200);
    assert.equal((await get("public.items")).status, 200);
    const refused = await get("secret_keys");
    assert.equal(refused.status, 400);
    assert.equal(refused.body.error?.code, "table_not_allowed");
  } finally {
    await restricted.stop();
  }
});

test("shape responses vary on Authorization, so a shared cache never hands one credential's data to another", async () => {
  const r = await fetch(`${node.url}/v1/shape?table=items&offset=-1`, { headers: { ...auth(), origin: "http://app.example" } });
  await r.body?.cancel();
  assert.equal(r.status, 200);
  assert.match(r.headers.get("vary") ?? "", /Authorization/i);
  assert.equal(r.headers.get("access-control-allow-origin"), "http://app.example");
  assert.match(r.headers.get("access-control-expose-headers") ?? "", /electric-handle/);
});
