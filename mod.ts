/**
 * A connection pool for Deno and TypeScript: SQLAlchemy's pool (queue pool
 * with overflow, `NullPool`, `StaticPool`, `AssertionPool`, the singleton
 * pool; ten lifecycle events; `info`/`recordInfo`; reset on return; pre-ping;
 * recycle; hard, soft and pool-wide invalidation; detach) on an abort-safe
 * FIFO wait queue with direct hand-off, `AbortSignal` on `connect()` and
 * `await using` disposal.
 *
 * The core runs on any JavaScript runtime: it uses web-platform APIs only.
 * Durations are milliseconds (SQLAlchemy's are seconds).
 *
 * @example Connect, query, return
 * ```ts
 * import assert from "node:assert/strict";
 * import { QueuePool } from "@dbpool/pool";
 *
 * // Any object can be a "driver connection"; a real one comes from a driver.
 * const creator = () => ({ query: (sql: string) => [sql], rollback() {}, close() {} });
 *
 * await using pool = new QueuePool(creator, { poolSize: 5, maxOverflow: 10, timeoutMs: 30_000 });
 * {
 *   await using conn = await pool.connect({ signal: AbortSignal.timeout(5_000) });
 *   assert.deepEqual(conn.dbapiConnection!.query("SELECT 1"), ["SELECT 1"]);
 * } // returned to the pool here (rolled back first)
 * assert.equal(pool.checkedIn(), 1);
 * ```
 *
 * @module
 */

export type {
  ConnectionPoolEntry,
  InvalidateOptions,
  ManagesConnection,
  PoolProxiedConnection,
} from "./src/connection.ts";
export { DEFAULT_DIALECT, type Dialect } from "./src/dialect.ts";
export {
  AssertionPoolError,
  ConnectTimeoutError,
  type ConnectTimeoutErrorOptions,
  CreateBackoffError,
  type CreateBackoffErrorOptions,
  DisconnectionError,
  InvalidatePoolError,
  InvalidRequestError,
  PoolClosedError,
  PoolTimeoutError,
  type PoolTimeoutErrorOptions,
} from "./src/errors.ts";
export {
  type HandleErrorContext,
  type ListenOptions,
  POOL_EVENT_NAMES,
  type PoolEventMap,
  type PoolEventName,
  type PoolListener,
  type PoolListenerFn,
  type PoolResetState,
} from "./src/events.ts";
export { CONSOLE_LOGGER, type PoolLogger } from "./src/logger.ts";
export {
  type CloseOptions,
  type ConnectOptions,
  type Creator,
  Pool,
  type PoolOptions,
} from "./src/pool.ts";
export {
  AsyncAdaptedQueuePool,
  QueuePool,
  type QueuePoolOptions,
} from "./src/queue_pool.ts";
export {
  AssertionPool,
  type AssertionPoolOptions,
} from "./src/assertion_pool.ts";
export { NullPool } from "./src/null_pool.ts";
export type { PoolStats } from "./src/pool_stats.ts";
export { Semaphore } from "./src/semaphore.ts";
export { StaticPool } from "./src/static_pool.ts";
