/**
 * Load generator child (forked by the fan-out bench with an IPC channel). It holds many subscribers of the
 * Electric shape protocol, on `/v1/shape` or on the realtime run feeds (`/realtime/v1/runs/:runId`, the same
 * protocol), speaking only the public HTTP contract: `offset=-1` for the handle and offset, then either
 * `live=true` long-polls, or one `live=true&live_sse=true` event stream each. For every subscriber it records
 * when it had the change of a round complete, on the shared bench clock: a long-poll's body fully received,
 * or on a stream the up-to-date event that follows the change.
 *
 * Each subscriber has its own keep-alive connection: either the bench's minimal HTTP/1.1 client
 * (lib/raw-http.ts, the default: cheap enough that the client is not what is measured) or node:http with a
 * keep-alive agent. The same code drives the Runcast server and the floor server, so whatever the
 * client costs is in both.
 */
import http from "node:http";
import { now } from "./lib/clock.ts";
import type { FromGenerator, HttpSample, ToGenerator } from "./lib/ipc.ts";
import { RawHttpConnection, type Answer, type StreamHandlers } from "./lib/raw-http.ts";

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
  /** A streamed response (SSE): resolves with its head; its body goes to `handlers` (see RawHttpConnection.stream). */
  stream(path: string, handlers: StreamHandlers): Promise<Answer>;
  close(): void;
}

/** The bench's minimal client; connections opened are counted (keep-alive reuse means none in a steady state). */
function rawTransport(g: { newSockets: number }, host: string, port: number, headers: Record<string, string>): Transport {
  const conn = new RawHttpConnection(host, port);
  const counted = <T>(f: () => T): T => {
    const before = conn.opened;
    const out = f();
    g.newSockets += conn.opened - before;
    return out;
  };
  return {
    get: (path, written) => counted(() => conn.get(path, headers, written)),
    stream: (path, handlers) => counted(() => conn.stream(path, headers, handlers)),
    close: () => conn.destroy(),
  };
}

const seenSockets = new WeakSet<object>();

/** node:http, one keep-alive agent per generator (sockets are reused from its pool). */
function nodeHttpTransport(g: { newSockets: number }, agent: http.Agent, host: string, port: number, headers: Record<string, string>): Transport {
  let current: http.ClientRequest | undefined;
  const request = (path: string, written: (() => void) | undefined, handlers: StreamHandlers | undefined) =>
    new Promise<Answer>((resolve, reject) => {
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
        const h: Record<string, string> = {};
        for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) h[k] = Array.isArray(v) ? v.join(", ") : v;
        if (handlers && res.statusCode === 200 && res.headers["content-length"] === undefined) {
          let ended = false;
          const end = (err?: Error) => {
            if (ended) return;
            ended = true;
            if (current === req) current = undefined;
            handlers.onEnd(err);
          };
          res.on("data", (c: Buffer) => handlers.onData(c));
          res.on("end", () => end());
          res.on("error", (err) => end(err));
          res.on("aborted", () => end(new Error("the stream was aborted")));
          req.on("error", (err) => end(err));
          resolve({ status: 200, headers: h, body: Buffer.alloc(0), end: now() });
          return;
        }
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("error", reject);
        res.on("end", () => {
          const end = now();
          current = undefined;
          resolve({ status: res.statusCode ?? 0, headers: h, body: chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks), end });
        });
      });
      req.end();
    });
  return {
    get: (path, written) => request(path, written, undefined),
    stream: (path, handlers) => request(path, undefined, handlers),
    close: () => current?.destroy(),
  };
}

interface Subscriber {
  id: number;
  /** What it reads: a path with its fixed query. */
  path: string;
  handle: string | undefined;
  offset: string;
  cursor: string | undefined;
  transport: Transport;
  // SSE only:
  /** Bumped by every stream opened (or dropped): events and ends of an older stream are ignored. */
  gen: number;
  /** When the current stream's head came in (generator clock); 0 while none is open. */
  openedAt: number;
  /** The current stream's head. */
  head: Answer | undefined;
  /** Bytes of an event not complete yet. */
  pending: Buffer | undefined;
  /** The events of a change seen since the last up-to-date (empty: none). */
  change: string;
  mustRefetch: boolean;
}

const EVENT_END = Buffer.from("\n\n");
const GLOBAL_LSN = /"global_last_seen_lsn":"(\d+)"/;

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
  reconnects = 0;
  /** A round is on (armed by the orchestrator, until its report): only then does a change count. */
  armed = false;
  outside = 0;
  sample: HttpSample | undefined;

  constructor(
    readonly name: string,
    readonly transport: OpenMessage["transport"],
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
    this.reconnects = 0;
    this.outside = 0;
    this.armed = false;
    this.sample = undefined;
  }

  flushRound(): void {
    send({
      t: "round",
      group: this.name,
      ends: this.ends,
      bodyBytes: this.bodyBytes,
      empty: this.empty,
      newSockets: this.newSockets,
      reconnects: this.reconnects,
      outside: this.outside,
      errors: this.errors,
      sample: this.sample,
    });
    this.resetRound();
  }

  path(sub: Subscriber, live: boolean): string {
    const q = new URLSearchParams({ offset: sub.offset });
    if (sub.handle && sub.offset !== "-1") q.set("handle", sub.handle);
    if (live) {
      q.set("live", "true");
      if (sub.cursor) q.set("cursor", sub.cursor);
      if (this.transport === "sse") q.set("live_sse", "true");
    }
    return `${sub.path}${sub.path.includes("?") ? "&" : "?"}${q}`;
  }

  warn(sub: Subscriber, message: string): void {
    send({ t: "warn", message: `${this.name} subscriber ${sub.id}: ${message}` });
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

  /** A subscriber has the round's change (first time this round counts). */
  delivered(sub: Subscriber, end: number, bytes: number, sample: () => HttpSample): void {
    if (!this.armed) {
      // No update was committed for this group: a change delivered twice (e.g. again after a reconnect).
      if (this.outside++ < 3) this.warn(sub, "got a change between rounds");
      return;
    }
    if (this.ends[sub.id] !== null) return;
    this.ends[sub.id] = end;
    this.bodyBytes = bytes;
    this.sample ??= sample();
    this.got++;
    if (this.got === this.subscribers.length) this.flushRound();
  }

  /** Goes live: long-poll, issues the request (resolves once it is written); SSE, opens the stream (resolves once its head is in). */
  live(sub: Subscriber): Promise<void> {
    return this.transport === "sse" ? this.openStream(sub) : this.longPoll(sub);
  }

  longPoll(sub: Subscriber): Promise<void> {
    return new Promise((written) => {
      sub.transport.get(this.path(sub, true), written).then(
        (a) => this.onLive(sub, a),
        (err: Error) => {
          written();
          if (this.closing) return;
          this.errors++;
          this.warn(sub, err.message);
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
      // Re-issued on the next turn (node:http: once the socket is back in the agent's pool), or after the round.
      if (this.reissue === "immediate") setImmediate(() => void this.live(sub));
      else this.parked.push(sub);
      this.delivered(sub, a.end, a.body.length, () => toSample(a));
      return;
    }
    this.onRefused(sub, a);
  }

  /** A live request (or a stream) answered with an error: a 409 starts over under the new handle; anything else is retried. */
  onRefused(sub: Subscriber, a: Answer): void {
    this.errors++;
    this.warn(sub, `live request answered ${a.status}: ${a.body.toString("utf8").slice(0, 300)}`);
    if (a.status === 409) {
      sub.handle = a.headers["electric-handle"] ?? sub.handle;
      this.restart(sub);
      return;
    }
    if (this.transport === "sse") this.reopen(sub, 500);
    else setTimeout(() => void this.live(sub), 500);
  }

  /** must-refetch: a new snapshot, then live again (unless a newer attempt took over the subscriber meanwhile). */
  restart(sub: Subscriber): void {
    const gen = ++sub.gen;
    void this.snapshot(sub).then(
      () => {
        if (sub.gen === gen && !this.closing) void this.live(sub);
      },
      (err: Error) => {
        if (this.closing || sub.gen !== gen) return;
        this.warn(sub, `snapshot after must-refetch: ${err.message}`);
        setTimeout(() => this.restart(sub), 500);
      },
    );
  }

  /**
   * SSE: opens the subscriber's stream again after `delayMs` (0: on the next turn), unless something else
   * (a newer stream, a restart, the group closing) took over the subscriber meanwhile.
   */
  reopen(sub: Subscriber, delayMs: number): void {
    const gen = ++sub.gen;
    const go = () => {
      if (sub.gen === gen && !this.closing) void this.openStream(sub);
    };
    if (delayMs > 0) setTimeout(go, delayMs);
    else setImmediate(go);
  }

  /** SSE: opens the subscriber's event stream from its offset; resolves once the head is in (or the attempt failed). */
  openStream(sub: Subscriber): Promise<void> {
    const gen = ++sub.gen;
    sub.openedAt = 0;
    sub.pending = undefined;
    sub.change = "";
    sub.mustRefetch = false;
    return new Promise((opened) => {
      const handlers: StreamHandlers = {
        onData: (data) => {
          if (sub.gen === gen) this.onEvents(sub, data);
        },
        onEnd: (err) => {
          if (sub.gen === gen) this.onStreamEnd(sub, err);
        },
      };
      sub.transport.stream(this.path(sub, true), handlers).then(
        (a) => {
          opened();
          if (this.closing || sub.gen !== gen) return;
          if (a.status === 200 && /event-stream/.test(a.headers["content-type"] ?? "")) {
            sub.openedAt = now();
            sub.head = a;
            sub.cursor = a.headers["electric-cursor"] ?? sub.cursor;
            return;
          }
          this.onRefused(sub, a);
        },
        (err: Error) => {
          opened();
          if (this.closing || sub.gen !== gen) return;
          this.errors++;
          this.warn(sub, `stream: ${err.message}`);
          this.reopen(sub, 200);
        },
      );
    });
  }

  /**
   * SSE events as they arrive: a change (a message with `headers.operation`), then the up-to-date control that
   * closes its batch: the subscriber has the change when that up-to-date is in. As the Electric client does,
   * the offset to resume from is `<global_last_seen_lsn>_0` of the last up-to-date.
   */
  onEvents(sub: Subscriber, data: Buffer): void {
    let buf = sub.pending ? Buffer.concat([sub.pending, data]) : data;
    let at = 0;
    for (;;) {
      const i = buf.indexOf(EVENT_END, at);
      if (i < 0) break;
      const event = buf.toString("utf8", at, i);
      at = i + 2;
      if (event.startsWith(":")) continue; // keep-alive comment
      if (event.includes('"operation"')) {
        sub.change += event + "\n\n";
        continue;
      }
      if (event.includes('"up-to-date"')) {
        const lsn = GLOBAL_LSN.exec(event)?.[1];
        if (lsn) sub.offset = `${lsn}_0`;
        if (sub.change) {
          const body = sub.change + event + "\n\n";
          sub.change = "";
          const head = sub.head;
          this.delivered(sub, now(), Buffer.byteLength(body), () => ({ status: head?.status ?? 200, headers: head?.headers ?? {}, body }));
        }
        continue;
      }
      if (event.includes('"must-refetch"')) sub.mustRefetch = true;
    }
    buf = buf.subarray(at);
    sub.pending = buf.length ? Buffer.from(buf) : undefined;
  }

  onStreamEnd(sub: Subscriber, err: Error | undefined): void {
    const age = sub.openedAt ? now() - sub.openedAt : Number.NaN;
    sub.openedAt = 0;
    if (this.closing) return;
    if (sub.mustRefetch) {
      this.errors++;
      this.warn(sub, "must-refetch on the event stream");
      this.restart(sub);
      return;
    }
    if (!err) {
      // The server ends a stream after a while (Electric's SSE mode does too); the client opens the next one.
      this.reconnects++;
      if (!(age > 40_000)) this.warn(sub, `the server ended its stream ${Math.round(age)} ms after it opened`);
      this.reopen(sub, 0);
      return;
    }
    this.errors++;
    this.warn(sub, `stream: ${err.message}`);
    this.reopen(sub, 200);
  }

  /** Adds `paths.length` subscribers: snapshot then live for each, `concurrency` at a time. */
  async add(paths: string[], concurrency: number): Promise<{ failures: number; snapshot: HttpSample | undefined }> {
    let next = this.subscribers.length;
    for (const path of paths) {
      this.subscribers.push({
        id: this.subscribers.length,
        path,
        handle: undefined,
        offset: "-1",
        cursor: undefined,
        transport: this.makeTransport(this),
        gen: 0,
        openedAt: 0,
        head: undefined,
        pending: undefined,
        change: "",
        mustRefetch: false,
      });
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
    this.reconnects = 0;
    return { failures, snapshot };
  }

  /**
   * Between rounds. Long-poll: the parked subscribers send their next live request. SSE: streams open for longer
   * than `refreshAfterMs` are closed and opened again (`concurrency` at a time), so that none reaches the end
   * the server gives it during the next round; resolves once they are open.
   */
  async rearm(refreshAfterMs: number, concurrency: number): Promise<{ count: number; refreshed: number }> {
    if (this.transport === "sse") {
      const cutoff = now() - refreshAfterMs;
      const old = this.subscribers.filter((s) => s.openedAt > 0 && s.openedAt < cutoff);
      let next = 0;
      const worker = async () => {
        while (next < old.length) {
          const sub = old[next++] as Subscriber;
          sub.gen++;
          sub.transport.close();
          await this.openStream(sub);
        }
      };
      await Promise.all(Array.from({ length: Math.max(1, concurrency) }, worker));
      // The re-opened connections are not part of the next round.
      this.newSockets = 0;
      return { count: 0, refreshed: old.length };
    }
    const subs = this.parked;
    this.parked = [];
    await Promise.all(subs.map((s) => this.live(s)));
    return { count: subs.length, refreshed: 0 };
  }

  close(): void {
    this.closing = true;
    for (const sub of this.subscribers) {
      sub.gen++;
      sub.transport.close();
    }
    this.parked = [];
    this.agent?.destroy();
  }
}

function toSample(a: Answer): HttpSample {
  return { status: a.status, headers: a.headers, body: a.body.toString("utf8") };
}

const groups = new Map<string, Group>();

/** Rearm's SSE re-opening: streams opened at once per generator (kept under the servers' listen backlog). */
const REFRESH_CONCURRENCY = 64;

async function open(msg: OpenMessage): Promise<void> {
  const started = now();
  const existing = groups.get(msg.group);
  const paths = typeof msg.paths === "string" ? Array.from({ length: msg.count }, () => msg.paths as string) : msg.paths;
  if (paths.length !== msg.count) throw new Error(`open: ${paths.length} paths for ${msg.count} subscribers`);
  if (existing && msg.add) {
    const { failures, snapshot } = await existing.add(paths, msg.concurrency);
    send({ t: "opened", group: msg.group, count: existing.subscribers.length, ms: now() - started, snapshot, errors: failures });
    return;
  }
  existing?.close();
  const url = new URL(msg.url);
  const host = url.hostname;
  const port = Number(url.port);
  const headers: Record<string, string> = msg.authorization ? { authorization: msg.authorization } : {};
  const agent = msg.client === "node-http" ? new http.Agent({ keepAlive: true, maxSockets: Infinity, maxFreeSockets: 1_000_000, scheduling: "lifo" }) : undefined;
  const group = new Group(msg.group, msg.transport, msg.reissue, agent, (g) =>
    agent ? nodeHttpTransport(g, agent, host, port, headers) : rawTransport(g, host, port, headers),
  );
  groups.set(msg.group, group);
  const { failures, snapshot } = await group.add(paths, msg.concurrency);
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
        .rearm(msg.refreshAfterMs, REFRESH_CONCURRENCY)
        .then(({ count, refreshed }) => send({ t: "rearmed", group: msg.group, count, refreshed }));
      return;
    case "arm":
      group(msg.group).armed = true;
      send({ t: "armed", group: msg.group });
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
