/**
 * The sync-engine benchmark (`npm run bench:sync`): commit → subscriber latency against the pgoutput
 * and LISTEN/NOTIFY floors, then fan-out to N held long-polls against a bare node:http floor, all on one
 * throw-away PostgreSQL started here. Prints progress and a table; writes bench/results/sync-<date>.json.
 *
 *   npm run bench:sync                     full: latency 200 samples; fan-out N = 1000, 5000, 10000 (FANOUT_MODES.full)
 *   npm run bench:sync -- --quick          quick: latency 60 samples; fan-out N = 500
 *   npm run bench:sync -- --only fanout    one part only (fanout | latency)
 *   other options: --n 1000,5000 --feeds run,runs,shape --transports long-poll,sse --rounds 5 --samples 200
 *                  --generators 4 --reissue immediate|deferred --target runcast,floor
 *                  --cpu-prof (server CPU profiles in bench/results/prof) --out FILE
 */
import { parseArgs } from "node:util";
import { FANOUT_ARGS, FANOUT_TARGETS, fanoutOptionsFrom, fanoutTable, runFanout, type FanoutResult } from "./fanout.ts";
import { LATENCY_ARGS, LATENCY_TARGETS, latencyOptionsFrom, latencyTable, runLatency, type LatencyResult } from "./latency.ts";
import { connectClient } from "./lib/postgres.ts";
import { benchDatabase, runIfMain, stdoutLog } from "./lib/cli.ts";
import { defaultResultPath, environment, writeJson } from "./lib/report.ts";

export interface SyncBenchOptions {
  quick: boolean;
  only: "fanout" | "latency" | undefined;
  fanout: Parameters<typeof fanoutOptionsFrom>[0];
  latency: Parameters<typeof latencyOptionsFrom>[0];
  log: (line: string) => void;
}

export interface SyncBenchResult {
  kind: "runcast-bench-sync";
  date: string;
  durationS: number;
  mode: "quick" | "full";
  environment: ReturnType<typeof environment>;
  targets: { latency: typeof LATENCY_TARGETS; fanout: typeof FANOUT_TARGETS };
  config: Record<string, unknown>;
  latency?: LatencyResult;
  fanout?: FanoutResult[];
}

/** The version the bench's PostgreSQL reports (`SHOW server_version`). */
async function postgresVersion(url: string): Promise<string | undefined> {
  const client = await connectClient({ connectionString: url });
  try {
    return (await client.query<{ server_version: string }>("SHOW server_version")).rows[0]?.server_version;
  } finally {
    await client.end();
  }
}

/** Starts PostgreSQL, runs the parts, stops everything it started (also when a part fails). */
export async function runSyncBench(opts: SyncBenchOptions): Promise<SyncBenchResult> {
  const started = new Date();
  const env = environment();
  opts.log(`runcast sync bench (${opts.quick ? "quick" : "full"}) on ${env.cpus} × ${env.cpuModel}, node ${env.node}; load ${env.loadavgAtStart.join(" ")}`);
  const db = await benchDatabase(opts.log);
  try {
    env.postgres = await postgresVersion(db.url);
    const result: SyncBenchResult = {
      kind: "runcast-bench-sync",
      date: started.toISOString(),
      durationS: 0,
      mode: opts.quick ? "quick" : "full",
      environment: env,
      targets: { latency: LATENCY_TARGETS, fanout: FANOUT_TARGETS },
      config: {},
    };
    if (opts.only !== "fanout") {
      const lo = latencyOptionsFrom({ ...opts.latency, quick: opts.quick }, db.url, opts.log);
      const { databaseUrl: _u, log: _l, ...config } = lo;
      result.config.latency = config;
      result.latency = await runLatency(lo);
    }
    if (opts.only !== "latency") {
      const fo = fanoutOptionsFrom({ ...opts.fanout, quick: opts.quick }, db.url, opts.log);
      const { databaseUrl: _u, log: _l, ...config } = fo;
      result.config.fanout = config;
      result.fanout = await runFanout(fo);
    }
    result.durationS = Math.round((Date.now() - started.getTime()) / 1000);
    return result;
  } finally {
    await db.stop();
  }
}

export function syncTable(r: SyncBenchResult): string {
  const parts: string[] = [];
  if (r.latency) parts.push(latencyTable(r.latency));
  if (r.fanout) parts.push(fanoutTable(r.fanout));
  return parts.join("\n\n");
}

runIfMain(import.meta.url, async () => {
  const { values } = parseArgs({
    options: { ...FANOUT_ARGS, ...LATENCY_ARGS, only: { type: "string" } },
    strict: true,
  });
  if (values.only !== undefined && values.only !== "fanout" && values.only !== "latency") throw new Error("--only must be fanout or latency");
  const result = await runSyncBench({
    quick: values.quick ?? false,
    only: values.only,
    fanout: values,
    latency: values,
    log: stdoutLog,
  });
  const path = writeJson(values.out ?? defaultResultPath("sync", new Date(result.date)), result);
  stdoutLog("\n" + syncTable(result));
  stdoutLog(`\n${result.durationS} s; results: ${path}`);
});
