import superjson from "superjson";

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
