import { Hono } from "hono";
import type { AuthEnv } from "../auth/middleware.ts";
import { authorize } from "../auth/principal.ts";
import type { Engine } from "../engine/engine.ts";

/**
 * What an environment has to run its work: registered tasks, connected workers, queues (the dashboard's
 * "Workers and queues", the CLI's views). Secret keys, or tokens that read tasks, workers or queues.
 */
export function environmentRoutes(engine: Engine): Hono<AuthEnv> {
  const app = new Hono<AuthEnv>();

  /** Tasks registered in the environment: which are served by a connected worker, their queues and limits. */
  app.get("/api/v1/tasks", async (c) => {
    const principal = c.get("principal");
    authorize(principal, "read", [{ type: "tasks" }]);
    const { rows } = await engine.pool.query<{ id: string; queue: string; concurrency_limit: number | null; workers: number; updated_at: Date }>(
      `SELECT t.id, t.queue, q.concurrency_limit, t.updated_at,
         count(w.id)::int AS workers
       FROM tasks t
       LEFT JOIN queues q ON q.env_id = t.env_id AND q.name = t.queue
       LEFT JOIN workers w ON w.env_id = t.env_id AND t.id = ANY (w.tasks) AND w.stopped_at IS NULL
         AND w.last_seen_at > (now() AT TIME ZONE 'UTC') - make_interval(secs => $2::float8 / 1000)
       WHERE t.env_id = $1
       GROUP BY t.id, t.queue, q.concurrency_limit, t.updated_at
       ORDER BY t.id`,
      [principal.envId, engine.workerTimeoutMs],
    );
    return c.json({
      data: rows.map((r) => ({
        id: r.id,
        queue: r.queue,
        concurrencyLimit: r.concurrency_limit,
        connected: r.workers > 0,
        workers: r.workers,
        registeredAt: r.updated_at.toISOString(),
      })),
    });
  });

  /** Connected workers (seen within the worker timeout): their tasks, slots, and the runs they execute. */
  app.get("/api/v1/workers", async (c) => {
    const principal = c.get("principal");
    authorize(principal, "read", [{ type: "workers" }]);
    const { rows } = await engine.pool.query<{ id: string; name: string; tasks: string[]; concurrency: number; executing: number; started_at: Date; last_seen_at: Date }>(
      `SELECT w.id, w.name, w.tasks, w.concurrency, w.started_at, w.last_seen_at,
         (SELECT count(*)::int FROM attempts a WHERE a.worker_id = w.id AND a.status = 'EXECUTING') AS executing
       FROM workers w
       WHERE w.env_id = $1 AND w.stopped_at IS NULL AND w.last_seen_at > (now() AT TIME ZONE 'UTC') - make_interval(secs => $2::float8 / 1000)
       ORDER BY w.started_at, w.id`,
      [principal.envId, engine.workerTimeoutMs],
    );
    return c.json({
      data: rows.map((w) => ({
        id: w.id,
        name: w.name,
        tasks: w.tasks,
        concurrency: w.concurrency,
        executing: w.executing,
        freeSlots: Math.max(0, w.concurrency - w.executing),
        startedAt: w.started_at.toISOString(),
        lastSeenAt: w.last_seen_at.toISOString(),
      })),
    });
  });

  /** Queues of the environment's tasks: their concurrency limit and depth (queued and executing runs). */
  app.get("/api/v1/queues", async (c) => {
    const principal = c.get("principal");
    authorize(principal, "read", [{ type: "queues" }]);
    const { rows } = await engine.pool.query<{ name: string; concurrency_limit: number | null; queued: number; executing: number }>(
      `WITH names AS (
         SELECT queue AS name FROM tasks WHERE env_id = $1
         UNION SELECT name FROM queues WHERE env_id = $1
       )
       SELECT n.name, q.concurrency_limit,
         (SELECT count(*)::int FROM runs r WHERE r.env_id = $1 AND r.queue = n.name AND r.status = 'QUEUED') AS queued,
         (SELECT count(*)::int FROM runs r WHERE r.env_id = $1 AND r.queue = n.name AND r.status = 'EXECUTING') AS executing
       FROM names n LEFT JOIN queues q ON q.env_id = $1 AND q.name = n.name
       ORDER BY n.name`,
      [principal.envId],
    );
    return c.json({ data: rows.map((q) => ({ name: q.name, concurrencyLimit: q.concurrency_limit, queued: q.queued, executing: q.executing })) });
  });

  return app;
}
