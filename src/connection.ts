/**
 * The connection interfaces: {@linkcode ConnectionPoolEntry} (the long-lived
 * pool slot), {@linkcode PoolProxiedConnection} (one checkout), and the
 * {@linkcode Creator} that makes driver connections.
 *
 * @module
 */

/**
 * What an entry and a proxy have in common: the driver connection, the two
 * `info` maps, and invalidation.
 *
 * @typeParam C The driver connection type.
 *
 * @example Reading the driver connection
 * ```ts
 * import { QueuePool } from "@dbpool/pool";
 *
 * await using pool = new QueuePool(() => ({ id: 1 }));
 * await using conn = await pool.connect();
 * console.log(conn.dbapiConnection?.id, conn.driverConnection === conn.dbapiConnection);
 * ```
 */
export interface ManagesConnection<C> {
  /** The driver connection (what the creator returned); `null` once gone. */
  readonly dbapiConnection: C | null;
  /** The same object as {@linkcode ManagesConnection.dbapiConnection}, always. */
  readonly driverConnection: C | null;
  /**
   * Free-form data whose lifetime is the current driver connection: kept
   * across checkouts, cleared when the entry reconnects (after an
   * invalidation, a recycle or a pool-wide invalidation). Never `null`; on a
   * detached proxy it is a copy taken at detach time.
   */
  readonly info: Map<unknown, unknown>;
  /**
   * Free-form data whose lifetime is the pool slot: it survives reconnects
   * and invalidations. `null` on a detached proxy.
   */
  readonly recordInfo: Map<unknown, unknown> | null;
  /**
   * Invalidates the connection.
   *
   * Hard (the default): fires `invalidate`, then closes the driver connection
   * (`close` event, terminate); through a proxy the slot also goes back to
   * the pool at once. Soft (`{ soft: true }`): fires `softInvalidate` and
   * closes nothing; the connection is replaced at the slot's next checkout.
   *
   * @param error The reason, passed to the listeners as given.
   * @param options `soft: true` for a soft invalidation.
   */
  invalidate(error?: unknown, options?: InvalidateOptions): Promise<void>;
}

/**
 * Options of {@linkcode ManagesConnection.invalidate}.
 *
 * @example
 * ```ts
 * import type { InvalidateOptions } from "@dbpool/pool";
 *
 * const options: InvalidateOptions = { soft: true };
 * console.log(options.soft);
 * ```
 */
export interface InvalidateOptions {
  /**
   * `true` keeps the connection open and in use, and replaces it at the next
   * checkout of its slot.
   *
   * @default {false}
   */
  soft?: boolean;
}

/**
 * A pool slot: it owns at most one driver connection at a time and survives
 * reconnects. Seen mostly through event arguments and the creator's argument.
 *
 * @typeParam C The driver connection type.
 *
 * @example Remembering a host per slot
 * ```ts
 * import { QueuePool } from "@dbpool/pool";
 *
 * await using pool = new QueuePool((entry) => {
 *   entry.recordInfo?.set("host", "db-1");
 *   return { host: "db-1" };
 * });
 * await using conn = await pool.connect();
 * console.log(conn.recordInfo?.get("host"));
 * ```
 */
export interface ConnectionPoolEntry<C> extends ManagesConnection<C> {
  /**
   * Closes the driver connection (`close` event, then the dialect's close).
   * The entry stays usable: its next checkout creates a new connection.
   */
  close(): Promise<void>;
  /** `true` while a proxy is checked out on this entry. */
  readonly inUse: boolean;
}

/**
 * One checkout. `close()` (or `await using`) returns it to the pool.
 *
 * The proxy does not forward driver methods: use
 * {@linkcode ManagesConnection.dbapiConnection} or `driverConnection`.
 *
 * @typeParam C The driver connection type.
 *
 * @example Returning a connection with `await using`
 * ```ts
 * import { QueuePool } from "@dbpool/pool";
 *
 * await using pool = new QueuePool(() => ({ query: (sql: string) => sql }));
 * {
 *   await using conn = await pool.connect();
 *   conn.dbapiConnection!.query("SELECT 1");
 * } // returned here
 * console.log(pool.checkedOut()); // 0
 * ```
 */
export interface PoolProxiedConnection<C>
  extends ManagesConnection<C>, AsyncDisposable {
  /**
   * Returns the connection to the pool: reset (rollback by default), then
   * `checkin`. Idempotent: later calls return the first call's promise. On a
   * detached proxy it really closes the connection.
   */
  close(): Promise<void>;
  /**
   * Takes the connection out of the pool: the slot goes back at once (no
   * reset, no `checkin`), the connection stays usable and no longer counts
   * against the pool's limits, and a later `close()` really closes it.
   */
  detach(): Promise<void>;
  /** `true` while the proxy holds a live connection (false once invalidated or closed). */
  readonly isValid: boolean;
  /** `true` after `detach()` (and, as in SQLAlchemy, after `close()`). */
  readonly isDetached: boolean;
  /** The same as {@linkcode PoolProxiedConnection.close}. */
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * Makes a driver connection. It is always passed the entry that will own the
 * connection (the same object later passed to the `connect` event), so it can
 * pick connect parameters per slot and remember them in `entry.info` or
 * `entry.recordInfo`. A creator declared with no parameters ignores it.
 *
 * @typeParam C The driver connection type.
 *
 * @example Picking a host per slot
 * ```ts
 * import { QueuePool, type Creator } from "@dbpool/pool";
 *
 * const hosts = ["db-1", "db-2"];
 * let next = 0;
 * const creator: Creator<{ host: string }> = (entry) => {
 *   const host = hosts[next++ % hosts.length]!;
 *   entry.info.set("host", host);
 *   return { host };
 * };
 * await using pool = new QueuePool(creator);
 * await using conn = await pool.connect();
 * console.log(conn.info.get("host"));
 * ```
 */
export type Creator<C> = (entry: ConnectionPoolEntry<C>) => C | Promise<C>;
