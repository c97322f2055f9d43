import { readFileSync } from "node:fs";
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
  /** SSE streams the server ended during the round (re-opened by their subscribers). */
  reconnects: number;
  /** Changes subscribers got between rounds (should be 0). */
  outside: number;
  errors: number;
  sample: HttpSample | undefined;
}

/** The open-files limit of a process (`Max open files` in /proc/<pid>/limits), or undefined if unreadable. */
export function readFdLimit(pid: number | "self"): { soft: number; hard: number } | undefined {
  try {
    const m = /^Max open files\s+(\d+|unlimited)\s+(\d+|unlimited)/m.exec(readFileSync(`/proc/${pid}/limits`, "utf8"));
    if (!m) return undefined;
    const n = (v: string | undefined) => (v === "unlimited" ? Number.POSITIVE_INFINITY : Number(v));
    return { soft: n(m[1]), hard: n(m[2]) };
  } catch {
    return undefined;
  }
}

/**
 * The load-generator processes. Subscribers are split evenly across them; their timestamps are brought
 * onto the parent's clock with offsets measured over IPC.
 */
export class GeneratorPool {
  readonly #gens: Gen[];
  #offsets: ClockOffset[] = [];
  /** Per group: subscribers each generator holds. */
  readonly #per = new Map<string, number[]>();
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

  /** Each generator's open-files limit. */
  fdLimits(): ({ soft: number; hard: number } | undefined)[] {
    return this.#gens.map((g) => readFdLimit(g.pid));
  }

  /**
   * Opens a group of `total` subscribers split across the generators (with `add`, adds them to the group's);
   * `paths` is what every subscriber reads, or one path per subscriber (each generator gets a contiguous
   * slice). Resolves when every live request is sent (SSE: every stream is open).
   */
  async open(
    group: string,
    opts: {
      url: string;
      paths: string | readonly string[];
      transport: "long-poll" | "sse";
      authorization: string | undefined;
      total: number;
      concurrency: number;
      reissue: "immediate" | "deferred";
      client: "raw" | "node-http";
      add?: boolean;
    },
  ) {
    if (typeof opts.paths !== "string" && opts.paths.length !== opts.total) throw new Error(`open: ${opts.paths.length} paths for ${opts.total} subscribers`);
    const added = this.#split(opts.total);
    const before = opts.add ? (this.#per.get(group) ?? []) : [];
    const per = added.map((n, i) => n + (before[i] ?? 0));
    this.#per.set(group, per);
    let from = 0;
    const answers = await Promise.all(
      this.#gens.map((g, i) => {
        const count = added[i] as number;
        const paths = typeof opts.paths === "string" ? opts.paths : opts.paths.slice(from, from + count);
        from += count;
        g.send({
          t: "open",
          group,
          add: opts.add ?? false,
          url: opts.url,
          paths,
          transport: opts.transport,
          authorization: opts.authorization,
          count,
          concurrency: opts.concurrency,
          reissue: opts.reissue,
          client: opts.client,
        });
        return g.next("opened", 600_000);
      }),
    );
    return {
      ms: Math.max(...answers.map((a) => a.ms)),
      snapshot: answers.find((a) => a.snapshot)?.snapshot,
      errors: answers.reduce((s, a) => s + a.errors, 0),
    };
  }

  /** Starts a round of the group on every generator (a change counts from now on); resolves once all know. */
  async arm(group: string): Promise<void> {
    await Promise.all(
      this.#gens.map((g) => {
        g.send({ t: "arm", group });
        return g.next("armed", 10_000);
      }),
    );
  }

  /** Waits for every generator's round report for the group (asking for a partial one after `timeoutMs`). */
  async round(group: string, timeoutMs: number): Promise<RoundTimes> {
    const per = this.#per.get(group) ?? [];
    const active = this.#gens.filter((_, i) => (per[i] ?? 0) > 0);
    const reports = await Promise.all(
      active.map(async (g) => {
        let r;
        try {
          r = await g.next("round", timeoutMs);
        } catch {
          g.send({ t: "flush", group });
          r = await g.next("round", 10_000);
        }
        if (r.group !== group) throw new Error(`${g.name}: round report of ${r.group} while waiting for ${group}`);
        return r;
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
      reconnects: reports.reduce((s, r) => s + r.reconnects, 0),
      outside: reports.reduce((s, r) => s + r.outside, 0),
      errors: reports.reduce((s, r) => s + r.errors, 0),
      sample: reports.find((r) => r.sample)?.sample,
    };
  }

  /**
   * Between rounds: long-poll (deferred re-issue), every subscriber of the group sends its next live request;
   * SSE, streams open for longer than `refreshAfterMs` are re-opened. Resolves once all are written (open).
   * Returns how many requests were re-issued and how many streams re-opened.
   */
  async rearm(group: string, refreshAfterMs = Number.POSITIVE_INFINITY): Promise<{ count: number; refreshed: number }> {
    const answers = await Promise.all(
      this.#gens.map((g) => {
        g.send({ t: "rearm", group, refreshAfterMs: Number.isFinite(refreshAfterMs) ? refreshAfterMs : 1e12 });
        return g.next("rearmed", 120_000);
      }),
    );
    return { count: answers.reduce((s, a) => s + a.count, 0), refreshed: answers.reduce((s, a) => s + a.refreshed, 0) };
  }

  /** Drops the group's subscribers (their connections close). */
  async close(group: string): Promise<void> {
    await Promise.all(
      this.#gens.map((g) => {
        g.send({ t: "close", group });
        return g.next("closed", 30_000);
      }),
    );
    this.#per.delete(group);
  }

  async stop(): Promise<void> {
    await Promise.all(this.#gens.map((g) => stopChild(g.child, 5_000)));
  }

  #split(total: number): number[] {
    const n = this.#gens.length;
    return this.#gens.map((_, i) => Math.floor(total / n) + (i < total % n ? 1 : 0));
  }
}
