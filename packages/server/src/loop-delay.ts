import { monitorEventLoopDelay, type IntervalHistogram } from "node:perf_hooks";

/**
 * The longest the event loop was late, over the last 10–20 s: how long the server left requests waiting
 * (a synchronous stretch of work, or a machine too busy to schedule it). Reported by /healthz.
 */
export class LoopDelay {
  readonly #histogram: IntervalHistogram;
  readonly #timer: NodeJS.Timeout;
  #previousMax = 0;

  constructor(windowMs = 10_000) {
    this.#histogram = monitorEventLoopDelay({ resolution: 10 });
    this.#histogram.enable();
    this.#timer = setInterval(() => {
      this.#previousMax = this.#histogram.max;
      this.#histogram.reset();
    }, windowMs).unref();
  }

  /** Milliseconds. */
  get maxMs(): number {
    return Math.max(this.#previousMax, this.#histogram.max) / 1e6;
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#histogram.disable();
  }
}
