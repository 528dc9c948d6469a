/**
 * A bare reference pool for the checkout benchmarks: the practical floor a
 * real pool can approach, not a product. Internal to `bench/`.
 *
 * Design (the one fast asynchronous pools converge on):
 * - idle resources in an array used as a stack (`push`/`pop`);
 * - waiters in a doubly linked list whose node is the waiter itself, so a
 *   waiter can be unlinked in O(1);
 * - direct hand-off: `release()` resolves the head waiter with the resource
 *   (no wake-then-retry, so a newcomer cannot barge);
 * - ONE deadline timer for the whole pool. Every waiter gets the same
 *   timeout, so FIFO order is deadline order and the timer only needs to
 *   track the head waiter. It is armed when the first waiter queues, is
 *   left alone on hand-off (the new head's deadline is never earlier),
 *   rejects every due waiter when it fires and re-arms for the next head,
 *   and is cleared when the queue empties.
 *
 * @module
 */

/** A queued `acquire()`: its own linked-list node. */
interface Waiter<T> {
  resolve: (resource: T) => void;
  reject: (reason: unknown) => void;
  deadline: number;
  prev: Waiter<T> | null;
  next: Waiter<T> | null;
}

/**
 * Minimal FIFO pool over a fixed set of resources, with one pool-wide
 * acquire timeout.
 *
 * @typeParam T The resource type.
 */
export class BarePool<T> {
  #idle: T[];
  #timeoutMs: number;
  #head: Waiter<T> | null = null;
  #tail: Waiter<T> | null = null;
  #timer: ReturnType<typeof setTimeout> | undefined = undefined;

  /**
   * @param resources The resources to pool; all start idle.
   * @param timeoutMs How long `acquire()` waits before rejecting, in ms.
   */
  constructor(resources: T[], timeoutMs: number) {
    this.#idle = resources.slice();
    this.#timeoutMs = timeoutMs;
  }

  /**
   * Takes an idle resource, or queues until one is released.
   *
   * @returns The resource.
   * @throws {Error} When no resource was released within `timeoutMs`.
   */
  acquire(): Promise<T> {
    if (this.#idle.length > 0) return Promise.resolve(this.#idle.pop() as T);
    const { promise, resolve, reject } = Promise.withResolvers<T>();
    const tail = this.#tail;
    const waiter: Waiter<T> = {
      resolve,
      reject,
      deadline: performance.now() + this.#timeoutMs,
      prev: tail,
      next: null,
    };
    this.#tail = waiter;
    if (tail === null) {
      this.#head = waiter;
      this.#arm(this.#timeoutMs);
    } else {
      tail.next = waiter;
    }
    return promise;
  }

  /**
   * Hands the resource to the oldest waiter, or puts it back on the stack.
   *
   * @param resource A resource obtained from `acquire()`.
   */
  release(resource: T): void {
    const head = this.#head;
    if (head === null) {
      this.#idle.push(resource);
      return;
    }
    this.#unlink(head);
    head.resolve(resource);
  }

  /** Clears the deadline timer and rejects every waiter still queued. */
  close(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    for (let w = this.#head; w !== null; w = w.next) {
      w.reject(new Error("BarePool closed"));
    }
    this.#head = this.#tail = null;
  }

  #unlink(waiter: Waiter<T>): void {
    const { prev, next } = waiter;
    if (prev === null) this.#head = next;
    else prev.next = next;
    if (next === null) this.#tail = prev;
    else next.prev = prev;
    waiter.prev = waiter.next = null;
    if (this.#head === null) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
  }

  #arm(delayMs: number): void {
    this.#timer = setTimeout(() => this.#expire(), delayMs);
  }

  #expire(): void {
    this.#timer = undefined;
    const now = performance.now();
    let head = this.#head;
    while (head !== null && head.deadline <= now) {
      this.#unlink(head);
      head.reject(new Error(`BarePool timed out after ${this.#timeoutMs} ms`));
      head = this.#head;
    }
    if (head !== null) this.#arm(head.deadline - now);
  }
}
