/**
 * pgoutput protocol version 1 messages, as decoded by `decode.ts`, plus the streaming replication
 * CopyData frames that carry them. Field names follow the PostgreSQL documentation:
 * https://www.postgresql.org/docs/current/protocol-logicalrep-message-formats.html
 * https://www.postgresql.org/docs/current/protocol-replication.html
 */

/** One column of a TupleData: SQL NULL, an unchanged TOASTed value (not sent), or its text form. */
export type TupleColumn = { kind: "null" } | { kind: "unchanged" } | { kind: "text"; value: string };

/** Column values in relation column order. */
export type TupleData = TupleColumn[];

/** An old tuple: `key` carries only the replica identity columns (others are null), `full` the whole row. */
export interface OldTuple {
  kind: "key" | "full";
  tuple: TupleData;
}

export interface BeginMessage {
  tag: "begin";
  /** LSN of the commit record; equals the Commit message's `commitLsn`. */
  finalLsn: bigint;
  commitTime: Date;
  xid: number;
}

export interface CommitMessage {
  tag: "commit";
  /** Unused by the server (always 0). */
  flags: number;
  /** LSN where the commit record starts. */
  commitLsn: bigint;
  /** LSN just past the commit record: the position a client confirms to skip this transaction next time. */
  endLsn: bigint;
  commitTime: Date;
}

export interface OriginMessage {
  tag: "origin";
  originLsn: bigint;
  name: string;
}

export interface RelationMessageColumn {
  /** Flag bit 1: part of the replica identity. */
  isKey: boolean;
  name: string;
  typeOid: number;
  typeMod: number;
}

export interface RelationMessage {
  tag: "relation";
  relationId: number;
  /** Schema name; the protocol sends an empty string for pg_catalog. */
  namespace: string;
  name: string;
  /** 'd' default, 'n' nothing, 'f' full, 'i' index. */
  replicaIdentity: string;
  columns: RelationMessageColumn[];
}

export interface TypeMessage {
  tag: "type";
  typeOid: number;
  namespace: string;
  name: string;
}

export interface InsertMessage {
  tag: "insert";
  relationId: number;
  new: TupleData;
}

export interface UpdateMessage {
  tag: "update";
  relationId: number;
  /** Present when the key changed ('K') or the table has REPLICA IDENTITY FULL ('O'). */
  old?: OldTuple;
  new: TupleData;
}

export interface DeleteMessage {
  tag: "delete";
  relationId: number;
  old: OldTuple;
}

export interface TruncateMessage {
  tag: "truncate";
  relationIds: number[];
  cascade: boolean;
  restartIdentity: boolean;
}

/** A logical decoding message (pg_logical_emit_message); only sent when the `messages` option is on. */
export interface LogicalMessage {
  tag: "message";
  transactional: boolean;
  lsn: bigint;
  prefix: string;
  content: Buffer;
}

export type PgoutputMessage =
  | BeginMessage
  | CommitMessage
  | OriginMessage
  | RelationMessage
  | TypeMessage
  | InsertMessage
  | UpdateMessage
  | DeleteMessage
  | TruncateMessage
  | LogicalMessage;

/** 'w': a chunk of the decoded stream; `data` is one pgoutput message. */
export interface XLogDataFrame {
  kind: "xlogdata";
  walStart: bigint;
  walEnd: bigint;
  sendTime: Date;
  data: Buffer;
}

/** 'k': the server's heartbeat; `walEnd` is how far it has sent. */
export interface KeepaliveFrame {
  kind: "keepalive";
  walEnd: bigint;
  sendTime: Date;
  /** The server disconnects after wal_sender_timeout unless we answer this promptly. */
  replyRequested: boolean;
}

export type ReplicationFrame = XLogDataFrame | KeepaliveFrame;
