-- Request idempotency (trigger-wire §2.1): the official SDK sends x-trigger-request-idempotency-key, the same on
-- every retry of one call; a retry after a lost answer gets the run the first attempt made. Kept a day.
CREATE TABLE request_keys (
  key_hash    text PRIMARY KEY,
  env_id      text NOT NULL REFERENCES environments (id),
  run_id      text NOT NULL,
  created_at  timestamp(3) NOT NULL DEFAULT (now() AT TIME ZONE 'UTC')
);
CREATE INDEX request_keys_age ON request_keys (created_at);
