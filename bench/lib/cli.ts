import { pathToFileURL } from "node:url";
import type { EmbeddedDatabase } from "../../packages/server/src/db/embedded.ts";
import { createBenchTable, startBenchPostgres } from "./postgres.ts";
import { cleanupAll, installExitHandlers } from "./procs.ts";
import { defaultResultPath, environment, writeJson } from "./report.ts";

export type Log = (line: string) => void;

/** Runs `main` when `moduleUrl` is the entry script: everything it started is stopped on success and on failure. */
export function runIfMain(moduleUrl: string, main: () => Promise<void>): void {
  if (moduleUrl !== pathToFileURL(process.argv[1] ?? "").href) return;
  installExitHandlers();
  main().then(
    async () => {
      await cleanupAll();
      process.exit(0);
    },
    async (err: unknown) => {
      process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      await cleanupAll();
      process.exit(1);
    },
  );
}

export const stdoutLog: Log = (line) => process.stdout.write(line + "\n");

/** A throw-away PostgreSQL with the bench table, for one run. */
export async function benchDatabase(log: Log): Promise<EmbeddedDatabase> {
  log("starting PostgreSQL…");
  const db = await startBenchPostgres();
  await createBenchTable(db.url);
  return db;
}

/**
 * One part of the bench as its own command: database, the part's run, its table printed and its result
 * file written (`kind`, date, duration, mode, environment, the options it ran with, targets, result).
 */
export async function runPart<O extends { databaseUrl: string; log: Log }, R>(part: {
  name: string;
  quick: boolean | undefined;
  out: string | undefined;
  options(databaseUrl: string, log: Log): O;
  run(opts: O): Promise<R>;
  table(result: R): string;
  targets: unknown;
}): Promise<void> {
  const log = stdoutLog;
  const started = new Date();
  const db = await benchDatabase(log);
  const opts = part.options(db.url, log);
  const result = await part.run(opts);
  const { databaseUrl: _url, log: _log, ...config } = opts;
  const path = writeJson(part.out ?? defaultResultPath(part.name, started), {
    kind: `runcast-bench-${part.name}`,
    date: started.toISOString(),
    durationS: Math.round((Date.now() - started.getTime()) / 1000),
    mode: part.quick ? "quick" : "full",
    environment: environment(),
    config,
    targets: part.targets,
    [part.name]: result,
  });
  log("\n" + part.table(result));
  log(`\nresults: ${path}`);
}
