import type { RunStatus } from "@runcast/sdk";

/** Colour and label of each of the 14 statuses. */
export const STATUS_LOOK: Record<RunStatus, { label: string; color: string }> = {
  WAITING_FOR_DEPLOY: { label: "Waiting for deploy", color: "#a16207" },
  DELAYED: { label: "Delayed", color: "#6b7280" },
  QUEUED: { label: "Queued", color: "#64748b" },
  EXECUTING: { label: "Executing", color: "#2563eb" },
  REATTEMPTING: { label: "Reattempting", color: "#d97706" },
  FROZEN: { label: "Waiting", color: "#7c3aed" },
  COMPLETED: { label: "Completed", color: "#16a34a" },
  CANCELED: { label: "Canceled", color: "#4b5563" },
  FAILED: { label: "Failed", color: "#dc2626" },
  CRASHED: { label: "Crashed", color: "#b91c1c" },
  INTERRUPTED: { label: "Interrupted", color: "#ea580c" },
  SYSTEM_FAILURE: { label: "System failure", color: "#991b1b" },
  EXPIRED: { label: "Expired", color: "#78716c" },
  TIMED_OUT: { label: "Timed out", color: "#c2410c" },
};

export const FINAL: ReadonlySet<RunStatus> = new Set(["COMPLETED", "CANCELED", "FAILED", "CRASHED", "INTERRUPTED", "SYSTEM_FAILURE", "EXPIRED", "TIMED_OUT"]);

export function duration(ms: number): string {
  if (ms < 1000) return `${ms} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
}

export const time = (d: Date | undefined) => (d ? d.toLocaleTimeString() : "–");
