/**
 * {@linkcode IdleKeeper}: the upkeep of a queue pool's idle list, with one
 * timer per pool, armed for the earliest thing due.
 *
 * - `idleTimeoutMs`: an idle connection unused this long is closed
 *   (`close` event), oldest first, never below `minIdle`.
 * - `minIdle`: the idle list is filled up to it in the background, after
 *   the pool starts and after connections are closed, within the pool's
 *   capacity. A failed background creation is logged, never thrown; with
 *   `createBackoffMs` the fill tries again when the backoff ends, without
 *   it on the next close or return.
 * - The timer never keeps the process alive (`_timers.ts`), and
 *   `dispose()` stops the upkeep until a connection goes idle again.
 *
 * @module
 */

import { CreateBackoffError } from "./errors.ts";
import type { Deque } from "./_deque.ts";
import { closeIdle } from "./_idle_closer.ts";
import { errorText, type PoolLog } from "./_log.ts";
import type { PoolEntry } from "./_pool_entry.ts";
import { type TimerHandle, unrefTimeout } from "./_timers.ts";

/** What the keeper needs from its queue pool. */
export interface IdleKeeperHost<C> {
  readonly log: PoolLog;
  readonly clock: () => number;
  /** The pool's idle list; its front is the entry idle longest. */
  readonly idle: Deque<PoolEntry<C>>;
  /** A new entry counted against the capacity, or `null` when none is left. */
  reserve(): PoolEntry<C> | null;
  /** Takes back an entry the keeper opened: to a waiter or the idle list. */
  release(entry: PoolEntry<C>): void | Promise<void>;
  /** Frees the capacity of an entry whose open failed. */
  discard(entry: PoolEntry<C>): void;
  /** Closes an entry taken off the idle list and frees its capacity. */
  close(entry: PoolEntry<C>): Promise<void>;
}

/** The settings of an {@linkcode IdleKeeper}. */
export interface IdleKeeperOptions {
  readonly idleTimeoutMs: number | null;
  readonly minIdle: number;
  /** Whether a failed creation starts a backoff, after which the fill tries again. */
  readonly backsOff: boolean;
}

/** Closes connections idle too long and keeps `minIdle` warm. */
export class IdleKeeper<C> {
  readonly #host: IdleKeeperHost<C>;
  readonly #idleTimeoutMs: number;
  readonly #minIdle: number;
  readonly #backsOff: boolean;
  #timer: TimerHandle | null = null;
  /** When the armed timer fires (a clock reading). */
  #timerAt = Infinity;
  /** When the fill is due again, or `Infinity`. */
  #fillAt = Infinity;
  /** Background opens in flight. */
  #filling = 0;
  #stopped = false;
  /** Entries gone idle since the last stamp (see {@linkcode IdleKeeper.idled}). */
  #unstamped: PoolEntry<C>[] = [];
  readonly #onStamp = (): void => this.#stamp();

  constructor(host: IdleKeeperHost<C>, options: IdleKeeperOptions) {
    this.#host = host;
    this.#idleTimeoutMs = options.idleTimeoutMs ?? Infinity;
    this.#minIdle = options.minIdle;
    this.#backsOff = options.backsOff;
    if (this.#minIdle > 0) this.fillSoon();
  }

  /**
   * An entry went idle: its time is noted on the next microtask turn, with
   * one clock reading for every entry gone idle meanwhile, taken after all
   * of them (an idle time is never overstated, so no connection is closed
   * early), and the timer is made to cover it. An entry that came back
   * without a connection (invalidated) while the idle list is at or below
   * `minIdle` is opened again in the background, in place: a checkout that
   * takes it meanwhile shares that open.
   */
  idled(entry: PoolEntry<C>): void {
    this.#stopped = false;
    if (this.#unstamped.push(entry) === 1) queueMicrotask(this.#onStamp);
    if (
      this.#minIdle > 0 && entry.dbapiConnection === null &&
      !entry.isOpening && this.#host.idle.length <= this.#minIdle
    ) {
      entry.open().catch((error: unknown) => this.#logFailure(error));
    }
  }

  /** Notes the time of the entries gone idle since the last stamp. */
  #stamp(): void {
    const entries = this.#unstamped;
    if (entries.length === 0) return;
    const now = this.#host.clock();
    for (const entry of entries) entry.markIdle(now);
    entries.length = 0;
    // `#arm` keeps a timer due sooner; one due later (a fill waiting for a
    // backoff) is brought forward.
    if (this.#idleTimeoutMs !== Infinity && !this.#stopped) {
      this.#arm(now + this.#idleTimeoutMs);
    }
  }

  /** Fills the idle list up to `minIdle` on the next turn of the event loop. */
  fillSoon(): void {
    if (this.#minIdle === 0 || this.#stopped) return;
    this.#fillAt = this.#host.clock();
    this.#arm(this.#fillAt);
  }

  /** Stops the upkeep (`dispose()`), until a connection goes idle again. */
  stop(): void {
    this.#stopped = true;
    this.#fillAt = Infinity;
    this.#disarm();
  }

  #arm(at: number): void {
    if (this.#timer !== null && this.#timerAt <= at) return;
    this.#disarm();
    this.#timerAt = at;
    this.#timer = unrefTimeout(
      () => this.#run(),
      Math.max(0, at - this.#host.clock()),
    );
  }

  #disarm(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    this.#timerAt = Infinity;
  }

  #run(): void {
    this.#timer = null;
    this.#timerAt = Infinity;
    if (this.#stopped) return;
    this.#stamp();
    const now = this.#host.clock();
    const reaped = this.#reap(now);
    if (reaped > 0 || this.#fillAt <= now) this.#fill();
    const oldest = this.#host.idle.first();
    const expiry = oldest === undefined ||
        this.#host.idle.length <= this.#minIdle
      ? Infinity
      : oldest.idleSince + this.#idleTimeoutMs;
    const next = Math.min(expiry, this.#fillAt);
    if (next !== Infinity) this.#arm(next);
  }

  /** Closes the entries idle longer than `idleTimeoutMs`, keeping `minIdle`. */
  #reap(now: number): number {
    const idle = this.#host.idle;
    let reaped = 0;
    for (
      let oldest = idle.first();
      oldest !== undefined && idle.length > this.#minIdle &&
      now - oldest.idleSince >= this.#idleTimeoutMs;
      oldest = idle.first()
    ) {
      idle.shift();
      reaped++;
      closeIdle(this.#host.log, oldest, now, this.#host.close(oldest));
    }
    return reaped;
  }

  /** Opens entries in the background until `minIdle` are idle or opening. */
  #fill(): void {
    this.#fillAt = Infinity;
    while (this.#host.idle.length + this.#filling < this.#minIdle) {
      const entry = this.#host.reserve();
      if (entry === null) return;
      this.#filling++;
      entry.open().then(() => {
        this.#filling--;
        return this.#host.release(entry);
      }, (error: unknown) => {
        this.#filling--;
        this.#host.discard(entry);
        this.#failed(error);
      }).catch((error: unknown) =>
        this.#host.log.error(
          `Exception returning a connection opened for minIdle: ${
            errorText(error)
          }`,
          { error },
        )
      );
    }
  }

  /** Logs a failed background open: a warning, or a debug line for a backoff. */
  #logFailure(error: unknown): void {
    if (error instanceof CreateBackoffError) {
      this.#host.log.debug(`minIdle fill backing off: ${errorText(error)}`);
    } else {
      this.#host.log.warn(
        `Exception creating a connection for minIdle: ${errorText(error)}`,
        { error },
      );
    }
  }

  /** A background open failed: logged; tried again when the backoff ends. */
  #failed(error: unknown): void {
    this.#logFailure(error);
    if (error instanceof CreateBackoffError) {
      if (!this.#stopped) {
        // A creation tried after the backoff is in flight (no time left):
        // look again after one more backoff rather than spin.
        const wait = error.retryInMs > 0 ? error.retryInMs : error.backoffMs;
        this.#fillAt = this.#host.clock() + wait;
        this.#arm(this.#fillAt);
      }
      return;
    }
    if (this.#backsOff) this.fillSoon();
  }
}
