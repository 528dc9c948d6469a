/**
 * `pool.stats()` of the queue pool: waits, timeouts, aborts of waiting
 * checkouts, `pending`, `max`, and the sum rule `open === idle +
 * checkedOut`. The counts every class shares are in
 * `pool_conformance_test.ts`.
 *
 * @module
 */

import assert from "node:assert/strict";
import { FakeClock, FakeDriver } from "./_test_fake_driver.ts";
import { QueuePool } from "./queue_pool.ts";

Deno.test("queue pool stats count a timeout that did not wait, and an overflow connection closed on return", async () => {
  const driver = new FakeDriver();
  await using pool = new QueuePool(driver.creator, {
    dialect: driver.dialect,
    poolSize: 1,
    maxOverflow: 1,
    timeoutMs: 0,
  });
  const a = await pool.connect();
  const b = await pool.connect();
  assert.deepEqual(
    [pool.stats().open, pool.stats().checkedOut, pool.stats().max],
    [2, 2, 2],
  );
  // timeoutMs 0: an exhausted pool fails at once, without waiting.
  await assert.rejects(pool.connect(), { name: "PoolTimeoutError" });
  await b.close();
  const stats = pool.stats();
  assert.equal(stats.open, stats.idle + stats.checkedOut);
  assert.deepEqual(
    [stats.open, stats.idle, stats.checkedOut, stats.closes, stats.timeouts],
    [2, 1, 1, 0, 1],
  );
  await a.close();
  assert.deepEqual(
    [
      pool.stats().open,
      pool.stats().idle,
      pool.stats().closes,
      pool.stats().waits,
    ],
    [1, 1, 1, 0],
  );
});

Deno.test("queue pool stats count a waiting checkout that is served and one that is aborted, and pending while they wait", async () => {
  const driver = new FakeDriver();
  await using pool = new QueuePool(driver.creator, {
    dialect: driver.dialect,
    poolSize: 1,
    maxOverflow: 0,
    timeoutMs: null,
  });
  const held = await pool.connect();
  const served = pool.connect();
  const controller = new AbortController();
  const aborted = pool.connect({ signal: controller.signal });
  assert.equal(pool.stats().pending, 2);
  assert.equal(pool.stats().waits, 2);
  controller.abort(new Error("gave up"));
  await assert.rejects(aborted, { message: "gave up" });
  await held.close();
  const proxy = await served;
  assert.deepEqual(
    [
      pool.stats().pending,
      pool.stats().checkouts,
      pool.stats().aborts,
      pool.stats().open,
      pool.stats().checkedOut,
      pool.stats().idle,
    ],
    [0, 2, 1, 1, 1, 0],
  );
  await proxy.close();
});

Deno.test("queue pool stats count a waiting checkout that runs out of time", async () => {
  const driver = new FakeDriver();
  await using pool = new QueuePool(driver.creator, {
    dialect: driver.dialect,
    poolSize: 1,
    maxOverflow: 0,
    timeoutMs: 1,
  });
  const held = await pool.connect();
  await assert.rejects(pool.connect(), { name: "PoolTimeoutError" });
  assert.deepEqual(
    [pool.stats().waits, pool.stats().timeouts, pool.stats().pending],
    [1, 1, 0],
  );
  await held.close();
});

Deno.test("queue pool stats: max is null when unbounded, and a connection returned empty is not idle", async () => {
  const driver = new FakeDriver();
  await using pool = new QueuePool(driver.creator, {
    dialect: driver.dialect,
    maxOverflow: -1,
  });
  assert.equal(pool.stats().max, null);
  const proxy = await pool.connect();
  await proxy.invalidate();
  assert.deepEqual(
    [pool.stats().open, pool.stats().idle, pool.stats().invalidations],
    [0, 0, 1],
  );
});

Deno.test("queue pool stats count a connection recycled for its age", async () => {
  const driver = new FakeDriver();
  const clock = new FakeClock();
  await using pool = new QueuePool(driver.creator, {
    dialect: driver.dialect,
    recycleMs: 10,
    clock: clock.fn,
  });
  await (await pool.connect()).close();
  clock.advance(11);
  await (await pool.connect()).close();
  assert.deepEqual(
    [pool.stats().creates, pool.stats().recycles, pool.stats().closes],
    [2, 1, 1],
  );
});
