-- Security (auth/keys.ts, auth/server-key.ts). Secret keys are kept sealed under the server key, found by a hash
-- and shown by a prefix: the database alone never yields a usable key. The rows of the old `api_keys` table
-- (keys in clear) are moved here, sealed, by the code step that follows this file (migration 12, `sealOldKeys` in auth/keys.ts), which
-- then drops that table.
CREATE TABLE secret_keys (
  id          text PRIMARY KEY,
  env_id      text NOT NULL REFERENCES environments (id),
  name        text,
  -- `tr_dev_AbCd`: enough to recognise a key in a list, far too little to use it.
  prefix      text NOT NULL,
  -- sha256 of the key, hex: how the key of a request is found.
  key_hash    text NOT NULL UNIQUE,
  -- The key under the server key (AES-256-GCM, bound to the row's id).
  sealed      text NOT NULL,
  created_at  timestamp(3) NOT NULL DEFAULT (now() AT TIME ZONE 'UTC'),
  revoked_at  timestamp(3)
);
CREATE INDEX secret_keys_active ON secret_keys (env_id, created_at DESC) WHERE revoked_at IS NULL;

-- Node-wide settings; `server_key_fingerprint` names the server key the keys are sealed with.
CREATE TABLE settings (
  name   text PRIMARY KEY,
  value  text NOT NULL
);

-- Environments are isolated from each other (runs, feeds, tokens, limits); keys are tr_<slug>_….
INSERT INTO environments (id, slug) VALUES ('env_dev', 'dev'), ('env_prod', 'prod') ON CONFLICT DO NOTHING;

-- One-time public tokens (otu) already used, by sha256 of the token; kept until the token expires.
CREATE TABLE used_tokens (
  token_hash  text PRIMARY KEY,
  env_id      text NOT NULL REFERENCES environments (id),
  expires_at  timestamp(3) NOT NULL
);
CREATE INDEX used_tokens_expiry ON used_tokens (expires_at);

-- The public token (sha256) a run or batch was triggered with: a later trigger with the same idempotency key
-- gets a read token for it only when it comes with that token or may read it anyway.
ALTER TABLE runs ADD COLUMN trigger_token_hash text;
ALTER TABLE batches ADD COLUMN trigger_token_hash text;
