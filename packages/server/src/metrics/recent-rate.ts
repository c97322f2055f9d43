/**
 * Events per second over the last `seconds` whole seconds: one counter per second in a ring. Pure; the time is
 * passed in. (A Prometheus counter gives the same with `rate()`; this is for a reader without PromQL.)
 */
export class RecentRate {
  readonly #counts: number[];
  readonly #stamps: number[];

  constructor(readonly seconds = 10) {
    this.#counts = new Array<number>(seconds).fill(0);
    this.#stamps = new Array<number>(seconds).fill(-1);
  }

  add(n: number, nowMs: number): void {
    const second = Math.floor(nowMs / 1000);
    const i = second % this.seconds;
    if (this.#stamps[i] !== second) {
      this.#stamps[i] = second;
      this.#counts[i] = 0;
    }
    this.#counts[i] = (this.#counts[i] ?? 0) + n;
  }

  /** The mean rate over the last `seconds` whole seconds before the current one. */
  perSecond(nowMs: number): number {
    const current = Math.floor(nowMs / 1000);
    let sum = 0;
    for (let i = 0; i < this.seconds; i++) {
      const stamp = this.#stamps[i] ?? -1;
      if (stamp < current && stamp >= current - this.seconds) sum += this.#counts[i] ?? 0;
    }
    return sum / this.seconds;
  }
}
