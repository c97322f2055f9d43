// Property-based fuzzing of every HTTP route (fast-check): malformed and hostile input — wrong types, huge and
// broken bodies, invalid UTF-8 and NUL bytes, SQL in ids, tags and where clauses, tampered, expired and
// wrong-scope tokens, invalid offsets and handles — never gets a 5xx or a hang: a 4xx, or a 2xx that is valid JSON.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { SignJWT } from "jose";
import { auth } from "@runcast/sdk";
import { startTestNode, type TestNode } from "../testing/node.ts";

let node: TestNode;
let runId = "";
let batchId = "";
let handle = "";
const tokens: Record<string, string> = {};

before(async () => {
  // Short holds: a live request that is rightly held answers within the request's time limit.
  node = await startTestNode({ longPollMs: 300, maxBodyBytes: 256 * 1024 });
  await node.userPool.query("CREATE TABLE fuzz_items (id integer PRIMARY KEY, title text, tags text[])");
  await node.userPool.query("INSERT INTO fuzz_items VALUES (1, 'one', '{a}')");
  const headers = { authorization: `Bearer ${node.secretKey}`, "content-type": "application/json" };
  const run = await fetch(`${node.url}/api/v1/tasks/fuzz-task/trigger`, { method: "POST", headers, body: JSON.stringify({ payload: { a: 1 }, options: { tags: ["fuzz"] } }) });
  runId = ((await run.json()) as { id: string }).id;
  const batch = await fetch(`${node.url}/api/v1/batches`, { method: "POST", headers, body: JSON.stringify({ items: [{ task: "fuzz-task", payload: {} }] }) });
  const made = (await batch.json()) as { id?: string; batchId?: string };
  batchId = made.id ?? made.batchId ?? "";
  assert.ok(batchId, "a batch to aim at");
  const shape = await fetch(`${node.url}/v1/shape?table=fuzz_items&offset=-1`, { headers });
  await shape.arrayBuffer();
  handle = shape.headers.get("electric-handle") ?? "";
  const config = { baseURL: node.url, secretKey: node.secretKey };
  tokens.read = await auth.createPublicToken({ scopes: { read: { runs: [runId] } } }, config);
  tokens.otherRun = await auth.createPublicToken({ scopes: { read: { runs: ["run_doesnotexist000000000"] } } }, config);
  tokens.trigger = await auth.createTriggerPublicToken("fuzz-task", {}, config);
  const key = new TextEncoder().encode(node.secretKey);
  tokens.expired = await new SignJWT({ pub: true, scopes: ["read:runs"] }).setProtectedHeader({ alg: "HS256" }).setSubject(node.envId).setIssuedAt(Math.floor(Date.now() / 1000) - 7200).setExpirationTime(Math.floor(Date.now() / 1000) - 3600).sign(key);
  tokens.wrongKey = await new SignJWT({ pub: true, scopes: ["read:runs"] }).setProtectedHeader({ alg: "HS256" }).setSubject(node.envId).setExpirationTime("1h").sign(new TextEncoder().encode("tr_dev_notthekey0000000000000000"));
  tokens.noneAlg = `${Buffer.from('{"alg":"none"}').toString("base64url")}.${Buffer.from(JSON.stringify({ pub: true, sub: node.envId, scopes: ["read:runs"] })).toString("base64url")}.`;
  tokens.tampered = tokens.read.slice(0, -4) + (tokens.read.endsWith("AAAA") ? "BBBB" : "AAAA");
});

after(async () => {
  await node?.stop();
});

const HOSTILE = [
  "' OR 1=1 --",
  "'; DROP TABLE runs; --",
  "1; SELECT pg_sleep(10)",
  "id = 1 OR pg_sleep(10) IS NULL",
  "%00",
  "%E0%A4%A",
  "%C3%28",
  "%FF%FE",
  "..%2F..%2Fetc%2Fpasswd",
  "\u0000",
  "🙂",
  "-1",
  "now",
  "0_inf",
  "99999999999999999999999_0",
  "null",
  "undefined",
  "[object Object]",
  "a".repeat(5000),
  "run_" + "z".repeat(200),
];

/** A path segment: random text, hostile strings, or a real id (so deeper code runs too). */
const segment = () =>
  fc.oneof(
    fc.string({ maxLength: 40 }).map(encodeURIComponent),
    fc.constantFrom(...HOSTILE).map((s) => (s.startsWith("%") ? s : encodeURIComponent(s))),
    fc.constantFrom(runId, batchId, "fuzz-task", "echo", handle),
  );

const QUERY_KEYS = ["offset", "handle", "live", "live_sse", "cursor", "table", "where", "columns", "params[1]", "replica", "tags", "status", "taskIdentifier", "createdAt", "skipColumns", "page[size]", "page[after]", "page[before]", "filter[status]", "filter[tag]", "limit", "from", "to", "x"];
const queryValue = () =>
  fc.oneof(fc.string({ maxLength: 30 }), fc.constantFrom(...HOSTILE), fc.constantFrom("-1", "true", "false", "0_0", "fuzz_items", handle, runId, "tag = 'a'", "id = 1", "1000000", "-5", "1.5"));
const query = () =>
  fc.array(fc.tuple(fc.oneof(fc.constantFrom(...QUERY_KEYS), fc.string({ maxLength: 10 })), queryValue()), { maxLength: 5 }).map((pairs) =>
    pairs.map(([k, v]) => `${encodeURIComponent(k)}=${HOSTILE.includes(v) && v.startsWith("%") ? v : encodeURIComponent(v)}`).join("&"),
  );

const jsonish = () => fc.jsonValue({ maxDepth: 3 });
const body = () =>
  fc.oneof(
    jsonish().map((v) => JSON.stringify(v)),
    fc.record({ payload: jsonish(), options: fc.dictionary(fc.constantFrom("tags", "delay", "ttl", "idempotencyKey", "queue", "maxAttempts", "metadata", "concurrencyKey", "machine"), jsonish()) }).map((v) => JSON.stringify(v)),
    fc.record({ items: fc.array(fc.record({ task: fc.oneof(fc.constant("fuzz-task"), fc.string()), payload: jsonish() }), { maxLength: 3 }) }).map((v) => JSON.stringify(v)),
    fc.record({ operations: fc.array(fc.record({ type: fc.constantFrom("set", "append", "increment", "x"), key: fc.string(), value: jsonish() }), { maxLength: 3 }) }).map((v) => JSON.stringify(v)),
    fc.string({ maxLength: 200 }),
    fc.constantFrom('{"payload": {', "[1,2", "\u0000", '{"a":"\u0000"}', "", "null", "true", '{"tags": ["\' OR 1=1 --"]}', '{"scopes": {"read": {"runs": true}}}'),
    fc.constant("x".repeat(300 * 1024)),
  );
const invalidUtf8 = Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xc3, 0x28, 0xff, 0xfe, 0x22, 0x7d]);

const credential = () => fc.constantFrom<string | undefined>(undefined, "secret", "read", "otherRun", "trigger", "expired", "wrongKey", "noneAlg", "tampered", "garbage", "wrongSecret");
function authorization(name: string | undefined): string | undefined {
  if (name === undefined) return undefined;
  if (name === "secret") return `Bearer ${node.secretKey}`;
  if (name === "garbage") return "Bearer abc.def.ghi";
  if (name === "wrongSecret") return "Bearer tr_dev_notarealkey00000000000000";
  return `Bearer ${tokens[name]}`;
}

function fill(path: string, segments: string[]): string {
  let i = 0;
  return path.replace(/:[A-Za-z]+/g, () => segments[i++ % segments.length] ?? "x").replace(/\*$/, segments[0] ?? "x");
}

test("every route answers hostile input with a 4xx or a valid 2xx: never a 5xx, never a hang", async () => {
  const routes = node.routes.filter((r) => r.path !== "/healthz");
  assert.ok(routes.length > 30, `the app lists its routes (${routes.length})`);
  const seen = new Set<string>();
  let previous = "nothing";
  await fc.assert(
    fc.asyncProperty(
      fc.constantFrom(...routes),
      fc.array(segment(), { minLength: 3, maxLength: 3 }),
      query(),
      body(),
      fc.boolean(),
      credential(),
      async (route, segments, q, text, brokenUtf8, cred) => {
        const path = fill(route.path, segments) + (q ? `?${q}` : "");
        const headers: Record<string, string> = { "content-type": "application/json" };
        const a = authorization(cred);
        if (a) headers.authorization = a;
        const hasBody = route.method !== "GET" && route.method !== "HEAD";
        const controller = new AbortController();
        const timer = setTimeout(() => controller.abort(), 8_000);
        let res: Response;
        const before = previous;
        previous = `${route.method} ${path.slice(0, 200)} body ${hasBody ? (brokenUtf8 ? "invalid UTF-8" : `${text.length} chars`) : "none"} ${cred ?? "no credential"}`;
        try {
          res = await fetch(`${node.url}${path}`, { method: route.method, headers, signal: controller.signal, ...(hasBody ? { body: brokenUtf8 ? invalidUtf8 : text } : {}) });
        } catch (err) {
          throw new Error(`${route.method} ${path.slice(0, 300)} (after ${before}): no answer within 8 s (${err instanceof Error ? `${err.message}: ${String((err as Error & { cause?: unknown }).cause)}` : String(err)})`);
        }
        let content: string;
        try {
          // SSE streams stay open: read what came, then leave.
          content = res.headers.get("content-type")?.startsWith("text/event-stream") ? (controller.abort(), "") : await res.text();
        } catch {
          content = "";
        } finally {
          clearTimeout(timer);
        }
        seen.add(`${route.method} ${route.path} ${res.status}`);
        assert.ok(res.status < 500, `${route.method} ${path.slice(0, 300)} (${cred ?? "no credential"}) answered ${res.status}: ${content.slice(0, 300)}`);
        if ((res.headers.get("content-type") ?? "").includes("application/json") && content) {
          assert.doesNotThrow(() => JSON.parse(content), `${route.method} ${path.slice(0, 200)}: invalid JSON`);
        }
        // Every refusal is `{ error: { code, message } }` with a stable snake_case code (the official SDK reads
        // `error.message`), except the shape protocol's must-refetch, whose body is the protocol's control message.
        if (res.status >= 400 && !(res.status === 409 && res.headers.has("electric-handle"))) {
          const err = (JSON.parse(content) as { error?: { code?: unknown; message?: unknown } }).error;
          assert.match(String(err?.code), /^[a-z][a-z0-9]*(_[a-z0-9]+)*$/, `${route.method} ${path.slice(0, 200)} ${res.status}: a code in ${content.slice(0, 300)}`);
          assert.ok(typeof err?.message === "string" && err.message.length > 0, `${route.method} ${path.slice(0, 200)} ${res.status}: a message in ${content.slice(0, 300)}`);
        }
      },
    ),
    { includeErrorInReport: true, numRuns: Number(process.env.RUNCAST_FUZZ_RUNS ?? 600), seed: process.env.RUNCAST_FUZZ_SEED ? Number(process.env.RUNCAST_FUZZ_SEED) : undefined },
  );
  // The database is still whole and answering.
  const { rows } = await node.pool.query<{ n: number }>("SELECT count(*)::int AS n FROM runs WHERE id = $1", [runId]);
  assert.equal(rows[0]?.n, 1);
  assert.ok(seen.size > routes.length / 2, "most routes were reached");
});

test("a body over the limit gets a 413 that closes the connection: the unread rest cannot carry another request", async () => {
  const res = await fetch(`${node.url}/api/v1/tasks/fuzz-task/trigger`, {
    method: "POST",
    headers: { authorization: `Bearer ${node.secretKey}`, "content-type": "application/json" },
    body: JSON.stringify({ payload: "x".repeat(300 * 1024) }),
  });
  assert.equal(res.status, 413);
  assert.equal(res.headers.get("connection"), "close");
  assert.equal(((await res.json()) as { error: { code: string } }).error.code, "payload_too_large");
  // The next request (on a new connection) is answered as usual.
  assert.equal((await fetch(`${node.url}/healthz`)).status, 200);
});
