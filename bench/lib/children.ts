import type { ChildProcess } from "node:child_process";
import { exited } from "./procs.ts";

/**
 * Typed request/answer over a child's IPC channel: `next(type)` waits for the next message of that type
 * (messages of a type nobody waits for are queued), and fails if the child exits or the time runs out.
 */
export class Channel<In extends { t: string }, Out extends { t: string }> {
  readonly #queued = new Map<string, Out[]>();
  readonly #waiting = new Map<string, ((m: Out) => void)[]>();
  readonly #failures = new Set<(err: Error) => void>();
  onMessage: ((m: Out) => boolean) | undefined;

  constructor(
    readonly child: ChildProcess,
    readonly name: string,
  ) {
    child.on("message", (raw) => {
      const m = raw as Out;
      if (this.onMessage?.(m)) return;
      const waiter = this.#waiting.get(m.t)?.shift();
      if (waiter) waiter(m);
      else this.#queued.set(m.t, [...(this.#queued.get(m.t) ?? []), m]);
    });
    child.once("exit", (code, signal) => {
      const err = new Error(`${name} (pid ${child.pid}) exited (${signal ?? `code ${code}`})`);
      for (const fail of [...this.#failures]) fail(err);
    });
  }

  get pid(): number {
    return this.child.pid as number;
  }

  send(msg: In): void {
    if (!exited(this.child) && this.child.connected) this.child.send(msg);
  }

  next<T extends Out["t"]>(t: T, timeoutMs = 60_000): Promise<Extract<Out, { t: T }>> {
    const queued = this.#queued.get(t);
    if (queued?.length) return Promise.resolve(queued.shift() as Extract<Out, { t: T }>);
    if (exited(this.child)) return Promise.reject(new Error(`${this.name} (pid ${this.child.pid}) is not running`));
    return new Promise((resolve, reject) => {
      const list = this.#waiting.get(t) ?? [];
      this.#waiting.set(t, list);
      const done = () => {
        clearTimeout(timer);
        this.#failures.delete(fail);
        const i = list.indexOf(take);
        if (i >= 0) list.splice(i, 1);
      };
      const take = (m: Out) => {
        done();
        resolve(m as Extract<Out, { t: T }>);
      };
      const fail = (err: Error) => {
        done();
        reject(err);
      };
      const timer = setTimeout(() => fail(new Error(`${this.name}: no "${t}" message within ${timeoutMs} ms`)), timeoutMs);
      list.push(take);
      this.#failures.add(fail);
    });
  }
}
