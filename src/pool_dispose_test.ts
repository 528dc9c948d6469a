/**
 * Tests of `dispose()` and `recreate()` (`src/pool.ts`, the engine in
 * `src/_engine.ts`, the queue policy in `src/queue_pool.ts`): closing
 * idle connections, closing the ones out at `dispose()` when they come
 * back, exact counters, and a `recreate()`d pool that keeps the options and
 * listeners and connects nothing. Run on a `QueuePool`; what every pool
 * class shares is in `pool_conformance_test.ts`.
 *
 * @module
 */

import assert from "node:assert/strict";
import { withoutJitter } from "./_test_helpers.ts";
import {
  type PoolProxiedConnection,
  PoolTimeoutError,
  QueuePool,
} from "../mod.ts";
import type { Dialect } from "./dialect.ts";
import {
  FakeClock,
  type FakeConnection,
  FakeDriver,
  recordEvents,
  recordingLogger,
  tracer,
} from "./_test_fake_driver.ts";

/** The queue pool's counters as one tuple: (checkedIn, checkedOut, overflow). */
function counters<C>(pool: QueuePool<C>): [number, number, number] {
  return [pool.checkedIn(), pool.checkedOut(), pool.overflow()];
}

// --------------------------------------------------------------- dispose()

Deno.test("QueuePool.dispose() closes every idle connection, leaves checked-out ones usable and logs its status", async () => {
  const driver = new FakeDriver();
  const trace = tracer(driver, { probes: false });
  const { logger, lines } = recordingLogger();
  await using pool = new QueuePool(driver.creator, {
    dialect: trace.dialect,
    poolSize: 2,
    maxOverflow: 1,
    echo: true,
    logger,
  });
  const [a, b, c] = [
    await pool.connect(),
    await pool.connect(),
    await pool.connect(),
  ];
  await a!.close();
  await b!.close();
  assert.deepEqual(counters(pool), [2, 1, 1]);
  trace.timeline.length = 0;
  trace.watch(pool);
  await pool.dispose();
  assert.deepEqual(trace.timeline, [
    "close#1",
    "driver.close#1",
    "close#2",
    "driver.close#2",
  ]);
  assert.deepEqual(lines.map((l) => [l.level, l.line]), [
    [
      "info",
      "Pool disposed. Pool size: 2  Connections in pool: 0 Current Overflow: -1 Current Checked out connections: 1",
    ],
  ]);
  assert.deepEqual(counters(pool), [0, 1, -1]);
  // The checked-out connection is untouched and still usable.
  const conn = c!.dbapiConnection!;
  assert.equal(conn.open, true);
  assert.deepEqual(conn.calls, []);
  assert.equal(conn.query("SELECT 1"), "SELECT 1");
  assert.equal(c!.isValid, true);
  await c!.close();
});

Deno.test("QueuePool.dispose(): a connection checked out during dispose() is reset, checked in and closed when returned, not re-pooled", async () => {
  const driver = new FakeDriver();
  const trace = tracer(driver, { probes: false });
  await using pool = new QueuePool(driver.creator, {
    dialect: trace.dialect,
    poolSize: 2,
    maxOverflow: 1,
  });
  const out = await pool.connect();
  await pool.dispose();
  trace.watch(pool);
  await out.close();
  assert.deepEqual(trace.timeline, [
    "reset#1",
    "driver.rollback#1",
    "checkin#1",
    "close#1",
    "driver.close#1",
  ]);
  assert.deepEqual(counters(pool), [0, 0, -2]);
  // The pool stays usable: the next checkout makes a new connection.
  await using next = await pool.connect();
  assert.equal(next.dbapiConnection, driver.connections[1]);
  assert.deepEqual(counters(pool), [0, 1, -1]);
});

Deno.test("QueuePool.dispose() keeps the counters exact: connections out at dispose() are closed on return, so checkedOut() is never negative and capacity never exceeded", async () => {
  const driver = new FakeDriver();
  await using pool = new QueuePool(driver.creator, {
    dialect: driver.dialect,
    poolSize: 2,
    maxOverflow: 1,
    timeoutMs: 0,
  });
  const seen: number[] = [];
  const check = (): void => {
    seen.push(pool.checkedOut());
    assert.ok(pool.checkedOut() >= 0);
    assert.ok(driver.openCount <= 3, `${driver.openCount} connections open`);
  };
  const old = [
    await pool.connect(),
    await pool.connect(),
    await pool.connect(),
  ];
  await pool.dispose();
  check();
  assert.deepEqual(counters(pool), [0, 3, 1]);
  // Capacity is still fully used by the old checkouts.
  await assert.rejects(pool.connect(), PoolTimeoutError);
  check();
  // Each old connection returned is closed and frees one slot.
  await old[0]!.close();
  check();
  assert.deepEqual(counters(pool), [0, 2, 0]);
  const fresh1 = await pool.connect();
  check();
  await assert.rejects(pool.connect(), PoolTimeoutError);
  await old[1]!.close();
  await old[2]!.close();
  check();
  const fresh2 = await pool.connect();
  const fresh3 = await pool.connect();
  check();
  await assert.rejects(pool.connect(), PoolTimeoutError);
  assert.deepEqual(counters(pool), [0, 3, 1]);
  for (const proxy of [fresh1, fresh2, fresh3]) await proxy.close();
  check();
  // The new generation is pooled as usual: poolSize kept, the overflow one closed.
  assert.deepEqual(counters(pool), [2, 0, 0]);
  assert.deepEqual(seen, [3, 3, 2, 3, 1, 3, 0]);
  assert.deepEqual(
    driver.connections.map((c) => c.open),
    [false, false, false, true, true, false],
  );
});

Deno.test("QueuePool.dispose() keeps waiters waiting and serves them when an old connection comes back", async () => {
  const driver = new FakeDriver();
  await using pool = new QueuePool(driver.creator, {
    dialect: driver.dialect,
    poolSize: 1,
    maxOverflow: 0,
    timeoutMs: null,
  });
  const out = await pool.connect();
  const controller = new AbortController();
  const waiter = pool.connect({ signal: controller.signal });
  let settled = false;
  waiter.then(() => settled = true, () => settled = true);
  try {
    await pool.dispose();
    await Promise.resolve();
    assert.equal(settled, false);
    await out.close();
    const served = await waiter;
    // The old connection was closed, not handed over.
    assert.equal(driver.connections[0]!.open, false);
    assert.equal(served.dbapiConnection, driver.connections[1]);
    assert.deepEqual(counters(pool), [0, 1, 0]);
    await served.close();
    assert.deepEqual(counters(pool), [1, 0, 0]);
  } finally {
    controller.abort();
  }
});

Deno.test("QueuePool.dispose(): an old connection invalidated or detached after dispose() frees its slot exactly once", async () => {
  const driver = new FakeDriver();
  await using pool = new QueuePool(driver.creator, {
    dialect: driver.dialect,
    poolSize: 2,
    maxOverflow: 0,
    timeoutMs: 0,
  });
  const a = await pool.connect();
  const b = await pool.connect();
  await pool.dispose();
  await a.invalidate();
  assert.deepEqual(counters(pool), [0, 1, -1]);
  await b.detach();
  assert.deepEqual(counters(pool), [0, 0, -2]);
  await b.close();
  assert.deepEqual(counters(pool), [0, 0, -2]);
  const c = await pool.connect();
  const d = await pool.connect();
  await assert.rejects(pool.connect(), PoolTimeoutError);
  await c.close();
  await d.close();
  assert.deepEqual(counters(pool), [2, 0, 0]);
});

Deno.test("QueuePool.dispose() twice, and [Symbol.asyncDispose], close nothing more", async () => {
  const driver = new FakeDriver();
  await using pool = new QueuePool(driver.creator, { dialect: driver.dialect });
  const proxy = await pool.connect();
  await proxy.close();
  const rec = recordEvents(pool);
  await pool.dispose();
  await pool.dispose();
  await pool[Symbol.asyncDispose]();
  assert.deepEqual(rec.names(), ["close#1"]);
  assert.deepEqual(driver.connections[0]!.calls, ["rollback", "close"]);
  assert.deepEqual(counters(pool), [0, 0, -5]);
});

Deno.test("QueuePool.dispose(): a close listener that throws does not stop the other closes; dispose() rejects with the first error", async () => {
  const driver = new FakeDriver();
  await using pool = new QueuePool(driver.creator, {
    dialect: driver.dialect,
    logger: recordingLogger().logger,
  });
  const proxies = [
    await pool.connect(),
    await pool.connect(),
    await pool.connect(),
  ];
  for (const proxy of proxies) await proxy.close();
  const failures = [new Error("first"), new Error("second")];
  const failing = pool.on("close", () => {
    const failure = failures.shift();
    if (failure !== undefined) throw failure;
  });
  await assert.rejects(pool.dispose(), (e) => (e as Error).message === "first");
  failing[Symbol.dispose]();
  assert.deepEqual(driver.connections.map((c) => c.open), [
    false,
    false,
    false,
  ]);
  assert.deepEqual(counters(pool), [0, 0, -5]);
});

Deno.test("a driver close() that throws in dispose() is logged and swallowed", async () => {
  const driver = new FakeDriver();
  const { logger, lines } = recordingLogger();
  await using pool = new QueuePool(driver.creator, {
    dialect: driver.dialect,
    logger,
  });
  const a = await pool.connect();
  const b = await pool.connect();
  await a.close();
  await b.close();
  const failure = new Error("close failed");
  driver.failClose = failure;
  await pool.dispose(); // resolves
  assert.deepEqual(lines.map((l) => [l.level, l.line]), [
    ["error", "Exception closing connection <FakeConnection #1>"],
    ["error", "Exception closing connection <FakeConnection #2>"],
  ]);
  assert.equal(lines[0]!.context.error, failure);
  assert.equal(pool.checkedIn(), 0);
  assert.equal(pool.checkedOut(), 0);
  assert.equal(pool.overflow(), -5);
  // The pool keeps working.
  driver.failClose = null;
  await using again = await pool.connect();
  assert.equal(again.dbapiConnection, driver.connections[2]);
});

Deno.test("a driver close() that throws when an old connection is returned after dispose() is logged and swallowed", async () => {
  const driver = new FakeDriver();
  const { logger, lines } = recordingLogger();
  await using pool = new QueuePool(driver.creator, {
    dialect: driver.dialect,
    logger,
    poolSize: 1,
    maxOverflow: 0,
    timeoutMs: 0,
  });
  const proxy = await pool.connect();
  await pool.dispose();
  driver.failClose = new Error("close failed");
  await proxy.close(); // resolves
  assert.deepEqual(lines.map((l) => [l.level, l.line]), [
    ["error", "Exception closing connection <FakeConnection #1>"],
  ]);
  assert.equal(pool.checkedOut(), 0);
  assert.equal(pool.overflow(), -1);
  driver.failClose = null;
  await using again = await pool.connect();
  assert.equal(again.dbapiConnection, driver.connections[1]);
});

// -------------------------------------------------------------- recreate()

Deno.test("QueuePool.recreate() keeps poolSize, maxOverflow, timeoutMs and useLifo", async () => {
  const driver = new FakeDriver();
  await using old = new QueuePool(driver.creator, {
    dialect: driver.dialect,
    poolSize: 2,
    maxOverflow: 1,
    timeoutMs: 0,
    useLifo: true,
  });
  await using pool = old.recreate();
  assert.ok(pool instanceof QueuePool);
  assert.equal(pool.constructor, QueuePool);
  assert.notEqual(pool, old);
  assert.equal(pool.size(), 2);
  assert.equal(pool.timeout(), 0);
  assert.deepEqual(counters(pool), [0, 0, -2]);
  const held = [
    await pool.connect(),
    await pool.connect(),
    await pool.connect(),
  ];
  // maxOverflow 1 with timeoutMs 0: the fourth fails at once.
  await assert.rejects(pool.connect(), (e) =>
    e instanceof PoolTimeoutError &&
    e.message ===
      "QueuePool limit of size 2 overflow 1 reached, connection timed out, timeout 0 ms");
  for (const proxy of held) await proxy.close();
  // useLifo: the most recently returned idle connection comes out first.
  const next = await pool.connect();
  // (Connections 1 and 2 were kept, in that order; connection 3 was an
  // overflow, closed on return.)
  assert.equal(next.dbapiConnection, driver.connections[1]);
  await next.close();
  assert.equal(old.checkedOut(), 0);
});

Deno.test("QueuePool.recreate() keeps recycleMs, clock, resetOnReturn, prePing and dialect", async () => {
  const driver = new FakeDriver();
  const clock = new FakeClock();
  let dialectCalls = 0;
  const dialect: Dialect<FakeConnection> = {
    ...driver.dialect,
    commit: (c) => {
      dialectCalls++;
      c.commit();
    },
  };
  await using old = new QueuePool(driver.creator, {
    dialect,
    recycleMs: 1_000,
    clock: clock.fn,
    resetOnReturn: "commit",
    prePing: true,
  });
  await using pool = withoutJitter(old.recreate());
  const first = await pool.connect();
  const conn = first.dbapiConnection!;
  await first.close();
  // resetOnReturn "commit", through the same dialect.
  assert.deepEqual(conn.calls, ["commit"]);
  assert.equal(dialectCalls, 1);
  // prePing: the second checkout of a connection pings it.
  const second = await pool.connect();
  assert.equal(second.dbapiConnection, conn);
  assert.deepEqual(conn.calls, ["commit", "ping"]);
  await second.close();
  // recycleMs on the same clock: 1000 ms is kept, more is recycled.
  clock.advance(1_000);
  const third = await pool.connect();
  assert.equal(third.dbapiConnection, conn);
  await third.close();
  clock.advance(1);
  const fourth = await pool.connect();
  assert.equal(fourth.dbapiConnection, driver.connections[1]);
  assert.equal(conn.open, false);
  await fourth.close();
});

Deno.test('QueuePool.recreate() keeps echo, loggingName and logger, and logs "Pool recreating"', async () => {
  const driver = new FakeDriver();
  const { logger, lines } = recordingLogger();
  await using old = new QueuePool(driver.creator, {
    dialect: driver.dialect,
    echo: "debug",
    loggingName: "myname",
    logger,
  });
  await using pool = old.recreate();
  assert.deepEqual(lines.map((l) => [l.level, l.line, l.context.logger]), [
    ["info", "Pool recreating", "dbpool.pool.AsyncAdaptedQueuePool.myname"],
  ]);
  assert.equal(pool.echo, "debug");
  assert.equal(pool.loggingName, "myname");
  lines.length = 0;
  const proxy = await pool.connect();
  await proxy.close();
  assert.deepEqual(lines.map((l) => [l.level, l.line]), [
    ["debug", "Created new connection <FakeConnection #1>"],
    ["debug", "Connection <FakeConnection #1> checked out from pool"],
    ["debug", "Connection <FakeConnection #1> being returned to pool"],
    ["debug", "Connection <FakeConnection #1> rollback-on-return"],
  ]);
  for (const line of lines) {
    assert.equal(
      line.context.logger,
      "dbpool.pool.AsyncAdaptedQueuePool.myname",
    );
  }
});

Deno.test("QueuePool.recreate() keeps the same listeners, each registered once", async () => {
  const driver = new FakeDriver();
  const calls: string[] = [];
  const legacy = {
    tag: "legacy",
    checkin(this: { tag: string }) {
      calls.push(`${this.tag}.checkin`);
    },
  };
  await using old = new QueuePool(driver.creator, {
    dialect: driver.dialect,
    events: [["connect", () => void calls.push("events.connect")]],
    listeners: [legacy],
  });
  old.on("checkout", () => void calls.push("on.checkout"));
  old.on("firstConnect", () => void calls.push("on.firstConnect"));
  old.addListener({ checkout: () => void calls.push("addListener.checkout") });
  const oldProxy = await old.connect();
  await oldProxy.close();
  assert.deepEqual(calls, [
    "on.firstConnect",
    "events.connect",
    "on.checkout",
    "addListener.checkout",
    "legacy.checkin",
  ]);
  calls.length = 0;
  await using pool = old.recreate();
  // Listeners added to the old pool later are not carried.
  old.on("checkin", () => void calls.push("late.checkin"));
  const proxy = await pool.connect();
  await proxy.close();
  // firstConnect fires once more, on the new pool.
  assert.deepEqual(calls, [
    "on.firstConnect",
    "events.connect",
    "on.checkout",
    "addListener.checkout",
    "legacy.checkin",
  ]);
});

Deno.test("QueuePool.recreate() creates no connection and does not touch the old pool", async () => {
  const driver = new FakeDriver();
  await using old = new QueuePool(driver.creator, {
    dialect: driver.dialect,
    poolSize: 2,
  });
  const idle = await old.connect();
  const out = await old.connect();
  await idle.close();
  const rec = recordEvents(old);
  const before = old.status();
  await using pool = old.recreate();
  assert.equal(driver.counts.create, 2);
  assert.equal(driver.connections.length, 2);
  assert.equal(
    pool.status(),
    "Pool size: 2  Connections in pool: 0 Current Overflow: -2 Current Checked out connections: 0",
  );
  assert.equal(old.status(), before);
  assert.deepEqual(rec.events, []);
  assert.deepEqual(driver.connections.map((c) => c.open), [true, true]);
  // The old pool works as before.
  await out.close();
  assert.deepEqual(counters(old), [2, 0, 0]);
  const again = await old.connect();
  assert.equal(again.dbapiConnection, driver.connections[0]);
  await again.close();
  assert.equal(driver.counts.create, 2);
});

Deno.test("QueuePool.recreate() carries a listener's signal: aborting it removes the copy too", async () => {
  const controller = new AbortController();
  let calls = 0;
  await using pool = new QueuePool(() => ({}));
  pool.on("checkout", () => void calls++, { signal: controller.signal });
  await using copy = pool.recreate();
  await (await copy.connect()).close();
  assert.equal(calls, 1);
  controller.abort();
  await (await copy.connect()).close();
  await (await pool.connect()).close();
  assert.equal(calls, 1);
});

Deno.test("QueuePool: dispose() then recreate() of a pool that never connected calls no creator", async () => {
  let calls = 0;
  await using old = new QueuePool(() => {
    calls++;
    throw new Error("database is gone");
  });
  await old.dispose();
  await using pool = old.recreate();
  assert.equal(calls, 0);
  assert.equal(pool.checkedOut(), 0);
});

// ------------------------------------------------------- Abandoning a pool

Deno.test("abandoning a pool for a recreate()d one closes none of its connections and fires no close event", async () => {
  const driver = new FakeDriver();
  const trace = tracer(driver, { probes: false });
  // `await using` only cleans up at the end; the pool is abandoned before that.
  await using old = new QueuePool(driver.creator, { dialect: trace.dialect });
  const idle = await old.connect();
  const held: PoolProxiedConnection<FakeConnection> = await old.connect();
  await idle.close();
  trace.timeline.length = 0;
  trace.watch(old);
  {
    await using pool = old.recreate();
    const proxy = await pool.connect();
    await proxy.close();
    const other = await pool.connect();
    await other.invalidate();
    await pool.dispose();
  }
  assert.deepEqual(
    trace.timeline.filter((t) => /#(1|2)$/.test(t)),
    [],
    "the old pool's connections were touched",
  );
  assert.equal(driver.connections[0]!.open, true);
  assert.equal(driver.connections[1]!.open, true);
  assert.deepEqual(counters(old), [1, 1, -3]);
  assert.equal(held.dbapiConnection!.query("SELECT 1"), "SELECT 1");
  await held.close();
});
