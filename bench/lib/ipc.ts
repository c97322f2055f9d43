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
      table: string;
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
  /** Deferred mode: send every subscriber's next live request now. */
  | { t: "rearm"; group: string }
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
      errors: number;
      sample: HttpSample | undefined;
    }
  | { t: "rearmed"; group: string; count: number }
  | { t: "warn"; message: string }
  | { t: "closed"; group: string };

export type ToFloor =
  | { t: "init"; live: HttpSample; snapshot: HttpSample }
  | { t: "held" }
  | { t: "stop" };

export type FromFloor = { t: "listening"; port: number } | { t: "held"; count: number };

export type ToRelay = { t: "init"; databaseUrl: string; slot: string; publication: string } | { t: "stop" };
export type FromRelay = { t: "listening"; port: number };
