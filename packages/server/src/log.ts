/** Structured logs: one JSON object per line on stderr. Never pass secrets in fields. */
export type LogLevel = "debug" | "info" | "warn" | "error";

export interface Logger {
  (level: LogLevel, msg: string, fields?: Record<string, unknown>): void;
}

export function createLogger(opts: { quiet?: boolean; base?: Record<string, unknown> } = {}): Logger {
  return (level, msg, fields) => {
    if (opts.quiet && level !== "error") return;
    process.stderr.write(JSON.stringify({ time: new Date().toISOString(), level, msg, ...opts.base, ...fields }) + "\n");
  };
}

export const silentLogger: Logger = () => {};
