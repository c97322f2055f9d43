/**
 * Summarises a V8 CPU profile (.cpuprofile, as written by `node --cpu-prof`, e.g. the fan-out servers',
 * Runcast's and the floor's, under `npm run bench:sync -- --cpu-prof`): self time by function and by where
 * the code lives (Runcast's sources, each dependency, Node's internals, GC, idle).
 *
 *   node --import tsx bench/prof-summary.ts bench/results/prof/CPU.….cpuprofile [--top 30] [--windows RESULT.json [--phase fanout|reissue]]
 *
 * With --windows, only samples taken during the measured fan-out rounds count: the result JSON records
 * each round's CLOCK_MONOTONIC windows (V8 profiles use that clock) and each server's pid, which the
 * profile's file name carries (CPU.<date>.<time>.<pid>.….cpuprofile). --phase reissue takes the part of
 * each round after the fan-out instead: taking in the N re-issued live requests.
 */
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { table } from "./lib/report.ts";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export interface ProfileSummary {
  totalMs: number;
  byFunction: { name: string; where: string; selfMs: number; pct: number }[];
  byArea: { area: string; selfMs: number; pct: number }[];
}

/** Where a frame's code lives: a package, Runcast's own folder, a Node internal, or V8's pseudo-frames. */
export function areaOf(url: string, functionName: string): string {
  if (!url) return functionName.startsWith("(") ? functionName : "(native)";
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (nm) return nm[1] as string;
  const rc = /packages\/([^/]+)\/src\/([^/]+)/.exec(url);
  if (rc) return `runcast ${rc[1]}/${rc[2]}`;
  if (url.startsWith("node:")) {
    const m = /^node:(?:internal\/)?([^/]+)/.exec(url);
    return `node:${m?.[1] ?? url}`;
  }
  return url;
}

/** Sample windows in the profile's clock (µs); all samples count when omitted. */
export function summarizeProfile(p: Profile, top = 30, windows?: readonly (readonly [number, number])[]): ProfileSummary {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  let t = p.startTime;
  p.samples.forEach((id, i) => {
    const dt = p.timeDeltas[i] ?? 0;
    t += dt;
    if (windows && !windows.some(([a, b]) => t >= a && t <= b)) return;
    self.set(id, (self.get(id) ?? 0) + dt);
  });
  let total = 0;
  const fn = new Map<string, { name: string; where: string; us: number }>();
  const area = new Map<string, number>();
  for (const [id, us] of self) {
    const node = byId.get(id);
    if (!node) continue;
    total += us;
    const { functionName, url, lineNumber } = node.callFrame;
    const where = url ? `${url.replace(/^file:\/\/.*?\/(node_modules|packages)\//, "$1/")}:${lineNumber + 1}` : "";
    const key = `${functionName}@${where}`;
    const entry = fn.get(key) ?? { name: functionName || "(anonymous)", where, us: 0 };
    entry.us += us;
    fn.set(key, entry);
    const a = areaOf(url, functionName);
    area.set(a, (area.get(a) ?? 0) + us);
  }
  const pct = (us: number) => Math.round((us / total) * 1000) / 10;
  return {
    totalMs: Math.round(total / 1000),
    byFunction: [...fn.values()]
      .sort((a, b) => b.us - a.us)
      .slice(0, top)
      .map((e) => ({ name: e.name, where: e.where, selfMs: Math.round(e.us / 100) / 10, pct: pct(e.us) })),
    byArea: [...area.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([a, us]) => ({ area: a, selfMs: Math.round(us / 100) / 10, pct: pct(us) })),
  };
}

interface TargetWindows {
  target: string;
  n: number;
  serverPid: number;
  rounds: { monotonicUs: [number, number]; reissueMonotonicUs: [number, number] }[];
}

interface WindowSource {
  /** Per N: every feed and transport measured (`configs`), or (older result files) the targets themselves. */
  fanout?: { runcast?: TargetWindows; floor?: TargetWindows; configs?: { runcast?: TargetWindows; floor?: TargetWindows }[] }[];
}

/** The measured rounds of the server (Runcast or floor) whose pid is in the profile's file name. */
function windowsFor(resultFile: string, profileFile: string, phase: string): { label: string; windows: [number, number][] } | undefined {
  const pid = Number(/CPU\.\d+\.\d+\.(\d+)\./.exec(profileFile)?.[1]);
  const result = JSON.parse(readFileSync(resultFile, "utf8")) as WindowSource;
  for (const f of (result.fanout ?? []).flatMap((x) => x.configs ?? [x])) {
    for (const t of [f.runcast, f.floor]) {
      if (t?.serverPid === pid) {
        return { label: `${t.target} at N=${t.n}, ${phase}`, windows: t.rounds.map((r) => (phase === "reissue" ? r.reissueMonotonicUs : r.monotonicUs)) };
      }
    }
  }
  return undefined;
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({ options: { top: { type: "string" }, windows: { type: "string" }, phase: { type: "string" } }, allowPositionals: true });
  const phase = values.phase ?? "fanout";
  if (phase !== "fanout" && phase !== "reissue") throw new Error("--phase must be fanout or reissue");
  const top = Number(values.top ?? 30);
  for (const file of positionals) {
    const w = values.windows ? windowsFor(values.windows, file, phase) : undefined;
    if (values.windows && !w) {
      process.stdout.write(`${file}: no fan-out of this server pid in ${values.windows}; skipped\n`);
      continue;
    }
    const s = summarizeProfile(JSON.parse(readFileSync(file, "utf8")) as Profile, top, w?.windows);
    process.stdout.write(`${file}: ${s.totalMs} ms sampled${w ? ` during the ${w.windows.length} measured rounds of ${w.label}` : ""}\n\n`);
    process.stdout.write(table([["area", "self ms", "%"], ...s.byArea.map((a) => [a.area, a.selfMs.toFixed(1), a.pct.toFixed(1)])]) + "\n\n");
    process.stdout.write(table([["function", "where", "self ms", "%"], ...s.byFunction.map((f) => [f.name, f.where, f.selfMs.toFixed(1), f.pct.toFixed(1)])]) + "\n\n");
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  main().catch((err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
