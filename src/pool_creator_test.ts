/**
 * Tests of how every pool makes a new driver connection (the engine in
 * `src/_pool_entry.ts` and `src/_pool_context.ts`, behind `Pool.connect()` in `src/pool.ts`): the
 * creator and the entry it is given, the `connect` and `firstConnect`
 * events, `connectTimeoutMs`, and the cleanup when the creator or a
 * `connect` listener fails. Run on a `QueuePool` over the fake driver.
 *
 * @module
 */

import assert from "node:assert/strict";
import { ConnectTimeoutError, PoolTimeoutError, QueuePool } from "../mod.ts";
import type { Creator } from "./pool.ts";
import {
  assertEvents,
  entryTracking,
  FakeClock,
  FakeConnection,
  FakeDriver,
  type FakeEntry,
  linesAt,
  recordEvents,
  recordingLogger,
  tag,
} from "./_test_fake_driver.ts";
import { deferred, rejection, tick, watch } from "./_test_helpers.ts";

// ------------------------------------------------------------- The creator

Deno.test("QueuePool passes the creator the entry later given to the connect event", async () => {
  const driver = new FakeDriver();
  const { creator, entries } = entryTracking(driver.creator);
  await using pool = new QueuePool(creator);
  const connectEntries: FakeEntry[] = [];
  pool.on("connect", (_conn, entry) => {
    connectEntries.push(entry);
  });
  await using _a = await pool.connect();
  await using _b = await pool.connect();
  assert.equal(entries.length, 2);
  assert.notEqual(entries[0], entries[1]);
  assert.equal(connectEntries[0], entries[0]);
  assert.equal(connectEntries[1], entries[1]);
  assert.equal(entries[0]!.dbapiConnection, driver.connections[0]);
});

Deno.test("QueuePool works with a creator declared with no parameters", async () => {
  const made: object[] = [];
  await using pool = new QueuePool(() => {
    const conn = { rollback() {} };
    made.push(conn);
    return conn;
  });
  await using conn = await pool.connect();
  assert.equal(conn.dbapiConnection, made[0]);
});

Deno.test("QueuePool passes the entry to the creator, which can pick connect parameters per entry and store them in entry.info", async () => {
  const driver = new FakeDriver();
  const hosts = ["db-1", "db-2"];
  let next = 0;
  const creatorEntries: FakeEntry[] = [];
  const used: Array<{ host: string; password: string }> = [];
  const creator: Creator<FakeConnection> = (entry) => {
    creatorEntries.push(entry);
    // Keep a slot on its host across reconnects; rotate a password per connection.
    const host = (entry.recordInfo!.get("host") as string | undefined) ??
      hosts[next++ % hosts.length]!;
    const password = `secret-${used.length + 1}`;
    entry.recordInfo!.set("host", host);
    entry.info.set("host", host);
    entry.info.set("password", password);
    used.push({ host, password });
    return driver.creator(entry);
  };
  await using pool = new QueuePool(creator, {
    dialect: driver.dialect,
    poolSize: 2,
    maxOverflow: 0,
  });
  const connectEntries: unknown[] = [];
  const checkoutHosts: unknown[] = [];
  pool.on("connect", (_conn, entry) => {
    connectEntries.push(entry);
  });
  pool.on("checkout", (_conn, entry) => {
    checkoutHosts.push(entry.info.get("host"));
  });

  const p1 = await pool.connect();
  const p2 = await pool.connect();

  assert.deepEqual(connectEntries, creatorEntries);
  assert.equal(p1.info.get("host"), "db-1");
  assert.equal(p2.info.get("host"), "db-2");
  assert.equal(p1.info.get("password"), "secret-1");
  assert.equal(p2.info.get("password"), "secret-2");
  assert.deepEqual(checkoutHosts, ["db-1", "db-2"]);

  // A reconnect of the second slot goes back to its own host.
  await p2.invalidate();
  const p3 = await pool.connect();
  assert.equal(creatorEntries[2], creatorEntries[1]);
  assert.equal(p3.info.get("host"), "db-2");
  assert.equal(p3.info.get("password"), "secret-3");
  assert.deepEqual(used.map((u) => u.host), ["db-1", "db-2", "db-2"]);
  await p1.close();
  await p3.close();
});

Deno.test("QueuePool rejects a creator result that is not a connection with a TypeError, and frees the slot", async () => {
  for (const bad of [null, undefined, 42, "conn", true]) {
    for (const wrap of [false, true]) {
      await using pool = new QueuePool<FakeConnection>(
        () => (wrap ? Promise.resolve(bad) : bad) as unknown as FakeConnection,
        { poolSize: 1, maxOverflow: 0, timeoutMs: 0 },
      );
      const error = await rejection(pool.connect());
      assert(error instanceof TypeError, `${String(bad)}: ${error}`);
      assert.match(
        error.message,
        /creator must return a connection object/,
      );
      assert.equal(pool.checkedOut(), 0);
    }
  }
});

Deno.test("QueuePool awaits a creator's thenable that is not a native promise", async () => {
  const driver = new FakeDriver();
  const made = new FakeConnection(7, driver);
  const thenable = {
    then(resolve: (c: FakeConnection) => void) {
      setTimeout(() => resolve(made), 0);
    },
  };
  await using pool = new QueuePool<FakeConnection>(
    () => thenable as unknown as Promise<FakeConnection>,
  );
  await using conn = await pool.connect();
  assert.equal(conn.dbapiConnection, made);
});

// ----------------------------------------- connect and firstConnect events

Deno.test("QueuePool fires connect once per new driver connection and never on reuse", async () => {
  const driver = new FakeDriver();
  const tracked = entryTracking(driver.creator);
  await using pool = new QueuePool(tracked.creator, {
    dialect: driver.dialect,
    poolSize: 2,
    maxOverflow: 0,
  });
  const connects: Array<[unknown, unknown]> = [];
  pool.on("connect", (conn, entry) => {
    connects.push([conn, entry]);
  });

  const [a, b] = await Promise.all([pool.connect(), pool.connect()]);
  await a.close();
  await b.close();
  for (let i = 0; i < 5; i++) await (await pool.connect()).close();
  const [x, y] = await Promise.all([pool.connect(), pool.connect()]);
  await x.close();
  await y.close();

  assert.equal(driver.connections.length, 2);
  assert.deepEqual(connects, [
    [driver.connections[0], tracked.entries[0]],
    [driver.connections[1], tracked.entries[1]],
  ]);
});

Deno.test("QueuePool fires firstConnect once per pool, before the first connect; a recreated pool fires it again", async () => {
  const driver = new FakeDriver();
  await using pool = new QueuePool(driver.creator, {
    dialect: driver.dialect,
  });
  const order: string[] = [];
  let firstEntry: unknown = null;
  pool.on("firstConnect", (conn, entry) => {
    order.push(tag("firstConnect", conn));
    firstEntry = entry;
  });
  pool.on("connect", (conn) => {
    order.push(tag("connect", conn));
  });

  const proxies = await Promise.all([
    pool.connect(),
    pool.connect(),
    pool.connect(),
  ]);
  for (const proxy of proxies) await proxy.close();
  await (await pool.connect()).close();

  assert.deepEqual(order, [
    "firstConnect#1",
    "connect#1",
    "connect#2",
    "connect#3",
  ]);
  assert.notEqual(firstEntry, null);

  order.length = 0;
  await using recreated = pool.recreate();
  assert.deepEqual(order, [], "recreate() connects nothing");
  const [r1, r2] = [await recreated.connect(), await recreated.connect()];
  await r1.close();
  await r2.close();
  assert.deepEqual(order, ["firstConnect#4", "connect#4", "connect#5"]);
});

Deno.test("QueuePool propagates a firstConnect error and fires firstConnect again on the next new connection until it succeeds", async () => {
  const driver = new FakeDriver();
  await using pool = new QueuePool(driver.creator, {
    dialect: driver.dialect,
    poolSize: 1,
    maxOverflow: 1,
    timeoutMs: 0,
  });
  const recorder = recordEvents(pool);
  const failure = new Error("cannot read server version");
  let firstConnectCalls = 0;
  pool.on("firstConnect", () => {
    if (++firstConnectCalls === 1) throw failure;
  });

  await assert.rejects(pool.connect(), (error) => error === failure);

  const c1 = driver.connections[0]!;
  assert.equal(firstConnectCalls, 1);
  assert.deepEqual(recorder.names(), [
    "firstConnect#1",
    "invalidate#1",
    "close#1",
  ]);
  assert.equal(recorder.events[1]!.args[2], failure);
  assert.deepEqual(c1.calls, ["terminate"]);
  assert.equal(pool.checkedOut(), 0);
  assert.equal(pool.overflow(), -1);
  recorder.events.length = 0;

  const p2 = await pool.connect();
  assert.equal(firstConnectCalls, 2);
  assert.deepEqual(recorder.names(), [
    "firstConnect#2",
    "connect#2",
    "checkout#2",
  ]);
  recorder.events.length = 0;

  const p3 = await pool.connect(); // another new connection: no firstConnect
  assert.equal(firstConnectCalls, 2);
  assert.deepEqual(recorder.names(), ["connect#3", "checkout#3"]);
  await p2.close();
  await p3.close();
});

Deno.test("QueuePool runs a second new connection's connect listeners only after the first connection's async ones finish", async () => {
  const driver = new FakeDriver();
  await using pool = new QueuePool(driver.creator, {
    dialect: driver.dialect,
  });
  const order: string[] = [];
  const gate = deferred();
  const firstStarted = deferred();
  pool.on("firstConnect", async (conn) => {
    order.push(tag("firstConnect", conn));
    await Promise.resolve();
  });
  pool.on("connect", async (conn) => {
    order.push(tag("connect start", conn));
    if (conn.id === 1) {
      firstStarted.resolve();
      await gate.promise;
    }
    order.push(tag("connect end", conn));
  });

  const first = pool.connect();
  await firstStarted.promise;
  const second = pool.connect();

  // The second creator ran concurrently, but its listeners wait.
  assert.equal(driver.connections.length, 2);
  assert.deepEqual(order, ["firstConnect#1", "connect start#1"]);
  // Give the second checkout every chance to run ahead (it must not).
  await tick();
  assert.deepEqual(order, ["firstConnect#1", "connect start#1"]);

  gate.resolve();
  const [p1, p2] = await Promise.all([first, second]);

  assert.deepEqual(order, [
    "firstConnect#1",
    "connect start#1",
    "connect end#1",
    "connect start#2",
    "connect end#2",
  ]);
  assert.equal(p1.dbapiConnection, driver.connections[0]);
  assert.equal(p2.dbapiConnection, driver.connections[1]);
  await p1.close();
  await p2.close();
});

// ---------------------------------------------------------------- Failures

Deno.test("QueuePool leaves its counters unchanged when the creator fails for a new entry", async () => {
  const driver = new FakeDriver();
  const { logger, lines } = recordingLogger();
  await using pool = new QueuePool(driver.creator, {
    dialect: driver.dialect,
    poolSize: 1,
    maxOverflow: 1,
    timeoutMs: 0,
    echo: "debug",
    logger,
  });
  const recorder = recordEvents(pool);
  const failure = new Error("password authentication failed");

  const emptyStatus = pool.status();
  driver.failNext.push(failure);
  await assert.rejects(pool.connect(), (error) => error === failure);
  assert.equal(pool.status(), emptyStatus);
  assert.equal(pool.checkedOut(), 0);
  assert.equal(pool.checkedIn(), 0);
  assert.equal(pool.overflow(), -1);

  const held = await pool.connect();
  const heldStatus = pool.status();
  recorder.events.length = 0;
  driver.failNext.push(failure);
  await assert.rejects(pool.connect(), (error) => error === failure);

  assert.deepEqual(recorder.events, [], "no event for a failed creator");
  assert.equal(pool.status(), heldStatus);
  assert.equal(pool.checkedOut(), 1);
  assert(
    linesAt(lines, "debug").includes(
      "Error on connect(): Error: password authentication failed",
    ),
  );

  // Capacity is intact: the overflow slot can still be used.
  await using overflow = await pool.connect();
  assert.equal(pool.checkedOut(), 2);
  assert.equal(overflow.dbapiConnection, driver.connections[1]);
  await held.close();
});

Deno.test("QueuePool checks an existing entry back in empty when its reconnect fails, and retries the creator on it later", async () => {
  const driver = new FakeDriver();
  const tracked = entryTracking(driver.creator);
  await using pool = new QueuePool(tracked.creator, {
    dialect: driver.dialect,
    poolSize: 1,
    maxOverflow: 0,
    timeoutMs: 0,
  });
  const first = await pool.connect();
  await first.invalidate();
  const entry = tracked.entries[0]!;
  const recorder = recordEvents(pool);
  const failure = new Error("connection refused");
  driver.failNext.push(failure);

  await assert.rejects(pool.connect(), (error) => error === failure);

  assertEvents(recorder.events, [["checkin", null, entry]]);
  assert.equal(tracked.entries[1], entry);
  assert.equal(entry.dbapiConnection, null);
  assert.equal(pool.checkedOut(), 0);
  assert.equal(pool.checkedIn(), 1);
  recorder.events.length = 0;

  await using proxy = await pool.connect();
  assert.equal(tracked.entries[2], entry);
  assert.equal(driver.counts.create, 3);
  assert.equal(proxy.dbapiConnection, driver.connections[1]);
  assertEvents(recorder.events, [
    ["connect", driver.connections[1], entry],
    ["checkout", driver.connections[1], entry, proxy],
  ]);
});

Deno.test("QueuePool checks an entry back in when the creator fails while recycling it", async () => {
  const driver = new FakeDriver();
  const tracked = entryTracking(driver.creator);
  const clock = new FakeClock();
  await using pool = new QueuePool(tracked.creator, {
    dialect: driver.dialect,
    poolSize: 1,
    maxOverflow: 0,
    timeoutMs: 0,
    recycleMs: 1_000,
    clock: clock.fn,
  });
  await (await pool.connect()).close();
  const c1 = driver.connections[0]!;
  const entry = tracked.entries[0]!;
  clock.advance(2_000);
  const recorder = recordEvents(pool);
  const failure = new Error("connection refused");
  driver.failNext.push(failure);

  await assert.rejects(pool.connect(), (error) => error === failure);

  assertEvents(recorder.events, [
    ["close", c1, entry],
    ["checkin", null, entry],
  ]);
  assert.deepEqual(c1.calls, ["rollback", "terminate"]);
  assert.equal(pool.checkedOut(), 0);
  assert.equal(pool.checkedIn(), 1);

  await using proxy = await pool.connect();
  assert.equal(proxy.dbapiConnection, driver.connections[1]);
  assert.equal(tracked.entries[2], entry);
});

Deno.test("QueuePool rejects connect() when a connect listener throws on a reconnect, and the next connect() gets that error again, not a timeout", async () => {
  const driver = new FakeDriver();
  const tracked = entryTracking(driver.creator);
  await using pool = new QueuePool(tracked.creator, {
    dialect: driver.dialect,
    poolSize: 1,
    maxOverflow: 0,
    timeoutMs: 0,
  });
  const first = await pool.connect();
  await first.invalidate();
  const entry = tracked.entries[0]!;
  const failure = new Error("SET search_path failed");
  const listener = (): void => {
    throw failure;
  };
  pool.on("connect", listener);
  const recorder = recordEvents(pool);

  await assert.rejects(pool.connect(), (error) => error === failure);

  const c2 = driver.connections[1]!;
  assertEvents(recorder.events, [
    ["invalidate", c2, entry, failure],
    ["close", c2, entry],
    ["checkin", null, entry],
  ]);
  assert.deepEqual(c2.calls, ["terminate"]);
  assert.equal(pool.checkedOut(), 0);
  assert.equal(pool.checkedIn(), 1);
  recorder.events.length = 0;

  await assert.rejects(pool.connect(), (error) => {
    assert(!(error instanceof PoolTimeoutError));
    return error === failure;
  });
  const c3 = driver.connections[2]!;
  assert.deepEqual(c3.calls, ["terminate"]);
  assert.equal(tracked.entries[2], entry);
  assert.equal(pool.checkedOut(), 0);

  pool.off("connect", listener);
  await using proxy = await pool.connect();
  assert.equal(proxy.dbapiConnection, driver.connections[3]);
});

Deno.test("QueuePool closes the new connection and releases capacity when a connect listener throws for a brand-new entry", async () => {
  const driver = new FakeDriver();
  const tracked = entryTracking(driver.creator);
  await using pool = new QueuePool(tracked.creator, {
    dialect: driver.dialect,
    poolSize: 1,
    maxOverflow: 0,
    timeoutMs: 0,
  });
  const recorder = recordEvents(pool);
  const failure = new Error("SET TIME ZONE failed");
  let throwNext = true;
  pool.on("connect", () => {
    if (throwNext) {
      throwNext = false;
      throw failure;
    }
  });

  await assert.rejects(pool.connect(), (error) => error === failure);

  const c1 = driver.connections[0]!;
  const entry = tracked.entries[0]!;
  assertEvents(recorder.events, [
    ["firstConnect", c1, entry],
    ["connect", c1, entry],
    ["invalidate", c1, entry, failure],
    ["close", c1, entry],
  ]);
  assert.deepEqual(c1.calls, ["terminate"]);
  assert.equal(c1.open, false);
  assert.equal(pool.checkedOut(), 0);
  assert.equal(pool.checkedIn(), 0);
  assert.equal(pool.overflow(), -1);

  // The capacity came back: with timeoutMs 0 a leak would time out here.
  await using proxy = await pool.connect();
  assert.equal(proxy.dbapiConnection, driver.connections[1]);
  assert.equal(pool.checkedOut(), 1);
});

// ------------------------- connectTimeoutMs and creators that never settle

/** A creator whose first `hung` calls never settle; later calls use `driver`. */
function hangingCreator(
  driver: FakeDriver,
  hung: number,
): { creator: Creator<FakeConnection>; calls: () => number } {
  let calls = 0;
  return {
    calls: () => calls,
    creator: (entry) => {
      calls++;
      if (calls <= hung) return new Promise<FakeConnection>(() => {});
      return driver.creator(entry);
    },
  };
}

Deno.test("QueuePool fails a checkout whose creator never settles with ConnectTimeoutError and frees the slot at once", async () => {
  const driver = new FakeDriver();
  const { creator, calls } = hangingCreator(driver, 2);
  await using pool = new QueuePool(creator, {
    dialect: driver.dialect,
    poolSize: 1,
    maxOverflow: 0,
    timeoutMs: 0,
    connectTimeoutMs: 20,
  });
  for (let i = 0; i < 2; i++) {
    const error = await rejection(pool.connect());
    assert(error instanceof ConnectTimeoutError, String(error));
    assert.equal(error.name, "ConnectTimeoutError");
    assert.equal(error.timeoutMs, 20);
    assert.match(error.message, /AsyncAdaptedQueuePool/);
    assert.match(error.message, /20 ms/);
    assert.equal(pool.checkedOut(), 0);
    assert.equal(pool.overflow(), -1);
  }
  // After more hung creations than the pool has slots, it still works.
  await using conn = await pool.connect();
  assert(conn.isValid);
  assert.equal(calls(), 3);
});

Deno.test("QueuePool closes a connection that arrives after connectTimeoutMs and never hands it out", async () => {
  const driver = new FakeDriver();
  const late = Promise.withResolvers<FakeConnection>();
  let first = true;
  const { logger, lines } = recordingLogger();
  await using pool = new QueuePool<FakeConnection>((entry) => {
    if (!first) return driver.creator(entry);
    first = false;
    return late.promise;
  }, {
    dialect: driver.dialect,
    poolSize: 1,
    connectTimeoutMs: 10,
    logger,
  });
  assert(await rejection(pool.connect()) instanceof ConnectTimeoutError);
  const straggler = new FakeConnection(99, driver);
  late.resolve(straggler);
  await tick();
  assert.deepEqual(straggler.calls, ["terminate"]);
  assert.equal(pool.checkedIn(), 0);
  assert.match(linesAt(lines, "warn").join("\n"), /after connectTimeoutMs/);
  await using conn = await pool.connect();
  assert.notEqual(conn.dbapiConnection, straggler);
});

Deno.test("QueuePool rejects an aborted checkout at once while its creator hangs, and frees the slot after connectTimeoutMs", async () => {
  const driver = new FakeDriver();
  const { creator } = hangingCreator(driver, 1);
  const { logger, lines } = recordingLogger();
  await using pool = new QueuePool(creator, {
    dialect: driver.dialect,
    poolSize: 1,
    maxOverflow: 0,
    timeoutMs: null,
    connectTimeoutMs: 20,
    logger,
  });
  const controller = new AbortController();
  const first = pool.connect({ signal: controller.signal });
  const reason = new Error("client went away");
  controller.abort(reason);
  assert.equal(await rejection(first), reason);
  // The slot is still held by the hung creator; a waiter gets it once the
  // creation times out.
  const second = watch(pool.connect());
  await tick();
  assert.equal(second.settled, false);
  await using conn = await second.promise;
  assert(conn.isValid);
  assert.match(
    linesAt(lines, "error").join("\n"),
    /checkout that was aborted: ConnectTimeoutError/,
  );
});

Deno.test("QueuePool dispose() does not wait on a creator that never settles", async () => {
  const driver = new FakeDriver();
  const { creator } = hangingCreator(driver, 1);
  const pool = new QueuePool(creator, {
    dialect: driver.dialect,
    connectTimeoutMs: null,
  });
  const hung = watch(pool.connect());
  await (await pool.connect()).close();
  await pool.dispose();
  assert.equal(hung.settled, false);
  assert.equal(driver.openCount, 0);
});
