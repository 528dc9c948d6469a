/**
 * The behaviour every pool class shares (`QueuePool`, `NullPool`,
 * `StaticPool`, `AssertionPool`, `SingletonContextPool`): the `Pool`
 * contract of `src/pool.ts`, run over the table of pool classes in
 * `_test_pools.ts`. Each class's own behaviour is in its own test file.
 *
 * @module
 */

import assert from "node:assert/strict";
import { AssertionPool, NullPool, StaticPool } from "../mod.ts";
import { SingletonContextPool } from "./singleton_context_pool.ts";
import {
  closes,
  FakeConnection,
  FakeDriver,
  recordEvents,
  tracer,
} from "./_test_fake_driver.ts";
import { POOL_CLASSES } from "./_test_pools.ts";

// ------------------------------------------------------- The Pool contract

Deno.test("NullPool implements connect, dispose, recreate and status", async () => {
  const driver = new FakeDriver();
  await using pool = new NullPool(driver.creator, { dialect: driver.dialect });
  assert.equal(typeof pool.connect, "function");
  assert.equal(typeof pool.dispose, "function");
  assert.equal(typeof pool.recreate, "function");
  assert.equal(typeof pool.status, "function");
  const proxy = await pool.connect();
  assert.ok(proxy.dbapiConnection instanceof FakeConnection);
  await proxy.close();
  assert.equal(await pool.dispose(), undefined);
  await using recreated = pool.recreate();
  assert.equal(Object.getPrototypeOf(recreated), NullPool.prototype);
  assert.equal(recreated.status(), "NullPool");
});

Deno.test("StaticPool implements connect, dispose, recreate and status", async () => {
  const driver = new FakeDriver();
  await using pool = new StaticPool(driver.creator, {
    dialect: driver.dialect,
  });
  const proxy = await pool.connect();
  await proxy.close();
  assert.equal(await pool.dispose(), undefined);
  await using recreated = pool.recreate();
  assert.equal(Object.getPrototypeOf(recreated), StaticPool.prototype);
  assert.equal(recreated.status(), "StaticPool");
  assert.equal(driver.counts.create, 1);
});

Deno.test("AssertionPool implements connect, dispose, recreate and status", async () => {
  const driver = new FakeDriver();
  await using pool = new AssertionPool(driver.creator, {
    dialect: driver.dialect,
  });
  await (await pool.connect()).close();
  assert.equal(await pool.dispose(), undefined);
  await using recreated = pool.recreate();
  assert.equal(Object.getPrototypeOf(recreated), AssertionPool.prototype);
  assert.equal(recreated.status(), "AssertionPool");
  assert.equal(driver.counts.create, 1);
});

Deno.test("SingletonContextPool implements connect, dispose, recreate and status", async () => {
  const driver = new FakeDriver();
  await using pool = new SingletonContextPool(driver.creator, {
    dialect: driver.dialect,
  });
  await pool.run(async () => {
    await (await pool.connect()).close();
  });
  assert.equal(await pool.dispose(), undefined);
  await using recreated = pool.recreate();
  assert.equal(
    Object.getPrototypeOf(recreated),
    SingletonContextPool.prototype,
  );
  assert.match(recreated.status(), /^SingletonThreadPool id:\d+ size: 0$/);
  assert.equal(driver.counts.create, 1);
});

Deno.test('NullPool.status() is "NullPool"', async () => {
  const driver = new FakeDriver();
  await using pool = new NullPool(driver.creator);
  assert.equal(pool.status(), "NullPool");
  await using _proxy = await pool.connect();
  assert.equal(pool.status(), "NullPool");
});

Deno.test('StaticPool.status() is "StaticPool"', async () => {
  await using pool = new StaticPool(new FakeDriver().creator);
  assert.equal(pool.status(), "StaticPool");
  await using _proxy = await pool.connect();
  assert.equal(pool.status(), "StaticPool");
});

Deno.test('AssertionPool.status() is "AssertionPool"', async () => {
  await using pool = new AssertionPool(new FakeDriver().creator);
  assert.equal(pool.status(), "AssertionPool");
  await using _proxy = await pool.connect();
  assert.equal(pool.status(), "AssertionPool");
});

// ------------------------------------------- Events at checkout and return

Deno.test("NullPool fires firstConnect once and connect for every new connection", async () => {
  const driver = new FakeDriver();
  await using pool = new NullPool(driver.creator, { dialect: driver.dialect });
  const recorded = recordEvents(pool);
  for (let i = 0; i < 3; i++) await (await pool.connect()).close();
  const names = recorded.names().filter((n) =>
    n.startsWith("firstConnect") || n.startsWith("connect")
  );
  assert.deepEqual(names, [
    "firstConnect#1",
    "connect#1",
    "connect#2",
    "connect#3",
  ]);
});

// --------------------------------------------------- Invalidate and detach

Deno.test("NullPool proxy.invalidate() terminates the connection once and checks in null", async () => {
  const driver = new FakeDriver();
  const trace = tracer(driver);
  await using pool = new NullPool(driver.creator, { dialect: trace.dialect });
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
});

Deno.test("NullPool detach() then close() closes the detached connection once, without checkin", async () => {
  const driver = new FakeDriver();
  const trace = tracer(driver);
  await using pool = new NullPool(driver.creator, { dialect: trace.dialect });
  const proxy = await pool.connect();
  const connection = proxy.dbapiConnection!;
  trace.watch(pool);
  await proxy.detach();
  assert.equal(connection.open, true);
  assert.deepEqual(trace.timeline, ["detach#1"]);
  await proxy.close();
  assert.deepEqual(trace.timeline, [
    "detach#1",
    "reset#1",
    "driver.rollback#1",
    "closeDetached#1",
    "driver.close#1",
  ]);
  assert.equal(closes(connection), 1);
});

Deno.test("StaticPool detach() takes the shared connection out; the next checkout makes a new one", async () => {
  const driver = new FakeDriver();
  await using pool = new StaticPool(driver.creator, {
    dialect: driver.dialect,
  });
  const a = await pool.connect();
  const old = a.dbapiConnection!;
  await a.detach();
  const b = await pool.connect();
  assert.equal(b.dbapiConnection, driver.connections[1]);
  await b.close();
  assert.equal(old.open, true);
  await a.close();
  assert.equal(closes(old), 1);
  assert.equal(driver.connections[1]!.open, true);
});

Deno.test("AssertionPool: detach() frees the pool; the next checkout gets a new connection", async () => {
  const driver = new FakeDriver();
  await using pool = new AssertionPool(driver.creator, {
    dialect: driver.dialect,
  });
  const first = await pool.connect();
  const detached = first.dbapiConnection!;
  await first.detach();
  const second = await pool.connect();
  assert.notEqual(second.dbapiConnection, detached);
  await second.close();
  assert.equal(detached.open, true);
  await first.close();
  assert.equal(closes(detached), 1);
  assert.equal(driver.connections[1]!.open, true);
});

// ----------------------------------------------------- Failures and aborts

Deno.test("NullPool creator failure propagates and the next connect() works", async () => {
  const driver = new FakeDriver();
  await using pool = new NullPool(driver.creator, { dialect: driver.dialect });
  const failure = new Error("refused");
  driver.failNext.push(failure);
  await assert.rejects(pool.connect(), (error) => error === failure);
  const proxy = await pool.connect();
  assert.ok(proxy.dbapiConnection instanceof FakeConnection);
  await proxy.close();
  assert.equal(driver.openCount, 0);
});

Deno.test("SingletonContextPool: a failed first connect lets the context retry", async () => {
  const driver = new FakeDriver();
  await using pool = new SingletonContextPool(driver.creator, {
    dialect: driver.dialect,
  });
  const failure = new Error("refused");
  driver.failNext.push(failure);
  await pool.run(async () => {
    await assert.rejects(pool.connect(), (error) => error === failure);
    assert.match(pool.status(), /size: 0$/);
    await using conn = await pool.connect();
    assert.ok(conn.isValid);
  });
  assert.match(pool.status(), /size: 1$/);
});

Deno.test("NullPool.connect() with an aborted signal rejects with its reason and calls no creator", async () => {
  const driver = new FakeDriver();
  await using pool = new NullPool(driver.creator, { dialect: driver.dialect });
  const reason = new Error("cancelled");
  await assert.rejects(
    pool.connect({ signal: AbortSignal.abort(reason) }),
    (error) => error === reason,
  );
  assert.equal(driver.counts.create, undefined);
});

Deno.test("SingletonContextPool.connect() with an aborted signal rejects with its reason", async () => {
  const driver = new FakeDriver();
  await using pool = new SingletonContextPool(driver.creator, {
    dialect: driver.dialect,
  });
  const reason = new Error("cancelled");
  await pool.run(async () => {
    await assert.rejects(
      pool.connect({ signal: AbortSignal.abort(reason) }),
      (error) => error === reason,
    );
  });
  assert.equal(driver.counts.create, undefined);
});

// ------------------------------------------------ dispose() and recreate()

Deno.test("NullPool.dispose() does nothing: a checked-out connection stays usable and is closed once on return", async () => {
  const driver = new FakeDriver();
  const trace = tracer(driver);
  await using pool = new NullPool(driver.creator, { dialect: trace.dialect });
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
  // Still usable after dispose().
  await (await pool.connect()).close();
  assert.equal(driver.counts.create, 2);
  assert.equal(closes(driver.connections[1]!), 1);
});

for (const [name, cls] of POOL_CLASSES) {
  Deno.test(`${name}: dispose() then recreate() succeeds with a creator that now throws`, async () => {
    const driver = new FakeDriver();
    await using old = new cls(driver.creator, { dialect: driver.dialect });
    await (await old.connect()).close();
    assert.equal(driver.counts.create, 1);
    // The creator's next call throws: the database is gone.
    const failure = new Error("database is gone");
    driver.failNext.push(failure);
    await old.dispose();
    assert.equal(driver.openCount, 0);
    await using pool = old.recreate();
    assert.ok(pool instanceof cls);
    assert.equal(pool.constructor, cls);
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
