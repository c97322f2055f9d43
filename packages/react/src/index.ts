/**
 * @runcast/react: React hooks over the SDK's realtime streams. The hooks land with the React issue;
 * until then this package re-exports the SDK types the hooks will use.
 */
export type { RealtimeRun, RunStatus } from "@runcast/sdk";
