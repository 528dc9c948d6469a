/**
 * {@linkcode PoolStats}: what `pool.stats()` returns. A public contract:
 * an interface, no logic.
 *
 * @module
 */

/**
 * A snapshot of a pool: its gauges now and its counters since it was made.
 * Each call returns a new plain object; reading it costs the pool nothing.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { QueuePool } from "@dbpool/pool";
 *
 * await using pool = new QueuePool(() => ({}), { poolSize: 2, maxOverflow: 1 });
 * await (await pool.connect()).close();
 * const stats = pool.stats();
 * assert.equal(stats.open, 1);
 * assert.equal(stats.idle, 1);
 * assert.equal(stats.max, 3);
 * assert.equal(stats.checkouts, 1);
 * assert.equal(stats.creates, 1);
 * ```
 */
export interface PoolStats {
  /** Driver connections the pool holds open now (idle or checked out). */
  readonly open: number;
  /** Open connections waiting in the pool, not checked out. */
  readonly idle: number;
  /**
   * Checkouts holding a slot now: delivered, or taken and still preparing
   * (opening a connection, pre-ping). In a `StaticPool` each proxy counts.
   */
  readonly checkedOut: number;
  /** Checkouts waiting for a connection or for capacity. */
  readonly pending: number;
  /**
   * Most connections the pool opens at a time: `poolSize + maxOverflow`
   * for a queue pool (`null` when unbounded), `1` for `StaticPool` and
   * `AssertionPool`, `poolSize` for `SingletonContextPool`, `null` for
   * `NullPool`.
   */
  readonly max: number | null;
  /** Checkouts delivered to their caller. */
  readonly checkouts: number;
  /** Checkouts that had to wait in the queue. */
  readonly waits: number;
  /** Checkouts rejected with `PoolTimeoutError`. */
  readonly timeouts: number;
  /** Checkouts rejected because their `signal` aborted. */
  readonly aborts: number;
  /** Creator calls that returned a connection. */
  readonly creates: number;
  /** Creator calls that failed or ran past `connectTimeoutMs`. */
  readonly createFailures: number;
  /** Hard invalidations of a connection (by a proxy, a listener, a driver-seen close). */
  readonly invalidations: number;
  /** Connections replaced at checkout for age, or after a soft or pool-wide invalidation. */
  readonly recycles: number;
  /** Driver connections closed or terminated. */
  readonly closes: number;
}
