import { RuncastError } from "../../errors.ts";

/** A replication message did not have the shape the protocol promises (truncated, unknown tag, trailing bytes). */
export class PgoutputDecodeError extends RuncastError {
  constructor(message: string) {
    super(500, "pgoutput_decode_error", message);
  }
}

/**
 * A forward-only cursor over one message. Every read checks the bounds first, so a truncated or
 * misparsed message fails with the offset and size instead of yielding garbage from Buffer's
 * lenient reads. Integers are big-endian (network order), as in the whole wire protocol.
 */
export class BufferReader {
  #offset = 0;

  constructor(private readonly buf: Buffer) {}

  get offset(): number {
    return this.#offset;
  }

  get remaining(): number {
    return this.buf.length - this.#offset;
  }

  readUInt8(): number {
    const at = this.take(1);
    return this.buf.readUInt8(at);
  }

  readInt16(): number {
    const at = this.take(2);
    return this.buf.readInt16BE(at);
  }

  readInt32(): number {
    const at = this.take(4);
    return this.buf.readInt32BE(at);
  }

  /** Oids and xids are unsigned 32-bit. */
  readUInt32(): number {
    const at = this.take(4);
    return this.buf.readUInt32BE(at);
  }

  /** LSNs and timestamps: 64-bit, kept as bigint because they exceed 2^53. */
  readUInt64(): bigint {
    const at = this.take(8);
    return this.buf.readBigUInt64BE(at);
  }

  readInt64(): bigint {
    const at = this.take(8);
    return this.buf.readBigInt64BE(at);
  }

  /** A NUL-terminated UTF-8 string (the protocol's `String`). */
  readString(): string {
    const end = this.buf.indexOf(0, this.#offset);
    if (end === -1) {
      throw new PgoutputDecodeError(`unterminated string at offset ${this.#offset} of a ${this.buf.length}-byte message`);
    }
    const text = this.buf.toString("utf8", this.#offset, end);
    this.#offset = end + 1;
    return text;
  }

  /** `n` raw bytes; a view on the message buffer, not a copy. */
  readBytes(n: number): Buffer {
    if (!Number.isInteger(n) || n < 0) {
      throw new PgoutputDecodeError(`invalid length ${n} at offset ${this.#offset}`);
    }
    const at = this.take(n);
    return this.buf.subarray(at, at + n);
  }

  /** Fails when bytes are left over: a reader that consumed less than the message misread it. */
  expectEnd(what: string): void {
    if (this.remaining !== 0) {
      throw new PgoutputDecodeError(`${this.remaining} unexpected trailing bytes after ${what}`);
    }
  }

  private take(n: number): number {
    const at = this.#offset;
    if (at + n > this.buf.length) {
      throw new PgoutputDecodeError(`read of ${n} bytes at offset ${at} overruns a ${this.buf.length}-byte message`);
    }
    this.#offset = at + n;
    return at;
  }
}
