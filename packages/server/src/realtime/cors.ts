import type { OutgoingHttpHeaders } from "node:http";
import type { Context, MiddlewareHandler } from "hono";
import type { AuthEnv } from "../auth/middleware.ts";
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

const METHODS = "GET,HEAD,PUT,PATCH,POST,DELETE,OPTIONS";

/**
 * CORS for every route: any origin may call (credentials travel in the Authorization header, never in
 * cookies), preflights are answered here. It reads the raw request headers, so a request that needs no
 * Fetch `Headers` object (a held shape request) never builds one.
 */
export function corsMiddleware(): MiddlewareHandler<AuthEnv> {
  return async (c, next) => {
    const headers = c.env.incoming.headers;
    const origin = allowOrigin(headers.origin);
    if (c.req.method === "OPTIONS") {
      const requested = headers["access-control-request-headers"];
      return c.body(null, 204, {
        "access-control-allow-origin": origin,
        "access-control-allow-methods": METHODS,
        ...(requested ? { "access-control-allow-headers": requested } : {}),
        "access-control-max-age": "300",
        vary: "Origin, Access-Control-Request-Headers",
      });
    }
    c.header("access-control-allow-origin", origin);
    c.header("access-control-expose-headers", EXPOSED);
    c.header("vary", "Origin");
    await next();
  };
}

/** The query of a request, parsed from the raw request line (cheaper than a whole URL). */
export function queryOf(c: Context<AuthEnv>): URLSearchParams {
  const url = c.env.incoming.url ?? "";
  const q = url.indexOf("?");
  return new URLSearchParams(q < 0 ? "" : url.slice(q + 1));
}
