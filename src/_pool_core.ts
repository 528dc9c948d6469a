/**
 * The internal engine shared by every pool class: checkout (the entry's
 * preparation, pre-ping, the `DisconnectionError` retry loop, the failure
 * path), return (reset, `checkin`), detach and logging. Each entry owns its
 * connection's lifecycle (`_pool_entry.ts`). The pool classes differ only in their {@linkcode Policy}:
 * where entries come from and where they go back to.
 *
 * @module
 */

import type { Creator } from "./connection.ts";
import type { Dialect } from "./dialect.ts";
import type { PoolEventName, PoolResetState } from "./events.ts";
import {
  DisconnectionError,
  InvalidatePoolError,
  InvalidRequestError,
} from "./errors.ts";
import type { InstanceListeners } from "./_listeners.ts";
import { LeakGuard } from "./_leak_guard.ts";
import { errorText, type PoolLog, reasonSuffix } from "./_log.ts";
import { PoolContext } from "./_pool_context.ts";
import { PoolEntry } from "./_pool_entry.ts";
import { ignore, isPromise, RESOLVED } from "./_promises.ts";
import { ProxiedConnection, proxyInternals } from "./_proxied_connection.ts";

/** Where a pool class's entries come from and go back to. */
export interface Policy<C> {
  /**
   * Gets an entry for one checkout without waiting: an entry (idle, or new
   * and unconnected; the core then checks it out), or `null` when the caller
   * must {@linkcode Policy.wait}. May throw (exhausted, no wait allowed).
   */
  acquire(): PoolEntry<C> | null;
  /**
   * Called right after {@linkcode Policy.acquire} returned `null`: a promise
   * of a finished checkout (the policy calls {@linkcode PoolCore.checkout}
   * when it hands an entry over). Only policies whose `acquire()` can return
   * `null` have it.
   */
  wait?(signal: AbortSignal | undefined): Promise<ProxiedConnection<C>>;
  /** Takes back an entry that is no longer in use (after `checkin`, detach, failure). */
  put(entry: PoolEntry<C>): void | Promise<void>;
  /** Forgets a new entry whose first connect failed, freeing its capacity. */
  discard(entry: PoolEntry<C>): void;
  /** Closes what the pool keeps idle; see each class. */
  dispose(): Promise<void>;
  /** The class's `status()` string. */
  status(): string;
}

/** The normalised options every pool has. */
export interface CoreConfig<C> {
  readonly creator: Creator<C>;
  readonly dialect: Dialect<C>;
  readonly resetOnReturn: "rollback" | "commit" | null;
  readonly recycleMs: number | null;
  readonly prePing: boolean;
  readonly clock: () => number;
  readonly clockIsDefault: boolean;
  readonly connectTimeoutMs: number | null;
  readonly validationTimeoutMs: number | null;
}

const NORMAL_RESET: PoolResetState = Object.freeze({
  transactionWasReset: false,
  terminateOnly: false,
  asyncioSafe: true,
});
const DETACHED_RESET: PoolResetState = Object.freeze({
  transactionWasReset: false,
  terminateOnly: true,
  asyncioSafe: true,
});
const ALREADY_RESET: PoolResetState = Object.freeze({
  transactionWasReset: true,
  terminateOnly: false,
  asyncioSafe: true,
});

/** Reconnects allowed by one checkout's validation loop (SQLAlchemy's count). */
const RECONNECTS = 2;

const NONE: unique symbol = Symbol("none");

/** The engine behind one pool instance. */
export class PoolCore<C> {
  readonly dialect: Dialect<C>;
  readonly log: PoolLog;
  readonly listeners: InstanceListeners;
  /** What every entry of this pool shares. */
  readonly context: PoolContext<C>;
  readonly resetOnReturn: "rollback" | "commit" | null;
  readonly prePing: boolean;
  readonly clock: () => number;
  /** `true` with the real clock: waits may then stamp deadlines lazily. */
  readonly clockIsDefault: boolean;
  /** Most milliseconds a pre-ping or a reset on return may take, or `null`. */
  readonly validationTimeoutMs: number | null;
  /** Set right after construction by the pool class. */
  policy!: Policy<C>;
  /** Dispose generation: entries made before the last `dispose()` are closed on return. */
  generation = 0;
  readonly #leaks: LeakGuard<ProxiedConnection<C>, PoolEntry<C>> =
    new LeakGuard(
      (proxy) => proxy.isDetached ? null : proxyInternals.entry(proxy),
      (entry) => this.#collected(entry),
    );

  constructor(
    config: CoreConfig<C>,
    log: PoolLog,
    listeners: InstanceListeners,
  ) {
    this.dialect = config.dialect;
    this.resetOnReturn = config.resetOnReturn;
    this.prePing = config.prePing;
    this.clock = config.clock;
    this.clockIsDefault = config.clockIsDefault;
    this.validationTimeoutMs = config.validationTimeoutMs;
    this.log = log;
    this.listeners = listeners;
    this.context = new PoolContext({
      creator: config.creator,
      dialect: config.dialect,
      log,
      events: listeners,
      clock: config.clock,
      recycleMs: config.recycleMs,
      connectTimeoutMs: config.connectTimeoutMs,
    });
  }

  /** A new, unconnected entry of the current generation. */
  newEntry(): PoolEntry<C> {
    return new PoolEntry(this.context, this.generation);
  }

  // ---------------------------------------------------------------- events

  /** Whether any listener (class-level or instance) exists for `event`. */
  has(event: PoolEventName): boolean {
    return this.listeners.has(event);
  }

  /** Calls the listeners of `event` in order (see {@linkcode InstanceListeners.fire}). */
  fire(
    event: PoolEventName,
    a?: unknown,
    b?: unknown,
    c?: unknown,
  ): void | Promise<void> {
    return this.listeners.fire(event, a, b, c);
  }

  // ------------------------------------------------------------ validation

  /**
   * Bounds a pre-ping or a reset by `validationTimeoutMs`: past it the
   * promise rejects with a {@linkcode DisconnectionError} (the caller then
   * terminates and invalidates the connection), and the late outcome of
   * `work` is ignored.
   */
  #bounded<T>(work: Promise<T>, entry: PoolEntry<C>, what: string): Promise<T> {
    const timeoutMs = this.validationTimeoutMs;
    if (timeoutMs === null) return work;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        work.then(ignore, ignore);
        reject(
          new DisconnectionError(
            `Connection ${entry.label}: ${what} took longer than validationTimeoutMs (${timeoutMs} ms)`,
          ),
        );
      }, timeoutMs);
      work.then(
        (value) => {
          clearTimeout(timer);
          resolve(value);
        },
        (error: unknown) => {
          clearTimeout(timer);
          reject(error);
        },
      );
    });
  }

  /** Hard invalidation on a path that already has an error to report. */
  async #invalidateQuietly(entry: PoolEntry<C>, error: unknown): Promise<void> {
    try {
      await entry.invalidate(error);
    } catch (secondary) {
      this.log.secondary(secondary);
    }
  }

  // -------------------------------------------------------------- checkout

  /** `connect()`: get an entry from the policy and check it out (§5.1). */
  connect(signal: AbortSignal | undefined): Promise<ProxiedConnection<C>> {
    if (signal !== undefined && signal.aborted) {
      return Promise.reject(signal.reason);
    }
    let got: PoolEntry<C> | null;
    try {
      got = this.policy.acquire();
    } catch (error) {
      return Promise.reject(error);
    }
    if (got === null) return this.policy.wait!(signal);
    const checkedOut = this.checkout(got, signal);
    return isPromise(checkedOut) ? checkedOut : Promise.resolve(checkedOut);
  }

  /**
   * Checks out an entry the caller now owns: synchronously when it has a
   * usable connection and nothing needs to run (the fast path), else
   * asynchronously (§5.1 steps 3-6).
   */
  checkout(
    entry: PoolEntry<C>,
    signal: AbortSignal | undefined,
  ): ProxiedConnection<C> | Promise<ProxiedConnection<C>> {
    entry.addUser();
    if (!this.prePing && this.listeners.compiled.checkout.length === 0) {
      const connection = entry.readyConnection();
      if (connection !== null) return this.#deliver(entry, connection);
    }
    if (signal === undefined) return this.#checkoutSlow(entry);
    if (signal.aborted) return this.#giveBack(entry, signal.reason);
    return this.#raceAbort(this.#checkoutSlow(entry), signal);
  }

  /** An entry granted to a caller who aborted before any work: give it back untouched. */
  #giveBack(entry: PoolEntry<C>, reason: unknown): Promise<never> {
    entry.removeUser();
    if (entry.neverCheckedOut) this.policy.discard(entry);
    else this.#putQuietly(entry);
    return Promise.reject(reason);
  }

  /**
   * Rejects promptly when `signal` aborts while the checkout is still
   * running; the checkout then completes in the background and its proxy is
   * returned normally (D6).
   */
  #raceAbort(
    work: Promise<ProxiedConnection<C>>,
    signal: AbortSignal,
  ): Promise<ProxiedConnection<C>> {
    return new Promise((resolve, reject) => {
      let aborted = false;
      const onAbort = (): void => {
        aborted = true;
        reject(signal.reason);
      };
      signal.addEventListener("abort", onAbort, { once: true });
      work.then(
        (proxy) => {
          signal.removeEventListener("abort", onAbort);
          if (!aborted) return resolve(proxy);
          proxy.close().catch((error: unknown) =>
            this.log.error(
              `Exception returning a connection whose checkout was aborted: ${
                errorText(error)
              }`,
              { error },
            )
          );
        },
        (error: unknown) => {
          signal.removeEventListener("abort", onAbort);
          if (!aborted) return reject(error);
          this.log.error(
            `Exception during a checkout that was aborted: ${errorText(error)}`,
            { error },
          );
        },
      );
    });
  }

  #deliver(entry: PoolEntry<C>, connection: C): ProxiedConnection<C> {
    entry.markCheckedOut();
    const proxy = new ProxiedConnection(this, entry, connection);
    this.#track(proxy);
    if (this.log.debugOn) {
      this.log.debug(`Connection ${entry.label} checked out from pool`, {
        connection,
      });
    }
    return proxy;
  }

  async #checkoutSlow(entry: PoolEntry<C>): Promise<ProxiedConnection<C>> {
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
      await this.#failCheckout(entry, error, null);
      throw error;
    }
    const proxy = this.#deliver(entry, connection);
    if (this.prePing || this.has("checkout")) {
      try {
        await this.#validate(proxy, entry);
      } catch (error) {
        if (!proxyInternals.isFinished(proxy)) {
          await this.#failCheckout(entry, error, proxy);
        }
        throw error;
      }
    }
    return proxy;
  }

  /** Pre-ping and the `checkout` listeners, with up to two reconnects (§5.3). */
  async #validate(
    proxy: ProxiedConnection<C>,
    entry: PoolEntry<C>,
  ): Promise<void> {
    let reconnects = 0;
    for (;;) {
      const connection = proxy.dbapiConnection!;
      const skipPing = entry.takeSkipNextPing();
      try {
        if (this.prePing) await this.#ping(entry, connection, skipPing);
        const fired = this.fire("checkout", connection, entry, proxy);
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
        await entry.reopen();
        proxyInternals.setConnection(proxy, entry.dbapiConnection);
        if (++reconnects === RECONNECTS) {
          this.log.info("Reconnection attempts exhausted on checkout");
          proxyInternals.finish(proxy);
          this.#untrack(proxy);
          await this.invalidateCheckedOut(proxy, entry, undefined);
          throw new InvalidRequestError("This connection is closed");
        }
      }
    }
  }

  async #ping(
    entry: PoolEntry<C>,
    connection: C,
    fresh: boolean,
  ): Promise<void> {
    if (fresh) {
      this.log.debug(`Connection ${entry.label} is fresh, skipping pre-ping`);
      return;
    }
    this.log.debug(`Pool pre-ping on connection ${entry.label}`);
    let alive: boolean;
    try {
      const pinged = this.dialect.ping!(connection);
      alive = isPromise(pinged)
        ? await this.#bounded(pinged, entry, "pre-ping")
        : pinged;
    } catch (error) {
      if (error instanceof DisconnectionError) throw error;
      if (this.dialect.isDisconnect?.(error, connection) === true) {
        throw new InvalidatePoolError(
          `Pre-ping found connection ${entry.label} disconnected`,
          { cause: error },
        );
      }
      throw error;
    }
    if (!alive) {
      throw new InvalidatePoolError(
        `Pre-ping found connection ${entry.label} disconnected`,
      );
    }
  }

  /** Whatever failed after an entry was taken, the slot goes back (§5.4). */
  async #failCheckout(
    entry: PoolEntry<C>,
    error: unknown,
    proxy: ProxiedConnection<C> | null,
  ): Promise<void> {
    if (proxy !== null) {
      proxyInternals.finish(proxy);
      this.#untrack(proxy);
    }
    if (entry.neverCheckedOut) {
      // A new entry: its connection (if any) was invalidated where it failed.
      entry.removeUser();
      this.policy.discard(entry);
      return;
    }
    await this.#invalidateQuietly(entry, error);
    entry.removeUser();
    try {
      const fired = this.fire("checkin", null, entry);
      if (fired) await fired;
    } catch (secondary) {
      this.log.secondary(secondary);
    }
    await this.#putQuietly(entry);
  }

  async #putQuietly(entry: PoolEntry<C>): Promise<void> {
    try {
      const put = this.policy.put(entry);
      if (put) await put;
    } catch (error) {
      this.log.secondary(error);
    }
  }

  // ---------------------------------------------------------------- return

  /** `proxy.close()` (§6.1). `connection` is `null` if it was invalidated. */
  release(
    proxy: ProxiedConnection<C>,
    entry: PoolEntry<C>,
    connection: C | null,
    detached: boolean,
    transactionWasReset = false,
  ): Promise<void> {
    this.#untrack(proxy);
    if (connection === null) return RESOLVED;
    if (detached) return this.#closeDetached(entry, connection);
    // A double return is refused before any reset touches the connection (§13.1 #16).
    if (this.#isDoubleCheckin(entry)) return RESOLVED;
    if (this.dialect.isBusy?.(connection) === true) {
      return this.#releaseBusy(entry, connection);
    }
    const compiled = this.listeners.compiled;
    if (
      compiled.reset.length === 0 && compiled.checkin.length === 0 &&
      !this.log.debugOn && !transactionWasReset
    ) {
      // Fast path: no listeners, no debug lines.
      let reset: void | Promise<void>;
      try {
        reset = this.#resetAction(entry, connection);
      } catch (error) {
        return this.#releaseSlow(entry, connection, NORMAL_RESET, error);
      }
      if (reset === undefined) {
        entry.removeUser(); // checked above, with nothing awaited since
        return this.policy.put(entry) ?? RESOLVED;
      }
      return this.#bounded(reset, entry, "reset on return").then(
        () => this.#checkin(entry, connection),
        (error: unknown) =>
          this.#releaseSlow(entry, connection, NORMAL_RESET, error),
      );
    }
    return this.#releaseSlow(
      entry,
      connection,
      transactionWasReset ? ALREADY_RESET : NORMAL_RESET,
      NONE,
    );
  }

  /**
   * A connection returned while the driver still has a query outstanding:
   * the transaction status it last saw is stale, so it is never pooled as
   * idle. It is terminated and invalidated at once, without waiting for the
   * query, and the slot is freed.
   */
  async #releaseBusy(entry: PoolEntry<C>, connection: C): Promise<void> {
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
    return this.#checkin(entry, null);
  }

  /** Ends one use of the entry; `false` (and a warning) on a double return. */
  #releaseUse(entry: PoolEntry<C>): boolean {
    if (this.#isDoubleCheckin(entry)) return false;
    entry.removeUser();
    return true;
  }

  /** `true` (and a warning) when the entry is not checked out. */
  #isDoubleCheckin(entry: PoolEntry<C>): boolean {
    if (entry.users > 0) return false;
    this.log.warn(`Double checkin attempted on ${entry}`);
    return true;
  }

  async #releaseSlow(
    entry: PoolEntry<C>,
    connection: C,
    state: PoolResetState,
    resetError: unknown,
  ): Promise<void> {
    if (resetError === NONE) {
      this.log.debug(`Connection ${entry.label} being returned to pool`, {
        connection,
      });
      try {
        const fired = this.fire("reset", connection, entry, state);
        if (fired) await fired;
        const reset = this.#resetAction(entry, connection, state);
        if (reset) await this.#bounded(reset, entry, "reset on return");
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
    return this.#checkin(entry, checkedIn);
  }

  /** `checkin` event, then the policy takes the entry back, whatever the listener did (F3). */
  async #checkin(entry: PoolEntry<C>, connection: C | null): Promise<void> {
    if (!this.#releaseUse(entry)) return;
    let listenerError: unknown = NONE;
    try {
      const fired = this.fire("checkin", connection, entry);
      if (fired) await fired;
    } catch (error) {
      listenerError = error;
    }
    try {
      const put = this.policy.put(entry);
      if (put) await put;
    } catch (error) {
      if (listenerError === NONE) listenerError = error;
      else this.log.secondary(error);
    }
    if (listenerError !== NONE) throw listenerError;
  }

  /** The reset action of `resetOnReturn` (§6.2), without the event. */
  #resetAction(
    entry: PoolEntry<C>,
    connection: C,
    state: PoolResetState = NORMAL_RESET,
  ): void | Promise<void> {
    const mode = this.resetOnReturn;
    if (mode === "rollback") {
      if (state.transactionWasReset) {
        this.log.debug(
          `Connection ${entry.label} reset, transaction already reset`,
        );
        return;
      }
      if (this.dialect.inTransaction?.(connection) === false) return;
      if (this.log.debugOn) {
        this.log.debug(`Connection ${entry.label} rollback-on-return`);
      }
      return this.dialect.rollback?.(connection);
    }
    if (mode === "commit") {
      if (this.log.debugOn) {
        this.log.debug(`Connection ${entry.label} commit-on-return`);
      }
      return this.dialect.commit?.(connection);
    }
  }

  /** Closing a detached proxy: reset (terminateOnly), `closeDetached`, close (§8). */
  async #closeDetached(entry: PoolEntry<C>, connection: C): Promise<void> {
    this.log.debug(`Connection ${entry.label} being returned to pool`, {
      connection,
    });
    if (this.dialect.isBusy?.(connection) === true) {
      this.log.warn(
        `Detached connection ${entry.label} was closed with a query still running; terminating it`,
        { connection },
      );
      return this.#closeDetachedConnection(connection, entry.label, true);
    }
    let resetFailed = false;
    try {
      const fired = this.fire("reset", connection, entry, DETACHED_RESET);
      if (fired) await fired;
      const reset = this.#resetAction(entry, connection, DETACHED_RESET);
      if (reset) await this.#bounded(reset, entry, "reset on close");
    } catch (error) {
      resetFailed = true;
      this.log.error("Exception during reset or similar", {
        connection,
        error,
      });
    }
    await this.#closeDetachedConnection(connection, entry.label, resetFailed);
  }

  /**
   * `closeDetached`, then close (or terminate) the driver connection; a
   * listener's error is rethrown once the connection is closed.
   */
  async #closeDetachedConnection(
    connection: C,
    label: string,
    terminate: boolean,
  ): Promise<void> {
    let listenerError: unknown = NONE;
    try {
      const fired = this.fire("closeDetached", connection);
      if (fired) await fired;
    } catch (error) {
      listenerError = error;
    }
    await this.context.closeDriver(connection, label, terminate);
    if (listenerError !== NONE) throw listenerError;
  }

  /** Hard invalidation of a detached proxy's connection (F9). */
  async terminateDetached(connection: C, error: unknown): Promise<void> {
    this.log.info(`Invalidate detached connection${reasonSuffix(error)}`, {
      connection,
      error,
    });
    await this.#closeDetachedConnection(connection, "<detached>", true);
  }

  /** `proxy.invalidate()` on a checked-out proxy: invalidate, then check in at once (§7.1). */
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
      await this.#checkin(entry, null);
    } catch (failure) {
      if (first === NONE) first = failure;
      else this.log.secondary(failure);
    }
    if (first !== NONE) throw first;
  }

  /** `proxy.detach()` (§8). */
  async detach(
    proxy: ProxiedConnection<C>,
    entry: PoolEntry<C>,
    connection: C,
  ): Promise<void> {
    this.#untrack(proxy);
    entry.detachConnection(connection);
    let first: unknown = NONE;
    if (this.#releaseUse(entry)) {
      try {
        const put = this.policy.put(entry);
        if (put) await put;
      } catch (error) {
        first = error;
      }
    }
    try {
      const fired = this.fire("detach", connection, entry);
      if (fired) await fired;
    } catch (error) {
      if (first === NONE) first = error;
      else this.log.secondary(error);
    }
    if (first !== NONE) throw first;
  }

  // ------------------------------------------------------ garbage collection

  #track(proxy: ProxiedConnection<C>): void {
    this.#leaks.track(proxy);
  }

  #untrack(proxy: ProxiedConnection<C>): void {
    this.#leaks.untrack(proxy);
  }

  /**
   * A proxy was garbage-collected while checked out (D8): warn, terminate
   * the connection (no reset, no events) and release the slot.
   */
  #collected(entry: PoolEntry<C>): void {
    const connection = entry.dbapiConnection;
    this.log.warn(
      `The garbage collector is trying to clean up non-checked-in connection ${entry.label}, which will be terminated. Please ensure that pooled connections are returned to the pool explicitly, either by calling close() or with await using.`,
      { connection },
    );
    if (!this.#releaseUse(entry)) return;
    if (entry.users > 0) return; // a shared StaticPool connection stays
    void (async () => {
      await entry.terminateAbandoned();
      await this.#putQuietly(entry);
    })();
  }
}
