/**
 * The contract between the engine and a pool class: the class's
 * {@linkcode Policy} says where entries come from and where they go back
 * to; the {@linkcode PolicyHost} is what the engine gives it in return.
 *
 * - The engine builds the policy once, in its own constructor, from the
 *   factory its class registered, and passes itself as the host.
 * - One call gets an entry: {@linkcode Policy.acquire} returns an entry at
 *   once (the engine checks it out), or a promise of the finished checkout
 *   when the caller must wait (the policy checks the entry out through
 *   {@linkcode PolicyHost.checkout} when it hands one over, so a waiting
 *   checkout costs no extra promise).
 * - The engine owns the dispose generation; every class asks the same
 *   question, {@linkcode PolicyHost.closesOnReturn}, before taking an entry
 *   back.
 *
 * @module
 */

import type { PoolCounts } from "./_counts.ts";
import type { CheckoutSite } from "./_leak_detector.ts";
import type { PoolLog } from "./_log.ts";
import type { PoolEntry } from "./_pool_entry.ts";

/**
 * What the engine gives a policy.
 *
 * @typeParam C The driver connection type.
 * @typeParam P What a finished checkout is (the proxy); opaque to policies.
 */
export interface PolicyHost<C, P> {
  /** The pool's log. */
  readonly log: PoolLog;
  /** The pool's clock, in milliseconds (deadlines of waiting checkouts). */
  readonly clock: () => number;
  /** The pool's running counts (`waits` is the policy's to count). */
  readonly counts: PoolCounts;
  /** A new entry, with no connection yet. */
  newEntry(): PoolEntry<C>;
  /**
   * Checks out an entry the policy hands to a waiting caller; the result
   * (a proxy, or a promise of one) settles that caller's checkout as is.
   *
   * @param site What that caller's `acquire` was given.
   */
  checkout(
    entry: PoolEntry<C>,
    signal: AbortSignal | undefined,
    site: CheckoutSite | null,
  ): P | Promise<P>;
  /**
   * `true` for an entry checked out before the last `dispose()`: its
   * connection is closed when it comes back, not pooled again. The one
   * rule every class applies on return.
   */
  closesOnReturn(entry: PoolEntry<C>): boolean;
}

/**
 * Where a pool class's entries come from and go back to.
 *
 * @typeParam C The driver connection type.
 * @typeParam P What a finished checkout is (the proxy); opaque to policies.
 */
export interface Policy<C, P> {
  /**
   * Gets an entry for one checkout: an entry now (idle, or new with no
   * connection; the engine then checks it out), or a promise of the
   * finished checkout when the caller must wait. May throw (exhausted and
   * not allowed to wait, a second checkout of an `AssertionPool`).
   *
   * @param signal The caller's abort signal, for a wait.
   * @param site Where the caller called `connect()` (`leakDetectionMs`),
   *   or `null`: kept with a waiting caller, for
   *   {@linkcode PolicyHost.checkout}.
   */
  acquire(
    signal: AbortSignal | undefined,
    site: CheckoutSite | null,
  ): PoolEntry<C> | Promise<P>;
  /** Takes back an entry that is no longer in use (after `checkin`, detach, a failure). */
  release(entry: PoolEntry<C>): void | Promise<void>;
  /** Forgets a new entry whose first open failed, freeing its capacity. */
  discard(entry: PoolEntry<C>): void;
  /** Closes what the pool keeps idle (the engine has moved the generation on). */
  dispose(): Promise<void>;
  /**
   * `pool.close()`: rejects every waiting caller with `error` at once. A
   * class without a wait queue leaves it out.
   */
  close?(error: unknown): void;
  /** The class's `status()` string. */
  status(): string;
  /** The parts of `pool.stats()` only the class knows. */
  gauges(): PolicyGauges;
}

/** The parts of `pool.stats()` a policy reports. */
export interface PolicyGauges {
  /** Open connections kept idle. */
  readonly idle: number;
  /** Checkouts waiting. */
  readonly pending: number;
  /** Most connections open at a time, or `null` when unbounded. */
  readonly max: number | null;
  /** Most connections kept idle, or `null` when unbounded. */
  readonly idleMax: number | null;
  /** Fewest connections kept idle (the queue pool's `minIdle`). */
  readonly idleMin: number;
}

/**
 * Makes a class's policy for one pool, from the class's normalised options.
 *
 * @typeParam O The class's normalised options.
 */
export type PolicyFactory<O> = <C, P>(
  host: PolicyHost<C, P>,
  options: O,
) => Policy<C, P>;
