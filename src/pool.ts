/**
 * The abstract {@linkcode Pool} base class and the options every pool has.
 *
 * @module
 */

import type { Dialect } from "./dialect.ts";
import type {
  ListenOptions,
  PoolEventMap,
  PoolEventName,
  PoolListener,
  PoolListenerFn,
} from "./events.ts";
import type { Creator, PoolProxiedConnection } from "./connection.ts";
import type { PoolLogger } from "./logger.ts";
import { addClassListener, InstanceListeners } from "./_listeners.ts";
import { PoolLog } from "./_log.ts";
import {
  checkCommon,
  checkKeys,
  checkLegacyHooks,
  COMMON_KEYS,
  LEGACY_EVENTS,
} from "./_options.ts";
import { findPoolClass, poolInternals } from "./_pool_classes.ts";
import { Engine } from "./_engine.ts";
import { ProxiedConnection, proxyInternals } from "./_proxied_connection.ts";

export type { Creator } from "./connection.ts";

/**
 * Options every pool class accepts. Durations are milliseconds
 * (SQLAlchemy's are seconds). The options must be a plain object (an object
 * literal or a null-prototype object; a `Map`, an array or a class instance
 * throws `TypeError`), and only its own enumerable keys are read: inherited
 * keys are ignored. Unknown keys throw `TypeError`; wrong types
 * `TypeError`; out-of-range numbers `RangeError`.
 *
 * @typeParam C The driver connection type.
 *
 * @example
 * ```ts
 * import type { PoolOptions } from "@dbpool/pool";
 *
 * const options: PoolOptions<object> = { recycleMs: 3_600_000, echo: true, resetOnReturn: "rollback" };
 * console.log(options.recycleMs);
 * ```
 */
export interface PoolOptions<C> {
  /**
   * At checkout, a connection older than this many milliseconds (strictly
   * greater) is closed and replaced on the same entry. Never applied to a
   * connection while it is checked out. `null` never recycles.
   *
   * @default {null}
   */
  recycleMs?: number | null;
  /**
   * `true` sends info lines (invalidate, recycle, dispose, recreate) to the
   * logger; `"debug"` also checkout/checkin/reset lines. Warnings and errors
   * are always sent.
   *
   * @default {false}
   */
  echo?: boolean | "debug";
  /**
   * Suffix of the logger name: `dbpool.pool.<Class>.<loggingName>`.
   *
   * @default {undefined}
   */
  loggingName?: string;
  /**
   * Receives the log lines: a `@std/log` logger, `console`, or any object
   * with `debug`, `info`, `warn` and `error`.
   *
   * @default {CONSOLE_LOGGER}
   */
  logger?: PoolLogger;
  /**
   * What to do to a connection coming back: `"rollback"` (or `true`),
   * `"commit"`, or nothing (`null` or `false`; pair it with a `reset`
   * listener for a custom scheme). Rollback is skipped when the dialect's
   * `inTransaction()` says no transaction is open. Any other value throws
   * `TypeError`.
   *
   * @default {"rollback"}
   */
  resetOnReturn?: "rollback" | "commit" | null | boolean;
  /**
   * `[eventName, listener]` pairs registered at construction, before any
   * connection exists (SQLAlchemy's pairs are `(fn, name)`).
   *
   * @default {[]}
   */
  events?: ReadonlyArray<readonly [PoolEventName, PoolListenerFn]>;
  /**
   * Legacy listener objects with any of `connect`, `firstConnect`,
   * `checkout`, `checkin`. A hook that is present (not `undefined`) must
   * be a function (`TypeError` otherwise).
   *
   * @default {[]}
   */
  listeners?: ReadonlyArray<PoolListener<C>>;
  /**
   * The driver adapter. Its `name` must be a string, and each of its
   * optional methods that is present (not `undefined`) must be a function
   * (`TypeError` otherwise).
   *
   * @default {DEFAULT_DIALECT} (calls the connection's own `rollback()`, `commit()`, `close()` if present)
   */
  dialect?: Dialect<C>;
  /**
   * Test a reused connection at checkout with `dialect.ping()`; a
   * disconnect replaces it and marks every older connection stale. Requires
   * a dialect with `ping` (`TypeError` otherwise). New connections are never
   * pinged.
   *
   * @default {false}
   */
  prePing?: boolean;
  /**
   * The clock, in milliseconds, used for every timestamp, age and deadline.
   * A testing aid: inject a fake clock instead of sleeping. The pool calls
   * a given clock once at construction, to check that it returns a finite
   * number (`TypeError` otherwise); a clock returning `NaN` or `Infinity`
   * would keep every timeout from firing.
   *
   * @default {() => performance.now()}
   */
  clock?: () => number;
  /**
   * Most milliseconds one call of the creator may take. A creator that has
   * not settled by then makes the waiting checkout fail with
   * `ConnectTimeoutError`; the pool slot is freed at once, and a connection
   * that arrives later is closed through the dialect and never handed out.
   * `null` waits forever (a creator that never settles then holds its slot
   * for good). The PostgreSQL creators also pass it to the driver as its
   * own connect timeout.
   *
   * @default {30_000}
   */
  connectTimeoutMs?: number | null;
  /**
   * Most milliseconds a pre-ping, or the reset on return (rollback or
   * commit through the dialect), may take. Past it the pool terminates and
   * invalidates that connection: a checkout goes on with a new connection,
   * a return completes and frees the slot. `null` waits forever.
   *
   * @default {5_000}
   */
  validationTimeoutMs?: number | null;
}

/**
 * Options of {@linkcode Pool.connect}.
 *
 * @example
 * ```ts
 * import { QueuePool } from "@dbpool/pool";
 *
 * await using pool = new QueuePool(() => ({}));
 * await using _conn = await pool.connect({ signal: AbortSignal.timeout(1_000) });
 * ```
 */
export interface ConnectOptions {
  /**
   * Aborting it rejects the checkout with `signal.reason`, unchanged. A
   * waiting caller leaves the queue at once; a checkout whose creator or
   * listeners are still running completes in the background and its
   * connection goes back to the pool.
   */
  signal?: AbortSignal;
}

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
  readonly #options: Record<string, unknown>;
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
    const record = checkKeys(
      options,
      new Set([...COMMON_KEYS, ...spec.keys]),
      className,
    );
    const common = checkCommon<C>(record);
    this.#creator = creator;
    this.#options = { ...record };
    this.#echo = common.echo;
    this.#loggingName = common.loggingName;
    this.#listeners = new InstanceListeners(this);
    const log = new PoolLog(
      className,
      common.loggingName,
      common.logger,
      common.echo,
    );
    this.#engine = new Engine<C>(
      {
        creator,
        dialect: common.dialect,
        resetOnReturn: common.resetOnReturn,
        recycleMs: common.recycleMs,
        prePing: common.prePing,
        clock: common.clock,
        clockIsDefault: common.clockIsDefault,
        connectTimeoutMs: common.connectTimeoutMs,
        validationTimeoutMs: common.validationTimeoutMs,
      },
      log,
      this.#listeners,
      (host) => spec.makePolicy(host, record),
    );
    for (const [event, listener] of common.events) {
      this.#listeners.add(event, listener);
    }
    for (const listener of common.listeners) this.addListener(listener);
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
    const { events: _events, listeners: _listeners, ...options } =
      this.#options;
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
  async invalidate(
    connection?: PoolProxiedConnection<C> | null,
    error?: unknown,
  ): Promise<void> {
    let openedAt: number | null = null;
    if (
      connection instanceof ProxiedConnection && !connection.isDetached
    ) {
      openedAt = proxyInternals.entry(connection as ProxiedConnection<C>)
        .openedAt;
    }
    this.#engine.context.invalidatePool(openedAt);
    if (connection?.isValid) await connection.invalidate(error);
  }

  /**
   * Adds a listener to this pool.
   *
   * @param event One of the ten event names (`TypeError` otherwise).
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
    if (listener === null || typeof listener !== "object") {
      throw new TypeError(
        `Cannot add listener: expected a listener object, received ${
          listener === null ? "null" : typeof listener
        }`,
      );
    }
    checkLegacyHooks(listener, "Cannot add listener", "");
    for (const name of LEGACY_EVENTS) {
      const method: unknown = listener[name];
      if (typeof method === "function") {
        this.#listeners.add(name, method.bind(listener));
      }
    }
  }

  /**
   * Adds a class-level listener: it applies to every instance, existing and
   * future, of this class and its subclasses, and fires before instance
   * listeners. `Pool.on()` applies to every pool.
   *
   * @param event One of the ten event names (`TypeError` otherwise).
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
