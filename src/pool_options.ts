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
  /**
   * Milliseconds a connection may stay checked out before the pool reports
   * it as a possible leak: once, with `logger.warn` and the stack of the
   * code that checked it out. When it finally comes back, one
   * `logger.info` line says so and after how long; that line is sent
   * whatever `echo` says, so it is seen wherever the warning was. Nothing
   * is done to the connection. The stack is captured at each checkout only
   * when this is set; `null` turns it off at no cost. One timer per pool,
   * `unref()`ed where the runtime's timer handle allows it (Node, Bun; not
   * Deno, where it runs only while a connection is out).
   *
   * @default {null}
   */
  leakDetectionMs?: number | null;
}
