import superjson from "superjson";
import type { ClientConfig } from "./config.ts";
import { apiRequest } from "./http.ts";

/**
 * Payloads and outputs travel as text with a type, as on Trigger.dev's wire (specs/trigger-wire.md §2.1,
 * §4.1): JSON, superjson (Dates, Maps, BigInts… survive; what the official SDK sends), plain text.
 */
export const JSON_TYPE = "application/json";
export const SUPERJSON_TYPE = "application/super+json";
export const TEXT_TYPE = "text/plain";

/** The value of a packet's text. An empty packet is undefined; a type Runcast does not decode stays text. */
export function parsePacket(data: string | null | undefined, type: string | null | undefined): unknown {
  if (data === null || data === undefined || data === "") return undefined;
  switch (type ?? JSON_TYPE) {
    case JSON_TYPE:
      return JSON.parse(data);
    case SUPERJSON_TYPE:
      return superjson.parse(data);
    default:
      return data;
  }
}

/**
 * The value of a payload stored by the server: JSON payloads are stored as the value itself, other types
 * as their text (a JSON string).
 */
export function storedPayload(stored: unknown, type: string | null | undefined): unknown {
  if (!type || type === JSON_TYPE) return stored;
  return typeof stored === "string" ? parsePacket(stored, type) : stored;
}

/** A payload or output kept on the server as a packet (128 KiB and more): its value is fetched through a signed URL. */
export const STORE_TYPE = "application/store";

/**
 * The value of a run's stored packet (`field` of run `runId`): the server signs a URL for it, then the packet's
 * own type decodes it.
 */
export async function loadPacket(runId: string, field: "payload" | "output", config?: ClientConfig): Promise<unknown> {
  const { body } = await apiRequest<{ presignedUrl: string }>(`/api/v1/runs/${encodeURIComponent(runId)}/packets/${field}`, config ? { config } : {});
  return fetchPacket(body.presignedUrl);
}

/** Fetches a packet from a signed URL and decodes it by its content type. */
export async function fetchPacket(url: string): Promise<unknown> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`fetching a packet failed: HTTP ${res.status}`);
  return parsePacket(await res.text(), res.headers.get("content-type")?.split(";")[0] ?? JSON_TYPE);
}
