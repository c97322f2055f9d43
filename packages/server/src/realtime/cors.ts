import type { OutgoingHttpHeaders } from "node:http";
import { EXPOSED_HEADERS } from "./protocol.ts";

/** Browsers may call every route from any origin; credentials travel in the Authorization header. */
export function allowOrigin(origin: string | undefined): string {
  return origin || "*";
}

const EXPOSED = EXPOSED_HEADERS.join(",");

/**
 * Headers of responses written directly to the socket (shape responses), which bypass the CORS
 * middleware: what it adds to the other routes, plus `Vary: Authorization` since these responses may be
 * cached by shared caches and depend on the credential (SPEC.md A1).
 */
export function rawResponseHeaders(origin: string | undefined): OutgoingHttpHeaders {
  return {
    "access-control-allow-origin": allowOrigin(origin),
    "access-control-expose-headers": EXPOSED,
    vary: "Origin, Authorization",
  };
}
