/**
 * {@linkcode Checkin}: the way back from a checkout, the engine's other
 * half. Every path by which a slot returns to the pool goes through it, so
 * the slot is released exactly once on each.
 *
 * - `proxy.close()`: reset (`_reset.ts`), `checkin`, then the policy takes
 *   the entry back. A double return is refused before any reset touches
 *   the connection; a connection returned with a query still running is
 *   terminated instead of reset; a failed reset invalidates the connection
 *   and the entry comes back empty. A `checkin` listener's error reaches
 *   the caller only after the slot is back.
 * - `proxy.invalidate()`, `proxy.detach()`, the last close of a detached
 *   proxy, a failed or abandoned checkout, and a proxy the garbage
 *   collector found still checked out.
 * - It watches delivered proxies for leaks (`_leak_guard.ts`).
 *
 * @module
 */

import { DisconnectionError } from "./errors.ts";
import type { Dialect } from "./dialect.ts";
import type { InstanceListeners } from "./_listeners.ts";
import {
  type CheckoutSite,
  LeakDetector,
  LeakWatch,
} from "./_leak_detector.ts";
import { LeakGuard } from "./_leak_guard.ts";
import type { PoolLog } from "./_log.ts";
import type { Policy } from "./_policy.ts";
import type { PoolContext } from "./_pool_context.ts";
import type { PoolEntry } from "./_pool_entry.ts";
import { RESOLVED } from "./_promises.ts";
import {
  type ProxiedConnection,
  proxyInternals,
  type ProxyOwner,
} from "./_proxied_connection.ts";
import { ResetOnReturn } from "./_reset.ts";

const NONE: unique symbol = Symbol("none");

/** The return path of one pool. */
export class Checkin<C> implements ProxyOwner<C> {
  readonly log: PoolLog;
  readonly #context: PoolContext<C>;
  readonly #policy: Policy<C, ProxiedConnection<C>>;
  readonly #reset: ResetOnReturn<C>;
  readonly #events: InstanceListeners;
  readonly #dialect: Dialect<C>;
  /**
   * The garbage-collection safety net: it holds, for a proxy out across a
   * sweep, its `leakDetectionMs` watch if it has one (which names its
   * entry), else its entry.
   */
  readonly #leaks: LeakGuard<
    ProxiedConnection<C>,
    PoolEntry<C> | LeakWatch<PoolEntry<C>>
  > = new LeakGuard(
    (proxy) =>
      proxy.isDetached
        ? null
        : proxyInternals.watchOf(proxy) ?? proxyInternals.entry(proxy),
    (held) => this.#collected(held),
  );

  /** Watches checkouts for `leakDetectionMs`; `null` when the option is off. */
  readonly leakDetector: LeakDetector | null;

  constructor(
    context: PoolContext<C>,
    policy: Policy<C, ProxiedConnection<C>>,
    resetOnReturn: "rollback" | "commit" | null,
    leakDetectionMs: number | null = null,
  ) {
    this.log = context.log;
    this.#context = context;
    this.leakDetector = leakDetectionMs === null
      ? null
      : new LeakDetector(context.log, context.clock, leakDetectionMs);
    this.#policy = policy;
    this.#reset = new ResetOnReturn(context, resetOnReturn);
    this.#events = context.events;
    this.#dialect = context.dialect;
  }

  /**
   * Starts watching a proxy just handed out, until it comes back.
   *
   * @param site Where its `connect()` was called (`leakDetectionMs`), or
   *   `null`.
   */
  track(
    proxy: ProxiedConnection<C>,
    entry: PoolEntry<C>,
    site: CheckoutSite | null,
  ): void {
    const detector = this.leakDetector;
    if (detector !== null) {
      proxyInternals.setWatch(
        proxy,
        // A checkout with no site of its own (not started by `connect()`)
        // is reported with the stack of its hand-out.
        detector.start(entry, site ?? detector.capture(this.track)),
      );
    }
    // After the watch is set: a sweep run here holds it for the proxy.
    this.#leaks.track(proxy);
  }

  /**
   * Stops watching a proxy that is no longer out; an instrumented pool
   * times its use, unless it was detached (it never comes back).
   */
  #untrack(proxy: ProxiedConnection<C>, detached = false): void {
    this.#leaks.untrack(proxy);
    if (this.leakDetector !== null) {
      const watch = proxyInternals.takeWatch(proxy);
      if (watch !== null) this.leakDetector.stop(watch);
    }
    const timings = this.#context.timings;
    if (timings !== null) {
      const since = proxyInternals.usedSince(proxy);
      if (!Number.isNaN(since)) {
        proxyInternals.setUsedSince(proxy, NaN);
        if (!detached) {
          const now = this.#context.clock();
          // A clock set back meanwhile (a given one) counts as no time.
          timings.use(now > since ? now - since : 0);
        }
      }
    }
  }

  /** Calls `fn` for each proxy still checked out (`pool.close()` past its timeout). */
  forEachOut(fn: (proxy: ProxiedConnection<C>) => void): void {
    this.#leaks.forEachOut(fn);
  }

  /**
   * A checkout the closed pool refuses: the entry (in use when `inUse`)
   * goes back, its connection closed, before the caller gets `error`.
   */
  async refuseClosed(
    entry: PoolEntry<C>,
    inUse: boolean,
    error: unknown,
  ): Promise<never> {
    if (inUse) entry.endUse();
    if (entry.neverCheckedOut) {
      try {
        await entry.close();
      } catch (secondary) {
        this.log.secondary(secondary);
      }
      this.#policy.discard(entry);
    } else {
      await this.#releaseQuietly(entry);
    }
    throw error;
  }

  /** An entry handed to a caller who aborted before any work: released untouched. */
  releaseUnused(entry: PoolEntry<C>, reason: unknown): Promise<never> {
    entry.endUse();
    if (entry.neverCheckedOut) this.#policy.discard(entry);
    else this.#releaseQuietly(entry);
    return Promise.reject(reason);
  }

  /**
   * Whatever failed after an entry was taken, the slot goes back before the
   * caller sees the error: a never checked-out entry is discarded (its
   * connection, if any, was invalidated where it failed); any other entry
   * is invalidated, checked in empty, and released.
   */
  async checkoutFailed(
    entry: PoolEntry<C>,
    error: unknown,
    proxy: ProxiedConnection<C> | null,
  ): Promise<void> {
    if (proxy !== null) {
      proxyInternals.finish(proxy);
      this.#untrack(proxy);
    }
    if (entry.neverCheckedOut) {
      entry.endUse();
      this.#policy.discard(entry);
      return;
    }
    await this.#invalidateQuietly(entry, error);
    entry.endUse();
    try {
      const fired = this.#events.fire("checkin", null, entry);
      if (fired) await fired;
    } catch (secondary) {
      this.log.secondary(secondary);
    }
    await this.#releaseQuietly(entry);
  }

  /**
   * `proxy.close()`: reset, `checkin`, release. A double return is refused
   * before any reset touches the connection; a connection returned with a
   * query still running is terminated instead of reset. `connection` is
   * `null` when the proxy was invalidated (already checked in).
   */
  checkin(
    proxy: ProxiedConnection<C>,
    entry: PoolEntry<C>,
    connection: C | null,
    detached: boolean,
  ): Promise<void> {
    this.#untrack(proxy, detached);
    if (connection === null) return RESOLVED;
    if (detached) return this.#reset.closeDetached(entry, connection);
    if (this.#isDoubleCheckin(entry)) return RESOLVED;
    if (this.#dialect.isBusy?.(connection) === true) {
      return this.#checkinBusy(entry, connection);
    }
    const compiled = this.#events.compiled;
    if (
      compiled.reset.length !== 0 || compiled.checkin.length !== 0 ||
      this.log.debugOn
    ) {
      return this.#checkinSlow(entry, connection, NONE);
    }
    // Fast path: no listeners, no debug lines.
    let reset: void | Promise<void>;
    try {
      reset = this.#reset.action(entry, connection);
    } catch (error) {
      return this.#checkinSlow(entry, connection, error);
    }
    if (reset === undefined) {
      entry.endUse(); // checked above, with nothing awaited since
      return this.#policy.release(entry) ?? RESOLVED;
    }
    return reset.then(
      () => this.#finishCheckin(entry, connection),
      (error: unknown) => this.#checkinSlow(entry, connection, error),
    );
  }

  /**
   * The return of a connection the driver still runs a query on: the
   * transaction status it last saw is stale, so it is never pooled as idle.
   * It is terminated and invalidated at once, and the slot is freed.
   */
  async #checkinBusy(entry: PoolEntry<C>, connection: C): Promise<void> {
    this.log.warn(
      `Connection ${entry.label} was returned with a query still running; terminating it`,
      { connection },
    );
    await this.#invalidateQuietly(
      entry,
      new DisconnectionError(
        `Connection ${entry.label} was returned to the pool with a query still running`,
      ),
    );
    return this.#finishCheckin(entry, null);
  }

  /**
   * The return with its `reset` event and debug lines; a reset that threw
   * (`resetError`, or one thrown here) is logged, the connection
   * invalidated, and the entry checked in empty. `close()` does not reject
   * for it.
   */
  async #checkinSlow(
    entry: PoolEntry<C>,
    connection: C,
    resetError: unknown,
  ): Promise<void> {
    if (resetError === NONE) {
      this.log.debug(`Connection ${entry.label} being returned to pool`, {
        connection,
      });
      try {
        await this.#reset.run(entry, connection);
      } catch (error) {
        resetError = error;
      }
    }
    let checkedIn: C | null = connection;
    if (resetError !== NONE) {
      this.log.error("Exception during reset or similar", {
        connection,
        error: resetError,
      });
      await this.#invalidateQuietly(entry, resetError);
      checkedIn = null;
    }
    return this.#finishCheckin(entry, checkedIn);
  }

  /**
   * The end of every return: the entry is no longer in use, `checkin`
   * fires, and the slot is released to the policy whatever the listener
   * did; then the listener's error, if any, is rethrown.
   */
  async #finishCheckin(
    entry: PoolEntry<C>,
    connection: C | null,
  ): Promise<void> {
    if (!this.#endUse(entry)) return;
    let listenerError: unknown = NONE;
    try {
      const fired = this.#events.fire("checkin", connection, entry);
      if (fired) await fired;
    } catch (error) {
      listenerError = error;
    }
    try {
      const released = this.#policy.release(entry);
      if (released) await released;
    } catch (error) {
      if (listenerError === NONE) listenerError = error;
      else this.log.secondary(error);
    }
    if (listenerError !== NONE) throw listenerError;
  }

  /** Ends one use of the entry; `false` (and a warning) on a double return. */
  #endUse(entry: PoolEntry<C>): boolean {
    if (this.#isDoubleCheckin(entry)) return false;
    entry.endUse();
    return true;
  }

  /** `true` (and a warning) when the entry is not checked out. */
  #isDoubleCheckin(entry: PoolEntry<C>): boolean {
    if (entry.users > 0) return false;
    this.log.warn(`Double checkin attempted on ${entry}`);
    return true;
  }

  /** Hard invalidation on a path that already has an error to report. */
  async #invalidateQuietly(entry: PoolEntry<C>, error: unknown): Promise<void> {
    try {
      await entry.invalidate(error);
    } catch (secondary) {
      this.log.secondary(secondary);
    }
  }

  async #releaseQuietly(entry: PoolEntry<C>): Promise<void> {
    try {
      const released = this.#policy.release(entry);
      if (released) await released;
    } catch (error) {
      this.log.secondary(error);
    }
  }

  // ------------------------------------------------- invalidation, detach

  /** `proxy.invalidate()` on a checked-out proxy: hard-invalidate, then check in at once. */
  async invalidateCheckedOut(
    proxy: ProxiedConnection<C>,
    entry: PoolEntry<C>,
    error: unknown,
  ): Promise<void> {
    this.#untrack(proxy);
    let first: unknown = NONE;
    try {
      await entry.invalidate(error);
    } catch (failure) {
      first = failure;
    }
    try {
      await this.#finishCheckin(entry, null);
    } catch (failure) {
      if (first === NONE) first = failure;
      else this.log.secondary(failure);
    }
    if (first !== NONE) throw first;
  }

  /**
   * `proxy.detach()`: the entry lets go of the connection and is released
   * at once (no reset, no `checkin`), then `detach` fires.
   */
  async detach(
    proxy: ProxiedConnection<C>,
    entry: PoolEntry<C>,
    connection: C,
  ): Promise<void> {
    this.#untrack(proxy, true);
    entry.detachConnection(connection);
    let first: unknown = NONE;
    if (this.#endUse(entry)) {
      try {
        const released = this.#policy.release(entry);
        if (released) await released;
      } catch (error) {
        first = error;
      }
    }
    try {
      const fired = this.#events.fire("detach", connection, entry);
      if (fired) await fired;
    } catch (error) {
      if (first === NONE) first = error;
      else this.log.secondary(error);
    }
    if (first !== NONE) throw first;
  }

  /** `proxy.invalidate()` on a detached proxy: `closeDetached`, then terminate. */
  invalidateDetached(connection: C, error: unknown): Promise<void> {
    return this.#reset.invalidateDetached(connection, error);
  }

  /**
   * A proxy was garbage-collected while checked out: warn, terminate the
   * connection (no reset, no event) and release the slot. A shared
   * `StaticPool` connection still used by other proxies stays.
   */
  #collected(held: PoolEntry<C> | LeakWatch<PoolEntry<C>>): void {
    const entry = held instanceof LeakWatch ? held.entry : held;
    // Its own watch only: a shared connection's other proxies stay watched.
    if (held instanceof LeakWatch) this.leakDetector?.forget(held);
    this.log.warn(
      `The garbage collector is trying to clean up non-checked-in connection ${entry.label}, which will be terminated. Please ensure that pooled connections are returned to the pool explicitly, either by calling close() or with await using.`,
      { connection: entry.dbapiConnection },
    );
    if (!this.#endUse(entry)) return;
    if (entry.users > 0) return;
    void (async () => {
      await entry.terminateAbandoned();
      await this.#releaseQuietly(entry);
    })();
  }
}
