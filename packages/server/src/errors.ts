/**
 * Every error a client can see. `code` is API: stable snake_case, never renamed.
 * `field` names the offending input when there is one. Messages never carry secrets.
 */
export class RuncastError extends Error {
  readonly status: number;
  readonly code: string;
  readonly field: string | undefined;
  readonly headers: Record<string, string>;

  constructor(status: number, code: string, message: string, opts: { field?: string; headers?: Record<string, string> } = {}) {
    super(message);
    this.name = new.target.name;
    this.status = status;
    this.code = code;
    this.field = opts.field;
    this.headers = opts.headers ?? {};
  }

  toJSON(): { error: { code: string; message: string; field?: string } } {
    return { error: { code: this.code, message: this.message, ...(this.field ? { field: this.field } : {}) } };
  }
}

export const badRequest = (code: string, message: string, field?: string) =>
  new RuncastError(400, code, message, field ? { field } : {});

export const notFound = (code: string, message: string) => new RuncastError(404, code, message);
