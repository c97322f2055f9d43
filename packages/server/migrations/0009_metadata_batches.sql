-- Metadata flushes already applied, by the id the SDK gives each flush (a retry after a lost response
-- applies nothing twice). Kept an hour (engine/scheduler.ts), deleted with the run.
CREATE TABLE metadata_batches (
  run_id    text NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  batch_id  text NOT NULL,
  at        timestamp(3) NOT NULL DEFAULT (now() AT TIME ZONE 'UTC'),
  PRIMARY KEY (run_id, batch_id)
);
CREATE INDEX metadata_batches_at ON metadata_batches (at);
