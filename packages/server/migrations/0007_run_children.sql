-- Children of a run (cancel cascades to every descendant; the dashboard lists them).
CREATE INDEX runs_parent ON runs (parent_run_id) WHERE parent_run_id IS NOT NULL;
