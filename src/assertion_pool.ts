/**
 * {@linkcode AssertionPool}: one connection, and an error on a second
 * simultaneous checkout.
 *
 * @module
 */

import { AssertionPoolError } from "./errors.ts";
import { type Creator, Pool, type PoolOptions } from "./pool.ts";
import { booleanOption, COMMON_OPTIONS, type OptionTable } from "./_options.ts";
import { registerPoolClass } from "./_pool_classes.ts";
import type { Policy, PolicyGauges, PolicyHost } from "./_policy.ts";
import { IdleCloser } from "./_idle_closer.ts";
import type { PoolEntry } from "./_pool_entry.ts";

/**
 * Options of {@linkcode AssertionPool}.
 *
 * @typeParam C The driver connection type.
 *
 * @example
 * ```ts
 * import { AssertionPool, type AssertionPoolOptions } from "@dbpool/pool";
 *
 * const options: AssertionPoolOptions<object> = { storeTraceback: false };
 * await using pool = new AssertionPool(() => ({}), options);
 * ```
 */
export interface AssertionPoolOptions<C> extends PoolOptions<C> {
  /**
   * Capture the stack of each checkout, and show it in the error raised by a
   * second simultaneous checkout.
   *
   * @default {true}
   */
  storeTraceback?: boolean;
}

/** One entry, one checkout at a time. */
class AssertionPolicy<C, P> implements Policy<C, P> {
  readonly #host: PolicyHost<C, P>;
  readonly #storeTraceback: boolean;
  #entry: PoolEntry<C> | null = null;
  #checkedOut = false;
  #stack: string | undefined = undefined;
  /** `idleTimeoutMs`; `null` when it is off. */
  readonly #closer: IdleCloser<C> | null;

  constructor(
    host: PolicyHost<C, P>,
    storeTraceback: boolean,
    idleTimeoutMs: number | null,
  ) {
    this.#host = host;
    this.#storeTraceback = storeTraceback;
    this.#closer = idleTimeoutMs === null ? null : new IdleCloser({
      log: host.log,
      clock: host.clock,
      idleEntries: () => {
        const entry = this.#entry;
        return entry !== null && !this.#checkedOut && !entry.isOpening &&
            entry.dbapiConnection !== null
          ? [entry]
          : [];
      },
      close: (entry) => {
        // The next checkout gets a new entry.
        if (this.#entry === entry) this.#entry = null;
        return entry.close();
      },
    }, idleTimeoutMs);
  }

  acquire(): PoolEntry<C> {
    if (this.#checkedOut) {
      throw new AssertionPoolError(
        this.#stack === undefined
          ? "connection is already checked out"
          : `connection is already checked out at:\n${this.#stack}`,
      );
    }
    this.#checkedOut = true;
    if (this.#storeTraceback) {
      this.#stack = new Error("checkout").stack?.split("\n").slice(1).join(
        "\n",
      );
    }
    this.#entry ??= this.#host.newEntry();
    return this.#entry;
  }

  /** Clears the checked-out flag; an entry checked out before the last `dispose()` is closed. */
  release(entry: PoolEntry<C>): void | Promise<void> {
    if (!this.#checkedOut) {
      throw new AssertionPoolError("connection is not checked out");
    }
    this.#checkedOut = false;
    this.#stack = undefined;
    if (this.#host.closesOnReturn(entry)) return entry.close();
    this.#closer?.idled(entry);
  }

  discard(entry: PoolEntry<C>): void {
    this.#checkedOut = false;
    this.#stack = undefined;
    if (this.#entry === entry) this.#entry = null;
  }

  /** Closes the connection now if it is idle; otherwise it is closed on return. */
  async dispose(): Promise<void> {
    this.#closer?.stop();
    const entry = this.#entry;
    if (entry !== null && !this.#checkedOut) await entry.close();
  }

  status(): string {
    return "AssertionPool";
  }

  gauges(): PolicyGauges {
    const entry = this.#entry;
    const idle = entry !== null && !entry.inUse &&
        entry.dbapiConnection !== null
      ? 1
      : 0;
    return { idle, pending: 0, max: 1, idleMax: 1, idleMin: 0 };
  }
}

/**
 * A pool of one connection that throws {@linkcode AssertionPoolError} when
 * a second checkout happens while the first is still out: a debugging aid
 * to find code that holds more than one connection at a time. With
 * `storeTraceback` (the default) the error shows where the first checkout
 * happened.
 *
 * @typeParam C The driver connection type.
 *
 * @example Catching a second checkout
 * ```ts
 * import assert from "node:assert/strict";
 * import { AssertionPool, AssertionPoolError } from "@dbpool/pool";
 *
 * await using pool = new AssertionPool(() => ({}));
 * await using _first = await pool.connect();
 * await assert.rejects(pool.connect(), AssertionPoolError);
 * ```
 */
export class AssertionPool<C> extends Pool<C> {
  /**
   * Makes an assertion pool.
   *
   * @param creator Makes the driver connection; receives the entry that will own it.
   * @param options The common pool options and `storeTraceback`.
   * @throws {TypeError} For options that are not a plain object, an unknown
   *   option key or a value of the wrong type.
   * @throws {RangeError} For a number out of range.
   */
  constructor(creator: Creator<C>, options?: AssertionPoolOptions<C>) {
    super(creator, options);
  }
}

registerPoolClass(AssertionPool, {
  options: {
    ...COMMON_OPTIONS,
    storeTraceback: booleanOption(true),
  } as const satisfies OptionTable<AssertionPoolOptions<unknown>>,
  makePolicy: (host, options) =>
    new AssertionPolicy(host, options.storeTraceback, options.idleTimeoutMs),
});
