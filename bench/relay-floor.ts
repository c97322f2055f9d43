/**
 * The relay floor of the latency bench: the least a separate server process can do to turn the
 * replication stream into an HTTP long-poll answer. One process runs a bare pgoutput client (own slot) and
 * a bare node:http server; `GET /live?v=<value>` is held until a transaction updating a row to that value
 * commits, then answered with a small JSON body. Against it, Runcast's latency shows what its own code
 * adds, beyond the process hop and HTTP that its design needs.
 */
import http from "node:http";
import type { FromRelay, ToRelay } from "./lib/ipc.ts";
import { startPgoutputClient, type PgoutputClient } from "./lib/pgoutput-client.ts";

function send(msg: FromRelay): void {
  process.send?.(msg);
}

let client: PgoutputClient | undefined;
const held = new Map<string, http.ServerResponse>();
/** Values whose commit came before their request (kept briefly). */
const seen = new Set<string>();

function answer(res: http.ServerResponse, v: string): void {
  const body = Buffer.from(
    JSON.stringify([
      { key: '"public"."bench_items"/"1"', value: { id: "1", v }, headers: { operation: "update", relation: ["public", "bench_items"] } },
      { headers: { control: "up-to-date" } },
    ]),
  );
  res.writeHead(200, { "content-type": "application/json; charset=utf-8", "content-length": body.length });
  res.end(body);
}

const server = http.createServer((req, res) => {
  const v = new URL(req.url ?? "/", "http://x").searchParams.get("v");
  if (!v) {
    res.writeHead(400);
    res.end();
    return;
  }
  if (seen.delete(v)) return answer(res, v);
  held.set(v, res);
  res.on("close", () => held.get(v) === res && held.delete(v));
});

async function stop(): Promise<void> {
  for (const res of held.values()) res.destroy();
  server.closeAllConnections();
  server.close();
  await client?.close();
  process.exit(0);
}

process.on("disconnect", () => void stop());
process.on("SIGINT", () => {});
process.on("SIGTERM", () => void stop());

process.on("message", (raw) => {
  const msg = raw as ToRelay;
  if (msg.t === "stop") {
    void stop();
    return;
  }
  void (async () => {
    client = await startPgoutputClient({
      databaseUrl: msg.databaseUrl,
      slot: msg.slot,
      publication: msg.publication,
      onCommit(updates) {
        for (const values of updates) {
          const v = values[1];
          if (typeof v !== "string") continue;
          const res = held.get(v);
          if (res) {
            held.delete(v);
            answer(res, v);
          } else if (seen.size < 100) seen.add(v);
        }
      },
    });
    server.listen(0, "127.0.0.1", () => {
      const addr = server.address();
      send({ t: "listening", port: typeof addr === "object" && addr ? addr.port : 0 });
    });
  })().catch((err: Error) => {
    process.stderr.write(`relay floor: ${err.stack ?? err.message}\n`);
    process.exit(1);
  });
});
