/**
 * A first-in, first-out queue over an array: items leave from the front without shifting the array each
 * time (the dropped prefix is compacted away once it is half the array, so each item costs O(1) amortised).
 * Items are reachable by position for binary searches. The shape logs, their node-wide budget and the
 * handoff window are all such queues.
 */
export class Fifo<T> {
  #items: (T | undefined)[] = [];
  #head = 0;

  get length(): number {
    return this.#items.length - this.#head;
  }

  /** The item at position `i` from the front (0 ≤ i < length). */
  at(i: number): T {
    return this.#items[this.#head + i] as T;
  }

  get first(): T | undefined {
    return this.length ? this.at(0) : undefined;
  }

  get last(): T | undefined {
    return this.length ? this.at(this.length - 1) : undefined;
  }

  push(item: T): void {
    this.#items.push(item);
  }

  shift(): T | undefined {
    if (!this.length) return undefined;
    const item = this.#items[this.#head] as T;
    this.#items[this.#head] = undefined;
    this.#head++;
    if (this.#head > 64 && this.#head * 2 >= this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    return item;
  }

  /** Replaces every item. */
  reset(items: T[] = []): void {
    this.#items = items;
    this.#head = 0;
  }

  toArray(): T[] {
    return this.#items.slice(this.#head) as T[];
  }

  /** Index of the first item for which `isAfter` is true, given that it is false then true along the queue. */
  firstWhere(isAfter: (item: T) => boolean): number {
    let lo = 0;
    let hi = this.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (isAfter(this.at(mid))) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }
}
