/**
 * Every pool class, as a table for the tests that run over all of them, and
 * small helpers that drive a pool. Not published.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { Creator, Pool, PoolOptions } from "./pool.ts";
import type { FakeConnection } from "./_test_fake_driver.ts";
import { AssertionPool } from "./assertion_pool.ts";
import { NullPool } from "./null_pool.ts";
import { QueuePool } from "./queue_pool.ts";
import { SingletonContextPool } from "./singleton_context_pool.ts";
import { StaticPool } from "./static_pool.ts";

/** A pool class, as the tests construct it. */
export type PoolClass = new (
  creator: Creator<FakeConnection>,
  options?: PoolOptions<FakeConnection>,
) => Pool<FakeConnection>;

/** One pool class and what the tests over every class expect of it. */
export interface PoolClassCase {
  readonly name: string;
  readonly Class: PoolClass;
  /**
   * Whether a returned connection is kept for the next checkout (`false`
   * for `NullPool`, which closes every returned connection).
   */
  readonly keepsReturned: boolean;
  /**
   * `status()` of the default pool with no connection yet, with one
   * connection checked out, and after that connection was returned.
   */
  readonly status: {
    readonly fresh: RegExp;
    readonly checkedOut: RegExp;
    readonly returned: RegExp;
  };
  /**
   * `stats()` after the scripted sequence of the stats test (the counters
   * that differ between classes) and `max` of the default pool.
   */
  readonly stats: {
    readonly max: number | null;
    readonly creates: number;
    readonly recycles: number;
    readonly closes: number;
  };
  /** The counters of the pool classes that have them (the queue pool). */
  counters?(pool: Pool<FakeConnection>): {
    checkedIn: number;
    checkedOut: number;
  };
}

/** The status of a class that always reports its name. */
function named(name: string): PoolClassCase["status"] {
  const status = new RegExp(`^${name}$`);
  return { fresh: status, checkedOut: status, returned: status };
}

/** Every pool class. `QueuePool` is `AsyncAdaptedQueuePool` under another name. */
export const POOL_CLASSES: readonly PoolClassCase[] = [
  {
    name: "QueuePool",
    Class: QueuePool,
    keepsReturned: true,
    stats: { max: 15, creates: 3, recycles: 1, closes: 3 },
    status: {
      fresh:
        /^Pool size: 5 {2}Connections in pool: 0 Current Overflow: -5 Current Checked out connections: 0$/,
      checkedOut:
        /^Pool size: 5 {2}Connections in pool: 0 Current Overflow: -4 Current Checked out connections: 1$/,
      returned:
        /^Pool size: 5 {2}Connections in pool: 1 Current Overflow: -4 Current Checked out connections: 0$/,
    },
    counters(pool) {
      assert(pool instanceof QueuePool);
      return { checkedIn: pool.checkedIn(), checkedOut: pool.checkedOut() };
    },
  },
  {
    name: "NullPool",
    Class: NullPool,
    keepsReturned: false,
    stats: { max: null, creates: 4, recycles: 0, closes: 4 },
    status: named("NullPool"),
  },
  {
    name: "StaticPool",
    Class: StaticPool,
    keepsReturned: true,
    // A stale shared connection is dropped with its entry, not recycled on it.
    stats: { max: 1, creates: 3, recycles: 0, closes: 3 },
    status: named("StaticPool"),
  },
  {
    name: "AssertionPool",
    Class: AssertionPool,
    keepsReturned: true,
    stats: { max: 1, creates: 3, recycles: 1, closes: 3 },
    status: named("AssertionPool"),
  },
  {
    name: "SingletonContextPool",
    Class: SingletonContextPool,
    keepsReturned: true,
    stats: { max: 5, creates: 3, recycles: 1, closes: 3 },
    status: {
      fresh: /^SingletonThreadPool id:\d+ size: 0$/,
      checkedOut: /^SingletonThreadPool id:\d+ size: 1$/,
      returned: /^SingletonThreadPool id:\d+ size: 1$/,
    },
  },
];

/** Checks out and returns one connection. */
export async function cycle<C>(pool: Pool<C>): Promise<void> {
  const proxy = await pool.connect();
  await proxy.close();
}
