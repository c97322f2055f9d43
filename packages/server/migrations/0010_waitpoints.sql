-- Waits live in the database (engine/waitpoints.ts): a FROZEN run waits on a waitpoint (a time, a child run or
-- a batch) that the engine completes; the run then goes back through its queue to the worker that holds its
-- attempt. Execution time is counted apart from waiting time.
CREATE TABLE waitpoints (
  id            text PRIMARY KEY,
  run_id        text NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  attempt_id    text NOT NULL,
  kind          text NOT NULL CHECK (kind IN ('duration', 'run', 'batch')),
  resume_at     timestamp(3),
  child_run_id  text,
  batch_id      text,
  status        text NOT NULL DEFAULT 'WAITING' CHECK (status IN ('WAITING', 'COMPLETED', 'CANCELED')),
  created_at    timestamp(3) NOT NULL DEFAULT (now() AT TIME ZONE 'UTC'),
  completed_at  timestamp(3)
);
CREATE INDEX waitpoints_due ON waitpoints (resume_at) WHERE status = 'WAITING' AND kind = 'duration';
CREATE INDEX waitpoints_child ON waitpoints (child_run_id) WHERE status = 'WAITING';
CREATE INDEX waitpoints_batch ON waitpoints (batch_id) WHERE status = 'WAITING';
CREATE INDEX waitpoints_run ON waitpoints (run_id) WHERE status = 'WAITING';

-- Time an attempt spent executing (not waiting): what maxDuration, durationMs and cost count.
ALTER TABLE attempts ADD COLUMN executed_ms bigint NOT NULL DEFAULT 0;
ALTER TABLE attempts ADD COLUMN executing_since timestamp(3);
UPDATE attempts SET executing_since = started_at WHERE status = 'EXECUTING';
