/**
 * Every pool class, as a table for the tests that run over all of them, and
 * small helpers that drive a pool. Not published.
 *
 * @module
 */

import type { Creator, Pool } from "./pool.ts";
import type { Dialect } from "./dialect.ts";
import type { FakeConnection } from "./_test_fake_driver.ts";
import { AssertionPool } from "./assertion_pool.ts";
import { NullPool } from "./null_pool.ts";
import { QueuePool } from "./queue_pool.ts";
import { SingletonContextPool } from "./singleton_context_pool.ts";
import { StaticPool } from "./static_pool.ts";

/** A pool class, as the tests construct it. */
export type PoolClass = new (
  creator: Creator<FakeConnection>,
  options?: { dialect?: Dialect<FakeConnection> },
) => Pool<FakeConnection>;

/** Every pool class, by name. */
export const POOL_CLASSES: [string, PoolClass][] = [
  ["QueuePool", QueuePool],
  ["NullPool", NullPool],
  ["StaticPool", StaticPool],
  ["AssertionPool", AssertionPool],
  ["SingletonContextPool", SingletonContextPool],
];

/** Checks out and returns one connection. */
export async function cycle<C>(pool: Pool<C>): Promise<void> {
  const proxy = await pool.connect();
  await proxy.close();
}
