/**
 * {@linkcode AsyncAdaptedQueuePool}, also exported as {@linkcode QueuePool}:
 * the default pool.
 *
 * @module
 */

import { PoolTimeoutError, type PoolTimeoutErrorOptions } from "./errors.ts";
import { type Creator, Pool, type PoolOptions } from "./pool.ts";
import { Deque } from "./_deque.ts";
import { IdleKeeper } from "./_idle_keeper.ts";
import type { CheckoutSite } from "./_leak_detector.ts";
import {
  booleanOption,
  COMMON_OPTIONS,
  type GivenOptions,
  type Normalised,
  nullableNumberOption,
  numberOption,
  type OptionTable,
} from "./_options.ts";
import { poolInternals, registerPoolClass } from "./_pool_classes.ts";
import type { Policy, PolicyGauges, PolicyHost } from "./_policy.ts";
import type { PoolEntry } from "./_pool_entry.ts";
import { WaiterQueue } from "./_waiters.ts";

/**
 * Options of {@linkcode AsyncAdaptedQueuePool}. Total simultaneous
 * connections are `poolSize + maxOverflow`.
 *
 * @typeParam C The driver connection type.
 *
 * @example
 * ```ts
 * import { QueuePool, type QueuePoolOptions } from "@dbpool/pool";
 *
 * const options: QueuePoolOptions<object> = { poolSize: 10, maxOverflow: 5, timeoutMs: 5_000 };
 * await using pool = new QueuePool(() => ({}), options);
 * console.log(pool.size()); // 10
 * ```
 */
export interface QueuePoolOptions<C> extends PoolOptions<C> {
  /**
   * Most connections kept idle in the pool; `0` means no limit (and
   * `maxOverflow` is then ignored). Use `NullPool` to disable pooling.
   *
   * @default {5}
   */
  poolSize?: number;
  /**
   * Connections allowed beyond `poolSize` while checked out; an overflow
   * connection returned to a full idle list is closed. `-1` means no limit.
   *
   * @default {10}
   */
  maxOverflow?: number;
  /**
   * Longest wait, in milliseconds, for a connection when the pool is
   * exhausted: then `PoolTimeoutError`. `0` fails at once; `null` waits
   * forever. Bounds only the wait, not the creator (pass a `signal` to
   * `connect()` for an overall bound). SQLAlchemy's `timeout` is seconds.
   *
   * @default {30_000}
   */
  timeoutMs?: number | null;
  /**
   * Reuse the most recently returned idle connection instead of the oldest,
   * so surplus connections stay idle long enough for server-side idle
   * timeouts to reap them (pair it with `prePing` or `recycleMs`).
   *
   * @default {false}
   */
  useLifo?: boolean;
  /**
   * Idle connections the pool keeps warm (HikariCP's `minimumIdle`): it
   * opens them in the background after it starts and after connections
   * are closed, within `poolSize + maxOverflow`, reopens one that comes
   * back invalidated, and `idleTimeoutMs` never closes below it. A failed background creation is logged, not thrown;
   * with `createBackoffMs` the pool tries again when the backoff ends,
   * without it after the next close or return. `dispose()` stops the
   * filling until a connection is returned. An integer from `0` to
   * `poolSize` (any when `poolSize` is `0`), `RangeError` otherwise.
   *
   * @default {0}
   *
   * @example Two warm connections, closed after a minute idle beyond them
   * ```ts
   * import assert from "node:assert/strict";
   * import { QueuePool } from "@dbpool/pool";
   *
   * await using pool = new QueuePool(() => ({}), {
   *   poolSize: 5,
   *   minIdle: 2,
   *   idleTimeoutMs: 60_000,
   * });
   * while (pool.checkedIn() < 2) await new Promise((r) => setTimeout(r, 5));
   * assert.equal(pool.checkedOut(), 0);
   * ```
   */
  minIdle?: number;
}

/** `minIdle`: an integer >= 0, at most `poolSize` (unless that is `0`). */
function checkMinIdle(
  value: unknown,
  key: string,
  given: GivenOptions,
): number {
  const minIdle = numberOption(0, 0, true)(value, key, given);
  const poolSize = (given.poolSize ?? 5) as number;
  if (poolSize !== 0 && minIdle > poolSize) {
    throw new RangeError(
      `Cannot create pool: "minIdle" must be at most "poolSize" (${poolSize}), received ${minIdle}`,
    );
  }
  return minIdle;
}

/** The options of {@linkcode AsyncAdaptedQueuePool}, in the order they are checked. */
const QUEUE_POOL_OPTIONS = {
  ...COMMON_OPTIONS,
  poolSize: numberOption(5, 0, true),
  maxOverflow: numberOption(10, -1, true),
  timeoutMs: nullableNumberOption(30_000, 0),
  useLifo: booleanOption(false),
  minIdle: checkMinIdle,
} as const satisfies OptionTable<QueuePoolOptions<unknown>>;

type QueuePoolSettings = Normalised<typeof QUEUE_POOL_OPTIONS>;

/** The queue pool's policy: idle deque, overflow counter, FIFO waiters. */
class QueuePolicy<C, P> implements Policy<C, P> {
  readonly #host: PolicyHost<C, P>;
  readonly poolSize: number;
  readonly maxOverflow: number;
  readonly timeoutMs: number | null;
  readonly #useLifo: boolean;
  readonly #minIdle: number;
  readonly #unbounded: boolean;
  readonly #idle = new Deque<PoolEntry<C>>();
  /** Waiting callers, each with its `connect()` site; each is handed its finished checkout. */
  readonly #waiters: WaiterQueue<P, CheckoutSite | null>;
  #lastTimeout: {
    message: string;
    options: Readonly<PoolTimeoutErrorOptions>;
  } | null = null;
  /** Live entries minus `poolSize` (SQLAlchemy's `_overflow`). */
  overflowCount: number;
  /** `idleTimeoutMs` and `minIdle`; `null` when both are off. */
  readonly #keeper: IdleKeeper<C> | null;

  constructor(host: PolicyHost<C, P>, options: QueuePoolSettings) {
    const { poolSize, maxOverflow } = options;
    this.#host = host;
    this.poolSize = poolSize;
    this.maxOverflow = maxOverflow;
    this.timeoutMs = options.timeoutMs;
    this.#useLifo = options.useLifo;
    this.#minIdle = options.minIdle;
    this.#unbounded = poolSize === 0 || maxOverflow === -1;
    this.overflowCount = -poolSize;
    this.#waiters = new WaiterQueue(
      host.clock,
      () => this.#timeoutError(),
      () => void host.counts.aborts++,
    );
    this.#keeper = options.idleTimeoutMs === null && options.minIdle === 0
      ? null
      : new IdleKeeper({
        log: host.log,
        clock: host.clock,
        idle: this.#idle,
        reserve: () => this.#reserve(),
        release: (entry) => this.release(entry),
        discard: () => this.#free(),
        close: (entry) => this.#close(entry),
      }, { ...options, backsOff: options.createBackoffMs !== null });
  }

  /** A new entry when capacity is left (for `minIdle`), else `null`. */
  #reserve(): PoolEntry<C> | null {
    if (!this.#unbounded && this.overflowCount >= this.maxOverflow) return null;
    this.overflowCount++;
    return this.#host.newEntry();
  }

  /** Frees one entry's capacity and grants it to waiting callers. */
  #free(): void {
    this.overflowCount--;
    this.#serveWaiters();
  }

  get checkedIn(): number {
    return this.#idle.length;
  }

  get waiting(): number {
    return this.#waiters.length;
  }

  overflow(): number {
    return this.poolSize === 0 ? 0 : this.overflowCount;
  }

  checkedOut(): number {
    return this.poolSize - this.#idle.length + this.overflowCount;
  }

  /**
   * An idle entry, else a new one while capacity is left, else (unless
   * `timeoutMs` is `0`) a place at the tail of the wait queue.
   */
  acquire(
    signal: AbortSignal | undefined,
    site: CheckoutSite | null,
  ): PoolEntry<C> | Promise<P> {
    if (this.#idle.length > 0) {
      return (this.#useLifo ? this.#idle.pop() : this.#idle.shift())!;
    }
    if (this.#unbounded || this.overflowCount < this.maxOverflow) {
      this.overflowCount++;
      return this.#host.newEntry();
    }
    const timeoutMs = this.timeoutMs;
    if (timeoutMs === 0) throw this.#timeoutError();
    this.#host.counts.waits++;
    if (timeoutMs === null) return this.#waiters.wait(signal, Infinity, site);
    return this.#waiters.waitLazily(signal, timeoutMs, site);
  }

  /**
   * An entry checked out before the last `dispose()` is closed; otherwise
   * it goes straight to the head waiter, or to the idle deque, or (when
   * that is full) it is closed.
   */
  release(entry: PoolEntry<C>): void | Promise<void> {
    if (this.#host.closesOnReturn(entry)) return this.#close(entry);
    if (this.#waiters.settleAborted() > 0) {
      const waiters = this.#waiters;
      waiters.grantSettled(
        this.#host.checkout(
          entry,
          waiters.headSignal,
          waiters.headTag ?? null,
        ),
      );
      return;
    }
    if (this.poolSize === 0 || this.#idle.length < this.poolSize) {
      this.#idle.push(entry);
      if (this.#keeper !== null) this.#keeper.idled(entry);
      return;
    }
    return this.#close(entry);
  }

  discard(_entry: PoolEntry<C>): void {
    this.#free();
    this.#keeper?.fillSoon();
  }

  /** Closes an entry's connection (`close` event, close) and frees its capacity. */
  async #close(entry: PoolEntry<C>): Promise<void> {
    try {
      await entry.close();
    } finally {
      this.#free();
      this.#keeper?.fillSoon();
    }
  }

  /**
   * Grants freed capacity to waiting callers at once (upstream lets a
   * waiter notice it only when its own timeout fires).
   */
  #serveWaiters(): void {
    while (
      this.#waiters.settleAborted() > 0 &&
      (this.#unbounded || this.overflowCount < this.maxOverflow)
    ) {
      this.overflowCount++;
      const signal = this.#waiters.headSignal;
      const site = this.#waiters.headTag ?? null;
      this.#waiters.grantSettled(
        this.#host.checkout(this.#host.newEntry(), signal, site),
      );
    }
  }

  async dispose(): Promise<void> {
    const log = this.#host.log;
    this.#keeper?.stop();
    const idle = this.#idle.drain();
    this.overflowCount -= idle.length;
    let first: { error: unknown } | null = null;
    for (const entry of idle) {
      try {
        await entry.close();
      } catch (error) {
        if (first === null) first = { error };
        else {
          log.error("Exception closing connection during dispose()", {
            error,
          });
        }
      }
    }
    this.#serveWaiters();
    log.info(`Pool disposed. ${this.status()}`);
    if (first !== null) throw first.error;
  }

  gauges(): PolicyGauges {
    let idle = 0;
    this.#idle.forEach((entry) => {
      if (entry.dbapiConnection !== null) idle++;
    });
    return {
      idle,
      pending: this.#waiters.length,
      max: this.#unbounded ? null : this.poolSize + this.maxOverflow,
      // Returned connections past `poolSize` are closed (`0`: no limit).
      idleMax: this.poolSize === 0 ? null : this.poolSize,
      idleMin: this.#minIdle,
    };
  }

  close(error: unknown): void {
    this.#waiters.rejectAll(error);
  }

  status(): string {
    return `Pool size: ${this.poolSize}  Connections in pool: ${this.checkedIn} Current Overflow: ${this.overflow()} Current Checked out connections: ${this.checkedOut()}`;
  }

  #timeoutError(): PoolTimeoutError {
    this.#host.counts.timeouts++;
    const overflow = this.overflow();
    const checkedOut = this.checkedOut();
    // Waiters timing out together share one message and one options object
    // (the numbers are the same for all of them); each still gets its own error.
    let cached = this.#lastTimeout;
    if (
      cached === null || cached.options.overflow !== overflow ||
      cached.options.checkedOut !== checkedOut
    ) {
      const timeoutMs = this.timeoutMs ?? Infinity;
      cached = {
        message:
          `QueuePool limit of size ${this.poolSize} overflow ${overflow} reached, connection timed out, timeout ${timeoutMs} ms`,
        options: { size: this.poolSize, overflow, checkedOut, timeoutMs },
      };
      this.#lastTimeout = cached;
    }
    return new PoolTimeoutError(cached.message, cached.options);
  }
}

function policyOf(pool: object): QueuePolicy<unknown, unknown> {
  return poolInternals.engine(pool).policy as QueuePolicy<unknown, unknown>;
}

/**
 * The default pool: keeps up to `poolSize` idle connections and allows up to
 * `poolSize + maxOverflow` at once. When exhausted, callers wait in FIFO
 * order, up to `timeoutMs`, and a returned connection is handed directly to
 * the oldest waiter. SQLAlchemy's `QueuePool` and `AsyncAdaptedQueuePool`
 * in one class (JavaScript has no threads); also exported as
 * {@linkcode QueuePool}.
 *
 * Connections are made lazily: a pool reaches `poolSize` connections only if
 * that many are ever used at once.
 *
 * @typeParam C The driver connection type.
 *
 * @example Connect, use, return
 * ```ts
 * import assert from "node:assert/strict";
 * import { AsyncAdaptedQueuePool } from "@dbpool/pool";
 *
 * await using pool = new AsyncAdaptedQueuePool(() => ({ rollback() {} }), {
 *   poolSize: 2,
 *   maxOverflow: 1,
 *   timeoutMs: 1_000,
 * });
 * {
 *   await using conn = await pool.connect();
 *   assert.equal(pool.checkedOut(), 1);
 *   assert(conn.isValid);
 * }
 * assert.equal(
 *   pool.status(),
 *   "Pool size: 2  Connections in pool: 1 Current Overflow: -1 Current Checked out connections: 0",
 * );
 * ```
 */
export class AsyncAdaptedQueuePool<C> extends Pool<C> {
  /**
   * Makes a queue pool. No connection is made until the first `connect()`.
   *
   * @param creator Makes a driver connection; receives the entry that will own it.
   * @param options The pool's options.
   * @throws {TypeError} For options that are not a plain object, an unknown
   *   option key or a value of the wrong type.
   * @throws {RangeError} For a number out of range (`poolSize < 0`,
   *   `maxOverflow < -1`, negative or non-finite `timeoutMs`, …).
   */
  constructor(creator: Creator<C>, options?: QueuePoolOptions<C>) {
    super(creator, options);
  }

  /** The `poolSize` option: most idle connections kept. */
  size(): number {
    return policyOf(this).poolSize;
  }

  /** Idle connections in the pool now. */
  checkedIn(): number {
    return policyOf(this).checkedIn;
  }

  /** Connections checked out now (live entries that are not idle). */
  checkedOut(): number {
    return policyOf(this).checkedOut();
  }

  /**
   * The overflow counter: live connections minus `poolSize` (negative while
   * the pool has fewer than `poolSize`); `0` when `poolSize` is `0`.
   */
  overflow(): number {
    return policyOf(this).overflow();
  }

  /** The `timeoutMs` option: milliseconds, or `null` for no limit. */
  timeout(): number | null {
    return policyOf(this).timeoutMs;
  }

  /**
   * Callers waiting for a connection now. An addition to SQLAlchemy's
   * counters, for metrics.
   */
  waiting(): number {
    return policyOf(this).waiting;
  }
}

registerPoolClass(AsyncAdaptedQueuePool, {
  options: QUEUE_POOL_OPTIONS,
  makePolicy: (host, options) => new QueuePolicy(host, options),
});

export { AsyncAdaptedQueuePool as QueuePool };
