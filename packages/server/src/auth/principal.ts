import { RuncastError } from "../errors.ts";
import { scopesAllow, type Action, type Resource } from "./scopes.ts";

/** Who is calling: a backend with a secret key, or a browser/client with a public token. */
export type Principal =
  | { kind: "secret"; envId: string; secretKey: string }
  | { kind: "public"; envId: string; scopes: string[]; skipColumns?: string[] };

/** Throws 403 unless the principal may do `action` on one of `resources`. Secret keys may do everything. */
export function authorize(principal: Principal, action: Action, resources: readonly Resource[]): void {
  if (principal.kind === "secret") return;
  if (scopesAllow(principal.scopes, action, resources)) return;
  const wanted = resources.map((r) => `${action}:${r.type}${r.id ? `:${r.id}` : ""}`).join(" or ");
  throw new RuncastError(403, "forbidden", `this public access token does not grant ${wanted}`);
}

export function requireSecret(principal: Principal): asserts principal is Extract<Principal, { kind: "secret" }> {
  if (principal.kind !== "secret") throw new RuncastError(403, "secret_key_required", "this route needs a secret key, not a public access token");
}
