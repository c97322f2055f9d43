-- Named queues with an optional concurrency limit (per-task queues are named `task/<id>`).
CREATE TABLE queues (
  env_id             text NOT NULL REFERENCES environments (id),
  name               text NOT NULL,
  concurrency_limit  integer CHECK (concurrency_limit IS NULL OR concurrency_limit > 0),
  updated_at         timestamp(3) NOT NULL DEFAULT (now() AT TIME ZONE 'UTC'),
  PRIMARY KEY (env_id, name)
);

-- Counting the runs a queue is executing, for its limit (engine/dequeue.ts).
CREATE INDEX runs_executing_queue ON runs (env_id, queue) WHERE status = 'EXECUTING';
