/**
 * @runcast/react: React hooks over Runcast's Realtime API (React 18 and 19; safe to import during server
 * rendering: nothing touches `window` until a component mounts).
 */
export {
  RuncastProvider,
  useRealtimeBatch,
  useRealtimeRun,
  useRealtimeRuns,
  useRealtimeRunsWithTag,
  useRealtimeTaskTrigger,
  useTaskTrigger,
  type RealtimeOptions,
  type RuncastConfig,
  type UseRealtimeRunResult,
  type UseRealtimeRunsResult,
  type UseTaskTriggerResult,
} from "./hooks.ts";
export { openFeeds } from "./feeds.ts";
export type { RealtimeRun, RunStatus } from "@runcast/sdk";
