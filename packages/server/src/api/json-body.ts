import type { Context } from "hono";
import { badRequest } from "../errors.ts";

const UTF8 = new TextDecoder("utf-8", { fatal: true });
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * Where in a JSON value a string (or key) holds what PostgreSQL cannot store: a NUL character (jsonb and
 * text refuse it) or a lone surrogate (not Unicode). Null when there is none.
 */
export function badTextPath(value: unknown, path = "body"): string | null {
  if (typeof value === "string") return value.includes("\u0000") || LONE_SURROGATE.test(value) ? path : null;
  if (typeof value !== "object" || value === null) return null;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const bad = badTextPath(value[i], `${path}[${i}]`);
      if (bad) return bad;
    }
    return null;
  }
  for (const [k, v] of Object.entries(value)) {
    const at = `${path}.${k}`;
    if (k.includes("\u0000") || LONE_SURROGATE.test(k)) return at;
    const bad = badTextPath(v, at);
    if (bad) return bad;
  }
  return null;
}

/** The request body as text; 400 when it is not valid UTF-8. */
export async function readText(c: Context): Promise<string> {
  try {
    return UTF8.decode(await c.req.arrayBuffer());
  } catch {
    throw badRequest("invalid_utf8", "the request body is not valid UTF-8", "body");
  }
}

/**
 * The request body as JSON; 400 naming the problem when it is not: invalid UTF-8, invalid JSON, not an
 * object, or text PostgreSQL cannot store (NUL characters, lone surrogates). An empty body reads as `{}`.
 */
export async function readJson(c: Context): Promise<Record<string, unknown>> {
  const text = await readText(c);
  if (text.trim() === "") return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw badRequest("invalid_json", `the request body is not valid JSON: ${err instanceof Error ? err.message : "parse error"}`, "body");
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw badRequest("invalid_body", "the request body must be a JSON object", "body");
  }
  const bad = badTextPath(value);
  if (bad) throw badRequest("invalid_text", `${bad} contains a NUL character or a lone surrogate, which cannot be stored`, bad);
  return value as Record<string, unknown>;
}
