/**
 * {@linkcode LeakDetector}: the `leakDetectionMs` option. A connection
 * checked out for longer than `leakDetectionMs` is reported once, with a
 * warning that shows the stack of the code that checked it out; when it
 * finally comes back, one info line says so and after how long.
 *
 * - Made only when the option is set: a pool without it has no detector,
 *   and its checkouts pay one `null` check.
 * - The stack is captured at checkout (`new Error()`), only here, and
 *   rendered as text only for a warning: reading `.stack` at every
 *   checkout cost two orders of magnitude more.
 * - One timer per pool, armed for the earliest deadline: checkouts are kept
 *   in the order they started, which is the order of their deadlines.
 *   The timer is `unref()`ed where its handle has that method (Node, Bun);
 *   Deno's timer ids have none, so there it keeps the process alive while
 *   a checkout is out (the core uses web-platform APIs only). It is
 *   cleared whenever no checkout is waiting for its deadline.
 * - A record holds no reference to its proxy (a `WeakMap` leads from the
 *   proxy to it), so a leaked proxy stays collectable; the
 *   garbage-collection safety net (`_leak_guard.ts`) then has the records
 *   of its entry forgotten ({@linkcode LeakDetector.forget}).
 *
 * @module
 */

import type { PoolLog } from "./_log.ts";

/** Longest delay `setTimeout` takes as is. */
const MAX_TIMER_DELAY = 2 ** 31 - 1;

/** One checkout being watched. */
interface Watched {
  readonly entry: object;
  readonly label: string;
  readonly start: number;
  /** Made at checkout; its `stack` is read only for a warning. */
  readonly checkout: Error;
}

/**
 * Watches checkouts for `leakDetectionMs`.
 *
 * @typeParam P The proxy type.
 */
export class LeakDetector<P extends object> {
  readonly #log: PoolLog;
  readonly #clock: () => number;
  readonly #thresholdMs: number;
  /** Checkouts not yet reported, in start order (deadline order). */
  readonly #pending: Set<Watched> = new Set();
  /** Checkouts reported and not yet back. */
  readonly #reported: Set<Watched> = new Set();
  readonly #byProxy: WeakMap<P, Watched> = new WeakMap();
  #timer: ReturnType<typeof setTimeout> | undefined = undefined;
  readonly #onTimer = (): void => {
    this.#timer = undefined;
    this.check();
  };

  /**
   * @param thresholdMs `leakDetectionMs`: milliseconds a checkout may last
   *   before it is reported.
   */
  constructor(log: PoolLog, clock: () => number, thresholdMs: number) {
    this.#log = log;
    this.#clock = clock;
    this.#thresholdMs = thresholdMs;
  }

  /** Checkouts being watched (reported or not). */
  get size(): number {
    return this.#pending.size + this.#reported.size;
  }

  /** A proxy was just handed out: note when, and where from. */
  start(proxy: P, entry: object, label: string): void {
    const watched: Watched = {
      entry,
      label,
      start: this.#clock(),
      checkout: new Error("checkout"),
    };
    this.#byProxy.set(proxy, watched);
    this.#pending.add(watched);
    if (this.#timer === undefined) this.#arm(watched.start);
  }

  /** A proxy is back (returned, invalidated, detached, or its checkout failed). */
  stop(proxy: P): void {
    const watched = this.#byProxy.get(proxy);
    if (watched === undefined) return;
    this.#byProxy.delete(proxy);
    if (this.#pending.delete(watched)) {
      if (this.#pending.size === 0) this.#disarm();
      return;
    }
    this.#reported.delete(watched);
    const heldMs = Math.round(this.#clock() - watched.start);
    // Sent whatever `echo` says, so it is seen wherever the warning was.
    this.#log.notice(
      `Connection ${watched.label} reported as a possible leak was returned after ${heldMs} ms`,
    );
  }

  /**
   * Reports every checkout out for longer than the threshold (once each),
   * then arms the timer for the next deadline. The timer calls it; a test
   * may call it after moving a fake clock.
   */
  check(): void {
    const now = this.#clock();
    for (const watched of this.#pending) {
      if (now - watched.start <= this.#thresholdMs) {
        this.#arm(now);
        return;
      }
      this.#pending.delete(watched);
      this.#reported.add(watched);
      const stack = watched.checkout.stack ?? "";
      this.#log.warn(
        `Connection ${watched.label} has been checked out for more than leakDetectionMs (${this.#thresholdMs} ms); it may have leaked. It was checked out at:\n${
          // The first line is the error's own ("Error: checkout").
          stack.slice(stack.indexOf("\n") + 1)}`,
      );
    }
    this.#disarm();
  }

  /** Forgets the checkouts of an entry whose proxy was garbage-collected while out. */
  forget(entry: object): void {
    for (const set of [this.#pending, this.#reported]) {
      for (const watched of set) {
        if (watched.entry === entry) set.delete(watched);
      }
    }
    if (this.#pending.size === 0) this.#disarm();
  }

  /** Arms the timer for the first pending deadline; `now` is a fresh reading. */
  #arm(now: number): void {
    const first = this.#pending.values().next();
    if (first.done) return this.#disarm();
    const delay = Math.min(
      Math.max(first.value.start + this.#thresholdMs - now, 0) + 1,
      MAX_TIMER_DELAY,
    );
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    const timer = setTimeout(this.#onTimer, delay);
    (timer as { unref?: () => void }).unref?.();
    this.#timer = timer;
  }

  #disarm(): void {
    if (this.#timer === undefined) return;
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
