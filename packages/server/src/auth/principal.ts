import { RuncastError } from "../errors.ts";
import { scopesAllow, type Action, type Resource } from "./scopes.ts";

/** Who is calling: a backend with a secret key, or a browser/client with a public token. */
export type Principal =
  | { kind: "secret"; envId: string; keyId: string; secretKey: string }
  | {
      kind: "public";
      envId: string;
      /** The secret key that signed the token. */
      keyId: string;
      scopes: string[];
      skipColumns?: string[];
      /** sha256 of the token. */
      tokenHash: string;
      /** One-time use (otu): its first trigger consumes it. */
      oneTimeUse: boolean;
      /** Unix seconds. */
      expiresAt: number;
    };

/** Throws 403 unless the principal may do `action` on one of `resources`. Secret keys may do everything. */
export function authorize(principal: Principal, action: Action, resources: readonly Resource[]): void {
  if (principal.kind === "secret") return;
  if (scopesAllow(principal.scopes, action, resources)) return;
  const wanted = resources.map((r) => `${action}:${r.type}${r.id ? `:${r.id}` : ""}`).join(" or ");
  throw new RuncastError(403, "forbidden", `this public access token does not grant ${wanted}: create a token whose scopes include it (auth.createPublicToken), or call from your backend with a secret key`);
}

export function requireSecret(principal: Principal): asserts principal is Extract<Principal, { kind: "secret" }> {
  if (principal.kind !== "secret") throw new RuncastError(403, "secret_key_required", "this route needs a secret key, not a public access token: call it from your backend with the environment's secret key");
}
