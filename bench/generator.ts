/**
 * Load generator child (forked by the fan-out bench with an IPC channel). It holds many long-poll
 * subscribers on one shape, speaking only the public HTTP contract of the Electric shape protocol:
 * `GET /v1/shape?table=…&offset=-1` for the handle and offset, then `live=true` requests. For every
 * subscriber it records when the body of its first data response of a round was fully received, on the
 * shared bench clock.
 *
 * Each subscriber has its own keep-alive connection: either the bench's minimal HTTP/1.1 client
 * (lib/raw-http.ts, the default: cheap enough that the client is not what is measured) or node:http with a
 * keep-alive agent. The same code drives the Runcast server and the floor server, so whatever the
 * client costs is in both.
 */
import http from "node:http";
import { now } from "./lib/clock.ts";
import type { FromGenerator, HttpSample, ToGenerator } from "./lib/ipc.ts";
import { RawHttpConnection, type Answer } from "./lib/raw-http.ts";

function send(msg: FromGenerator): void {
  process.send?.(msg);
}

// The orchestrator owns this process: it ends when the IPC channel does (the bench ended or died).
process.on("disconnect", () => process.exit(0));
// Ctrl-C reaches the whole process group; the orchestrator stops us in order.
process.on("SIGINT", () => {});

type OpenMessage = Extract<ToGenerator, { t: "open" }>;

/** One subscriber's connection. */
interface Transport {
  get(path: string, written?: () => void): Promise<Answer>;
  close(): void;
}

/** Counts connections opened since the last round (keep-alive reuse means none in a steady state). */
let newSockets = 0;

function rawTransport(host: string, port: number, headers: Record<string, string>): Transport {
  const conn = new RawHttpConnection(host, port);
  return {
    get(path, written) {
      const before = conn.opened;
      const p = conn.get(path, headers, written);
      newSockets += conn.opened - before;
      return p;
    },
    close: () => conn.destroy(),
  };
}

const seenSockets = new WeakSet<object>();

/** node:http, one keep-alive agent per generator (sockets are reused from its pool). */
function nodeHttpTransport(agent: http.Agent, host: string, port: number, headers: Record<string, string>): Transport {
  let current: http.ClientRequest | undefined;
  return {
    get(path, written) {
      return new Promise((resolve, reject) => {
        const req = http.request({ host, port, path, method: "GET", agent, headers });
        current = req;
        req.on("socket", (socket) => {
          if (!seenSockets.has(socket)) {
            seenSockets.add(socket);
            newSockets++;
          }
        });
        if (written) req.on("finish", written);
        req.on("error", reject);
        req.on("response", (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("error", reject);
          res.on("end", () => {
            const end = now();
            current = undefined;
            const h: Record<string, string> = {};
            for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) h[k] = Array.isArray(v) ? v.join(", ") : v;
            resolve({ status: res.statusCode ?? 0, headers: h, body: chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks), end });
          });
        });
        req.end();
      });
    },
    close: () => current?.destroy(),
  };
}

interface Subscriber {
  id: number;
  handle: string | undefined;
  offset: string;
  cursor: string | undefined;
  transport: Transport;
}

let table = "";
let subscribers: Subscriber[] = [];
let closing = false;
let agent: http.Agent | undefined;
let reissue: OpenMessage["reissue"] = "deferred";
/** Deferred mode: subscribers answered this round, waiting for `rearm`. */
let parked: Subscriber[] = [];

// Round bookkeeping.
let ends: (number | null)[] = [];
let got = 0;
let bodyBytes = 0;
let empty = 0;
let errors = 0;
let sample: HttpSample | undefined;

function resetRound(): void {
  ends = subscribers.map(() => null);
  got = 0;
  bodyBytes = 0;
  empty = 0;
  errors = 0;
  newSockets = 0;
  sample = undefined;
}

function flushRound(): void {
  send({ t: "round", ends, bodyBytes, empty, newSockets, errors, sample });
  resetRound();
}

function toSample(a: Answer): HttpSample {
  return { status: a.status, headers: a.headers, body: a.body.toString("utf8") };
}

function shapePath(sub: Subscriber, live: boolean): string {
  const q = new URLSearchParams({ table, offset: sub.offset });
  if (sub.handle && sub.offset !== "-1") q.set("handle", sub.handle);
  if (live) {
    q.set("live", "true");
    if (sub.cursor) q.set("cursor", sub.cursor);
  }
  return `/v1/shape?${q}`;
}

/** offset=-1: learn the handle and the offset to go live from. */
async function snapshot(sub: Subscriber): Promise<Answer> {
  sub.offset = "-1";
  const a = await sub.transport.get(shapePath(sub, false));
  if (a.status !== 200) throw new Error(`snapshot answered ${a.status}: ${a.body.toString("utf8").slice(0, 300)}`);
  const handle = a.headers["electric-handle"];
  const offset = a.headers["electric-offset"];
  if (!handle || !offset) throw new Error("snapshot response without electric-handle / electric-offset");
  sub.handle = handle;
  sub.offset = offset;
  return a;
}

/** Issues the live request; resolves once it is written. Its answer is handled by `onLive`. */
function live(sub: Subscriber): Promise<void> {
  return new Promise((written) => {
    sub.transport.get(shapePath(sub, true), written).then(
      (a) => onLive(sub, a),
      (err: Error) => {
        written();
        if (closing) return;
        errors++;
        send({ t: "warn", message: `subscriber ${sub.id}: ${err.message}` });
        setTimeout(() => void live(sub), 200);
      },
    );
  });
}

function onLive(sub: Subscriber, a: Answer): void {
  if (closing) return;
  if (a.status === 200) {
    sub.offset = a.headers["electric-offset"] ?? sub.offset;
    sub.cursor = a.headers["electric-cursor"] ?? sub.cursor;
    sub.handle = a.headers["electric-handle"] ?? sub.handle;
    // A change message carries headers.operation; a long-poll timeout carries only the up-to-date control.
    if (!a.body.includes('"operation"')) {
      empty++;
      setImmediate(() => void live(sub));
      return;
    }
    if (ends[sub.id] === null) {
      ends[sub.id] = a.end;
      bodyBytes = a.body.length;
      sample ??= toSample(a);
      got++;
    }
    // Re-issued on the next turn (node:http: once the socket is back in the agent's pool), or after the round.
    if (reissue === "immediate") setImmediate(() => void live(sub));
    else parked.push(sub);
    if (got === subscribers.length) flushRound();
    return;
  }
  errors++;
  send({ t: "warn", message: `subscriber ${sub.id}: live request answered ${a.status}: ${a.body.toString("utf8").slice(0, 300)}` });
  if (a.status === 409) {
    // must-refetch: start over under the new handle.
    sub.handle = a.headers["electric-handle"] ?? sub.handle;
    void snapshot(sub).then(
      () => live(sub),
      () => setTimeout(() => onLive(sub, a), 500),
    );
    return;
  }
  setTimeout(() => void live(sub), 500);
}

async function open(msg: OpenMessage): Promise<void> {
  const url = new URL(msg.url);
  const host = url.hostname;
  const port = Number(url.port);
  const headers: Record<string, string> = msg.authorization ? { authorization: msg.authorization } : {};
  table = msg.table;
  closing = false;
  reissue = msg.reissue;
  parked = [];
  agent = msg.client === "node-http" ? new http.Agent({ keepAlive: true, maxSockets: Infinity, maxFreeSockets: 1_000_000, scheduling: "lifo" }) : undefined;
  const started = now();
  subscribers = Array.from({ length: msg.count }, (_, id) => ({
    id,
    handle: undefined,
    offset: "-1",
    cursor: undefined,
    transport: agent ? nodeHttpTransport(agent, host, port, headers) : rawTransport(host, port, headers),
  }));
  resetRound();
  let next = 0;
  let failures = 0;
  let snapshotSample: HttpSample | undefined;
  const worker = async () => {
    while (next < subscribers.length) {
      const sub = subscribers[next++] as Subscriber;
      for (let attempt = 0; ; attempt++) {
        try {
          const a = await snapshot(sub);
          snapshotSample ??= toSample(a);
          break;
        } catch (err) {
          failures++;
          if (attempt >= 5) throw err;
          await new Promise((r) => setTimeout(r, 200 * (attempt + 1)));
        }
      }
      await live(sub);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, msg.concurrency) }, worker));
  // Setup traffic is not part of round 1.
  newSockets = 0;
  send({ t: "opened", count: subscribers.length, ms: now() - started, snapshot: snapshotSample, errors: failures });
}

function close(): void {
  closing = true;
  for (const sub of subscribers) sub.transport.close();
  subscribers = [];
  parked = [];
  agent?.destroy();
  agent = undefined;
  send({ t: "closed" });
}

process.on("message", (raw) => {
  const msg = raw as ToGenerator;
  switch (msg.t) {
    case "clock":
      send({ t: "clock", seq: msg.seq, at: now() });
      return;
    case "open":
      open(msg).catch((err: Error) => {
        process.stderr.write(`generator ${process.pid}: ${err.stack ?? err.message}\n`);
        process.exit(1);
      });
      return;
    case "rearm": {
      const subs = parked;
      parked = [];
      void Promise.all(subs.map((s) => live(s))).then(() => send({ t: "rearmed", count: subs.length }));
      return;
    }
    case "flush":
      flushRound();
      return;
    case "close":
      close();
      return;
  }
});

send({ t: "ready" });
