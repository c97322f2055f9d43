import { FINAL_STATUSES } from "@runcast/sdk";
import {
  barCells,
  clock,
  formatAgo,
  formatDuration,
  paintStatus,
  progressBar,
  progressOf,
  runDuration,
  STATUS_WIDTH,
  table,
  type Colors,
  type RunView,
} from "./render.ts";

/** Runs a log remembers the last line of (to print only what changed). */
const MAX_REMEMBERED = 10_000;

export const isFinal = (run: Pick<RunView, "status">): boolean => FINAL_STATUSES.includes(run.status);

/**
 * A log of runs, one line per change worth reading: a new status, or (with `progressLines`) progress that
 * moved by a bar cell (10 %), so a run writing its progress every few milliseconds makes at most ten lines.
 */
export class RunLog {
  readonly #c: Colors;
  readonly #progressLines: boolean;
  /** What was last printed for each run: its status and bar cells. */
  readonly #last = new Map<string, string>();
  #taskWidth = 12;

  constructor(c: Colors, opts: { progressLines: boolean }) {
    this.#c = c;
    this.#progressLines = opts.progressLines;
  }

  /** The line for this state of a run, or undefined when nothing worth a line changed since the last one. */
  line(run: RunView, now = Date.now()): string | undefined {
    const progress = progressOf(run);
    const key = `${run.status}:${this.#progressLines && progress !== undefined ? barCells(progress) : ""}`;
    if (this.#last.get(run.id) === key) return undefined;
    this.#last.delete(run.id);
    this.#last.set(run.id, key);
    // Bounded, oldest first out: a long `runcast dev` session does not grow (a run that long quiet is finished).
    for (const id of this.#last.keys()) {
      if (this.#last.size <= MAX_REMEMBERED) break;
      this.#last.delete(id);
    }
    const c = this.#c;
    this.#taskWidth = Math.max(this.#taskWidth, Math.min(32, run.taskIdentifier.length));
    const duration = runDuration(run, now);
    const parts = [
      c.dim(clock(new Date(now))),
      paintStatus(c, run.status, run.status.padEnd(STATUS_WIDTH)),
      c.bold(run.taskIdentifier.padEnd(this.#taskWidth)),
      run.id,
    ];
    if (duration !== undefined) parts.push(formatDuration(duration).padStart(6));
    if (progress !== undefined) parts.push(progressBar(c, progress));
    if (run.error && !["COMPLETED", "CANCELED"].includes(run.status)) parts.push(c.red(oneLine(run.error.name ? `${run.error.name}: ${run.error.message}` : run.error.message)));
    return parts.join("  ");
  }
}

function oneLine(text: string, max = 160): string {
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

/**
 * The runs of a live view, drawn as a table redrawn in place: newest first, cut to the terminal's height.
 */
export class RunBoard {
  readonly runs = new Map<string, RunView>();

  update(run: RunView): void {
    this.runs.set(run.id, run);
  }

  remove(id: string): void {
    this.runs.delete(id);
  }

  clear(): void {
    this.runs.clear();
  }

  /** The runs not finished yet. */
  active(): RunView[] {
    return [...this.runs.values()].filter((r) => !isFinal(r));
  }

  /** Keeps the newest `max` runs, so a view left open for hours stays bounded. */
  trim(max: number): void {
    if (this.runs.size <= max) return;
    const newest = sortNewest([...this.runs.values()]).slice(0, max);
    this.runs.clear();
    for (const r of newest) this.runs.set(r.id, r);
  }

  render(c: Colors, opts: { now: number; maxRows: number; only?: (run: RunView) => boolean; indent?: string }): string[] {
    const all = sortNewest([...this.runs.values()].filter(opts.only ?? (() => true)));
    const shown = all.slice(0, Math.max(1, opts.maxRows));
    const lines = runTable(c, shown, opts.now, opts.indent);
    if (all.length > shown.length) lines.push(c.dim(`${opts.indent ?? ""}… ${all.length - shown.length} more`));
    return lines;
  }
}

const sortNewest = (runs: RunView[]) => runs.sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime() || (a.id < b.id ? 1 : -1));

/** Runs as a table: status, task, id, when, duration, tags, progress. */
export function runTable(c: Colors, runs: RunView[], now: number, indent = ""): string[] {
  return table(
    c,
    [
      { title: "STATUS", text: runs.map((r) => r.status), paint: (t, i) => paintStatus(c, runs[i]?.status ?? "QUEUED", t) },
      { title: "TASK", text: runs.map((r) => r.taskIdentifier), paint: (t) => c.bold(t) },
      { title: "RUN", text: runs.map((r) => r.id) },
      { title: "CREATED", text: runs.map((r) => formatAgo(r.createdAt, now)) },
      { title: "DURATION", text: runs.map((r) => fmt(runDuration(r, now))) },
      { title: "TAGS", text: runs.map((r) => r.tags.join(",")) },
      { title: "PROGRESS", text: runs.map((r) => bar(c, r)) },
    ],
    { indent },
  );
}

const fmt = (ms: number | undefined) => (ms === undefined ? "" : formatDuration(ms));

function bar(c: Colors, run: RunView): string {
  const p = progressOf(run);
  return p === undefined ? "" : progressBar(c, p);
}
