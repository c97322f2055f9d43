import net from "node:net";
import { now } from "./clock.ts";

/** A response as the generators see it. */
export interface Answer {
  status: number;
  /** Lower-case names. */
  headers: Record<string, string>;
  body: Buffer;
  /** Bench clock when the last byte of the body had arrived. */
  end: number;
}

const CRLF2 = Buffer.from("\r\n\r\n");

/** What a streamed response (SSE) delivers after its head: body bytes as they arrive (de-chunked), then its end. */
export interface StreamHandlers {
  onData(data: Buffer): void;
  /** The body ended (err undefined: the server ended it cleanly and the connection stays usable) or the connection closed. */
  onEnd(err?: Error): void;
}

/**
 * A minimal HTTP/1.1 client over one keep-alive connection, one request at a time: it writes a
 * pre-formatted GET and parses the response itself (status line, headers, a content-length or chunked
 * body). It costs the load generator a fraction of what node:http's client does (no parser object,
 * IncomingMessage stream or agent per response), so thousands of responses can be timed without the
 * client becoming what is measured. The response is timed as soon as its last byte is parsed.
 */
export class RawHttpConnection {
  #socket: net.Socket | undefined;
  #buf: Buffer | undefined;
  #pending: { resolve(a: Answer): void; reject(e: Error): void } | undefined;
  #head: { status: number; headers: Record<string, string>; bodyStart: number; length: number; chunked: boolean } | undefined;
  /** Handlers of the request in flight when it may turn into a stream (see `stream`). */
  #streamHandlers: StreamHandlers | undefined;
  /** The streamed body being read: its handlers and the chunked decoder's state. */
  #stream: { handlers: StreamHandlers; chunks: Dechunker } | undefined;
  /** Connections opened so far (1 unless the server closed one). */
  opened = 0;

  constructor(
    private readonly host: string,
    private readonly port: number,
  ) {}

  /** Sends `GET path`; `written` fires once the request was handed to the kernel. */
  get(path: string, headers: Record<string, string>, written?: () => void): Promise<Answer> {
    if (this.#pending) return Promise.reject(new Error("a request is already in flight on this connection"));
    const socket = this.#socket ?? this.#connect();
    let head = `GET ${path} HTTP/1.1\r\nHost: ${this.host}:${this.port}\r\n`;
    for (const [k, v] of Object.entries(headers)) head += `${k}: ${v}\r\n`;
    head += "\r\n";
    return new Promise<Answer>((resolve, reject) => {
      this.#pending = { resolve, reject };
      socket.write(head, "latin1", written ? () => written() : undefined);
    });
  }

  /**
   * Sends `GET path` for a streamed response (SSE): resolves with the head (and an empty body) as soon as it is
   * in when the response is a 200 without a content-length; its body then goes to `handlers` as it arrives.
   * Any other response (an error, a JSON body) is read whole and resolved as with `get`, and the handlers are
   * not called.
   */
  stream(path: string, headers: Record<string, string>, handlers: StreamHandlers): Promise<Answer> {
    if (this.#stream) return Promise.reject(new Error("a stream is open on this connection"));
    this.#streamHandlers = handlers;
    return this.get(path, headers).finally(() => {
      if (!this.#stream) this.#streamHandlers = undefined;
    });
  }

  /** True while a streamed body is being read. */
  get streaming(): boolean {
    return this.#stream !== undefined;
  }

  /**
   * Closes the connection. A request or stream in flight on it fails (a stream's `onEnd` is called at once, with
   * an error); the next request opens a new connection.
   */
  destroy(): void {
    const socket = this.#socket;
    this.#socket = undefined;
    socket?.destroy();
    this.#buf = undefined;
    this.#head = undefined;
    const p = this.#pending;
    this.#pending = undefined;
    const s = this.#stream;
    this.#stream = undefined;
    this.#streamHandlers = undefined;
    p?.reject(new Error("the connection was closed by the client"));
    s?.handlers.onEnd(new Error("the connection was closed by the client"));
  }

  #connect(): net.Socket {
    const socket = net.connect({ host: this.host, port: this.port, noDelay: true });
    this.opened++;
    this.#socket = socket;
    this.#buf = undefined;
    this.#head = undefined;
    socket.on("data", (chunk: Buffer) => {
      if (this.#socket === socket) this.#onData(chunk);
    });
    const gone = (err?: Error) => {
      // A connection this client closed itself (destroy) has nothing in flight any more.
      if (this.#socket !== socket) return;
      this.#socket = undefined;
      const p = this.#pending;
      this.#pending = undefined;
      p?.reject(err ?? new Error("the server closed the connection"));
      const s = this.#stream;
      this.#stream = undefined;
      this.#streamHandlers = undefined;
      s?.handlers.onEnd(err ?? new Error("the connection closed during the stream"));
    };
    socket.on("error", gone);
    socket.on("close", () => gone());
    return socket;
  }

  #onData(chunk: Buffer): void {
    if (this.#stream) {
      this.#onStreamData(chunk);
      return;
    }
    const buf = this.#buf ? Buffer.concat([this.#buf, chunk]) : chunk;
    this.#buf = buf;
    if (!this.#head) {
      const i = buf.indexOf(CRLF2);
      if (i < 0) return;
      const lines = buf.toString("latin1", 0, i).split("\r\n");
      const status = Number((lines[0] ?? "").slice(9, 12));
      const headers: Record<string, string> = {};
      for (let l = 1; l < lines.length; l++) {
        const line = lines[l] as string;
        const c = line.indexOf(":");
        if (c > 0) headers[line.slice(0, c).toLowerCase()] = line.slice(c + 1).trim();
      }
      const chunked = /chunked/i.test(headers["transfer-encoding"] ?? "");
      this.#head = { status, headers, bodyStart: i + 4, length: chunked ? -1 : Number(headers["content-length"] ?? 0), chunked };
    }
    const head = this.#head;
    const handlers = this.#streamHandlers;
    if (handlers && head.status === 200 && (head.chunked || head.headers["content-length"] === undefined)) {
      // A stream: the head is the answer; the body is handed on as it arrives.
      const end = now();
      const rest = buf.length > head.bodyStart ? buf.subarray(head.bodyStart) : undefined;
      this.#buf = undefined;
      this.#head = undefined;
      this.#streamHandlers = undefined;
      this.#stream = { handlers, chunks: new Dechunker(head.chunked) };
      const p = this.#pending;
      this.#pending = undefined;
      p?.resolve({ status: head.status, headers: head.headers, body: Buffer.alloc(0), end });
      if (rest) this.#onStreamData(rest);
      return;
    }
    let body: Buffer;
    let used: number;
    if (head.chunked) {
      const parsed = dechunk(buf, head.bodyStart);
      if (!parsed) return;
      [body, used] = parsed;
    } else {
      if (buf.length < head.bodyStart + head.length) return;
      body = buf.subarray(head.bodyStart, head.bodyStart + head.length);
      used = head.bodyStart + head.length;
    }
    const end = now();
    this.#buf = used < buf.length ? buf.subarray(used) : undefined;
    this.#head = undefined;
    const p = this.#pending;
    this.#pending = undefined;
    if (/close/i.test(head.headers.connection ?? "")) this.destroy();
    p?.resolve({ status: head.status, headers: head.headers, body, end });
  }

  #onStreamData(chunk: Buffer): void {
    const s = this.#stream;
    if (!s) return;
    let rest: Buffer | undefined;
    try {
      rest = s.chunks.push(chunk, (data) => s.handlers.onData(data));
    } catch (err) {
      this.#stream = undefined;
      this.destroy();
      s.handlers.onEnd(err as Error);
      return;
    }
    if (rest === undefined) return;
    // The last chunk: the response is over and the connection can carry the next request.
    this.#stream = undefined;
    this.#buf = rest.length ? rest : undefined;
    s.handlers.onEnd();
  }
}

/**
 * Incremental decoder of a chunked body (or a body that lasts until the connection closes): hands on the data
 * of each chunk as it arrives; `push` returns what follows the body once the last chunk is in.
 */
class Dechunker {
  /** Bytes of the current chunk's data still to come; -1 while reading a size line; -2 while reading the CRLF after data. */
  #left = -1;
  #line = "";
  /** After the zero-size chunk: reading the final empty line. */
  #last = false;

  constructor(private readonly chunked: boolean) {}

  push(buf: Buffer, onData: (data: Buffer) => void): Buffer | undefined {
    if (!this.chunked) {
      onData(buf);
      return undefined;
    }
    let at = 0;
    while (at < buf.length) {
      if (this.#left > 0) {
        const take = Math.min(this.#left, buf.length - at);
        onData(buf.subarray(at, at + take));
        at += take;
        this.#left -= take;
        if (this.#left === 0) this.#left = -2;
        continue;
      }
      const eol = buf.indexOf(10, at);
      if (eol < 0) {
        this.#line += buf.toString("latin1", at);
        return undefined;
      }
      const line = (this.#line + buf.toString("latin1", at, eol)).replace(/\r$/, "");
      this.#line = "";
      at = eol + 1;
      if (this.#left === -2) {
        if (line !== "") throw new Error("malformed chunked body (no CRLF after a chunk)");
        this.#left = -1;
        continue;
      }
      if (this.#last) {
        // Trailers are not expected: the empty line ends the body.
        if (line === "") return buf.subarray(at);
        continue;
      }
      const size = parseInt(line, 16);
      if (!Number.isFinite(size)) throw new Error("malformed chunked body");
      if (size === 0) this.#last = true;
      else this.#left = size;
    }
    return undefined;
  }
}

/** Decodes a complete chunked body starting at `from`; undefined until the last chunk is in. */
function dechunk(buf: Buffer, from: number): [Buffer, number] | undefined {
  const parts: Buffer[] = [];
  let at = from;
  for (;;) {
    const eol = buf.indexOf("\r\n", at, "latin1");
    if (eol < 0) return undefined;
    const size = parseInt(buf.toString("latin1", at, eol), 16);
    if (!Number.isFinite(size)) throw new Error("malformed chunked body");
    const start = eol + 2;
    if (size === 0) {
      // No trailers expected: the body ends with an empty line.
      const fin = buf.indexOf("\r\n", start, "latin1");
      if (fin < 0) return undefined;
      return [parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts), fin + 2];
    }
    if (buf.length < start + size + 2) return undefined;
    parts.push(buf.subarray(start, start + size));
    at = start + size + 2;
  }
}
