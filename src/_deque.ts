/**
 * A growable ring buffer: O(1) push and pop at the back, shift at the front,
 * with no allocation once it has grown to its working size.
 *
 * @module
 */

/** A double-ended queue of `T`. */
export class Deque<T> {
  #items: (T | undefined)[] = new Array(8);
  #head = 0;
  #length = 0;

  /** Number of items. */
  get length(): number {
    return this.#length;
  }

  /** Appends at the back. */
  push(item: T): void {
    if (this.#length === this.#items.length) this.#grow();
    this.#items[(this.#head + this.#length) & (this.#items.length - 1)] = item;
    this.#length++;
  }

  /** The item at the front (the oldest), left in place, or `undefined` when empty. */
  first(): T | undefined {
    return this.#length === 0 ? undefined : this.#items[this.#head];
  }

  /** Removes from the front (the oldest), or `undefined` when empty. */
  shift(): T | undefined {
    if (this.#length === 0) return undefined;
    const item = this.#items[this.#head];
    this.#items[this.#head] = undefined;
    this.#head = (this.#head + 1) & (this.#items.length - 1);
    this.#length--;
    return item;
  }

  /** Removes from the back (the newest), or `undefined` when empty. */
  pop(): T | undefined {
    if (this.#length === 0) return undefined;
    this.#length--;
    const index = (this.#head + this.#length) & (this.#items.length - 1);
    const item = this.#items[index];
    this.#items[index] = undefined;
    return item;
  }

  /** Removes and returns every item, oldest first. */
  drain(): T[] {
    const out: T[] = [];
    for (let item = this.shift(); item !== undefined; item = this.shift()) {
      out.push(item);
    }
    return out;
  }

  /** Calls `fn` with each item, oldest first. */
  forEach(fn: (item: T) => void): void {
    for (let i = 0; i < this.#length; i++) {
      fn(this.#items[(this.#head + i) & (this.#items.length - 1)]!);
    }
  }

  #grow(): void {
    const items = new Array<T | undefined>(this.#items.length * 2);
    for (let i = 0; i < this.#length; i++) {
      items[i] = this.#items[(this.#head + i) & (this.#items.length - 1)];
    }
    this.#items = items;
    this.#head = 0;
  }
}
