-- The complete Realtime API (realtime/run-feeds.ts, engine/batch-stream.ts). Tag feeds use the GIN index
-- runs_tags of 0001.

-- Two-phase batches (the official SDK's /api/v3/batches): opened with their size, filled by index; each
-- index makes one run once (a re-sent stream is deduplicated), the batch is sealed when all have arrived.
ALTER TABLE batches ADD COLUMN streamed boolean NOT NULL DEFAULT false;
CREATE TABLE batch_items (
  batch_id    text NOT NULL REFERENCES batches (id) ON DELETE CASCADE,
  item_index  integer NOT NULL,
  run_id      text NOT NULL,
  PRIMARY KEY (batch_id, item_index)
);

-- Payloads of 128 KiB and more arrive as packets first (PUT to a URL Runcast signs), then the trigger names
-- the packet (`application/store`). Kept in PostgreSQL: no other store to run.
CREATE TABLE packets (
  env_id      text NOT NULL REFERENCES environments (id),
  path        text NOT NULL,
  data        bytea,
  data_type   text,
  created_at  timestamp(3) NOT NULL DEFAULT (now() AT TIME ZONE 'UTC'),
  PRIMARY KEY (env_id, path)
);
