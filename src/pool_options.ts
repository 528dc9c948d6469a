/**
 * {@linkcode PoolOptions}: the options every pool class accepts.
 *
 * @module
 */

import type { Dialect } from "./dialect.ts";
import type { PoolEventName, PoolListener, PoolListenerFn } from "./events.ts";
import type { PoolLogger } from "./logger.ts";

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
 *
 * @example Reporting connections held too long
 * ```ts
 * import { QueuePool } from "@dbpool/pool";
 *
 * // A checkout held for more than 10 s is reported once, with its stack.
 * await using pool = new QueuePool(() => ({}), { leakDetectionMs: 10_000 });
 * await using _conn = await pool.connect();
 * ```
 */
export interface PoolOptions<C> {
  /**
   * At checkout, a connection older than this many milliseconds (strictly
   * greater) is closed and replaced on the same entry. Never applied to a
   * connection while it is checked out. Each connection's lifetime is
   * shortened by a random 0 to 2.5%, drawn when it opens, so connections
   * opened together do not all expire together. `null` never recycles.
   *
   * @default {null}
   *
   * @example Replacing connections after an hour, give or take 90 s
   * ```ts
   * import assert from "node:assert/strict";
   * import { QueuePool } from "@dbpool/pool";
   *
   * let now = 0;
   * await using pool = new QueuePool(() => ({}), {
   *   recycleMs: 3_600_000,
   *   clock: () => now,
   * });
   * const first = await pool.connect();
   * const connection = first.dbapiConnection;
   * await first.close();
   * now = 3_600_001; // past every connection's lifetime
   * await using second = await pool.connect();
   * assert.notEqual(second.dbapiConnection, connection);
   * ```
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
  /**
   * After a creator call fails, no new connection is created for this many
   * milliseconds: a checkout that needs one meanwhile fails at once with
   * `CreateBackoffError` (its `cause` is the last creation error) instead
   * of calling the creator, so a database that refuses connections is not
   * hammered. Each further failure doubles the backoff, with ±20% jitter,
   * up to 30 s; the first success resets it. When a backoff ends, one
   * creation is tried while the others still fail fast. Idle connections
   * are handed out as usual. `null` calls the creator for every checkout
   * that needs a connection (SQLAlchemy's behaviour).
   *
   * @default {null}
   */
  createBackoffMs?: number | null;
  /**
   * An idle connection unused for this many milliseconds is closed (`close`
   * event), by one timer per pool that never keeps the process alive. The
   * queue pool never closes below its `minIdle`. `StaticPool`,
   * `AssertionPool` and `SingletonContextPool` close their connection (per
   * context) once no checkout has used it for this long, and the next
   * checkout opens a new one: mind a `StaticPool` over an in-memory SQLite
   * database, which would be lost with it. `NullPool` keeps nothing idle.
   * `null` never closes an idle connection.
   *
   * @default {null}
   *
   * @example Closing connections left idle
   * ```ts
   * import assert from "node:assert/strict";
   * import { QueuePool } from "@dbpool/pool";
   *
   * const closed: object[] = [];
   * await using pool = new QueuePool(() => ({}), { idleTimeoutMs: 10 });
   * pool.on("close", (connection) => void closed.push(connection));
   * {
   *   await using _conn = await pool.connect();
   * }
   * assert.equal(pool.checkedIn(), 1);
   * while (closed.length === 0) await new Promise((r) => setTimeout(r, 5));
   * assert.equal(pool.checkedIn(), 0);
   * ```
   */
  idleTimeoutMs?: number | null;
  /**
   * Milliseconds a connection may stay checked out before the pool reports
   * it as a possible leak: once, with `logger.warn` and the stack of the
   * code that called `connect()`. When it finally comes back, one
   * `logger.info` line says so and after how long; that line is sent
   * whatever `echo` says, so it is seen wherever the warning was. Nothing
   * is done to the connection. The stack is captured at each `connect()`
   * only when this is set (about 2 µs on Deno, several times the rest of a
   * checkout: a diagnosis setting); `null` turns it off at no cost. One
   * timer per pool, which never keeps the process alive.
   *
   * @default {null}
   */
  leakDetectionMs?: number | null;
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
 * Options of {@linkcode Pool.close}.
 *
 * @example
 * ```ts
 * import { QueuePool } from "@dbpool/pool";
 *
 * const pool = new QueuePool(() => ({}));
 * await pool.close({ timeoutMs: 5_000 });
 * ```
 */
export interface CloseOptions {
  /**
   * Milliseconds to wait for checked-out connections to come back; past
   * it they are terminated and their proxies become invalid. A finite
   * number >= 0 (`RangeError` otherwise).
   *
   * @default {30_000}
   */
  timeoutMs?: number;
}
