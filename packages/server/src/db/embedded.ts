import { spawn, type ChildProcess } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { chmodSync, chownSync, closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import pg from "pg";
import { postgresBinaries, postgresUser, traversable, type PostgresBinaries } from "./postgres-binaries.ts";

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
  // As root the server runs as the `postgres` user: it must reach the folder.
  chmodSync(dir, 0o755);
  const clusterDir = clusterLocation(dir, opts.log);
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
  const bins = await postgresBinaries();
  if (fresh) await initdb(bins, clusterDir, cluster, join(dir, "postgres.log"));
  else await stopLeftoverPostmaster(clusterDir);
  writeFileSync(savedPath, JSON.stringify(cluster), { mode: 0o600 });
  const server = spawnPostmaster(bins, clusterDir, port, join(dir, "postgres.log"));
  const url = `postgres://${cluster.user}:${cluster.password}@127.0.0.1:${port}/postgres`;
  try {
    await waitUntilReady(url, server);
  } catch (err) {
    await server.stop();
    throw err;
  }
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
      await server.stop();
      if (opts.ephemeral) {
        rmSync(dir, { recursive: true, force: true });
        if (!clusterDir.startsWith(dir)) rmSync(dirname(clusterDir), { recursive: true, force: true });
      }
    },
  };
}

interface Postmaster {
  child: ChildProcess;
  exited: Promise<void>;
  stop(): Promise<void>;
}

/** initdb as the `postgres` user when root; the password file is readable by that user only. */
async function initdb(bins: PostgresBinaries, clusterDir: string, cluster: SavedCluster, logFile: string): Promise<void> {
  const pwfile = join(tmpdir(), `runcast-pw-${randomBytes(6).toString("hex")}`);
  writeFileSync(pwfile, cluster.password + "\n", { mode: 0o600 });
  if (bins.user) chownSync(pwfile, bins.user.uid, bins.user.gid);
  const fd = openSync(logFile, "a", 0o600);
  try {
    await new Promise<void>((resolveInit, reject) => {
      const child = spawn(
        bins.initdb,
        [`--pgdata=${clusterDir}`, "--auth=scram-sha-256", `--username=${cluster.user}`, `--pwfile=${pwfile}`, "--encoding=UTF8", "--no-locale"],
        { stdio: ["ignore", fd, fd], ...(bins.user ? { uid: bins.user.uid, gid: bins.user.gid } : {}) },
      );
      child.once("error", reject);
      child.once("exit", (code) => (code === 0 ? resolveInit() : reject(new Error(`initdb failed with code ${code}; see ${logFile}`))));
    });
  } finally {
    closeSync(fd);
    rmSync(pwfile, { force: true });
  }
}

/**
 * Starts the postmaster in its own process group, so a terminal's Ctrl-C reaches only Runcast, which
 * then stops the worker, drains requests and stops the database last. Logs go to `logFile`.
 */
function spawnPostmaster(bins: PostgresBinaries, clusterDir: string, port: number, logFile: string): Postmaster {
  const fd = openSync(logFile, "a", 0o600);
  const child = spawn(bins.postgres, ["-D", clusterDir, "-p", String(port), ...POSTGRES_FLAGS], {
    detached: true,
    stdio: ["ignore", fd, fd],
    ...(bins.user ? { uid: bins.user.uid, gid: bins.user.gid } : {}),
  });
  closeSync(fd);
  // A failed spawn (missing binary, permissions) ends like an early exit: waitUntilReady reports it.
  const exited = new Promise<void>((resolve) => {
    child.once("exit", () => resolve());
    child.once("error", () => resolve());
  });
  // If this process exits without stopping the database (an uncaught error), take it down with us.
  const onExit = () => {
    if (child.exitCode === null && child.pid) process.kill(child.pid, "SIGQUIT");
  };
  process.on("exit", onExit);
  return {
    child,
    exited,
    async stop() {
      process.removeListener("exit", onExit);
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGINT"); // fast shutdown: abort sessions, checkpoint, remove postmaster.pid
      const timer = setTimeout(() => child.kill("SIGQUIT"), 30_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Connects until the server accepts connections (it needs a moment after fork), or fails with its log. */
async function waitUntilReady(url: string, server: Postmaster): Promise<void> {
  const deadline = Date.now() + 60_000;
  let gone = false;
  void server.exited.then(() => (gone = true));
  for (;;) {
    const client = new pg.Client({ connectionString: url });
    try {
      await client.connect();
      await client.end();
      return;
    } catch (err) {
      await client.end().catch((e: unknown) => e);
      if (gone) throw new Error(`embedded PostgreSQL exited during start-up (see its log): ${(err as Error).message}`);
      if (Date.now() > deadline) throw new Error(`embedded PostgreSQL did not accept connections within 60 s: ${(err as Error).message}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }
}

async function portBusy(port: number): Promise<boolean> {
  return new Promise((res) => {
    const srv = createServer();
    srv.unref();
    srv.once("error", () => res(true));
    srv.listen(port, "127.0.0.1", () => srv.close(() => res(false)));
  });
}

/**
 * Where the cluster lives: `<dir>/postgres`, unless we are root and the `postgres` user (which the server
 * runs as) cannot reach that folder, e.g. a project under a private home. Then it lives in a folder of its
 * own under the system temp dir, named after `dir`.
 */
function clusterLocation(dir: string, log?: (line: string) => void): string {
  const inside = join(dir, "postgres");
  const user = postgresUser();
  if (!user || traversable(dir, user)) return inside;
  const outside = join(tmpdir(), `runcast-pg-${createHash("sha1").update(dir).digest("hex").slice(0, 12)}`);
  mkdirSync(outside, { recursive: true, mode: 0o755 });
  chmodSync(outside, 0o755);
  log?.(`the postgres user cannot reach ${dir}; keeping the embedded cluster in ${outside}`);
  return join(outside, "postgres");
}

/** initdb runs as the `postgres` user when we are root, so that user must own the cluster folder. */
function prepareClusterDir(clusterDir: string): void {
  mkdirSync(clusterDir, { recursive: true, mode: 0o700 });
  const user = postgresUser();
  if (user) chownSync(clusterDir, user.uid, user.gid);
}
