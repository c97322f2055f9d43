-- A run's history: one row per status it took (written by the transition trigger, engine/transitions.ts),
-- for its timeline. Deleted with the run.
CREATE TABLE run_events (
  id               bigserial PRIMARY KEY,
  run_id           text NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  env_id           text NOT NULL,
  status           text NOT NULL,
  previous_status  text,
  attempt_number   integer NOT NULL,
  at               timestamp(3) NOT NULL DEFAULT (now() AT TIME ZONE 'UTC'),
  reason           text
);
CREATE INDEX run_events_run ON run_events (run_id, id);
