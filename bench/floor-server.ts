/**
 * The fan-out floor: a bare node:http server (no framework) that speaks just enough of the shape
 * protocol for the generators' client code, on any path (`/v1/shape`, `/realtime/v1/runs/:id`). `offset=-1`
 * gets a canned snapshot; a `live=true` request is held; a `live=true&live_sse=true` request gets an event
 * stream that stays open. `POST /__release` answers every held long-poll with one pre-encoded body and one
 * header set, and writes one pre-encoded buffer of events to every open stream: copies of what Runcast sent
 * for the same update, so the bytes on the wire match. This is what this machine, this Node and this client
 * can do at best; Runcast's fan-out is compared with it.
 */
import http from "node:http";
import type { FromFloor, HttpSample, ToFloor } from "./lib/ipc.ts";

function send(msg: FromFloor): void {
  process.send?.(msg);
}

process.on("disconnect", () => process.exit(0));
process.on("SIGINT", () => {});
// A clean exit, so a --cpu-prof profile is written.
process.on("SIGTERM", () => process.exit(0));

/** Headers that describe the connection or the body length: Node's http writes its own. */
const HOP = new Set(["connection", "keep-alive", "transfer-encoding", "content-length", "date"]);

function prepared(sample: HttpSample): { status: number; headers: Record<string, string | number>; body: Buffer } {
  const body = Buffer.from(sample.body, "utf8");
  const headers: Record<string, string | number> = {};
  for (const [k, v] of Object.entries(sample.headers)) if (!HOP.has(k)) headers[k] = v;
  headers["content-length"] = body.length;
  return { status: sample.status, headers, body };
}

let live: ReturnType<typeof prepared> | undefined;
let snapshot: ReturnType<typeof prepared> | undefined;
/** SSE: the stream head, the events of one update (written at a release) and the up-to-date event (written when a stream opens). */
let sse: { headers: Record<string, string | number>; events: Buffer; first: Buffer } | undefined;
const held = new Set<http.ServerResponse>();
const streams = new Set<http.ServerResponse>();

function preparedSse(sample: HttpSample): NonNullable<typeof sse> {
  const headers: Record<string, string | number> = {};
  for (const [k, v] of Object.entries(sample.headers)) if (!HOP.has(k)) headers[k] = v;
  // The last event of the sample is the up-to-date control message.
  const events = sample.body.split("\n\n").filter(Boolean);
  const last = events[events.length - 1] ?? "";
  return { headers, events: Buffer.from(sample.body, "utf8"), first: Buffer.from(`${last}\n\n`, "utf8") };
}

const server = http.createServer((req, res) => {
  const url = req.url ?? "";
  if (req.method === "GET" && url.includes("offset=")) {
    if (url.includes("live=true")) {
      if (url.includes("live_sse=true")) {
        const s = sse as NonNullable<typeof sse>;
        res.writeHead(200, s.headers);
        res.write(s.first);
        streams.add(res);
        res.on("close", () => streams.delete(res));
        return;
      }
      held.add(res);
      res.on("close", () => held.delete(res));
      return;
    }
    const s = snapshot as NonNullable<typeof snapshot>;
    res.writeHead(s.status, s.headers);
    res.end(s.body);
    return;
  }
  if (url === "/__release") {
    res.writeHead(204);
    res.end();
    if (held.size) {
      const l = live as NonNullable<typeof live>;
      const all = [...held];
      held.clear();
      for (const r of all) {
        r.writeHead(l.status, l.headers);
        r.end(l.body);
      }
    }
    if (streams.size) {
      const events = (sse as NonNullable<typeof sse>).events;
      for (const r of streams) r.write(events);
    }
    return;
  }
  if (url === "/__ping") {
    res.writeHead(200, { "content-type": "text/plain" });
    res.end("ok");
    return;
  }
  res.writeHead(404);
  res.end();
});

process.on("message", (raw) => {
  const msg = raw as ToFloor;
  switch (msg.t) {
    case "init":
      if (msg.live) live = prepared(msg.live);
      if (msg.sse) sse = preparedSse(msg.sse);
      snapshot = prepared(msg.snapshot);
      // Again for the next measurement: new bytes, same server.
      if (server.listening) {
        const addr = server.address();
        send({ t: "listening", port: typeof addr === "object" && addr ? addr.port : 0 });
        return;
      }
      server.listen(0, "127.0.0.1", () => {
        const addr = server.address();
        send({ t: "listening", port: typeof addr === "object" && addr ? addr.port : 0 });
      });
      return;
    case "held":
      send({ t: "held", count: held.size + streams.size });
      return;
    case "stop":
      for (const r of held) r.destroy();
      for (const r of streams) r.destroy();
      server.closeAllConnections();
      server.close(() => process.exit(0));
      return;
  }
});
