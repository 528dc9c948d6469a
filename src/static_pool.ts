/**
 * {@linkcode StaticPool}: one connection shared by every checkout.
 *
 * @module
 */

import { type Creator, Pool, type PoolOptions } from "./pool.ts";
import { registerPoolClass } from "./_pool_classes.ts";
import type { Policy, PoolCore } from "./_pool_core.ts";
import type { PoolEntry } from "./_pool_entry.ts";
import type { ProxiedConnection } from "./_proxied_connection.ts";

/** One entry, shared; a replaced entry's connection is closed once unused (F10). */
class StaticPolicy<C> implements Policy<C> {
  readonly #core: PoolCore<C>;
  #entry: PoolEntry<C> | null = null;
  /** Set by `acquire()` for the `wait()` that follows it. */
  #retiring: { retired: Promise<void>; entry: PoolEntry<C> } | null = null;

  constructor(core: PoolCore<C>) {
    this.#core = core;
  }

  acquire(): PoolEntry<C> | null {
    let entry = this.#entry;
    let retired: void | Promise<void> = undefined;
    if (entry !== null && !entry.isOpening && this.#spent(entry)) {
      retired = this.#retire(entry);
      entry = null;
    }
    if (entry === null) {
      entry = this.#core.newEntry();
      this.#entry = entry;
    }
    if (retired === undefined) return entry;
    this.#retiring = { retired, entry };
    return null;
  }

  /**
   * Checks out once the replaced connection is closed, so that a `close`
   * listener's error rejects this connect() instead of going unhandled.
   */
  wait(signal: AbortSignal | undefined): Promise<ProxiedConnection<C>> {
    const { retired, entry } = this.#retiring!;
    this.#retiring = null;
    return retired.then(() => this.#core.checkout(entry, signal));
  }

  /** Hard-invalidated, or stale by soft/pool invalidation or age. */
  #spent(entry: PoolEntry<C>): boolean {
    if (entry.dbapiConnection === null) return !entry.neverCheckedOut;
    return entry.staleReason() !== null;
  }

  /** Drops the shared entry; its connection closes now or when its last proxy returns. */
  #retire(entry: PoolEntry<C>): void | Promise<void> {
    if (this.#entry === entry) this.#entry = null;
    if (entry.users === 0) return entry.close();
  }

  put(entry: PoolEntry<C>): void | Promise<void> {
    if (entry !== this.#entry && entry.users === 0) {
      return entry.close();
    }
  }

  discard(entry: PoolEntry<C>): void {
    if (this.#entry === entry) this.#entry = null;
  }

  async dispose(): Promise<void> {
    const entry = this.#entry;
    if (entry !== null) await this.#retire(entry);
  }

  status(): string {
    return "StaticPool";
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
  keys: [],
  makePolicy: (core) => new StaticPolicy(core),
});
