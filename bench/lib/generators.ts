import { fileURLToPath } from "node:url";
import { Channel } from "./children.ts";
import { estimateOffset, now, type ClockOffset, type ClockSample } from "./clock.ts";
import type { FromGenerator, HttpSample, ToGenerator } from "./ipc.ts";
import { forkTs, isExiting, readCpuMs, stopChild } from "./procs.ts";

const GENERATOR = fileURLToPath(new URL("../generator.ts", import.meta.url));

type Gen = Channel<ToGenerator, FromGenerator>;

export interface RoundTimes {
  /** Per subscriber (all generators), parent clock; NaN for a subscriber that got nothing. */
  ends: number[];
  bodyBytes: number;
  empty: number;
  newSockets: number;
  errors: number;
  sample: HttpSample | undefined;
}

/**
 * The load-generator processes. Subscribers are split evenly across them; their timestamps are brought
 * onto the parent's clock with offsets measured over IPC.
 */
export class GeneratorPool {
  readonly #gens: Gen[];
  #offsets: ClockOffset[] = [];
  /** Subscribers each generator holds now. */
  #per: number[] = [];
  warnings = 0;

  private constructor(gens: Gen[], warn: (line: string) => void) {
    this.#gens = gens;
    for (const g of gens) {
      g.onMessage = (m) => {
        if (m.t !== "warn") return false;
        if (isExiting()) return true;
        // The first few say what went wrong; the count tells how often.
        if (this.warnings++ < 5) warn(`${g.name}: ${m.message}`);
        return true;
      };
    }
  }

  static async start(count: number, warn: (line: string) => void): Promise<GeneratorPool> {
    const gens = Array.from({ length: count }, (_, i) => new Channel<ToGenerator, FromGenerator>(forkTs(GENERATOR), `generator ${i + 1}`));
    const pool = new GeneratorPool(gens, warn);
    await Promise.all(gens.map((g) => g.next("ready", 30_000)));
    return pool;
  }

  get pids(): number[] {
    return this.#gens.map((g) => g.pid);
  }

  get offsets(): ClockOffset[] {
    return this.#offsets;
  }

  cpuMs(): number {
    let total = 0;
    for (const g of this.#gens) total += readCpuMs(g.pid);
    return total;
  }

  /** Measures every generator's clock offset (20 pings each, shortest round trip wins). */
  async calibrate(): Promise<ClockOffset[]> {
    const offsets: ClockOffset[] = [];
    for (const g of this.#gens) {
      const samples: ClockSample[] = [];
      for (let seq = 0; seq < 20; seq++) {
        const sent = now();
        g.send({ t: "clock", seq });
        const m = await g.next("clock", 10_000);
        samples.push({ sent, child: m.at, received: now() });
      }
      offsets.push(estimateOffset(samples));
    }
    this.#offsets = offsets;
    return offsets;
  }

  /** Opens `total` subscribers split across the generators; resolves when every live request is sent. */
  async open(opts: { url: string; table: string; authorization: string | undefined; total: number; concurrency: number; reissue: "immediate" | "deferred"; client: "raw" | "node-http" }) {
    const per = this.#split(opts.total);
    this.#per = per;
    const answers = await Promise.all(
      this.#gens.map((g, i) => {
        g.send({ t: "open", url: opts.url, table: opts.table, authorization: opts.authorization, count: per[i] as number, concurrency: opts.concurrency, reissue: opts.reissue, client: opts.client });
        return g.next("opened", 300_000);
      }),
    );
    return {
      ms: Math.max(...answers.map((a) => a.ms)),
      snapshot: answers.find((a) => a.snapshot)?.snapshot,
      errors: answers.reduce((s, a) => s + a.errors, 0),
    };
  }

  /** Waits for every generator's round report (asking for a partial one after `timeoutMs`). */
  async round(timeoutMs: number): Promise<RoundTimes> {
    const active = this.#gens.filter((_, i) => (this.#per[i] ?? 0) > 0);
    const reports = await Promise.all(
      active.map(async (g) => {
        try {
          return await g.next("round", timeoutMs);
        } catch {
          g.send({ t: "flush" });
          return g.next("round", 10_000);
        }
      }),
    );
    const ends: number[] = [];
    reports.forEach((r, i) => {
      const offset = this.#offsets[this.#gens.indexOf(active[i] as Gen)]?.offsetMs ?? 0;
      for (const e of r.ends) ends.push(e === null ? Number.NaN : e - offset);
    });
    return {
      ends,
      bodyBytes: Math.max(...reports.map((r) => r.bodyBytes)),
      empty: reports.reduce((s, r) => s + r.empty, 0),
      newSockets: reports.reduce((s, r) => s + r.newSockets, 0),
      errors: reports.reduce((s, r) => s + r.errors, 0),
      sample: reports.find((r) => r.sample)?.sample,
    };
  }

  /** Deferred re-issue: every subscriber sends its next live request; resolves once all are written. */
  async rearm(): Promise<void> {
    await Promise.all(
      this.#gens.map((g) => {
        g.send({ t: "rearm" });
        return g.next("rearmed", 60_000);
      }),
    );
  }

  /** Drops every subscriber (their connections close). */
  async close(): Promise<void> {
    await Promise.all(
      this.#gens.map((g) => {
        g.send({ t: "close" });
        return g.next("closed", 30_000);
      }),
    );
    this.#per = [];
  }

  async stop(): Promise<void> {
    await Promise.all(this.#gens.map((g) => stopChild(g.child, 5_000)));
  }

  #split(total: number): number[] {
    const n = this.#gens.length;
    return this.#gens.map((_, i) => Math.floor(total / n) + (i < total % n ? 1 : 0));
  }
}
