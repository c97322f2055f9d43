import picocolors from "picocolors";
import type { RunStatus } from "@runcast/sdk";

export type Colors = ReturnType<typeof picocolors.createColors>;

/**
 * Colours for a stream: on in a terminal, off when piped, when NO_COLOR is set (no-color.org: any non-empty
 * value) or TERM=dumb; FORCE_COLOR=1 turns them on anyway. `--json` output never has colours.
 */
export function colorsFor(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): Colors {
  let on = !!stream.isTTY && env.TERM !== "dumb";
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== "") on = env.FORCE_COLOR !== "0";
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== "") on = false;
  return picocolors.createColors(on);
}

/** The colour of each of the 14 statuses: green done, red failed, blue running, yellow attention, grey ended. */
export function paintStatus(c: Colors, status: RunStatus, text: string = status): string {
  switch (status) {
    case "COMPLETED":
      return c.green(text);
    case "FAILED":
    case "CRASHED":
    case "SYSTEM_FAILURE":
    case "TIMED_OUT":
      return c.red(text);
    case "EXECUTING":
      return c.blue(text);
    case "FROZEN":
      return c.cyan(text);
    case "REATTEMPTING":
    case "WAITING_FOR_DEPLOY":
    case "INTERRUPTED":
      return c.yellow(text);
    case "DELAYED":
      return c.magenta(text);
    case "QUEUED":
      return c.white(text);
    case "CANCELED":
    case "EXPIRED":
      return c.gray(text);
  }
}

/** "450ms", "2.3s", "4m 05s", "1h 02m". */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.max(0, Math.round(ms))}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  const s = Math.floor(ms / 1000);
  if (s < 3600) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h ${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
}

/** "12s ago", "3m ago", "5h ago", "2d ago". */
export function formatAgo(date: Date | undefined, now: number): string {
  if (!date) return "";
  const s = Math.max(0, Math.round((now - date.getTime()) / 1000));
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ago`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h ago`;
  return `${Math.floor(s / 86_400)}d ago`;
}

/** HH:MM:SS in local time, for log lines. */
export function clock(date: Date): string {
  return [date.getHours(), date.getMinutes(), date.getSeconds()].map((n) => String(n).padStart(2, "0")).join(":");
}

/** The subset of a run the views draw (realtime runs and listed runs both have it). */
export interface RunView {
  id: string;
  taskIdentifier: string;
  status: RunStatus;
  createdAt: Date;
  startedAt: Date | undefined;
  finishedAt: Date | undefined;
  tags: string[];
  metadata?: Record<string, unknown> | undefined;
  error?: { message: string; name?: string } | undefined;
}

/**
 * A run's progress from its metadata's `progress` number, as a fraction: 0..1 as is, 1..100 read as percent.
 * Anything else (absent, not a number, out of range) means the run shows no progress bar.
 */
export function progressOf(run: Pick<RunView, "metadata">): number | undefined {
  const p = run.metadata?.progress;
  if (typeof p !== "number" || !Number.isFinite(p) || p < 0 || p > 100) return undefined;
  return p > 1 ? p / 100 : p;
}

export const BAR_CELLS = 10;

/** Filled cells of a progress bar: the unit in which progress is worth a new log line. */
export const barCells = (fraction: number): number => Math.round(Math.min(1, Math.max(0, fraction)) * BAR_CELLS);

/** "██████░░░░  60%". */
export function progressBar(c: Colors, fraction: number): string {
  const filled = barCells(fraction);
  const pct = `${Math.round(Math.min(1, Math.max(0, fraction)) * 100)}%`.padStart(4);
  return `${c.cyan("█".repeat(filled))}${c.dim("░".repeat(BAR_CELLS - filled))} ${pct}`;
}

/** How long the run has run: start to finish, or to `now` while it runs; undefined before it started. */
export function runDuration(run: Pick<RunView, "startedAt" | "finishedAt">, now: number): number | undefined {
  if (!run.startedAt) return undefined;
  return (run.finishedAt?.getTime() ?? now) - run.startedAt.getTime();
}

/** Width of the status column: the longest status but WAITING_FOR_DEPLOY (rare; it overflows by four). */
export const STATUS_WIDTH = 14;

export interface Column {
  /** Header text. */
  title: string;
  /** Plain text of a cell (its width counts). */
  text: string[];
  /** Paints a cell after padding, so colour codes never upset the alignment. */
  paint?: (text: string, row: number) => string;
}

/** Characters a cell takes on screen: colour codes take none. */
// eslint-disable-next-line no-control-regex
const visibleLength = (text: string) => text.replace(/\x1b\[[0-9;]*m/g, "").length;

/** Columns as aligned lines (header first), two spaces apart, trailing spaces trimmed. */
export function table(c: Colors, columns: Column[], opts: { indent?: string } = {}): string[] {
  const indent = opts.indent ?? "";
  const rows = Math.max(0, ...columns.map((col) => col.text.length));
  const widths = columns.map((col) => Math.max(col.title.length, ...col.text.map(visibleLength)));
  const line = (cells: string[]) => (indent + cells.join("  ")).trimEnd();
  const out = [line(columns.map((col, i) => c.dim(i === columns.length - 1 ? col.title : col.title.padEnd(widths[i] ?? 0))))];
  for (let r = 0; r < rows; r++) {
    out.push(
      line(
        columns.map((col, i) => {
          const text = col.text[r] ?? "";
          const padded = i === columns.length - 1 ? text : text + " ".repeat(Math.max(0, (widths[i] ?? 0) - visibleLength(text)));
          return col.paint ? col.paint(padded, r) : padded;
        }),
      ),
    );
  }
  return out;
}
