import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";
import type { Logger } from "../log.ts";
import { RecentRate } from "./recent-rate.ts";
import type { RunCounts } from "./run-counts.ts";

/** How a live request is held: a long-poll answered at the next change, or a server-sent event stream. */
export type LiveTransport = "long_poll" | "sse";

/** What the node measures only when it is scraped. */
export interface ScrapeSources {
  /** Live shapes in this node's registry. */
  shapes(): number;
  /** Bytes this node's shape logs and handoff window hold (estimated), and their budgets. */
  memory(): { logs: number; logsBudget: number; window: number; windowBudget: number };
  /** Whether this node's replication stream is up. */
  streaming(): boolean;
  /** WAL bytes between the database's position and what this node's slot confirmed; null when unknown. */
  replicationLagBytes(): Promise<number | null>;
  runCounts(): Promise<RunCounts>;
}

/**
 * Node.js and process metrics (`process_*`, `nodejs_*`) describe the process, not a node: they are collected once
 * per process and shown by every node's /metrics (tests run several nodes in one process).
 */
let processRegistry: Registry | undefined;
function processMetrics(): Registry {
  if (!processRegistry) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
  }
  return processRegistry;
}

/** HTTP durations from 1 ms to a held SSE stream's minute. */
const HTTP_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
/** Commit-to-applied delays: milliseconds when healthy, seconds when the node falls behind. */
const APPLY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
/** A failing scrape-time query is logged at most this often. */
const WARN_EVERY_MS = 60_000;

/**
 * One node's Prometheus metrics, in a registry of its own. Counters and histograms are updated as things happen
 * (requests, transactions, subscribers); gauges that need the database are computed when /metrics is scraped.
 * Labels hold route patterns, statuses, environment slugs and queue names: never ids, keys or tokens.
 */
export class NodeMetrics {
  readonly registry = new Registry();
  readonly #subscribers: Gauge<"route" | "transport">;
  readonly #requests: Histogram<"method" | "route" | "status_class" | "live">;
  readonly #changes: Counter<"kind">;
  readonly #transactions: Counter;
  readonly #applyDelay: Histogram;
  readonly #rate = new RecentRate(10);
  #lastApplyDelaySeconds = 0;
  readonly #warnedAt = new Map<string, number>();

  constructor(sources: ScrapeSources, log: Logger) {
    const registers = [this.registry];
    const warn = (what: string, err: unknown) => {
      const now = Date.now();
      if (now - (this.#warnedAt.get(what) ?? -Infinity) < WARN_EVERY_MS) return;
      this.#warnedAt.set(what, now);
      log("warn", `metrics: could not read ${what}; it is left out of /metrics`, { component: "metrics", error: err instanceof Error ? err.message : String(err) });
    };

    this.#subscribers = new Gauge({
      name: "runcast_live_subscribers",
      help: "Live requests this node holds open (long-polls waiting for a change, SSE streams), by route and transport",
      labelNames: ["route", "transport"],
      registers,
    });
    this.#requests = new Histogram({
      name: "runcast_http_request_duration_seconds",
      help: "HTTP requests by method, route pattern and status class, until the response ended; live=true marks held live requests (their duration is the hold)",
      labelNames: ["method", "route", "status_class", "live"],
      buckets: HTTP_BUCKETS,
      registers,
    });
    this.#changes = new Counter({
      name: "runcast_replication_changes_total",
      help: "Row changes applied from the replication stream, by kind (rate() gives changes per second)",
      labelNames: ["kind"],
      registers,
    });
    for (const kind of ["insert", "update", "delete", "truncate"]) this.#changes.inc({ kind }, 0);
    this.#transactions = new Counter({ name: "runcast_replication_transactions_total", help: "Transactions applied from the replication stream", registers });
    this.#applyDelay = new Histogram({
      name: "runcast_replication_apply_delay_seconds",
      help: "Time from a transaction's commit to its changes reaching this node's shapes (PostgreSQL's clock against this node's)",
      buckets: APPLY_BUCKETS,
      registers,
    });
    const rate = this.#rate;
    new Gauge({
      name: "runcast_replication_changes_per_second",
      help: "Row changes applied per second, averaged over the last 10 seconds",
      registers,
      collect() {
        this.set(rate.perSecond(Date.now()));
      },
    });
    const lastApplyDelay = () => this.#lastApplyDelaySeconds;
    new Gauge({
      name: "runcast_replication_lag_seconds",
      help: "Commit-to-applied delay of the newest transaction this node applied (0 before the first one); see runcast_replication_lag_bytes for what is not applied yet",
      registers,
      collect() {
        this.set(lastApplyDelay());
      },
    });
    new Gauge({
      name: "runcast_replication_lag_bytes",
      help: "WAL bytes between the database's current position and what this node's replication slot confirmed (NaN when unknown)",
      registers,
      async collect() {
        try {
          this.set((await sources.replicationLagBytes()) ?? Number.NaN);
        } catch (err) {
          this.set(Number.NaN);
          warn("the replication lag", err);
        }
      },
    });
    new Gauge({
      name: "runcast_replication_streaming",
      help: "1 while this node's logical-replication stream is up, 0 otherwise",
      registers,
      collect() {
        this.set(sources.streaming() ? 1 : 0);
      },
    });
    new Gauge({
      name: "runcast_shapes",
      help: "Shapes (live feeds of a table and where clause) this node keeps",
      registers,
      collect() {
        this.set(sources.shapes());
      },
    });
    new Gauge({
      name: "runcast_retained_bytes",
      help: "Bytes this node keeps for readers (estimated): shape logs (for readers resuming from an offset) and the handoff window (for readers moving from another node)",
      labelNames: ["kind"],
      registers,
      collect() {
        const m = sources.memory();
        this.set({ kind: "shape_logs" }, m.logs);
        this.set({ kind: "handoff_window" }, m.window);
      },
    });
    new Gauge({
      name: "runcast_retained_budget_bytes",
      help: "The budgets of runcast_retained_bytes (RUNCAST_SHAPE_LOGS_TOTAL_BYTES, RUNCAST_HANDOFF_WINDOW_BYTES)",
      labelNames: ["kind"],
      registers,
      collect() {
        const m = sources.memory();
        this.set({ kind: "shape_logs" }, m.logsBudget);
        this.set({ kind: "handoff_window" }, m.windowBudget);
      },
    });
    // Both run gauges come from one query per scrape (RunCounter): the second waits for the first's result.
    new Gauge({
      name: "runcast_runs",
      help: "Runs in the database, by environment and status (counted at scrape time; the same on every node)",
      labelNames: ["environment", "status"],
      registers,
      async collect() {
        this.reset();
        try {
          for (const r of (await sources.runCounts()).byStatus) this.set({ environment: r.environment, status: r.status }, r.runs);
        } catch (err) {
          warn("the run counts", err);
        }
      },
    });
    new Gauge({
      name: "runcast_queue_depth",
      help: "QUEUED runs waiting for a worker, by environment and queue (counted at scrape time; the same on every node)",
      labelNames: ["environment", "queue"],
      registers,
      async collect() {
        this.reset();
        try {
          for (const q of (await sources.runCounts()).queued) this.set({ environment: q.environment, queue: q.queue }, q.runs);
        } catch (err) {
          warn("the queue depths", err);
        }
      },
    });
    processMetrics();
  }

  /** A live request is held on `route` (a route pattern); the returned function ends it (idempotent). */
  subscriberHeld(route: string, transport: LiveTransport): () => void {
    const labels = { route, transport };
    this.#subscribers.inc(labels);
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      this.#subscribers.dec(labels);
    };
  }

  /** One HTTP request ended. `status` is undefined when the client left before it was answered. */
  requestEnded(method: string, route: string, status: number | undefined, live: boolean, seconds: number): void {
    const statusClass = status === undefined ? "none" : `${Math.floor(status / 100)}xx`;
    this.#requests.observe({ method, route, status_class: statusClass, live: String(live) }, seconds);
  }

  /** A transaction reached the shapes. */
  transactionApplied(commitTime: Date, changes: readonly { kind: "insert" | "update" | "delete" | "truncate" }[], nowMs = Date.now()): void {
    const delay = Math.max(0, nowMs - commitTime.getTime()) / 1000;
    this.#lastApplyDelaySeconds = delay;
    this.#applyDelay.observe(delay);
    this.#transactions.inc();
    if (!changes.length) return;
    const byKind = { insert: 0, update: 0, delete: 0, truncate: 0 };
    for (const ch of changes) byKind[ch.kind]++;
    for (const [kind, n] of Object.entries(byKind)) if (n) this.#changes.inc({ kind }, n);
    this.#rate.add(changes.length, nowMs);
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** The text exposition: this node's metrics, then the process's. */
  async render(): Promise<string> {
    const [own, processWide] = await Promise.all([this.registry.metrics(), processMetrics().metrics()]);
    return `${own.trimEnd()}\n${processWide}`;
  }
}
