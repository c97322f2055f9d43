import http from "node:http";
import { now } from "./clock.ts";
import type { RuncastServer } from "./runcast-server.ts";

/** What a follower hands on: the text of a response or of whole SSE events, and when it was in (bench clock). */
export type OnText = (text: string, at: number) => void;

export interface Follower {
  close(): void | Promise<void>;
}

function withQuery(path: string, q: URLSearchParams): string {
  return `${path}${path.includes("?") ? "&" : "?"}${q}`;
}

/**
 * Follows a shape (`/v1/shape` or a realtime run route) the way the Electric client does: `offset=-1` until
 * up to date, then `live=true` long-polls one after another over one keep-alive connection. Every response
 * body goes to `onText` once fully received.
 */
export function followLongPoll(server: RuncastServer, path: string, onText: OnText): Follower {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  let closed = false;
  let handle = "";
  let offset = "-1";
  let cursor = "";
  const request = (live: boolean) =>
    new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string; at: number }>((resolve, reject) => {
      const q = new URLSearchParams({ offset });
      if (offset !== "-1") q.set("handle", handle);
      if (live) q.set("live", "true");
      if (live && cursor) q.set("cursor", cursor);
      const req = http.request({ host: "127.0.0.1", port: server.port, path: withQuery(path, q), agent, headers: { authorization: `Bearer ${server.secretKey}` } }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString("utf8"), at: now() }));
        res.on("error", reject);
      });
      req.on("error", reject);
      req.end();
    });
  void (async () => {
    let live = false;
    while (!closed) {
      const res = await request(live);
      if (closed) return;
      if (res.status !== 200 && res.status !== 204) throw new Error(`${path} answered ${res.status}: ${res.body}`);
      handle = String(res.headers["electric-handle"] ?? handle);
      offset = String(res.headers["electric-offset"] ?? offset);
      if (res.headers["electric-cursor"]) cursor = String(res.headers["electric-cursor"]);
      if (res.headers["electric-up-to-date"] !== undefined) live = true;
      onText(res.body, res.at);
    }
  })().catch((err: unknown) => {
    if (!closed) throw err;
  });
  return {
    close() {
      closed = true;
      agent.destroy();
    },
  };
}

/**
 * Follows a shape over one SSE stream (`live_sse=true`) after its initial `offset=-1` answer (which goes to
 * `onText` too). Text is handed on in whole events only, so nothing is split between two calls.
 */
export async function followSse(server: RuncastServer, path: string, onText: OnText): Promise<Follower> {
  const auth = { authorization: `Bearer ${server.secretKey}` };
  const first = await fetch(`${server.url}${withQuery(path, new URLSearchParams({ offset: "-1" }))}`, { headers: auth });
  if (first.status !== 200) throw new Error(`${path} snapshot answered ${first.status}`);
  onText(await first.text(), now());
  const q = new URLSearchParams({ offset: first.headers.get("electric-offset") ?? "-1", handle: first.headers.get("electric-handle") ?? "", live: "true", live_sse: "true" });
  let pending = "";
  const req = http.request({ host: "127.0.0.1", port: server.port, path: withQuery(path, q), headers: { ...auth, accept: "text/event-stream" } }, (res) => {
    res.setEncoding("utf8");
    res.on("data", (chunk: string) => {
      const at = now();
      pending += chunk;
      const end = pending.lastIndexOf("\n\n");
      if (end < 0) return;
      const events = pending.slice(0, end);
      pending = pending.slice(end + 2);
      onText(events, at);
    });
  });
  req.on("error", () => {});
  req.end();
  return { close: () => void req.destroy() };
}
