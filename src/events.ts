/**
 * The pool's events: names, listener signatures and options.
 *
 * @module
 */

import type {
  ConnectionPoolEntry,
  PoolProxiedConnection,
} from "./connection.ts";

/**
 * What a `reset` listener is told about the return in progress (SQLAlchemy's
 * `PoolResetState`). A frozen object.
 *
 * @example A custom reset scheme
 * ```ts
 * import { QueuePool } from "@dbpool/pool";
 *
 * await using pool = new QueuePool(() => ({ rollback() {} }), { resetOnReturn: null });
 * pool.on("reset", (conn, _entry, state) => {
 *   if (!state.terminateOnly) {
 *     // e.g. run DISCARD ALL here
 *   }
 *   conn.rollback();
 * });
 * ```
 */
export interface PoolResetState {
  /** A layer above the pool already ended the transaction; rollback mode then skips its rollback. */
  readonly transactionWasReset: boolean;
  /** The connection is about to be closed, not checked in (closing a detached proxy). */
  readonly terminateOnly: boolean;
  /** The reset runs where I/O is allowed. Always `true` in this port; kept for parity. */
  readonly asyncioSafe: boolean;
}

/**
 * What a `handleError` listener receives: the error thrown by the function
 * given to `pool.withConnection()`, the checkout it ran on, and two
 * writable flags that decide what the pool does next. The object is made
 * only when that function throws.
 *
 * @typeParam C The driver connection type.
 *
 * @example Treating a driver's error as a disconnect, without invalidating the whole pool
 * ```ts
 * import assert from "node:assert/strict";
 * import { QueuePool } from "@dbpool/pool";
 *
 * await using pool = new QueuePool(() => ({}));
 * pool.on("handleError", (context) => {
 *   if (context.error instanceof Error && context.error.message === "gone") {
 *     context.isDisconnect = true;
 *     context.invalidatePoolOnDisconnect = false;
 *   }
 * });
 * await assert.rejects(
 *   pool.withConnection(() => {
 *     throw new Error("gone");
 *   }),
 *   { message: "gone" },
 * );
 * assert.equal(pool.stats().invalidations, 1);
 * ```
 */
export interface HandleErrorContext<C> {
  /** What the function threw or rejected with; rethrown to the caller afterwards. */
  readonly error: unknown;
  /** The checkout the function ran on (not yet returned). */
  readonly connection: PoolProxiedConnection<C>;
  /** Its slot: `info` and `recordInfo` tell listeners which server it is on. */
  readonly entry: ConnectionPoolEntry<C>;
  /**
   * Whether the error means the connection is dead: at first,
   * `dialect.isDisconnect(error, driverConnection) === true`. When it is
   * `true` after the listeners, the connection is hard-invalidated.
   */
  isDisconnect: boolean;
  /**
   * With a disconnect, also invalidate the pool (as `pool.invalidate()`
   * does: every connection made before now is replaced at its next
   * checkout). Default `true`; set it to `false` to keep the other
   * connections, e.g. when only one of several servers failed.
   */
  invalidatePoolOnDisconnect: boolean;
}

/**
 * The eleven events and their listener signatures. Listeners may be sync or
 * async; the pool awaits each in turn.
 *
 * @typeParam C The driver connection type.
 *
 * @example Counting checkouts
 * ```ts
 * import { QueuePool } from "@dbpool/pool";
 *
 * await using pool = new QueuePool(() => ({}));
 * let checkouts = 0;
 * pool.on("checkout", () => void checkouts++);
 * await using _conn = await pool.connect();
 * console.log(checkouts); // 1
 * ```
 */
export interface PoolEventMap<C> {
  /** Once per pool instance, when its first driver connection is created, before `connect`. Retried until it succeeds once. */
  firstConnect(
    dbapiConnection: C,
    entry: ConnectionPoolEntry<C>,
  ): void | Promise<void>;
  /** For every new driver connection, including reconnects of an existing entry. */
  connect(
    dbapiConnection: C,
    entry: ConnectionPoolEntry<C>,
  ): void | Promise<void>;
  /** On every checkout. Throwing `DisconnectionError` retries on a fresh connection. */
  checkout(
    dbapiConnection: C,
    entry: ConnectionPoolEntry<C>,
    proxy: PoolProxiedConnection<C>,
  ): void | Promise<void>;
  /** When a proxy's entry returns to the pool; `null` if the connection was invalidated. */
  checkin(
    dbapiConnection: C | null,
    entry: ConnectionPoolEntry<C>,
  ): void | Promise<void>;
  /** Before the reset action on return, in every `resetOnReturn` mode. */
  reset(
    dbapiConnection: C,
    entry: ConnectionPoolEntry<C>,
    state: PoolResetState,
  ): void | Promise<void>;
  /** On a hard invalidation, before the connection is closed. */
  invalidate(
    dbapiConnection: C,
    entry: ConnectionPoolEntry<C>,
    error: unknown,
  ): void | Promise<void>;
  /** On a soft invalidation. Nothing is closed. */
  softInvalidate(
    dbapiConnection: C,
    entry: ConnectionPoolEntry<C>,
    error: unknown,
  ): void | Promise<void>;
  /** Before a connection still attached to an entry is closed or terminated. */
  close(
    dbapiConnection: C,
    entry: ConnectionPoolEntry<C>,
  ): void | Promise<void>;
  /** After `detach()`. */
  detach(
    dbapiConnection: C,
    entry: ConnectionPoolEntry<C>,
  ): void | Promise<void>;
  /** Before a detached connection is closed. */
  closeDetached(dbapiConnection: C): void | Promise<void>;
  /**
   * When the function given to `pool.withConnection()` throws, before the
   * pool acts on the flags of `context` (see {@linkcode HandleErrorContext}).
   */
  handleError(context: HandleErrorContext<C>): void | Promise<void>;
}

/**
 * The name of one of the eleven events.
 *
 * @example
 * ```ts
 * import type { PoolEventName } from "@dbpool/pool";
 *
 * const name: PoolEventName = "checkout";
 * console.log(name);
 * ```
 */
export type PoolEventName = keyof PoolEventMap<unknown>;

/**
 * Any listener function, as stored in the `events` option.
 *
 * @example
 * ```ts
 * import type { PoolListenerFn } from "@dbpool/pool";
 *
 * const log: PoolListenerFn = (...args) => console.log(args.length);
 * console.log(typeof log);
 * ```
 */
// deno-lint-ignore no-explicit-any -- listener arguments differ per event; the map above types them.
export type PoolListenerFn = (...args: any[]) => void | Promise<void>;

/**
 * Every event name, in SQLAlchemy's documentation order.
 *
 * @example
 * ```ts
 * import { POOL_EVENT_NAMES } from "@dbpool/pool";
 *
 * console.log(POOL_EVENT_NAMES.includes("checkout")); // true
 * ```
 */
export const POOL_EVENT_NAMES: readonly PoolEventName[] = Object.freeze(
  [
    "firstConnect",
    "connect",
    "checkout",
    "checkin",
    "reset",
    "invalidate",
    "softInvalidate",
    "close",
    "detach",
    "closeDetached",
    "handleError",
  ] as const,
);

/**
 * Options of `pool.on()` and the static `Pool.on()`.
 *
 * @example
 * ```ts
 * import { QueuePool } from "@dbpool/pool";
 *
 * const shutdown = new AbortController();
 * await using pool = new QueuePool(() => ({}));
 * pool.on("checkout", () => {}, { signal: shutdown.signal, once: true, insert: true });
 * shutdown.abort();
 * ```
 */
export interface ListenOptions {
  /**
   * Aborting it removes the listener; an already-aborted signal registers
   * nothing. Any number of listeners, on any pools and classes, may share
   * one signal: it gets a single abort listener, and aborting it removes
   * them all in time linear in their number.
   */
  signal?: AbortSignal;
  /**
   * Remove the listener before its first call.
   *
   * @default {false}
   */
  once?: boolean;
  /**
   * Put the listener first in its group (class-level or instance).
   *
   * @default {false}
   */
  insert?: boolean;
}

/**
 * A legacy listener object (SQLAlchemy's `PoolListener`): only the methods
 * present are subscribed. A hook that is present (not `undefined`) but not
 * a function is rejected with `TypeError`.
 *
 * @typeParam C The driver connection type.
 *
 * @example
 * ```ts
 * import { QueuePool, type PoolListener } from "@dbpool/pool";
 *
 * const counter: PoolListener<object> = { checkout: () => {} };
 * await using pool = new QueuePool(() => ({}), { listeners: [counter] });
 * ```
 */
export interface PoolListener<C> {
  /** As the `connect` event. */
  connect?: PoolEventMap<C>["connect"];
  /** As the `firstConnect` event. */
  firstConnect?: PoolEventMap<C>["firstConnect"];
  /** As the `checkout` event. */
  checkout?: PoolEventMap<C>["checkout"];
  /** As the `checkin` event. */
  checkin?: PoolEventMap<C>["checkin"];
}
