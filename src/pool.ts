/**
 * The abstract {@linkcode Pool} base class: what every pool class offers
 * (checkout, dispose, recreate, invalidation, listeners). It validates the
 * options with its class's table and builds the engine; `PoolOptions` lives
 * in `pool_options.ts` and is exported here too.
 *
 * @module
 */

import type {
  ListenOptions,
  PoolEventMap,
  PoolEventName,
  PoolListener,
} from "./events.ts";
import type { Creator, PoolProxiedConnection } from "./connection.ts";
import type {
  CloseOptions,
  ConnectOptions,
  PoolOptions,
} from "./pool_options.ts";
import type { PoolStats } from "./pool_stats.ts";
import { Engine } from "./_engine.ts";
import { addClassListener, InstanceListeners } from "./_listeners.ts";
import { PoolLog } from "./_log.ts";
import { checkOptions, describe, type GivenOptions } from "./_options.ts";
import { addLegacyListener } from "./_legacy_listeners.ts";
import { findPoolClass, poolInternals } from "./_pool_classes.ts";
import { ProxiedConnection } from "./_proxied_connection.ts";

export type { Creator } from "./connection.ts";
export type {
  CloseOptions,
  ConnectOptions,
  PoolOptions,
} from "./pool_options.ts";
export type { PoolStats } from "./pool_stats.ts";

/**
 * The base of every pool class: checkout, return, invalidation, events,
 * `dispose()` and `recreate()`. Use a concrete class:
 * {@linkcode QueuePool} (the default), `NullPool`, `StaticPool`,
 * `AssertionPool`, or `SingletonContextPool`.
 *
 * @typeParam C The driver connection type.
 *
 * @example Registering a listener for every pool
 * ```ts
 * import { Pool, QueuePool } from "@dbpool/pool";
 *
 * using _everywhere = Pool.on("connect", (_conn, entry) => {
 *   entry.info.set("connectedAt", Date.now());
 * });
 * await using pool = new QueuePool(() => ({}));
 * await using conn = await pool.connect();
 * console.log(conn.info.has("connectedAt")); // true
 * ```
 */
export abstract class Pool<C> implements AsyncDisposable {
  readonly #engine: Engine<C>;
  readonly #creator: Creator<C>;
  readonly #given: GivenOptions;
  readonly #listeners: InstanceListeners;
  readonly #echo: boolean | "debug";
  readonly #loggingName: string | undefined;

  static {
    poolInternals.engine = <T>(pool: object): Engine<T> =>
      (pool as Pool<T>).#engine;
  }

  /**
   * Makes a pool. No connection is made until the first `connect()`.
   *
   * @param creator Makes a driver connection; receives the entry that will own it.
   * @param options The pool's options: a plain object, whose own
   *   enumerable keys only are read.
   * @throws {TypeError} For options that are not a plain object, an unknown
   *   option key or a value of the wrong type.
   * @throws {RangeError} For a number out of range.
   */
  constructor(creator: Creator<C>, options?: PoolOptions<C>) {
    const className = new.target.name;
    if (typeof creator !== "function") {
      throw new TypeError(
        `Cannot create pool: "creator" must be a function, received ${typeof creator}`,
      );
    }
    const spec = findPoolClass(new.target);
    if (spec === undefined) {
      throw new TypeError(
        `Cannot create pool: ${className} is not a registered pool class`,
      );
    }
    const { given, normalised } = checkOptions(
      options,
      spec.options,
      className,
    );
    this.#creator = creator;
    this.#given = given;
    this.#echo = normalised.echo;
    this.#loggingName = normalised.loggingName;
    this.#listeners = new InstanceListeners(this);
    const log = new PoolLog(
      className,
      normalised.loggingName,
      normalised.logger,
      normalised.echo,
    );
    this.#engine = new Engine<C>(
      creator,
      normalised,
      log,
      this.#listeners,
      (host) => spec.makePolicy(host, normalised),
    );
    for (const [event, listener] of normalised.events) {
      this.#listeners.add(event, listener);
    }
    for (const listener of normalised.listeners) this.addListener(listener);
  }

  /**
   * Checks out a connection.
   *
   * @param options `signal` to abort the checkout.
   * @returns A proxy over the connection; return it with `close()` or
   *   `await using`.
   * @throws {PoolTimeoutError} When a queue pool stays exhausted past `timeoutMs`.
   * @throws {InvalidRequestError} When a checkout's reconnect attempts are exhausted.
   *
   * @example
   * ```ts
   * import { QueuePool } from "@dbpool/pool";
   *
   * await using pool = new QueuePool(() => ({ query: (sql: string) => sql }));
   * await using conn = await pool.connect();
   * conn.dbapiConnection!.query("SELECT 1");
   * ```
   */
  connect(options?: ConnectOptions): Promise<PoolProxiedConnection<C>> {
    return this.#engine.connect(options?.signal);
  }

  /**
   * Checks out a connection, calls `fn` with it and returns what `fn`
   * returns; the connection always goes back to the pool. When `fn` throws
   * (or rejects), the `handleError` event fires with a
   * `HandleErrorContext`; then, if `context.isDisconnect` is
   * `true` (at first, the dialect's `isDisconnect(error)`), the connection
   * is hard-invalidated and, unless a listener set
   * `context.invalidatePoolOnDisconnect = false`, the pool is invalidated
   * as by {@linkcode Pool.invalidate}. Then `fn`'s error is rethrown,
   * unchanged. A listener that throws is logged (as an error) and does not
   * replace `fn`'s error; nor does a failure to return the connection.
   *
   * @param fn Runs with the checked-out connection; must not keep it.
   * @param options `signal` to abort the checkout (not `fn`).
   * @returns What `fn` returned (awaited).
   * @throws What `fn` threw, or what `connect()` throws.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { QueuePool } from "@dbpool/pool";
   *
   * await using pool = new QueuePool(() => ({ query: (sql: string) => sql }));
   * const rows = await pool.withConnection((conn) =>
   *   conn.dbapiConnection!.query("SELECT 1")
   * );
   * assert.equal(rows, "SELECT 1");
   * assert.equal(pool.stats().checkedOut, 0);
   * ```
   */
  async withConnection<T>(
    fn: (connection: PoolProxiedConnection<C>) => T | Promise<T>,
    options?: ConnectOptions,
  ): Promise<T> {
    const connection = await this.connect(options);
    let result: T;
    try {
      result = await fn(connection);
    } catch (error) {
      const engine = this.#engine;
      if (connection instanceof ProxiedConnection) {
        await engine.handleError(connection as ProxiedConnection<C>, error);
      }
      try {
        await connection.close();
      } catch (closeError) {
        engine.log.secondary(closeError);
      }
      throw error;
    }
    await connection.close();
    return result;
  }

  /**
   * Closes the idle connections now. Connections checked out at this moment
   * keep working and are closed when they are returned (not re-pooled). The
   * pool stays usable: later checkouts make new connections. It does not
   * wait for checked-out connections and does not reject waiting callers.
   *
   * @example
   * ```ts
   * import { QueuePool } from "@dbpool/pool";
   *
   * const pool = new QueuePool(() => ({ close() {} }));
   * await (await pool.connect()).close();
   * await pool.dispose();
   * console.log(pool.checkedIn()); // 0
   * ```
   */
  dispose(): Promise<void> {
    return this.#engine.dispose();
  }

  /**
   * Shuts the pool down for good, draining it. From the call on,
   * `connect()` rejects with `PoolClosedError`, and so does every
   * checkout waiting for a connection, at once. Idle connections are
   * closed at once; a checked-out connection is closed when it comes back
   * (reset first, as on any return, then `checkin` and `close` fire); one
   * being created is closed when it arrives. Connections still checked out
   * after `timeoutMs` are terminated (`dialect.terminate`, else `close`;
   * `invalidate` and `checkin` fire) and their proxies become invalid.
   * Detached connections are not the pool's and are left alone.
   *
   * Unlike {@linkcode Pool.dispose} (SQLAlchemy's meaning: the pool stays
   * usable), a closed pool stays closed; `[Symbol.asyncDispose]` still
   * calls `dispose()`.
   *
   * @param options `timeoutMs` (default `30_000`).
   * @returns A promise that resolves once the pool has nothing open; a
   *   second call returns the same promise. Errors closing connections are
   *   logged, not thrown.
   * @throws {TypeError} (as a rejection) When `timeoutMs` is not a number.
   * @throws {RangeError} (as a rejection) When `timeoutMs` is negative or not finite.
   *
   * @example Draining at shutdown
   * ```ts
   * import assert from "node:assert/strict";
   * import { PoolClosedError, QueuePool } from "@dbpool/pool";
   *
   * const pool = new QueuePool(() => ({ close() {} }));
   * const conn = await pool.connect();
   * const closed = pool.close({ timeoutMs: 1_000 });
   * await assert.rejects(pool.connect(), PoolClosedError);
   * await conn.close(); // comes back: closed, and the pool is drained
   * await closed;
   * assert.equal(pool.checkedOut(), 0);
   * ```
   */
  close(options?: CloseOptions): Promise<void> {
    const timeoutMs: unknown = options?.timeoutMs ?? 30_000;
    if (typeof timeoutMs !== "number") {
      return Promise.reject(
        new TypeError(
          `Cannot close pool: "timeoutMs" must be a number, received ${
            describe(timeoutMs)
          }`,
        ),
      );
    }
    if (!Number.isFinite(timeoutMs) || timeoutMs < 0) {
      return Promise.reject(
        new RangeError(
          `Cannot close pool: "timeoutMs" must be a finite number >= 0, received ${timeoutMs}`,
        ),
      );
    }
    return this.#engine.close(timeoutMs);
  }

  /**
   * A new pool of the same class with the same creator, options and
   * instance listeners (as they are now). It connects nothing and leaves
   * this pool alone. Replacing a pool is `await old.dispose(); pool =
   * old.recreate();`.
   *
   * @example
   * ```ts
   * import { QueuePool } from "@dbpool/pool";
   *
   * const old = new QueuePool(() => ({}), { poolSize: 2 });
   * await old.dispose();
   * await using pool = old.recreate();
   * console.log(pool.size()); // 2
   * ```
   */
  recreate(): this {
    this.#engine.log.info("Pool recreating");
    const { events: _events, listeners: _listeners, ...options } = this.#given;
    const make = this.constructor as new (
      creator: Creator<C>,
      options: Record<string, unknown>,
    ) => this;
    const pool = new make(this.#creator, options);
    pool.#listeners.copyFrom(this.#listeners);
    return pool;
  }

  /**
   * The pool's state as text: SQLAlchemy's string for each class.
   *
   * @example
   * ```ts
   * import { NullPool } from "@dbpool/pool";
   *
   * console.log(new NullPool(() => ({})).status()); // "NullPool"
   * ```
   */
  status(): string {
    return this.#engine.policy.status();
  }

  /**
   * A snapshot of the pool: open, idle and checked-out connections, waiting
   * checkouts, the most connections allowed, and counters since the pool
   * was made (checkouts, waits, timeouts, aborts, creates, failed creates,
   * invalidations, recycles, closes). See {@linkcode PoolStats}.
   *
   * @returns A new plain object.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { QueuePool } from "@dbpool/pool";
   *
   * await using pool = new QueuePool(() => ({}), { poolSize: 1, maxOverflow: 0 });
   * const conn = await pool.connect();
   * assert.deepEqual(
   *   [pool.stats().open, pool.stats().checkedOut, pool.stats().max],
   *   [1, 1, 1],
   * );
   * await conn.close();
   * assert.equal(pool.stats().idle, 1);
   * ```
   */
  stats(): PoolStats {
    return this.#engine.stats();
  }

  /**
   * Pool-wide invalidation: every connection created before now is replaced
   * at its next checkout (lazily; nothing is closed now). If `connection` is
   * given and still valid, it is hard-invalidated too. A connection created
   * after the last pool-wide invalidation does not move the time again.
   *
   * @param connection A connection that reported a disconnect.
   * @param error The reason, passed to the `invalidate` listeners.
   *
   * @example After a server restart
   * ```ts
   * import { QueuePool } from "@dbpool/pool";
   *
   * await using pool = new QueuePool(() => ({}));
   * const conn = await pool.connect();
   * await pool.invalidate(conn, new Error("server closed the connection"));
   * console.log(conn.isValid); // false
   * ```
   */
  invalidate(
    connection?: PoolProxiedConnection<C> | null,
    error?: unknown,
  ): Promise<void> {
    return this.#engine.invalidatePool(connection, error);
  }

  /**
   * Adds a listener to this pool.
   *
   * @param event One of the eleven event names (`TypeError` otherwise).
   * @param listener Sync or async; awaited in order.
   * @param options `signal`, `once`, `insert`.
   * @returns A `Disposable` that removes the listener.
   *
   * @example
   * ```ts
   * import { QueuePool } from "@dbpool/pool";
   *
   * await using pool = new QueuePool(() => ({}));
   * using _watch = pool.on("checkout", (_conn, entry) => {
   *   entry.info.set("checkedOutAt", Date.now());
   * });
   * await using _conn = await pool.connect();
   * ```
   */
  on<E extends PoolEventName>(
    event: E,
    listener: PoolEventMap<C>[E],
    options?: ListenOptions,
  ): Disposable {
    return this.#listeners.add(event, listener, options);
  }

  /**
   * Removes a listener added with {@linkcode Pool.on}.
   *
   * @example
   * ```ts
   * import { QueuePool } from "@dbpool/pool";
   *
   * await using pool = new QueuePool(() => ({}));
   * const listener = () => {};
   * pool.on("checkin", listener);
   * pool.off("checkin", listener);
   * ```
   */
  off<E extends PoolEventName>(event: E, listener: PoolEventMap<C>[E]): void {
    this.#listeners.remove(event, listener);
  }

  /**
   * Adds a legacy listener object: each of its `connect`, `firstConnect`,
   * `checkout` and `checkin` methods that exists is subscribed.
   *
   * @param listener An object whose hooks, where present (not `undefined`),
   *   are functions; they may be inherited (methods of a class).
   * @throws {TypeError} When `listener` is not an object or one of its hooks
   *   is present but not a function; nothing is subscribed then.
   *
   * @example
   * ```ts
   * import { QueuePool } from "@dbpool/pool";
   *
   * await using pool = new QueuePool(() => ({}));
   * pool.addListener({ checkin: () => {} });
   * ```
   */
  addListener(listener: PoolListener<C>): void {
    addLegacyListener(this.#listeners, listener);
  }

  /**
   * Adds a class-level listener: it applies to every instance, existing and
   * future, of this class and its subclasses, and fires before instance
   * listeners. `Pool.on()` applies to every pool.
   *
   * @param event One of the eleven event names (`TypeError` otherwise).
   * @param listener Sync or async; awaited in order.
   * @param options `signal`, `once`, `insert`.
   * @returns A `Disposable` that removes the listener.
   *
   * @example
   * ```ts
   * import { NullPool } from "@dbpool/pool";
   *
   * using _forNullPools = NullPool.on("connect", () => {});
   * ```
   */
  static on<E extends PoolEventName>(
    event: E,
    listener: PoolEventMap<unknown>[E],
    options?: ListenOptions,
  ): Disposable {
    return addClassListener(this, event, listener, options);
  }

  /** The `echo` option. */
  get echo(): boolean | "debug" {
    return this.#echo;
  }

  /** The `loggingName` option. */
  get loggingName(): string | undefined {
    return this.#loggingName;
  }

  /** The same as {@linkcode Pool.dispose}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.dispose();
  }

  /** The class and dialect names, e.g. `AsyncAdaptedQueuePool(default)`; never credentials. */
  toString(): string {
    return `${this.constructor.name}(${this.#engine.context.dialect.name})`;
  }
}
