import type { ClientConfig } from "./config.ts";
import { apiRequest } from "./http.ts";
import { currentRun } from "./run-context.ts";
import type { RunHandle, TriggerOptions } from "./types.ts";

/** Wire form of trigger options; inside a running task the new run records it as its parent. */
export function wireOptions(options: TriggerOptions | undefined, extra: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...options, ...extra };
  if (options?.delay instanceof Date) out.delay = options.delay.toISOString();
  const run = currentRun();
  if (run && out.parentRunId === undefined) out.parentRunId = run.runId;
  return out;
}

/** POST /api/v1/tasks/:id/trigger. Retries only when an idempotency key makes a retry safe. */
export async function triggerTask(
  taskId: string,
  payload: unknown,
  options?: TriggerOptions,
  config?: ClientConfig,
  extra: Record<string, unknown> = {},
): Promise<RunHandle> {
  const cfg = config ?? currentRun()?.config;
  const { body } = await apiRequest<{ id: string; isCached: boolean; publicAccessToken: string }>(
    `/api/v1/tasks/${encodeURIComponent(taskId)}/trigger`,
    {
      method: "POST",
      body: { payload, options: wireOptions(options, extra) },
      retry: !!options?.idempotencyKey,
      ...(cfg ? { config: cfg } : {}),
    },
  );
  return { id: body.id, isCached: body.isCached, publicAccessToken: body.publicAccessToken };
}
