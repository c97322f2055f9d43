import { RuncastApiError } from "@runcast/sdk";

/**
 * Exit codes of every `runcast` command (documented in the README and in `runcast --help`). Scripts branch
 * on them, so they are API: never renumbered.
 */
export const EXIT = {
  /** The command did what it was asked; with --watch, the run COMPLETED. */
  ok: 0,
  /** The operation failed: the server refused it (unknown run, …), or a watched run ended other than COMPLETED. */
  failed: 1,
  /** Usage: an unknown command or option, a missing argument, a flag value that does not parse. */
  usage: 2,
  /** The server could not be reached (not running, wrong --api-url). */
  unreachable: 3,
  /** No secret key was found, or the server refused it (401/403). */
  auth: 4,
  /** Ctrl-C while waiting for a run that had not finished. */
  interrupted: 130,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** A failure the CLI reports as one message, with a stable code and the exit code it maps to. */
export class CliError extends Error {
  readonly exitCode: ExitCode;
  readonly code: string;

  constructor(exitCode: ExitCode, code: string, message: string) {
    super(message);
    this.name = new.target.name;
    this.exitCode = exitCode;
    this.code = code;
  }
}

export const usageError = (code: string, message: string) => new CliError(EXIT.usage, code, message);

/** Network error codes that mean "nothing answered at that address" (as opposed to a bad answer). */
const UNREACHABLE = new Set(["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "ECONNRESET", "EHOSTUNREACH", "ENETUNREACH", "ETIMEDOUT", "UND_ERR_CONNECT_TIMEOUT", "UND_ERR_SOCKET"]);

function networkCode(err: unknown): string | undefined {
  for (let e: unknown = err, depth = 0; e && depth < 4; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string" && UNREACHABLE.has(code)) return code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

/**
 * Any error a command ends with, as the CliError it is reported as: the server's own code and message for its
 * answers, a hint for what to do when it cannot be reached or refuses the key.
 */
export function toCliError(err: unknown, apiUrl: string | undefined): CliError {
  if (err instanceof CliError) return err;
  if (err instanceof RuncastApiError) {
    const field = err.field ? ` (${err.field})` : "";
    if (err.status === 401 || err.status === 403) {
      return new CliError(EXIT.auth, err.code, `${err.message}${field}: check RUNCAST_SECRET_KEY or --secret-key (a key of the environment you mean, not revoked)`);
    }
    if (err.status === 400 || err.status === 413) return new CliError(EXIT.usage, err.code, `${err.message}${field}`);
    return new CliError(EXIT.failed, err.code, `${err.message}${field}`);
  }
  const net = networkCode(err);
  if (net) {
    return new CliError(
      EXIT.unreachable,
      "server_unreachable",
      `cannot reach the Runcast server at ${apiUrl ?? "its URL"} (${net}): is it running? Start one with \`runcast dev\`, or point --api-url / RUNCAST_API_URL at it`,
    );
  }
  return new CliError(EXIT.failed, "failed", err instanceof Error ? err.message : String(err));
}
