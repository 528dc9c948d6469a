/**
 * {@linkcode LeakDetector}: the `leakDetectionMs` option. A connection
 * checked out for longer than `leakDetectionMs` is reported once, with a
 * warning that shows the stack of the code that called `connect()`; when
 * it finally comes back, one info line says so and after how long.
 *
 * - Made only when the option is set: a pool without it has no detector,
 *   and its checkouts pay one `null` check.
 * - The stack is captured when `connect()` is called
 *   ({@linkcode LeakDetector.capture}), not when the connection is handed
 *   out: a caller that waited for a connection is handed it from the code
 *   that returned one, whose stack says nothing about the caller. Where
 *   `Error.captureStackTrace` exists (V8, JavaScriptCore) the pool's own
 *   frames are left out, but for the `connect()` that was called, so the
 *   frames the engine keeps are the caller's; elsewhere a plain `Error` is
 *   kept. The stack is rendered as text only
 *   for a warning: reading `.stack` at every checkout cost two orders of
 *   magnitude more.
 * - The capture is nearly all of what the option costs a checkout, and it
 *   does not depend on `Error.stackTraceLimit`: Deno has V8 record the
 *   frames of every error eagerly, for its reports of uncaught exceptions.
 *   Everything else is a few field writes: a watched checkout is a node of
 *   one linked list (start order, which is deadline order), kept on its
 *   proxy; no map, no set, no string per checkout (the connection's label
 *   is read only for a report).
 * - One timer per pool, armed for the earliest deadline; a checkout that
 *   ends before it leaves it armed (it fires early, finds nothing due, and
 *   arms for the next deadline). Like every timer of the pool it never
 *   keeps a process alive (`unrefTimeout`, `_timers.ts`). It is cleared
 *   whenever no checkout is waiting for its deadline.
 * - A watch holds no reference to its proxy (the proxy holds it), so a
 *   leaked proxy stays collectable; the garbage-collection safety net
 *   (`_leak_guard.ts`) then has its watch forgotten
 *   ({@linkcode LeakDetector.forget}), and only its own: the other proxies
 *   of a shared connection (`StaticPool`) are still watched.
 *
 * @module
 */

import type { PoolLog } from "./_log.ts";
import { type TimerHandle, unrefTimeout } from "./_timers.ts";

/** Longest delay `setTimeout` takes as is. */
const MAX_TIMER_DELAY = 2 ** 31 - 1;

/**
 * Where a checkout was asked for: an object whose `stack` (formatted only
 * when read) shows the code that called `connect()`.
 */
export interface CheckoutSite {
  readonly stack?: string;
}

/** What a watch needs of its entry: the label of its connection, for a report. */
export interface Labelled {
  readonly label: string;
}

/** `Error.captureStackTrace`, where the engine has it. */
const captureStackTrace:
  // deno-lint-ignore ban-types -- the engine's own signature.
  | ((target: object, skip?: Function) => void)
  | undefined = (Error as {
    // deno-lint-ignore ban-types -- the engine's own signature.
    captureStackTrace?: (target: object, skip?: Function) => void;
  }).captureStackTrace;

/**
 * One checkout being watched: a node of its detector's list while not yet
 * reported. Its proxy keeps it; it keeps no reference to the proxy.
 *
 * @typeParam E Its entry.
 */
export class LeakWatch<E extends Labelled = Labelled> {
  prev: LeakWatch | null = null;
  next: LeakWatch | null = null;
  /**
   * `pending` while in the detector's list, `reported` once in its
   * reported set, `over` once stopped or forgotten.
   */
  state: "pending" | "reported" | "over" = "pending";
  readonly entry: E;
  /** Clock reading when it started; `NaN` until stamped. */
  start = NaN;
  readonly site: CheckoutSite;

  constructor(entry: E, site: CheckoutSite) {
    this.entry = entry;
    this.site = site;
  }
}

/** Watches checkouts for `leakDetectionMs`. */
export class LeakDetector {
  readonly #log: PoolLog;
  readonly #clock: () => number;
  readonly #thresholdMs: number;
  /** Checkouts not yet reported, oldest first (deadline order). */
  #head: LeakWatch | null = null;
  #tail: LeakWatch | null = null;
  #pending = 0;
  /** The first pending watch not stamped yet; every one after it is unstamped too. */
  #unstamped: LeakWatch | null = null;
  #stampQueued = false;
  readonly #onStamp = (): void => {
    this.#stampQueued = false;
    this.#stamp();
  };
  /** Checkouts reported and not yet back. */
  readonly #reported: Set<LeakWatch> = new Set();
  #timer: TimerHandle | undefined = undefined;
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
    return this.#pending + this.#reported.size;
  }

  /**
   * The stack of the code that called `connect()`, captured now; the
   * frames from `skip` (the pool's `connect` itself) up are left out where
   * the engine can.
   */
  // deno-lint-ignore ban-types -- any function on the stack.
  capture(skip: Function): CheckoutSite {
    if (captureStackTrace === undefined) return new Error("checkout");
    const site: CheckoutSite = {};
    captureStackTrace(site, skip);
    return site;
  }

  /**
   * A connection was just handed out, for the `connect()` at `site`. Its
   * start time is stamped on the next microtask turn, with one clock
   * reading for every checkout started meanwhile (see
   * {@linkcode LeakDetector.#stamp}).
   */
  start<E extends Labelled>(entry: E, site: CheckoutSite): LeakWatch<E> {
    const watch = new LeakWatch(entry, site);
    const tail = this.#tail;
    watch.prev = tail;
    if (tail === null) this.#head = watch;
    else tail.next = watch;
    this.#tail = watch;
    this.#pending++;
    if (this.#unstamped === null) {
      this.#unstamped = watch;
      if (!this.#stampQueued) {
        this.#stampQueued = true;
        queueMicrotask(this.#onStamp);
      }
    }
    return watch;
  }

  /** A checkout is over (returned, invalidated, detached, or failed). */
  stop(watch: LeakWatch): void {
    const state = watch.state;
    if (state === "over") return;
    if (state === "pending") {
      this.#unlink(watch);
      if (this.#pending === 0) this.#disarm();
      return;
    }
    watch.state = "over";
    this.#reported.delete(watch);
    // It was out longer than the threshold when reported, whatever a given
    // clock set back since says.
    const heldMs = Math.round(
      Math.max(this.#clock() - watch.start, this.#thresholdMs),
    );
    // Sent whatever `echo` says, so it is seen wherever the warning was.
    this.#log.notice(
      `Connection ${watch.entry.label} reported as a possible leak was returned after ${heldMs} ms`,
    );
  }

  /**
   * Reports every checkout out for longer than the threshold (once each),
   * then arms the timer for the next deadline. The timer calls it; a test
   * may call it after moving a fake clock.
   */
  check(): void {
    this.#stamp();
    const now = this.#clock();
    for (let watch = this.#head; watch !== null; watch = this.#head) {
      if (now - watch.start <= this.#thresholdMs) {
        this.#arm(now);
        return;
      }
      this.#unlink(watch);
      watch.state = "reported";
      this.#reported.add(watch);
      const stack = watch.site.stack ?? "";
      this.#log.warn(
        `Connection ${watch.entry.label} has been checked out for more than leakDetectionMs (${this.#thresholdMs} ms); it may have leaked. It was checked out at:\n${
          // The first line is the error's own ("Error: checkout", "Error").
          stack.slice(stack.indexOf("\n") + 1)}`,
      );
    }
    this.#disarm();
  }

  /** Forgets, with nothing logged, the checkout of a proxy garbage-collected while out. */
  forget(watch: LeakWatch): void {
    const state = watch.state;
    if (state === "pending") {
      this.#unlink(watch);
      if (this.#pending === 0) this.#disarm();
    } else if (state === "reported") {
      watch.state = "over";
      this.#reported.delete(watch);
    }
  }

  /**
   * Stamps the watches started since the last stamp with one clock
   * reading, taken after all of them started: a start time is never
   * earlier than the checkout's, so a checkout is never reported before
   * the threshold; it may be reported later by the synchronous work done
   * between its hand-out and the next microtask turn. Then the timer is
   * armed if it is not.
   */
  #stamp(): void {
    if (this.#unstamped === null) return;
    const now = this.#clock();
    for (
      let watch: LeakWatch | null = this.#unstamped;
      watch !== null;
      watch = watch.next
    ) {
      watch.start = now;
    }
    this.#unstamped = null;
    if (this.#timer === undefined) this.#arm(now);
  }

  /** Takes a pending watch off the list; it is `over` until marked otherwise. */
  #unlink(watch: LeakWatch): void {
    watch.state = "over";
    if (watch === this.#unstamped) this.#unstamped = watch.next;
    const { prev, next } = watch;
    if (prev === null) this.#head = next;
    else prev.next = next;
    if (next === null) this.#tail = prev;
    else next.prev = prev;
    watch.prev = null;
    watch.next = null;
    this.#pending--;
  }

  /** Arms the timer for the first pending deadline; `now` is a fresh reading. */
  #arm(now: number): void {
    const first = this.#head;
    if (first === null) return this.#disarm();
    const delay = Math.min(
      Math.max(first.start + this.#thresholdMs - now, 0) + 1,
      MAX_TIMER_DELAY,
    );
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    const timer = unrefTimeout(this.#onTimer, delay);
    this.#timer = timer;
  }

  #disarm(): void {
    if (this.#timer === undefined) return;
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
