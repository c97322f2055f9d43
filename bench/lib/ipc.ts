/** Messages between the bench orchestrator and its generator / floor-server children (JSON over IPC). */

export interface HttpSample {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export type ToGenerator =
  | { t: "clock"; seq: number }
  | {
      t: "open";
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
  | { t: "rearm" }
  /** Send the round's timestamps now, even if some subscribers have not had their response. */
  | { t: "flush" }
  | { t: "close" };

export type FromGenerator =
  | { t: "ready" }
  | { t: "clock"; seq: number; at: number }
  | { t: "opened"; count: number; ms: number; snapshot: HttpSample | undefined; errors: number }
  | {
      t: "round";
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
  | { t: "rearmed"; count: number }
  | { t: "warn"; message: string }
  | { t: "closed" };

export type ToFloor =
  | { t: "init"; live: HttpSample; snapshot: HttpSample }
  | { t: "held" }
  | { t: "stop" };

export type FromFloor = { t: "listening"; port: number } | { t: "held"; count: number };
