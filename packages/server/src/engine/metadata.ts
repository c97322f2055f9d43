import type pg from "pg";
import { withTransaction } from "../db/transaction.ts";
import { RuncastError, notFound } from "../errors.ts";
import { applyOperations, type Metadata, type MetadataOperation, type MetadataUpdate } from "./metadata-ops.ts";
import { NOW } from "./sql.ts";
import { MAX_METADATA_BYTES } from "./trigger-options.ts";

/** A run's metadata stays writable this long after it finished (Trigger.dev's rule, trigger-wire §2.6). */
export const WRITABLE_AFTER_FINISH = "1 hour";

const runNotFound = (runId: string) => notFound("run_not_found", `no run with id ${JSON.stringify(runId)} in this environment: check the id, and that the key or token is of the run's environment (dev and prod are separate)`);

const asObject = (v: unknown): Metadata => (typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Metadata) : {});

export async function getMetadata(pool: pg.Pool, envId: string, runId: string): Promise<Metadata> {
  const { rows } = await pool.query<{ metadata: unknown }>("SELECT metadata FROM runs WHERE id = $1 AND env_id = $2", [runId, envId]);
  if (!rows[0]) throw runNotFound(runId);
  return asObject(rows[0].metadata);
}

interface Target {
  metadata: Metadata;
  changed: boolean;
  /** The request field whose operations were applied last: named by a size error. */
  field: string;
}

/**
 * Writes from inside a run are fenced by its attempt: an attempt that lost its lease (the run went on with
 * another attempt, or it was given up as lost) writes nothing (409). The run's latest attempt may still
 * write after the run finished (its final flush, also when canceled), within the writable hour.
 */
export async function checkAttempt(client: pg.ClientBase, runId: string, attemptId: string): Promise<void> {
  const { rows } = await client.query<{ latest: boolean; status: string }>(
    `SELECT a.number = r.attempt_number AS latest, a.status FROM attempts a JOIN runs r ON r.id = a.run_id
     WHERE a.id = $1 AND a.run_id = $2`,
    [attemptId, runId],
  );
  const a = rows[0];
  if (!a || !a.latest || a.status === "LOST") {
    throw new RuncastError(409, "lease_lost", `attempt ${attemptId} no longer holds run ${runId}: its writes are refused`);
  }
}

/**
 * Applies an update atomically and returns the run's new metadata. The rows involved (the run, and
 * its parent and root when parentOperations / rootOperations target them) are locked `FOR UPDATE` in
 * id order, so concurrent updates serialize (increments sum exactly) and never deadlock.
 *
 * - `metadata` replaces the run's object first, then `operations` apply to the run;
 * - `parentOperations` apply to the parent run, or to the run itself when it has none;
 * - `rootOperations` apply to the root run (root_run_id, else parent_run_id), or to the run itself;
 * - only the run itself must be unfinished or finished less than an hour ago (422 `run_finished`);
 * - any changed object over MAX_METADATA_BYTES fails the whole request with 413, nothing written.
 * Every written row gets a new updated_at, which realtime subscribers see.
 */
export async function updateMetadata(pool: pg.Pool, envId: string, runId: string, update: MetadataUpdate): Promise<Metadata> {
  return withTransaction(pool, async (client) => {
    // parent_run_id and root_run_id never change, so reading them before the lock is safe.
    const self = await client.query<{ parent_run_id: string | null; root_run_id: string | null }>(
      "SELECT parent_run_id, root_run_id FROM runs WHERE id = $1 AND env_id = $2",
      [runId, envId],
    );
    const links = self.rows[0];
    if (!links) throw runNotFound(runId);
    const parentId = update.parentOperations.length ? (links.parent_run_id ?? runId) : runId;
    const rootId = update.rootOperations.length ? (links.root_run_id ?? links.parent_run_id ?? runId) : runId;

    const locked = await client.query<{ id: string; metadata: unknown; finished_at: Date | null; writable: boolean }>(
      `SELECT id, metadata, finished_at,
         (finished_at IS NULL OR finished_at > ${NOW} - interval '${WRITABLE_AFTER_FINISH}') AS writable
       FROM runs WHERE id = ANY ($1::text[]) AND env_id = $2 ORDER BY id FOR UPDATE`,
      [[...new Set([runId, parentId, rootId])], envId],
    );
    const byId = new Map(locked.rows.map((r) => [r.id, r]));
    const own = byId.get(runId);
    if (!own) throw runNotFound(runId);
    if (update.attemptId !== undefined) await checkAttempt(client, runId, update.attemptId);
    if (update.batchId !== undefined) {
      const fresh = await client.query("INSERT INTO metadata_batches (run_id, batch_id) VALUES ($1, $2) ON CONFLICT DO NOTHING", [runId, update.batchId]);
      // Applied already (a retry whose first try's answer was lost): nothing more, the current metadata back.
      if (!fresh.rowCount) return asObject(own.metadata);
    }
    if (!own.writable) {
      throw new RuncastError(
        422,
        "run_finished",
        `run ${runId} finished at ${own.finished_at?.toISOString()}, more than ${WRITABLE_AFTER_FINISH} ago; its metadata can no longer change`,
      );
    }

    const targets = new Map<string, Target>();
    const target = (id: string): Target => {
      // A parent or root row that is gone (runs are not deleted today) falls back to the run itself.
      const key = byId.has(id) ? id : runId;
      let t = targets.get(key);
      if (!t) targets.set(key, (t = { metadata: asObject(byId.get(key)?.metadata), changed: false, field: "operations" }));
      return t;
    };
    const apply = (id: string, ops: MetadataOperation[], field: string) => {
      if (!ops.length) return;
      const t = target(id);
      t.metadata = applyOperations(t.metadata, ops);
      t.changed = true;
      t.field = field;
    };
    if (update.metadata) apply(runId, [{ type: "update", value: update.metadata }], "metadata");
    apply(runId, update.operations, "operations");
    apply(parentId, update.parentOperations, "parentOperations");
    apply(rootId, update.rootOperations, "rootOperations");

    const writes: [string, string][] = [];
    for (const [id, t] of targets) {
      if (!t.changed) continue;
      const text = JSON.stringify(t.metadata);
      const size = Buffer.byteLength(text);
      if (size > MAX_METADATA_BYTES) {
        throw new RuncastError(
          413,
          "metadata_too_large",
          `the metadata of run ${id} would be ${size} bytes; the limit is ${MAX_METADATA_BYTES} bytes`,
          { field: t.field },
        );
      }
      writes.push([id, text]);
    }
    for (const [id, text] of writes) {
      await client.query(`UPDATE runs SET metadata = $2::jsonb, updated_at = ${NOW} WHERE id = $1`, [id, text]);
    }
    return target(runId).metadata;
  });
}
