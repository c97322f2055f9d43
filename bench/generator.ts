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

/** The bench's minimal client; connections opened are counted (keep-alive reuse means none in a steady state). */
function rawTransport(g: { newSockets: number }, host: string, port: number, headers: Record<string, string>): Transport {
  const conn = new RawHttpConnection(host, port);
  return {
    get(path, written) {
      const before = conn.opened;
      const p = conn.get(path, headers, written);
      g.newSockets += conn.opened - before;
      return p;
    },
    close: () => conn.destroy(),
  };
}

const seenSockets = new WeakSet<object>();

/** node:http, one keep-alive agent per generator (sockets are reused from its pool). */
function nodeHttpTransport(g: { newSockets: number }, agent: http.Agent, host: string, port: number, headers: Record<string, string>): Transport {
  let current: http.ClientRequest | undefined;
  return {
    get(path, written) {
      return new Promise((resolve, reject) => {
        const req = http.request({ host, port, path, method: "GET", agent, headers });
        current = req;
        req.on("socket", (socket) => {
          if (!seenSockets.has(socket)) {
            seenSockets.add(socket);
            g.newSockets++;
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

/** The subscribers of one server under test, and the bookkeeping of its current round. */
class Group {
  readonly subscribers: Subscriber[] = [];
  closing = false;
  /** Deferred mode: subscribers answered this round, waiting for `rearm`. */
  parked: Subscriber[] = [];
  ends: (number | null)[] = [];
  got = 0;
  bodyBytes = 0;
  empty = 0;
  errors = 0;
  newSockets = 0;
  sample: HttpSample | undefined;

  constructor(
    readonly name: string,
    readonly table: string,
    readonly reissue: OpenMessage["reissue"],
    readonly agent: http.Agent | undefined,
    readonly makeTransport: (g: Group) => Transport,
  ) {}

  resetRound(): void {
    this.ends = this.subscribers.map(() => null);
    this.got = 0;
    this.bodyBytes = 0;
    this.empty = 0;
    this.errors = 0;
    this.newSockets = 0;
    this.sample = undefined;
  }

  flushRound(): void {
    send({ t: "round", group: this.name, ends: this.ends, bodyBytes: this.bodyBytes, empty: this.empty, newSockets: this.newSockets, errors: this.errors, sample: this.sample });
    this.resetRound();
  }

  path(sub: Subscriber, live: boolean): string {
    const q = new URLSearchParams({ table: this.table, offset: sub.offset });
    if (sub.handle && sub.offset !== "-1") q.set("handle", sub.handle);
    if (live) {
      q.set("live", "true");
      if (sub.cursor) q.set("cursor", sub.cursor);
    }
    return `/v1/shape?${q}`;
  }

  /** offset=-1: learn the handle and the offset to go live from. */
  async snapshot(sub: Subscriber): Promise<Answer> {
    sub.offset = "-1";
    const a = await sub.transport.get(this.path(sub, false));
    if (a.status !== 200) throw new Error(`snapshot answered ${a.status}: ${a.body.toString("utf8").slice(0, 300)}`);
    const handle = a.headers["electric-handle"];
    const offset = a.headers["electric-offset"];
    if (!handle || !offset) throw new Error("snapshot response without electric-handle / electric-offset");
    sub.handle = handle;
    sub.offset = offset;
    return a;
  }

  /** Issues the live request; resolves once it is written. Its answer is handled by `onLive`. */
  live(sub: Subscriber): Promise<void> {
    return new Promise((written) => {
      sub.transport.get(this.path(sub, true), written).then(
        (a) => this.onLive(sub, a),
        (err: Error) => {
          written();
          if (this.closing) return;
          this.errors++;
          send({ t: "warn", message: `${this.name} subscriber ${sub.id}: ${err.message}` });
          setTimeout(() => void this.live(sub), 200);
        },
      );
    });
  }

  onLive(sub: Subscriber, a: Answer): void {
    if (this.closing) return;
    if (a.status === 200) {
      sub.offset = a.headers["electric-offset"] ?? sub.offset;
      sub.cursor = a.headers["electric-cursor"] ?? sub.cursor;
      sub.handle = a.headers["electric-handle"] ?? sub.handle;
      // A change message carries headers.operation; a long-poll timeout carries only the up-to-date control.
      if (!a.body.includes('"operation"')) {
        this.empty++;
        setImmediate(() => void this.live(sub));
        return;
      }
      if (this.ends[sub.id] === null) {
        this.ends[sub.id] = a.end;
        this.bodyBytes = a.body.length;
        this.sample ??= toSample(a);
        this.got++;
      }
      // Re-issued on the next turn (node:http: once the socket is back in the agent's pool), or after the round.
      if (this.reissue === "immediate") setImmediate(() => void this.live(sub));
      else this.parked.push(sub);
      if (this.got === this.subscribers.length) this.flushRound();
      return;
    }
    this.errors++;
    send({ t: "warn", message: `${this.name} subscriber ${sub.id}: live request answered ${a.status}: ${a.body.toString("utf8").slice(0, 300)}` });
    if (a.status === 409) {
      // must-refetch: start over under the new handle.
      sub.handle = a.headers["electric-handle"] ?? sub.handle;
      void this.snapshot(sub).then(
        () => this.live(sub),
        () => setTimeout(() => this.onLive(sub, a), 500),
      );
      return;
    }
    setTimeout(() => void this.live(sub), 500);
  }

  /** Adds `count` subscribers: snapshot then live for each, `concurrency` at a time. */
  async add(count: number, concurrency: number): Promise<{ failures: number; snapshot: HttpSample | undefined }> {
    let next = this.subscribers.length;
    for (let i = 0; i < count; i++) {
      this.subscribers.push({ id: this.subscribers.length, handle: undefined, offset: "-1", cursor: undefined, transport: this.makeTransport(this) });
    }
    this.resetRound();
    let failures = 0;
    let snapshot: HttpSample | undefined;
    const worker = async () => {
      while (next < this.subscribers.length) {
        const sub = this.subscribers[next++] as Subscriber;
        for (let attempt = 0; ; attempt++) {
          try {
            const a = await this.snapshot(sub);
            snapshot ??= toSample(a);
            break;
          } catch (err) {
            failures++;
            if (attempt >= 5) throw err;
            await new Promise((r) => setTimeout(r, 200 * (attempt + 1)));
          }
        }
        await this.live(sub);
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, concurrency) }, worker));
    // Setup traffic is not part of round 1.
    this.newSockets = 0;
    return { failures, snapshot };
  }

  rearm(): Promise<number> {
    const subs = this.parked;
    this.parked = [];
    return Promise.all(subs.map((s) => this.live(s))).then(() => subs.length);
  }

  close(): void {
    this.closing = true;
    for (const sub of this.subscribers) sub.transport.close();
    this.parked = [];
    this.agent?.destroy();
  }
}

function toSample(a: Answer): HttpSample {
  return { status: a.status, headers: a.headers, body: a.body.toString("utf8") };
}

const groups = new Map<string, Group>();

async function open(msg: OpenMessage): Promise<void> {
  const started = now();
  const existing = groups.get(msg.group);
  if (existing && msg.add) {
    const { failures, snapshot } = await existing.add(msg.count, msg.concurrency);
    send({ t: "opened", group: msg.group, count: existing.subscribers.length, ms: now() - started, snapshot, errors: failures });
    return;
  }
  existing?.close();
  const url = new URL(msg.url);
  const host = url.hostname;
  const port = Number(url.port);
  const headers: Record<string, string> = msg.authorization ? { authorization: msg.authorization } : {};
  const agent = msg.client === "node-http" ? new http.Agent({ keepAlive: true, maxSockets: Infinity, maxFreeSockets: 1_000_000, scheduling: "lifo" }) : undefined;
  const group = new Group(msg.group, msg.table, msg.reissue, agent, (g) =>
    agent ? nodeHttpTransport(g, agent, host, port, headers) : rawTransport(g, host, port, headers),
  );
  groups.set(msg.group, group);
  const { failures, snapshot } = await group.add(msg.count, msg.concurrency);
  send({ t: "opened", group: msg.group, count: group.subscribers.length, ms: now() - started, snapshot, errors: failures });
}

function group(name: string): Group {
  const g = groups.get(name);
  if (!g) throw new Error(`no subscriber group ${name}`);
  return g;
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
    case "rearm":
      void group(msg.group)
        .rearm()
        .then((count) => send({ t: "rearmed", group: msg.group, count }));
      return;
    case "flush":
      group(msg.group).flushRound();
      return;
    case "close":
      groups.get(msg.group)?.close();
      groups.delete(msg.group);
      send({ t: "closed", group: msg.group });
      return;
  }
});

send({ t: "ready" });
