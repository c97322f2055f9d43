import { Hono, type Context } from "hono";
import type { AuthEnv } from "../auth/middleware.ts";
import { requireSecret } from "../auth/principal.ts";
import type { Engine } from "../engine/engine.ts";
import type { FailureKind } from "../engine/run-state.ts";
import { parseWaitSpec } from "../engine/waitpoints.ts";
import { parseRegistration } from "../engine/workers.ts";
import { badRequest } from "../errors.ts";
import { readJson } from "./json-body.ts";
import { linkedSignal } from "../abort.ts";

/** Longest a dequeue request is held while there is no run for the worker. */
const MAX_DEQUEUE_WAIT_MS = 20_000;
const FAILURE_KINDS: readonly FailureKind[] = ["error", "interrupted", "timed_out", "crashed", "system"];

/**
 * The worker protocol: register, dequeue (held until runs are queued), heartbeat, complete, fail.
 * Workers authenticate with the environment's secret key and talk only HTTP.
 */
export function workerRoutes(engine: Engine, shutdown: AbortSignal): Hono<AuthEnv> {
  const app = new Hono<AuthEnv>();

  /**
   * Runs a held request: how long it may wait (the body's `waitMs`, capped) and what ends it early (the client
   * leaving, the node shutting down); once it is answered it is unhooked from the node's shutdown signal.
   */
  const held = async <T>(req: Request, body: Record<string, unknown>, fn: (waitMs: number, signal: AbortSignal) => Promise<T>): Promise<T> => {
    const { signal, dispose } = linkedSignal(req.signal, shutdown);
    try {
      return await fn(typeof body.waitMs === "number" ? Math.min(Math.max(body.waitMs, 0), MAX_DEQUEUE_WAIT_MS) : MAX_DEQUEUE_WAIT_MS, signal);
    } finally {
      dispose();
    }
  };

  app.post("/api/v1/workers", async (c) => {
    const principal = c.get("principal");
    requireSecret(principal);
    const reg = parseRegistration(await readJson(c));
    return c.json(await engine.registerWorker(principal.envId, reg), 201);
  });

  app.post("/api/v1/workers/:workerId/dequeue", async (c) => {
    const principal = c.get("principal");
    requireSecret(principal);
    const body = await readJson(c);
    const max = typeof body.maxRuns === "number" && Number.isInteger(body.maxRuns) ? Math.min(Math.max(body.maxRuns, 0), 100) : 1;
    const runs = await held(c.req.raw, body, (waitMs, signal) => engine.dequeue(principal.envId, c.req.param("workerId"), max, waitMs, signal));
    return c.json({ runs });
  });

  app.post("/api/v1/workers/:workerId/events", async (c) => {
    const principal = c.get("principal");
    requireSecret(principal);
    const body = await readJson(c);
    const runIds = Array.isArray(body.runIds) ? body.runIds.filter((x): x is string => typeof x === "string").slice(0, 1000) : [];
    const lost = await held(c.req.raw, body, (waitMs, signal) => engine.lostRuns(principal.envId, c.req.param("workerId"), runIds, waitMs, signal));
    return c.json({ lost });
  });

  app.post("/api/v1/workers/:workerId/stop", async (c) => {
    const principal = c.get("principal");
    requireSecret(principal);
    await engine.stopWorker(principal.envId, c.req.param("workerId"));
    return c.json({ ok: true });
  });

  const attemptRef = async (c: Context<AuthEnv>, body: Record<string, unknown>) => {
    if (typeof body.workerId !== "string") throw badRequest("missing_worker_id", "workerId is required", "workerId");
    return { envId: c.get("principal").envId, runId: c.req.param("runId") ?? "", attemptId: c.req.param("attemptId") ?? "", workerId: body.workerId };
  };

  app.post("/api/v1/runs/:runId/attempts/:attemptId/heartbeat", async (c) => {
    requireSecret(c.get("principal"));
    await engine.heartbeat(await attemptRef(c, await readJson(c)));
    return c.json({ ok: true });
  });

  /** The run waits on a waitpoint: `{ waiting: true }` (FROZEN) or `{ waiting: false }` (already there). */
  app.post("/api/v1/runs/:runId/attempts/:attemptId/wait", async (c) => {
    requireSecret(c.get("principal"));
    const body = await readJson(c);
    const spec = parseWaitSpec(body.waitpoint, new Date());
    return c.json({ waiting: await engine.wait(await attemptRef(c, body), spec) });
  });

  app.post("/api/v1/runs/:runId/attempts/:attemptId/complete", async (c) => {
    requireSecret(c.get("principal"));
    const body = await readJson(c);
    const outputType = typeof body.outputType === "string" ? body.outputType : "application/json";
    await engine.complete(await attemptRef(c, body), body.output, outputType);
    return c.json({ ok: true });
  });

  app.post("/api/v1/runs/:runId/attempts/:attemptId/fail", async (c) => {
    requireSecret(c.get("principal"));
    const body = await readJson(c);
    const err = (typeof body.error === "object" && body.error !== null ? body.error : {}) as Record<string, unknown>;
    const kind = (FAILURE_KINDS as readonly unknown[]).includes(body.kind) ? (body.kind as FailureKind) : "error";
    const status = await engine.fail(
      await attemptRef(c, body),
      {
        name: typeof err.name === "string" ? err.name : "Error",
        message: typeof err.message === "string" ? err.message : String(err.message ?? "unknown error"),
        ...(typeof err.stack === "string" ? { stack: err.stack } : {}),
      },
      kind,
    );
    return c.json({ status });
  });

  return app;
}
