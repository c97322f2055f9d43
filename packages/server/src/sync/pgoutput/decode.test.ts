import { test } from "node:test";
import assert from "node:assert/strict";
import { decodePgoutput, decodeReplicationFrame, encodeStandbyStatus, pgTimestampToDate } from "./decode.ts";
import { BufferReader, PgoutputDecodeError } from "./reader.ts";

/** Builds a message byte by byte, the way the server lays it out (big-endian). */
class Bytes {
  private parts: Buffer[] = [];
  char(c: string): this {
    return this.u8(c.charCodeAt(0));
  }
  u8(n: number): this {
    this.parts.push(Buffer.from([n]));
    return this;
  }
  i16(n: number): this {
    const b = Buffer.alloc(2);
    b.writeInt16BE(n);
    this.parts.push(b);
    return this;
  }
  i32(n: number): this {
    const b = Buffer.alloc(4);
    b.writeInt32BE(n);
    this.parts.push(b);
    return this;
  }
  u32(n: number): this {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(n);
    this.parts.push(b);
    return this;
  }
  u64(n: bigint): this {
    const b = Buffer.alloc(8);
    b.writeBigUInt64BE(n);
    this.parts.push(b);
    return this;
  }
  str(s: string): this {
    this.parts.push(Buffer.from(s, "utf8"), Buffer.from([0]));
    return this;
  }
  raw(b: Buffer): this {
    this.parts.push(b);
    return this;
  }
  /** TupleData: null → 'n', undefined → 'u' (unchanged TOAST), string → 't'. */
  tuple(values: (string | null | undefined)[]): this {
    this.i16(values.length);
    for (const v of values) {
      if (v === null) this.char("n");
      else if (v === undefined) this.char("u");
      else {
        const text = Buffer.from(v, "utf8");
        this.char("t").i32(text.length).raw(text);
      }
    }
    return this;
  }
  build(): Buffer {
    return Buffer.concat(this.parts);
  }
}

// 2026-01-01T10:00:00.123Z in microseconds since 2000-01-01.
const TIME = new Date("2026-01-01T10:00:00.123Z");
const TIME_US = BigInt(TIME.getTime() - Date.UTC(2000, 0, 1)) * 1000n + 456n;
const LSN = 0x16_b374d848n;

test("Begin: final LSN, commit time (µs since 2000) and xid", () => {
  const msg = decodePgoutput(new Bytes().char("B").u64(LSN).u64(TIME_US).u32(0xfffffff0).build());
  assert.deepEqual(msg, { tag: "begin", finalLsn: LSN, commitTime: TIME, xid: 0xfffffff0 });
});

test("Commit: flags, commit and end LSNs, time", () => {
  const msg = decodePgoutput(new Bytes().char("C").u8(0).u64(LSN).u64(LSN + 48n).u64(TIME_US).build());
  assert.deepEqual(msg, { tag: "commit", flags: 0, commitLsn: LSN, endLsn: LSN + 48n, commitTime: TIME });
});

test("Origin", () => {
  const msg = decodePgoutput(new Bytes().char("O").u64(LSN).str("node_a").build());
  assert.deepEqual(msg, { tag: "origin", originLsn: LSN, name: "node_a" });
});

test("Relation: namespace, identity and key flag per column", () => {
  const buf = new Bytes()
    .char("R").u32(16384).str("public").str("items").char("f").i16(2)
    .u8(1).str("id").u32(23).i32(-1)
    .u8(0).str("name").u32(1043).i32(68)
    .build();
  assert.deepEqual(decodePgoutput(buf), {
    tag: "relation",
    relationId: 16384,
    namespace: "public",
    name: "items",
    replicaIdentity: "f",
    columns: [
      { isKey: true, name: "id", typeOid: 23, typeMod: -1 },
      { isKey: false, name: "name", typeOid: 1043, typeMod: 68 },
    ],
  });
});

test("Type", () => {
  const msg = decodePgoutput(new Bytes().char("Y").u32(70000).str("public").str("mood").build());
  assert.deepEqual(msg, { tag: "type", typeOid: 70000, namespace: "public", name: "mood" });
});

test("Insert: text (UTF-8), null and unchanged-TOAST columns", () => {
  const buf = new Bytes().char("I").u32(16384).char("N").tuple(["1", null, "héllo ✓", undefined, ""]).build();
  assert.deepEqual(decodePgoutput(buf), {
    tag: "insert",
    relationId: 16384,
    new: [
      { kind: "text", value: "1" },
      { kind: "null" },
      { kind: "text", value: "héllo ✓" },
      { kind: "unchanged" },
      { kind: "text", value: "" },
    ],
  });
});

test("Update without old tuple, with key ('K') and with full ('O') old tuple", () => {
  const plain = decodePgoutput(new Bytes().char("U").u32(7).char("N").tuple(["1", undefined]).build());
  assert.deepEqual(plain, { tag: "update", relationId: 7, new: [{ kind: "text", value: "1" }, { kind: "unchanged" }] });
  assert.equal("old" in plain, false);

  const key = decodePgoutput(new Bytes().char("U").u32(7).char("K").tuple(["1", null]).char("N").tuple(["2", "x"]).build());
  assert.deepEqual(key, {
    tag: "update",
    relationId: 7,
    old: { kind: "key", tuple: [{ kind: "text", value: "1" }, { kind: "null" }] },
    new: [{ kind: "text", value: "2" }, { kind: "text", value: "x" }],
  });

  const full = decodePgoutput(new Bytes().char("U").u32(7).char("O").tuple(["1", "big"]).char("N").tuple(["1", undefined]).build());
  assert.deepEqual(full, {
    tag: "update",
    relationId: 7,
    old: { kind: "full", tuple: [{ kind: "text", value: "1" }, { kind: "text", value: "big" }] },
    new: [{ kind: "text", value: "1" }, { kind: "unchanged" }],
  });
});

test("Delete with key and with full old tuple", () => {
  assert.deepEqual(decodePgoutput(new Bytes().char("D").u32(7).char("K").tuple(["1", null]).build()), {
    tag: "delete",
    relationId: 7,
    old: { kind: "key", tuple: [{ kind: "text", value: "1" }, { kind: "null" }] },
  });
  assert.deepEqual(decodePgoutput(new Bytes().char("D").u32(7).char("O").tuple(["1", "a"]).build()), {
    tag: "delete",
    relationId: 7,
    old: { kind: "full", tuple: [{ kind: "text", value: "1" }, { kind: "text", value: "a" }] },
  });
});

test("Truncate: relation ids and the cascade / restart identity bits", () => {
  const buf = new Bytes().char("T").u32(2).u8(3).u32(7).u32(8).build();
  assert.deepEqual(decodePgoutput(buf), { tag: "truncate", relationIds: [7, 8], cascade: true, restartIdentity: true });
  const none = decodePgoutput(new Bytes().char("T").u32(1).u8(0).u32(7).build());
  assert.deepEqual(none, { tag: "truncate", relationIds: [7], cascade: false, restartIdentity: false });
});

test("Message (logical decoding message)", () => {
  const content = Buffer.from([0, 1, 2, 255]);
  const msg = decodePgoutput(new Bytes().char("M").u8(1).u64(LSN).str("runcast").u32(4).raw(content).build());
  assert.deepEqual(msg, { tag: "message", transactional: true, lsn: LSN, prefix: "runcast", content });
});

test("truncated, unknown and over-long messages fail with a decode error", () => {
  const begin = new Bytes().char("B").u64(LSN).u64(TIME_US).u32(1).build();
  assert.throws(() => decodePgoutput(begin.subarray(0, begin.length - 1)), PgoutputDecodeError);
  assert.throws(() => decodePgoutput(Buffer.concat([begin, Buffer.from([0])])), /trailing bytes/);
  assert.throws(() => decodePgoutput(Buffer.from("Z")), /unknown pgoutput message tag "Z"/);
  assert.throws(() => decodePgoutput(Buffer.alloc(0)), /overruns a 0-byte message/);
  // A text column claiming more bytes than the message holds.
  const lying = new Bytes().char("I").u32(1).char("N").i16(1).char("t").i32(100).raw(Buffer.from("abc")).build();
  assert.throws(() => decodePgoutput(lying), /read of 100 bytes at offset \d+ overruns/);
  assert.throws(() => decodePgoutput(new Bytes().char("I").u32(1).char("N").i16(1).char("b").build()), /unsupported tuple column kind "b"/);
  assert.throws(() => decodePgoutput(new Bytes().char("D").u32(1).char("N").tuple([]).build()), /expected old tuple marker/);
});

test("BufferReader: strings need their terminator, lengths must be sane", () => {
  const r = new BufferReader(Buffer.from("ab\0cd", "latin1"));
  assert.equal(r.readString(), "ab");
  assert.equal(r.offset, 3);
  assert.throws(() => r.readString(), /unterminated string at offset 3/);
  assert.throws(() => r.readBytes(-1), /invalid length -1/);
  assert.deepEqual(r.readBytes(2), Buffer.from("cd"));
  assert.equal(r.remaining, 0);
  assert.throws(() => r.readUInt8(), PgoutputDecodeError);
  const big = new BufferReader(Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]));
  assert.equal(big.readUInt64(), 0xffffffffffffffffn);
});

test("replication frames: XLogData carries a message, keepalive may request a reply", () => {
  const inner = new Bytes().char("T").u32(1).u8(0).u32(7).build();
  const w = decodeReplicationFrame(new Bytes().char("w").u64(LSN).u64(LSN + 10n).u64(TIME_US).raw(inner).build());
  assert.deepEqual(w, { kind: "xlogdata", walStart: LSN, walEnd: LSN + 10n, sendTime: TIME, data: inner });
  const k = decodeReplicationFrame(new Bytes().char("k").u64(LSN).u64(TIME_US).u8(1).build());
  assert.deepEqual(k, { kind: "keepalive", walEnd: LSN, sendTime: TIME, replyRequested: true });
  assert.throws(() => decodeReplicationFrame(Buffer.from("k")), PgoutputDecodeError);
  assert.throws(() => decodeReplicationFrame(Buffer.from("x")), /unknown replication frame kind/);
});

test("standby status update: one position reported as written, flushed and applied", () => {
  const buf = encodeStandbyStatus(LSN, TIME);
  assert.equal(buf.length, 34);
  assert.equal(String.fromCharCode(buf[0] ?? 0), "r");
  assert.equal(buf.readBigUInt64BE(1), LSN);
  assert.equal(buf.readBigUInt64BE(9), LSN);
  assert.equal(buf.readBigUInt64BE(17), LSN);
  assert.deepEqual(pgTimestampToDate(buf.readBigInt64BE(25)), TIME);
  assert.equal(buf[33], 0);
});
