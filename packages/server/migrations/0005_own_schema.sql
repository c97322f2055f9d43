-- Runcast's tables move out of `public` into their own schema, `runcast_internal` (created by db/migrate.ts before any
-- migration runs), so that the generic shape API never reaches them and user tables may reuse their names.
-- On a database created after this change the earlier files already created everything there.
-- (Not `runcast`: with the default search_path "$user", public, a role named runcast would create its
-- application tables in a schema of that name.)
DO $$
DECLARE
  t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['environments', 'api_keys', 'tasks', 'workers', 'batches', 'runs', 'attempts', 'queues', 'runcast_ddl_events'] LOOP
    IF to_regclass(format('public.%I', t)) IS NOT NULL AND to_regclass(format('runcast_internal.%I', t)) IS NULL THEN
      EXECUTE format('ALTER TABLE public.%I SET SCHEMA runcast_internal', t);
    END IF;
  END LOOP;
  IF to_regprocedure('public.runcast_ddl_event()') IS NOT NULL AND to_regprocedure('runcast_internal.runcast_ddl_event()') IS NULL THEN
    ALTER FUNCTION public.runcast_ddl_event() SET SCHEMA runcast_internal;
  END IF;
END
$$;

-- The schema-change trigger runs in the session of whoever alters a table (any search_path): every name
-- it uses is qualified.
CREATE OR REPLACE FUNCTION runcast_internal.runcast_ddl_event() RETURNS event_trigger LANGUAGE plpgsql AS $$
DECLARE
  r record;
BEGIN
  -- Runcast's own ALTER TABLE … REPLICA IDENTITY FULL (sync/publication.ts) is not a schema change.
  IF current_setting('runcast.internal_ddl', true) = 'on' THEN
    RETURN;
  END IF;
  FOR r IN SELECT objid, command_tag FROM pg_catalog.pg_event_trigger_ddl_commands() WHERE object_type = 'table' LOOP
    INSERT INTO runcast_internal.runcast_ddl_events (objid, command) VALUES (r.objid, r.command_tag);
  END LOOP;
  DELETE FROM runcast_internal.runcast_ddl_events WHERE at < pg_catalog.now() - interval '1 hour';
END
$$;
