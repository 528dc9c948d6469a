/**
 * Tests of invalidation in every pool (`src/_pool_entry.ts`, `src/_checkin.ts` and `src/_engine.ts`):
 * hard invalidation of a proxy, soft invalidation, pool-wide invalidation
 * by timestamp (`Pool.invalidate()`), and recycling by age (`recycleMs`),
 * all of which replace a connection on the same entry. Run on a
 * `QueuePool` over the fake driver. The entry's own `invalidate()` is in
 * `_pool_entry_test.ts`.
 *
 * @module
 */

import assert from "node:assert/strict";
import { withoutJitter } from "./_test_helpers.ts";
import { QueuePool } from "../mod.ts";
import {
  assertEvents,
  entryTracking,
  FakeClock,
  FakeDriver,
  linesAt,
  recordEvents,
  recordingLogger,
} from "./_test_fake_driver.ts";

// ------------------------------------------------------- Hard invalidation

Deno.test("PoolProxiedConnection.invalidate() fires invalidate, close, checkin(null) and terminates once", async () => {
  const driver = new FakeDriver();
  const tracked = entryTracking(driver.creator);
  await using pool = new QueuePool(tracked.creator, {
    dialect: driver.dialect,
  });
  const recorder = recordEvents(pool);
  const proxy = await pool.connect();
  const c1 = driver.connections[0]!;
  const entry = tracked.entries[0]!;
  recorder.events.length = 0;

  await proxy.invalidate();

  assertEvents(recorder.events, [
    ["invalidate", c1, entry, undefined],
    ["close", c1, entry],
    ["checkin", null, entry],
  ]);
  assert.deepEqual(c1.calls, ["terminate"]);
  assert.equal(driver.counts.terminate, 1);
  assert.equal(driver.counts.close, undefined);
  assert.equal(driver.counts.rollback, undefined);
  assert.equal(proxy.isValid, false);
  assert.equal(proxy.dbapiConnection, null);
  assert.equal(entry.dbapiConnection, null);
  assert.equal(pool.checkedOut(), 0);
  assert.equal(pool.checkedIn(), 1);

  // The slot was already checked in: a later close() does nothing.
  await proxy.close();
  assert.equal(recorder.events.length, 3);
  assert.deepEqual(c1.calls, ["terminate"]);
  assert.equal(pool.checkedIn(), 1);
});

Deno.test("PoolProxiedConnection.invalidate(error) passes the error to invalidate and logs the reason", async () => {
  const driver = new FakeDriver();
  const { logger, lines } = recordingLogger();
  await using pool = new QueuePool(driver.creator, {
    dialect: driver.dialect,
    echo: true,
    logger,
  });
  const recorder = recordEvents(pool);
  const error = new RangeError("socket reset");

  const first = await pool.connect();
  await first.invalidate(error);
  const second = await pool.connect();
  await second.invalidate();

  const invalidations = recorder.events.filter((e) => e.name === "invalidate");
  assert.equal(invalidations.length, 2);
  assert.equal(invalidations[0]!.args[2], error);
  assert.equal(invalidations[1]!.args[2], undefined);
  assert.deepEqual(linesAt(lines, "info"), [
    "Invalidate connection <FakeConnection #1> (reason: RangeError:socket reset)",
    "Invalidate connection <FakeConnection #2>",
  ]);
});

Deno.test("QueuePool reuses the same entry with a new connection after an invalidation; connect fires again, firstConnect not", async () => {
  const driver = new FakeDriver();
  const tracked = entryTracking(driver.creator);
  await using pool = new QueuePool(tracked.creator, {
    dialect: driver.dialect,
    poolSize: 1,
  });
  const recorder = recordEvents(pool);

  const first = await pool.connect();
  const c1 = first.dbapiConnection;
  await first.invalidate();
  recorder.events.length = 0;
  await using second = await pool.connect();

  const c2 = driver.connections[1]!;
  assert.notEqual(c2, c1);
  assert.equal(second.dbapiConnection, c2);
  assert.equal(driver.counts.create, 2);
  assert.equal(tracked.entries.length, 2);
  assert.equal(tracked.entries[1], tracked.entries[0]);
  const entry = tracked.entries[0]!;
  assertEvents(recorder.events, [
    ["connect", c2, entry],
    ["checkout", c2, entry, second],
  ]);
  assert.equal(entry.dbapiConnection, c2);
  assert.equal(pool.overflow(), 0);
});

Deno.test("PoolProxiedConnection.invalidate() twice warns and fires no event the second time", async () => {
  const driver = new FakeDriver();
  const { logger, lines } = recordingLogger();
  await using pool = new QueuePool(driver.creator, {
    dialect: driver.dialect,
    logger,
  });
  const recorder = recordEvents(pool);
  const proxy = await pool.connect();
  await proxy.invalidate();
  const eventsBefore = recorder.events.length;
  assert.deepEqual(linesAt(lines, "warn"), []);

  await proxy.invalidate(new Error("again"));

  assert.equal(recorder.events.length, eventsBefore);
  assert.deepEqual(linesAt(lines, "warn"), [
    "Can't invalidate an already-closed connection.",
  ]);
  assert.equal(driver.counts.terminate, 1);
  assert.equal(pool.checkedIn(), 1);
  assert.equal(pool.checkedOut(), 0);
});

Deno.test("PoolProxiedConnection.invalidate() does not replace the other pooled connections", async () => {
  const driver = new FakeDriver();
  await using pool = new QueuePool(driver.creator, {
    dialect: driver.dialect,
    poolSize: 3,
    maxOverflow: 0,
  });
  const recorder = recordEvents(pool);
  const [p1, p2, p3] = [
    await pool.connect(),
    await pool.connect(),
    await pool.connect(),
  ];
  const [c1, c2, c3] = driver.connections;
  await p1.invalidate();
  await p2.close();
  await p3.close();
  recorder.events.length = 0;

  const again = [
    await pool.connect(),
    await pool.connect(),
    await pool.connect(),
  ];

  const c4 = driver.connections[3]!;
  assert.equal(driver.connections.length, 4);
  assert.deepEqual(
    new Set(again.map((p) => p.dbapiConnection)),
    new Set([c4, c2, c3]),
  );
  assert.deepEqual(recorder.names(), [
    "connect#4",
    "checkout#4",
    "checkout#2",
    "checkout#3",
  ]);
  assert.deepEqual(c1!.calls, ["terminate"]);
  assert.deepEqual(c2!.calls, ["rollback"]);
  assert.deepEqual(c3!.calls, ["rollback"]);
  for (const proxy of again) await proxy.close();
});

Deno.test("a driver terminate() that throws during invalidation is logged and swallowed", async () => {
  const driver = new FakeDriver();
  const { logger, lines } = recordingLogger();
  const failure = new Error("terminate failed");
  await using pool = new QueuePool(driver.creator, {
    dialect: {
      ...driver.dialect,
      terminate: (c) => {
        c.terminate();
        throw failure;
      },
    },
    logger,
    poolSize: 1,
    maxOverflow: 0,
    timeoutMs: 0,
  });
  const proxy = await pool.connect();
  await proxy.invalidate(); // resolves
  assert.deepEqual(lines.map((l) => [l.level, l.line]), [
    ["error", "Exception terminating connection <FakeConnection #1>"],
  ]);
  assert.equal(lines[0]!.context.error, failure);
  assert.equal(pool.checkedOut(), 0);
  await using again = await pool.connect();
  assert.equal(again.dbapiConnection, driver.connections[1]);
});

// ------------------------------------------------------- Soft invalidation

Deno.test("PoolProxiedConnection.invalidate({ soft: true }) fires softInvalidate only and keeps the connection usable", async () => {
  const driver = new FakeDriver();
  const tracked = entryTracking(driver.creator);
  const { logger, lines } = recordingLogger();
  await using pool = new QueuePool(tracked.creator, {
    dialect: driver.dialect,
    echo: true,
    logger,
  });
  const recorder = recordEvents(pool);
  await using proxy = await pool.connect();
  const c1 = driver.connections[0]!;
  const entry = tracked.entries[0]!;
  recorder.events.length = 0;
  const error = new Error("host is draining");

  await proxy.invalidate(error, { soft: true });

  assertEvents(recorder.events, [["softInvalidate", c1, entry, error]]);
  assert.deepEqual(c1.calls, []);
  assert.equal(c1.open, true);
  assert.equal(proxy.isValid, true);
  assert.equal(proxy.dbapiConnection, c1);
  assert.equal(entry.dbapiConnection, c1);
  assert.equal(proxy.dbapiConnection!.query("SELECT 1"), "SELECT 1");
  assert.equal(pool.checkedOut(), 1);
  assert.deepEqual(linesAt(lines, "info"), [
    "Soft Invalidate connection <FakeConnection #1> (reason: Error:host is draining)",
  ]);
});

Deno.test("PoolProxiedConnection.close() after a soft invalidation resets and checks in the live connection", async () => {
  const driver = new FakeDriver();
  const tracked = entryTracking(driver.creator);
  await using pool = new QueuePool(tracked.creator, {
    dialect: driver.dialect,
  });
  const recorder = recordEvents(pool);
  const proxy = await pool.connect();
  const c1 = driver.connections[0]!;
  const entry = tracked.entries[0]!;
  await proxy.invalidate(undefined, { soft: true });
  recorder.events.length = 0;

  await proxy.close();

  assert.deepEqual(recorder.names(), ["reset#1", "checkin#1"]);
  assertEvents(recorder.events.slice(1), [["checkin", c1, entry]]);
  assert.deepEqual(c1.calls, ["rollback"]);
  assert.equal(c1.open, true);
  assert.equal(pool.checkedIn(), 1);
  assert.equal(pool.checkedOut(), 0);
});

Deno.test("QueuePool replaces a soft-invalidated connection on the same entry at its next checkout", async () => {
  const driver = new FakeDriver();
  const tracked = entryTracking(driver.creator);
  const { logger, lines } = recordingLogger();
  await using pool = new QueuePool(tracked.creator, {
    dialect: driver.dialect,
    poolSize: 1,
    echo: true,
    logger,
  });
  const recorder = recordEvents(pool);
  const first = await pool.connect();
  const c1 = driver.connections[0]!;
  const entry = tracked.entries[0]!;
  await first.invalidate(undefined, { soft: true });
  await first.close();
  recorder.events.length = 0;
  lines.length = 0;

  await using second = await pool.connect();

  const c2 = driver.connections[1]!;
  assertEvents(recorder.events, [
    ["close", c1, entry],
    ["connect", c2, entry],
    ["checkout", c2, entry, second],
  ]);
  assert.equal(tracked.entries[1], entry);
  assert.equal(second.dbapiConnection, c2);
  assert.deepEqual(c1.calls, ["rollback", "terminate"]);
  assert.deepEqual(linesAt(lines, "info"), [
    "Connection <FakeConnection #1> invalidated due to local soft invalidation; recycling",
  ]);
});

// -------------------------------------------------- Pool-wide invalidation

Deno.test("Pool.invalidate(proxy, error) invalidates that proxy and makes every older connection stale, lazily", async () => {
  const driver = new FakeDriver();
  const tracked = entryTracking(driver.creator);
  const clock = new FakeClock();
  const { logger, lines } = recordingLogger();
  await using pool = new QueuePool(tracked.creator, {
    dialect: driver.dialect,
    poolSize: 3,
    maxOverflow: 0,
    clock: clock.fn,
    echo: true,
    logger,
  });
  const recorder = recordEvents(pool);
  const p1 = await pool.connect();
  const p2 = await pool.connect();
  const p3 = await pool.connect();
  const [c1, c2, c3] = driver.connections;
  const [e1, e2, e3] = tracked.entries;
  await p2.close(); // idle
  clock.advance(100);
  recorder.events.length = 0;
  const error = new Error("server restarted");

  await pool.invalidate(p1, error);

  assertEvents(recorder.events, [
    ["invalidate", c1, e1, error],
    ["close", c1, e1],
    ["checkin", null, e1],
  ]);
  assert.equal(p1.isValid, false);
  // Nothing else is closed eagerly, idle or checked out.
  assert.deepEqual(c2!.calls, ["rollback"]);
  assert.deepEqual(c3!.calls, []);
  assert.equal(p3.isValid, true);
  await p3.close();
  assert.deepEqual(c3!.calls, ["rollback"]);
  clock.advance(100);
  recorder.events.length = 0;
  lines.length = 0;

  const q1 = await pool.connect();
  const q2 = await pool.connect();
  const q3 = await pool.connect();

  // FIFO: e2 came back first, then e1 (checked in by the invalidation), then e3.
  const [c4, c5, c6] = driver.connections.slice(3);
  assertEvents(recorder.events, [
    ["close", c2, e2],
    ["connect", c4, e2],
    ["checkout", c4, e2, q1],
    ["connect", c5, e1],
    ["checkout", c5, e1, q2],
    ["close", c3, e3],
    ["connect", c6, e3],
    ["checkout", c6, e3, q3],
  ]);
  assert.deepEqual(c2!.calls, ["rollback", "terminate"]);
  assert.deepEqual(c3!.calls, ["rollback", "terminate"]);
  assert.deepEqual(linesAt(lines, "info"), [
    "Connection <FakeConnection #2> invalidated due to pool invalidation; recycling",
    "Connection <FakeConnection #3> invalidated due to pool invalidation; recycling",
  ]);
  for (const proxy of [q1, q2, q3]) await proxy.close();
});

Deno.test("Pool.invalidate() spares newer connections, and a second call from an older connection does not move the time", async () => {
  const driver = new FakeDriver();
  const clock = new FakeClock();
  await using pool = new QueuePool(driver.creator, {
    dialect: driver.dialect,
    poolSize: 2,
    maxOverflow: 0,
    clock: clock.fn,
  });
  const recorder = recordEvents(pool);
  const p1 = await pool.connect(); // t = 0
  const p2 = await pool.connect(); // t = 0
  clock.advance(10);
  await pool.invalidate(p1, new Error("first")); // pool time 10
  clock.advance(10);
  const p3 = await pool.connect(); // reconnects p1's entry at t = 20
  const c3 = driver.connections[2]!;
  assert.equal(p3.dbapiConnection, c3);
  await p3.close();
  clock.advance(10);

  // p2's connection (t = 0) is older than the pool time (10): the time stays.
  await pool.invalidate(p2, new Error("second"));
  assert.equal(p2.isValid, false);
  clock.advance(10);
  recorder.events.length = 0;

  await using p4 = await pool.connect();

  assert.equal(p4.dbapiConnection, c3, "made after the invalidation: reused");
  assert.deepEqual(recorder.names(), ["checkout#3"]);
  assert.deepEqual(c3.calls, ["rollback"]);
  assert.equal(driver.connections.length, 3);
});

Deno.test("Pool.invalidate() from a connection newer than the pool time moves the time", async () => {
  const driver = new FakeDriver();
  const clock = new FakeClock();
  await using pool = new QueuePool(driver.creator, {
    dialect: driver.dialect,
    poolSize: 2,
    maxOverflow: 0,
    clock: clock.fn,
  });
  await pool.invalidate(); // pool time 0
  clock.advance(10);
  const p1 = await pool.connect(); // t = 10
  const p2 = await pool.connect(); // t = 10
  const c2 = p2.dbapiConnection!;
  await p2.close();
  clock.advance(10);

  await pool.invalidate(p1, new Error("newer")); // 0 < 10: the time moves to 20
  clock.advance(10);

  await using q = await pool.connect(); // FIFO: p2's entry first
  assert.notEqual(q.dbapiConnection, c2);
  assert.deepEqual(c2.calls, ["rollback", "terminate"]);
});

Deno.test("Pool.invalidate() without a connection always moves the time", async () => {
  const driver = new FakeDriver();
  const clock = new FakeClock();
  await using pool = new QueuePool(driver.creator, {
    dialect: driver.dialect,
    poolSize: 1,
    clock: clock.fn,
  });
  await pool.invalidate(); // t = 0, before any connection
  clock.advance(10);
  const first = await pool.connect(); // t = 10: newer, kept
  const c1 = first.dbapiConnection;
  await first.close();
  clock.advance(10);
  const second = await pool.connect();
  assert.equal(second.dbapiConnection, c1);
  await second.close();
  clock.advance(10);

  await pool.invalidate(); // t = 30

  await using third = await pool.connect();
  assert.notEqual(third.dbapiConnection, c1);
  assert.equal(driver.connections.length, 2);
  assert.deepEqual(c1!.calls, ["rollback", "rollback", "terminate"]);
});

Deno.test("Pool.invalidate() leaves a checked-out connection working until it is returned and checked out again", async () => {
  const driver = new FakeDriver();
  const tracked = entryTracking(driver.creator);
  const { logger, lines } = recordingLogger();
  await using pool = new QueuePool(tracked.creator, {
    dialect: driver.dialect,
    poolSize: 1,
    echo: true,
    logger,
  });
  const recorder = recordEvents(pool);
  const first = await pool.connect();
  const c1 = driver.connections[0]!;
  const entry = tracked.entries[0]!;
  recorder.events.length = 0;

  await pool.invalidate();

  assert.deepEqual(recorder.events, []);
  assert.equal(first.isValid, true);
  assert.equal(first.dbapiConnection!.query("SELECT 1"), "SELECT 1");
  await first.close();
  assertEvents(recorder.events.slice(1), [["checkin", c1, entry]]);
  assert.deepEqual(recorder.names(), ["reset#1", "checkin#1"]);
  assert.deepEqual(c1.calls, ["query", "rollback"]);
  assert.equal(c1.open, true);
  recorder.events.length = 0;

  await using second = await pool.connect();

  const c2 = driver.connections[1]!;
  assertEvents(recorder.events, [
    ["close", c1, entry],
    ["connect", c2, entry],
    ["checkout", c2, entry, second],
  ]);
  assert.deepEqual(c1.calls, ["query", "rollback", "terminate"]);
  assert.deepEqual(linesAt(lines, "info"), [
    "Connection <FakeConnection #1> invalidated due to pool invalidation; recycling",
  ]);
});

// -------------------------------------------------------- Recycling by age

Deno.test("QueuePool with recycleMs replaces a connection older than recycleMs at checkout and reuses one that is not", async () => {
  const driver = new FakeDriver();
  const tracked = entryTracking(driver.creator);
  const clock = new FakeClock();
  const { logger, lines } = recordingLogger();
  await using pool = withoutJitter(
    new QueuePool(tracked.creator, {
      dialect: driver.dialect,
      poolSize: 1,
      recycleMs: 10_000,
      clock: clock.fn,
      echo: true,
      logger,
    }),
  );
  const recorder = recordEvents(pool);
  await (await pool.connect()).close(); // created at t = 0
  const c1 = driver.connections[0]!;
  const entry = tracked.entries[0]!;

  clock.advance(10_000); // age 10 000: not older than recycleMs
  recorder.events.length = 0;
  const reused = await pool.connect();
  assert.equal(reused.dbapiConnection, c1);
  assert.deepEqual(recorder.names(), ["checkout#1"]);
  await reused.close();

  clock.advance(1); // age 10 001
  recorder.events.length = 0;
  await using recycled = await pool.connect();

  const c2 = driver.connections[1]!;
  assert.equal(recycled.dbapiConnection, c2);
  assertEvents(recorder.events, [
    ["close", c1, entry],
    ["connect", c2, entry],
    ["checkout", c2, entry, recycled],
  ]);
  assert.equal(tracked.entries[1], entry);
  assert.deepEqual(c1.calls, ["rollback", "rollback", "terminate"]);
  assert.deepEqual(linesAt(lines, "info"), [
    "Connection <FakeConnection #1> exceeded timeout; recycling",
  ]);
});

Deno.test("QueuePool with recycleMs replaces a connection older than recycleMs by a fraction of a millisecond", async () => {
  const driver = new FakeDriver();
  const clock = new FakeClock();
  await using pool = new QueuePool(driver.creator, {
    dialect: driver.dialect,
    poolSize: 1,
    recycleMs: 10_000,
    clock: clock.fn,
  });
  await (await pool.connect()).close();
  clock.advance(10_000.5);
  await using conn = await pool.connect();
  assert.equal(driver.connections.length, 2, "10 000.5 ms > 10 000 ms");
  assert.equal(conn.dbapiConnection, driver.connections[1]);
});

Deno.test("QueuePool with the default recycleMs (null) never recycles, whatever the age", async () => {
  const driver = new FakeDriver();
  const clock = new FakeClock();
  await using pool = new QueuePool(driver.creator, {
    dialect: driver.dialect,
    poolSize: 1,
    clock: clock.fn,
  });
  await (await pool.connect()).close();
  const c1 = driver.connections[0]!;
  clock.advance(1e12);
  const old = await pool.connect();
  assert.equal(old.dbapiConnection, c1);
  await old.close();
  clock.advance(Number.MAX_SAFE_INTEGER);
  await using conn = await pool.connect();
  assert.equal(conn.dbapiConnection, c1);
  assert.equal(driver.connections.length, 1);
  assert.equal(driver.counts.create, 1);
  assert.equal(driver.counts.terminate, undefined);
  assert.equal(driver.counts.close, undefined);
  assert.deepEqual(c1.calls, ["rollback", "rollback"]);
});

Deno.test("QueuePool never recycles a connection while it is checked out", async () => {
  const driver = new FakeDriver();
  const clock = new FakeClock();
  await using pool = new QueuePool(driver.creator, {
    dialect: driver.dialect,
    poolSize: 2,
    recycleMs: 1_000,
    clock: clock.fn,
  });
  const recorder = recordEvents(pool);
  const held = await pool.connect();
  const c1 = driver.connections[0]!;
  clock.advance(5_000);

  // Other pool activity while the old connection is out does not touch it.
  const other = await pool.connect();
  await other.close();
  await (await pool.connect()).close();
  assert.equal(held.isValid, true);
  assert.equal(held.dbapiConnection!.query("SELECT 1"), "SELECT 1");
  assert.deepEqual(c1.calls, ["query"]);
  assert.equal(recorder.names().includes("close#1"), false);

  recorder.events.length = 0;
  await held.close();
  assert.deepEqual(recorder.names(), ["reset#1", "checkin#1"]);
  assert.deepEqual(c1.calls, ["query", "rollback"]);
  assert.equal(c1.open, true);
});

// ----------------------------- Invalidating chosen connections; clock ties

Deno.test("ConnectionPoolEntry.invalidate() and PoolProxiedConnection.invalidate() replace only the chosen connections and leave the pool time alone", async () => {
  const driver = new FakeDriver();
  const tracked = entryTracking(driver.creator);
  const clock = new FakeClock();
  await using pool = new QueuePool(tracked.creator, {
    dialect: driver.dialect,
    poolSize: 3,
    maxOverflow: 0,
    clock: clock.fn,
  });
  const p1 = await pool.connect();
  const p2 = await pool.connect();
  const p3 = await pool.connect();
  const [c1, c2, c3] = driver.connections;
  clock.advance(100);

  await p1.invalidate(undefined, { soft: true }); // soft, through the proxy
  await p2.invalidate(new Error("broken")); // hard, through the proxy
  await p1.close();
  await p3.close();
  const e3 = tracked.entries[2]!;
  clock.advance(100);

  const again = [
    await pool.connect(),
    await pool.connect(),
    await pool.connect(),
  ];

  assert.equal(driver.connections.length, 5);
  const [c4, c5] = driver.connections.slice(3);
  assert.deepEqual(
    new Set(again.map((p) => p.dbapiConnection)),
    new Set([c3, c4, c5]),
  );
  assert.deepEqual(c1!.calls, ["rollback", "terminate"]);
  assert.deepEqual(c2!.calls, ["terminate"]);
  assert.deepEqual(c3!.calls, ["rollback"], "older, but not chosen: kept");
  assert.equal(e3.dbapiConnection, c3);
  for (const proxy of again) await proxy.close();
});

Deno.test("QueuePool replaces a connection soft-invalidated at the same clock reading it was created at", async () => {
  const driver = new FakeDriver();
  const clock = new FakeClock(); // never moves
  await using pool = new QueuePool(driver.creator, {
    dialect: driver.dialect,
    poolSize: 1,
    clock: clock.fn,
  });
  const first = await pool.connect();
  await first.invalidate(undefined, { soft: true });
  await first.close();

  const second = await pool.connect();
  assert.equal(driver.connections.length, 2);
  assert.equal(second.dbapiConnection, driver.connections[1]);
  await second.close();

  // The replacement, made after the soft invalidation, is not replaced again.
  await using third = await pool.connect();
  assert.equal(third.dbapiConnection, driver.connections[1]);
  assert.equal(driver.connections.length, 2);
});

Deno.test("QueuePool replaces a connection after a pool invalidation at the same clock reading", async () => {
  const driver = new FakeDriver();
  const clock = new FakeClock(); // never moves
  await using pool = new QueuePool(driver.creator, {
    dialect: driver.dialect,
    poolSize: 1,
    clock: clock.fn,
  });
  await (await pool.connect()).close();
  await pool.invalidate();

  const second = await pool.connect();
  assert.equal(driver.connections.length, 2);
  assert.equal(second.dbapiConnection, driver.connections[1]);
  await second.close();

  await using third = await pool.connect();
  assert.equal(third.dbapiConnection, driver.connections[1]);
  assert.equal(driver.connections.length, 2);
});
