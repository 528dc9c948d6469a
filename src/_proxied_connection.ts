/**
 * One checkout, {@linkcode ProxiedConnection} (SQLAlchemy's
 * `_ConnectionFairy`): implements `PoolProxiedConnection`. It holds the
 * connection it was handed, its entry, and whether it was closed or
 * detached; what returning, detaching or invalidating does is its
 * {@linkcode ProxyOwner}'s business (the engine), which it calls through
 * that small interface only.
 *
 * @module
 */

import type { InvalidateOptions, PoolProxiedConnection } from "./connection.ts";
import type { LeakWatch } from "./_leak_detector.ts";
import type { PoolLog } from "./_log.ts";
import type { PoolEntry } from "./_pool_entry.ts";
import { RESOLVED } from "./_promises.ts";

/** What a proxy asks of the pool it came from. */
export interface ProxyOwner<C> {
  /** The pool's log. */
  readonly log: PoolLog;
  /**
   * `proxy.close()`: the whole return (reset, `checkin`, the slot back to
   * the pool), or the real close of a detached connection. `connection` is
   * `null` when the proxy was invalidated (already checked in).
   */
  checkin(
    proxy: ProxiedConnection<C>,
    entry: PoolEntry<C>,
    connection: C | null,
    detached: boolean,
  ): Promise<void>;
  /** `proxy.detach()`: the slot goes back at once, the connection stays with the proxy. */
  detach(
    proxy: ProxiedConnection<C>,
    entry: PoolEntry<C>,
    connection: C,
  ): Promise<void>;
  /** `proxy.invalidate()` on a checked-out proxy: hard-invalidate, then check in at once. */
  invalidateCheckedOut(
    proxy: ProxiedConnection<C>,
    entry: PoolEntry<C>,
    error: unknown,
  ): Promise<void>;
  /** `proxy.invalidate()` on a detached proxy: terminate its connection. */
  invalidateDetached(connection: C, error: unknown): Promise<void>;
}

/** Internal access to a proxy's state, for the engine. */
export interface ProxyInternals {
  entry<C>(proxy: ProxiedConnection<C>): PoolEntry<C>;
  /** Points the proxy at a new connection (reconnect during checkout). */
  setConnection<C>(proxy: ProxiedConnection<C>, connection: C | null): void;
  /** Ends the proxy without returning it (failure path, garbage collection). */
  finish<C>(proxy: ProxiedConnection<C>): void;
  /** One more nested checkout on the same proxy (`SingletonContextPool`). */
  nest<C>(proxy: ProxiedConnection<C>): void;
  /** `true` once `close()` ran to the end (or the proxy was finished). */
  isFinished<C>(proxy: ProxiedConnection<C>): boolean;
  /** When `connect()` handed the proxy out (instrumented pools), or `NaN`. */
  usedSince<C>(proxy: ProxiedConnection<C>): number;
  setUsedSince<C>(proxy: ProxiedConnection<C>, time: number): void;
  /** Keeps the proxy's `leakDetectionMs` watch. */
  setWatch<C>(
    proxy: ProxiedConnection<C>,
    watch: LeakWatch<PoolEntry<C>>,
  ): void;
  /** The proxy's `leakDetectionMs` watch, or `null` (none, or taken). */
  watchOf<C>(proxy: ProxiedConnection<C>): LeakWatch<PoolEntry<C>> | null;
  /** The proxy's `leakDetectionMs` watch, once: `null` after, or if none. */
  takeWatch<C>(proxy: ProxiedConnection<C>): LeakWatch<PoolEntry<C>> | null;
}

/** The state of a proxy that only some checkouts need. */
interface ProxyExtras<C> {
  /** A detached proxy's own copy of `info`. */
  detachedInfo: Map<unknown, unknown> | null;
  /** When `connect()` handed the proxy out (instrumented pools), or `NaN`. */
  usedSince: number;
  /** Its `leakDetectionMs` watch, while one is kept. */
  watch: LeakWatch<PoolEntry<C>> | null;
}

/** Filled in by the class's static block. */
export const proxyInternals = {} as ProxyInternals;

/** One checkout of a pool entry. */
export class ProxiedConnection<C> implements PoolProxiedConnection<C> {
  readonly #owner: ProxyOwner<C>;
  readonly #entry: PoolEntry<C>;
  #conn: C | null;
  #closing: Promise<void> | null = null;
  #detached = false;
  #finished = false;
  #nesting = 1;
  /**
   * What only some checkouts need, made the first time one does: one
   * field, so that a plain checkout's proxy stays as small as it was.
   */
  #extras: ProxyExtras<C> | null = null;

  static {
    proxyInternals.entry = (proxy) => proxy.#entry;
    proxyInternals.setConnection = (proxy, connection) => {
      proxy.#conn = connection;
    };
    proxyInternals.finish = (proxy) => {
      proxy.#conn = null;
      proxy.#finished = true;
    };
    proxyInternals.nest = (proxy) => {
      proxy.#nesting++;
    };
    proxyInternals.isFinished = (proxy) => proxy.#finished;
    proxyInternals.usedSince = (proxy) => proxy.#extras?.usedSince ?? NaN;
    proxyInternals.setUsedSince = (proxy, time) => {
      proxy.#extrasOf().usedSince = time;
    };
    proxyInternals.setWatch = (proxy, watch) => {
      proxy.#extrasOf().watch = watch;
    };
    proxyInternals.watchOf = (proxy) => proxy.#extras?.watch ?? null;
    proxyInternals.takeWatch = (proxy) => {
      const extras = proxy.#extras;
      if (extras === null) return null;
      const watch = extras.watch;
      extras.watch = null;
      return watch;
    };
  }

  constructor(owner: ProxyOwner<C>, entry: PoolEntry<C>, connection: C) {
    this.#owner = owner;
    this.#entry = entry;
    this.#conn = connection;
  }

  /** The driver connection, or `null` once returned or invalidated. */
  get dbapiConnection(): C | null {
    return this.#conn;
  }

  /** The driver connection, or `null` (same as `dbapiConnection`). */
  get driverConnection(): C | null {
    return this.#conn;
  }

  /** The entry's `info`; a copy once detached. */
  get info(): Map<unknown, unknown> {
    return this.#extras?.detachedInfo ?? this.#entry.info;
  }

  /** The entry's `recordInfo`; `null` once detached. */
  get recordInfo(): Map<unknown, unknown> | null {
    return this.#detached ? null : this.#entry.recordInfo;
  }

  #extrasOf(): ProxyExtras<C> {
    return this.#extras ??= { detachedInfo: null, usedSince: NaN, watch: null };
  }

  /** `true` while the proxy holds a live connection. */
  get isValid(): boolean {
    return this.#conn !== null;
  }

  /** `true` after `detach()` or once finished. */
  get isDetached(): boolean {
    return this.#detached || this.#finished;
  }

  close(): Promise<void> {
    if (this.#closing !== null) return this.#closing;
    if (--this.#nesting > 0) return RESOLVED;
    const conn = this.#conn;
    const detached = this.#detached;
    this.#conn = null;
    this.#finished = true;
    this.#closing = this.#owner.checkin(this, this.#entry, conn, detached);
    return this.#closing;
  }

  detach(): Promise<void> {
    const conn = this.#conn;
    if (this.#detached || this.#finished || conn === null) return RESOLVED;
    this.#detached = true;
    this.#extrasOf().detachedInfo = new Map(this.#entry.info);
    return this.#owner.detach(this, this.#entry, conn);
  }

  invalidate(error?: unknown, options?: InvalidateOptions): Promise<void> {
    const conn = this.#conn;
    if (conn === null) {
      this.#owner.log.warn("Can't invalidate an already-closed connection.");
      return RESOLVED;
    }
    if (options?.soft === true) {
      if (this.#detached) return RESOLVED;
      return this.#entry.invalidate(error, { soft: true });
    }
    this.#conn = null;
    if (this.#detached) {
      this.#finished = true;
      return this.#owner.invalidateDetached(conn, error);
    }
    this.#finished = true;
    return this.#owner.invalidateCheckedOut(this, this.#entry, error);
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
