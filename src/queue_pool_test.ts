/**
 * Tests of `AsyncAdaptedQueuePool`, also exported as `QueuePool`
 * (`src/queue_pool.ts`): construction and defaults, size and overflow, the
 * counters and `status()`, and FIFO or LIFO reuse. Waiting for a connection
 * on an exhausted pool is in `queue_pool_waiting_test.ts`; the randomized
 * model-based test in `queue_pool_model_test.ts`.
 *
 * @module
 */

import assert from "node:assert/strict";
import { AsyncAdaptedQueuePool, PoolTimeoutError, QueuePool } from "../mod.ts";
import {
  FakeClock,
  fakeCreator,
  FakeDriver,
  type FakeProxy,
  recordEvents,
  recordingLogger,
} from "./_test_fake_driver.ts";
import { tick, watch } from "./_test_helpers.ts";

// ----------------------------------------------- Construction and defaults

Deno.test("QueuePool constructor calls the creator only at the first connect()", async () => {
  const driver = new FakeDriver();
  await using pool = new QueuePool(driver.creator);
  assert.equal(driver.counts.create, undefined);
  assert.equal(pool.checkedIn(), 0);
  await using _conn = await pool.connect();
  assert.equal(driver.counts.create, 1);
});

Deno.test("QueuePool defaults to size 5, timeout 30000 ms, no echo, no loggingName", async () => {
  await using pool = new QueuePool(fakeCreator());
  assert.equal(pool.size(), 5);
  assert.equal(pool.timeout(), 30_000);
  assert.equal(pool.echo, false);
  assert.equal(pool.loggingName, undefined);
  assert.equal(pool.overflow(), -5);
});

Deno.test("QueuePool defaults to rollback on return and no pre-ping", async () => {
  const driver = new FakeDriver();
  await using pool = new QueuePool(driver.creator, { dialect: driver.dialect });
  const first = await pool.connect();
  await first.close();
  assert.equal(driver.counts.rollback, 1);
  assert.equal(driver.counts.commit, undefined);
  await using second = await pool.connect();
  assert.equal(second.dbapiConnection, driver.connections[0]);
  assert.equal(driver.counts.ping, undefined);
});

Deno.test("QueuePool defaults to echo off: no info or debug lines reach the logger", async () => {
  const { logger, lines } = recordingLogger();
  await using pool = new QueuePool(fakeCreator(), { logger });
  const conn = await pool.connect();
  await conn.invalidate(new Error("gone"));
  await pool.dispose();
  assert.deepEqual(
    lines.filter((l) => l.level === "info" || l.level === "debug"),
    [],
  );
});

Deno.test("QueuePool defaults to FIFO reuse", async () => {
  const driver = new FakeDriver();
  await using pool = new QueuePool(driver.creator);
  const a = await pool.connect();
  const b = await pool.connect();
  const first = a.dbapiConnection;
  await a.close();
  await b.close();
  await using next = await pool.connect();
  assert.equal(next.dbapiConnection, first);
});

Deno.test("QueuePool defaults to maxOverflow 10: 15 checkouts succeed, the 16th waits", async () => {
  const clock = new FakeClock();
  const driver = new FakeDriver();
  await using pool = new QueuePool(driver.creator, { clock: clock.fn });
  const held: FakeProxy[] = [];
  for (let i = 0; i < 15; i++) held.push(await pool.connect());
  assert.equal(pool.checkedOut(), 15);
  assert.equal(pool.overflow(), 10);
  const sixteenth = watch(pool.connect());
  await tick();
  assert.equal(sixteenth.settled, false);
  assert.equal(pool.waiting(), 1);
  assert.equal(driver.counts.create, 15);
  const returned = held.pop()!;
  const driverConnection = returned.dbapiConnection;
  await returned.close();
  assert.equal(pool.waiting(), 0); // handed over directly
  held.push(await sixteenth.promise);
  assert.equal(held.at(-1)!.dbapiConnection, driverConnection);
  for (const conn of held) await conn.close();
});

Deno.test("QueuePool is the same class as AsyncAdaptedQueuePool", async () => {
  assert.equal(QueuePool, AsyncAdaptedQueuePool);
  await using pool = new QueuePool(fakeCreator());
  assert(pool instanceof AsyncAdaptedQueuePool);
  assert.equal(pool.constructor.name, "AsyncAdaptedQueuePool");
});

// ---------------------------------------------- Size, overflow and timeout

Deno.test("QueuePool status() reports an exhausted size-2 overflow-1 pool", async () => {
  await using pool = new QueuePool(fakeCreator(), {
    poolSize: 2,
    maxOverflow: 1,
    timeoutMs: 100,
  });
  const held: FakeProxy[] = [];
  for (let i = 0; i < 3; i++) held.push(await pool.connect());
  assert.equal(
    pool.status(),
    "Pool size: 2  Connections in pool: 0 Current Overflow: 1 Current Checked out connections: 3",
  );
  for (const conn of held) await conn.close();
});

Deno.test("QueuePool starts with no idle connections and overflow -poolSize", async () => {
  await using pool = new QueuePool(fakeCreator(), { poolSize: 3 });
  assert.equal(pool.checkedIn(), 0);
  assert.equal(pool.overflow(), -3);
  assert.equal(pool.checkedOut(), 0);
  assert.equal(
    pool.status(),
    "Pool size: 3  Connections in pool: 0 Current Overflow: -3 Current Checked out connections: 0",
  );
});

Deno.test("QueuePool closes the overflow connection returned to a full pool, after checkin", async () => {
  const driver = new FakeDriver();
  await using pool = new QueuePool(driver.creator, {
    poolSize: 2,
    maxOverflow: 1,
    timeoutMs: 100,
    dialect: driver.dialect,
  });
  const recorder = recordEvents(pool);
  const held: FakeProxy[] = [];
  for (let i = 0; i < 3; i++) held.push(await pool.connect());
  const third = held[2]!.dbapiConnection!;
  for (const conn of held) await conn.close();
  assert.equal(pool.checkedIn(), 2);
  assert.equal(pool.overflow(), 0);
  assert.equal(pool.checkedOut(), 0);
  assert.deepEqual(
    third.calls.filter((call) => call === "close" || call === "terminate"),
    ["close"],
  );
  assert.equal(driver.connections[0]!.open, true);
  assert.equal(driver.connections[1]!.open, true);
  const ofThird = recorder.names().filter((n) => n.endsWith(`#${third.id}`));
  assert.deepEqual(ofThird.slice(-3), [
    `reset#${third.id}`,
    `checkin#${third.id}`,
    `close#${third.id}`,
  ]);
});

Deno.test("QueuePool with maxOverflow -1 serves 50 concurrent checkouts without waiting", async () => {
  const driver = new FakeDriver();
  await using pool = new QueuePool(driver.creator, {
    poolSize: 2,
    maxOverflow: -1,
    timeoutMs: 0, // waiting would reject at once
  });
  const held = await Promise.all(
    Array.from({ length: 50 }, () => pool.connect()),
  );
  assert.equal(new Set(held.map((p) => p.dbapiConnection)).size, 50);
  assert.equal(pool.checkedOut(), 50);
  assert.equal(pool.overflow(), 48);
  for (const conn of held) await conn.close();
  assert.equal(pool.checkedIn(), 2);
  assert.equal(pool.checkedOut(), 0);
  assert.equal(driver.openCount, 2);
});

Deno.test("QueuePool with poolSize 0 is unlimited, reports overflow 0 and keeps every connection", async () => {
  const driver = new FakeDriver();
  await using pool = new QueuePool(driver.creator, {
    poolSize: 0,
    maxOverflow: 0, // ignored
    timeoutMs: 0,
    dialect: driver.dialect,
  });
  const held = await Promise.all(
    Array.from({ length: 50 }, () => pool.connect()),
  );
  assert.equal(pool.overflow(), 0);
  assert.equal(pool.checkedOut(), 50);
  for (const conn of held) await conn.close();
  assert.equal(pool.checkedIn(), 50);
  assert.equal(pool.checkedOut(), 0);
  assert.equal(pool.overflow(), 0);
  assert.equal(driver.counts.close, undefined);
  assert.equal(driver.openCount, 50);
  assert.equal(
    pool.status(),
    "Pool size: 0  Connections in pool: 50 Current Overflow: 0 Current Checked out connections: 0",
  );
});

Deno.test("QueuePool keeps overflow and capacity after a creator failure in overflow", async () => {
  const driver = new FakeDriver();
  await using pool = new QueuePool(driver.creator, {
    poolSize: 2,
    maxOverflow: 1,
    timeoutMs: 0,
  });
  const held = [await pool.connect(), await pool.connect()];
  assert.equal(pool.overflow(), 0);
  const failure = new Error("cannot connect");
  driver.failNext.push(failure);
  await assert.rejects(pool.connect(), (error) => error === failure);
  assert.equal(pool.overflow(), 0);
  assert.equal(pool.checkedOut(), 2);
  assert.equal(pool.checkedIn(), 0);
  held.push(await pool.connect()); // the overflow slot is still there
  assert.equal(pool.overflow(), 1);
  await assert.rejects(pool.connect(), PoolTimeoutError); // and no more
  for (const conn of held) await conn.close();
  assert.equal(pool.checkedIn(), 2);
  assert.equal(pool.overflow(), 0);
});

Deno.test("QueuePool reuses idle connections in FIFO order by default", async () => {
  await using pool = new QueuePool(fakeCreator(), { poolSize: 3 });
  const held = [
    await pool.connect(),
    await pool.connect(),
    await pool.connect(),
  ];
  const order = held.map((p) => p.dbapiConnection);
  for (const conn of held) await conn.close();
  const again = [
    await pool.connect(),
    await pool.connect(),
    await pool.connect(),
  ];
  assert.deepEqual(again.map((p) => p.dbapiConnection), order);
  for (const conn of again) await conn.close();
});

Deno.test("QueuePool with useLifo reuses the most recently returned connection", async () => {
  await using pool = new QueuePool(fakeCreator(), {
    poolSize: 3,
    useLifo: true,
  });
  const held = [
    await pool.connect(),
    await pool.connect(),
    await pool.connect(),
  ];
  const c3 = held[2]!.dbapiConnection;
  for (const conn of held) await conn.close();
  const first = await pool.connect();
  assert.equal(first.dbapiConnection, c3);
  await first.close();
  await using second = await pool.connect();
  assert.equal(second.dbapiConnection, c3);
});
