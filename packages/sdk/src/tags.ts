import { apiRequest } from "./http.ts";
import { requireRun } from "./run-context.ts";

/**
 * Run tags (Trigger.dev's `tags` API, specs/trigger-wire.md §2.7). Tags set at trigger time come from
 * `options.tags`; inside a task `tags.add` adds more to the running run.
 */
export const tags = {
  /**
   * Adds tags to the run this code executes in (`POST /api/v1/runs/:id/tags`): duplicates are skipped,
   * each tag is 1 to 128 characters, a run holds at most 10. Throws outside a task, and throws the
   * server's error (e.g. 422 `too_many_tags`) instead of swallowing it. Resolves with the server's message.
   */
  async add(tags: string | string[]): Promise<string> {
    const run = requireRun("tags.add");
    const { body } = await apiRequest<{ message: string }>(`/api/v1/runs/${encodeURIComponent(run.runId)}/tags`, {
      method: "POST",
      body: { tags, attemptId: run.attemptId },
      ...(run.config ? { config: run.config } : {}),
    });
    return body.message;
  },
};
