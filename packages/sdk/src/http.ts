import { resolveConfig, type ClientConfig } from "./config.ts";
import { RuncastApiError } from "./errors.ts";

/** Bounds of the retry loop for management calls: network errors, 429 and 5xx only (never other 4xx). */
export const RETRY = { maxAttempts: 5, minDelayMs: 100, maxDelayMs: 5_000 } as const;

export function backoffDelay(attempt: number, min: number, max: number, random = Math.random()): number {
  // Full jitter: spreads retries of many clients after a shared failure.
  return random * Math.min(max, min * 2 ** attempt);
}

/** Waits `ms`, or less when `signal` aborts (the caller checks the signal afterwards). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(t);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const t = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });
}

export interface RequestOptions {
  method?: string;
  body?: unknown;
  signal?: AbortSignal;
  config?: ClientConfig;
  /** Retry 429/5xx/network errors (default true). */
  retry?: boolean;
}

/** A JSON request to the server with the configured credentials; throws RuncastApiError on 4xx/5xx. */
export async function apiRequest<T>(path: string, opts: RequestOptions = {}): Promise<{ body: T; headers: Headers }> {
  const { baseURL, token } = resolveConfig(opts.config);
  const headers: Record<string, string> = { accept: "application/json" };
  if (opts.body !== undefined) headers["content-type"] = "application/json";
  if (token) headers.authorization = `Bearer ${token}`;
  const init: RequestInit = { method: opts.method ?? "GET", headers };
  if (opts.body !== undefined) init.body = JSON.stringify(opts.body);
  if (opts.signal) init.signal = opts.signal;
  const attempts = opts.retry === false ? 1 : RETRY.maxAttempts;
  for (let attempt = 0; ; attempt++) {
    let res: Response;
    try {
      res = await fetch(`${baseURL}${path}`, init);
    } catch (err) {
      if (opts.signal?.aborted || attempt + 1 >= attempts) throw err;
      await sleep(backoffDelay(attempt, RETRY.minDelayMs, RETRY.maxDelayMs), opts.signal);
      continue;
    }
    if (res.ok) return { body: (await res.json()) as T, headers: res.headers };
    const retryable = res.status === 429 || res.status >= 500;
    if (!retryable || attempt + 1 >= attempts) throw await RuncastApiError.fromResponse(res);
    await res.body?.cancel();
    await sleep(backoffDelay(attempt, RETRY.minDelayMs, RETRY.maxDelayMs), opts.signal);
  }
}
