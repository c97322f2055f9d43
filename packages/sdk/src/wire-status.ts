import type { RunStatus } from "./types.ts";

/**
 * Statuses on Trigger.dev's realtime wire (its database `TaskRunStatus`), which Runcast's realtime feeds speak
 * so that the official clients parse them (specs/trigger-wire.md §4.2). Each of Runcast's 14 statuses has its
 * own wire value, so the mapping goes both ways without loss.
 */
export const WIRE_STATUS = {
  WAITING_FOR_DEPLOY: "WAITING_FOR_DEPLOY",
  DELAYED: "DELAYED",
  QUEUED: "PENDING",
  EXECUTING: "EXECUTING",
  REATTEMPTING: "RETRYING_AFTER_FAILURE",
  FROZEN: "WAITING_TO_RESUME",
  COMPLETED: "COMPLETED_SUCCESSFULLY",
  CANCELED: "CANCELED",
  FAILED: "COMPLETED_WITH_ERRORS",
  CRASHED: "CRASHED",
  INTERRUPTED: "INTERRUPTED",
  SYSTEM_FAILURE: "SYSTEM_FAILURE",
  EXPIRED: "EXPIRED",
  TIMED_OUT: "TIMED_OUT",
} as const satisfies Record<RunStatus, string>;

export type WireStatus = (typeof WIRE_STATUS)[RunStatus];

const FROM_WIRE: Record<string, RunStatus> = {
  ...Object.fromEntries(Object.entries(WIRE_STATUS).map(([runcast, wire]) => [wire, runcast as RunStatus])),
  // Statuses only Trigger.dev itself writes, read the way its legacy API names them.
  PENDING_VERSION: "WAITING_FOR_DEPLOY",
  DEQUEUED: "EXECUTING",
  PAUSED: "FROZEN",
};

/** Runcast's status (the seed docs' 14) of a wire status; an unknown one reads as QUEUED, as the official SDK does. */
export function statusFromWire(wire: string): RunStatus {
  return FROM_WIRE[wire] ?? "QUEUED";
}

/**
 * The official SDK's 13 statuses (API version 2025-07-16): what `runs.retrieve` / `runs.list` answer when the
 * caller asks for that version. Runcast-only names fold into the nearest one (§4.2).
 */
export const V2_STATUS = {
  WAITING_FOR_DEPLOY: "PENDING_VERSION",
  DELAYED: "DELAYED",
  QUEUED: "QUEUED",
  EXECUTING: "EXECUTING",
  REATTEMPTING: "EXECUTING",
  FROZEN: "WAITING",
  COMPLETED: "COMPLETED",
  CANCELED: "CANCELED",
  FAILED: "FAILED",
  CRASHED: "CRASHED",
  INTERRUPTED: "FAILED",
  SYSTEM_FAILURE: "SYSTEM_FAILURE",
  EXPIRED: "EXPIRED",
  TIMED_OUT: "TIMED_OUT",
} as const satisfies Record<RunStatus, string>;

export type V2Status = (typeof V2_STATUS)[RunStatus] | "DEQUEUED";
