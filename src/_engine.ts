/**
 * {@linkcode Engine}: what every pool class does the same way. A checkout
 * asks the class's policy for an entry, prepares it (open, replace if stale
 * or closed), hands out a proxy, then validates it (pre-ping, `checkout`
 * listeners, up to two reconnects); a return resets the connection, fires
 * `checkin` and releases the slot to the policy.
 *
 * - The policy is built here, once, from the factory its class registered;
 *   it only says where entries come from and go back to.
 * - The entry owns its connection (open, stale, close, invalidate); the
 *   proxy holds one checkout. Everything on the way back (the proxy's
 *   `close()`, `detach()`, `invalidate()`, a failed or abandoned checkout)
 *   is the other half of the engine, {@linkcode Checkin}.
 * - The engine owns the dispose generation, and the one rule that closes an
 *   entry checked out before the last `dispose()` when it comes back.
 * - `close()` starts the pool's {@linkcode Shutdown} (`_shutdown.ts`);
 *   from then on every checkout is refused and every entry coming back is
 *   closed.
 * - A checkout of an idle connection with nothing to run (no pre-ping, no
 *   `checkout` listener, nothing stale) is synchronous and allocates only
 *   the proxy and the returned promise; its return, with no `reset` or
 *   `checkin` listener and no debug lines, allocates nothing.
 *
 * @module
 */

import type { Creator, PoolProxiedConnection } from "./connection.ts";
import type { Dialect } from "./dialect.ts";
import {
  DisconnectionError,
  InvalidatePoolError,
  InvalidRequestError,
} from "./errors.ts";
import type { PoolCounts } from "./_counts.ts";
import { Checkin } from "./_checkin.ts";
import type { CheckoutSite } from "./_leak_detector.ts";
import type { InstanceListeners } from "./_listeners.ts";
import { errorText, type PoolLog } from "./_log.ts";
import type { CommonOptions } from "./_options.ts";
import type { Policy, PolicyHost } from "./_policy.ts";
import type { PoolStats } from "./pool_stats.ts";
import type { HandleErrorContext } from "./events.ts";
import { PoolContext } from "./_pool_context.ts";
import { PoolEntry } from "./_pool_entry.ts";
import { isPromise, raceAbort } from "./_promises.ts";
import { ProxiedConnection, proxyInternals } from "./_proxied_connection.ts";
import { Shutdown } from "./_shutdown.ts";
import type { PoolTimings } from "./_timings.ts";

/** The policy of one pool, as its engine sees it. */
export type EnginePolicy<C> = Policy<C, ProxiedConnection<C>>;

/** What the engine gives its policy. */
export type EngineHost<C> = PolicyHost<C, ProxiedConnection<C>>;

/** Reconnects allowed by one checkout's validation loop (SQLAlchemy's count). */
const RECONNECTS = 2;

/** The engine behind one pool instance. */
export class Engine<C> implements EngineHost<C> {
  readonly log: PoolLog;
  readonly clock: () => number;
  /** What every entry of this pool shares. */
  readonly context: PoolContext<C>;
  /** Where this pool's entries come from and go back to. */
  readonly policy: EnginePolicy<C>;
  /** The way back: every proxy's owner. */
  readonly returns: Checkin<C>;
  readonly #events: InstanceListeners;
  readonly #prePing: boolean;
  /** Moved on by every `dispose()`. */
  #generation = 0;
  /** Set by the first `close()`. */
  #shutdown: Shutdown<C> | null = null;

  /**
   * @param options The pool's normalised options, as its class's table
   *   made them.
   * @param makePolicy Builds the class's policy; called once, here.
   */
  constructor(
    creator: Creator<C>,
    options: CommonOptions,
    log: PoolLog,
    events: InstanceListeners,
    makePolicy: (host: EngineHost<C>) => EnginePolicy<C>,
  ) {
    this.log = log;
    this.clock = options.clock;
    this.#events = events;
    this.#prePing = options.prePing;
    this.context = new PoolContext({
      creator,
      // The options are checked once for every connection type.
      dialect: options.dialect as Dialect<C>,
      log,
      events,
      clock: options.clock,
      recycleMs: options.recycleMs,
      connectTimeoutMs: options.connectTimeoutMs,
      validationTimeoutMs: options.validationTimeoutMs,
      createBackoffMs: options.createBackoffMs,
    });
    this.policy = makePolicy(this);
    this.returns = new Checkin(
      this.context,
      this.policy,
      options.resetOnReturn,
      options.leakDetectionMs,
    );
  }

  /** The pool's running counts. */
  get counts(): PoolCounts {
    return this.context.counts;
  }

  /** A new entry with no connection. */
  newEntry(): PoolEntry<C> {
    return new PoolEntry(this.context, this.#generation);
  }

  /** `true` for an entry checked out before the last `dispose()`. */
  closesOnReturn(entry: PoolEntry<C>): boolean {
    return entry.generation !== this.#generation || this.#shutdown !== null;
  }

  /**
   * `pool.dispose()`: entries checked out now will be closed when they come
   * back; the policy closes what it keeps idle.
   */
  dispose(): Promise<void> {
    this.#generation++;
    return this.policy.dispose();
  }

  /**
   * `pool.close()`: refuses checkouts from now on, then drains (see
   * {@linkcode Shutdown}). A second call returns the first one's promise.
   */
  close(timeoutMs: number): Promise<void> {
    if (this.#shutdown === null) {
      this.#shutdown = new Shutdown(
        this.context,
        this.returns,
        timeoutMs,
        (error) => this.policy.close?.(error),
        () => this.dispose(),
      );
    }
    return this.#shutdown.done;
  }

  /** A new `PoolClosedError` once `close()` was called, else `null`. */
  closedError(): Error | null {
    return this.#shutdown === null ? null : this.#shutdown.refusal();
  }

  /**
   * `pool.invalidate(connection?, error?)`: pool-wide invalidation by time
   * (a connection opened after the last one does not move the time again),
   * and a hard invalidation of `connection` if it is still valid.
   */
  async invalidatePool(
    connection: PoolProxiedConnection<C> | null | undefined,
    error: unknown,
  ): Promise<void> {
    let openedAt: number | null = null;
    if (connection instanceof ProxiedConnection && !connection.isDetached) {
      openedAt = proxyInternals.entry(connection as ProxiedConnection<C>)
        .openedAt;
    }
    this.context.invalidatePool(openedAt);
    if (connection?.isValid) await connection.invalidate(error);
  }

  /**
   * `withConnection()`'s error path, before the connection goes back:
   * fires `handleError`, then, if the context still says disconnect,
   * invalidates the pool (unless told not to; as `pool.invalidate()`, a
   * connection opened before the last pool-wide invalidation does not move
   * the time again) and hard-invalidates the connection. Never throws: a
   * listener's error, or one from the invalidation, is logged, and the
   * caller rethrows its own error.
   */
  async handleError(
    proxy: ProxiedConnection<C>,
    error: unknown,
  ): Promise<void> {
    const entry = proxyInternals.entry(proxy);
    let isDisconnect = false;
    try {
      isDisconnect =
        this.context.dialect.isDisconnect?.(error, proxy.dbapiConnection) ===
          true;
    } catch (failure) {
      this.log.secondary(failure);
    }
    const context: HandleErrorContext<C> = {
      error,
      connection: proxy,
      entry,
      isDisconnect,
      invalidatePoolOnDisconnect: true,
    };
    try {
      const fired = this.#events.fire("handleError", context);
      if (fired) await fired;
    } catch (listenerError) {
      this.log.error(
        `Exception in a handleError listener: ${errorText(listenerError)}`,
        { error: listenerError },
      );
    }
    if (context.isDisconnect !== true) return;
    if (context.invalidatePoolOnDisconnect !== false) {
      this.context.invalidatePool(proxy.isDetached ? null : entry.openedAt);
    }
    if (!proxy.isValid) return;
    try {
      await proxy.invalidate(error);
    } catch (failure) {
      this.log.secondary(failure);
    }
  }

  // -------------------------------------------------------------- checkout

  /** `pool.connect()`: an entry from the policy, checked out. */
  connect(signal: AbortSignal | undefined): Promise<ProxiedConnection<C>> {
    const timings = this.context.timings;
    // Read before the checkout, which may make a connection synchronously.
    const start = timings === null ? 0 : this.clock();
    const counts = this.context.counts;
    if (signal !== undefined && signal.aborted) {
      counts.aborts++;
      return Promise.reject(signal.reason);
    }
    if (this.#shutdown !== null) {
      return Promise.reject(this.#shutdown.refusal());
    }
    // `leakDetectionMs`: the caller's stack, before any wait.
    const detector = this.returns.leakDetector;
    const site = detector === null ? null : detector.capture(this.connect);
    let got: PoolEntry<C> | Promise<ProxiedConnection<C>>;
    try {
      got = this.policy.acquire(signal, site);
    } catch (error) {
      return Promise.reject(error);
    }
    // A waiter's checkout is counted where it is made (below), its timeout
    // or abort by the wait queue: no promise is added to count them.
    if (!(got instanceof PoolEntry)) {
      return timings === null ? got : this.#timed(got, start);
    }
    const checkedOut = this.checkout(got, signal, site);
    if (isPromise(checkedOut)) {
      return timings === null ? checkedOut : this.#timed(checkedOut, start);
    }
    if (timings !== null) this.#served(checkedOut, timings, start);
    return Promise.resolve(checkedOut);
  }

  /**
   * An instrumented checkout that resolves later: reported where the pool
   * is instrumented when it is served (nowhere, if every instrumentation
   * was disposed meanwhile).
   */
  #timed(
    checkout: Promise<ProxiedConnection<C>>,
    start: number,
  ): Promise<ProxiedConnection<C>> {
    return checkout.then((proxy) => {
      const timings = this.context.timings;
      if (timings !== null) this.#served(proxy, timings, start);
      return proxy;
    });
  }

  /**
   * An instrumented checkout resolved: its wait since `start` (the
   * `connect()` call), and the start of its use.
   */
  #served(
    proxy: ProxiedConnection<C>,
    timings: PoolTimings,
    start: number,
  ): void {
    const now = this.clock();
    // A clock set back meanwhile (a given one) counts as no time.
    timings.wait(now > start ? now - start : 0);
    // A nested checkout of the same proxy (SingletonContextPool) keeps the
    // first one's start.
    if (Number.isNaN(proxyInternals.usedSince(proxy))) {
      proxyInternals.setUsedSince(proxy, now);
    }
  }

  /** `pool.stats()`: the class's gauges and the pool's counts. */
  stats(): PoolStats {
    const counts = this.context.counts;
    const { idle, pending, max } = this.policy.gauges();
    return {
      open: counts.open,
      idle,
      checkedOut: counts.checkedOut,
      pending,
      max,
      checkouts: counts.checkouts,
      waits: counts.waits,
      timeouts: counts.timeouts,
      aborts: counts.aborts,
      creates: counts.creates,
      createFailures: counts.createFailures,
      invalidations: counts.invalidations,
      recycles: counts.recycles,
      closes: counts.closes,
    };
  }

  /**
   * Checks out an entry the caller now holds: synchronously when its
   * connection can be handed out with nothing to run, else asynchronously.
   * If `signal` aborts meanwhile, the caller's promise rejects at once; the
   * checkout completes in the background and its proxy is returned
   * normally, so events stay balanced.
   */
  checkout(
    entry: PoolEntry<C>,
    signal: AbortSignal | undefined,
    site: CheckoutSite | null,
  ): ProxiedConnection<C> | Promise<ProxiedConnection<C>> {
    if (this.#shutdown !== null) {
      return this.returns.refuseClosed(entry, false, this.#shutdown.refusal());
    }
    entry.beginUse(this.#generation);
    if (!this.#prePing && this.#events.compiled.checkout.length === 0) {
      const connection = entry.readyConnection();
      if (connection !== null) {
        this.context.counts.checkouts++;
        return this.#deliver(entry, connection, site);
      }
    }
    if (signal === undefined) return this.#checkoutSlow(entry, site);
    if (signal.aborted) {
      this.context.counts.aborts++;
      return this.returns.releaseUnused(entry, signal.reason);
    }
    return raceAbort(
      this.#checkoutSlow(entry, site),
      signal,
      (proxy) => {
        // Made after its caller gave up: an abort, not a checkout.
        this.context.counts.checkouts--;
        this.context.counts.aborts++;
        proxy.close().catch((error: unknown) =>
          this.log.error(
            `Exception returning a connection whose checkout was aborted: ${
              errorText(error)
            }`,
            { error },
          )
        );
      },
      (error) => {
        this.context.counts.aborts++;
        this.log.error(
          `Exception during a checkout that was aborted: ${errorText(error)}`,
          { error },
        );
      },
    );
  }

  #deliver(
    entry: PoolEntry<C>,
    connection: C,
    site: CheckoutSite | null,
  ): ProxiedConnection<C> {
    entry.markCheckedOut();
    const proxy = new ProxiedConnection(this.returns, entry, connection);
    this.returns.track(proxy, entry, site);
    if (this.log.debugOn) {
      this.log.debug(`Connection ${entry.label} checked out from pool`, {
        connection,
      });
    }
    return proxy;
  }

  async #checkoutSlow(
    entry: PoolEntry<C>,
    site: CheckoutSite | null,
  ): Promise<ProxiedConnection<C>> {
    let connection: C | null;
    try {
      const ready = entry.prepare();
      if (ready) await ready;
      connection = entry.dbapiConnection;
      if (connection === null) {
        // A shared entry (StaticPool) invalidated by another proxy meanwhile.
        throw new InvalidRequestError("This connection is closed");
      }
    } catch (error) {
      await this.returns.checkoutFailed(entry, error, null);
      throw error;
    }
    if (this.#shutdown !== null) {
      // The pool was closed while the connection was being made.
      return this.returns.refuseClosed(entry, true, this.#shutdown.refusal());
    }
    const proxy = this.#deliver(entry, connection, site);
    if (this.#prePing || this.#events.has("checkout")) {
      try {
        await this.#validate(proxy, entry);
      } catch (error) {
        if (!proxyInternals.isFinished(proxy)) {
          await this.returns.checkoutFailed(entry, error, proxy);
        }
        throw error;
      }
    }
    this.context.counts.checkouts++;
    return proxy;
  }

  /**
   * Pre-ping and the `checkout` listeners. A `DisconnectionError` from
   * either replaces the connection on the same entry (and, for an
   * `InvalidatePoolError`, marks every older connection stale), then the
   * round starts again; after two reconnects the checkout fails with "This
   * connection is closed". A connection opened during this checkout is
   * never pinged.
   */
  async #validate(
    proxy: ProxiedConnection<C>,
    entry: PoolEntry<C>,
  ): Promise<void> {
    let reconnects = 0;
    for (;;) {
      const connection = proxy.dbapiConnection!;
      const skipPing = entry.takeSkipNextPing();
      try {
        if (this.#prePing) {
          if (skipPing) {
            this.log.debug(
              `Connection ${entry.label} is fresh, skipping pre-ping`,
            );
          } else {
            await entry.ping();
          }
        }
        const fired = this.#events.fire("checkout", connection, entry, proxy);
        if (fired) await fired;
        return;
      } catch (error) {
        if (!(error instanceof DisconnectionError)) throw error;
        const poolWide = error instanceof InvalidatePoolError;
        this.log.info(
          poolWide
            ? `Disconnection detected on checkout, invalidating all pooled connections prior to current timestamp (reason: ${
              errorText(error)
            })`
            : `Disconnection detected on checkout, invalidating individual connection ${entry.label} (reason: ${
              errorText(error)
            })`,
          { error },
        );
        const openedAt = entry.openedAt;
        await entry.invalidate(error);
        if (poolWide) this.context.invalidatePool(openedAt);
        proxyInternals.setConnection(proxy, null);
        await entry.open();
        proxyInternals.setConnection(proxy, entry.dbapiConnection);
        if (++reconnects === RECONNECTS) {
          this.log.info("Reconnection attempts exhausted on checkout");
          proxyInternals.finish(proxy);
          await this.returns.invalidateCheckedOut(proxy, entry, undefined);
          throw new InvalidRequestError("This connection is closed");
        }
      }
    }
  }
}
