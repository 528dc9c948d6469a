/**
 * `pool.close()` on the queue pool: waiting callers rejected at once, the
 * drain that resolves only when the last checked-out connection came
 * back, and the termination of those still out after `timeoutMs`. The
 * behaviour every class shares is in `pool_conformance_test.ts`.
 *
 * @module
 */

import assert from "node:assert/strict";
import { PoolClosedError } from "./errors.ts";
import { QueuePool } from "./queue_pool.ts";
import {
  closes,
  FakeDriver,
  linesAt,
  recordingLogger,
  tracer,
} from "./_test_fake_driver.ts";
import { tick, watch } from "./_test_helpers.ts";

Deno.test("QueuePool.close() rejects every waiting checkout with PoolClosedError at once", async () => {
  const driver = new FakeDriver();
  const pool = new QueuePool(driver.creator, {
    dialect: driver.dialect,
    poolSize: 1,
    maxOverflow: 0,
    timeoutMs: null,
  });
  const held = await pool.connect();
  const waiters = [watch(pool.connect()), watch(pool.connect())];
  await tick();
  assert.equal(pool.waiting(), 2);
  const closed = pool.close();
  assert.equal(pool.waiting(), 0);
  for (const waiter of waiters) {
    await assert.rejects(waiter.promise, PoolClosedError);
  }
  await held.close();
  await closed;
  assert.equal(driver.connections.length, 1);
  assert.equal(driver.openCount, 0);
  assert.equal(pool.checkedOut(), 0);
});

Deno.test("QueuePool.close() resolves only when the last checked-out connection came back", async () => {
  const driver = new FakeDriver();
  const pool = new QueuePool(driver.creator, { dialect: driver.dialect });
  const proxies = [
    await pool.connect(),
    await pool.connect(),
    await pool.connect(),
  ];
  await proxies[2]!.close(); // idle: closed at once
  const closed = watch(pool.close());
  await tick();
  assert.equal(driver.connections[2]!.open, false);
  assert.equal(closed.settled, false);
  await proxies[0]!.close();
  await tick();
  assert.equal(driver.connections[0]!.open, false);
  assert.equal(closed.settled, false);
  assert.equal(proxies[1]!.isValid, true);
  await proxies[1]!.close();
  await closed.promise;
  assert.equal(driver.openCount, 0);
  assert.deepEqual(driver.connections.map(closes), [1, 1, 1]);
});

Deno.test("QueuePool.close() terminates the connections still checked out after timeoutMs and invalidates their proxies", async () => {
  const driver = new FakeDriver();
  const trace = tracer(driver);
  const { logger, lines } = recordingLogger();
  const pool = new QueuePool(driver.creator, {
    dialect: trace.dialect,
    logger,
  });
  const kept = await pool.connect();
  const returned = await pool.connect();
  trace.watch(pool);
  const started = performance.now();
  const closed = pool.close({ timeoutMs: 20 });
  await returned.close();
  await closed;
  assert(performance.now() - started >= 19, "terminated before timeoutMs");
  assert.equal(kept.isValid, false);
  assert.equal(kept.dbapiConnection, null);
  assert.deepEqual(driver.connections[0]!.calls, ["terminate"]);
  assert.deepEqual(trace.timeline, [
    "reset#2",
    "driver.rollback#2",
    "checkin#2",
    "close#2",
    "driver.close#2",
    "invalidate#1",
    "close#1",
    "driver.terminate#1",
    "checkin#null",
  ]);
  assert.deepEqual(linesAt(lines, "warn"), [
    "Pool closed with 1 connection(s) still checked out after 20 ms; terminating them",
  ]);
  await kept.close(); // late: nothing left to do
  assert.equal(driver.openCount, 0);
  assert.equal(pool.checkedOut(), 0);
});

for (const sweeps of [1, 2]) {
  Deno.test(`QueuePool.close() finds a connection still out after ${sweeps} sweep(s) of the leak guard`, async () => {
    const driver = new FakeDriver();
    const { logger, lines } = recordingLogger();
    const pool = new QueuePool(driver.creator, {
      dialect: driver.dialect,
      poolSize: 0,
      logger,
    });
    const kept = await pool.connect();
    // Every 1024 checkouts the leak guard sweeps its list: a proxy still
    // out is kept until the next sweep, then held weakly only.
    for (let i = 0; i < 1100 * sweeps; i++) {
      await (await pool.connect()).close();
    }
    await pool.close({ timeoutMs: 0 });
    assert.equal(kept.isValid, false);
    assert.equal(driver.openCount, 0);
    assert.equal(linesAt(lines, "warn").length, 1);
  });
}

Deno.test("QueuePool.close() leaves a detached connection alone", async () => {
  const driver = new FakeDriver();
  const pool = new QueuePool(driver.creator, { dialect: driver.dialect });
  const proxy = await pool.connect();
  await proxy.detach();
  await pool.close({ timeoutMs: 0 });
  assert.equal(driver.connections[0]!.open, true);
  await proxy.close();
  assert.equal(driver.openCount, 0);
});
