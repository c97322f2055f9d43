import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, loadavg, totalmem } from "node:os";
import { dirname, join } from "node:path";
import { REPO_ROOT } from "./procs.ts";
import { serverRoot } from "./runcast-server.ts";
import type { Summary } from "./stats.ts";

export const RESULTS_DIR = join(REPO_ROOT, "bench", "results");

/**
 * What the numbers were measured on: machine, Node, and the code: this checkout's commit (and whether
 * packages/ had local changes), and the server's own when it runs from another checkout
 * (RUNCAST_BENCH_SERVER_ROOT; a `git archive` export has no history, so say which commit it is in
 * RUNCAST_BENCH_SERVER_COMMIT).
 */
export function environment() {
  const git = (args: string[], root = REPO_ROOT) => {
    try {
      return execFileSync("git", ["-C", root, ...args], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
    } catch {
      return undefined;
    }
  };
  const root = serverRoot();
  const server =
    root === REPO_ROOT
      ? { root: "this checkout", commit: git(["rev-parse", "HEAD"]) }
      : { root, commit: process.env.RUNCAST_BENCH_SERVER_COMMIT || git(["rev-parse", "HEAD"], root) || "unknown" };
  const cpuList = cpus();
  return {
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    cpus: cpuList.length,
    cpuModel: cpuList[0]?.model,
    totalMemMb: Math.round(totalmem() / 2 ** 20),
    loadavgAtStart: loadavg().map((v) => Math.round(v * 100) / 100),
    commit: git(["rev-parse", "HEAD"]),
    // Source changes only: a checkout's node_modules (a symlink in a worktree) is no code change.
    uncommittedInPackages: (git(["status", "--porcelain", "--", "packages"]) ?? "").split("\n").filter((l) => l && !/node_modules\/?$/.test(l)).length,
    /** The Runcast server measured. */
    server,
    /** Runcast's version (the server package's). */
    runcast: (JSON.parse(readFileSync(join(REPO_ROOT, "packages", "server", "package.json"), "utf8")) as { version?: string }).version,
    /** PostgreSQL's version, filled in once the bench's database is up. */
    postgres: undefined as string | undefined,
  };
}

/** Writes `data` as indented JSON (creating the folder); returns the path. */
export function writeJson(path: string, data: unknown): string {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, JSON.stringify(data, null, 2) + "\n");
  return path;
}

/** bench/results/<name>-<ISO date>.json (colons replaced, so the name is valid everywhere). */
export function defaultResultPath(name: string, date = new Date()): string {
  return join(RESULTS_DIR, `${name}-${date.toISOString().replace(/:/g, "-").replace(/\.\d+Z$/, "Z")}.json`);
}

export function fmtMs(v: number): string {
  if (!Number.isFinite(v)) return "–";
  return v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2);
}

export function fmtRatio(v: number, target?: number): string {
  if (!Number.isFinite(v)) return "–";
  const mark = target === undefined ? "" : v <= target ? " ✓" : " ✗";
  return `${v.toFixed(2)}${mark}`;
}

/** A plain-text table: first row is the header; numbers right-aligned. */
export function table(rows: string[][]): string {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  const line = (row: string[]) =>
    row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0))).join("  ");
  const out = [line(rows[0] ?? []), widths.map((w) => "-".repeat(w)).join("  ")];
  for (const row of rows.slice(1)) out.push(line(row));
  return out.join("\n");
}

export function summaryCells(s: Summary): string[] {
  return [fmtMs(s.p50), fmtMs(s.p99), fmtMs(s.max)];
}

/** A markdown table: first row is the header. */
export function md(rows: string[][]): string {
  const [head, ...body] = rows;
  return [`| ${(head ?? []).join(" | ")} |`, `|${(head ?? []).map(() => "---").join("|")}|`, ...body.map((r) => `| ${r.join(" | ")} |`)].join("\n");
}

