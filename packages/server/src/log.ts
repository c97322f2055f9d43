import { pino, stdTimeFunctions, type DestinationStream } from "pino";
import pretty from "pino-pretty";
import { Writable } from "node:stream";

/**
 * Structured logs on stderr through pino: one JSON object per line (`level`, `time`, `msg`, then the fields),
 * or readable coloured lines when stderr is a terminal. Never pass secrets in messages or fields; as a second
 * line of defence, secret keys, public tokens and database passwords are blanked out of both before writing.
 */
export type LogLevel = "debug" | "info" | "warn" | "error";
export const LOG_LEVELS: readonly LogLevel[] = ["debug", "info", "warn", "error"];

export type LogFormat = "json" | "pretty";

export interface Logger {
  (level: LogLevel, msg: string, fields?: Record<string, unknown>): void;
  /** Whether a line at `level` is written: callers skip building costly fields for lines that are not. */
  enabled?(level: LogLevel): boolean;
}

/** LOG_LEVEL: debug, info, warn or error (any case); unset or empty means `fallback`. Anything else is refused. */
export function parseLogLevel(value: string | undefined, fallback: LogLevel = "info"): LogLevel {
  if (value === undefined || value.trim() === "") return fallback;
  const level = value.trim().toLowerCase();
  if ((LOG_LEVELS as readonly string[]).includes(level)) return level as LogLevel;
  throw new Error(`LOG_LEVEL must be one of ${LOG_LEVELS.join(", ")}, got ${JSON.stringify(value)}`);
}

/** LOG_FORMAT: json or pretty; unset means pretty on a terminal and JSON otherwise (files, pipes, log collectors). */
export function parseLogFormat(value: string | undefined, terminal: boolean): LogFormat {
  if (value === undefined || value.trim() === "") return terminal ? "pretty" : "json";
  const format = value.trim().toLowerCase();
  if (format === "json" || format === "pretty") return format;
  throw new Error(`LOG_FORMAT must be json or pretty, got ${JSON.stringify(value)}`);
}

/** The logger settings of a command, from its environment: a bad LOG_LEVEL or LOG_FORMAT stops it before it starts anything. */
export function loggerOptionsFromEnv(env: NodeJS.ProcessEnv = process.env, fallbackLevel: LogLevel = "info"): { level: LogLevel; format: LogFormat } {
  return { level: parseLogLevel(env.LOG_LEVEL, fallbackLevel), format: parseLogFormat(env.LOG_FORMAT, process.stderr.isTTY === true) };
}

/**
 * What a secret looks like, whatever field or message it slipped into: a secret key (`tr_dev_…`), a JWT (public
 * access tokens are JWTs), the password of a connection URL (`postgres://user:password@…`).
 */
const SECRETS: [RegExp, string][] = [
  [/\b(tr_[a-z]+_)[A-Za-z0-9]{4,}/g, "$1[redacted]"],
  [/\beyJ[\w-]*\.[\w-]+\.[\w-]*/g, "[redacted token]"],
  [/(\b[a-z][a-z0-9+.-]*:\/\/[^\s:/@]+:)[^\s@/]+@/gi, "$1[redacted]@"],
];

export function redactSecrets(text: string): string {
  let out = text;
  for (const [pattern, replacement] of SECRETS) out = out.replace(pattern, replacement);
  return out;
}

/** Field names whose values are never written, whatever they hold. */
const SECRET_FIELDS = new Set(["authorization", "secretkey", "token", "accesstoken", "publicaccesstoken", "password", "databaseurl", "serverkey", "cookie"]);

function redactValue(value: unknown, depth: number): unknown {
  if (typeof value === "string") return redactSecrets(value);
  if (depth > 3 || value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) return value.map((v) => redactValue(v, depth + 1));
  if (value instanceof Error) return redactSecrets(value.stack ?? value.message);
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = SECRET_FIELDS.has(k.toLowerCase()) ? "[redacted]" : redactValue(v, depth + 1);
  return out;
}

export interface LoggerOptions {
  level?: LogLevel;
  format?: LogFormat;
  /** Fields on every line. */
  base?: Record<string, unknown>;
  /** Where lines go: stderr (fd 2) unless a stream is given (tests). */
  destination?: DestinationStream;
  /**
   * Each line, formatted, goes here instead of stderr: a terminal's live view prints it above itself, so the
   * lines do not land inside the part it redraws (`runcast dev`).
   */
  lines?: (line: string) => void;
}

/** A stream that hands each whole line written to it to `take`, without its newline. */
function lineSink(take: (line: string) => void): Writable {
  return new Writable({
    write(chunk: Buffer | string, _encoding, done) {
      for (const line of String(chunk).split("\n")) if (line) take(line);
      done();
    },
  });
}

export function createLogger(opts: LoggerOptions = {}): Logger {
  const format = opts.format ?? (process.stderr.isTTY ? "pretty" : "json");
  // Synchronous writes, as process.stderr does for files and pipes: the last lines before an exit are not lost.
  const sink = opts.lines ? lineSink(opts.lines) : undefined;
  const destination =
    opts.destination ??
    (format === "pretty"
      ? pretty({ destination: sink ?? 2, sync: true, colorize: true, translateTime: "SYS:HH:MM:ss.l", ignore: "pid,hostname" })
      : (sink ?? pino.destination({ dest: 2, sync: true })));
  const logger = pino(
    {
      level: opts.level ?? "info",
      base: opts.base ? (redactValue(opts.base, 0) as Record<string, unknown>) : null,
      timestamp: stdTimeFunctions.isoTime,
      // JSON lines carry the level's name (`"level":"warn"`), so they are filtered without a table of numbers;
      // the pretty printer reads pino's numbers.
      ...(format === "json" ? { formatters: { level: (label: string) => ({ level: label }) } } : {}),
    },
    destination,
  );
  const log: Logger = (level, msg, fields) => {
    if (!logger.isLevelEnabled(level)) return;
    if (fields) logger[level](redactValue(fields, 0) as Record<string, unknown>, redactSecrets(msg));
    else logger[level](redactSecrets(msg));
  };
  log.enabled = (level) => logger.isLevelEnabled(level);
  return log;
}

export const silentLogger: Logger = () => {};
silentLogger.enabled = () => false;
