/**
 * {@linkcode NullPool}: no pooling at all.
 *
 * @module
 */

import { type Creator, Pool, type PoolOptions } from "./pool.ts";
import { COMMON_OPTIONS } from "./_options.ts";
import { registerPoolClass } from "./_pool_classes.ts";
import type { Policy, PolicyGauges, PolicyHost } from "./_policy.ts";
import type { PoolEntry } from "./_pool_entry.ts";
import { RESOLVED } from "./_promises.ts";

/** Every checkout gets a new entry; every return closes its connection. */
class NullPolicy<C, P> implements Policy<C, P> {
  readonly #host: PolicyHost<C, P>;

  constructor(host: PolicyHost<C, P>) {
    this.#host = host;
  }

  acquire(): PoolEntry<C> {
    return this.#host.newEntry();
  }

  release(entry: PoolEntry<C>): Promise<void> {
    return entry.close();
  }

  discard(): void {}

  dispose(): Promise<void> {
    return RESOLVED;
  }

  status(): string {
    return "NullPool";
  }

  gauges(): PolicyGauges {
    return { idle: 0, pending: 0, max: null, idleMax: 0, idleMin: 0 };
  }
}

/**
 * A pool that does not pool: every `connect()` calls the creator, and every
 * `close()` resets, fires `checkin`, then closes the driver connection
 * (`close` event). `dispose()` does nothing. Use it where something else
 * pools (pgbouncer, a serverless proxy) or to rule the pool out when
 * debugging. Pre-ping never pings (every connection is new).
 *
 * @typeParam C The driver connection type.
 *
 * @example A new connection per checkout
 * ```ts
 * import assert from "node:assert/strict";
 * import { NullPool } from "@dbpool/pool";
 *
 * let made = 0;
 * let closed = 0;
 * await using pool = new NullPool(() => (made++, { close: () => void closed++ }));
 * await (await pool.connect()).close();
 * await (await pool.connect()).close();
 * assert.deepEqual([made, closed], [2, 2]);
 * assert.equal(pool.status(), "NullPool");
 * ```
 */
export class NullPool<C> extends Pool<C> {
  /**
   * Makes a pool that does not pool.
   *
   * @param creator Makes a driver connection; receives the entry that will own it.
   * @param options The common pool options ({@linkcode PoolOptions}).
   * @throws {TypeError} For options that are not a plain object, an unknown
   *   option key or a value of the wrong type.
   * @throws {RangeError} For a number out of range.
   */
  constructor(creator: Creator<C>, options?: PoolOptions<C>) {
    super(creator, options);
  }
}

registerPoolClass(NullPool, {
  options: COMMON_OPTIONS,
  makePolicy: (host) => new NullPolicy(host),
});
