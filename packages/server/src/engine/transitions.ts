import type pg from "pg";
import { RUNCAST_SCHEMA } from "../db/schema.ts";
import { FINAL_STATUSES, type RunStatus } from "./run-state.ts";
import { waitpointTriggerSql } from "./waitpoints.ts";

/** What a run may start as. */
export const INITIAL_STATUSES: readonly RunStatus[] = ["WAITING_FOR_DEPLOY", "DELAYED", "QUEUED"];

/** The failures an attempt can end in, executing or waiting. */
const ATTEMPT_ENDS: readonly RunStatus[] = ["FAILED", "REATTEMPTING", "CRASHED", "INTERRUPTED", "SYSTEM_FAILURE", "TIMED_OUT", "CANCELED"];

/**
 * The run lifecycle: every status change a run may make. Nothing else can be written: the database
 * refuses any other change of `runs.status` (a trigger generated from this table at start), so no code
 * path, present or future, can put a run in a state it should not reach. Final statuses have no way out.
 */
export const TRANSITIONS: Readonly<Record<RunStatus, readonly RunStatus[]>> = {
  WAITING_FOR_DEPLOY: ["QUEUED", "CANCELED", "EXPIRED"],
  DELAYED: ["QUEUED", "WAITING_FOR_DEPLOY", "CANCELED"],
  // QUEUED → an attempt's end: a run queued to resume whose worker is gone (its lease expired).
  QUEUED: ["EXECUTING", "WAITING_FOR_DEPLOY", "EXPIRED", ...ATTEMPT_ENDS],
  // EXECUTING → QUEUED: leased to a worker that left before receiving it, given back at once.
  EXECUTING: ["COMPLETED", "FROZEN", "QUEUED", ...ATTEMPT_ENDS],
  // A wait ends back through the queue (waitpoints.ts), never straight to EXECUTING.
  FROZEN: ["QUEUED", ...ATTEMPT_ENDS],
  REATTEMPTING: ["QUEUED", "WAITING_FOR_DEPLOY", "CANCELED"],
  COMPLETED: [],
  CANCELED: [],
  FAILED: [],
  CRASHED: [],
  INTERRUPTED: [],
  SYSTEM_FAILURE: [],
  EXPIRED: [],
  TIMED_OUT: [],
};

export function canTransition(from: RunStatus, to: RunStatus): boolean {
  return TRANSITIONS[from].includes(to);
}

/** SQLSTATE of a refused transition (the API answers it with a 409). */
export const ILLEGAL_TRANSITION = "RX409";

/**
 * Installs the database side of the table (idempotent; runs at every start, under the migration lock):
 * a BEFORE trigger refusing any status change not in TRANSITIONS (and any run inserted in another status
 * than an initial one), stamping `updated_at` and `finished_at`, and an AFTER trigger appending each
 * transition to `run_events`, the run's history, with the attempt and the reason the writer set
 * (`SET LOCAL runcast.transition_reason`).
 */
export async function installTransitionRules(client: pg.ClientBase): Promise<void> {
  const s = RUNCAST_SCHEMA;
  const pairs = Object.entries(TRANSITIONS).flatMap(([from, tos]) => tos.map((to) => `('${from}','${to}')`));
  const initial = INITIAL_STATUSES.map((x) => `'${x}'`).join(",");
  const final = [...FINAL_STATUSES].map((x) => `'${x}'`).join(",");
  await client.query(`
CREATE OR REPLACE FUNCTION ${s}.check_run_transition() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
  IF TG_OP = 'INSERT' THEN
    IF NEW.status NOT IN (${initial}) THEN
      RAISE EXCEPTION 'a run cannot start as %', NEW.status USING ERRCODE = '${ILLEGAL_TRANSITION}';
    END IF;
    RETURN NEW;
  END IF;
  IF NEW.status IS DISTINCT FROM OLD.status THEN
    IF (OLD.status, NEW.status) NOT IN (${pairs.join(",")}) THEN
      RAISE EXCEPTION 'run % cannot go from % to %', OLD.id, OLD.status, NEW.status USING ERRCODE = '${ILLEGAL_TRANSITION}';
    END IF;
    NEW.updated_at := pg_catalog.now() AT TIME ZONE 'UTC';
    IF NEW.status IN (${final}) AND NEW.finished_at IS NULL THEN
      NEW.finished_at := NEW.updated_at;
    END IF;
  END IF;
  RETURN NEW;
END
$fn$;
CREATE OR REPLACE FUNCTION ${s}.record_run_transition() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
  INSERT INTO ${s}.run_events (run_id, env_id, status, previous_status, attempt_number, reason)
  VALUES (NEW.id, NEW.env_id, NEW.status, CASE WHEN TG_OP = 'UPDATE' THEN OLD.status END, NEW.attempt_number,
          nullif(pg_catalog.current_setting('runcast.transition_reason', true), ''));
  RETURN NULL;
END
$fn$;
${waitpointTriggerSql(s)}
`);
  // The triggers call the functions by name: created once, they pick up every later replacement.
  const { rows } = await client.query<{ tgname: string }>(
    `SELECT tgname FROM pg_trigger WHERE tgrelid = '${s}.runs'::regclass AND NOT tgisinternal`,
  );
  const have = new Set(rows.map((r) => r.tgname));
  const triggers: [string, string][] = [
    ["check_transition", `BEFORE INSERT OR UPDATE OF status ON ${s}.runs FOR EACH ROW EXECUTE FUNCTION ${s}.check_run_transition()`],
    ["record_transition_insert", `AFTER INSERT ON ${s}.runs FOR EACH ROW EXECUTE FUNCTION ${s}.record_run_transition()`],
    [
      "waitpoints_on_finish",
      `AFTER UPDATE OF status ON ${s}.runs FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status AND NEW.status IN (${final})) EXECUTE FUNCTION ${s}.complete_waitpoints()`,
    ],
    [
      "record_transition_update",
      `AFTER UPDATE OF status ON ${s}.runs FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status) EXECUTE FUNCTION ${s}.record_run_transition()`,
    ],
  ];
  for (const [name, body] of triggers) if (!have.has(name)) await client.query(`CREATE TRIGGER ${name} ${body}`);
}

/** Tells the transition triggers why this transaction changes statuses (kept in the run's history). */
export async function setTransitionReason(client: pg.ClientBase, reason: string): Promise<void> {
  await client.query("SELECT set_config('runcast.transition_reason', $1, true)", [reason]);
}
