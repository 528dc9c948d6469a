import assert from "node:assert/strict";
import {
  AsyncAdaptedQueuePool,
  type ConnectionPoolEntry,
  type PoolProxiedConnection,
  PoolTimeoutError,
  QueuePool,
} from "../mod.ts";
import {
  entryTracking,
  FakeClock,
  type FakeConnection,
  fakeCreator,
  FakeDriver,
  recordEvents,
  recordingLogger,
} from "./_test_fake_driver.ts";
import { prng, QUEUE_POOLS, sleep, tick, watch } from "./_test_helpers.ts";
import { poolInternals } from "./_pool_classes.ts";
import {
  type ProxiedConnection,
  proxyInternals,
} from "./_proxied_connection.ts";

type Proxy = PoolProxiedConnection<FakeConnection>;
type Entry = ConnectionPoolEntry<FakeConnection>;

/**
 * `promise`, or a failure if it is still pending after `ms` real ms: turns
 * a hang (a lost connection, with `timeoutMs: null`) into a test failure.
 * A watchdog, not a bound on how fast the pool is.
 */
async function watchdog<T>(
  promise: Promise<T>,
  ms: number,
  what: string,
): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`${what}: still pending after ${ms} ms`)),
      ms,
    );
  });
  try {
    return await Promise.race([promise, expired]);
  } finally {
    clearTimeout(timer);
  }
}

/** Resolves once `signal` has aborted. */
function aborted(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) =>
    signal.addEventListener("abort", () => resolve(), { once: true })
  );
}

/** Resolves when the gate is opened. */
function gate(): { promise: Promise<void>; open(): void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => open = resolve);
  return { promise, open };
}

// ------------------------------------------------------------------------
// A. Construction and configuration

Deno.test("QueuePool constructor calls the creator only at the first connect() (#1)", async () => {
  const driver = new FakeDriver();
  await using pool = new QueuePool(driver.creator);
  assert.equal(driver.counts.create, undefined);
  assert.equal(pool.checkedIn(), 0);
  await using _conn = await pool.connect();
  assert.equal(driver.counts.create, 1);
});

Deno.test("QueuePool defaults to size 5, timeout 30000 ms, no echo, no loggingName (#2)", async () => {
  await using pool = new QueuePool(fakeCreator());
  assert.equal(pool.size(), 5);
  assert.equal(pool.timeout(), 30_000);
  assert.equal(pool.echo, false);
  assert.equal(pool.loggingName, undefined);
  assert.equal(pool.overflow(), -5);
});

Deno.test("QueuePool defaults to rollback on return and no pre-ping (#2)", async () => {
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

Deno.test("QueuePool defaults to never recycling, whatever the age (#2)", async () => {
  const driver = new FakeDriver();
  const clock = new FakeClock();
  await using pool = new QueuePool(driver.creator, {
    dialect: driver.dialect,
    clock: clock.fn,
  });
  await (await pool.connect()).close();
  clock.advance(1e12);
  await using conn = await pool.connect();
  assert.equal(conn.dbapiConnection, driver.connections[0]);
  assert.equal(driver.counts.create, 1);
  assert.equal(driver.counts.terminate, undefined);
  assert.equal(driver.counts.close, undefined);
});

Deno.test("QueuePool defaults to echo off: no info or debug lines reach the logger (#2)", async () => {
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

Deno.test("QueuePool defaults to FIFO reuse (#2)", async () => {
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

Deno.test("QueuePool defaults to maxOverflow 10: 15 checkouts succeed, the 16th waits (#2)", async () => {
  const clock = new FakeClock();
  const driver = new FakeDriver();
  await using pool = new QueuePool(driver.creator, { clock: clock.fn });
  const held: Proxy[] = [];
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

Deno.test('QueuePool resetOnReturn "rollback" and true roll back once, no commit (#3)', async () => {
  for (const resetOnReturn of ["rollback", true] as const) {
    const driver = new FakeDriver();
    await using pool = new QueuePool(driver.creator, {
      dialect: driver.dialect,
      resetOnReturn,
    });
    await (await pool.connect()).close();
    assert.equal(driver.counts.rollback, 1, String(resetOnReturn));
    assert.equal(driver.counts.commit, undefined, String(resetOnReturn));
  }
});

Deno.test('QueuePool resetOnReturn "commit" commits once, no rollback (#3)', async () => {
  const driver = new FakeDriver();
  await using pool = new QueuePool(driver.creator, {
    dialect: driver.dialect,
    resetOnReturn: "commit",
  });
  await (await pool.connect()).close();
  assert.equal(driver.counts.commit, 1);
  assert.equal(driver.counts.rollback, undefined);
});

Deno.test("QueuePool resetOnReturn null and false do neither (#3)", async () => {
  for (const resetOnReturn of [null, false] as const) {
    const driver = new FakeDriver();
    await using pool = new QueuePool(driver.creator, {
      dialect: driver.dialect,
      resetOnReturn,
    });
    await (await pool.connect()).close();
    assert.equal(driver.counts.commit, undefined, String(resetOnReturn));
    assert.equal(driver.counts.rollback, undefined, String(resetOnReturn));
    assert.equal(pool.checkedIn(), 1);
  }
});

Deno.test("QueuePool resetOnReturn rejects any other value with TypeError (#3)", () => {
  for (const value of ["none", "ROLLBACK", 1, {}]) {
    assert.throws(
      () =>
        new QueuePool(fakeCreator(), {
          resetOnReturn: value as unknown as "rollback",
        }),
      (error: unknown) => {
        assert(error instanceof TypeError);
        assert.match(
          error.message,
          /^Cannot create pool: "resetOnReturn" must be .*, received /,
        );
        return true;
      },
    );
  }
});

Deno.test("QueuePool passes the creator the entry later given to the connect event (#4)", async () => {
  const driver = new FakeDriver();
  const { creator, entries } = entryTracking(driver.creator);
  await using pool = new QueuePool(creator);
  const connectEntries: Entry[] = [];
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

Deno.test("QueuePool works with a creator declared with no parameters (#4)", async () => {
  const made: object[] = [];
  await using pool = new QueuePool(() => {
    const conn = { rollback() {} };
    made.push(conn);
    return conn;
  });
  await using conn = await pool.connect();
  assert.equal(conn.dbapiConnection, made[0]);
});

Deno.test("QueuePool events option registers listeners before the first connection (#5)", async () => {
  const driver = new FakeDriver();
  const seen: string[] = [];
  await using pool = new QueuePool(driver.creator, {
    events: [
      ["connect", (conn: FakeConnection) => {
        seen.push(`connect#${conn.id}`);
      }],
      ["firstConnect", (conn: FakeConnection) => {
        seen.push(`firstConnect#${conn.id}`);
      }],
    ],
  });
  await using _conn = await pool.connect();
  assert.deepEqual(seen, ["firstConnect#1", "connect#1"]);
});

// ------------------------------------------------------------------------
// B. Queue pool sizing, overflow, timeout — under both names

Deno.test("QueuePool is the same class as AsyncAdaptedQueuePool (#19)", async () => {
  assert.equal(QueuePool, AsyncAdaptedQueuePool);
  await using pool = new QueuePool(fakeCreator());
  assert(pool instanceof AsyncAdaptedQueuePool);
  assert.equal(pool.constructor.name, "AsyncAdaptedQueuePool");
});

for (const [name, Pool] of QUEUE_POOLS) {
  Deno.test(`${name} with size 2 overflow 1 times out the 4th checkout after 100 ms (#7, #19)`, async () => {
    await using pool = new Pool(fakeCreator(), {
      poolSize: 2,
      maxOverflow: 1,
      timeoutMs: 100,
    });
    const held: Proxy[] = [];
    for (let i = 0; i < 3; i++) held.push(await pool.connect());
    const start = performance.now();
    const error = await pool.connect().then(
      () => assert.fail("the 4th checkout succeeded"),
      (error: unknown) => error,
    );
    const waited = performance.now() - start;
    assert(error instanceof PoolTimeoutError);
    assert.equal(error.name, "PoolTimeoutError");
    assert.equal(
      error.message,
      "QueuePool limit of size 2 overflow 1 reached, connection timed out, timeout 100 ms",
    );
    assert.equal(error.size, 2);
    assert.equal(error.overflow, 1);
    assert.equal(error.checkedOut, 3);
    assert.equal(error.timeoutMs, 100);
    assert(waited >= 100, `waited only ${waited} ms`);
    for (const conn of held) await conn.close();
  });

  Deno.test(`${name} status() reports an exhausted size-2 overflow-1 pool (#8, #19)`, async () => {
    await using pool = new Pool(fakeCreator(), {
      poolSize: 2,
      maxOverflow: 1,
      timeoutMs: 100,
    });
    const held: Proxy[] = [];
    for (let i = 0; i < 3; i++) held.push(await pool.connect());
    assert.equal(
      pool.status(),
      "Pool size: 2  Connections in pool: 0 Current Overflow: 1 Current Checked out connections: 3",
    );
    for (const conn of held) await conn.close();
  });

  Deno.test(`${name} starts with no idle connections and overflow -poolSize (#9, #19)`, async () => {
    await using pool = new Pool(fakeCreator(), { poolSize: 3 });
    assert.equal(pool.checkedIn(), 0);
    assert.equal(pool.overflow(), -3);
    assert.equal(pool.checkedOut(), 0);
    assert.equal(
      pool.status(),
      "Pool size: 3  Connections in pool: 0 Current Overflow: -3 Current Checked out connections: 0",
    );
  });

  Deno.test(`${name} closes the overflow connection returned to a full pool, after checkin (#10, #19)`, async () => {
    const driver = new FakeDriver();
    await using pool = new Pool(driver.creator, {
      poolSize: 2,
      maxOverflow: 1,
      timeoutMs: 100,
      dialect: driver.dialect,
    });
    const recorder = recordEvents(pool);
    const held: Proxy[] = [];
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

  Deno.test(`${name} hands a returned connection to a waiting checkout without a new connection (#11, #19)`, async () => {
    const driver = new FakeDriver();
    const clock = new FakeClock();
    await using pool = new Pool(driver.creator, {
      poolSize: 1,
      maxOverflow: 0,
      timeoutMs: 1_000,
      clock: clock.fn,
    });
    const held = await pool.connect();
    const driverConnection = held.dbapiConnection;
    const waiter = watch(pool.connect());
    await tick();
    assert.equal(waiter.settled, false);
    await held.close();
    assert.equal(pool.waiting(), 0); // handed over directly
    await using got = await waiter.promise;
    assert.equal(got.dbapiConnection, driverConnection);
    assert.equal(driver.counts.create, 1);
  });

  Deno.test(`${name} with maxOverflow -1 serves 50 concurrent checkouts without waiting (#12, #19)`, async () => {
    const driver = new FakeDriver();
    await using pool = new Pool(driver.creator, {
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

  Deno.test(`${name} with poolSize 0 is unlimited, reports overflow 0 and keeps every connection (#13, #19)`, async () => {
    const driver = new FakeDriver();
    await using pool = new Pool(driver.creator, {
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

  Deno.test(`${name} with maxOverflow 0 times out the 4th checkout, never early (#14, #19)`, async () => {
    const timeoutMs = 30;
    await using pool = new Pool(fakeCreator(), {
      poolSize: 3,
      maxOverflow: 0,
      timeoutMs,
    });
    const held: Proxy[] = [];
    for (let i = 0; i < 3; i++) held.push(await pool.connect());
    for (let round = 0; round < 5; round++) {
      const start = performance.now();
      await assert.rejects(pool.connect(), PoolTimeoutError);
      const waited = performance.now() - start;
      assert(waited >= timeoutMs, `waited only ${waited} ms`);
    }
    assert.equal(pool.checkedOut(), 3);
    for (const conn of held) await conn.close();
  });

  Deno.test(`${name} keeps overflow and capacity after a creator failure in overflow (#15, #19)`, async () => {
    const driver = new FakeDriver();
    await using pool = new Pool(driver.creator, {
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

  Deno.test(`${name} reuses idle connections in FIFO order by default (#16, #19)`, async () => {
    await using pool = new Pool(fakeCreator(), { poolSize: 3 });
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

  Deno.test(`${name} with useLifo reuses the most recently returned connection (#17, #19)`, async () => {
    await using pool = new Pool(fakeCreator(), { poolSize: 3, useLifo: true });
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

  Deno.test(`${name} with timeoutMs null waits until a connection is returned (#18, #19)`, async () => {
    const driver = new FakeDriver();
    await using pool = new Pool(driver.creator, {
      poolSize: 1,
      maxOverflow: 0,
      timeoutMs: null,
    });
    assert.equal(pool.timeout(), null);
    const held = await pool.connect();
    const waiter = watch(pool.connect());
    await sleep(50);
    assert.equal(waiter.settled, false);
    assert.equal(pool.waiting(), 1);
    const driverConnection = held.dbapiConnection;
    await held.close();
    assert.equal(pool.waiting(), 0); // handed over directly
    await using got = await waiter.promise;
    assert.equal(got.dbapiConnection, driverConnection);
  });
}

// ------------------------------------------------------------------------
// C. Proxy basics

Deno.test("QueuePool proxy exposes the driver connection and forwards no driver methods (#20)", async () => {
  const driver = new FakeDriver();
  await using pool = new QueuePool(driver.creator);
  await using conn = await pool.connect();
  assert.equal(conn.dbapiConnection, driver.connections[0]);
  assert.equal(conn.dbapiConnection!.query("SELECT 1"), "SELECT 1");
  assert.equal("query" in conn, false);
  assert.equal("rollback" in conn, false);
  assert.equal("commit" in conn, false);
});

Deno.test("QueuePool proxy.close() keeps the driver connection open for the next checkout (#21)", async () => {
  const driver = new FakeDriver();
  await using pool = new QueuePool(driver.creator, {
    poolSize: 1,
    maxOverflow: 0,
    dialect: driver.dialect,
  });
  const first = await pool.connect();
  const driverConnection = first.dbapiConnection!;
  await first.close();
  assert.equal(driver.counts.close, undefined);
  assert.equal(driverConnection.open, true);
  await using second = await pool.connect();
  assert.equal(second.dbapiConnection, driverConnection);
  assert.equal(driver.counts.create, 1);
});

Deno.test("QueuePool proxy.close() twice returns once (#22)", async () => {
  const driver = new FakeDriver();
  await using pool = new QueuePool(driver.creator, { dialect: driver.dialect });
  const recorder = recordEvents(pool);
  const conn = await pool.connect();
  const first = conn.close();
  const second = conn.close();
  assert.equal(second, first);
  await first;
  await conn.close();
  assert.equal(
    recorder.names().filter((n) => n.startsWith("checkin")).length,
    1,
  );
  assert.equal(driver.counts.rollback, 1);
  assert.equal(pool.checkedIn(), 1);
  assert.equal(pool.checkedOut(), 0);
});

Deno.test("QueuePool ignores an internal second return of an entry with a warning (#22)", async () => {
  const driver = new FakeDriver();
  const { logger, lines } = recordingLogger();
  await using pool = new QueuePool(driver.creator, {
    dialect: driver.dialect,
    logger,
  });
  const recorder = recordEvents(pool);
  const conn = await pool.connect();
  const driverConnection = conn.dbapiConnection!;
  const entry = proxyInternals.entry(conn as ProxiedConnection<FakeConnection>);
  await conn.close();
  const core = poolInternals.engine<FakeConnection>(pool).returns;
  await core.checkin(
    conn as ProxiedConnection<FakeConnection>,
    entry,
    driverConnection,
    false,
  );
  const warnings = lines.filter((l) => l.level === "warn");
  assert.equal(warnings.length, 1);
  assert.match(warnings[0]!.line, /^Double checkin attempted on /);
  assert.equal(
    recorder.names().filter((n) => n.startsWith("checkin")).length,
    1,
  );
  assert.equal(pool.checkedIn(), 1);
  assert.equal(pool.checkedOut(), 0);
});

Deno.test("QueuePool proxy isValid turns false after invalidate() (#23)", async () => {
  await using pool = new QueuePool(fakeCreator());
  const conn = await pool.connect();
  assert.equal(conn.isValid, true);
  await conn.invalidate();
  assert.equal(conn.isValid, false);
  assert.equal(conn.dbapiConnection, null);
  assert.equal(pool.checkedOut(), 0);
});

Deno.test("QueuePool proxy isDetached turns true after detach() (#23)", async () => {
  await using pool = new QueuePool(fakeCreator());
  const conn = await pool.connect();
  assert.equal(conn.isDetached, false);
  await conn.detach();
  assert.equal(conn.isDetached, true);
  assert.equal(conn.isValid, true);
  await conn.close();
});

Deno.test("QueuePool driverConnection is dbapiConnection on entries and proxies, also detached (#24)", async () => {
  const driver = new FakeDriver();
  const { creator, entries } = entryTracking(driver.creator);
  await using pool = new QueuePool(creator);
  const conn = await pool.connect();
  const entry = entries[0]!;
  assert.equal(conn.driverConnection, driver.connections[0]);
  assert.equal(conn.driverConnection, conn.dbapiConnection);
  assert.equal(entry.driverConnection, entry.dbapiConnection);
  assert.equal(entry.driverConnection, driver.connections[0]);
  await conn.detach();
  assert.equal(conn.dbapiConnection, driver.connections[0]);
  assert.equal(conn.driverConnection, conn.dbapiConnection);
  assert.equal(entry.driverConnection, null);
  assert.equal(entry.dbapiConnection, null);
  await conn.close();
});

Deno.test("QueuePool connection held with await using is returned when the scope ends (#25)", async () => {
  const driver = new FakeDriver();
  await using pool = new QueuePool(driver.creator, { dialect: driver.dialect });
  {
    await using conn = await pool.connect();
    assert(conn.isValid);
    assert.equal(pool.checkedOut(), 1);
  }
  assert.equal(pool.checkedOut(), 0);
  assert.equal(pool.checkedIn(), 1);
  assert.equal(driver.counts.rollback, 1);
  assert.equal(driver.connections[0]!.open, true);
});

Deno.test("QueuePool entry.inUse is true only while checked out (#26)", async () => {
  const driver = new FakeDriver();
  const { creator, entries } = entryTracking(driver.creator);
  await using pool = new QueuePool(creator);
  const conn = await pool.connect();
  const entry = entries[0]!;
  assert.equal(entry.inUse, true);
  await conn.close();
  assert.equal(entry.inUse, false);
  const again = await pool.connect();
  assert.equal(entries.length, 1);
  assert.equal(entry.inUse, true);
  await again.close();
  assert.equal(entry.inUse, false);
});

// ------------------------------------------------------------------------
// D. info / recordInfo

Deno.test("QueuePool proxy.info is the entry's info map, empty for a new connection (#27)", async () => {
  const driver = new FakeDriver();
  const { creator, entries } = entryTracking(driver.creator);
  await using pool = new QueuePool(creator);
  await using conn = await pool.connect();
  assert.equal(conn.info, entries[0]!.info);
  assert.equal(conn.info.size, 0);
  assert.equal(conn.recordInfo, entries[0]!.recordInfo);
});

Deno.test("QueuePool info keys survive until the next checkout of the same connection (#28)", async () => {
  await using pool = new QueuePool(fakeCreator(), { poolSize: 1 });
  const first = await pool.connect();
  first.info.set("key", "value");
  const driverConnection = first.dbapiConnection;
  await first.close();
  await using second = await pool.connect();
  assert.equal(second.dbapiConnection, driverConnection);
  assert.equal(second.info.get("key"), "value");
});

Deno.test("QueuePool info is empty after invalidate() and a new checkout on the same entry (#29)", async () => {
  const driver = new FakeDriver();
  const { creator, entries } = entryTracking(driver.creator);
  await using pool = new QueuePool(creator, { poolSize: 1, maxOverflow: 0 });
  const first = await pool.connect();
  first.info.set("key", "value");
  await first.invalidate();
  await using second = await pool.connect();
  assert.equal(entries.length, 2);
  assert.equal(entries[1], entries[0]); // same entry, reconnected
  assert.equal(second.dbapiConnection, driver.connections[1]);
  assert.equal(second.info.size, 0);
});

Deno.test("QueuePool info is empty after a recycle (#30)", async () => {
  const driver = new FakeDriver();
  const clock = new FakeClock();
  await using pool = new QueuePool(driver.creator, {
    poolSize: 1,
    recycleMs: 1_000,
    clock: clock.fn,
    dialect: driver.dialect,
  });
  const first = await pool.connect();
  first.info.set("key", "value");
  first.recordInfo!.set("slot", 1);
  await first.close();
  clock.advance(1_001);
  await using second = await pool.connect();
  assert.equal(second.dbapiConnection, driver.connections[1]);
  assert.equal(second.info.size, 0);
  assert.equal(second.recordInfo!.get("slot"), 1);
});

Deno.test("QueuePool info is empty after a pool-wide invalidation (#30)", async () => {
  const driver = new FakeDriver();
  const clock = new FakeClock();
  await using pool = new QueuePool(driver.creator, {
    poolSize: 1,
    clock: clock.fn,
  });
  const first = await pool.connect();
  first.info.set("key", "value");
  await first.close();
  await pool.invalidate();
  await using second = await pool.connect();
  assert.equal(second.dbapiConnection, driver.connections[1]);
  assert.equal(second.info.size, 0);
});

Deno.test("QueuePool info is empty after a soft invalidation and a new checkout (#30)", async () => {
  const driver = new FakeDriver();
  const clock = new FakeClock();
  await using pool = new QueuePool(driver.creator, {
    poolSize: 1,
    clock: clock.fn,
  });
  const first = await pool.connect();
  first.info.set("key", "value");
  await first.invalidate(undefined, { soft: true });
  assert.equal(first.info.get("key"), "value"); // still in use
  await first.close();
  await using second = await pool.connect();
  assert.equal(second.dbapiConnection, driver.connections[1]);
  assert.equal(second.info.size, 0);
});

Deno.test("QueuePool recordInfo keys survive invalidation and reconnect (#31)", async () => {
  const driver = new FakeDriver();
  await using pool = new QueuePool(driver.creator, {
    poolSize: 1,
    maxOverflow: 0,
  });
  const first = await pool.connect();
  const recordInfo = first.recordInfo!;
  recordInfo.set("slot", "A");
  await first.invalidate(new Error("gone"));
  await using second = await pool.connect();
  assert.notEqual(second.dbapiConnection, driver.connections[0]);
  assert.equal(second.recordInfo, recordInfo);
  assert.equal(second.recordInfo!.get("slot"), "A");
});

Deno.test("QueuePool detach() keeps a copy of info, drops recordInfo, leaves the entry's recordInfo (#32)", async () => {
  const driver = new FakeDriver();
  const { creator, entries } = entryTracking(driver.creator);
  await using pool = new QueuePool(creator, { poolSize: 1, maxOverflow: 0 });
  const conn = await pool.connect();
  conn.info.set("key", "value");
  conn.recordInfo!.set("slot", "A");
  await conn.detach();
  assert.equal(conn.info.get("key"), "value");
  assert.notEqual(conn.info, entries[0]!.info);
  assert.equal(conn.recordInfo, null);
  await using next = await pool.connect();
  assert.equal(entries.length, 2);
  assert.equal(entries[1], entries[0]);
  assert.equal(next.dbapiConnection, driver.connections[1]);
  assert.equal(next.info.size, 0);
  assert.equal(next.recordInfo!.get("slot"), "A");
  assert.equal(conn.info.get("key"), "value"); // the copy is the proxy's own
  await conn.close();
});

Deno.test("QueuePool info set by a connect listener is visible on the proxy (#33)", async () => {
  await using pool = new QueuePool(fakeCreator());
  pool.on("connect", (conn, entry) => {
    entry.info.set("connectedWith", conn.id);
  });
  await using conn = await pool.connect();
  assert.equal(conn.info.get("connectedWith"), conn.dbapiConnection!.id);
});

// ------------------------------------------------------------------------
// S. Port decisions: abort, hand-off, timeouts

Deno.test("QueuePool.connect() with an aborted signal rejects with its reason and changes nothing (#105)", async () => {
  const driver = new FakeDriver();
  await using pool = new QueuePool(driver.creator, {
    poolSize: 1,
    maxOverflow: 0,
  });
  const reason = { why: "already aborted" };
  const signal = AbortSignal.abort(reason);
  const before = pool.status();
  await assert.rejects(pool.connect({ signal }), (error) => error === reason);
  assert.equal(driver.counts.create, undefined);
  assert.equal(pool.status(), before);
  // Also on an exhausted pool: nothing is queued.
  const held = await pool.connect();
  const exhausted = pool.status();
  await assert.rejects(pool.connect({ signal }), (error) => error === reason);
  assert.equal(pool.waiting(), 0);
  assert.equal(pool.status(), exhausted);
  assert.equal(driver.counts.create, 1);
  await held.close();
});

Deno.test("QueuePool.connect() aborted while queued rejects with the reason; the next waiter gets the connection (#106)", async () => {
  const driver = new FakeDriver();
  const clock = new FakeClock();
  await using pool = new QueuePool(driver.creator, {
    poolSize: 1,
    maxOverflow: 0,
    timeoutMs: 10_000,
    clock: clock.fn,
  });
  const held = await pool.connect();
  const controller = new AbortController();
  const reason = new Error("user gave up");
  const first = pool.connect({ signal: controller.signal });
  const second = watch(pool.connect());
  assert.equal(pool.waiting(), 2);
  controller.abort(reason);
  assert.equal(pool.waiting(), 1); // removed at once
  await assert.rejects(first, (error) => error === reason);
  const driverConnection = held.dbapiConnection;
  await held.close();
  assert.equal(pool.waiting(), 0); // handed over directly
  await using got = await second.promise;
  assert.equal(got.dbapiConnection, driverConnection);
  assert.equal(driver.counts.create, 1);
  assert.equal(pool.checkedOut(), 1);
  assert.equal(pool.waiting(), 0);
});

for (const withListener of [false, true]) {
  Deno.test(
    `QueuePool hands a connection released from an abort listener past the aborted waiter${
      withListener ? " (checkout listener)" : ""
    } (#106)`,
    async () => {
      const driver = new FakeDriver();
      const { logger, lines } = recordingLogger();
      await using pool = new QueuePool(driver.creator, {
        poolSize: 1,
        maxOverflow: 0,
        timeoutMs: null,
        logger,
      });
      if (withListener) pool.on("checkout", () => {});
      const held = await pool.connect();
      const controller = new AbortController();
      const reason = new Error("stop");
      let released: Promise<void> | null = null;
      // Registered before the waiter's own listener: it runs first, while the
      // aborted waiter is still queued.
      controller.signal.addEventListener("abort", () => {
        released = held.close();
      });
      const aborted = pool.connect({ signal: controller.signal });
      const next = pool.connect();
      controller.abort(reason);
      await assert.rejects(aborted, (error) => error === reason);
      await released;
      assert.equal(pool.waiting(), 0); // handed over to the next waiter
      await using got = await next;
      assert.equal(got.dbapiConnection, driver.connections[0]);
      assert.equal(pool.checkedOut(), 1);
      assert.equal(pool.waiting(), 0);
      assert.deepEqual(lines.filter((l) => l.level === "error"), []);
    },
  );
}

Deno.test("QueuePool.connect() aborted during a slow creator rejects promptly; the connection comes back (#107)", async () => {
  const driver = new FakeDriver();
  const creating = gate();
  driver.gate = creating.promise;
  const clock = new FakeClock();
  await using pool = new QueuePool(driver.creator, {
    poolSize: 1,
    maxOverflow: 0,
    timeoutMs: 10_000,
    clock: clock.fn,
  });
  const checkins: string[] = [];
  pool.on("checkin", (conn) => {
    checkins.push(conn === null ? "null" : `#${conn.id}`);
  });
  const controller = new AbortController();
  const reason = new Error("abandoned");
  const abandoned = pool.connect({ signal: controller.signal });
  await tick();
  assert.equal(driver.counts.create, 1); // the creator is running
  controller.abort(reason);
  await assert.rejects(abandoned, (error) => error === reason);
  assert.equal(driver.connections.length, 0); // rejected before the creator finished
  assert.equal(pool.checkedOut(), 1); // the slot is still being connected
  const next = pool.connect(); // waits for the background checkout
  driver.gate = null;
  creating.open();
  await tick(); // the background checkout completes and is returned
  assert.equal(pool.waiting(), 0);
  await using got = await next;
  assert.equal(got.dbapiConnection, driver.connections[0]);
  assert.equal(driver.connections[0]!.open, true);
  assert.equal(driver.counts.create, 1);
  assert.deepEqual(checkins, ["#1"]); // the abandoned checkout was returned normally
  assert.equal(pool.checkedOut(), 1);
});

Deno.test("QueuePool waiter aborted after the grant, during its reconnect, rejects promptly; the full pool is usable again (#107)", async () => {
  const driver = new FakeDriver();
  const clock = new FakeClock();
  await using pool = new QueuePool(driver.creator, {
    poolSize: 2,
    maxOverflow: 0,
    timeoutMs: 10_000,
    clock: clock.fn,
  });
  const a = await pool.connect();
  const b = await pool.connect();
  const controller = new AbortController();
  const reason = new Error("abandoned");
  const waiter = pool.connect({ signal: controller.signal });
  const creating = gate();
  driver.gate = creating.promise;
  await a.invalidate(); // the empty entry is granted to the waiter, which reconnects
  await tick();
  assert.equal(driver.counts.create, 3);
  assert.equal(pool.waiting(), 0);
  controller.abort(reason);
  await assert.rejects(waiter, (error) => error === reason);
  assert.equal(driver.connections.length, 2);
  driver.gate = null;
  creating.open();
  await tick(); // the background checkout completes and is returned
  assert.equal(pool.checkedIn(), 1);
  const full = [await pool.connect()];
  await b.close();
  full.push(await pool.connect());
  assert.equal(pool.checkedOut(), 2);
  assert.deepEqual(
    new Set(full.map((p) => p.dbapiConnection)),
    new Set([driver.connections[1], driver.connections[2]]),
  );
  for (const conn of full) await conn.close();
  assert.equal(pool.checkedOut(), 0);
  assert.equal(pool.checkedIn(), 2);
});

Deno.test("QueuePool waiters sharing one signal are all rejected by its abort; others are still served (#108)", async () => {
  const driver = new FakeDriver();
  const clock = new FakeClock();
  await using pool = new QueuePool(driver.creator, {
    poolSize: 1,
    maxOverflow: 0,
    timeoutMs: 10_000,
    clock: clock.fn,
  });
  const held = await pool.connect();
  const controller = new AbortController();
  const reason = new Error("shutdown");
  const shared: Promise<Proxy>[] = [];
  const others: Promise<Proxy>[] = [];
  for (let i = 0; i < 100; i++) {
    shared.push(pool.connect({ signal: controller.signal }));
    if (i % 25 === 0) others.push(pool.connect());
  }
  assert.equal(pool.waiting(), 104);
  controller.abort(reason);
  assert.equal(pool.waiting(), 4);
  const results = await Promise.allSettled(shared);
  for (const result of results) {
    assert.equal(result.status, "rejected");
    assert.equal((result as PromiseRejectedResult).reason, reason);
  }
  await held.close();
  for (let i = 0; i < others.length; i++) {
    assert.equal(pool.waiting(), others.length - 1 - i); // handed over directly
    const conn = await others[i]!;
    assert.equal(conn.dbapiConnection, driver.connections[0]);
    await conn.close();
  }
  assert.equal(driver.counts.create, 1);
  assert.equal(pool.checkedIn(), 1);
});

Deno.test("QueuePool hands returned connections to waiters in order; later callers queue behind them (#109)", async () => {
  const driver = new FakeDriver();
  const clock = new FakeClock();
  await using pool = new QueuePool(driver.creator, {
    poolSize: 2,
    maxOverflow: 0,
    timeoutMs: 10_000,
    clock: clock.fn,
  });
  let holding = [await pool.connect(), await pool.connect()];
  const served: string[] = [];
  const waiters = new Map<string, Promise<Proxy>>();
  const enqueue = (label: string) =>
    waiters.set(
      label,
      pool.connect().then((conn) => {
        served.push(label);
        return conn;
      }),
    );
  for (const label of ["W1", "W2", "W3", "W4"]) enqueue(label);
  // Return one: it goes straight to W1, never to the idle list.
  await holding[0]!.close();
  assert.equal(pool.checkedIn(), 0);
  assert.equal(pool.waiting(), 3);
  const w1 = await waiters.get("W1")!;
  enqueue("late"); // made while W2..W4 wait
  holding = [holding[1]!, w1];
  for (let i = 0; i < 4; i++) {
    const returned = holding.shift()!;
    await returned.close();
    assert.equal(pool.checkedIn(), 0);
    assert.equal(pool.waiting(), 3 - i);
    const label = ["W2", "W3", "W4", "late"][i]!;
    holding.push(await waiters.get(label)!);
  }
  assert.deepEqual(served, ["W1", "W2", "W3", "W4", "late"]);
  assert.equal(driver.counts.create, 2);
  for (const conn of holding) await conn.close();
  assert.equal(pool.checkedIn(), 2);
});

Deno.test("QueuePool grants capacity freed by a failed creator to the head waiter at once (#110)", async () => {
  const driver = new FakeDriver();
  const clock = new FakeClock();
  await using pool = new QueuePool(driver.creator, {
    poolSize: 1,
    maxOverflow: 0,
    timeoutMs: 10_000,
    clock: clock.fn,
  });
  const creating = gate();
  driver.gate = creating.promise;
  const failure = new Error("connection refused");
  driver.failNext.push(failure);
  const first = pool.connect();
  const waiter = watch(pool.connect());
  assert.equal(pool.waiting(), 1);
  driver.gate = null;
  creating.open();
  await assert.rejects(first, (error) => error === failure);
  // The fake clock never moves: only a capacity grant can serve the waiter.
  assert.equal(pool.waiting(), 0, "the freed capacity was not granted");
  await using got = await waiter.promise;
  assert.equal(got.dbapiConnection, driver.connections[0]);
  assert.equal(driver.counts.create, 2);
  assert.equal(pool.checkedOut(), 1);
  assert.equal(pool.overflow(), 0);
});

Deno.test("QueuePool rejects waiters timing out together, each after at least timeoutMs (#111)", async () => {
  const timeoutMs = 30;
  await using pool = new QueuePool(fakeCreator(), {
    poolSize: 1,
    maxOverflow: 0,
    timeoutMs,
  });
  await using _held = await pool.connect();
  const waits = await Promise.all(
    Array.from({ length: 50 }, () => {
      const start = performance.now();
      return pool.connect().then(
        () => assert.fail("a waiter was served"),
        (error: unknown) => {
          assert(error instanceof PoolTimeoutError);
          assert.equal(error.timeoutMs, timeoutMs);
          assert.equal(error.checkedOut, 1);
          return performance.now() - start;
        },
      );
    }),
  );
  for (const waited of waits) {
    assert(waited >= timeoutMs, `waited only ${waited} ms`);
  }
  assert.equal(pool.waiting(), 0);
});

/** Runs `n` waiters into a timeout on an exhausted pool; returns the elapsed ms. */
async function timeoutStorm(n: number, timeoutMs: number): Promise<number> {
  await using pool = new QueuePool(fakeCreator(), {
    poolSize: 1,
    maxOverflow: 0,
    timeoutMs,
  });
  await using _held = await pool.connect();
  const shortest = { ms: Infinity };
  let rejected = 0;
  const started = performance.now();
  const all: Promise<void>[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const start = performance.now();
    all[i] = pool.connect().then(
      () => assert.fail("a waiter was served"),
      (error: unknown) => {
        const waited = performance.now() - start;
        if (!(error instanceof PoolTimeoutError)) throw error;
        rejected++;
        if (waited < shortest.ms) shortest.ms = waited;
      },
    );
  }
  await Promise.all(all);
  const elapsed = performance.now() - started;
  assert.equal(rejected, n);
  assert(shortest.ms >= timeoutMs, `a waiter waited only ${shortest.ms} ms`);
  assert.equal(pool.waiting(), 0);
  return elapsed;
}

Deno.test("QueuePool times out a storm of 20000 waiters in linear time, none early (#111)", async () => {
  const timeoutMs = 20;
  await timeoutStorm(500, timeoutMs); // warm-up
  const small = await timeoutStorm(2_500, timeoutMs);
  const large = await timeoutStorm(20_000, timeoutMs);
  // Linear is about 8x (the per-waiter cost dominates the fixed timeout);
  // quadratic would be about 64x. Allow twice linear for noise.
  assert(
    large < 16 * small,
    `20000 waiters took ${large} ms, 2500 took ${small} ms`,
  );
});

Deno.test("QueuePool with timeoutMs above 2^31-1 does not time out early (#112)", async () => {
  const timeoutMs = 2 ** 31 + 1000;
  let readings = 0;
  const clock = (): number => {
    readings++;
    return performance.now(); // the real clock, counted
  };
  await using pool = new QueuePool(fakeCreator(), {
    poolSize: 1,
    maxOverflow: 0,
    timeoutMs,
    clock,
  });
  assert.equal(pool.timeout(), timeoutMs);
  await using _held = await pool.connect();
  const controller = new AbortController();
  const waiter = watch(pool.connect({ signal: controller.signal }));
  const before = readings;
  await sleep(50);
  assert.equal(waiter.settled, false);
  assert.equal(pool.waiting(), 1);
  // An unclamped delay fires at once and keeps re-arming (reading the clock).
  assert.equal(readings, before, "the deadline timer fired while waiting");
  const reason = new Error("cleanup");
  controller.abort(reason);
  await assert.rejects(waiter.promise, (error) => error === reason);
});

for (const withListeners of [false, true]) {
  Deno.test(
    `QueuePool loses and double-grants nothing when random aborts race hand-offs${
      withListeners ? " (with listeners)" : ""
    } (#106, #107)`,
    async () => {
      const seed = withListeners ? 0xdb9001 : 0xdb9000;
      const random = prng(seed);
      const driver = new FakeDriver({ createDelayMs: 1 });
      const { logger, lines } = recordingLogger();
      await using pool = new QueuePool(driver.creator, {
        poolSize: 4,
        maxOverflow: 0,
        timeoutMs: null,
        dialect: driver.dialect,
        logger,
      });
      // With listeners every checkout is slow-path and tracked by events,
      // including the ones completing in the background after an abort.
      const busy = new Map<FakeConnection, Entry>();
      const entryConnection = new Map<Entry, FakeConnection>();
      let checkouts = 0;
      let checkins = 0;
      if (withListeners) {
        pool.on("checkout", async (conn, entry) => {
          checkouts++;
          assert(
            !busy.has(conn),
            `seed ${seed}: connection #${conn.id} checked out twice`,
          );
          assert(conn.open, `seed ${seed}: checked out a closed connection`);
          busy.set(conn, entry);
          entryConnection.set(entry, conn);
          if (random() < 0.3) await Promise.resolve();
        });
        pool.on("checkin", (_conn, entry) => {
          checkins++;
          const conn = entryConnection.get(entry);
          if (conn !== undefined) busy.delete(conn);
          entryConnection.delete(entry);
        });
      }
      const held = new Set<FakeConnection>();
      const pending: Promise<unknown>[] = [];
      let served = 0;
      let rejected = 0;

      function makeSignal(): AbortSignal | undefined {
        const pick = random();
        if (pick < 0.25) return undefined;
        if (pick < 0.5) {
          const signal = AbortSignal.timeout(Math.floor(random() * 3));
          pending.push(aborted(signal));
          return signal;
        }
        const controller = new AbortController();
        const reason = new Error("cancelled");
        const when = random();
        if (when < 0.05) controller.abort(reason);
        else if (when < 0.4) queueMicrotask(() => controller.abort(reason));
        else {
          const delay = Math.floor(random() * 3);
          pending.push(
            new Promise<void>((resolve) =>
              setTimeout(() => {
                controller.abort(reason);
                resolve();
              }, delay)
            ),
          );
        }
        return controller.signal;
      }

      async function task(): Promise<void> {
        for (let i = 0; i < 20; i++) {
          const signal = makeSignal();
          let proxy: Proxy;
          try {
            proxy = await pool.connect(
              signal === undefined ? undefined : { signal },
            );
          } catch (error) {
            assert(
              signal?.aborted,
              `seed ${seed}: unexpected rejection ${error}`,
            );
            assert.equal(error, signal.reason);
            rejected++;
            continue;
          }
          const conn = proxy.dbapiConnection!;
          assert(conn.open, `seed ${seed}: granted a closed connection`);
          assert(
            !held.has(conn),
            `seed ${seed}: connection #${conn.id} granted twice`,
          );
          held.add(conn);
          served++;
          if (random() < 0.5) await Promise.resolve();
          else await tick();
          held.delete(conn);
          if (random() < 0.1) await proxy.invalidate();
          else await proxy.close();
        }
      }

      await watchdog(
        Promise.all(Array.from({ length: 200 }, task)),
        60_000,
        `seed ${seed}: the tasks`,
      );
      await Promise.all(pending);
      assert(served > 0, "nothing was served");
      assert(rejected > 0, "nothing was aborted");

      // The full pool can be checked out at once (waiting for any background checkout).
      const all = await watchdog(
        Promise.all([0, 1, 2, 3].map(() => pool.connect())),
        10_000,
        `seed ${seed}: checking out the full pool (a connection was lost)`,
      );
      assert.equal(pool.checkedOut(), 4);
      assert.equal(new Set(all.map((p) => p.dbapiConnection)).size, 4);
      for (const conn of all) assert(conn.dbapiConnection!.open);
      for (const conn of all) await conn.close();
      assert.equal(pool.checkedOut(), 0);
      assert.equal(pool.checkedIn(), 4);
      assert.equal(pool.overflow(), 0);
      assert.equal(pool.waiting(), 0);
      if (withListeners) {
        assert.equal(busy.size, 0);
        assert(checkouts >= served);
        assert.equal(checkins, checkouts); // every checkout, also abandoned ones, was returned
      }
      // No connection lost: every open driver connection was in the pool.
      await pool.dispose();
      assert.equal(driver.openCount, 0);
      assert.deepEqual(
        lines.filter((l) => l.level === "warn" || l.level === "error"),
        [],
      );
    },
  );
}
