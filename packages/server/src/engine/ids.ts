import { randomToken } from "../random-token.ts";

/** Friendly ids: a type prefix and 24 random letters/digits (`run_…`, `batch_…`). */
export function newId(prefix: "run" | "batch" | "attempt" | "worker" | "waitpoint"): string {
  return `${prefix}_${randomToken(24).toLowerCase()}`;
}
