/**
 * The pool slot, {@linkcode PoolEntry} (SQLAlchemy's `_ConnectionRecord`):
 * it implements `ConnectionPoolEntry` and owns the lifecycle of its driver
 * connection.
 *
 * - Opening: a new `info` lifetime, the creator (called by the pool's
 *   context, bounded by `connectTimeoutMs`), then the `firstConnect` and
 *   `connect` listeners through the pool's first-connect gate. A connection
 *   whose listeners throw is invalidated at once, never stranded. An open
 *   in progress is shared by every checkout that needs the entry.
 * - Staleness: at checkout a connection is replaced when it is older than
 *   `recycleMs` (shortened by a random 0 to 2.5% drawn when it opened), older than the pool invalidation time or than its own
 *   soft invalidation, or when the driver has seen its session end.
 * - Pre-ping: a disconnect found by the dialect's `ping()` is an
 *   `InvalidatePoolError`, which makes the checkout replace the connection.
 * - Closing and invalidation (hard or soft), with their events.
 *
 * All of its state is `#private`: a listener that logs an entry sees its
 * public interface only. The engine drives it through the methods below
 * the public ones; nothing else writes its state.
 *
 * @module
 */

import type { ConnectionPoolEntry, InvalidateOptions } from "./connection.ts";
import { DisconnectionError, InvalidatePoolError } from "./errors.ts";
import { connectionLabel, errorText, reasonSuffix } from "./_log.ts";
import type { PoolContext } from "./_pool_context.ts";
import { isPromise, withTimeout } from "./_promises.ts";

const NONE: unique symbol = Symbol("none");

/** The key of Deno's custom inspection (`console.log`, `Deno.inspect`). */
const DENO_INSPECT: unique symbol = Symbol.for("Deno.customInspect");

/** The key of Node's custom inspection (`console.log`, `util.inspect`). */
const NODE_INSPECT: unique symbol = Symbol.for("nodejs.util.inspect.custom");

/**
 * A pool slot. It owns at most one driver connection at a time and survives
 * reconnects; `recordInfo` lives as long as the slot, `info` as long as
 * its current connection.
 */
export class PoolEntry<C> implements ConnectionPoolEntry<C> {
  readonly #context: PoolContext<C>;
  #connection: C | null = null;
  #label = "<none>";
  readonly #info: Map<unknown, unknown> = new Map();
  readonly #recordInfo: Map<unknown, unknown> = new Map();
  /** Checkouts holding the entry (more than one only in `StaticPool`). */
  #users = 0;
  /** Clock reading taken just before the creator was last called. */
  #openedAt = -Infinity;
  /** Age past which the current connection is recycled (`recycleMs`, with jitter). */
  #recycleMs: number;
  /** Clock reading of the last soft invalidation. */
  #softInvalidatedAt = -Infinity;
  /**
   * Set when a connection is opened, cleared by the first validation round
   * that sees it: a connection made during a checkout is never pinged.
   */
  #skipNextPing = false;
  /** `true` until a checkout of the entry was delivered: a failure then discards it. */
  #neverCheckedOut = true;
  /**
   * The pool's dispose generation at the entry's last checkout (at its
   * creation until then).
   */
  #generation: number;
  /** The open in progress, shared by every checkout waiting on it (`StaticPool`). */
  #opening: Promise<void> | null = null;
  /** Clock reading when the entry last went idle (`idleTimeoutMs` only). */
  #idleSince = 0;

  constructor(context: PoolContext<C>, generation: number) {
    this.#context = context;
    this.#generation = generation;
    this.#recycleMs = context.recycleMs;
  }

  // ------------------------------------------------------ public interface

  /** The driver connection, or `null`. */
  get dbapiConnection(): C | null {
    return this.#connection;
  }

  /** The driver connection, or `null` (same as `dbapiConnection`). */
  get driverConnection(): C | null {
    return this.#connection;
  }

  /** Data whose lifetime is the current driver connection. */
  get info(): Map<unknown, unknown> {
    return this.#info;
  }

  /** Data whose lifetime is this slot. */
  get recordInfo(): Map<unknown, unknown> {
    return this.#recordInfo;
  }

  /** `true` while checked out. */
  get inUse(): boolean {
    return this.#users > 0;
  }

  /**
   * Hard: fires `invalidate`, then closes the connection (`close` event,
   * terminate). Soft: fires `softInvalidate` and notes the time; the
   * connection is replaced at the entry's next checkout. Without a
   * connection it does nothing. A listener's error is rethrown, after the
   * connection is closed.
   */
  async invalidate(
    error?: unknown,
    options?: InvalidateOptions,
  ): Promise<void> {
    const connection = this.#connection;
    if (connection === null) return;
    const soft = options?.soft === true;
    const context = this.#context;
    let first: unknown = NONE;
    try {
      const fired = context.events.fire(
        soft ? "softInvalidate" : "invalidate",
        connection,
        this,
        error,
      );
      if (fired) await fired;
    } catch (listenerError) {
      first = listenerError;
    }
    if (context.log.infoOn) {
      context.log.info(
        `${soft ? "Soft " : ""}Invalidate connection ${this.#label}${
          reasonSuffix(error)
        }`,
        { connection, error },
      );
    }
    if (soft) {
      this.#softInvalidatedAt = context.now();
      context.softInvalidated();
    } else {
      context.counts.invalidations++;
      try {
        await this.#closeConnection(true);
      } catch (closeError) {
        if (first === NONE) first = closeError;
        else context.log.secondary(closeError);
      }
    }
    if (first !== NONE) throw first;
  }

  /**
   * Closes the connection: `close` event, then the dialect's close. The
   * entry stays usable; its next checkout opens a new connection.
   */
  close(): Promise<void> {
    return this.#closeConnection(false);
  }

  /** A short description for log lines: `<PoolEntry <conn>>`. */
  toString(): string {
    return `<PoolEntry ${this.#label}>`;
  }

  /** What `console.log(entry)` shows: the public interface, nothing of the engine's. */
  #publicView(): ConnectionPoolEntry<C> {
    return {
      dbapiConnection: this.#connection,
      driverConnection: this.#connection,
      info: this.#info,
      recordInfo: this.#recordInfo,
      inUse: this.#users > 0,
    } as ConnectionPoolEntry<C>;
  }

  /** The public interface, for Deno's `console.log()` and `Deno.inspect()`. */
  [DENO_INSPECT](
    inspect: (value: unknown, options: unknown) => string,
    options: unknown,
  ): string {
    return `PoolEntry ${inspect(this.#publicView(), options)}`;
  }

  /** The public interface, for Node's `console.log()` and `util.inspect()`. */
  [NODE_INSPECT](
    _depth: number,
    options: unknown,
    inspect: (value: unknown, options: unknown) => string,
  ): string {
    return `PoolEntry ${inspect(this.#publicView(), options)}`;
  }

  // ------------------------------------------------------------ for the engine

  /** The label of the current connection, for log lines. */
  get label(): string {
    return this.#label;
  }

  /** Clock reading taken just before the current connection was opened. */
  get openedAt(): number {
    return this.#openedAt;
  }

  /** Checkouts holding the entry now. */
  get users(): number {
    return this.#users;
  }

  /** The pool's dispose generation at the entry's last checkout. */
  get generation(): number {
    return this.#generation;
  }

  /** `true` while a connection is being opened on the entry. */
  get isOpening(): boolean {
    return this.#opening !== null;
  }

  /** `true` until a checkout of the entry was delivered. */
  get neverCheckedOut(): boolean {
    return this.#neverCheckedOut;
  }

  /** Clock reading when the entry last went idle, as noted by {@linkcode PoolEntry.markIdle}. */
  get idleSince(): number {
    return this.#idleSince;
  }

  /** Notes when the entry went idle (the queue pool's `idleTimeoutMs`). */
  markIdle(at: number): void {
    this.#idleSince = at;
  }

  /** One more checkout holds the entry, in the pool's `generation`. */
  beginUse(generation: number): void {
    this.#users++;
    this.#context.counts.checkedOut++;
    this.#generation = generation;
  }

  /** One checkout no longer holds the entry. */
  endUse(): void {
    this.#users--;
    this.#context.counts.checkedOut--;
  }

  /** A checkout of the entry was delivered. */
  markCheckedOut(): void {
    this.#neverCheckedOut = false;
  }

  /**
   * Whether this validation round skips the pre-ping (the connection was
   * opened during this checkout); clears the flag.
   */
  takeSkipNextPing(): boolean {
    const skip = this.#skipNextPing;
    this.#skipNextPing = false;
    return skip;
  }

  /**
   * Pings the connection through the dialect (`prePing`), bounded by
   * `validationTimeoutMs`. A disconnect (`false`, or an error the dialect's
   * `isDisconnect` recognises) throws {@linkcode InvalidatePoolError}, so
   * the checkout replaces the connection and marks every older one stale;
   * a `DisconnectionError` passes as is; any other error is an ordinary
   * failure of the checkout. `undefined` when the ping was synchronous.
   */
  ping(): void | Promise<void> {
    const connection = this.#connection!;
    const { dialect, log } = this.#context;
    log.debug(`Pool pre-ping on connection ${this.#label}`);
    let pinged: boolean | Promise<boolean>;
    try {
      pinged = dialect.ping!(connection);
    } catch (error) {
      throw this.#pingFailure(error, connection);
    }
    if (!isPromise(pinged)) return this.#checkAlive(pinged);
    const timeoutMs = this.#context.validationTimeoutMs;
    return withTimeout(pinged, timeoutMs, () =>
      new DisconnectionError(
        `Connection ${this.#label}: pre-ping took longer than validationTimeoutMs (${timeoutMs} ms)`,
      )).then(
        (alive) => this.#checkAlive(alive),
        (error: unknown) => {
          throw this.#pingFailure(error, connection);
        },
      );
  }

  #checkAlive(alive: boolean): void {
    if (!alive) {
      throw new InvalidatePoolError(
        `Pre-ping found connection ${this.#label} disconnected`,
      );
    }
  }

  /** The error a failed ping's checkout sees. */
  #pingFailure(error: unknown, connection: C): unknown {
    if (error instanceof DisconnectionError) return error;
    if (this.#context.dialect.isDisconnect?.(error, connection) === true) {
      return new InvalidatePoolError(
        `Pre-ping found connection ${this.#label} disconnected`,
        { cause: error },
      );
    }
    return error;
  }

  /**
   * The connection, if it can be handed out with no work: not opening, not
   * stale, not seen closed by the driver. Otherwise `null`, and the caller
   * takes the slow path through {@linkcode PoolEntry.prepare}.
   */
  readyConnection(): C | null {
    const connection = this.#connection;
    if (
      connection !== null && this.#opening === null &&
      (!this.#context.mayBeStale || this.staleReason() === null) &&
      this.#context.dialect.isClosed?.(connection) !== true
    ) {
      return connection;
    }
    return null;
  }

  /** Why the connection must be replaced at checkout, or `null`. Comparisons are strict. */
  staleReason(): string | null {
    const context = this.#context;
    if (
      this.#recycleMs !== Infinity &&
      context.clock() - this.#openedAt > this.#recycleMs
    ) {
      return "exceeded timeout";
    }
    if (context.invalidatedAt > this.#openedAt) {
      return "invalidated due to pool invalidation";
    }
    if (this.#softInvalidatedAt > this.#openedAt) {
      return "invalidated due to local soft invalidation";
    }
    return null;
  }

  /**
   * Makes sure the entry has a usable connection for a checkout: waits for
   * an open in progress, opens one when there is none, replaces one the
   * driver has seen closed or that is stale. `undefined` when there was
   * nothing to do.
   */
  prepare(): void | Promise<void> {
    if (this.#opening !== null) return this.#opening;
    const connection = this.#connection;
    if (connection === null) return this.open();
    if (this.#context.dialect.isClosed?.(connection) === true) {
      return this.#replaceClosed();
    }
    const reason = this.staleReason();
    if (reason === null) return;
    return this.#replace(reason);
  }

  /**
   * Opens a new connection on the entry (which has none), in a new `info`
   * lifetime; checkouts that need the entry meanwhile share this open.
   */
  open(): Promise<void> {
    this.#info.clear();
    const pending = this.#openConnection().finally(() => {
      this.#opening = null;
    });
    this.#opening = pending;
    return pending;
  }

  /** Lets go of `connection` without closing it (`proxy.detach()`). */
  detachConnection(connection: C): void {
    if (this.#connection === connection) {
      this.#connection = null;
      this.#context.counts.open--;
      this.#context.connectionGone();
    }
  }

  /**
   * Terminates the connection with no event and no reset: its checkout was
   * garbage-collected, and nobody will return it.
   */
  async terminateAbandoned(): Promise<void> {
    const connection = this.#connection;
    if (connection === null) return;
    this.#connection = null;
    this.#context.counts.open--;
    await this.#context.closeDriver(connection, this.#label, true);
    this.#context.connectionGone();
  }

  // ------------------------------------------------------------- lifecycle

  async #openConnection(): Promise<void> {
    const context = this.#context;
    this.#connection = null;
    this.#openedAt = context.now();
    this.#recycleMs = context.drawRecycleMs();
    let connection: C;
    context.connectionOpening();
    try {
      const made = context.createDriver(this);
      connection = isPromise(made) ? await made : made;
    } catch (error) {
      context.counts.createFailures++;
      context.connectionGone();
      context.log.debug(`Error on connect(): ${errorText(error)}`, { error });
      throw error;
    }
    context.counts.creates++;
    context.counts.open++;
    context.timings?.create(context.now() - this.#openedAt);
    this.#connection = connection;
    this.#label = connectionLabel(connection, context.nextConnectionId());
    this.#skipNextPing = true;
    context.log.debug(`Created new connection ${this.#label}`, { connection });
    try {
      const fired = context.fireConnect(connection, this);
      if (fired) await fired;
    } catch (error) {
      // The new connection is never stranded: it is invalidated and closed.
      try {
        await this.invalidate(error);
      } catch (secondary) {
        context.log.secondary(secondary);
      }
      throw error;
    }
  }

  /**
   * Replaces a connection whose session the driver has seen end: a hard
   * invalidation of this entry alone (the rest of the pool is untouched),
   * then a new connection.
   */
  async #replaceClosed(): Promise<void> {
    const error = new DisconnectionError(
      `Connection ${this.#label} was closed by the server or the network`,
    );
    this.#context.log.info(
      `Connection ${this.#label} was closed by the server or the network; replacing it`,
    );
    await this.invalidate(error);
    await this.open();
  }

  /** Replaces a stale connection: `close` event, terminate, open (no `invalidate` event). */
  async #replace(reason: string): Promise<void> {
    this.#context.log.info(`Connection ${this.#label} ${reason}; recycling`);
    this.#context.counts.recycles++;
    await this.#closeConnection(true);
    await this.open();
  }

  /**
   * Fires `close` and closes (or terminates) the connection; the driver's
   * error is logged and swallowed, a listener's error rethrown after the
   * connection is closed.
   */
  async #closeConnection(terminate: boolean): Promise<void> {
    const connection = this.#connection;
    if (connection === null) return;
    const context = this.#context;
    let listenerError: unknown = NONE;
    try {
      const fired = context.events.fire("close", connection, this);
      if (fired) await fired;
    } catch (error) {
      listenerError = error;
    }
    const owned = this.#connection === connection;
    if (owned) {
      this.#connection = null;
      context.counts.open--;
    }
    await context.closeDriver(connection, this.#label, terminate);
    if (owned) context.connectionGone();
    if (listenerError !== NONE) throw listenerError;
  }
}
