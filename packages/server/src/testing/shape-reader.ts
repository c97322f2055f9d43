/**
 * A plain long-poll reader of the shape protocol for tests: follows a shape from offset -1, applies every
 * message to its rows and records what a correct stream must never show (a duplicate insert, an update or
 * delete of a row it does not hold, a column going backwards). Restarts from scratch on 409 like a client.
 */
export interface ShapeReaderOptions {
  /** Shape URL including its definition (`…/v1/shape?table=t&where=…`). */
  url: string;
  token: string;
  /** A column whose value must only grow across updates (checked when given). */
  monotonic?: string;
  /** A column that must grow by exactly one per update (no change may be skipped). */
  increments?: string;
  /** Live requests are SSE instead of long-polls. */
  sse?: boolean;
}

type Row = Record<string, string | null>;
interface Message {
  key?: string;
  value?: Row;
  headers: { operation?: "insert" | "update" | "delete"; control?: string };
}

export class ShapeReader {
  readonly rows = new Map<string, Row>();
  readonly violations: string[] = [];
  refetches = 0;
  upToDate = false;
  messages = 0;
  #controller = new AbortController();
  #loop: Promise<void> | undefined;
  #error: unknown;
  readonly #opts: ShapeReaderOptions;

  constructor(opts: ShapeReaderOptions) {
    this.#opts = opts;
  }

  start(): this {
    this.#loop = this.#run().catch((err: unknown) => {
      if (!this.#controller.signal.aborted) this.#error = err;
    });
    return this;
  }

  /** Throws what made the reader stop, if anything. */
  check(): void {
    if (this.#error) throw this.#error;
  }

  async stop(): Promise<void> {
    this.#controller.abort();
    await this.#loop;
  }

  /** Rows keyed by the given column, with one column's value. */
  snapshot(keyColumn: string, column: string): Map<string, string | null> {
    const out = new Map<string, string | null>();
    for (const row of this.rows.values()) out.set(String(row[keyColumn]), row[column] ?? null);
    return out;
  }

  async #run(): Promise<void> {
    let offset = "-1";
    let handle: string | undefined;
    let cursor: string | undefined;
    let live = false;
    const signal = this.#controller.signal;
    while (!signal.aborted) {
      const url = new URL(this.#opts.url);
      url.searchParams.set("offset", offset);
      if (handle) url.searchParams.set("handle", handle);
      if (live) {
        url.searchParams.set("live", "true");
        if (cursor) url.searchParams.set("cursor", cursor);
        if (this.#opts.sse) url.searchParams.set("live_sse", "true");
      }
      const res = await fetch(url, { headers: { authorization: `Bearer ${this.#opts.token}` }, signal });
      if (res.status === 409) {
        await res.body?.cancel();
        handle = res.headers.get("electric-handle") ?? undefined;
        offset = "-1";
        live = false;
        cursor = undefined;
        this.rows.clear();
        this.upToDate = false;
        this.refetches++;
        continue;
      }
      if (res.status !== 200) throw new Error(`shape request failed: ${res.status} ${await res.text()}`);
      handle = res.headers.get("electric-handle") ?? handle;
      cursor = res.headers.get("electric-cursor") ?? cursor;
      if (res.headers.get("content-type")?.startsWith("text/event-stream")) {
        offset = await this.#readSse(res, offset);
        continue;
      }
      offset = res.headers.get("electric-offset") ?? offset;
      const batch = (await res.json()) as Message[];
      for (const m of batch) if (this.#apply(m)) live = true;
    }
  }

  /** Reads an SSE response to its end; returns the offset to continue from. */
  async #readSse(res: Response, offset: string): Promise<string> {
    let buffer = "";
    let next = offset;
    const decoder = new TextDecoder();
    for await (const part of res.body as unknown as AsyncIterable<Uint8Array>) {
      buffer += decoder.decode(part, { stream: true });
      let end: number;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        const event = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        if (!event.startsWith("data: ")) continue;
        const m = JSON.parse(event.slice(6)) as Message & { headers: { global_last_seen_lsn?: string } };
        // The stream ends here; the next request, from the same offset, gets the 409.
        if (m.headers.control === "must-refetch") return next;
        this.#apply(m);
        if (m.headers.control === "up-to-date" && m.headers.global_last_seen_lsn) next = `${m.headers.global_last_seen_lsn}_0`;
      }
    }
    return next;
  }

  /** Applies one message; true when it is up-to-date. */
  #apply(m: Message): boolean {
    if (m.headers.control === "up-to-date") {
      this.upToDate = true;
      return true;
    }
    if (m.headers.control) return false;
    const key = m.key as string;
    const had = this.rows.get(key);
    this.messages++;
    switch (m.headers.operation) {
      case "insert":
        if (had) this.violations.push(`duplicate insert of ${key}`);
        this.rows.set(key, { ...(m.value ?? {}) });
        break;
      case "update": {
        if (!had) {
          this.violations.push(`update of ${key}, which the reader does not hold`);
          break;
        }
        const col = this.#opts.monotonic;
        if (col && m.value && col in m.value && had[col] !== undefined && Number(m.value[col]) <= Number(had[col])) {
          this.violations.push(`${key}.${col} went from ${had[col]} to ${m.value[col]}`);
        }
        const inc = this.#opts.increments;
        if (inc && m.value && inc in m.value && Number(m.value[inc]) !== Number(had[inc]) + 1) {
          this.violations.push(`${key}.${inc} went from ${had[inc]} to ${m.value[inc]}: a change was skipped`);
        }
        this.rows.set(key, { ...had, ...(m.value ?? {}) });
        break;
      }
      case "delete":
        if (!had) this.violations.push(`delete of ${key}, which the reader does not hold`);
        this.rows.delete(key);
        break;
    }
    return false;
  }
}
