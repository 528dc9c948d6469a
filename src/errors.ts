/**
 * Error classes thrown by the pools.
 *
 * Bad arguments throw the built-in `TypeError` and `RangeError`; the classes
 * below are the conditions callers catch. Each sets `name`, and passes
 * `{ cause }` on when there is one.
 *
 * @module
 */

/** Options of {@linkcode PoolTimeoutError}: the pool's numbers at the moment of failure. */
export interface PoolTimeoutErrorOptions extends ErrorOptions {
  /** The pool's `poolSize`. */
  size: number;
  /** The pool's overflow counter. */
  overflow: number;
  /** Connections checked out when the wait failed. */
  checkedOut: number;
  /** The `timeoutMs` that ran out, in milliseconds. */
  timeoutMs: number;
}

/**
 * The queue pool stayed exhausted for `timeoutMs` (or was exhausted with
 * `timeoutMs: 0`).
 *
 * The message keeps SQLAlchemy's wording with the unit in milliseconds:
 * `QueuePool limit of size 5 overflow 10 reached, connection timed out, timeout 30000 ms`.
 * The pool's numbers are kept on the error, so a handler can log them.
 *
 * @example Catching a timeout
 * ```ts
 * import assert from "node:assert/strict";
 * import { PoolTimeoutError, QueuePool } from "@dbpool/pool";
 *
 * await using pool = new QueuePool(() => ({}), { poolSize: 1, maxOverflow: 0, timeoutMs: 0 });
 * await using _held = await pool.connect();
 * await assert.rejects(pool.connect(), (error) => {
 *   assert(error instanceof PoolTimeoutError);
 *   assert.equal(error.checkedOut, 1);
 *   return true;
 * });
 * ```
 */
export class PoolTimeoutError extends Error {
  /** The pool's `poolSize`. */
  readonly size: number;
  /** The pool's overflow counter when the wait failed. */
  readonly overflow: number;
  /** Connections checked out when the wait failed. */
  readonly checkedOut: number;
  /** The `timeoutMs` that ran out, in milliseconds. */
  readonly timeoutMs: number;

  /**
   * Makes the error.
   *
   * @param message The message.
   * @param options The pool's numbers, and an optional `cause`.
   */
  constructor(message: string, options: PoolTimeoutErrorOptions) {
    super(message, options);
    this.name = "PoolTimeoutError";
    this.size = options.size;
    this.overflow = options.overflow;
    this.checkedOut = options.checkedOut;
    this.timeoutMs = options.timeoutMs;
  }
}

/**
 * Thrown by a `checkout` listener or a dialect to say "this connection is
 * dead": the pool discards the connection and retries the checkout on a fresh
 * one, at most twice (SQLAlchemy's `DisconnectionError`).
 *
 * @example Discarding a connection from a checkout listener
 * ```ts
 * import { DisconnectionError, QueuePool } from "@dbpool/pool";
 *
 * await using pool = new QueuePool(() => ({ alive: true }));
 * pool.on("checkout", (conn) => {
 *   if (!conn.alive) throw new DisconnectionError("connection is dead");
 * });
 * await using _conn = await pool.connect();
 * ```
 */
export class DisconnectionError extends Error {
  /**
   * Makes the error.
   *
   * @param message The message.
   * @param options An optional `cause`.
   */
  constructor(message?: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "DisconnectionError";
  }
}

/**
 * A {@linkcode DisconnectionError} that also invalidates the whole pool: every
 * connection created before now is replaced at its next checkout. The pool's
 * pre-ping raises one (with the ping's error as `cause`) when it finds a dead
 * connection.
 *
 * @example Invalidating every older connection
 * ```ts
 * import { InvalidatePoolError } from "@dbpool/pool";
 *
 * const error = new InvalidatePoolError("server restarted");
 * console.log(error.name); // "InvalidatePoolError"
 * ```
 */
export class InvalidatePoolError extends DisconnectionError {
  /**
   * Makes the error.
   *
   * @param message The message.
   * @param options An optional `cause`.
   */
  constructor(message?: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "InvalidatePoolError";
  }
}

/**
 * A request the pool cannot serve, for example `This connection is closed`
 * when a checkout used up its reconnect attempts.
 *
 * @example
 * ```ts
 * import { InvalidRequestError } from "@dbpool/pool";
 *
 * const error = new InvalidRequestError("This connection is closed");
 * console.log(error.message);
 * ```
 */
export class InvalidRequestError extends Error {
  /**
   * Makes the error.
   *
   * @param message The message.
   * @param options An optional `cause`.
   */
  constructor(message?: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "InvalidRequestError";
  }
}

/**
 * Misuse of an {@linkcode AssertionPool}: a second checkout while one is out
 * (`connection is already checked out`, followed by `" at:\n"` and the first
 * checkout's stack when `storeTraceback` is on).
 *
 * @example
 * ```ts
 * import { AssertionPoolError } from "@dbpool/pool";
 *
 * const error = new AssertionPoolError("connection is already checked out");
 * console.log(error.name); // "AssertionPoolError"
 * ```
 */
export class AssertionPoolError extends Error {
  /**
   * Makes the error.
   *
   * @param message The message.
   * @param options An optional `cause`.
   */
  constructor(message?: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "AssertionPoolError";
  }
}

/** Options of {@linkcode ConnectTimeoutError}. */
export interface ConnectTimeoutErrorOptions extends ErrorOptions {
  /** The `connectTimeoutMs` that ran out, in milliseconds. */
  timeoutMs: number;
}

/**
 * Creating a driver connection took longer than the pool's
 * `connectTimeoutMs`. The checkout that waited for it fails with this error
 * and the pool slot is freed at once; a connection that arrives later is
 * closed and never handed out. The message names the pool class and the
 * milliseconds, never a credential.
 *
 * @example Catching a connect timeout
 * ```ts
 * import assert from "node:assert/strict";
 * import { ConnectTimeoutError, QueuePool } from "@dbpool/pool";
 *
 * await using pool = new QueuePool(() => new Promise<object>(() => {}), {
 *   connectTimeoutMs: 10,
 * });
 * await assert.rejects(pool.connect(), (error) => {
 *   assert(error instanceof ConnectTimeoutError);
 *   assert.equal(error.timeoutMs, 10);
 *   return true;
 * });
 * ```
 */
export class ConnectTimeoutError extends Error {
  /** The `connectTimeoutMs` that ran out, in milliseconds. */
  readonly timeoutMs: number;

  /**
   * Makes the error.
   *
   * @param message The message.
   * @param options The milliseconds that ran out, and an optional `cause`.
   */
  constructor(message: string, options: ConnectTimeoutErrorOptions) {
    super(message, options);
    this.name = "ConnectTimeoutError";
    this.timeoutMs = options.timeoutMs;
  }
}

/**
 * The pool was closed with `pool.close()`: every later `connect()`, and
 * every checkout that was waiting when it was called, fails with this
 * error. The message names the pool class.
 *
 * @example Checking out from a closed pool
 * ```ts
 * import assert from "node:assert/strict";
 * import { PoolClosedError, QueuePool } from "@dbpool/pool";
 *
 * const pool = new QueuePool(() => ({}));
 * await pool.close();
 * await assert.rejects(pool.connect(), PoolClosedError);
 * ```
 */
export class PoolClosedError extends Error {
  /**
   * Makes the error.
   *
   * @param message The message.
   * @param options An optional `cause`.
   */
  constructor(message?: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "PoolClosedError";
  }
}

/** Options of {@linkcode CreateBackoffError}. */
export interface CreateBackoffErrorOptions extends ErrorOptions {
  /** The length of the backoff in progress, in milliseconds. */
  backoffMs: number;
  /** Milliseconds left until the pool tries the creator again. */
  retryInMs: number;
}

/**
 * A checkout needed a new connection while the pool was backing off after a
 * failed creation (the `createBackoffMs` option): it fails at once, without
 * calling the creator. Its `cause` is the error of the last failed
 * creation. None of the other classes fits: the creator was not slow
 * (`ConnectTimeoutError`), the pool is not exhausted (`PoolTimeoutError`),
 * and no connection was found dead (`DisconnectionError`).
 *
 * @example Failing fast while the database refuses connections
 * ```ts
 * import assert from "node:assert/strict";
 * import { CreateBackoffError, QueuePool } from "@dbpool/pool";
 *
 * let calls = 0;
 * await using pool = new QueuePool<object>(() => {
 *   calls++;
 *   throw new Error("too many clients already");
 * }, { createBackoffMs: 1_000 });
 * await assert.rejects(pool.connect(), /too many clients/);
 * await assert.rejects(pool.connect(), (error) => {
 *   assert(error instanceof CreateBackoffError);
 *   assert.match(String((error.cause as Error).message), /too many clients/);
 *   return true;
 * });
 * assert.equal(calls, 1);
 * ```
 */
export class CreateBackoffError extends Error {
  /** The length of the backoff in progress, in milliseconds. */
  readonly backoffMs: number;
  /** Milliseconds left, when thrown, until the pool tries the creator again. */
  readonly retryInMs: number;

  /**
   * Makes the error.
   *
   * @param message The message.
   * @param options The backoff, the time left and the last creation error as `cause`.
   */
  constructor(message: string, options: CreateBackoffErrorOptions) {
    super(message, options);
    this.name = "CreateBackoffError";
    this.backoffMs = options.backoffMs;
    this.retryInMs = options.retryInMs;
  }
}
