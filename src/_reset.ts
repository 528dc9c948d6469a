/**
 * {@linkcode ResetOnReturn}: what is done to a connection coming back from a
 * checkout before anyone else may use it, and the last return of a
 * detached proxy.
 *
 * - The `reset` event fires first, in every `resetOnReturn` mode, with a
 *   frozen {@linkcode PoolResetState}; then the mode's action: `"rollback"`
 *   (skipped when the dialect knows no transaction is open), `"commit"`,
 *   or nothing.
 * - An action that returns a promise is bounded by `validationTimeoutMs`;
 *   past it the reset fails with a `DisconnectionError`, and the caller
 *   invalidates (terminates) the connection.
 * - A detached proxy's connection is not checked in: after its reset (with
 *   `terminateOnly`) `closeDetached` fires and the connection is closed,
 *   or terminated when the reset failed or a query is still running.
 *
 * @module
 */

import type { PoolResetState } from "./events.ts";
import type { Dialect } from "./dialect.ts";
import type { PoolLog } from "./_log.ts";
import { DisconnectionError } from "./errors.ts";
import { reasonSuffix } from "./_log.ts";
import type { PoolContext } from "./_pool_context.ts";
import type { PoolEntry } from "./_pool_entry.ts";
import { isPromise, withTimeout } from "./_promises.ts";

/** The reset state of a normal return. */
const RETURN_RESET: PoolResetState = Object.freeze({
  transactionWasReset: false,
  terminateOnly: false,
  asyncioSafe: true,
});

/** The reset state of closing a detached proxy. */
const DETACHED_RESET: PoolResetState = Object.freeze({
  transactionWasReset: false,
  terminateOnly: true,
  asyncioSafe: true,
});

const NONE: unique symbol = Symbol("none");

/** The reset on return of one pool. */
export class ResetOnReturn<C> {
  readonly #context: PoolContext<C>;
  readonly #mode: "rollback" | "commit" | null;
  readonly #dialect: Dialect<C>;
  readonly #log: PoolLog;

  constructor(context: PoolContext<C>, mode: "rollback" | "commit" | null) {
    this.#context = context;
    this.#mode = mode;
    this.#dialect = context.dialect;
    this.#log = context.log;
  }

  /**
   * The mode's action alone, without the event, for the return's fast path:
   * `undefined` when it ran synchronously or was skipped, else a promise
   * bounded by `validationTimeoutMs`. May throw.
   */
  action(entry: PoolEntry<C>, connection: C): void | Promise<void> {
    const reset = this.#action(entry, connection);
    if (isPromise(reset)) return this.#bounded(reset, entry, "reset on return");
  }

  /** The `reset` event, then the action (bounded), on a normal return. */
  async run(entry: PoolEntry<C>, connection: C): Promise<void> {
    const fired = this.#context.events.fire(
      "reset",
      connection,
      entry,
      RETURN_RESET,
    );
    if (fired) await fired;
    const reset = this.action(entry, connection);
    if (reset) await reset;
  }

  /**
   * The last return of a detached proxy: reset (with `terminateOnly`),
   * `closeDetached`, close. A failed reset is logged and the connection
   * terminated instead; so is one that still runs a query.
   */
  async closeDetached(entry: PoolEntry<C>, connection: C): Promise<void> {
    const { dialect, events, log } = this.#context;
    log.debug(`Connection ${entry.label} being returned to pool`, {
      connection,
    });
    if (dialect.isBusy?.(connection) === true) {
      log.warn(
        `Detached connection ${entry.label} was closed with a query still running; terminating it`,
        { connection },
      );
      return this.#closeDetached(connection, entry.label, true);
    }
    let resetFailed = false;
    try {
      const fired = events.fire("reset", connection, entry, DETACHED_RESET);
      if (fired) await fired;
      const reset = this.#action(entry, connection);
      if (isPromise(reset)) await this.#bounded(reset, entry, "reset on close");
    } catch (error) {
      resetFailed = true;
      log.error("Exception during reset or similar", { connection, error });
    }
    await this.#closeDetached(connection, entry.label, resetFailed);
  }

  /** `proxy.invalidate()` on a detached proxy: `closeDetached`, then terminate. */
  async invalidateDetached(connection: C, error: unknown): Promise<void> {
    this.#context.log.info(
      `Invalidate detached connection${reasonSuffix(error)}`,
      { connection, error },
    );
    await this.#closeDetached(connection, "<detached>", true);
  }

  #action(entry: PoolEntry<C>, connection: C): void | Promise<void> {
    const dialect = this.#dialect;
    const log = this.#log;
    if (this.#mode === "rollback") {
      // A connection the driver knows to be outside a transaction is not rolled back.
      if (dialect.inTransaction?.(connection) === false) return;
      if (log.debugOn) {
        log.debug(`Connection ${entry.label} rollback-on-return`);
      }
      return dialect.rollback?.(connection);
    }
    if (this.#mode === "commit") {
      if (log.debugOn) log.debug(`Connection ${entry.label} commit-on-return`);
      return dialect.commit?.(connection);
    }
  }

  #bounded(
    work: Promise<void>,
    entry: PoolEntry<C>,
    what: string,
  ): Promise<void> {
    const timeoutMs = this.#context.validationTimeoutMs;
    return withTimeout(
      work,
      timeoutMs,
      () =>
        new DisconnectionError(
          `Connection ${entry.label}: ${what} took longer than validationTimeoutMs (${timeoutMs} ms)`,
        ),
    );
  }

  /**
   * `closeDetached`, then close (or terminate) the driver connection; a
   * listener's error is rethrown once the connection is closed.
   */
  async #closeDetached(
    connection: C,
    label: string,
    terminate: boolean,
  ): Promise<void> {
    let listenerError: unknown = NONE;
    try {
      const fired = this.#context.events.fire("closeDetached", connection);
      if (fired) await fired;
    } catch (error) {
      listenerError = error;
    }
    await this.#context.closeDriver(connection, label, terminate);
    if (listenerError !== NONE) throw listenerError;
  }
}
