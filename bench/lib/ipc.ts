/** Messages between the bench orchestrator and its generator / floor-server children (JSON over IPC). */

export interface HttpSample {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/**
 * A generator holds one group of subscribers per server under test (e.g. "runcast" and "floor"), so both
 * are measured by the same processes, round after round.
 */
export type ToGenerator =
  | { t: "clock"; seq: number }
  | {
      t: "open";
      group: string;
      /** Add the subscribers to the group's existing ones (else the group starts afresh). */
      add?: boolean;
      /** http://127.0.0.1:port */
      url: string;
      /**
       * What each subscriber reads, as a path with its fixed query (`/v1/shape?table=bench_items`,
       * `/realtime/v1/runs/<id>`): one for all, or one per subscriber (`count` of them).
       */
      paths: string | string[];
      /** long-poll: `live=true` requests, each held until a change; sse: one `live=true&live_sse=true` event stream each. */
      transport: "long-poll" | "sse";
      authorization: string | undefined;
      count: number;
      /** Snapshot requests in flight at once while opening. */
      concurrency: number;
      /**
       * immediate: a subscriber sends its next live request as soon as its response ends (what clients do);
       * deferred: only when told to (`rearm`), so a round measures delivery alone.
       */
      reissue: "immediate" | "deferred";
      /** raw: the bench's minimal HTTP/1.1 client (lib/raw-http.ts); node-http: node:http with a keep-alive agent. */
      client: "raw" | "node-http";
    }
  /**
   * Between rounds. Long-poll, deferred mode: send every subscriber's next live request now. SSE: re-open the
   * streams open for longer than `refreshAfterMs` (the server ends a stream after a while; re-opened between
   * rounds, none ends during one), and wait until they are open again.
   */
  | { t: "rearm"; group: string; refreshAfterMs: number }
  /** A round starts: from now on, the change a subscriber gets counts for it (until the round's report). */
  | { t: "arm"; group: string }
  /** Send the round's timestamps now, even if some subscribers have not had their response. */
  | { t: "flush"; group: string }
  | { t: "close"; group: string };

export type FromGenerator =
  | { t: "ready" }
  | { t: "clock"; seq: number; at: number }
  | { t: "opened"; group: string; count: number; ms: number; snapshot: HttpSample | undefined; errors: number }
  | {
      t: "round";
      group: string;
      /** Per subscriber, generator clock: when the body of its first data response this round was fully received (null: none). */
      ends: (number | null)[];
      bodyBytes: number;
      /** Responses that carried no change (long-poll timeouts). */
      empty: number;
      /** Sockets opened since the last round (keep-alive reuse means 0 in a steady state). */
      newSockets: number;
      /** SSE: streams the server ended since the last report, re-opened by their subscribers at once. */
      reconnects: number;
      /** Changes subscribers got between rounds, when no update was committed (should be 0). */
      outside: number;
      errors: number;
      /**
       * The first data response of the round: long-poll, the response; SSE, the stream's response head and as
       * body the events of the round (the change, then up-to-date), as they came.
       */
      sample: HttpSample | undefined;
    }
  /** `count` live requests re-issued (long-poll) or `refreshed` streams re-opened (SSE). */
  | { t: "rearmed"; group: string; count: number; refreshed: number }
  | { t: "armed"; group: string }
  | { t: "warn"; message: string }
  | { t: "closed"; group: string };

export type ToFloor =
  /**
   * The canned answers: `live` for a held long-poll, `sse` for an event stream (its head, and as body the events
   * written to every stream at a release; the last of them, up-to-date, is also written when a stream opens).
   */
  | { t: "init"; snapshot: HttpSample; live?: HttpSample; sse?: HttpSample }
  | { t: "held" }
  | { t: "stop" };

export type FromFloor = { t: "listening"; port: number } | { t: "held"; count: number };

export type ToRelay = { t: "init"; databaseUrl: string; slot: string; publication: string } | { t: "stop" };
export type FromRelay = { t: "listening"; port: number };
