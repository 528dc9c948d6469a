/**
 * One checkout, {@linkcode ProxiedConnection}: implements `PoolProxiedConnection`.
 *
 * @module
 */

import type { InvalidateOptions, PoolProxiedConnection } from "./connection.ts";
import type { PoolCore } from "./_pool_core.ts";
import type { PoolEntry } from "./_pool_entry.ts";

const RESOLVED: Promise<void> = Promise.resolve();

/** Internal access to a proxy's state, for the pool core. */
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
}

/** Filled in by the class's static block. */
export const proxyInternals = {} as ProxyInternals;

/** One checkout of a pool entry. */
export class ProxiedConnection<C> implements PoolProxiedConnection<C> {
  readonly #core: PoolCore<C>;
  readonly #entry: PoolEntry<C>;
  #conn: C | null;
  #closing: Promise<void> | null = null;
  #detached = false;
  #finished = false;
  #nesting = 1;
  #detachedInfo: Map<unknown, unknown> | null = null;

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
  }

  constructor(core: PoolCore<C>, entry: PoolEntry<C>, connection: C) {
    this.#core = core;
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
    return this.#detachedInfo ?? this.#entry.info;
  }

  /** The entry's `recordInfo`; `null` once detached. */
  get recordInfo(): Map<unknown, unknown> | null {
    return this.#detached ? null : this.#entry.recordInfo;
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
    if (this.#closing !== null) return this.#closing;
    this.#closing = this.#core.release(this, this.#entry, conn, detached);
    return this.#closing;
  }

  detach(): Promise<void> {
    const conn = this.#conn;
    if (this.#detached || this.#finished || conn === null) return RESOLVED;
    this.#detached = true;
    this.#detachedInfo = new Map(this.#entry.info);
    return this.#core.detach(this, this.#entry, conn);
  }

  invalidate(error?: unknown, options?: InvalidateOptions): Promise<void> {
    const conn = this.#conn;
    if (conn === null) {
      this.#core.log.warn("Can't invalidate an already-closed connection.");
      return RESOLVED;
    }
    if (options?.soft === true) {
      if (this.#detached) return RESOLVED;
      return this.#entry.invalidate(error, { soft: true });
    }
    this.#conn = null;
    if (this.#detached) {
      this.#finished = true;
      return this.#core.terminateDetached(conn, error);
    }
    this.#finished = true;
    return this.#core.invalidateCheckedOut(this, this.#entry, error);
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
