import { BufferReader, PgoutputDecodeError } from "./reader.ts";
import type {
  OldTuple,
  PgoutputMessage,
  RelationMessageColumn,
  ReplicationFrame,
  TupleColumn,
  TupleData,
} from "./messages.ts";

/** PostgreSQL timestamps count microseconds from 2000-01-01 00:00 UTC. */
const PG_EPOCH_MS = Date.UTC(2000, 0, 1);

/** Microseconds since the PostgreSQL epoch → Date (millisecond precision, the best Date holds). */
export function pgTimestampToDate(micros: bigint): Date {
  return new Date(PG_EPOCH_MS + Number(micros / 1000n));
}

export function dateToPgTimestamp(date: Date): bigint {
  return (BigInt(date.getTime()) - BigInt(PG_EPOCH_MS)) * 1000n;
}

/**
 * Decodes one pgoutput (protocol version 1) message: the payload of an XLogData frame.
 * Formats: PostgreSQL docs, "Logical Replication Message Formats"
 * https://www.postgresql.org/docs/current/protocol-logicalrep-message-formats.html
 * Version 1 has no streamed-transaction xid fields and no two-phase messages.
 */
export function decodePgoutput(buf: Buffer): PgoutputMessage {
  const r = new BufferReader(buf);
  const tag = String.fromCharCode(r.readUInt8());
  let message: PgoutputMessage;
  switch (tag) {
    case "B":
      message = { tag: "begin", finalLsn: r.readUInt64(), commitTime: pgTimestampToDate(r.readInt64()), xid: r.readUInt32() };
      break;
    case "C":
      message = {
        tag: "commit",
        flags: r.readUInt8(),
        commitLsn: r.readUInt64(),
        endLsn: r.readUInt64(),
        commitTime: pgTimestampToDate(r.readInt64()),
      };
      break;
    case "O":
      message = { tag: "origin", originLsn: r.readUInt64(), name: r.readString() };
      break;
    case "R":
      message = readRelation(r);
      break;
    case "Y":
      message = { tag: "type", typeOid: r.readUInt32(), namespace: r.readString(), name: r.readString() };
      break;
    case "I": {
      const relationId = r.readUInt32();
      expectByte(r, "N", "insert");
      message = { tag: "insert", relationId, new: readTuple(r) };
      break;
    }
    case "U":
      message = readUpdate(r);
      break;
    case "D": {
      const relationId = r.readUInt32();
      const old = readOldTuple(r, String.fromCharCode(r.readUInt8()), "delete");
      message = { tag: "delete", relationId, old };
      break;
    }
    case "T": {
      const count = r.readUInt32();
      const options = r.readUInt8();
      const relationIds: number[] = [];
      for (let i = 0; i < count; i++) relationIds.push(r.readUInt32());
      message = { tag: "truncate", relationIds, cascade: (options & 1) !== 0, restartIdentity: (options & 2) !== 0 };
      break;
    }
    case "M": {
      const flags = r.readUInt8();
      const lsn = r.readUInt64();
      const prefix = r.readString();
      const content = r.readBytes(r.readUInt32());
      message = { tag: "message", transactional: (flags & 1) !== 0, lsn, prefix, content };
      break;
    }
    default:
      throw new PgoutputDecodeError(`unknown pgoutput message tag ${JSON.stringify(tag)}`);
  }
  r.expectEnd(`a ${message.tag} message`);
  return message;
}

function readRelation(r: BufferReader): PgoutputMessage {
  const relationId = r.readUInt32();
  const namespace = r.readString();
  const name = r.readString();
  const replicaIdentity = String.fromCharCode(r.readUInt8());
  const count = r.readInt16();
  const columns: RelationMessageColumn[] = [];
  for (let i = 0; i < count; i++) {
    const flags = r.readUInt8();
    columns.push({ isKey: (flags & 1) !== 0, name: r.readString(), typeOid: r.readUInt32(), typeMod: r.readInt32() });
  }
  return { tag: "relation", relationId, namespace, name, replicaIdentity, columns };
}

function readUpdate(r: BufferReader): PgoutputMessage {
  const relationId = r.readUInt32();
  let marker = String.fromCharCode(r.readUInt8());
  let old: OldTuple | undefined;
  if (marker === "K" || marker === "O") {
    old = readOldTuple(r, marker, "update");
    marker = String.fromCharCode(r.readUInt8());
  }
  if (marker !== "N") throw new PgoutputDecodeError(`update: expected new tuple marker 'N', got ${JSON.stringify(marker)}`);
  const next = readTuple(r);
  return old ? { tag: "update", relationId, old, new: next } : { tag: "update", relationId, new: next };
}

function readOldTuple(r: BufferReader, marker: string, what: string): OldTuple {
  if (marker === "K") return { kind: "key", tuple: readTuple(r) };
  if (marker === "O") return { kind: "full", tuple: readTuple(r) };
  throw new PgoutputDecodeError(`${what}: expected old tuple marker 'K' or 'O', got ${JSON.stringify(marker)}`);
}

function expectByte(r: BufferReader, expected: string, what: string): void {
  const got = String.fromCharCode(r.readUInt8());
  if (got !== expected) throw new PgoutputDecodeError(`${what}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(got)}`);
}

function readTuple(r: BufferReader): TupleData {
  const count = r.readInt16();
  const columns: TupleColumn[] = [];
  for (let i = 0; i < count; i++) {
    const kind = String.fromCharCode(r.readUInt8());
    if (kind === "n") columns.push({ kind: "null" });
    else if (kind === "u") columns.push({ kind: "unchanged" });
    else if (kind === "t") columns.push({ kind: "text", value: r.readBytes(r.readInt32()).toString("utf8") });
    // 'b' (binary) only appears when the `binary` option is requested, which we never do.
    else throw new PgoutputDecodeError(`unsupported tuple column kind ${JSON.stringify(kind)} in column ${i}`);
  }
  return columns;
}

/**
 * Decodes a CopyData frame the walsender sends during START_REPLICATION: XLogData ('w') or
 * primary keepalive ('k'). https://www.postgresql.org/docs/current/protocol-replication.html
 */
export function decodeReplicationFrame(buf: Buffer): ReplicationFrame {
  const r = new BufferReader(buf);
  const kind = String.fromCharCode(r.readUInt8());
  if (kind === "w") {
    const walStart = r.readUInt64();
    const walEnd = r.readUInt64();
    const sendTime = pgTimestampToDate(r.readInt64());
    return { kind: "xlogdata", walStart, walEnd, sendTime, data: r.readBytes(r.remaining) };
  }
  if (kind === "k") {
    const walEnd = r.readUInt64();
    const sendTime = pgTimestampToDate(r.readInt64());
    const replyRequested = r.readUInt8() === 1;
    r.expectEnd("a keepalive");
    return { kind: "keepalive", walEnd, sendTime, replyRequested };
  }
  throw new PgoutputDecodeError(`unknown replication frame kind ${JSON.stringify(kind)}`);
}

/**
 * Standby status update ('r'). We report one position as written, flushed and applied: for a logical
 * slot the server takes the flush position as `confirmed_flush_lsn`, and the others only feed
 * pg_stat_replication, where claiming more than is durable would mislead.
 */
export function encodeStandbyStatus(lsn: bigint, now: Date, replyRequested = false): Buffer {
  const buf = Buffer.alloc(34);
  buf.write("r", 0, "latin1");
  buf.writeBigUInt64BE(lsn, 1);
  buf.writeBigUInt64BE(lsn, 9);
  buf.writeBigUInt64BE(lsn, 17);
  buf.writeBigInt64BE(dateToPgTimestamp(now), 25);
  buf.writeUInt8(replyRequested ? 1 : 0, 33);
  return buf;
}
