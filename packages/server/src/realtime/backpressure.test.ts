// SSE readers that stop reading cost the server bounded memory, and do not hold back the readers that do
// read (SPEC B1). The server runs in its own process so that its memory is measured alone.
import { test } from "node:test";
import assert from "node:assert/strict";
import { connect, type Socket } from "node:net";
import { waitFor } from "../testing/node.ts";
import { useServerProcess } from "../testing/server-process.ts";
import { ShapeReader } from "../testing/shape-reader.ts";

/**
 * What 50 stalled readers may add to the server's peak memory over the same load without them (SPEC.md B1):
 * what they have yet to be sent is the log's own shared chunks, and a reader stalled past
 * RUNCAST_SSE_MAX_UNSENT_BYTES is cut off. Were each to buffer its stream, they would add gigabytes.
 */
const MAX_EXTRA_FOR_STALLED = 64 * 1024 * 1024;
const ROWS = 100;
const BODY = 4_000;
/** 50 MB of row changes: 12,500 updates of 4 kB, in 500 transactions. */
const TRANSACTIONS = 500;
const PER_TX = 25;

const readers: ShapeReader[] = [];
const stalled: Socket[] = [];
const ctx = useServerProcess(
  { RUNCAST_MAX_SUBSCRIPTIONS: "500" },
  {
    async setup(sql) {
      await sql.query("CREATE TABLE blobs (id integer PRIMARY KEY, n integer NOT NULL, body text NOT NULL)");
      await sql.query(`INSERT INTO blobs SELECT g, 0, repeat('a', ${BODY}) FROM generate_series(1, ${ROWS}) g`);
    },
    async teardown() {
      for (const s of stalled) s.destroy();
      await Promise.all(readers.map((r) => r.stop()));
    },
  },
);

/** An SSE request whose socket is never read after the response starts: the reader has stopped reading. */
function stalledReader(path: string, token: string): Promise<Socket> {
  const url = new URL(ctx.server.url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(url.port), url.hostname, () => {
      socket.write(`GET ${path} HTTP/1.1\r\nHost: ${url.host}\r\nAuthorization: Bearer ${token}\r\n\r\n`);
    });
    socket.once("error", reject);
    socket.once("data", (first) => {
      if (!first.toString().startsWith("HTTP/1.1 200")) reject(new Error(`stalled reader got ${first.toString().slice(0, 80)}`));
      socket.pause();
      resolve(socket);
    });
  });
}

test("50 stalled SSE readers while 50 MB of changes flow: server memory stays bounded and reading subscribers get everything (SPEC B1)", async () => {
  const { server, sql } = ctx;
  const url = `${server.url}/v1/shape?table=blobs`;
  readers.push(
    new ShapeReader({ url, token: server.secretKey, increments: "n", sse: true }).start(),
    new ShapeReader({ url, token: server.secretKey, increments: "n", sse: true }).start(),
    new ShapeReader({ url, token: server.secretKey, increments: "n" }).start(),
    new ShapeReader({ url, token: server.secretKey, increments: "n" }).start(),
  );
  await waitFor(() => readers.every((r) => r.upToDate && r.rows.size === ROWS), "the readers to hold the table");
  /** 50 MB of changes; every reading subscriber gets all of them, in order; the server's peak RSS over its start. */
  const flow = async (): Promise<number> => {
    const baseline = server.rss();
    let peak = baseline;
    const sampler = setInterval(() => (peak = Math.max(peak, server.rss())), 50);
    try {
      for (let t = 0; t < TRANSACTIONS; t++) {
        const from = (t * PER_TX) % ROWS;
        await sql.query(
          `UPDATE blobs SET n = n + 1, body = repeat(chr(97 + (n + 1) % 26), ${BODY}) WHERE id > $1 AND id <= $2`,
          [from, from + PER_TX],
        );
      }
      const { rows } = await sql.query<{ id: number; n: number }>("SELECT id, n FROM blobs");
      const expected = new Map(rows.map((r) => [String(r.id), String(r.n)]));
      await waitFor(
        () =>
          readers.every((r) => {
            r.check();
            const got = r.snapshot("id", "n");
            return [...expected].every(([k, v]) => got.get(k) === v);
          }),
        "every reading subscriber to hold the final table",
        120_000,
      );
    } finally {
      clearInterval(sampler);
    }
    return peak - baseline;
  };
  // The same load first without stalled readers: what the server's memory does anyway (its log, its window of
  // recent transactions, and the garbage of decoding and encoding 50 MB, collected when V8 chooses).
  const without = await flow();
  const first = await fetch(`${url}&offset=-1`, { headers: { authorization: `Bearer ${server.secretKey}` } });
  const handle = first.headers.get("electric-handle")!;
  const offset = first.headers.get("electric-offset")!;
  await first.body?.cancel();
  for (let i = 0; i < 50; i++) {
    stalled.push(await stalledReader(`/v1/shape?table=blobs&offset=${offset}&handle=${handle}&live=true&live_sse=true`, server.secretKey));
  }
  const growth = await flow();
  // Every update of every row reached each reader, in order, none skipped (n grew by one per message).
  for (const r of readers) assert.deepEqual(r.violations, []);
  assert.ok(
    growth < without + MAX_EXTRA_FOR_STALLED,
    `with 50 stalled readers the server's RSS peaked ${(growth / 2 ** 20).toFixed(0)} MiB over its start, ${(without / 2 ** 20).toFixed(0)} MiB without them (at most ${MAX_EXTRA_FOR_STALLED / 2 ** 20} MiB more allowed)`,
  );
  console.log(`server RSS peak over its start during 50 MB of changes: +${(without / 2 ** 20).toFixed(0)} MiB without stalled readers, +${(growth / 2 ** 20).toFixed(0)} MiB with 50`);
});
