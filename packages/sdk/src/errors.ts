/** An error answer from the Runcast server: HTTP status plus the server's stable `code`. */
export class RuncastApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly field: string | undefined;

  constructor(status: number, code: string, message: string, field?: string) {
    super(message);
    this.name = new.target.name;
    this.status = status;
    this.code = code;
    this.field = field;
  }

  /** Builds the error from a non-2xx response, reading the `{ error: { code, message } }` body. */
  static async fromResponse(res: Response): Promise<RuncastApiError> {
    let code = `http_${res.status}`;
    let message = `${res.status} ${res.statusText}`;
    let field: string | undefined;
    try {
      const body = (await res.json()) as { error?: { code?: string; message?: string; field?: string } | string };
      if (typeof body.error === "string") message = body.error;
      else if (body.error) {
        code = body.error.code ?? code;
        message = body.error.message ?? message;
        field = body.error.field;
      }
    } catch {
      // Not JSON: keep the status line.
    }
    const Cls = res.status === 429 ? RuncastRateLimitError : RuncastApiError;
    return new Cls(res.status, code, message, field);
  }
}

/** 429: a limit was reached (e.g. concurrent realtime subscriptions); the message names it. */
export class RuncastRateLimitError extends RuncastApiError {}
