/**
 * {@linkcode StaticPool}: one connection shared by every checkout.
 *
 * @module
 */

import { type Creator, Pool, type PoolOptions } from "./pool.ts";
import type { CheckoutSite } from "./_leak_detector.ts";
import { COMMON_OPTIONS } from "./_options.ts";
import { registerPoolClass } from "./_pool_classes.ts";
import type { Policy, PolicyGauges, PolicyHost } from "./_policy.ts";
import { IdleCloser } from "./_idle_closer.ts";
import type { PoolEntry } from "./_pool_entry.ts";

/**
 * One entry, shared by every checkout. When it is spent (invalidated,
 * stale, or checked out before the last `dispose()`), the next checkout
 * drops it for a new one, and its connection is closed once no proxy uses
 * it: upstream drops a replaced connection without closing it.
 */
class StaticPolicy<C, P> implements Policy<C, P> {
  readonly #host: PolicyHost<C, P>;
  #entry: PoolEntry<C> | null = null;
  /** `idleTimeoutMs`; `null` when it is off. */
  readonly #closer: IdleCloser<C> | null;

  constructor(host: PolicyHost<C, P>, idleTimeoutMs: number | null) {
    this.#host = host;
    this.#closer = idleTimeoutMs === null ? null : new IdleCloser({
      log: host.log,
      clock: host.clock,
      idleEntries: () => {
        const entry = this.#entry;
        return entry !== null && entry.users === 0 && !entry.isOpening &&
            entry.dbapiConnection !== null
          ? [entry]
          : [];
      },
      close: async (entry) => await this.#retire(entry),
    }, idleTimeoutMs);
  }

  /**
   * The shared entry, or a new one in place of a spent one. When the spent
   * one's connection is being closed, the checkout waits for that first,
   * so that a `close` listener's error rejects this `connect()` instead of
   * going unhandled.
   */
  acquire(
    signal: AbortSignal | undefined,
    site: CheckoutSite | null,
  ): PoolEntry<C> | Promise<P> {
    let entry = this.#entry;
    let retired: void | Promise<void> = undefined;
    if (entry !== null && this.#spent(entry)) {
      retired = this.#retire(entry);
      entry = null;
    }
    if (entry === null) {
      entry = this.#host.newEntry();
      this.#entry = entry;
    }
    if (retired === undefined) return entry;
    const next = entry;
    return retired.then(() => this.#host.checkout(next, signal, site));
  }

  /**
   * Checked out before the last `dispose()`; or, unless a connection is
   * being opened on it, hard-invalidated or stale (soft or pool-wide
   * invalidation, age).
   */
  #spent(entry: PoolEntry<C>): boolean {
    if (this.#host.closesOnReturn(entry)) return true;
    if (entry.isOpening) return false;
    if (entry.dbapiConnection === null) return !entry.neverCheckedOut;
    return entry.staleReason() !== null;
  }

  /** Drops the shared entry; its connection closes now or when its last proxy returns. */
  #retire(entry: PoolEntry<C>): void | Promise<void> {
    if (this.#entry === entry) this.#entry = null;
    if (entry.users === 0) return entry.close();
  }

  /** The last proxy of a dropped entry, or of one checked out before the last `dispose()`, closes it. */
  release(entry: PoolEntry<C>): void | Promise<void> {
    if (entry.users !== 0) return;
    if (entry !== this.#entry || this.#host.closesOnReturn(entry)) {
      return this.#retire(entry);
    }
    this.#closer?.idled(entry);
  }

  discard(entry: PoolEntry<C>): void {
    if (this.#entry === entry) this.#entry = null;
  }

  /** Closes the connection now if no proxy holds it; otherwise its last proxy will. */
  async dispose(): Promise<void> {
    this.#closer?.stop();
    const entry = this.#entry;
    if (entry !== null && entry.users === 0) await this.#retire(entry);
  }

  status(): string {
    return "StaticPool";
  }

  gauges(): PolicyGauges {
    const entry = this.#entry;
    const idle = entry !== null && entry.users === 0 &&
        entry.dbapiConnection !== null
      ? 1
      : 0;
    return { idle, pending: 0, max: 1, idleMax: 1, idleMin: 0 };
  }
}

/**
 * A pool of exactly one connection, shared by **every** checkout, also
 * concurrent ones: each `connect()` gets its own proxy over the same driver
 * connection. Returning does not close it (reset and `checkin` still run on
 * each `close()`). Made for one in-memory SQLite database shared by a whole
 * program (`createPoolFromUrl("sqlite::memory:")`).
 *
 * Hazard: interleaved use of one connection is unsafe, and one proxy's
 * rollback-on-return rolls back the work of another proxy in flight; use it
 * only where callers do not overlap, or set `resetOnReturn: null`.
 *
 * After a hard, soft or pool-wide invalidation (or a recycle), the next
 * checkout builds a new connection; the old one is closed once no proxy
 * uses it. `dispose()` closes the connection now if no proxy holds it,
 * otherwise when the last one returns; the next `connect()` makes a new one.
 *
 * @typeParam C The driver connection type.
 *
 * @example One shared connection
 * ```ts
 * import assert from "node:assert/strict";
 * import { StaticPool } from "@dbpool/pool";
 *
 * let made = 0;
 * await using pool = new StaticPool(() => ({ id: ++made }), { resetOnReturn: null });
 * await using a = await pool.connect();
 * await using b = await pool.connect();
 * assert.equal(a.dbapiConnection, b.dbapiConnection);
 * assert.equal(made, 1);
 * ```
 */
export class StaticPool<C> extends Pool<C> {
  /**
   * Makes a pool of one shared connection.
   *
   * @param creator Makes the driver connection; receives the entry that will own it.
   * @param options The common pool options ({@linkcode PoolOptions}).
   * @throws {TypeError} For options that are not a plain object, an unknown
   *   option key or a value of the wrong type.
   * @throws {RangeError} For a number out of range.
   */
  constructor(creator: Creator<C>, options?: PoolOptions<C>) {
    super(creator, options);
  }
}

registerPoolClass(StaticPool, {
  options: COMMON_OPTIONS,
  makePolicy: (host, options) => new StaticPolicy(host, options.idleTimeoutMs),
});
