// Security against a real server: keys sealed at rest, isolated environments, key management with revocation
// that ends live requests (on every node), tokens that must expire, work once when one-time, and never widen.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { SignJWT, UnsecuredJWT } from "jose";
import { JWT_AUDIENCE, JWT_ISSUER, signPublicToken } from "./jwt.ts";
import { bootstrapKey, generateSecretKey } from "./keys.ts";
import type { EmbeddedDatabase } from "../db/embedded.ts";
import { startTestNode, waitFor, type TestNode } from "../testing/node.ts";
import { startTestPostgres } from "../testing/pg.ts";

let db: EmbeddedDatabase;
let node: TestNode;
/** A prod key, registered as a node started with RUNCAST_SECRET_KEY=tr_prod_… registers it. */
const PROD_KEY = generateSecretKey("prod");
const extraNodes: TestNode[] = [];

before(async () => {
  db = await startTestPostgres();
  node = await startTestNode({ longPollMs: 60_000, maxSubscriptions: 8, maxSubscriptionsPerToken: 2 }, db);
  await bootstrapKey(node.pool, node.keys.box, PROD_KEY);
});

after(async () => {
  for (const n of extraNodes) await n.stop();
  await node?.stop();
  await db?.stop();
});

interface Answer {
  status: number;
  body: Record<string, unknown>;
  headers: Headers;
}

async function call(path: string, key: string, body?: unknown, base = node.url): Promise<Answer> {
  const r = await fetch(`${base}${path}`, {
    method: body === undefined ? "GET" : "POST",
    headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await r.text();
  return { status: r.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {}, headers: r.headers };
}

const devKey = () => node.secretKey;
const trigger = (key: string, taskId: string, options: Record<string, unknown> = {}, payload: unknown = { value: "x" }) =>
  call(`/api/v1/tasks/${taskId}/trigger`, key, { payload, options });
const secretOf = (a: Answer) => a.body.secretKey as string;
const token = (scopes: string[], extra: { otu?: boolean; key?: string; sub?: string; expiresIn?: string } = {}) =>
  signPublicToken(extra.key ?? devKey(), { sub: extra.sub ?? "env_dev", scopes, ...(extra.otu ? { otu: true } : {}) }, extra.expiresIn ?? "10m");

/** Starts a live long-poll on a run's feed and returns a promise of how it ended (status, or "cut" when the connection was cut). */
async function holdLive(runId: string, auth: string, base = node.url): Promise<{ ended: Promise<number | "cut">; abort(): void }> {
  const first = await fetch(`${base}/realtime/v1/runs/${runId}?offset=-1`, { headers: { authorization: `Bearer ${auth}` } });
  assert.equal(first.status, 200, await first.clone().text());
  await first.body?.cancel();
  const handle = first.headers.get("electric-handle") ?? "";
  const offset = first.headers.get("electric-offset") ?? "";
  const ac = new AbortController();
  const ended = fetch(`${base}/realtime/v1/runs/${runId}?offset=${offset}&handle=${handle}&live=true`, {
    headers: { authorization: `Bearer ${auth}` },
    signal: ac.signal,
  }).then(
    async (r) => {
      try {
        await r.text();
        return r.status;
      } catch {
        return "cut" as const;
      }
    },
    () => "cut" as const,
  );
  return { ended, abort: () => ac.abort() };
}

/** Settles with the value, or "still open" when the promise has not settled within `ms`. */
const within = <T>(p: Promise<T>, ms: number) => Promise.race([p, new Promise<"still open">((r) => setTimeout(() => r("still open"), ms))]);

test("keys are sealed at rest: no table row holds a secret key as text; lists show prefixes only", async () => {
  const created = await call("/api/v1/keys", devKey(), { name: "ci" });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const fresh = secretOf(created);
  assert.match(fresh, /^tr_dev_[0-9a-zA-Z]{24}$/);
  assert.equal(created.body.environment, "dev");
  assert.equal(created.headers.get("cache-control"), "no-store");
  assert.equal((await trigger(fresh, "echo")).status, 200, "the new key works at once");
  const list = await call("/api/v1/keys", devKey());
  const entries = list.body.data as { id: string; prefix: string; name: string | null; revokedAt: string | null }[];
  const entry = entries.find((k) => k.id === created.body.id);
  assert.ok(entry);
  assert.equal(entry.prefix, fresh.slice(0, "tr_dev_".length + 4));
  assert.doesNotMatch(JSON.stringify(list.body), /tr_dev_[0-9a-zA-Z]{8}/, "a list never shows a usable key");
  // Every row of every table, as text: none holds any of the keys (nor the random part of one).
  const secrets = [devKey(), PROD_KEY, fresh].flatMap((k) => [k, k.replace(/^tr_[a-z]+_/, "")]);
  const { rows: tables } = await node.userPool.query<{ name: string }>(
    "SELECT format('%I.%I', schemaname, tablename) AS name FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')",
  );
  assert.ok(tables.some((t) => t.name === "runcast_internal.secret_keys"));
  for (const { name } of tables) {
    const { rows } = await node.userPool.query<{ row: string }>(`SELECT t::text AS row FROM ${name} t`);
    for (const { row } of rows) for (const s of secrets) assert.ok(!row.includes(s), `${name} holds a secret key as text`);
  }
  // Another environment's keys are not listed.
  const prodList = await call("/api/v1/keys", PROD_KEY);
  assert.deepEqual((prodList.body.data as { environment: string }[]).map((k) => k.environment), ["prod"]);
});

test("tokens must expire, no further than 30 days ahead; forged ones are refused", async () => {
  const run = await trigger(devKey(), "echo");
  const runId = run.body.id as string;
  const read = (t: string) => call(`/api/v3/runs/${runId}`, t);
  const secret = new TextEncoder().encode(devKey());
  const claims = { sub: "env_dev", pub: true, scopes: [`read:runs:${runId}`] };
  const base = () => new SignJWT(claims).setProtectedHeader({ alg: "HS256" }).setIssuer(JWT_ISSUER).setAudience(JWT_AUDIENCE).setIssuedAt();
  assert.equal((await read(await base().setExpirationTime("10m").sign(secret))).status, 200, "a well-formed token reads");
  const noExp = await read(await base().sign(secret));
  assert.equal(noExp.status, 401);
  assert.match(JSON.stringify(noExp.body), /exp/);
  const tooLong = await read(await base().setExpirationTime("40d").sign(secret));
  assert.equal(tooLong.status, 401);
  assert.match(JSON.stringify(tooLong.body), /30 days/);
  assert.equal((await read(await base().setExpirationTime("29d").sign(secret))).status, 200, "up to 30 days is fine");
  const forged = [
    new UnsecuredJWT(claims).setIssuer(JWT_ISSUER).setAudience(JWT_AUDIENCE).setExpirationTime("10m").encode(),
    await base().setExpirationTime("10m").sign(new TextEncoder().encode(generateSecretKey())),
    await base().setExpirationTime("10m").sign(new TextEncoder().encode(PROD_KEY)),
    await new SignJWT({ ...claims, scopes: ["admin"] }).setProtectedHeader({ alg: "HS256" }).setIssuer(JWT_ISSUER).setAudience(JWT_AUDIENCE).setExpirationTime("10m").sign(new TextEncoder().encode(generateSecretKey())),
    await base().setExpirationTime(Math.floor(Date.now() / 1000) - 120).sign(secret),
  ];
  for (const t of forged) assert.equal((await read(t)).status, 401, t);
});

test("a one-time trigger token triggers once, even when two requests race", async () => {
  const once = await token(["trigger:tasks:echo"], { otu: true });
  assert.equal((await trigger(once, "echo")).status, 200);
  const again = await trigger(once, "echo");
  assert.equal(again.status, 422);
  assert.match(JSON.stringify(again.body), /one-time use token/);
  const raced = await token(["trigger:tasks:echo"], { otu: true });
  const results = await Promise.all(Array.from({ length: 6 }, () => trigger(raced, "echo")));
  assert.deepEqual(results.map((r) => r.status).sort(), [200, 422, 422, 422, 422, 422]);
  // Other spellings of one signature (spare bits of its last character, a trailing "=") are the same token.
  const spelled = await token(["trigger:tasks:echo"], { otu: true });
  const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  const variants = [0, 1, 2, 3].flatMap((k) => {
    const last = B64[(B64.indexOf(spelled.slice(-1)) & ~3) | k];
    return [`${spelled.slice(0, -1)}${last}`, `${spelled.slice(0, -1)}${last}=`];
  });
  const spellings = await Promise.all(variants.map((v) => trigger(v, "echo")));
  const accepted = spellings.filter((r) => r.status === 200).length;
  assert.equal(accepted, 1, `one token, however spelled, triggers once: ${spellings.map((r) => r.status).join(",")}`);
  const batchOnce = await token(["batchTrigger:tasks:echo"], { otu: true });
  const items = [{ task: "echo", payload: { value: "b" } }];
  assert.equal((await call("/api/v1/batches", batchOnce, { items })).status, 200);
  assert.equal((await call("/api/v1/batches", batchOnce, { items })).status, 422);
  const multi = await token(["trigger:tasks:echo"]);
  assert.equal((await trigger(multi, "echo")).status, 200);
  assert.equal((await trigger(multi, "echo")).status, 200, "a multiple-use token is not consumed");
});

test("a narrow token never widens: no replay, no someone else's idempotency key or batch, no foreign parent", async () => {
  const theirs = await trigger(devKey(), "echo", { idempotencyKey: "theirs-1" }, { value: "secret payload" });
  assert.equal(theirs.status, 200);
  const theirId = theirs.body.id as string;
  const narrow = await token(["trigger:tasks:echo"]);
  const replay = await call(`/api/v1/runs/${theirId}/replay`, narrow, {});
  assert.equal(replay.status, 403, "replaying a run it cannot read would hand out a reader of its payload");
  const hit = await trigger(narrow, "echo", { idempotencyKey: "theirs-1" });
  assert.equal(hit.status, 403);
  assert.equal(hit.headers.get("x-trigger-jwt"), null, "no read token for someone else's run");
  assert.equal((hit.body.error as { code: string }).code, "idempotency_key_taken");
  // Its own idempotency key: the second trigger is the cached run, with a read token.
  const mine = await trigger(narrow, "echo", { idempotencyKey: "mine-1" });
  const mineAgain = await trigger(narrow, "echo", { idempotencyKey: "mine-1" });
  assert.equal(mineAgain.status, 200);
  assert.equal(mineAgain.body.id, mine.body.id);
  assert.equal(mineAgain.body.isCached, true);
  assert.ok(mineAgain.headers.get("x-trigger-jwt"));
  // Another credential's batch by its idempotency key.
  const items = [{ task: "echo", payload: { value: "b" } }];
  assert.equal((await call("/api/v1/batches", devKey(), { items, idempotencyKey: "their-batch" })).status, 200);
  const batchToken = await token(["batchTrigger:tasks:echo"]);
  const batchHit = await call("/api/v1/batches", batchToken, { items, idempotencyKey: "their-batch" });
  assert.equal(batchHit.status, 403);
  assert.equal(batchHit.headers.get("x-trigger-jwt"), null);
  // An item of its own batch naming someone else's run by idempotency key: refused, and nothing is written.
  const batchesBefore = (await node.pool.query<{ n: number }>("SELECT count(*)::int AS n FROM batches")).rows[0]?.n;
  const itemHit = await call("/api/v1/batches", batchToken, { items: [...items, { task: "echo", payload: {}, options: { idempotencyKey: "theirs-1" } }] });
  assert.equal(itemHit.status, 403);
  assert.equal((await node.pool.query<{ n: number }>("SELECT count(*)::int AS n FROM batches")).rows[0]?.n, batchesBefore, "no half-written batch");
  // A child of someone else's run.
  const parented = await trigger(narrow, "echo", { parentRunId: theirId });
  assert.equal(parented.status, 403);
  // The token it got for its own run reads that run, not another.
  const own = mine.body.publicAccessToken as string;
  assert.equal((await call(`/api/v3/runs/${mine.body.id as string}`, own)).status, 200);
  assert.equal((await call(`/api/v3/runs/${theirId}`, own)).status, 403);
});

test("environments are isolated: a prod key and prod tokens cannot read, list, cancel, feed or trigger into dev", async () => {
  const devRun = await trigger(devKey(), "echo");
  const devId = devRun.body.id as string;
  assert.equal((await call(`/api/v3/runs/${devId}`, PROD_KEY)).status, 404);
  assert.equal((await call(`/api/v2/runs/${devId}/cancel`, PROD_KEY, {})).status, 404);
  assert.equal((await call(`/api/v1/runs/${devId}/events`, PROD_KEY)).status, 404);
  assert.equal((await call(`/realtime/v1/runs/${devId}?offset=-1`, PROD_KEY)).status, 404);
  const prodRun = await trigger(PROD_KEY, "echo");
  assert.equal(prodRun.status, 200);
  assert.equal((await call(`/api/v3/runs/${prodRun.body.id as string}`, devKey())).status, 404, "and the other way round");
  const listed = await call("/api/v1/runs?limit=100", PROD_KEY);
  const ids = (listed.body.data as { id: string }[]).map((r) => r.id);
  assert.ok(ids.includes(prodRun.body.id as string));
  assert.ok(!ids.includes(devId));
  // A prod token claiming the dev environment does not verify; a prod token reads no dev run.
  const claimsDev = await token([`read:runs:${devId}`], { key: PROD_KEY, sub: "env_dev" });
  assert.equal((await call(`/api/v3/runs/${devId}`, claimsDev)).status, 401);
  const prodToken = await token(["read:runs"], { key: PROD_KEY, sub: "env_prod" });
  assert.equal((await call(`/api/v3/runs/${devId}`, prodToken)).status, 404);
  // The run's read token came signed for dev, and reads in dev only.
  assert.equal((await call(`/api/v3/runs/${devId}`, devRun.body.publicAccessToken as string)).status, 200);
});

test("attempt routes check the environment: another environment's key cannot heartbeat, wait, complete or fail an attempt", async () => {
  const reg = await call("/api/v1/workers", devKey(), { name: "sec", concurrency: 1, tasks: [{ id: "sec-task" }] });
  assert.equal(reg.status, 201);
  const workerId = reg.body.workerId as string;
  const run = await trigger(devKey(), "sec-task");
  const runId = run.body.id as string;
  const dq = await call(`/api/v1/workers/${workerId}/dequeue`, devKey(), { maxRuns: 1, waitMs: 5_000 });
  const leased = (dq.body.runs as { id: string; attemptId: string }[])[0];
  assert.ok(leased, JSON.stringify(dq.body));
  const attemptId = leased.attemptId;
  assert.match(attemptId, /^attempt_[0-9a-f]{32}$/, "attempt ids come from a CSPRNG (gen_random_uuid)");
  const at = `/api/v1/runs/${runId}/attempts/${attemptId}`;
  for (const [route, body] of [
    ["heartbeat", { workerId }],
    ["wait", { workerId, waitpoint: { kind: "duration", until: new Date(Date.now() + 60_000).toISOString() } }],
    ["complete", { workerId, output: { stolen: true } }],
    ["fail", { workerId, error: { message: "sabotage" } }],
  ] as const) {
    const r = await call(`${at}/${route}`, PROD_KEY, body);
    assert.ok(r.status === 404 || r.status === 409, `${route} with a prod key: ${r.status} ${JSON.stringify(r.body)}`);
  }
  assert.equal((await call(`/api/v3/runs/${runId}`, devKey())).body.status, "EXECUTING", "nothing happened to the run");
  assert.equal((await call(`${at}/complete`, devKey(), { workerId, output: { ok: true } })).status, 200);
  assert.equal((await call(`/api/v3/runs/${runId}`, devKey())).body.status, "COMPLETED");
  await call(`/api/v1/workers/${workerId}/stop`, devKey(), {});
});

test("one public token holds at most its share of the environment's live subscriptions", async () => {
  const run = await trigger(devKey(), "echo");
  const runId = run.body.id as string;
  const reader = await token([`read:runs:${runId}`]);
  const held = [await holdLive(runId, reader), await holdLive(runId, reader)];
  const third = await fetch(`${node.url}/realtime/v1/runs/${runId}?offset=-1`, { headers: { authorization: `Bearer ${reader}` } });
  const handle = third.headers.get("electric-handle") ?? "";
  const offset = third.headers.get("electric-offset") ?? "";
  await third.body?.cancel();
  const over = await fetch(`${node.url}/realtime/v1/runs/${runId}?offset=${offset}&handle=${handle}&live=true`, { headers: { authorization: `Bearer ${reader}` } });
  assert.equal(over.status, 429);
  assert.match(await over.text(), /RUNCAST_MAX_SUBSCRIPTIONS_PER_TOKEN/);
  // Another token (or the secret key) still gets a slot.
  const other = await holdLive(runId, await token([`read:runs:${runId}`]));
  assert.equal(await within(other.ended, 300), "still open");
  for (const h of [...held, other]) h.abort();
  await Promise.all([...held, other].map((h) => h.ended));
});

test("RUNCAST_SHAPE_ENVIRONMENTS keeps other environments' keys away from user tables", async () => {
  await node.userPool.query("CREATE TABLE IF NOT EXISTS customers (id integer PRIMARY KEY, name text)");
  await node.userPool.query("INSERT INTO customers VALUES (1, 'ada') ON CONFLICT DO NOTHING");
  const guarded = await startTestNode({ shapeEnvironments: ["prod"], nodeId: "guarded" }, db);
  extraNodes.push(guarded);
  const dev = await call("/v1/shape?table=customers&offset=-1", devKey(), undefined, guarded.url);
  assert.equal(dev.status, 403);
  assert.match(JSON.stringify(dev.body), /RUNCAST_SHAPE_ENVIRONMENTS/);
  const prod = await fetch(`${guarded.url}/v1/shape?table=customers&offset=-1`, { headers: { authorization: `Bearer ${PROD_KEY}` } });
  assert.equal(prod.status, 200);
  await prod.body?.cancel();
});

test("a revoked key gets 401 at once, and the live requests it opened end, on this node and on another", async () => {
  const second = await startTestNode({ longPollMs: 60_000, nodeId: "second_node" }, db);
  extraNodes.push(second);
  const created = await call("/api/v1/keys", devKey(), { name: "to revoke" });
  const doomed = secretOf(created);
  const run = await trigger(doomed, "echo");
  const runId = run.body.id as string;
  const signedByDoomed = run.body.publicAccessToken as string;
  await waitFor(async () => (await call(`/api/v3/runs/${runId}`, doomed, undefined, second.url)).status === 200, "the key to work on the second node");
  const lives = [await holdLive(runId, doomed), await holdLive(runId, signedByDoomed), await holdLive(runId, doomed, second.url)];
  const bystander = await holdLive(runId, devKey(), second.url);
  for (const l of lives) assert.equal(await within(l.ended, 200), "still open", "held before the revocation");
  const started = Date.now();
  const revoked = await call(`/api/v1/keys/${created.body.id as string}/revoke`, devKey(), {});
  assert.equal(revoked.status, 200);
  assert.ok(revoked.body.revokedAt);
  assert.equal((await call(`/api/v3/runs/${runId}`, doomed)).status, 401, "refused at once on the node that revoked it");
  assert.equal((await call(`/api/v3/runs/${runId}`, signedByDoomed)).status, 401, "tokens it signed too");
  const endings = await Promise.all(lives.map((l) => within(l.ended, 5_000)));
  for (const e of endings) assert.notEqual(e, "still open", `a live request outlived its key's revocation: ${JSON.stringify(endings)}`);
  process.stdout.write(`# live requests of a revoked key ended within ${Date.now() - started} ms (both nodes)\n`);
  await waitFor(async () => (await call(`/api/v3/runs/${runId}`, doomed, undefined, second.url)).status === 401, "the second node to refuse the key", 5_000);
  assert.equal(await within(bystander.ended, 200), "still open", "other keys' requests carry on");
  bystander.abort();
  await bystander.ended;
  // Revoking is idempotent, and another environment's key cannot revoke this one.
  assert.equal((await call(`/api/v1/keys/${created.body.id as string}/revoke`, devKey(), {})).status, 200);
  assert.equal((await call(`/api/v1/keys/${created.body.id as string}/revoke`, PROD_KEY, {})).status, 404);
  // A key may revoke itself and still gets its answer.
  const self = secretOf(await call("/api/v1/keys", devKey(), {}));
  const selfId = ((await call("/api/v1/keys", self)).body.data as { id: string; prefix: string }[]).find((k) => self.startsWith(k.prefix))?.id;
  const selfRevoke = await call(`/api/v1/keys/${selfId ?? ""}/revoke`, self, {});
  assert.equal(selfRevoke.status, 200);
  assert.equal((await call("/api/v1/keys", self)).status, 401);
});

test("a restart with a revoked key in RUNCAST_SECRET_KEY does not revive it", async () => {
  const created = await call("/api/v1/keys", devKey(), {});
  const key = secretOf(created);
  assert.equal((await call(`/api/v1/keys/${created.body.id as string}/revoke`, devKey(), {})).status, 200);
  for (const n of extraNodes.splice(0)) await n.stop();
  await node.stop();
  node = await startTestNode({ secretKey: key }, db);
  assert.equal(node.secretKeyRevoked, true);
  assert.equal((await call("/api/v1/keys", key)).status, 401);
  assert.equal((await call("/api/v1/keys", PROD_KEY)).status, 200, "the other keys still work after the restart");
});
