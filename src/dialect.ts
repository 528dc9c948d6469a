/**
 * The driver adapter interface, {@linkcode Dialect}, and the default one.
 *
 * @module
 */

/**
 * A driver adapter: how the pool rolls back, commits, closes and pings one
 * kind of driver connection. Every method may return a value or a promise;
 * the pool awaits only real promises. A dialect is shared by every
 * connection of a pool and holds no per-connection state. Every method is
 * optional, and may be inherited (a class instance works); one that is
 * present (not `undefined`) must be a function: the pool constructor
 * throws `TypeError` otherwise.
 *
 * @typeParam C The driver connection type.
 *
 * @example A dialect for a driver with async methods
 * ```ts
 * import type { Dialect } from "@dbpool/pool";
 *
 * interface Conn {
 *   query(sql: string): Promise<unknown>;
 *   end(): Promise<void>;
 * }
 *
 * const dialect: Dialect<Conn> = {
 *   name: "mydriver",
 *   rollback: (conn) => conn.query("ROLLBACK").then(() => {}),
 *   commit: (conn) => conn.query("COMMIT").then(() => {}),
 *   close: (conn) => conn.end(),
 *   ping: async (conn) => (await conn.query("SELECT 1"), true),
 * };
 * console.log(dialect.name);
 * ```
 */
export interface Dialect<C> {
  /** A short name, for log lines and `String(pool)`. */
  readonly name: string;
  /** Rolls back the connection's transaction (reset on return, `"rollback"`). */
  rollback?(connection: C): void | Promise<void>;
  /** Commits the connection's transaction (reset on return, `"commit"`). */
  commit?(connection: C): void | Promise<void>;
  /** Closes the connection gracefully. */
  close?(connection: C): void | Promise<void>;
  /**
   * Closes the connection at once, without a graceful goodbye (hard
   * invalidation, recycle). Falls back to {@linkcode Dialect.close} when
   * absent.
   */
  terminate?(connection: C): void | Promise<void>;
  /**
   * Tests the connection for `prePing`: `true` when alive, `false` when
   * disconnected. A thrown error counts as a disconnect only when
   * {@linkcode Dialect.isDisconnect} says so.
   */
  ping?(connection: C): boolean | Promise<boolean>;
  /** Whether `error` means the connection is gone (classifies ping errors). */
  isDisconnect?(error: unknown, connection: C | null): boolean;
  /**
   * Whether a transaction is open, if the driver knows without a round trip:
   * `false` lets reset-on-return skip a needless ROLLBACK; `undefined` means
   * unknown and rolls back.
   */
  inTransaction?(connection: C): boolean | undefined;
  /**
   * Whether the driver has a query outstanding on the connection (sent, and
   * its result not yet read to the end), without a round trip. A connection
   * returned busy is never pooled as idle: the pool terminates and
   * invalidates it at once, because the transaction status the driver last
   * saw is stale while a query runs, and the next holder would otherwise
   * inherit the running query or an open transaction. Absent means never
   * busy (synchronous drivers).
   */
  isBusy?(connection: C): boolean;
  /**
   * Whether the driver has already seen the session end (the server closed
   * it, the socket failed, or it was ended), without a round trip. The pool
   * asks at every checkout and replaces a closed connection transparently,
   * without invalidating the rest of the pool, so a dead connection is not
   * handed out even when `prePing` is off. Absent means never known closed.
   */
  isClosed?(connection: C): boolean;
}

/** Calls `connection[method]()` if it is a function; awaits it only if it returns a promise. */
function callIfFunction(
  connection: unknown,
  method: "rollback" | "commit" | "close",
): void | Promise<void> {
  if (connection === null || typeof connection !== "object") return;
  const fn = (connection as Record<string, unknown>)[method];
  if (typeof fn !== "function") return;
  const result: unknown = fn.call(connection);
  if (result instanceof Promise) return result.then(() => {});
}

/**
 * The dialect a pool uses when none is given: calls the connection's own
 * `rollback()`, `commit()` and `close()` methods when they exist (awaiting
 * them when they return promises). It has no `ping`, `isDisconnect` or
 * `inTransaction`, and `terminate` falls back to `close`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DEFAULT_DIALECT } from "@dbpool/pool";
 *
 * let rolledBack = 0;
 * await DEFAULT_DIALECT.rollback?.({ rollback: () => rolledBack++ });
 * assert.equal(rolledBack, 1);
 * ```
 */
export const DEFAULT_DIALECT: Dialect<unknown> = Object.freeze({
  name: "default",
  rollback(connection: unknown): void | Promise<void> {
    return callIfFunction(connection, "rollback");
  },
  commit(connection: unknown): void | Promise<void> {
    return callIfFunction(connection, "commit");
  },
  close(connection: unknown): void | Promise<void> {
    return callIfFunction(connection, "close");
  },
});
