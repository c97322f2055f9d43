-- Schema changes, recorded by an event trigger (installed at start when the role may: it needs
-- superuser) so the sync engine sees an ALTER TABLE in the replication stream the moment it commits,
-- not only at the table's next write. The trigger prunes rows older than an hour.
CREATE TABLE runcast_ddl_events (
  id       bigserial PRIMARY KEY,
  objid    oid NOT NULL,
  command  text NOT NULL,
  at       timestamptz NOT NULL DEFAULT now()
);

CREATE FUNCTION runcast_ddl_event() RETURNS event_trigger LANGUAGE plpgsql AS $$
DECLARE
  r record;
BEGIN
  -- Runcast's own ALTER TABLE … REPLICA IDENTITY FULL (sync/publication.ts) is not a schema change.
  IF current_setting('runcast.internal_ddl', true) = 'on' THEN
    RETURN;
  END IF;
  FOR r IN SELECT objid, command_tag FROM pg_event_trigger_ddl_commands() WHERE object_type = 'table' LOOP
    INSERT INTO runcast_ddl_events (objid, command) VALUES (r.objid, r.command_tag);
  END LOOP;
  DELETE FROM runcast_ddl_events WHERE at < now() - interval '1 hour';
END
$$;
