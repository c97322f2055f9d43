-- Retention deletes finished runs by age (engine/scheduler.ts).
CREATE INDEX runs_finished ON runs (finished_at) WHERE finished_at IS NOT NULL;
