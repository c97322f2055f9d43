/** Where the SDK finds the server and how it authenticates. */
export interface ClientConfig {
  /** Server URL; default `RUNCAST_API_URL` or http://localhost:3030. */
  baseURL?: string;
  /** Secret key (`tr_dev_…`); default `RUNCAST_SECRET_KEY`. */
  secretKey?: string;
  /** A public access token, for code that must not hold the secret key (browsers). */
  accessToken?: string;
}

let global: ClientConfig = {};

/** Sets the SDK's configuration for this process (or page). Later calls merge over earlier ones. */
export function configure(config: ClientConfig): void {
  global = { ...global, ...config };
}

function env(name: string): string | undefined {
  const p = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process;
  return p?.env?.[name] || undefined;
}

export interface ResolvedConfig {
  baseURL: string;
  token: string | undefined;
}

/** The effective configuration: explicit options, then `configure()`, then the environment. */
export function resolveConfig(override?: ClientConfig): ResolvedConfig {
  const c = { ...global, ...override };
  const baseURL = (c.baseURL ?? env("RUNCAST_API_URL") ?? "http://localhost:3030").replace(/\/+$/, "");
  const token = override?.accessToken ?? override?.secretKey ?? c.secretKey ?? c.accessToken ?? env("RUNCAST_SECRET_KEY");
  return { baseURL, token };
}
