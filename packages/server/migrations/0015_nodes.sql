-- The server nodes sharing this database, one row per replication slot (sync/slot-keeper.ts). A live node
-- touches its row every few seconds; a slot that is not streaming and whose row has not been touched for
-- RUNCAST_SLOT_TTL_SECONDS belongs to a node that is gone, and any node drops it, so it never pins WAL for
-- longer than that. Times are the database's clock, so nodes' clocks need not agree.
CREATE TABLE nodes (
  slot        text PRIMARY KEY,
  started_at  timestamptz NOT NULL DEFAULT now(),
  seen_at     timestamptz NOT NULL DEFAULT now()
);
