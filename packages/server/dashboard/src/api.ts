import type { RunStatus } from "@runcast/sdk";

/** The dashboard's session: the secret key typed at login, kept for this browser tab only (sessionStorage). */
const KEY = "runcast.secretKey";
export const session = {
  get: () => sessionStorage.getItem(KEY) ?? undefined,
  set: (key: string) => sessionStorage.setItem(KEY, key),
  clear: () => sessionStorage.removeItem(KEY),
};

/** The server this page was served by. */
export const baseURL = location.origin;

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** A management call with the session's secret key; errors carry the server's message. */
export async function api<T>(path: string, init: { method?: string; body?: unknown; token?: string } = {}): Promise<T> {
  const token = init.token ?? session.get();
  const res = await fetch(`${baseURL}${path}`, {
    method: init.method ?? (init.body === undefined ? "GET" : "POST"),
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(init.body === undefined ? {} : { "content-type": "application/json" }) },
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
  });
  const text = await res.text();
  const body: unknown = text ? JSON.parse(text) : {};
  if (!res.ok) {
    const err = (body as { error?: { message?: string } | string }).error;
    throw new ApiError(res.status, typeof err === "string" ? err : (err?.message ?? `${res.status} ${res.statusText}`));
  }
  return body as T;
}

/** A read token for the page's live feeds (they never carry the secret key), renewed before it expires. */
export async function feedToken(): Promise<string> {
  const { token } = await api<{ token: string }>("/api/v1/auth/public-tokens", { body: { scopes: ["read:runs", "read:batch", "read:tags"], expirationTime: "1h" } });
  return token;
}

export interface TaskInfo {
  id: string;
  queue: string;
  concurrencyLimit: number | null;
  connected: boolean;
  workers: number;
}
export interface WorkerInfo {
  id: string;
  name: string;
  tasks: string[];
  concurrency: number;
  executing: number;
  freeSlots: number;
  lastSeenAt: string;
}
export interface QueueInfo {
  name: string;
  concurrencyLimit: number | null;
  queued: number;
  executing: number;
}
export interface RunEvent {
  status: RunStatus;
  previousStatus: RunStatus | null;
  attemptNumber: number;
  at: string;
  reason?: string;
}
export interface RelatedRun {
  id: string;
  taskIdentifier: string;
  status: RunStatus;
}
