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

  destroy(): void {
    this.#socket?.destroy();
    this.#socket = undefined;
  }

  #connect(): net.Socket {
    const socket = net.connect({ host: this.host, port: this.port, noDelay: true });
    this.opened++;
    this.#socket = socket;
    this.#buf = undefined;
    this.#head = undefined;
    socket.on("data", (chunk: Buffer) => this.#onData(chunk));
    const gone = (err?: Error) => {
      if (this.#socket === socket) this.#socket = undefined;
      const p = this.#pending;
      this.#pending = undefined;
      p?.reject(err ?? new Error("the server closed the connection"));
    };
    socket.on("error", gone);
    socket.on("close", () => gone());
    return socket;
  }

  #onData(chunk: Buffer): void {
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
