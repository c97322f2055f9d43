/**
 * Scope grammar of public access tokens (specs/trigger-wire.md §2.8): `action:type[:id]`, `admin`,
 * `action:all`. A scope without an id covers every id of its type; one with an id covers only it.
 */
export type Action = "read" | "write" | "trigger" | "batchTrigger";

export interface Resource {
  type: string;
  /** Undefined asks for the whole type. */
  id?: string;
}

export function scopeAllows(scope: string, action: Action, resource: Resource): boolean {
  if (scope === "admin") return true;
  const first = scope.indexOf(":");
  if (first < 0) return false;
  const scopeAction = scope.slice(0, first);
  const rest = scope.slice(first + 1);
  const second = rest.indexOf(":");
  const type = second < 0 ? rest : rest.slice(0, second);
  const id = second < 0 ? undefined : rest.slice(second + 1);
  if (scopeAction !== action) return false;
  if (type === "all") return true;
  if (type !== resource.type) return false;
  if (id === undefined) return true;
  return resource.id !== undefined && resource.id === id;
}

/** True when any scope grants the action on any of the resources. */
export function scopesAllow(scopes: readonly string[], action: Action, resources: readonly Resource[]): boolean {
  return resources.some((r) => scopes.some((s) => scopeAllows(s, action, r)));
}
