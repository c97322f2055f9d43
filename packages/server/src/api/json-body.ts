import type { Context } from "hono";
import { badRequest } from "../errors.ts";

/** The request body as JSON; 400 naming the problem when it is not. An empty body reads as `{}`. */
export async function readJson(c: Context): Promise<Record<string, unknown>> {
  const text = await c.req.text();
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
  return value as Record<string, unknown>;
}
