import type { ClientConfig } from "./config.ts";
import { apiRequest } from "./http.ts";
import type { RunHandle, TriggerOptions } from "./types.ts";

function wireOptions(options: TriggerOptions | undefined): Record<string, unknown> {
  if (!options) return {};
  const out: Record<string, unknown> = { ...options };
  if (options.delay instanceof Date) out.delay = options.delay.toISOString();
  return out;
}

/** POST /api/v1/tasks/:id/trigger. Retries only when an idempotency key makes a retry safe. */
export async function triggerTask(
  taskId: string,
  payload: unknown,
  options?: TriggerOptions,
  config?: ClientConfig,
): Promise<RunHandle> {
  const { body } = await apiRequest<{ id: string; isCached: boolean; publicAccessToken: string }>(
    `/api/v1/tasks/${encodeURIComponent(taskId)}/trigger`,
    {
      method: "POST",
      body: { payload, options: wireOptions(options) },
      retry: !!options?.idempotencyKey,
      ...(config ? { config } : {}),
    },
  );
  return { id: body.id, isCached: body.isCached, publicAccessToken: body.publicAccessToken };
}
