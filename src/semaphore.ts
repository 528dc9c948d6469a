/**
 * An awaitable, abort-safe counting semaphore.
 *
 * @module
 */

import { WaiterQueue } from "./_waiters.ts";

/**
 * A counting semaphore with FIFO waiters and direct hand-off: a released
 * permit goes straight to the oldest waiter, so later callers cannot barge
 * ahead of it. Aborted waiters leave the queue in O(1), and many waiters may
 * share one `AbortSignal` at the cost of a single listener.
 *
 * The queue pool's own wait queue is built the same way.
 *
 * @example Limiting concurrency to two
 * ```ts
 * import assert from "node:assert/strict";
 * import { Semaphore } from "@dbpool/pool";
 *
 * const semaphore = new Semaphore(2);
 * let running = 0;
 * let most = 0;
 * async function task(): Promise<void> {
 *   await semaphore.acquire();
 *   try {
 *     most = Math.max(most, ++running);
 *     await new Promise((resolve) => setTimeout(resolve, 1));
 *   } finally {
 *     running--;
 *     semaphore.release();
 *   }
 * }
 * await Promise.all([task(), task(), task(), task()]);
 * assert.equal(most, 2);
 * assert.equal(semaphore.available, 2);
 * ```
 */
export class Semaphore {
  #permits: number;
  /** The permits it was made with: more are never available. */
  readonly #max: number;
  readonly #waiters: WaiterQueue<void> = new WaiterQueue<void>();

  /**
   * Makes a semaphore.
   *
   * @param permits Permits available at the start: an integer >= 0.
   * @throws {TypeError} When `permits` is not a number.
   * @throws {RangeError} When `permits` is negative, fractional or not finite.
   */
  constructor(permits: number) {
    if (typeof permits !== "number") {
      throw new TypeError(
        `Cannot create semaphore: "permits" must be a number, received ${typeof permits}`,
      );
    }
    if (!Number.isSafeInteger(permits) || permits < 0) {
      throw new RangeError(
        `Cannot create semaphore: "permits" must be an integer >= 0, received ${permits}`,
      );
    }
    this.#permits = permits;
    this.#max = permits;
  }

  /**
   * Waits for a permit. FIFO: a permit released while others wait goes to
   * the oldest waiter.
   *
   * @param options `signal`: aborting it rejects the wait with
   *   `signal.reason`, unchanged, and takes the waiter out of the queue.
   * @returns A promise that resolves once the caller holds a permit.
   */
  acquire(options?: { signal?: AbortSignal }): Promise<void> {
    const signal = options?.signal;
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.#permits > 0) {
      this.#permits--;
      return Promise.resolve();
    }
    return this.#waiters.wait(signal, Infinity);
  }

  /**
   * Takes a permit if one is free, without waiting.
   *
   * @returns `true` when a permit was taken.
   */
  tryAcquire(): boolean {
    if (this.#permits > 0) {
      this.#permits--;
      return true;
    }
    return false;
  }

  /**
   * Returns a permit: to the oldest waiter if any, else to the free count.
   *
   * @throws {RangeError} When every permit is already available: more
   *   releases than acquisitions (the count is left as it is).
   */
  release(): void {
    if (this.#waiters.grant(undefined)) return;
    if (this.#permits === this.#max) {
      throw new RangeError(
        `Cannot release semaphore: released more times than acquired (permits: ${this.#max})`,
      );
    }
    this.#permits++;
  }

  /** Free permits now. */
  get available(): number {
    return this.#permits;
  }

  /** Callers waiting now. */
  get waiting(): number {
    return this.#waiters.length;
  }
}
