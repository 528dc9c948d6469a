/**
 * The behaviour every pool class shares (`QueuePool`, `NullPool`,
 * `StaticPool`, `AssertionPool`, `SingletonContextPool`): the `Pool`
 * contract of `src/pool.ts`, run over the table of pool classes in
 * `_test_pools.ts`, whose rows say where the classes differ (`NullPool`
 * closes what comes back; the status strings). Each class's own behaviour
 * is in its own test file.
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  closes,
  FakeConnection,
  FakeDisconnect,
  FakeDriver,
  recordEvents,
  tracer,
} from "./_test_fake_driver.ts";
import { POOL_CLASSES } from "./_test_pools.ts";
import { deferred, tick, watch } from "./_test_helpers.ts";
import { PoolClosedError } from "./errors.ts";

// ------------------------------------------------------- The Pool contract

for (const { name, Class, status } of POOL_CLASSES) {
  Deno.test(`${name} implements connect, dispose, recreate and status`, async () => {
    const driver = new FakeDriver();
    await using pool = new Class(driver.creator, { dialect: driver.dialect });
    assert.equal(typeof pool.connect, "function");
    assert.equal(typeof pool.dispose, "function");
    assert.equal(typeof pool.recreate, "function");
    assert.equal(typeof pool.status, "function");
    const proxy = await pool.connect();
    assert.ok(proxy.dbapiConnection instanceof FakeConnection);
    await proxy.close();
    assert.equal(await pool.dispose(), undefined);
    await using recreated = pool.recreate();
    assert.equal(Object.getPrototypeOf(recreated), Class.prototype);
    assert.match(recreated.status(), status.fresh);
    assert.equal(driver.counts.create, 1);
  });
}

for (const { name, Class, status } of POOL_CLASSES) {
  Deno.test(`${name}.status() is the class's status string, before, during and after a checkout`, async () => {
    await using pool = new Class(new FakeDriver().creator);
    assert.match(pool.status(), status.fresh);
    {
      await using _proxy = await pool.connect();
      assert.match(pool.status(), status.checkedOut);
    }
    assert.match(pool.status(), status.returned);
  });
}

// ------------------------------------------- Events at checkout and return

for (const { name, Class, keepsReturned } of POOL_CLASSES) {
  Deno.test(`${name} fires firstConnect once, connect for every new connection, and checkout, reset, checkin for every checkout`, async () => {
    const driver = new FakeDriver();
    await using pool = new Class(driver.creator, { dialect: driver.dialect });
    const recorded = recordEvents(pool);
    for (let i = 0; i < 3; i++) await (await pool.connect()).close();
    const names = recorded.names().filter((n) =>
      n.startsWith("firstConnect") || n.startsWith("connect")
    );
    assert.deepEqual(
      names,
      keepsReturned
        ? ["firstConnect#1", "connect#1"]
        : ["firstConnect#1", "connect#1", "connect#2", "connect#3"],
    );
    assert.deepEqual(
      recorded.names(),
      keepsReturned
        ? [
          "firstConnect#1",
          "connect#1",
          ...["checkout#1", "reset#1", "checkin#1"],
          ...["checkout#1", "reset#1", "checkin#1"],
          ...["checkout#1", "reset#1", "checkin#1"],
        ]
        : [
          "firstConnect#1",
          ...["connect#1", "checkout#1", "reset#1", "checkin#1", "close#1"],
          ...["connect#2", "checkout#2", "reset#2", "checkin#2", "close#2"],
          ...["connect#3", "checkout#3", "reset#3", "checkin#3", "close#3"],
        ],
    );
  });
}

for (const { name, Class, keepsReturned, status, counters } of POOL_CLASSES) {
  Deno.test(`${name}: proxy.close() twice returns the connection once; the second call returns the first call's promise`, async () => {
    const driver = new FakeDriver();
    await using pool = new Class(driver.creator, { dialect: driver.dialect });
    const proxy = await pool.connect();
    const conn = proxy.dbapiConnection!;
    const recorded = recordEvents(pool);
    const first = proxy.close();
    const second = proxy.close();
    assert.equal(second, first);
    await first;
    await proxy.close();
    assert.deepEqual(
      recorded.names(),
      keepsReturned
        ? ["reset#1", "checkin#1"]
        : ["reset#1", "checkin#1", "close#1"],
    );
    assert.equal(
      recorded.names().filter((n) => n.startsWith("checkin")).length,
      1,
    );
    assert.deepEqual(
      conn.calls,
      keepsReturned ? ["rollback"] : ["rollback", "close"],
    );
    assert.equal(driver.counts.rollback, 1);
    assert.match(pool.status(), status.returned);
    if (counters !== undefined) {
      assert.deepEqual(counters(pool), { checkedIn: 1, checkedOut: 0 });
    }
  });
}

// --------------------------------------------------- Invalidate and detach

for (const { name, Class } of POOL_CLASSES) {
  Deno.test(`${name}: proxy.invalidate() terminates the connection once and checks in null; the next checkout gets a new connection`, async () => {
    const driver = new FakeDriver();
    const trace = tracer(driver);
    await using pool = new Class(driver.creator, { dialect: trace.dialect });
    const proxy = await pool.connect();
    const connection = proxy.dbapiConnection!;
    trace.watch(pool);
    await proxy.invalidate();
    assert.deepEqual(trace.timeline, [
      "invalidate#1",
      "close#1",
      "driver.terminate#1",
      "checkin#null",
    ]);
    await proxy.close();
    assert.deepEqual(connection.calls, ["terminate"]);
    assert.equal(trace.timeline.length, 4);
    await using next = await pool.connect();
    assert.equal(next.dbapiConnection, driver.connections[1]);
  });
}

for (const { name, Class, keepsReturned } of POOL_CLASSES) {
  Deno.test({
    name:
      `${name}: detach() takes the connection out of the pool, the next checkout gets a new one, and closing the detached proxy closes it once without checkin`,
    async fn() {
      const driver = new FakeDriver();
      const trace = tracer(driver);
      await using pool = new Class(driver.creator, { dialect: trace.dialect });
      const a = await pool.connect();
      const old = a.dbapiConnection!;
      trace.watch(pool);
      await a.detach();
      assert.equal(old.open, true);
      assert.deepEqual(trace.timeline, ["detach#1"]);
      const b = await pool.connect();
      assert.notEqual(b.dbapiConnection, old);
      assert.equal(b.dbapiConnection, driver.connections[1]);
      await b.close();
      assert.equal(old.open, true);
      await a.close();
      assert.deepEqual(trace.timeline.filter((t) => t.endsWith("#1")), [
        "detach#1",
        "reset#1",
        "driver.rollback#1",
        "closeDetached#1",
        "driver.close#1",
      ]);
      assert.equal(closes(old), 1);
      assert.equal(driver.connections[1]!.open, keepsReturned);
    },
  });
}

// ----------------------------------------------------- Failures and aborts

for (const { name, Class, keepsReturned, status } of POOL_CLASSES) {
  Deno.test(`${name}: a creator failure rejects connect() with that error, and the next connect() works`, async () => {
    const driver = new FakeDriver();
    await using pool = new Class(driver.creator, { dialect: driver.dialect });
    const failure = new Error("refused");
    driver.failNext.push(failure);
    await assert.rejects(pool.connect(), (error) => error === failure);
    assert.match(pool.status(), status.fresh);
    const proxy = await pool.connect();
    assert.ok(proxy.dbapiConnection instanceof FakeConnection);
    assert.ok(proxy.isValid);
    assert.match(pool.status(), status.checkedOut);
    await proxy.close();
    assert.match(pool.status(), status.returned);
    assert.equal(driver.openCount, keepsReturned ? 1 : 0);
  });
}

for (const { name, Class } of POOL_CLASSES) {
  Deno.test(`${name}.connect() with an aborted signal rejects with its reason and calls no creator`, async () => {
    const driver = new FakeDriver();
    await using pool = new Class(driver.creator, { dialect: driver.dialect });
    const reason = new Error("cancelled");
    await assert.rejects(
      pool.connect({ signal: AbortSignal.abort(reason) }),
      (error) => error === reason,
    );
    assert.equal(driver.counts.create, undefined);
  });
}

// ------------------------------------------------ dispose() and recreate()

for (const { name, Class, keepsReturned } of POOL_CLASSES) {
  Deno.test(`${name}.dispose() leaves a checked-out connection usable and closes it once when it is returned`, async () => {
    const driver = new FakeDriver();
    const trace = tracer(driver);
    await using pool = new Class(driver.creator, { dialect: trace.dialect });
    const proxy = await pool.connect();
    const connection = proxy.dbapiConnection!;
    trace.watch(pool);
    await pool.dispose();
    assert.deepEqual(trace.timeline, []);
    assert.equal(connection.open, true);
    assert.equal(proxy.isValid, true);
    assert.equal(connection.query("SELECT 1"), "SELECT 1");
    await proxy.close();
    assert.deepEqual(trace.timeline, [
      "reset#1",
      "driver.rollback#1",
      "checkin#1",
      "close#1",
      "driver.close#1",
    ]);
    assert.equal(closes(connection), 1);
    // Still usable after dispose(): the next checkout makes a new connection.
    await (await pool.connect()).close();
    assert.equal(driver.counts.create, 2);
    assert.equal(closes(driver.connections[1]!), keepsReturned ? 0 : 1);
  });
}

for (const { name, Class, keepsReturned } of POOL_CLASSES) {
  Deno.test(`${name}: dispose() twice, then [Symbol.asyncDispose](), close an idle connection once`, async () => {
    const driver = new FakeDriver();
    await using pool = new Class(driver.creator, { dialect: driver.dialect });
    await (await pool.connect()).close();
    const recorded = recordEvents(pool);
    await pool.dispose();
    await pool.dispose();
    await pool[Symbol.asyncDispose]();
    assert.deepEqual(recorded.names(), keepsReturned ? ["close#1"] : []);
    assert.equal(closes(driver.connections[0]!), 1);
    assert.equal(driver.openCount, 0);
  });
}

for (const { name, Class } of POOL_CLASSES) {
  Deno.test(`${name}: dispose() then recreate() succeeds with a creator that now throws`, async () => {
    const driver = new FakeDriver();
    await using old = new Class(driver.creator, { dialect: driver.dialect });
    await (await old.connect()).close();
    assert.equal(driver.counts.create, 1);
    // The creator's next call throws: the database is gone.
    const failure = new Error("database is gone");
    driver.failNext.push(failure);
    await old.dispose();
    assert.equal(driver.openCount, 0);
    await using pool = old.recreate();
    assert.ok(pool instanceof Class);
    assert.equal(pool.constructor, Class);
    assert.notEqual(pool, old);
    assert.equal(
      driver.counts.create,
      1,
      "dispose() or recreate() attempted a connection",
    );
    // The same creator: it fails on first use, and works again after.
    await assert.rejects(pool.connect(), (error) => error === failure);
    assert.equal(driver.counts.create, 2);
    const proxy = await pool.connect();
    assert.ok(proxy.dbapiConnection instanceof FakeConnection);
    await proxy.close();
    assert.equal(driver.counts.create, 3);
  });
}

// ------------------------------------------------------------------ stats()

for (const { name, Class, keepsReturned, stats } of POOL_CLASSES) {
  Deno.test(`${name}.stats() counts checkouts, creates, invalidations, recycles, closes, aborts and failed creates`, async () => {
    const driver = new FakeDriver();
    await using pool = new Class(driver.creator, { dialect: driver.dialect });
    const zero = {
      open: 0,
      idle: 0,
      checkedOut: 0,
      pending: 0,
      max: stats.max,
      checkouts: 0,
      waits: 0,
      timeouts: 0,
      aborts: 0,
      creates: 0,
      createFailures: 0,
      invalidations: 0,
      recycles: 0,
      closes: 0,
    };
    assert.deepEqual(pool.stats(), zero);
    const first = await pool.connect();
    assert.deepEqual(
      [pool.stats().open, pool.stats().idle, pool.stats().checkedOut],
      [1, 0, 1],
    );
    await first.close();
    assert.deepEqual(
      [pool.stats().open, pool.stats().idle, pool.stats().checkedOut],
      keepsReturned ? [1, 1, 0] : [0, 0, 0],
    );
    await (await pool.connect()).invalidate(new Error("broken"));
    await (await pool.connect()).close();
    await pool.invalidate();
    await (await pool.connect()).close();
    await assert.rejects(
      pool.connect({ signal: AbortSignal.abort(new Error("stop")) }),
      { message: "stop" },
    );
    const before = pool.stats();
    assert.equal(before.open, before.idle + before.checkedOut);
    await pool.dispose();
    driver.failNext.push(new Error("refused"));
    await assert.rejects(pool.connect(), { message: "refused" });
    assert.deepEqual(pool.stats(), {
      ...zero,
      checkouts: 4,
      aborts: 1,
      creates: stats.creates,
      createFailures: 1,
      invalidations: 1,
      recycles: stats.recycles,
      closes: stats.closes,
    });
    assert.equal(driver.openCount, 0);
  });
}

// ------------------------------------------------------------------ close()

for (const { name, Class } of POOL_CLASSES) {
  Deno.test(`${name}.close() closes the idle connection at once, then connect() rejects with PoolClosedError naming the class`, async () => {
    const driver = new FakeDriver();
    const pool = new Class(driver.creator, { dialect: driver.dialect });
    await (await pool.connect()).close();
    await pool.close();
    assert.equal(driver.openCount, 0);
    await assert.rejects(pool.connect(), (error) => {
      assert(error instanceof PoolClosedError);
      assert.equal(error.name, "PoolClosedError");
      assert.match(error.message, new RegExp(Class.name));
      return true;
    });
    assert.equal(driver.counts.create, 1);
  });
}

for (const { name, Class } of POOL_CLASSES) {
  Deno.test(`${name}.close() waits for a checked-out connection, closes it when it comes back, and a second call returns the same promise`, async () => {
    const driver = new FakeDriver();
    const trace = tracer(driver);
    const pool = new Class(driver.creator, { dialect: trace.dialect });
    const proxy = await pool.connect();
    trace.watch(pool);
    const closed = watch(pool.close());
    assert.equal(pool.close(), closed.promise);
    await tick();
    assert.equal(closed.settled, false);
    assert.equal(proxy.isValid, true);
    await proxy.close();
    await closed.promise;
    assert.deepEqual(trace.timeline, [
      "reset#1",
      "driver.rollback#1",
      "checkin#1",
      "close#1",
      "driver.close#1",
    ]);
    assert.equal(driver.openCount, 0);
  });
}

for (const { name, Class } of POOL_CLASSES) {
  Deno.test(`${name}.stats() returns a new plain object each time`, async () => {
    await using pool = new Class(new FakeDriver().creator);
    const a = pool.stats();
    const b = pool.stats();
    assert.notEqual(a, b);
    assert.deepEqual(a, b);
    assert.equal(Object.getPrototypeOf(a), Object.prototype);
  });
}

for (const { name, Class } of POOL_CLASSES) {
  Deno.test(`${name}.close() on a pool that never connected resolves at once, and dispose() afterwards changes nothing`, async () => {
    const driver = new FakeDriver();
    const pool = new Class(driver.creator, { dialect: driver.dialect });
    await pool.close({ timeoutMs: 0 });
    await pool.dispose();
    await pool[Symbol.asyncDispose]();
    await assert.rejects(pool.connect(), PoolClosedError);
    assert.equal(driver.counts.create, undefined);
  });
}

for (const { name, Class } of POOL_CLASSES) {
  Deno.test(`${name}.close() closes a connection that was being created when it arrives, and the checkout rejects with PoolClosedError`, async () => {
    const driver = new FakeDriver();
    const gate = deferred();
    driver.gate = gate.promise;
    const pool = new Class(driver.creator, { dialect: driver.dialect });
    const checkout = watch(pool.connect());
    await tick();
    const closed = watch(pool.close());
    await tick();
    assert.equal(closed.settled, false);
    gate.resolve();
    await assert.rejects(checkout.promise, PoolClosedError);
    await closed.promise;
    assert.equal(driver.connections.length, 1);
    assert.equal(driver.openCount, 0);
  });
}

for (const { name, Class } of POOL_CLASSES) {
  Deno.test(`${name}.close() with a bad timeoutMs rejects with TypeError or RangeError and leaves the pool open`, async () => {
    const driver = new FakeDriver();
    await using pool = new Class(driver.creator, { dialect: driver.dialect });
    await assert.rejects(pool.close({ timeoutMs: -1 }), RangeError);
    await assert.rejects(pool.close({ timeoutMs: Infinity }), RangeError);
    await assert.rejects(pool.close({ timeoutMs: NaN }), RangeError);
    await assert.rejects(
      // @ts-expect-error: a string where a number belongs.
      pool.close({ timeoutMs: "5" }),
      TypeError,
    );
    await (await pool.connect()).close();
  });
}

// --------------------------------------------------------- withConnection()

for (const { name, Class } of POOL_CLASSES) {
  Deno.test(`${name}.withConnection() returns the function's result and the connection, and on a disconnect fires handleError and invalidates it`, async () => {
    const driver = new FakeDriver();
    await using pool = new Class(driver.creator, { dialect: driver.dialect });
    const id = await pool.withConnection((conn) => conn.dbapiConnection!.id);
    assert.equal(id, 1);
    assert.equal(pool.stats().checkedOut, 0);
    const seen: unknown[] = [];
    pool.on("handleError", (context) => void seen.push(context.error));
    const failure = new FakeDisconnect();
    await assert.rejects(
      pool.withConnection(() => Promise.reject(failure)),
      (error) => error === failure,
    );
    assert.deepEqual(seen, [failure]);
    assert.deepEqual(
      [pool.stats().checkedOut, pool.stats().invalidations],
      [0, 1],
    );
  });
}
