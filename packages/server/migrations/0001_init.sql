-- Runcast schema, first version. Timestamps are `timestamp(3)` holding UTC (written with
-- now() AT TIME ZONE 'UTC'), so their text form carries no zone, as realtime clients expect.

CREATE TABLE environments (
  id          text PRIMARY KEY,
  slug        text NOT NULL UNIQUE,
  created_at  timestamp(3) NOT NULL DEFAULT (now() AT TIME ZONE 'UTC')
);

CREATE TABLE api_keys (
  secret_key  text PRIMARY KEY,
  env_id      text NOT NULL REFERENCES environments (id),
  created_at  timestamp(3) NOT NULL DEFAULT (now() AT TIME ZONE 'UTC'),
  revoked_at  timestamp(3)
);

-- Task ids that workers have registered in an environment (kept after they disconnect).
CREATE TABLE tasks (
  env_id        text NOT NULL REFERENCES environments (id),
  id            text NOT NULL,
  queue         text NOT NULL,
  config        jsonb NOT NULL DEFAULT '{}',
  updated_at    timestamp(3) NOT NULL DEFAULT (now() AT TIME ZONE 'UTC'),
  PRIMARY KEY (env_id, id)
);

CREATE TABLE workers (
  id            text PRIMARY KEY,
  env_id        text NOT NULL REFERENCES environments (id),
  name          text NOT NULL,
  tasks         text[] NOT NULL,
  concurrency   integer NOT NULL,
  started_at    timestamp(3) NOT NULL DEFAULT (now() AT TIME ZONE 'UTC'),
  last_seen_at  timestamp(3) NOT NULL DEFAULT (now() AT TIME ZONE 'UTC'),
  stopped_at    timestamp(3)
);

CREATE TABLE batches (
  id               text PRIMARY KEY,
  env_id           text NOT NULL REFERENCES environments (id),
  status           text NOT NULL DEFAULT 'PENDING',
  run_count        integer NOT NULL,
  idempotency_key  text,
  created_at       timestamp(3) NOT NULL DEFAULT (now() AT TIME ZONE 'UTC'),
  updated_at       timestamp(3) NOT NULL DEFAULT (now() AT TIME ZONE 'UTC'),
  completed_at     timestamp(3)
);
CREATE UNIQUE INDEX batches_idempotency ON batches (env_id, idempotency_key) WHERE idempotency_key IS NOT NULL;

-- One row per run holding every field of the realtime run object: a run feed is a
-- single-table shape and every observable change is one row change.
CREATE TABLE runs (
  id                          text PRIMARY KEY,
  env_id                      text NOT NULL REFERENCES environments (id),
  task_identifier             text NOT NULL,
  status                      text NOT NULL,
  number                      integer NOT NULL DEFAULT 0,
  payload                     jsonb,
  payload_type                text NOT NULL DEFAULT 'application/json',
  output                      jsonb,
  output_type                 text NOT NULL DEFAULT 'application/json',
  metadata                    jsonb,
  error                       jsonb,
  tags                        text[] NOT NULL DEFAULT '{}',
  idempotency_key             text,
  idempotency_key_expires_at  timestamp(3),
  batch_id                    text REFERENCES batches (id),
  parent_run_id               text,
  root_run_id                 text,
  depth                       integer NOT NULL DEFAULT 0,
  trigger_function            text NOT NULL DEFAULT 'trigger',
  queue                       text NOT NULL,
  concurrency_key             text,
  priority                    integer NOT NULL DEFAULT 0,
  is_test                     boolean NOT NULL DEFAULT false,
  ttl                         text,
  max_attempts                integer,
  max_duration                integer,
  attempt_number              integer NOT NULL DEFAULT 0,
  duration_ms                 integer NOT NULL DEFAULT 0,
  cost_in_cents               double precision NOT NULL DEFAULT 0,
  base_cost_in_cents          double precision NOT NULL DEFAULT 0,
  created_at                  timestamp(3) NOT NULL DEFAULT (now() AT TIME ZONE 'UTC'),
  updated_at                  timestamp(3) NOT NULL DEFAULT (now() AT TIME ZONE 'UTC'),
  queued_at                   timestamp(3),
  started_at                  timestamp(3),
  finished_at                 timestamp(3),
  delayed_until               timestamp(3),
  expired_at                  timestamp(3),
  -- Engine bookkeeping: when a DELAYED or REATTEMPTING run becomes QUEUED, and when a waiting run's ttl runs out.
  available_at                timestamp(3),
  ttl_expires_at              timestamp(3)
);
-- Updates must carry the old row so the sync engine sees rows leave a shape's where clause.
ALTER TABLE runs REPLICA IDENTITY FULL;

CREATE UNIQUE INDEX runs_idempotency ON runs (env_id, task_identifier, idempotency_key) WHERE idempotency_key IS NOT NULL;
-- Matches the dequeue statement's predicate (engine/dequeue.ts).
CREATE INDEX runs_queued ON runs (env_id, priority DESC, queued_at, id) WHERE status = 'QUEUED';
CREATE INDEX runs_available ON runs (available_at) WHERE status IN ('DELAYED', 'REATTEMPTING');
CREATE INDEX runs_ttl ON runs (ttl_expires_at) WHERE ttl_expires_at IS NOT NULL AND status IN ('QUEUED', 'WAITING_FOR_DEPLOY');
CREATE INDEX runs_env_created ON runs (env_id, created_at DESC);
CREATE INDEX runs_tags ON runs USING gin (tags);
CREATE INDEX runs_batch ON runs (batch_id) WHERE batch_id IS NOT NULL;

-- One row per execution attempt; the lease lives here so heartbeats do not touch the replicated runs row.
CREATE TABLE attempts (
  id                text PRIMARY KEY,
  run_id            text NOT NULL REFERENCES runs (id),
  number            integer NOT NULL,
  worker_id         text NOT NULL,
  status            text NOT NULL DEFAULT 'EXECUTING',
  lease_expires_at  timestamp(3) NOT NULL,
  started_at        timestamp(3) NOT NULL DEFAULT (now() AT TIME ZONE 'UTC'),
  finished_at       timestamp(3),
  error             jsonb,
  UNIQUE (run_id, number)
);
CREATE INDEX attempts_lease ON attempts (lease_expires_at) WHERE status = 'EXECUTING';
CREATE INDEX attempts_worker ON attempts (worker_id) WHERE status = 'EXECUTING';
