/**
 * Tests of what every checkout does to an existing connection before
 * handing it out (the engine in `src/_engine.ts` and `src/_pool_entry.ts`, behind
 * `Pool.connect()` in `src/pool.ts`): pre-ping, the `checkout` event, and
 * the reconnect when a `checkout` listener throws `DisconnectionError`.
 * Run on a `QueuePool` over the fake driver. Recycling and invalidated
 * connections are in `pool_invalidation_test.ts`; new connections in
 * `pool_creator_test.ts`.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  type Dialect,
  DisconnectionError,
  InvalidatePoolError,
  InvalidRequestError,
  QueuePool,
} from "../mod.ts";
import {
  assertEvents,
  entryTracking,
  FakeClock,
  type FakeConnection,
  FakeDisconnect,
  FakeDriver,
  linesAt,
  recordEvents,
  recordingLogger,
  tag,
} from "./_test_fake_driver.ts";

/**
 * The fake driver's dialect, with a ping that records itself in `order` and
 * throws `pingError` while it is set.
 */
function controlledDialect(driver: FakeDriver, order: string[] = []): {
  dialect: Dialect<FakeConnection>;
  order: string[];
  pingError: { value: unknown };
  isDisconnectCalls: Array<[unknown, unknown]>;
} {
  const pingError: { value: unknown } = { value: undefined };
  const isDisconnectCalls: Array<[unknown, unknown]> = [];
  const base = driver.dialect;
  return {
    order,
    pingError,
    isDisconnectCalls,
    dialect: {
      ...base,
      ping: (connection) => {
        order.push(tag("ping", connection));
        const alive = base.ping!(connection);
        if (pingError.value !== undefined) throw pingError.value;
        return alive;
      },
      isDisconnect: (error, connection) => {
        isDisconnectCalls.push([error, connection]);
        return base.isDisconnect!(error, connection);
      },
    },
  };
}

// ---------------------------------------------------------------- Pre-ping

Deno.test("QueuePool with prePing skips a new connection at its first checkout and pings it once at each later checkout", async () => {
  const driver = new FakeDriver();
  const { logger, lines } = recordingLogger();
  await using pool = new QueuePool(driver.creator, {
    dialect: driver.dialect,
    prePing: true,
    poolSize: 1,
    echo: "debug",
    logger,
  });

  await (await pool.connect()).close();
  assert.equal(driver.counts.ping, undefined);
  await (await pool.connect()).close();
  assert.equal(driver.counts.ping, 1);
  await (await pool.connect()).close();
  assert.equal(driver.counts.ping, 2);

  const c1 = driver.connections[0]!;
  assert.deepEqual(c1.calls.filter((call) => call === "ping").length, 2);
  assert.equal(driver.connections.length, 1);
  assert.deepEqual(
    linesAt(lines, "debug").filter((line) => line.includes("pre-ping")),
    [
      "Connection <FakeConnection #1> is fresh, skipping pre-ping",
      "Pool pre-ping on connection <FakeConnection #1>",
      "Pool pre-ping on connection <FakeConnection #1>",
    ],
  );
});

Deno.test("QueuePool with prePing never pings a connection made during the same checkout: reconnect, recycle, retry", async () => {
  const driver = new FakeDriver();
  const clock = new FakeClock();
  const { logger, lines } = recordingLogger();
  await using pool = new QueuePool(driver.creator, {
    dialect: driver.dialect,
    prePing: true,
    poolSize: 1,
    recycleMs: 1_000,
    clock: clock.fn,
    echo: "debug",
    logger,
  });

  // Reconnect of an entry left empty by an invalidation.
  await (await pool.connect()).invalidate();
  await (await pool.connect()).close();
  assert.equal(driver.counts.ping, undefined);

  // Recycle by age.
  clock.advance(2_000);
  await (await pool.connect()).close();
  assert.equal(driver.connections.length, 3);
  assert.equal(driver.counts.ping, undefined);

  // Retry after a checkout listener's DisconnectionError: the reused
  // connection is pinged once, its replacement is not.
  let thrown = false;
  pool.on("checkout", () => {
    if (!thrown) {
      thrown = true;
      throw new DisconnectionError("dead");
    }
  });
  await using proxy = await pool.connect();
  assert.equal(proxy.dbapiConnection, driver.connections[3]);
  assert.equal(driver.counts.ping, 1);
  assert.deepEqual(driver.connections[2]!.calls, [
    "rollback",
    "ping",
    "terminate",
  ]);
  assert.deepEqual(
    linesAt(lines, "debug").filter((line) => line.includes("pre-ping")),
    [
      "Connection <FakeConnection #1> is fresh, skipping pre-ping",
      "Connection <FakeConnection #2> is fresh, skipping pre-ping",
      "Connection <FakeConnection #3> is fresh, skipping pre-ping",
      "Pool pre-ping on connection <FakeConnection #3>",
      "Connection <FakeConnection #4> is fresh, skipping pre-ping",
    ],
  );
});

Deno.test("QueuePool with prePing replaces a connection whose ping returns false, without pinging the new one", async () => {
  const driver = new FakeDriver();
  const tracked = entryTracking(driver.creator);
  const { logger, lines } = recordingLogger();
  await using pool = new QueuePool(tracked.creator, {
    dialect: driver.dialect,
    prePing: true,
    poolSize: 1,
    echo: true,
    logger,
  });
  const recorder = recordEvents(pool);
  await (await pool.connect()).close();
  const c1 = driver.connections[0]!;
  const entry = tracked.entries[0]!;
  driver.kill(c1);
  recorder.events.length = 0;
  lines.length = 0;

  await using proxy = await pool.connect();

  const c2 = driver.connections[1]!;
  assert.equal(proxy.dbapiConnection, c2);
  assert.equal(proxy.isValid, true);
  assert.equal(proxy.dbapiConnection!.query("SELECT 1"), "SELECT 1");
  assert.equal(driver.counts.ping, 1);
  assert.deepEqual(c2.calls, ["query"], "the new connection is not pinged");
  const error = recorder.events[0]?.args[2];
  assert(error instanceof InvalidatePoolError);
  assertEvents(recorder.events, [
    ["invalidate", c1, entry, error],
    ["close", c1, entry],
    ["connect", c2, entry],
    ["checkout", c2, entry, proxy],
  ]);
  assert.deepEqual(c1.calls, ["rollback", "ping", "terminate"]);
  assert.deepEqual(linesAt(lines, "info"), [
    `Disconnection detected on checkout, invalidating all pooled connections prior to current timestamp (reason: ${
      String(error)
    })`,
    `Invalidate connection <FakeConnection #1> (reason: InvalidatePoolError:${error.message})`,
  ]);
});

Deno.test("QueuePool with prePing replaces the other older idle connections after a failed ping", async () => {
  const driver = new FakeDriver();
  const clock = new FakeClock();
  const { logger, lines } = recordingLogger();
  await using pool = new QueuePool(driver.creator, {
    dialect: driver.dialect,
    prePing: true,
    poolSize: 2,
    maxOverflow: 0,
    clock: clock.fn,
    echo: true,
    logger,
  });
  const recorder = recordEvents(pool);
  const p1 = await pool.connect();
  const p2 = await pool.connect();
  await p1.close();
  await p2.close();
  const [c1, c2] = driver.connections;
  clock.advance(100);
  driver.kill(c1!);

  const q1 = await pool.connect(); // c1 fails its ping: replaced by c3
  const c3 = driver.connections[2]!;
  assert.equal(q1.dbapiConnection, c3);
  clock.advance(100);
  recorder.events.length = 0;
  lines.length = 0;

  const q2 = await pool.connect(); // c2 is older than the failure

  const c4 = driver.connections[3]!;
  assert.equal(q2.dbapiConnection, c4);
  assert.deepEqual(recorder.names(), ["close#2", "connect#4", "checkout#4"]);
  assert.deepEqual(c2!.calls, ["rollback", "terminate"], "not even pinged");
  assert.equal(driver.counts.ping, 1);
  assert.deepEqual(linesAt(lines, "info"), [
    "Connection <FakeConnection #2> invalidated due to pool invalidation; recycling",
  ]);

  // Connections made after the failure stay.
  await q1.close();
  await q2.close();
  recorder.events.length = 0;
  const r1 = await pool.connect();
  const r2 = await pool.connect();
  assert.deepEqual(
    new Set([r1.dbapiConnection, r2.dbapiConnection]),
    new Set([c3, c4]),
  );
  assert.deepEqual(recorder.names(), ["checkout#3", "checkout#4"]);
  assert.equal(driver.counts.ping, 3);
  await r1.close();
  await r2.close();
});

Deno.test("QueuePool with prePing rejects with a ping error that is not a disconnect, invalidates the entry and keeps the pool time", async () => {
  const driver = new FakeDriver();
  const tracked = entryTracking(driver.creator);
  const controlled = controlledDialect(driver);
  const clock = new FakeClock();
  await using pool = new QueuePool(tracked.creator, {
    dialect: controlled.dialect,
    prePing: true,
    poolSize: 2,
    maxOverflow: 0,
    timeoutMs: 0,
    clock: clock.fn,
  });
  const recorder = recordEvents(pool);
  const p1 = await pool.connect();
  const p2 = await pool.connect();
  await p1.close();
  await p2.close();
  const [c1, c2] = driver.connections;
  const [e1, e2] = tracked.entries;
  clock.advance(100);
  const pingError = new Error("syntax error in ping");
  controlled.pingError.value = pingError;
  recorder.events.length = 0;

  await assert.rejects(pool.connect(), (error) => error === pingError);

  assertEvents(recorder.events, [
    ["invalidate", c1, e1, pingError],
    ["close", c1, e1],
    ["checkin", null, e1],
  ]);
  assert.equal(driver.counts.ping, 1);
  assert.equal(driver.connections.length, 2, "no reconnect");
  assert.deepEqual(c1!.calls, ["rollback", "ping", "terminate"]);
  assert.equal(pool.checkedOut(), 0);
  assert.equal(pool.checkedIn(), 2);

  // The pool time did not move: c2 is reused (after its ping).
  controlled.pingError.value = undefined;
  clock.advance(100);
  recorder.events.length = 0;
  const q2 = await pool.connect();
  assert.equal(q2.dbapiConnection, c2);
  assertEvents(recorder.events, [["checkout", c2, e2, q2]]);
  const q1 = await pool.connect(); // the emptied entry reconnects
  assert.equal(q1.dbapiConnection, driver.connections[2]);
  assert.equal(tracked.entries[2], e1);
  await q1.close();
  await q2.close();
});

Deno.test("QueuePool with prePing rejects with the creator's error when the database is down, and returns the slot", async () => {
  const driver = new FakeDriver();
  const tracked = entryTracking(driver.creator);
  await using pool = new QueuePool(tracked.creator, {
    dialect: driver.dialect,
    prePing: true,
    poolSize: 1,
    maxOverflow: 0,
    timeoutMs: 0,
  });
  const recorder = recordEvents(pool);
  await (await pool.connect()).close();
  const c1 = driver.connections[0]!;
  const entry = tracked.entries[0]!;
  driver.down = true;
  recorder.events.length = 0;

  await assert.rejects(pool.connect(), (error) => {
    assert(error instanceof FakeDisconnect);
    assert.equal(error.message, "fake server is down");
    return true;
  });

  assert.equal(driver.counts.ping, 1);
  assert.equal(driver.counts.create, 2, "one failed reconnect");
  const invalidateError = recorder.events[0]?.args[2];
  assert(invalidateError instanceof InvalidatePoolError);
  assertEvents(recorder.events, [
    ["invalidate", c1, entry, invalidateError],
    ["close", c1, entry],
    ["checkin", null, entry],
  ]);
  assert.equal(pool.checkedOut(), 0);
  assert.equal(pool.checkedIn(), 1);

  // The slot came back: once the database is up the same entry reconnects.
  driver.down = false;
  recorder.events.length = 0;
  await using proxy = await pool.connect();
  const c2 = driver.connections[1]!;
  assert.equal(proxy.dbapiConnection, c2);
  assert.equal(tracked.entries[2], entry);
  assertEvents(recorder.events, [
    ["connect", c2, entry],
    ["checkout", c2, entry, proxy],
  ]);
});

Deno.test("QueuePool with prePing treats a ping error that isDisconnect() recognises as a disconnect", async () => {
  const driver = new FakeDriver();
  const tracked = entryTracking(driver.creator);
  const controlled = controlledDialect(driver);
  await using pool = new QueuePool(tracked.creator, {
    dialect: controlled.dialect,
    prePing: true,
    poolSize: 2,
    maxOverflow: 0,
  });
  const recorder = recordEvents(pool);
  const p1 = await pool.connect();
  const p2 = await pool.connect();
  await p1.close();
  await p2.close();
  const [c1, c2] = driver.connections;
  const [e1] = tracked.entries;
  const thrown = new FakeDisconnect("connection reset by peer");
  controlled.pingError.value = thrown;
  recorder.events.length = 0;

  const proxy = await pool.connect();

  controlled.pingError.value = undefined;
  const c3 = driver.connections[2]!;
  assert.equal(proxy.dbapiConnection, c3);
  assert.deepEqual(controlled.isDisconnectCalls, [[thrown, c1]]);
  const error = recorder.events[0]?.args[2];
  assert(error instanceof InvalidatePoolError);
  assert.equal(error.cause, thrown);
  assertEvents(recorder.events, [
    ["invalidate", c1, e1, error],
    ["close", c1, e1],
    ["connect", c3, e1],
    ["checkout", c3, e1, proxy],
  ]);
  assert.deepEqual(controlled.order, ["ping#1"]);

  // Handled like a ping that returns false: the pool time moved, so the
  // older c2 is replaced too.
  recorder.events.length = 0;
  const other = await pool.connect();
  assert.notEqual(other.dbapiConnection, c2);
  assert.deepEqual(recorder.names(), ["close#2", "connect#4", "checkout#4"]);
  await proxy.close();
  await other.close();
});

Deno.test("QueuePool with prePing replaces a connection whose ping outlasts validationTimeoutMs, terminating it", async () => {
  const driver = new FakeDriver();
  let hang = false;
  const { logger } = recordingLogger();
  await using pool = new QueuePool(driver.creator, {
    dialect: {
      ...driver.dialect,
      ping: (c) =>
        hang ? new Promise<boolean>(() => {}) : driver.dialect.ping!(c),
    },
    prePing: true,
    poolSize: 1,
    validationTimeoutMs: 10,
    logger,
  });
  await (await pool.connect()).close();
  const invalidated: unknown[] = [];
  pool.on("invalidate", (_c, _e, error) => {
    invalidated.push(error);
  });
  hang = true;
  await using conn = await pool.connect();
  assert.equal(conn.dbapiConnection!.id, 2);
  assert.deepEqual(driver.connections[0]!.calls.at(-1), "terminate");
  assert.equal(invalidated.length, 1);
  assert.match(
    String(invalidated[0]),
    /pre-ping took longer than validationTimeoutMs \(10 ms\)/,
  );
});

// ----------------------------------- Connections the driver reports closed

Deno.test("QueuePool replaces a connection the driver saw closed at checkout without prePing, leaving the others alone", async () => {
  const driver = new FakeDriver();
  const closedByServer = new Set<FakeConnection>();
  const { creator, entries } = entryTracking(driver.creator);
  await using pool = new QueuePool(creator, {
    dialect: { ...driver.dialect, isClosed: (c) => closedByServer.has(c) },
    poolSize: 2,
  });
  const events = recordEvents(pool);
  const a = await pool.connect();
  const b = await pool.connect();
  const [first, second] = [a.dbapiConnection!, b.dbapiConnection!];
  await a.close();
  await b.close();
  closedByServer.add(first);
  events.events.length = 0;
  const c = await pool.connect();
  assert.equal(c.dbapiConnection!.id, 3);
  assert.equal(c.recordInfo, entries[0]!.recordInfo);
  assert.deepEqual(first.calls.at(-1), "terminate");
  assert.deepEqual(events.names(), [
    "invalidate#1",
    "close#1",
    "connect#3",
    "checkout#3",
  ]);
  assert.match(String(events.events[0]!.args[2]), /closed by the server/);
  const d = await pool.connect();
  assert.equal(d.dbapiConnection, second); // not invalidated with it
  await c.close();
  await d.close();
});

// ------------------------------- The checkout event and DisconnectionError

Deno.test("QueuePool fires checkout on every connect(), after firstConnect/connect and after the pre-ping", async () => {
  const driver = new FakeDriver();
  const controlled = controlledDialect(driver);
  const order = controlled.order;
  await using pool = new QueuePool(driver.creator, {
    dialect: controlled.dialect,
    prePing: true,
    poolSize: 1,
  });
  const seen: Array<{ conn: unknown; entry: unknown; proxy: unknown }> = [];
  const connectEntries: unknown[] = [];
  pool.on("firstConnect", (conn) => {
    order.push(tag("firstConnect", conn));
  });
  pool.on("connect", (conn, entry) => {
    order.push(tag("connect", conn));
    connectEntries.push(entry);
  });
  pool.on("checkout", (conn, entry, proxy) => {
    order.push(tag("checkout", conn));
    seen.push({ conn, entry, proxy });
  });

  const proxies: unknown[] = [];
  for (let i = 0; i < 3; i++) {
    const proxy = await pool.connect();
    proxies.push(proxy);
    await proxy.close();
  }

  assert.deepEqual(order, [
    "firstConnect#1",
    "connect#1",
    "checkout#1",
    "ping#1",
    "checkout#1",
    "ping#1",
    "checkout#1",
  ]);
  assert.equal(seen.length, 3);
  seen.forEach(({ conn, entry, proxy }, i) => {
    assert.equal(conn, driver.connections[0]);
    assert.equal(entry, connectEntries[0]);
    assert.equal(proxy, proxies[i]);
  });
});

Deno.test("QueuePool retries a checkout on a new connection of the same entry when a checkout listener throws DisconnectionError once", async () => {
  const driver = new FakeDriver();
  const tracked = entryTracking(driver.creator);
  const { logger, lines } = recordingLogger();
  await using pool = new QueuePool(tracked.creator, {
    dialect: driver.dialect,
    poolSize: 2,
    maxOverflow: 0,
    echo: true,
    logger,
  });
  // An older idle connection, to show the pool time does not move.
  const p0 = await pool.connect();
  const p1 = await pool.connect();
  await p1.close();
  await p0.close();
  const [c0, c1] = driver.connections;
  const e1 = tracked.entries[1]!;
  const order: string[] = [];
  const disconnect = new DisconnectionError("connection is dead");
  let thrown = false;
  pool.on("invalidate", (conn, entry, error) => {
    order.push(tag("invalidate", conn));
    assert.equal(entry, e1);
    assert.equal(error, disconnect);
  });
  pool.on("close", (conn) => {
    order.push(tag("close", conn));
  });
  pool.on("connect", (conn, entry) => {
    order.push(tag("connect", conn));
    assert.equal(entry, e1);
  });
  pool.on("checkout", (conn) => {
    order.push(tag("first listener", conn));
  });
  pool.on("checkout", (conn) => {
    order.push(tag("second listener", conn));
    if (!thrown) {
      thrown = true;
      throw disconnect;
    }
  });
  lines.length = 0;

  await using proxy = await pool.connect(); // takes e1 (c1) first, FIFO

  const c2 = driver.connections[2]!;
  assert.equal(proxy.dbapiConnection, c2);
  assert.equal(proxy.isValid, true);
  assert.deepEqual(order, [
    "first listener#2",
    "second listener#2",
    "invalidate#2",
    "close#2",
    "connect#3",
    "first listener#3",
    "second listener#3",
  ]);
  assert.equal(tracked.entries[2], e1);
  assert.deepEqual(c1!.calls, ["rollback", "terminate"]);
  assert.deepEqual(linesAt(lines, "info"), [
    "Disconnection detected on checkout, invalidating individual connection <FakeConnection #2> (reason: DisconnectionError: connection is dead)",
    "Invalidate connection <FakeConnection #2> (reason: DisconnectionError:connection is dead)",
  ]);

  // Not pool-wide: the other idle connection is reused.
  const other = await pool.connect();
  assert.equal(other.dbapiConnection, c0);
  await other.close();
});

Deno.test("QueuePool gives up after two reconnects when a checkout listener always throws DisconnectionError", async () => {
  const driver = new FakeDriver();
  const tracked = entryTracking(driver.creator);
  const { logger, lines } = recordingLogger();
  await using pool = new QueuePool(tracked.creator, {
    dialect: driver.dialect,
    poolSize: 1,
    maxOverflow: 0,
    timeoutMs: 0,
    echo: true,
    logger,
  });
  const recorder = recordEvents(pool);
  let calls = 0;
  const listener = (): void => {
    calls++;
    throw new DisconnectionError("still dead");
  };
  pool.on("checkout", listener);

  await assert.rejects(pool.connect(), (error) => {
    assert(error instanceof InvalidRequestError);
    assert.equal(error.message, "This connection is closed");
    return true;
  });

  assert.equal(calls, 2);
  assert.equal(driver.connections.length, 3);
  assert.equal(driver.counts.create, 3);
  for (const connection of driver.connections) {
    assert.deepEqual(connection.calls, ["terminate"]);
    assert.equal(connection.open, false);
  }
  const entry = tracked.entries[0]!;
  assert.deepEqual(new Set(tracked.entries), new Set([entry]));
  assert.deepEqual(recorder.names(), [
    "firstConnect#1",
    "connect#1",
    "checkout#1",
    "invalidate#1",
    "close#1",
    "connect#2",
    "checkout#2",
    "invalidate#2",
    "close#2",
    "connect#3",
    "invalidate#3",
    "close#3",
    "checkin",
  ]);
  for (const event of recorder.events) assert.equal(event.args[1], entry);
  const checkouts = recorder.events.filter((e) => e.name === "checkout");
  assert.equal(checkouts[0]!.args[2], checkouts[1]!.args[2], "one proxy");
  assert.equal(recorder.events.at(-1)!.args[0], null);
  const lastInvalidate = recorder.events.filter((e) =>
    e.name === "invalidate"
  )[2]!;
  assert.equal(lastInvalidate.args[2], undefined);
  assert.deepEqual(
    linesAt(lines, "info").filter((line) => !line.startsWith("Invalidate")),
    [
      "Disconnection detected on checkout, invalidating individual connection <FakeConnection #1> (reason: DisconnectionError: still dead)",
      "Disconnection detected on checkout, invalidating individual connection <FakeConnection #2> (reason: DisconnectionError: still dead)",
      "Reconnection attempts exhausted on checkout",
    ],
  );

  // The slot was released: with timeoutMs 0 a leak would be a PoolTimeoutError.
  assert.equal(pool.checkedOut(), 0);
  assert.equal(pool.checkedIn(), 1);
  pool.off("checkout", listener);
  await using proxy = await pool.connect();
  assert.equal(proxy.dbapiConnection, driver.connections[3]);
});

Deno.test("QueuePool advances the pool invalidation time when a checkout listener throws InvalidatePoolError", async () => {
  const driver = new FakeDriver();
  const tracked = entryTracking(driver.creator);
  const clock = new FakeClock();
  const { logger, lines } = recordingLogger();
  await using pool = new QueuePool(tracked.creator, {
    dialect: driver.dialect,
    poolSize: 2,
    maxOverflow: 0,
    clock: clock.fn,
    echo: true,
    logger,
  });
  const p1 = await pool.connect();
  const p2 = await pool.connect();
  await p1.close();
  await p2.close();
  const [c1, c2] = driver.connections;
  clock.advance(100);
  const invalidatePool = new InvalidatePoolError("server restarted");
  let thrown = false;
  pool.on("checkout", () => {
    if (!thrown) {
      thrown = true;
      throw invalidatePool;
    }
  });
  const recorder = recordEvents(pool);
  lines.length = 0;

  const q1 = await pool.connect();

  const c3 = driver.connections[2]!;
  assert.equal(q1.dbapiConnection, c3);
  assert.deepEqual(recorder.names(), [
    "invalidate#1",
    "close#1",
    "connect#3",
    "checkout#3",
  ]);
  assert.equal(recorder.events[0]!.args[2], invalidatePool);
  assert.deepEqual(c1!.calls, ["rollback", "terminate"]);
  assert.deepEqual(linesAt(lines, "info"), [
    "Disconnection detected on checkout, invalidating all pooled connections prior to current timestamp (reason: InvalidatePoolError: server restarted)",
    "Invalidate connection <FakeConnection #1> (reason: InvalidatePoolError:server restarted)",
  ]);
  clock.advance(100);
  recorder.events.length = 0;

  const q2 = await pool.connect(); // c2 is older than the new pool time

  assert.equal(q2.dbapiConnection, driver.connections[3]);
  assert.deepEqual(recorder.names(), ["close#2", "connect#4", "checkout#4"]);
  assert.deepEqual(c2!.calls, ["rollback", "terminate"]);
  await q1.close();
  await q2.close();
});

Deno.test("QueuePool rejects connect() with any other error of a checkout listener and returns the invalidated entry", async () => {
  const driver = new FakeDriver();
  const tracked = entryTracking(driver.creator);
  const clock = new FakeClock();
  await using pool = new QueuePool(tracked.creator, {
    dialect: driver.dialect,
    poolSize: 2,
    maxOverflow: 0,
    timeoutMs: 0,
    clock: clock.fn,
  });
  const held = await pool.connect();
  await (await pool.connect()).close();
  const [c1, c2] = driver.connections;
  const e2 = tracked.entries[1]!;
  clock.advance(100);
  const failure = new TypeError("listener bug");
  const listener = (conn: FakeConnection): void => {
    if (conn === c2) throw failure;
  };
  pool.on("checkout", listener);
  const recorder = recordEvents(pool);
  assert.equal(pool.checkedOut(), 1);

  await assert.rejects(pool.connect(), (error) => error === failure);

  assertEvents(recorder.events, [
    ["invalidate", c2, e2, failure],
    ["close", c2, e2],
    ["checkin", null, e2],
  ]);
  assert.deepEqual(c2!.calls, ["rollback", "terminate"]);
  assert.equal(pool.checkedOut(), 1);
  assert.equal(pool.checkedIn(), 1);
  assert.equal(driver.connections.length, 2, "no retry");

  // The pool time did not move: the held connection is reused after return.
  pool.off("checkout", listener);
  await held.close();
  clock.advance(100);
  const a = await pool.connect();
  const b = await pool.connect();
  assert.deepEqual(
    new Set([a.dbapiConnection, b.dbapiConnection]),
    new Set([c1, driver.connections[2]]),
  );
  await a.close();
  await b.close();
});

Deno.test("QueuePool always closes the connection a DisconnectionError replaces, even if a listener tries to clear dbapiConnection", async () => {
  const driver = new FakeDriver();
  await using pool = new QueuePool(driver.creator, {
    dialect: driver.dialect,
    poolSize: 1,
  });
  const recorder = recordEvents(pool);
  const assignmentErrors: unknown[] = [];
  pool.on("checkout", (conn, entry) => {
    if (conn.id !== 1) return;
    // Upstream's recipe to abandon a connection without closing it.
    try {
      (entry as { dbapiConnection: unknown }).dbapiConnection = null;
    } catch (error) {
      assignmentErrors.push(error);
    }
    throw new DisconnectionError("abandon it");
  });

  await using proxy = await pool.connect();

  assert.equal(assignmentErrors.length, 1);
  assert(assignmentErrors[0] instanceof TypeError);
  const [c1, c2] = driver.connections;
  assert.equal(proxy.dbapiConnection, c2);
  assert.deepEqual(c1!.calls, ["terminate"]);
  assert.equal(c1!.open, false);
  assert(recorder.names().includes("close#1"));
});
